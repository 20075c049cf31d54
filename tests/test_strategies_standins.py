"""A tiny stand-in surrogate for strategy tests while the surrogates package is not there.

Ridge regression on the NB201 one-hot encoding plus the last observed curve value, with
the residual spread as a constant uncertainty. Follows the surrogates interface: column
0 of ``X`` is the space index, the rest the observed curve (NaN where unobserved).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin


class StandInSurrogate(RegressorMixin, BaseEstimator):
    def __init__(self, alpha: float = 1.0, random_state: int | None = None) -> None:
        self.alpha = alpha
        self.random_state = random_state

    def _features(self, X: np.ndarray) -> np.ndarray:
        from nasbench.spaces.nb201 import NB201Space

        X = np.asarray(X, dtype=np.float64)
        onehot = NB201Space().encode(X[:, 0].astype(np.int64), "onehot")
        curve = X[:, 1:]
        has = ~np.isnan(curve)
        last = np.where(
            has.any(axis=1), np.nan_to_num(curve)[np.arange(len(X)), np.maximum(has.sum(1) - 1, 0)], 0.0
        )
        return np.column_stack([onehot, last / 100.0, has.any(axis=1), np.ones(len(X))])

    def fit(self, X: np.ndarray, y: np.ndarray) -> StandInSurrogate:
        F = self._features(X)
        y = np.asarray(y, dtype=np.float64)
        A = F.T @ F + self.alpha * np.eye(F.shape[1])
        self.coef_ = np.linalg.solve(A, F.T @ y)
        self.sigma_ = float(np.std(y - F @ self.coef_)) + 1e-3
        return self

    def predict(self, X: np.ndarray, return_std: bool = False):  # type: ignore[no-untyped-def]
        mean = self._features(X) @ self.coef_
        if return_std:
            return mean, np.full(len(mean), self.sigma_)
        return mean


def _have_surrogates() -> bool:
    try:
        import surrogates

        surrogates.make_surrogate  # noqa: B018
    except (ImportError, AttributeError):
        return False
    return True


HAVE_SURROGATES = _have_surrogates()


def surrogate_for_tests():  # type: ignore[no-untyped-def]
    """The real default surrogate once the surrogates package exists, else the stand-in."""
    try:
        import surrogates

        surrogates.make_surrogate  # noqa: B018
    except (ImportError, AttributeError):
        return StandInSurrogate()
    return None  # None = each strategy's default from the surrogates registry


def synthetic_table(n_archs: int = 120, epochs=(1, 2, 3, 4), n_seeds: int = 2, seed: int = 0):  # type: ignore[no-untyped-def]
    """A synthetic nb201 table over the first ``n_archs`` unique cells with a smooth landscape:
    accuracy grows with 3x3 convolutions, curves rise with epochs, seeds add noise."""
    from nasbench.spaces.nb201 import NB201Space
    from nasbench.tables.table import ResultTable

    space = NB201Space()
    rng = np.random.default_rng(seed)
    archs = space.unique_indices()[:: max(1, 6466 // n_archs)][:n_archs]
    ops = space.op_matrix(archs)
    quality = (
        40
        + 6 * (ops == 3).sum(1)
        + 3 * (ops == 2).sum(1)
        - 4 * (ops == 0).sum(1)
        + rng.normal(0, 2, len(archs))
    )
    ep = np.asarray(epochs, dtype=np.float64)
    frac = ep / ep[-1]
    a, s, e = len(archs), n_seeds, len(epochs)
    v = np.empty((a, s, e, 3), np.float32)
    v[..., 0] = np.clip(quality[:, None, None] * (0.6 + 0.4 * frac) + rng.normal(0, 0.7, (a, s, e)), 0, 100)
    v[..., 1] = v[..., 0] - 1.0
    cost = 10 + 5 * (ops >= 2).sum(1)
    v[..., 2] = cost[:, None, None] * ep[None, None, :] * (1 + 0.01 * rng.random((a, s, 1)))
    return ResultTable(
        space,
        archs,
        np.arange(s),
        list(epochs),
        ("valid_acc", "test_acc", "time_s"),
        v,
        np.zeros((a, s), bool),
        {},
        {"dataset": "synthetic"},
    )
