"""How strategies talk to surrogates from the :mod:`surrogates` package.

A surrogate is a scikit-learn estimator. Its input ``X`` is a float array ``(n, 1 + E)``:
column 0 is the architecture's space index and columns ``1..E`` the validation accuracy
observed at the table's epochs (NaN where not observed). ``predict(X, return_std=True)``
gives the predicted final (max-epoch) validation accuracy and its standard deviation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri


def design(
    archs: Sequence[int] | np.ndarray, n_epochs: int, curves: Sequence[np.ndarray] | None = None
) -> np.ndarray:
    """float ``(n, 1 + n_epochs)``: space indices and observed curves (NaN-padded).

    Args:
        archs: ``(n,)`` space indices.
        n_epochs: number of stored epochs ``E``.
        curves: per row, the observed values at the first ``k <= E`` epochs (``None``:
            nothing observed).
    """
    a = np.asarray(archs, dtype=np.float64).reshape(-1)
    X = np.full((len(a), 1 + n_epochs), np.nan)
    X[:, 0] = a
    if curves is not None:
        for i, c in enumerate(curves):
            k = len(c)
            if k:
                X[i, 1 : 1 + k] = c
    return X


def limit_cuts(est: Any, cuts: Sequence[int]) -> Any:
    """Fit only the curve cuts (observed lengths) a strategy will predict from.

    Curve-aware surrogates keep one model per cut and by default fit every one; a
    strategy that predicts only with no curve observed (cut 0) or only at its
    checkpoints (not cut 0: early stopping never predicts before its first checkpoint)
    need not pay for the rest. A cut list the user set is left alone.
    """
    try:
        current = est.get_params().get("cuts", None)
    except AttributeError:
        return est
    if isinstance(current, str):
        est.set_params(cuts=sorted({int(c) for c in cuts}))
    return est


def fit(est: Any, X: np.ndarray, y: np.ndarray) -> bool:
    """Fit ``est``; ``False`` (and nothing fitted) when the surrogate needs more points."""
    try:
        est.fit(X, y)
    except Exception as exc:
        if type(exc).__name__ == "TooFewPointsError":  # surrogates.TooFewPointsError
            return False
        raise
    return True


def predict(est: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)``, each float ``(n,)``; std is 0 for estimators without uncertainty."""
    try:
        mean, std = est.predict(X, return_std=True)
    except TypeError:
        mean, std = est.predict(X), np.zeros(len(X))
    mean = np.asarray(mean, dtype=np.float64).reshape(-1)
    std = np.asarray(std, dtype=np.float64).reshape(-1)
    return mean, np.where(np.isfinite(std), np.maximum(std, 0.0), 0.0)


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
