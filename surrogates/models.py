"""Regressors with calibrated uncertainty, and the architecture-only surrogates.

:class:`StackedEnsemble` is the regressor inside every learned surrogate. Its members
(``ridge``, ``extra_trees``, ``random_forest``, ``hist_gbm``, ``gp``, ``nu_svr``) are fit
with K-fold cross-validation first: the out-of-fold predictions give convex stacking
weights (non-negative least squares) and calibrate the uncertainty, then every member is
refit on all the data. The predictive std is ``c * (spread + delta)``, where ``spread``
is the members' disagreement plus their own spread (trees of a forest, a GP's std) and
``c`` is chosen so that ``mean +- z * std`` covers the requested fraction of the
out-of-fold residuals (normalised split-conformal calibration; ``z`` is the normal
quantile, so the std reads as a Gaussian std).

:class:`ArchSurrogate` is a pipeline of :class:`~surrogates.encoders.ArchEncoder` and a
:class:`StackedEnsemble`; it ignores curve columns, so it predicts at ``t = 0``.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.optimize import nnls
from scipy.special import ndtri
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from surrogates.encoders import ArchEncoder, indices_of
from surrogates.errors import SurrogateInputError, TooFewPointsError
from surrogates.targets import TargetTransform, fit_target

log = logging.getLogger(__name__)

#: Fewest training rows any learned surrogate accepts.
MIN_TRAIN = 3


# ---- members ------------------------------------------------------------------------
def _ridge(random_state: int | None, n_features: int) -> Any:
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("ridge", RidgeCV(alphas=np.logspace(-3, 3, 13)))])


def _extra_trees(random_state: int | None, n_features: int) -> Any:
    from sklearn.ensemble import ExtraTreesRegressor

    return ExtraTreesRegressor(n_estimators=100, max_features=0.5, random_state=random_state)


def _random_forest(random_state: int | None, n_features: int) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=200, max_features=1 / 3, random_state=random_state)


def _hist_gbm(random_state: int | None, n_features: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    # scikit-learn's defaults except leaves of 5 (training sets here can be 100 rows)
    return HistGradientBoostingRegressor(
        max_iter=100, learning_rate=0.1, min_samples_leaf=5, early_stopping=False, random_state=random_state
    )


def _gp(random_state: int | None, n_features: int) -> Any:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
    from sklearn.preprocessing import StandardScaler

    kernel = ConstantKernel(1.0) * Matern(length_scale=max(1.0, np.sqrt(n_features)), nu=2.5) + WhiteKernel(
        0.1
    )
    gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=random_state)
    return Pipeline([("scale", StandardScaler()), ("gp", gp)])


def _nu_svr(random_state: int | None, n_features: int) -> Any:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import NuSVR

    svr = Pipeline([("scale", StandardScaler()), ("svr", NuSVR(C=1.0, nu=0.5))])
    return TransformedTargetRegressor(svr, transformer=StandardScaler())


#: The members of the default stacked ensemble (``ensemble``, and each cut of ``combined``).
ENSEMBLE_MEMBERS: tuple[str, ...] = ("ridge", "extra_trees", "hist_gbm")

#: member name -> factory ``(random_state, n_features) -> unfitted regressor``.
MEMBERS: dict[str, Callable[[int | None, int], Any]] = {
    "ridge": _ridge,
    "extra_trees": _extra_trees,
    "random_forest": _random_forest,
    "hist_gbm": _hist_gbm,
    "gp": _gp,
    "nu_svr": _nu_svr,
}


def make_member(
    name: str, random_state: int | None, n_features: int, params: dict[str, Any] | None = None
) -> Any:
    """An unfitted member regressor, with ``params`` set on it (``set_params`` names).

    Raises:
        SurrogateInputError: unknown member name or parameter.
    """
    try:
        factory = MEMBERS[name]
    except KeyError:
        raise SurrogateInputError(
            f"unknown ensemble member {name!r}; available: {', '.join(MEMBERS)}"
        ) from None
    model = factory(random_state, n_features)
    if params:
        try:
            model.set_params(**params)
        except ValueError as exc:
            raise SurrogateInputError(f"bad parameter for member {name!r}: {exc}".splitlines()[0]) from None
    return model


@functools.cache
def _thread_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    # Built once: each ``threadpool_limits(...)`` rescans the loaded libraries (~3 ms), which
    # dominated the cost of the many small fits and single-row predictions of early stopping.
    return ThreadpoolController()


def one_thread() -> Any:
    """Context manager: BLAS and OpenMP pools limited to one thread."""
    return _thread_controller().limit(limits=1)


def member_mean_spread(model: Any, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, spread)`` of one fitted member, each ``(n,)``; spread 0 if it has none."""
    with one_thread():
        return _mean_spread(model, Z)


