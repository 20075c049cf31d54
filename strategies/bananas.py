"""BANANAS-style Bayesian optimisation (White et al., "BANANAS: Bayesian Optimization with
Neural Architectures for Neural Architecture Search", AAAI 2021).

An ensemble surrogate gives a mean and an uncertainty for each candidate; candidates are
mutations of the best architectures found so far; an acquisition (UCB by default, or EI
or independent Thompson sampling as in the paper) picks the next evaluation. The
surrogate is refitted after every result.
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
        mutations of the 10 best with UCB, one evaluation per fit."""

        acquisition: Literal["mean", "ucb", "ei", "ts"] = "ucb"
        n_candidates: int = 100
        batch_size: int = 1
