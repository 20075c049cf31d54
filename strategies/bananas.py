"""BANANAS-style Bayesian optimisation (White et al., "BANANAS: Bayesian Optimization with
Neural Architectures for Neural Architecture Search", AAAI 2021).

An ensemble surrogate gives a mean and an uncertainty for each candidate; candidates are
mutations of the best architectures found so far; an acquisition (UCB by default, or EI
or independent Thompson sampling as in the paper) picks the next evaluations, a batch of
5 per fit (the paper's k = 10 per iteration; a fit of the stacked ensemble costs seconds).
On NAS-Bench-201, single-edit mutations of the 3 best worked better than the paper's
wider mutations of the 10 best (benchmarks/STRATEGIES.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from strategies.model_based import ModelBasedConfig, ModelBasedSearch


class Bananas(ModelBasedSearch):
    """Ensemble surrogate + acquisition over mutations of the best architectures."""

    default_surrogate = "ensemble"

    @dataclass(frozen=True)
    class Config(ModelBasedConfig):
        """See :class:`~strategies.model_based.ModelBasedConfig`; BANANAS scores 100
        single-edit mutations of the 3 best with UCB, 5 evaluations per fit."""

        acquisition: Literal["mean", "ucb", "ei", "ts"] = "ucb"
        n_candidates: int = 100
        n_parents: int = 3
        max_edits: int = 1
        batch_size: int = 5
        fit_growth: float = 1.2
        warm_start: bool = True
