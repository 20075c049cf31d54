"""Acquisition scores and Gaussian tail probabilities for surrogate-guided strategies."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr, ndtri


def acquisition(
    kind: str, mean: np.ndarray, std: np.ndarray, best: float, rng: np.random.Generator, kappa: float
) -> np.ndarray:
    """Score candidates (higher is better).

    Args:
        kind: ``mean`` (exploit), ``ucb`` (``mean + kappa * std``), ``ei`` (expected
            improvement over ``best``) or ``ts`` (independent Thompson sample).
    """
    if kind == "mean":
        return mean
    if kind == "ucb":
        return mean + kappa * std
    if kind == "ts":
        return mean + std * rng.standard_normal(len(mean))
    if kind == "ei":
        if not math.isfinite(best):
            return mean + std
        s = np.maximum(std, 1e-9)
        z = (mean - best) / s
        return (mean - best) * ndtr(z) + s * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    raise ValueError(f"unknown acquisition {kind!r}")


def prob_exceeds(mean: float, std: float, threshold: float) -> float:
    """P(value > threshold) under N(mean, std^2); a point mass when std is 0."""
    if not std > 0:
        return 1.0 if mean > threshold else 0.0
    return float(1.0 - ndtr((threshold - mean) / std))


def z_of(confidence: float) -> float:
    """The standard-normal quantile of ``confidence``."""
    return float(ndtri(confidence))
