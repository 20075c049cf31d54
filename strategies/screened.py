"""Predictor-screened search: score many candidates with the surrogate and spend real
evaluations only on the top few.

Each round generates candidates -- by default 200 single-edit mutations of the 3 best
architectures so far, i.e. their whole unvisited neighbourhoods (``random_fraction`` adds
uniform samples) --, ranks them by the surrogate's predicted final accuracy, evaluates
the best ``batch_size`` for real, refits, and repeats. It is local search whose next
moves are chosen by the predictor. The default surrogate is the package's combined
architecture + learning-curve model. (On NAS-Bench-201, half-random pools of 1,000
screened worse: the surrogate ranks the space well overall but not within its top.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from strategies.model_based import ModelBasedConfig, ModelBasedSearch


class ScreenedSearch(ModelBasedSearch):
    """Screen many candidates with the surrogate, evaluate the top ``batch_size``."""

    default_surrogate = None  # surrogates.DEFAULT_SURROGATE

    @dataclass(frozen=True)
    class Config(ModelBasedConfig):
        """See :class:`~strategies.model_based.ModelBasedConfig`; screening ranks the
        single-edit neighbourhoods of the 3 best by predicted mean, 5 per round."""

        acquisition: Literal["mean", "ucb", "ei", "ts"] = "mean"
        n_candidates: int = 200
        n_parents: int = 3
        max_edits: int = 1
        random_fraction: float = 0.0
        batch_size: int = 5
        fit_growth: float = 1.2
        warm_start: bool = True
