"""Encoders: scikit-learn transformers from the surrogate input ``X`` to features.

Every surrogate takes ``X`` float ``(n, 1 + E)``: column 0 is the architecture's space
index, columns ``1..E`` the validation accuracy observed at the table's epochs (NaN
where not observed). :class:`ArchEncoder` turns column 0 into the space's own encodings,
through the ``Space`` contract alone; :class:`CurveFeatures` turns an observed curve
prefix into time-series features (after Baker et al. 2017).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from surrogates.curves import DEFAULT_FAMILIES, fit_curves
from surrogates.errors import SurrogateInputError


def default_kinds(space: Any) -> tuple[str, ...]:
    """The encodings ``kinds="auto"`` selects: the space's :attr:`default_encodings`
    (column 0 itself when there is no space, or the space has no encoding)."""
    if space is None:
        return ("index",)
    return tuple(space.default_encodings) or ("index",)


def indices_of(X: np.ndarray, space: Any) -> np.ndarray:
    """int64 ``(n,)`` space indices from column 0 of ``X`` (float as is when ``space`` is None).

    Raises:
        SurrogateInputError: non-finite, non-integer or out-of-range indices.
    """
    col = np.asarray(X)[:, 0]
    if not np.all(np.isfinite(col)):
        raise SurrogateInputError("column 0 of X (the architecture index) must be finite")
    if space is None:  # no space: column 0 is a plain number
        return col.astype(np.float64)
    if np.any(np.mod(col, 1) != 0):
        raise SurrogateInputError("column 0 of X must hold integer architecture indices")
    idx = col.astype(np.int64)
    if space is not None and idx.size and (idx.min() < 0 or idx.max() >= space.size):
        bad = int(idx[(idx < 0) | (idx >= space.size)][0])
        raise SurrogateInputError(
            f"architecture index {bad} is out of range for space {space.name} (0..{space.size - 1})"
        )
    return idx


#: The encoding of per-architecture scores (zero-cost proxies, one-shot accuracy) given to
#: an encoder as data: ``ArchEncoder(space, kinds, scores=...)``.
SCORES_KIND = "scores"


def encode(space: Any, idx: np.ndarray, kind: str, scores: np.ndarray | None = None) -> np.ndarray:
    """float ``(n, d)`` encoding ``kind`` of space indices ``idx``: ``index`` (column 0
    itself), ``scores`` (rows of ``scores``, float ``(space.size, m)``) or one of the
    space's own :attr:`encodings`.

    Raises:
        SurrogateInputError: the encoding does not exist for this space, or ``scores``
            is asked for without (fitting) score data.
    """
    if kind == "index":
        return idx.astype(np.float64)[:, None]
    if kind == SCORES_KIND:
        if scores is None:
            raise SurrogateInputError(
                "the 'scores' features need per-architecture scores (--scores FILE, from nasbench estimate)"
            )
        scores = np.asarray(scores, dtype=np.float64)
        if space is None or scores.ndim != 2 or scores.shape[0] != space.size:
            raise SurrogateInputError(
                f"scores must be float (space size, m), got shape {scores.shape} for "
                f"{'no space' if space is None else f'{space.name} of size {space.size}'}"
            )
        return scores[idx]
    if space is None:
        raise SurrogateInputError(
            f"encoding {kind!r} needs a search space (space=None only supports 'index')"
        )
    if kind not in space.encodings:
        raise SurrogateInputError(
            f"unknown encoding {kind!r} for space {space.name}; available: {', '.join((*space.encodings, 'index'))}"
        )
    return space.encode(idx, kind).astype(np.float64)


class ArchEncoder(TransformerMixin, BaseEstimator):
    """Encode the architecture index in column 0 of ``X``; curve columns are dropped.

    Args:
        space: the search space, or ``None`` to use column 0 as a plain number.
        kinds: encodings to concatenate, or ``"auto"`` (see :func:`default_kinds`).
        scores: float ``(space.size, m)`` per-architecture scores for the ``scores``
            encoding (see :func:`nasbench.tables.scores.score_features`), or ``None``.
    """

    def __init__(
        self, space: Any = None, kinds: str | Sequence[str] = "auto", scores: np.ndarray | None = None
    ) -> None:
        self.space = space
        self.kinds = kinds
        self.scores = scores

    def _kinds(self) -> tuple[str, ...]:
        return default_kinds(self.space) if self.kinds == "auto" else tuple(self.kinds)

    def column_blocks(self) -> dict[str, range]:
        """Encoding -> the columns it occupies in the output (fitted or not).

        Raises:
            SurrogateInputError: an unknown encoding.
        """
        blocks, start = {}, 0
        for kind in self._kinds():
            width = encode(self.space, np.zeros(0, dtype=np.int64), kind, self.scores).shape[1]
            blocks[kind] = range(start, start + width)
            start += width
        return blocks

    def fit(self, X: np.ndarray, y: Any = None) -> ArchEncoder:
        X = _as_2d(X)
        self.kinds_ = self._kinds()
        self.n_features_in_ = X.shape[1]
        self.column_blocks()  # fail at fit time for an unknown encoding
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """float ``(n, d)``."""
        check_is_fitted(self, "kinds_")
        X = _as_2d(X)
        idx = indices_of(X, self.space)
        return np.hstack([encode(self.space, idx, k, self.scores) for k in self.kinds_])


class CurveFeatures(TransformerMixin, BaseEstimator):
    """Time-series features of the first ``n_observed`` curve values.

    Output columns: the observed values, their first differences, and -- when the
    prefix is long enough to fit a parametric family -- the BIC-weighted parametric
    extrapolation to the last epoch, its spread, and the pow3 extrapolation with its
    exponent (Baker et al. 2017 use values and differences; Domhan et al. 2015 the
    parametric fits).

    A prefix longer than ``max_points`` is first summarised by ``max_points`` bin means
    (contiguous, nearly equal bins of epochs, each at its mean epoch); the values,
    differences and parametric fits are then those of the bin means, and the last
    observed value is added as a column of its own. So the width of the features, and
    the cost of the models fitted on them, stop growing with the curve's length (the
    models of a 140-epoch curve otherwise see 280 columns, most of them per-epoch noise).

    Args:
        epochs: the table's epochs ``(E,)``.
        n_observed: how many leading epochs are used (``0 <= n_observed < E``).
        families: parametric families to fit.
        bounds: range the extrapolations are clipped to.
        max_points: longest prefix used epoch by epoch (``None``: every prefix).
    """

    def __init__(
        self,
        epochs: Sequence[int] | None = None,
        n_observed: int = 1,
        families: Sequence[str] = DEFAULT_FAMILIES,
        bounds: tuple[float, float] | None = (0.0, 100.0),
        max_points: int | None = 20,
    ) -> None:
        self.epochs = epochs
        self.n_observed = n_observed
        self.families = families
        self.bounds = bounds
        self.max_points = max_points

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("max_points", None)  # saved before bins existed: every epoch
        super().__setstate__(state)

    def fit(self, X: np.ndarray, y: Any = None) -> CurveFeatures:
        X = _as_2d(X)
        self.n_features_in_ = X.shape[1]
        self.epochs_ = resolve_epochs(self.epochs, X.shape[1] - 1)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """float ``(n, d)``; rows must have at least ``n_observed`` leading values."""
        check_is_fitted(self, "epochs_")
        X = _as_2d(X)
        k = int(self.n_observed)
        if k == 0:
            return np.zeros((len(X), 0))
        Y = X[:, 1 : 1 + k].astype(np.float64)
        if not np.all(np.isfinite(Y)):
            raise SurrogateInputError(f"curve features need the first {k} epochs observed in every row")
        ep = self.epochs_[:k]
        last = Y[:, -1:]
        if self.max_points is not None and not (
            isinstance(self.max_points, int | np.integer) and self.max_points >= 2
        ):
            raise SurrogateInputError(f"max_points must be an integer >= 2 or None, got {self.max_points!r}")
        binned = self.max_points is not None and k > int(self.max_points)
        if binned:
            bins = np.array_split(np.arange(k), int(self.max_points))
            Y = np.stack([Y[:, b].mean(1) for b in bins], axis=1)
            ep = np.array([ep[b].mean() for b in bins])
        cols = [Y, np.diff(Y, axis=1)] + ([last] if binned else [])
        fit = fit_curves(ep, Y, float(self.epochs_[-1]), families=self.families, bounds=self.bounds)
        if np.isfinite(fit.finals).any():
            pow3 = _family_column(fit, "pow3", Y[:, -1])
            alpha = fit.params["pow3"][:, -1] if "pow3" in fit.params else np.zeros(len(Y))
            cols += [
                fit.mean[:, None],
                np.nan_to_num(fit.std, nan=0.0)[:, None],
                pow3[:, None],
                np.log(np.nan_to_num(alpha, nan=1.0))[:, None],
            ]
        out = np.hstack(cols)
        return np.where(np.isfinite(out), out, 0.0)


def _family_column(fit: Any, name: str, fallback: np.ndarray) -> np.ndarray:
    if name not in fit.families:
        return fallback
    col = fit.finals[:, fit.families.index(name)]
    return np.where(np.isfinite(col), col, fallback)


def resolve_epochs(epochs: Sequence[int] | None, n_curve_columns: int) -> np.ndarray:
    """float ``(E,)`` epochs for ``n_curve_columns`` curve columns (``1..E`` when None).

    Raises:
        SurrogateInputError: the curve columns do not match the epochs.
    """
    if epochs is None:
        return np.arange(1, n_curve_columns + 1, dtype=np.float64)
    ep = np.asarray(epochs, dtype=np.float64).reshape(-1)
    if len(ep) != n_curve_columns:
        raise SurrogateInputError(
            f"curves of different lengths: X has {n_curve_columns} curve column(s) after the index "
            f"column, but the model's epochs are {len(ep)} ({_fmt(ep)})"
        )
    if np.any(ep <= 0) or np.any(np.diff(ep) <= 0):
        raise SurrogateInputError("epochs must be positive and strictly increasing")
    return ep


def _fmt(ep: np.ndarray) -> str:
    e = [int(x) if float(x).is_integer() else float(x) for x in ep]
    return ", ".join(map(str, e)) if len(e) <= 6 else f"{e[0]}..{e[-1]}"


def _as_2d(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < 1:
        raise SurrogateInputError(
            f"X must be a 2-D array with the architecture index in column 0, got shape {X.shape}"
        )
    return X
