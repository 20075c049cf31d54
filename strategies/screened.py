"""Predictor-screened search: score many candidates with the surrogate and spend real
evaluations only on the top few.

Each round samples and mutates many candidates (1,000 by default, half of them uniform
samples so the search keeps exploring), ranks them by the surrogate's predicted final
accuracy, evaluates the best ``batch_size`` for real, refits, and repeats. The default
surrogate is the package's combined architecture + learning-curve model.
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
        """See :class:`~strategies.model_based.ModelBasedConfig`; screening ranks 1,000
        candidates (half mutations, half random) by predicted mean, 5 per round."""

        acquisition: Literal["mean", "ucb", "ei", "ts"] = "mean"
        n_candidates: int = 1000
        random_fraction: float = 0.5
        batch_size: int = 5
