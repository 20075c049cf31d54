"""Target transforms: what scale a surrogate learns its target on, and diverged runs.

A surrogate's target is a score (validation accuracy, or minus a loss on a table that
minimises one). Losses such as FCNet's validation MSE span orders of magnitude and a
few diverged runs reach 10^4; fitted on the raw values, those few decide the fit. The
transform is chosen from the training targets alone, when the surrogate is fitted, and
recorded on the fitted model (``target_transform_``, and in a saved model's metadata):

``target="auto"`` (the default):

* ``identity`` unless the targets share one strict sign and their magnitudes ``|y|``
  have a heavy upper tail that the log tames: the quantile skewness
  ``((q99 - q50) - (q50 - q01)) / (q99 - q01)`` of ``|y|`` is at least 0.5 and larger
  than that of ``log |y|`` (a positive loss spanning orders of magnitude, with diverged
  runs far above the bulk). Accuracies are one-signed too, but their tail points
  towards zero (failed runs), so they stay on their own scale (NB201, digits, MetaQNN).
* Otherwise both ``log`` (signed:
  ``sign * log(|y|)``) and ``quantile`` (scikit-learn's :class:`QuantileTransformer` to
  normal scores, after the log) are candidates; the one whose out-of-fold Kendall tau
  of a small random forest on the training rows' architecture features is higher is
  used (3 folds, seeded; ties go to ``log``). The evaluation rows are never seen.

``target`` may also name one of ``identity``, ``log`` or ``quantile``.

Diverged runs (``diverged="cap"``, the default) are flagged on the log scale, where a
transform other than ``identity`` is used: a target on the worse side beyond Tukey's far
fence (``Q1 - 3 * IQR`` of the signed log targets; for a loss: above ``Q3 * (Q3/Q1)^3``)
is capped at the fence before the fit. It stays in the fit as a very bad run, but its
magnitude no longer decides the fit. ``"drop"`` leaves such rows out of the fit,
``"keep"`` fits them as they are. The threshold (in score units) and the count are
recorded. On the identity scale nothing is flagged.

Predictions are mapped back to score units: the mean through the inverse transform (the
median of the predictive distribution on the original scale), intervals by mapping both
ends, and the returned std is the mapped central interval's half-width over its normal
quantile, so that ``mean +- z * std`` has the interval's width.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from surrogates.errors import SurrogateInputError

#: Values of ``target``.
TARGETS: tuple[str, ...] = ("auto", "identity", "log", "quantile")
#: Values of ``diverged``.
DIVERGED: tuple[str, ...] = ("cap", "drop", "keep")
#: Quantile skewness of ``|y|`` from which one-signed targets count as heavy-tailed.
SKEW = 0.5
#: Tukey's far fence, in interquartile ranges of the signed log targets.
FENCE_IQR = 3.0


class TargetTransform:
    """A fitted target transform (plain state, saved inside the model file).

    Attributes:
        kind: ``identity``, ``log`` or ``quantile``.
        sign: ``+1`` or ``-1``: the common sign of the targets (log and quantile).
        cap: the diverged-run fence on the signed log scale (``-inf``: none).
        quantile: the fitted :class:`~sklearn.preprocessing.QuantileTransformer` (quantile only).
        info: JSON-ready description (choice, reason, diverged-run policy and count).
    """

    def __init__(self) -> None:
        self.kind = "identity"
        self.sign = 1.0
        self.cap = -np.inf
        self.quantile: Any = None
        self.info: dict[str, Any] = {"transform": "identity"}

    # ---- the log part (also applied to observed curve values) -------------------------
    def _log(self, y: np.ndarray) -> np.ndarray:
        v = np.maximum(self.sign * np.asarray(y, dtype=np.float64), np.finfo(np.float64).tiny)
        return self.sign * np.log(v)

    def curve(self, C: np.ndarray) -> np.ndarray:
        """Observed curve values (scores, ``(n, E)``, NaN kept) on the scale the features use."""
        if self.kind == "identity":
            return C
        with np.errstate(invalid="ignore"):
            out = self._log(C)
        return np.where(np.isfinite(C), out, np.nan)

    def transform(self, y: np.ndarray) -> np.ndarray:
        """float ``(n,)``: targets on the fitted scale (diverged runs capped)."""
        y = np.asarray(y, dtype=np.float64)
        if self.kind == "identity":
            return y
        z = np.maximum(self._log(y), self.cap)
        if self.kind == "quantile":
            z = self.quantile.transform(z[:, None])[:, 0]
        return z

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """float ``(n,)``: fitted-scale values back in score units."""
        z = np.asarray(z, dtype=np.float64)
        if self.kind == "identity":
            return z
        if self.kind == "quantile":
            z = self.quantile.inverse_transform(z[:, None])[:, 0]
        with np.errstate(over="ignore"):
            return self.sign * np.exp(np.clip(self.sign * z, -700.0, 700.0))

    def back(self, mean: np.ndarray, std: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` on the fitted scale -> score units (``z``: the interval's normal quantile)."""
        if self.kind == "identity":
            return mean, std
        lo, hi = self.inverse(mean - z * std), self.inverse(mean + z * std)
        return self.inverse(mean), np.abs(hi - lo) / (2.0 * z)


