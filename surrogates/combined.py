"""Surrogates that use the observed part of a learning curve (and the architecture).

:class:`CurveSurrogate` keeps one model per *cut* ``k`` (number of leading epochs
observed, ``0 <= k < E``). The model for cut ``k`` is a pipeline of architecture
encoding + :class:`~surrogates.encoders.CurveFeatures` of the first ``k`` epochs and a
:class:`~surrogates.models.StackedEnsemble`; it is trained on every training row whose
curve is observed for at least ``k`` epochs, truncated to ``k`` (after Baker et al.
2017/2018, who trained nu-SVRs on architecture and curve features of fully observed
curves). Cut 0 is the architecture-only model, so the surrogate works at any ``t``:
a row observed for ``L`` epochs is predicted by the model of the largest fitted cut
``<= L`` (epochs beyond that cut are not used); a fully observed row returns its last
value.

With the default ensemble this is the package's default surrogate; with a single
``nu_svr`` member it is the Baker-style ``lc_svr``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.validation import check_is_fitted

from surrogates.curves import DEFAULT_FAMILIES
from surrogates.encoders import SCORES_KIND, ArchEncoder, CurveFeatures, resolve_epochs
from surrogates.errors import SurrogateInputError, TooFewPointsError
from surrogates.models import ENSEMBLE_MEMBERS, MIN_TRAIN, StackedEnsemble, SurrogateBase, observed_lengths

#: The compact encoding ``members="auto"`` also fits the ensemble's members on alone, when the
#: model's encoding has it and wider ones: NB201's 13 live-path counts beside its live
#: one-hot and path encodings.
COMPACT_KIND = "features"

#: ``cuts="long"``: every observed length gets its model up to curves of this many epochs;
#: longer curves get every length below :data:`DENSE_CUTS`, then a geometric grid of ratio
#: :data:`CUT_RATIO` (fit time grows with the log of the curve length, not linearly).
LONG_CURVE = 20
DENSE_CUTS = 8
CUT_RATIO = 1.2


class CurveSurrogate(SurrogateBase):
    """Final accuracy from the architecture plus the curve observed so far.

    Args:
        space: the search space (``None``: column 0 is a plain number).
        epochs: the table's epochs ``(E,)`` of the curve columns (``None``: ``1..E``).
        kinds: architecture encodings (``"auto"``).
        members: regressors of each cut's ensemble. ``NAME@KINDS`` (e.g.
            ``extra_trees@features``) fits member ``NAME`` on the architecture encodings
            ``KINDS`` (``+``-separated, a subset of ``kinds``) and the curve features only.
            ``"auto"`` (the default): ridge, extra trees and gradient boosting on every
            feature and, when the encoding combines the space's compact ``features``
            with wider ones (NB201), the same three again on ``features`` and the curve
            alone. Stacking weighs the two views by out-of-fold error: the compact view
            wins with few training rows, the wide one with many.
        cuts: observed lengths to fit a model for: ``"long"`` (the default: every
            ``0..E-1`` when ``E <= 20``; for longer curves every length below 8, then a
            geometric grid of ratio 1.2 up to ``E - 1``, so a row observed to ``L``
            epochs uses at least ``L / 1.2`` of them and the number of cuts grows with
            ``log E``, not ``E``; every other cut of that grid takes the stacking weights
            and std calibration of the cut before it instead of cross-validating its own,
            unless ``warm_start``), ``"all"`` (every ``0..E-1``), ``"auto"`` (all when
            ``E <= 8``, otherwise 0, 1 and every eighth of the epochs: fit time grows
            linearly with the number of cuts, but a row observed between two cuts loses
            its later epochs), or a list (cuts at or past ``E`` are ignored; without 0 the
            model cannot predict from rows observed to fewer epochs than its smallest cut,
            which saves fitting an architecture-only model a caller never uses).
        families: parametric curve families used for curve features.
        bounds: range of the parametric extrapolations (accuracy in percent).
        cv: folds for stacking and calibration.
        coverage: interval the std is calibrated for.
        random_state: seed.
        n_jobs: processes fitting cuts in parallel (joblib; ``None``: one).
        member_params: member name -> parameter overrides.
        warm_start: a refit keeps each cut's stacking weights and std calibration until
            that cut's rows grew by ``recalibrate_growth``; only its members are refit in
            between (:class:`~surrogates.models.StackedEnsemble`). For searches that
            refit after every few new results.
        recalibrate_growth: see :class:`~surrogates.models.StackedEnsemble`.
        scores: per-architecture scores for the ``scores`` encoding
            (:class:`~surrogates.encoders.ArchEncoder`); the compact view then adds them
            to ``features``.
        target: the scale the target (and the observed curve) is learnt on: ``auto``
            (chosen from the training targets), ``identity``, ``log`` or ``quantile``
            (:mod:`surrogates.targets`).
        diverged: diverged runs (far beyond the bulk on the log scale): ``cap``, ``drop``
            or ``keep`` (:mod:`surrogates.targets`).
        curve_points: a prefix longer than this is summarised by as many bin means
            (:class:`~surrogates.encoders.CurveFeatures`; ``None``: every epoch).

    Attributes:
        target_transform_: the fitted :class:`~surrogates.targets.TargetTransform`.
        cuts_: int ``(K,)`` fitted cuts, increasing (starting at 0 unless a cut list omits it).
        models_: list of ``K`` fitted pipelines, one per cut.
        epochs_: float ``(E,)`` resolved epochs.
    """

    def __init__(
        self,
        space: Any = None,
        epochs: Sequence[int] | None = None,
        kinds: str | Sequence[str] = "auto",
        members: str | Sequence[str] = "auto",
        cuts: str | Sequence[int] = "long",
        families: Sequence[str] = DEFAULT_FAMILIES,
        bounds: tuple[float, float] | None = (0.0, 100.0),
        cv: int | str = "auto",
        coverage: float = 0.9,
        random_state: int | None = None,
        n_jobs: int | None = None,
        member_params: dict[str, dict[str, Any]] | None = None,
        warm_start: bool = False,
        recalibrate_growth: float = 1.0,
        scores: np.ndarray | None = None,
        target: str = "auto",
        diverged: str = "cap",
        curve_points: int | None = 20,
    ) -> None:
        self.space = space
        self.epochs = epochs
        self.kinds = kinds
        self.members = members
        self.cuts = cuts
        self.families = families
        self.bounds = bounds
        self.cv = cv
        self.coverage = coverage
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.member_params = member_params
        self.warm_start = warm_start
        self.recalibrate_growth = recalibrate_growth
        self.scores = scores
        self.target = target
        self.diverged = diverged
        self.curve_points = curve_points

    def _bounds(self) -> tuple[float, float] | None:
        """``bounds`` on the fitted target scale (curve features are extrapolated there)."""
        tt = self._target()
        if tt is None or self.bounds is None:
            return self.bounds
        lo, hi = tt.curve(np.asarray([[self.bounds[0], self.bounds[1]]], dtype=np.float64))[0]
        ends = [b for b in (lo, hi) if np.isfinite(b)]
        if len(ends) < 2:
            return None
        return (float(min(ends)), float(max(ends)))

    def _cut_list(self, n_epochs: int) -> list[int]:
        if isinstance(self.cuts, str):
            if (
                self.cuts == "all"
                or (self.cuts == "auto" and n_epochs <= 8)
                or (self.cuts == "long" and n_epochs <= LONG_CURVE)
            ):
                return list(range(max(n_epochs, 1)))
            if self.cuts == "long":
                steps = int(np.ceil(np.log((n_epochs - 1) / DENSE_CUTS) / np.log(CUT_RATIO)))
                grid = np.round(DENSE_CUTS * CUT_RATIO ** np.arange(steps + 1)).astype(int)
                return sorted(set(range(DENSE_CUTS)) | {int(c) for c in grid if c < n_epochs})
            if self.cuts != "auto":
                raise SurrogateInputError(
                    f"cuts must be 'long', 'all', 'auto' or a list of observed lengths, got {self.cuts!r}"
                )
            eighths = {int(np.floor(n_epochs * j / 8 + 0.5)) for j in range(1, 8)}
            return sorted({0, 1} | {c for c in eighths if 0 < c < n_epochs})
        cuts = sorted({int(c) for c in self.cuts})
        if cuts and cuts[0] < 0:
            raise SurrogateInputError(f"cuts are observed lengths and cannot be negative, got {cuts[0]}")
        kept = [
            c for c in cuts if c < max(n_epochs, 1)
        ]  # a cut at or past the last epoch has nothing to predict
        if not kept:
            raise SurrogateInputError(
                f"cuts {cuts} name no observed length below {n_epochs} (a cut at or past it predicts nothing)"
            )
        return kept

    def _pipeline(self, k: int) -> Pipeline:
        arch = ArchEncoder(self.space, self.kinds, self.scores)
        parts = [("arch", arch)]
        if k > 0:
            parts.append(
                (
                    "curve",
                    CurveFeatures(self.epochs_.tolist(), k, self.families, self._bounds(), self.curve_points),
                )
            )
        blocks = arch.column_blocks()
        members = self._members(tuple(blocks))
        views = self._views(members, blocks)
        ensemble = StackedEnsemble(
            members,
            self.cv,
            self.coverage,
            self.random_state,
            self.member_params,
            views,
            warm_start=self.warm_start,
            recalibrate_growth=self.recalibrate_growth,
        )
        if self.warm_start:
            # keep the cut's fitted ensemble (its calibration) when it is still the same model
            old = dict(zip(getattr(self, "cuts_", ()), getattr(self, "models_", ()), strict=True)).get(k)
            if old is not None and old.named_steps["regress"].get_params() == ensemble.get_params():
                ensemble = old.named_steps["regress"]
        return Pipeline([("features", FeatureUnion(parts)), ("regress", ensemble)])

    def _members(self, kinds: tuple[str, ...]) -> tuple[str, ...]:
        """The ensemble members, with ``"auto"`` resolved for the encodings ``kinds``."""
        if isinstance(self.members, str):
            if self.members != "auto":
                raise SurrogateInputError(
                    f"members must be 'auto' or a list of member names, got {self.members!r}"
                )
            if COMPACT_KIND in kinds and len(kinds) > 1:
                # per-architecture scores are compact too: the compact view keeps them
                compact = f"{COMPACT_KIND}+{SCORES_KIND}" if SCORES_KIND in kinds else COMPACT_KIND
                if set(compact.split("+")) != set(kinds):
                    return (*ENSEMBLE_MEMBERS, *(f"{m}@{compact}" for m in ENSEMBLE_MEMBERS))
            return ENSEMBLE_MEMBERS
        return tuple(self.members)

    @staticmethod
    def _views(members: tuple[str, ...], blocks: dict[str, range]) -> dict[str, tuple[list[int], int]] | None:
        """The views that ``@KINDS`` members name: those encodings' columns, then the curve features."""
        width = max((r.stop for r in blocks.values()), default=0)  # curve features start here
        views = {}
        for view in sorted({m.partition("@")[2] for m in members if "@" in m}):
            kinds = view.split("+")
            unknown = [kind for kind in kinds if kind not in blocks]
            if unknown:
                raise SurrogateInputError(
                    f"ensemble member view {view!r}: encoding {unknown[0]!r} is not one of this model's "
                    f"({', '.join(blocks)})"
                )
            views[view] = ([c for kind in kinds for c in blocks[kind]], width)
        return views or None

    def fit(self, X: Any, y: Any) -> CurveSurrogate:
        """Fit one model per cut.

        Args:
            X: float ``(n, 1 + E)``: index, then the curve (NaN where not observed).
                Rows may be observed to different lengths; each trains the cuts it reaches.
            y: float ``(n,)`` final validation accuracy.

        Raises:
            SurrogateInputError, TooFewPointsError.
        """
        X, y = self._validate_fit(X, y)
        X, y = self._fit_target(X, y)
        n_epochs = X.shape[1] - 1
        self.epochs_ = resolve_epochs(self.epochs, n_epochs)
        lengths = observed_lengths(X[:, 1:])
        jobs = []
        for k in self._cut_list(n_epochs):
            rows = np.flatnonzero(lengths >= k)
            Xk = X[rows].copy()
            Xk[:, 1 + k :] = np.nan
            # the same (arch, prefix, target) may come from several truncations of one run
            _, first = np.unique(
                np.column_stack([np.nan_to_num(Xk[:, : 1 + k], nan=-1.0), y[rows]]), axis=0, return_index=True
            )
            keep = np.sort(first)
            if len(keep) < MIN_TRAIN:
                if not jobs:  # the smallest cut must be fitted
                    raise TooFewPointsError(
                        f"{type(self).__name__} needs at least {MIN_TRAIN} training points observed to {k} "
                        f"epochs; got n_samples = {len(keep)}"
                    )
                continue
            jobs.append((k, Xk[keep], y[rows][keep]))
        # Long curves: every other cut cross-validates; the cuts between borrow the stacking
        # weights and std calibration of the next shorter one (see ``cuts``).
        shared = self.cuts == "long" and n_epochs > LONG_CURVE and not self.warm_start
        own = [j for j in range(len(jobs)) if not shared or j % 2 == 0]
        fitted = dict(
            zip(
                own,
                Parallel(n_jobs=self.n_jobs)(
                    delayed(_fit)(self._pipeline(jobs[j][0]), jobs[j][1], jobs[j][2]) for j in own
                ),
                strict=True,
            )
        )
        rest = [j for j in range(len(jobs)) if j not in fitted]
        borrowed = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_like)(self._pipeline(jobs[j][0]), jobs[j][1], jobs[j][2], fitted[j - 1])
            for j in rest
        )
        fitted.update(zip(rest, borrowed, strict=True))
        self.cuts_ = np.asarray([k for k, _, _ in jobs], dtype=np.int64)
        self.models_ = [fitted[j] for j in range(len(jobs))]
        return self

    def predict(self, X: Any, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predicted final score ``(n,)`` (and calibrated std ``(n,)``), in score units.

        Each row uses the model of the largest fitted cut not beyond its observed
        length; a row observed up to the last epoch returns that value with std 0.
        """
        check_is_fitted(self, "models_")
        X = self._validate_predict(X)
        mean, std, full = self._predict_rows(X)
        part = ~full
        if part.any():
            mean[part], std[part] = self._back(mean[part], std[part])
        mean[full] = X[full, -1]
        return (mean, std) if return_std else mean

    def _predict_scaled(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self, "models_")
        X = self._validate_predict(X)
        mean, std, full = self._predict_rows(X)
        tt = self._target()
        if full.any() and tt is not None:
            mean[full] = tt.transform(X[full, -1])
        return mean, std

    def _predict_rows(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(mean, std, full)`` on the fitted scale; ``full`` rows (fully observed) are
        left to the caller."""
        X = self._to_scale(X)
        n_epochs = X.shape[1] - 1
        lengths = observed_lengths(X[:, 1:])
        mean = np.zeros(len(X))
        std = np.zeros(len(X))
        full = (lengths >= n_epochs) & (n_epochs > 0)
        pos = np.searchsorted(self.cuts_, lengths, side="right") - 1
        short = (pos < 0) & ~full
        if short.any():
            raise SurrogateInputError(
                f"this model was fitted for curves observed to at least {int(self.cuts_[0])} epochs; "
                f"{int(short.sum())} row(s) are observed to only {int(lengths[short].min())}"
            )
        for j in np.unique(pos[~full]):
            rows = np.flatnonzero((pos == j) & ~full)
            k = int(self.cuts_[j])
            Xk = X[rows].copy()
            Xk[:, 1 + k :] = np.nan
            m, s = self.models_[j].predict(Xk, return_std=True)
            mean[rows], std[rows] = m, s
        return mean, std, full


def _fit(pipeline: Pipeline, X: np.ndarray, y: np.ndarray) -> Pipeline:
    return pipeline.fit(X, y)


def _fit_like(pipeline: Pipeline, X: np.ndarray, y: np.ndarray, like: Pipeline) -> Pipeline:
    """Fit a cut's pipeline with the stacking weights and calibration of ``like``'s ensemble."""
    Z = pipeline[:-1].fit_transform(X, y)
    pipeline[-1].fit_like(Z, y, like[-1])
    return pipeline
