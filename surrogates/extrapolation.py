"""Parametric learning-curve extrapolation as a surrogate (``lc_param``).

Each row's observed curve prefix is fitted by the families of :mod:`surrogates.curves`
and extrapolated to the last epoch by their BIC-weighted combination (after Domhan et
al. 2015, without MCMC). Training data are used only to calibrate: for every cut ``k``
the training curves, truncated to ``k`` epochs, are extrapolated, and a linear map
``y ~ a_k + b_k * extrapolation`` plus a conformal std scale are fitted. Rows with no
observed epoch get the training mean and std; fully observed rows their last value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from surrogates.curves import DEFAULT_FAMILIES, fit_curves
from surrogates.encoders import resolve_epochs
from surrogates.models import MIN_TRAIN, SurrogateBase, conformal_scale, observed_lengths


class ParametricCurveSurrogate(SurrogateBase):
    """Weighted parametric-family extrapolation with a learned linear calibration.

    Args:
        epochs: the table's epochs ``(E,)`` (``None``: ``1..E``).
        families: curve families to combine.
        bounds: range the extrapolations are clipped to.
        calibrate: learn ``a_k, b_k`` (otherwise ``a = 0, b = 1``: raw extrapolation).
        coverage: interval the std is calibrated for.
        random_state: accepted for a uniform constructor (the fit is deterministic).
        space: accepted for a uniform constructor; the architecture is not used.

    Attributes:
        cuts_: int ``(K,)`` calibrated cuts; ``intercept_``, ``slope_``, ``scale_``,
        ``delta_``: float ``(K,)`` their calibration; ``prior_mean_``, ``prior_std_``.
    """

    def __init__(
        self,
        epochs: Sequence[int] | None = None,
        families: Sequence[str] = DEFAULT_FAMILIES,
        bounds: tuple[float, float] | None = (0.0, 100.0),
        calibrate: bool = True,
        coverage: float = 0.9,
        random_state: int | None = None,
        space: Any = None,
    ) -> None:
        self.epochs = epochs
        self.families = families
        self.bounds = bounds
        self.calibrate = calibrate
        self.coverage = coverage
        self.random_state = random_state
        self.space = space

    def _extrapolate(self, C: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        Y = C[:, :k]
        fit = fit_curves(
            self.epochs_[:k], Y, float(self.epochs_[-1]), families=self.families, bounds=self.bounds
        )
        return fit.mean, np.nan_to_num(fit.std, nan=0.0)

    def fit(self, X: Any, y: Any) -> ParametricCurveSurrogate:
        X, y = self._validate_fit(X, y)
        n_epochs = X.shape[1] - 1
        self.epochs_ = resolve_epochs(self.epochs, n_epochs)
        C = X[:, 1:]
        lengths = observed_lengths(C)
        self.prior_mean_ = float(np.mean(y))
        self.prior_std_ = float(np.std(y)) + 1e-9
        cuts, a, b, c, d = [], [], [], [], []
        for k in range(1, n_epochs):
            rows = np.flatnonzero(lengths >= k)
            if len(rows) < MIN_TRAIN:
                continue
            m, s = self._extrapolate(C[rows], k)
            yk = y[rows]
            ak, bk = 0.0, 1.0
            if self.calibrate:
                if np.var(m) > 1e-12 and len(rows) >= 5:
                    bk, ak = np.polyfit(m, yk, 1)
                else:
                    ak = float(np.mean(yk - m))
            ck, dk = conformal_scale(yk - (ak + bk * m), abs(bk) * s, self.coverage)
            cuts.append(k)
            a.append(ak)
            b.append(bk)
            c.append(ck)
            d.append(dk)
        self.cuts_ = np.asarray(cuts, dtype=np.int64)
        self.intercept_ = np.asarray(a, dtype=np.float64)
        self.slope_ = np.asarray(b, dtype=np.float64)
        self.scale_ = np.asarray(c, dtype=np.float64)
        self.delta_ = np.asarray(d, dtype=np.float64)
        return self

    def predict(self, X: Any, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predicted final accuracy ``(n,)`` (and calibrated std ``(n,)``)."""
        check_is_fitted(self, "cuts_")
        X = self._validate_predict(X)
        C = X[:, 1:]
        n_epochs = C.shape[1]
        lengths = observed_lengths(C)
        mean = np.full(len(X), self.prior_mean_)
        std = np.full(len(X), self.prior_std_)
        full = (lengths >= n_epochs) & (n_epochs > 0)
        if full.any():
            mean[full], std[full] = C[full, -1], 0.0
        pos = np.searchsorted(self.cuts_, lengths, side="right") - 1
        for j in np.unique(pos[(pos >= 0) & ~full]):
            rows = np.flatnonzero((pos == j) & ~full)
            k = int(self.cuts_[j])
            m, s = self._extrapolate(C[rows], k)
            mean[rows] = self.intercept_[j] + self.slope_[j] * m
            std[rows] = self.scale_[j] * (abs(self.slope_[j]) * s + self.delta_[j])
        return (mean, std) if return_std else mean