def fit_target(
    y: np.ndarray,
    target: str,
    diverged: str,
    features: Callable[[], np.ndarray] | None = None,
    random_state: int | None = None,
) -> tuple[TargetTransform, np.ndarray]:
    """Choose and fit the transform of training targets ``y (n,)``.

    Args:
        y: training targets (scores).
        target: one of :data:`TARGETS`.
        diverged: one of :data:`DIVERGED`.
        features: called (only when ``auto`` must choose) for the ``(n, d)`` architecture
            features of the training rows that the choice's forest is fitted on.
        random_state: seed of the choice's folds and forest.

    Returns:
        ``(transform, keep)``: the fitted transform and a bool ``(n,)`` mask of the rows
        to fit on (all, unless diverged runs are dropped).

    Raises:
        SurrogateInputError: an unknown ``target`` or ``diverged``, or ``log``/``quantile``
            asked for targets that do not share one strict sign.
    """
    if target not in TARGETS:
        raise SurrogateInputError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")
    if diverged not in DIVERGED:
        raise SurrogateInputError(f"diverged must be one of {', '.join(DIVERGED)}, got {diverged!r}")
    y = np.asarray(y, dtype=np.float64)
    tt = TargetTransform()
    keep = np.ones(len(y), dtype=bool)
    one_signed = len(y) > 0 and (bool(np.all(y > 0)) or bool(np.all(y < 0)))
    if target in ("log", "quantile") and not one_signed:
        raise SurrogateInputError(
            f"target={target!r} needs targets of one strict sign (a positive loss or accuracy); "
            "use 'identity' or 'auto'"
        )
    kind = target
    reason = "requested"
    if target == "auto":
        raw = quantile_skew(np.abs(y)) if one_signed else float("nan")
        logged = quantile_skew(np.log(np.abs(y))) if one_signed else float("nan")
        if not (one_signed and raw >= SKEW and abs(logged) < raw):
            tt.info = {
                "transform": "identity",
                "reason": "targets do not share one strict sign"
                if not one_signed
                else f"|target| is not heavy-tailed upwards (quantile skewness {raw:.3f}; "
                f"of its log {logged:.3f})",
                "diverged": {"policy": diverged, "flagged": 0, "note": "not flagged on the identity scale"},
            }
            return tt, keep
        kind = "log"
        reason = f"|target| is heavy-tailed upwards (quantile skewness {raw:.3f}; of its log {logged:.3f})"
    if kind == "identity":
        tt.info = {"transform": "identity", "reason": reason, "diverged": {"policy": diverged, "flagged": 0}}
        return tt, keep
    tt.sign = 1.0 if y[0] > 0 else -1.0
    tt.kind = "log"
    zl = tt._log(y)
    q1, q3 = np.percentile(zl, [25, 75])
    fence = float(q1 - FENCE_IQR * (q3 - q1))
    flagged = zl < fence
    if diverged == "cap":
        tt.cap = fence
    elif diverged == "drop" and (~flagged).sum() >= 3:
        keep = ~flagged
    zl = np.maximum(zl, tt.cap)
    choice: dict[str, Any] = {}
    if target == "auto" and features is not None and keep.sum() >= 30:
        choice = _choose(zl[keep], features()[keep], random_state)
        kind = max(choice, key=lambda k: (choice[k], k == "log"))
        reason += f"; {kind} has the higher out-of-fold Kendall tau on the training rows"
    if kind == "quantile":
        from sklearn.preprocessing import QuantileTransformer

        n = int(keep.sum())
        tt.quantile = QuantileTransformer(
            n_quantiles=min(1000, n), output_distribution="normal", subsample=None, random_state=0
        ).fit(zl[keep][:, None])
    tt.kind = kind
    tt.info = {
        "transform": kind,
        "reason": reason,
        "sign": int(tt.sign),
        "candidates_oof_tau": {k: round(v, 4) for k, v in choice.items()} or None,
        "diverged": {
            "policy": diverged,
            "rule": f"signed log target below Q1 - {FENCE_IQR:g} IQR (Tukey's far fence)",
            "threshold_score": float(tt.sign * np.exp(tt.sign * fence)),
            "flagged": int(flagged.sum()),
            "share": round(float(flagged.mean()), 5),
        },
    }
    return tt, keep


def quantile_skew(v: np.ndarray) -> float:
    """``((q99 - q50) - (q50 - q01)) / (q99 - q01)`` of ``v (n,)``, in ``[-1, 1]`` (0: symmetric)."""
    q01, q50, q99 = np.percentile(v, [1, 50, 99])
    width = q99 - q01
    return float(((q99 - q50) - (q50 - q01)) / width) if width > 0 else 0.0


def _choose(zl: np.ndarray, F: np.ndarray, random_state: int | None) -> dict[str, float]:
    """Out-of-fold Kendall tau of a small forest on the log and the quantile scale."""
    from scipy.stats import kendalltau
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import QuantileTransformer
    from threadpoolctl import threadpool_limits

    seed = 0 if random_state is None else int(random_state)
    out = {}
    folds = list(KFold(3, shuffle=True, random_state=seed).split(F))
    for kind in ("log", "quantile"):
        pred = np.empty(len(zl))
        for tr, te in folds:
            t = zl[tr]
            if kind == "quantile":
                qt = QuantileTransformer(
                    n_quantiles=min(1000, len(tr)), output_distribution="normal", subsample=None
                ).fit(t[:, None])
                t = qt.transform(t[:, None])[:, 0]
            rf = RandomForestRegressor(n_estimators=50, max_features=1 / 3, random_state=seed, n_jobs=1)
            with threadpool_limits(1):  # as every member fit: one thread
                pred[te] = rf.fit(F[tr], t).predict(F[te])
        out[kind] = float(kendalltau(pred, zl).statistic)
    return out
