"""The surrogate input convention and the calls every user of a surrogate makes.

A surrogate's input ``X`` is float ``(n, 1 + E)``: column 0 is the architecture's space
index, columns ``1..E`` the score observed at the table's ``E`` epochs (NaN where not
observed): the table's objective signed by its direction, i.e. validation accuracy, or
minus a loss on a table that minimises one. Targets ``y`` are scores too. :func:`design` is the one place that builds it, for the evaluation
harness, the fit/predict API, strategies and the leaderboard alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from surrogates.errors import TooFewPointsError


def design(
    archs: Sequence[int] | np.ndarray,
    n_epochs: int,
    curves: np.ndarray | Sequence[np.ndarray] | None = None,
    *,
    observed: int | None = None,
) -> np.ndarray:
    """float ``(n, 1 + n_epochs)``: space indices, then the observed curves, NaN after.

    Args:
        archs: ``(n,)`` space indices.
        n_epochs: number of stored epochs ``E``.
        curves: the observed values, either a float array ``(n, >= k)`` or, per row, a
            1-D prefix of any length ``<= E`` (``None``: nothing observed).
        observed: keep only the first ``observed`` epochs of each curve (``None``: all
            given).
    """
    a = np.asarray(archs, dtype=np.float64).reshape(-1)
    X = np.full((len(a), 1 + n_epochs), np.nan)
    X[:, 0] = a
    if curves is None:
        return X
    if isinstance(curves, np.ndarray) and curves.ndim == 2:
        k = min(curves.shape[1], n_epochs) if observed is None else observed
        X[:, 1 : 1 + k] = curves[:, :k]
        return X
    for i, c in enumerate(curves):
        k = len(c) if observed is None else min(len(c), observed)
        if k:
            X[i, 1 : 1 + k] = np.asarray(c)[:k]
    return X


def fit_or_skip(est: Any, X: np.ndarray, y: np.ndarray) -> bool:
    """Fit ``est``; ``False`` (and nothing fitted) when the surrogate needs more points."""
    try:
        est.fit(X, y)
    except TooFewPointsError:
        return False
    return True


def predict_mean_std(est: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)``, each float ``(n,)``; std is 0 for estimators without uncertainty."""
    try:
        mean, std = est.predict(X, return_std=True)
    except TypeError:
        mean, std = est.predict(X), np.zeros(len(X))
    mean = np.asarray(mean, dtype=np.float64).reshape(-1)
    std = np.asarray(std, dtype=np.float64).reshape(-1)
    return mean, np.where(np.isfinite(std), np.maximum(std, 0.0), 0.0)


def limit_cuts(est: Any, cuts: Sequence[int]) -> Any:
    """Fit only the curve cuts (observed lengths) a caller will predict from.

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


def set_score_bounds(
    est: Any, bounds: tuple[float, float] | None, params: Mapping[str, Any] | None = None
) -> Any:
    """Clip a surrogate's curve extrapolations to ``bounds``, where it takes ``bounds``
    (no-op otherwise, or when ``params`` set them explicitly).

    The package's curve models default to accuracy's ``(0, 100)``; scores of a table that
    minimises a loss are negative and unbounded (``None``).
    """
    if "bounds" in (params or {}):
        return est
    try:
        current = est.get_params()
    except AttributeError:
        return est
    if "bounds" in current and current["bounds"] != bounds:
        est.set_params(bounds=bounds)
    return est


def set_warm_start(est: Any, on: bool = True) -> Any:
    """Turn a surrogate's ``warm_start`` on or off, where it has one (no-op otherwise).

    A warm-started refit of the package's ensembles keeps the last stacking weights and
    std calibration until the data grew enough to redo them (``recalibrate_growth``), so
    a search that refits every few results pays mostly for the members' final fits.
    """
    try:
        params = est.get_params()
    except AttributeError:
        return est
    if "warm_start" in params:
        est.set_params(warm_start=bool(on))
    return est