def _mean_spread(model: Any, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
    from sklearn.gaussian_process import GaussianProcessRegressor

    last = model.steps[-1][1] if isinstance(model, Pipeline) else model
    if isinstance(last, GaussianProcessRegressor):
        mean, std = model.predict(Z, return_std=True)
        return np.asarray(mean, float), np.asarray(std, float)
    if isinstance(last, ExtraTreesRegressor | RandomForestRegressor) and hasattr(last, "estimators_"):
        Zt = model[:-1].transform(Z) if isinstance(model, Pipeline) else Z
        Zt = np.ascontiguousarray(Zt, dtype=np.float32)  # validated once here, not once per tree
        per_tree = np.stack([t.predict(Zt, check_input=False) for t in last.estimators_])
        return per_tree.mean(0), per_tree.std(0)
    return np.asarray(model.predict(Z), float).reshape(-1), np.zeros(len(Z))


def stacking_weights(P: np.ndarray, y: np.ndarray, n_iter: int = 20) -> np.ndarray:
    """Convex weights ``(M,)`` of out-of-fold member predictions ``P (n, M)``.

    Non-negative least squares under a Huber loss (iteratively reweighted; tuning
    constant 1.345 robust standard deviations of the residuals): a few training points
    far from the rest (disconnected NB201 cells at 10% accuracy, diverged-looking runs)
    must not decide which member ranks the bulk of the architectures.
    """
    m = P.shape[1]
    w = np.full(m, 1.0 / m)
    rw = np.ones(len(y))
    for _ in range(n_iter):
        root = np.sqrt(rw)[:, None]
        new, _ = nnls(P * root, y * root[:, 0])
        new = new / new.sum() if new.sum() > 0 else np.full(m, 1.0 / m)
        resid = y - P @ new
        scale = 1.4826 * float(np.median(np.abs(resid - np.median(resid)))) + 1e-12
        a = np.abs(resid) / (1.345 * scale)
        rw = np.where(a <= 1, 1.0, 1.0 / np.maximum(a, 1e-12))
        if np.allclose(new, w, atol=1e-6):
            w = new
            break
        w = new
    return w


def _combine(P: np.ndarray, S: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = P @ w
    spread = np.sqrt(np.maximum(((P - mean[:, None]) ** 2 + S**2) @ w, 0.0))
    return mean, spread


def conformal_scale(resid: np.ndarray, spread: np.ndarray, coverage: float) -> tuple[float, float]:
    """``(c, delta)`` so that ``|resid| <= z * c * (spread + delta)`` for a ``coverage``
    share of the points (finite-sample corrected quantile)."""
    resid = np.abs(resid)
    pos = spread[spread > 0]
    delta = 0.1 * float(np.median(pos)) if pos.size else 0.0
    if delta <= 0:
        delta = float(np.std(resid)) + 1e-9 if resid.size else 1.0
    ratio = resid / (spread + delta)
    n = len(ratio)
    level = min(1.0, np.ceil((n + 1) * coverage) / n)
    z = float(ndtri(0.5 + coverage / 2))
    return float(np.quantile(ratio, level, method="higher")) / z, delta


class StackedEnsemble(RegressorMixin, BaseEstimator):
    """Members stacked by out-of-fold non-negative weights, with calibrated std.

    Args:
        members: member names from :data:`MEMBERS`; ``NAME@VIEW`` fits member ``NAME``
            on the columns of ``views[VIEW]`` only.
        cv: folds for stacking and calibration; ``"auto"``: 5, or 3 above 400 rows
            (fewer when there are very few rows).
        coverage: central interval the std is calibrated for (``mean +- z * std``).
        random_state: seed of the folds and members.
        member_params: member name -> ``set_params`` overrides (e.g. fewer trees); a
            plain name (``extra_trees``) applies to that member in every view, a full
            label (``extra_trees@features``) to that one member, on top.
        views: view name -> ``(columns, tail)``: a view holds the given columns of ``Z``
            plus every column from ``tail`` on (``CurveSurrogate`` uses it for "these
            architecture features and all curve features").
        warm_start: a refit of a fitted ensemble (same members and features) keeps the
            stacking weights and the std's calibration of its last cross-validation and
            only refits the members on all rows, until the rows grew by
            ``recalibrate_growth`` since that cross-validation. The cross-validation is
            5/6 of a fit's cost; a search that refits after every few new results needs
            it only as its data grows geometrically.
        recalibrate_growth: with ``warm_start``, redo the cross-validation once the
            training rows reach ``(1 + recalibrate_growth)`` times those it last used.

    Attributes:
        columns_: per member, the column indices of ``Z`` it sees (``None``: all).
        calibrated_on_: rows of the last cross-validation (0: too few rows for one).
        oof_prediction_: ``(calibrated_on_,)`` its out-of-fold stacked predictions.
    """

    def __init__(
        self,
        members: Sequence[str] = ENSEMBLE_MEMBERS,
        cv: int | str = "auto",
        coverage: float = 0.9,
        random_state: int | None = None,
        member_params: dict[str, dict[str, Any]] | None = None,
        views: dict[str, tuple[Sequence[int], int]] | None = None,
        warm_start: bool = False,
        recalibrate_growth: float = 1.0,
    ) -> None:
        self.members = members
        self.cv = cv
        self.coverage = coverage
        self.random_state = random_state
        self.member_params = member_params
        self.views = views
        self.warm_start = warm_start
        self.recalibrate_growth = recalibrate_growth

    def _columns(self, label: str, d: int) -> np.ndarray | None:
        """Column indices member ``label`` sees in a ``d``-column ``Z`` (``None``: all)."""
        _, at, view = label.partition("@")
        if not at:
            return None
        try:
            cols, tail = (self.views or {})[view]
        except KeyError:
            raise SurrogateInputError(
                f"ensemble member {label!r} names view {view!r}, which this model does not have "
                f"(views: {', '.join(self.views or {}) or 'none'})"
            ) from None
        out = np.unique(np.r_[np.asarray(cols, dtype=np.int64), np.arange(int(tail), d, dtype=np.int64)])
        if out.size == 0 or out[0] < 0 or out[-1] >= d:
            raise SurrogateInputError(f"view {view!r} selects columns outside the {d} features")
        return out

    def _can_reuse(self, names: tuple[str, ...], Z: Any) -> bool:
        """Whether a warm-started refit may keep the last weights and calibration."""
        if not (self.warm_start and hasattr(self, "calibrated_on_")):
            return False
        if not self.recalibrate_growth >= 0:
            raise SurrogateInputError(f"recalibrate_growth must be >= 0, got {self.recalibrate_growth}")
        shape = np.shape(Z)
        if len(shape) != 2:
            return False  # validation rejects it
        n, d = shape
        return (
            self.fitted_members_ == names
            and self.n_features_in_ == d
            and self.calibrated_on_ > 0
            and n < (1.0 + self.recalibrate_growth) * self.calibrated_on_
        )

    def fit(self, Z: np.ndarray, y: np.ndarray) -> StackedEnsemble:
        return self._fit(Z, y, None)

    def fit_like(self, Z: np.ndarray, y: np.ndarray, other: StackedEnsemble) -> StackedEnsemble:
        """Fit the members on all rows, taking the stacking weights and the std's
        calibration from ``other``, a fitted ensemble of the same members (a neighbouring
        model, e.g. the next shorter observed length of a long curve): no cross-validation,
        1/(folds + 1) of a fit's cost.

        Raises:
            SurrogateInputError: ``other`` is unfitted or has other members.
        """
        if getattr(other, "fitted_members_", None) != tuple(self.members):
            raise SurrogateInputError("fit_like needs a fitted ensemble of the same members")
        return self._fit(Z, y, other)

    def _fit(self, Z: np.ndarray, y: np.ndarray, like: StackedEnsemble | None) -> StackedEnsemble:
        names = tuple(self.members)
        reuse = self._can_reuse(names, Z)
        Z, y = validate_data(self, Z, y, y_numeric=True, dtype=np.float64)
        if not names:
            raise SurrogateInputError("an ensemble needs at least one member")
        if not 0 < self.coverage < 1:
            raise SurrogateInputError(f"coverage must lie in (0, 1), got {self.coverage}")
        n, d = Z.shape
        rs = np.random.RandomState(self.random_state)
        seeds = rs.randint(0, 2**31 - 1, size=len(names) + 1)
        extra = dict(self.member_params or {})
        bases = [m.partition("@")[0] for m in names]
        unknown = [k for k in extra if k not in names and k not in bases]
        if unknown:
            raise SurrogateInputError(
                f"member_params names {unknown[0]!r}, which is not a member ({', '.join(names)})"
            )
        self.columns_ = [self._columns(m, d) for m in names]
        protos = [
            make_member(base, int(s), d if c is None else len(c), {**extra.get(base, {}), **extra.get(m, {})})
            for m, base, s, c in zip(names, bases, seeds, self.columns_, strict=False)
        ]
        if self.cv == "auto":
            folds = 5 if n <= 400 else 3
        elif isinstance(self.cv, int | np.integer) and not isinstance(self.cv, bool) and self.cv >= 2:
            folds = int(self.cv)
        else:
            raise SurrogateInputError(f"cv must be 'auto' or an integer >= 2, got {self.cv!r}")
        folds = min(folds, n // 2)
        if like is not None:
            self.weights_, self.scale_, self.delta_ = like.weights_.copy(), like.scale_, like.delta_
            self.calibrated_on_ = 0  # nothing cross-validated here (a warm start recalibrates)
            self.oof_prediction_ = np.zeros(0)
        elif not reuse:  # a warm start keeps weights_, scale_, delta_ of the last one
            self._calibrate(Z, y, protos, folds, int(seeds[-1]))
        self.fitted_members_ = names
        self.estimators_ = [
            _fit_quiet(clone(p), _view(Z, c), y) for p, c in zip(protos, self.columns_, strict=True)
        ]
        return self

    def _calibrate(self, Z: np.ndarray, y: np.ndarray, protos: list[Any], folds: int, seed: int) -> None:
        """Stacking weights and the std's calibration from ``folds``-fold out-of-fold predictions."""
        n, m = len(y), len(protos)
        self.weights_ = np.full(m, 1.0 / m)
        if folds < 2:  # too few rows to cross-validate: an honest, wide default
            self.scale_, self.delta_ = 1.0, float(np.std(y)) + 1e-9
            self.oof_prediction_ = np.full(n, float(np.mean(y)))
            self.calibrated_on_ = 0
            return
        P = np.empty((n, m))
        S = np.empty((n, m))
        for tr, te in KFold(folds, shuffle=True, random_state=seed).split(Z):
            for j, (proto, c) in enumerate(zip(protos, self.columns_, strict=True)):
                model = _fit_quiet(clone(proto), _view(Z[tr], c), y[tr])
                P[te, j], S[te, j] = member_mean_spread(model, _view(Z[te], c))
        if m > 1:
            self.weights_ = stacking_weights(P, y)
        mean, spread = _combine(P, S, self.weights_)
        self.scale_, self.delta_ = conformal_scale(y - mean, spread, self.coverage)
        self.oof_prediction_ = mean
        self.calibrated_on_ = n

    def predict(self, Z: np.ndarray, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predicted mean ``(n,)``, and the calibrated std ``(n,)`` with ``return_std``."""
        check_is_fitted(self, "estimators_")
        Z = validate_data(self, Z, reset=False, dtype=np.float64)
        parts = [
            member_mean_spread(m, _view(Z, c)) for m, c in zip(self.estimators_, self.columns_, strict=True)
        ]
        P = np.stack([p for p, _ in parts], axis=1)
        S = np.stack([s for _, s in parts], axis=1)
        mean, spread = _combine(P, S, self.weights_)
        if return_std:
            return mean, self.scale_ * (spread + self.delta_)
        return mean


def _view(Z: np.ndarray, columns: np.ndarray | None) -> np.ndarray:
    return Z if columns is None else Z[:, columns]


def _fit_quiet(model: Any, Z: np.ndarray, y: np.ndarray) -> Any:
    # One thread: OpenMP spin-waiting makes gradient boosting 10-40x slower on a shared
    # machine, and callers (process pools of strategies) parallelise at a higher level.
    with warnings.catch_warnings(), one_thread():
        # A GP hyperparameter at its bound is expected on small or easy data.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(Z, y)


# ---- shared input handling ------------------------------------------------------------
def observed_lengths(C: np.ndarray) -> np.ndarray:
    """int ``(n,)``: leading observed (finite) values of each curve row ``C (n, E)``.

    A curve is used up to its first NaN: a diverged run is observed until it diverged,
    and anything recorded after a gap is ignored.
    """
    if C.shape[1] == 0:
        return np.zeros(len(C), dtype=np.int64)
    miss = ~np.isfinite(C)
    first = np.where(miss.any(1), np.argmax(miss, axis=1), C.shape[1])
    return first.astype(np.int64)


class SurrogateBase(RegressorMixin, BaseEstimator):
    """Input validation shared by the surrogates (``X``: index column + curve columns),
    and the target transform of those that take ``target`` and ``diverged``
    (:mod:`surrogates.targets`)."""

    #: Parameters a model saved before they existed gets on loading: its old behaviour.
    _LEGACY_PARAMS: dict[str, Any] = {"target": "identity", "diverged": "keep", "curve_points": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        names = self._get_param_names()
        for k, v in self._LEGACY_PARAMS.items():
            if k in names:
                state.setdefault(k, v)
        super().__setstate__(state)

    def _fit_target(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Choose and fit the target transform (``target_transform_``); returns ``(X, z)``:
        the rows to fit on, curve columns on the transform's scale, and their targets."""

        def features() -> np.ndarray:
            return ArchEncoder(self.space, self.kinds, getattr(self, "scores", None)).fit_transform(X)

        tt, keep = fit_target(y, self.target, self.diverged, features, self.random_state)
        self.target_transform_ = tt
        if tt.kind == "identity":
            return X, y
        X = X[keep].copy()
        X[:, 1:] = tt.curve(X[:, 1:])
        return X, tt.transform(y[keep])

    def _target(self) -> TargetTransform | None:
        tt = getattr(self, "target_transform_", None)
        return None if tt is None or tt.kind == "identity" else tt

    def _to_scale(self, X: np.ndarray) -> np.ndarray:
        """``X`` with its curve columns on the fitted target scale."""
        tt = self._target()
        if tt is None:
            return X
        X = X.copy()
        X[:, 1:] = tt.curve(X[:, 1:])
        return X

    def _back(self, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictions on the fitted scale -> score units."""
        tt = self._target()
        if tt is None:
            return mean, std
        return tt.back(np.asarray(mean, float), np.asarray(std, float), float(ndtri(0.5 + self.coverage / 2)))

    def predict_interval(self, X: Any, coverage: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, hi)``, each ``(n,)``: the central ``coverage`` interval in score units,
        both ends mapped through the target transform (asymmetric on a log scale).

        ``coverage`` defaults to the one the std is calibrated for.
        """
        cov = self.coverage if coverage is None else float(coverage)
        tt = self._target()
        z = float(ndtri(0.5 + cov / 2))
        if tt is None:
            mean, std = self.predict(X, return_std=True)
            return mean - z * std, mean + z * std
        mean, std = self._predict_scaled(X)
        lo, hi = tt.inverse(mean - z * std), tt.inverse(mean + z * std)
        return np.minimum(lo, hi), np.maximum(lo, hi)

    def _predict_scaled(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN marks unobserved epochs
        return tags

    def _check_y(self, y: Any) -> None:
        try:
            yy = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            return  # let scikit-learn's validation name the problem
        if yy.ndim == 1 and np.isnan(yy).any():
            raise SurrogateInputError(
                f"y has {int(np.isnan(yy).sum())} NaN value(s): a diverged or missing final "
                "accuracy cannot be a training target; drop those rows"
            )

    @staticmethod
    def _check_inf(X: Any) -> None:
        try:
            arr = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError):
            return  # let scikit-learn's validation name the problem
        if np.isinf(arr).any():
            raise SurrogateInputError(
                "X contains infinite values; mark unobserved or diverged epochs with NaN"
            )

    def _check_indices(self, X: np.ndarray) -> None:
        if X.shape[1] >= 1:
            indices_of(X, getattr(self, "space", None))

    def _validate_fit(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        self._check_y(y)
        self._check_inf(X)
        X, y = validate_data(
            self, X, y, y_numeric=True, dtype=np.float64, ensure_all_finite="allow-nan", ensure_min_samples=1
        )
        self._check_indices(X)
        name = type(self).__name__
        if len(X) < MIN_TRAIN:
            raise TooFewPointsError(
                f"{name} needs at least {MIN_TRAIN} training points; got n_samples = {len(X)}"
            )
        return X, y

    def _validate_predict(self, X: Any) -> np.ndarray:
        X = np.asarray(X) if not hasattr(X, "iloc") else X
        n_cols = getattr(X, "shape", (0, 0))[1] if getattr(X, "ndim", 0) == 2 else None
        if n_cols is not None and n_cols != self.n_features_in_:
            raise SurrogateInputError(
                f"curves of different lengths: X has {n_cols} features, but {type(self).__name__} "
                f"is expecting {self.n_features_in_} features as input (index + {self.n_features_in_ - 1} epochs)"
            )
        self._check_inf(X)
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")
        self._check_indices(X)
        return X


# ---- architecture-only surrogates -----------------------------------------------------
class ArchSurrogate(SurrogateBase):
    """Predict final accuracy from the architecture alone (curve columns are ignored).

    A pipeline of :class:`~surrogates.encoders.ArchEncoder` and :class:`StackedEnsemble`.

    Args:
        space: the search space of the indices in column 0 (``None``: column 0 is used
            as a plain number, for generic data and scikit-learn's checks).
        kinds: encodings (``"auto"``: see :func:`surrogates.encoders.default_kinds`).
        members: regressors of the ensemble (one member: a single model).
        scores: per-architecture scores for the ``scores`` encoding (:class:`ArchEncoder`).
        cv: folds for stacking weights and std calibration.
        coverage: interval the std is calibrated for.
        random_state: seed.
        epochs: accepted for a uniform constructor; unused.
        member_params: member name -> parameter overrides.
        warm_start: a refit keeps the ensemble's stacking weights and calibration until
            the rows grew by ``recalibrate_growth`` (:class:`StackedEnsemble`).
        recalibrate_growth: see :class:`StackedEnsemble`.
        target: the scale the target is learnt on: ``auto`` (chosen from the training
            targets), ``identity``, ``log`` or ``quantile`` (:mod:`surrogates.targets`).
        diverged: diverged runs (far beyond the bulk on the log scale): ``cap``, ``drop``
            or ``keep`` (:mod:`surrogates.targets`).

    Attributes:
        pipeline_: the fitted encoder + ensemble pipeline.
        target_transform_: the fitted :class:`~surrogates.targets.TargetTransform`.
    """

    def __init__(
        self,
        space: Any = None,
        kinds: str | Sequence[str] = "auto",
        members: Sequence[str] = ENSEMBLE_MEMBERS,
        cv: int | str = "auto",
        coverage: float = 0.9,
        random_state: int | None = None,
        epochs: Sequence[int] | None = None,
        member_params: dict[str, dict[str, Any]] | None = None,
        warm_start: bool = False,
        recalibrate_growth: float = 1.0,
        scores: np.ndarray | None = None,
        target: str = "auto",
        diverged: str = "cap",
    ) -> None:
        self.space = space
        self.kinds = kinds
        self.members = members
        self.cv = cv
        self.coverage = coverage
        self.random_state = random_state
        self.epochs = epochs
        self.member_params = member_params
        self.warm_start = warm_start
        self.recalibrate_growth = recalibrate_growth
        self.scores = scores
        self.target = target
        self.diverged = diverged

    def fit(self, X: Any, y: Any) -> ArchSurrogate:
        X, y = self._validate_fit(X, y)
        X, y = self._fit_target(X, y)
        ensemble = StackedEnsemble(
            self.members,
            self.cv,
            self.coverage,
            self.random_state,
            self.member_params,
            warm_start=self.warm_start,
            recalibrate_growth=self.recalibrate_growth,
        )
        if self.warm_start and hasattr(self, "pipeline_"):
            # keep the fitted ensemble (its calibration) when it is still the same model
            old = self.pipeline_.named_steps["regress"]
            if old.get_params() == ensemble.get_params():
                ensemble = old
        self.pipeline_ = Pipeline(
            [("encode", ArchEncoder(self.space, self.kinds, self.scores)), ("regress", ensemble)]
        )
        self.pipeline_.fit(X, y)
        return self

    def predict(self, X: Any, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predicted final score ``(n,)`` (and calibrated std ``(n,)``), in score units."""
        mean, std = self._predict_scaled(X)
        mean, std = self._back(mean, std)
        return (mean, std) if return_std else mean

    def _predict_scaled(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self, "pipeline_")
        X = self._to_scale(self._validate_predict(X))
        return self.pipeline_.predict(X, return_std=True)
