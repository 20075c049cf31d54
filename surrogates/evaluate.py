"""The evaluation harness: fit on random training architectures, score on all others.

Protocol (one run of :func:`evaluate`):

* The target is the seed-mean final value of the table's objective (``Benchmark.values_at``
  at the table's last epoch), signed by its direction (a loss is predicted as minus the
  loss: every score below then reads "larger is better", and the top-k precisions pick
  the lowest losses). Only the search view of the table is used (:class:`Benchmark`),
  so test-split metrics cannot reach training. Architectures whose target is missing
  (diverged in every seed) are left out of training and scoring alike.
* Curves are the seed-mean validation curves. Training rows carry their full curves
  (curve models learn from fully observed runs) -- or, architecture-only (no observed
  fraction), no curve at all. Held-out rows carry only the epochs ``<= F * last
  epoch``; later epochs are replaced by NaN *before* the model sees them.
* For every training size and repeat, the training set is a random subset drawn from
  ``numpy.random.default_rng([seed, size, repeat])``; the test set is every other row.
* Scores: Kendall tau, Spearman, R^2, MAE, precision of the predicted top 1% and top 5%,
  and the coverage of the central 90% prediction interval ``mean +- 1.645 std``.
* Baselines, in the same run and on the same split, when a curve is observed: the last
  observed value, the best observed value, a single pow3 extrapolation (untrained),
  and a plain nu-SVR on the observed values (Baker et al.'s baseline, trained on the
  same training curves truncated to the same epochs).
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtri
from scipy.stats import kendalltau, spearmanr

from surrogates.curves import extrapolate
from surrogates.errors import EvaluationError
from surrogates.inputs import design, set_score_bounds
from surrogates.registry import DEFAULT_SURROGATE, make_surrogate

log = logging.getLogger(__name__)

METRIC_NAMES: tuple[str, ...] = (
    "kendall_tau",
    "spearman",
    "r2",
    "mae",
    "top1_precision",
    "top5_precision",
    "coverage90",
)


@dataclass(frozen=True)
class EvalConfig:
    """Settings of one evaluation.

    Attributes:
        model: registry name of the surrogate.
        train_sizes: numbers of training architectures.
        observed_fraction: share of the final epoch observed on held-out rows, in
            ``(0, 1)``; ``None`` = architecture only.
        repeats: random splits per training size.
        seed: base seed of the splits and models.
        metric: the curve metric (``None``: the table's objective). A metric other than
            the objective is maximised if it is an accuracy, else minimised.
        params: constructor parameters passed to the surrogate.
    """

    model: str = DEFAULT_SURROGATE
    train_sizes: tuple[int, ...] = (100, 200, 1000)
    observed_fraction: float | None = None
    repeats: int = 5
    seed: int = 0
    metric: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from surrogates.registry import SURROGATES

        if self.model not in SURROGATES:
            from surrogates.errors import UnknownSurrogateError

            raise UnknownSurrogateError(
                f"unknown surrogate {self.model!r}; available: {', '.join(sorted(SURROGATES))}"
            )
        sizes = tuple(self.train_sizes)
        if not sizes or any(
            not isinstance(s, int | np.integer) or isinstance(s, bool) or s < 1 for s in sizes
        ):
            raise EvaluationError(f"train sizes must be positive integers, got {list(sizes)}")
        object.__setattr__(self, "train_sizes", tuple(int(s) for s in sizes))
        f = self.observed_fraction
        if f is not None and not (isinstance(f, int | float) and math.isfinite(f) and 0 < f < 1):
            raise EvaluationError(f"the observed fraction must lie in (0, 1), got {f!r}")
        if not isinstance(self.repeats, int) or self.repeats < 1:
            raise EvaluationError(f"repeats must be a positive integer, got {self.repeats!r}")
        from nasbench.core.metrics import OBJECTIVE_METRICS

        if self.metric is not None and self.metric not in OBJECTIVE_METRICS:
            raise EvaluationError(
                f"the harness predicts one of {', '.join(OBJECTIVE_METRICS)}, got {self.metric!r}"
            )


def target_objective(table: Any, metric: str | None = None) -> Any:
    """The objective the harness predicts: the table's, or ``metric`` (an accuracy is
    maximised, anything else minimised; the table's own metric keeps its direction)."""
    from nasbench.core.metrics import Objective

    objective = table.objective
    if metric is None or metric == objective.metric:
        return objective
    return Objective(metric, "max" if metric.endswith("_acc") else "min")


def score(
    y: np.ndarray, mean: np.ndarray, std: np.ndarray | None = None, coverage: float = 0.9
) -> dict[str, float]:
    """All harness scores of predictions ``mean (n,)`` (and ``std``) against truth ``y (n,)``."""
    y = np.asarray(y, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    ok = np.isfinite(mean)
    if not ok.all():  # a baseline with nothing to go on predicts NaN; count it as the worst guess
        mean = np.where(ok, mean, np.nanmin(mean[ok]) if ok.any() else 0.0)
    with warnings.catch_warnings():  # constant predictions: the correlation is NaN, said in the result
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        tau = float(kendalltau(mean, y).statistic)
        rho = float(spearmanr(mean, y).statistic)
    out = {
        "kendall_tau": tau,
        "spearman": rho,
        "r2": float(1.0 - np.sum((y - mean) ** 2) / max(np.sum((y - y.mean()) ** 2), 1e-300)),
        "mae": float(np.mean(np.abs(y - mean))),
        "top1_precision": _top_precision(y, mean, 0.01),
        "top5_precision": _top_precision(y, mean, 0.05),
        "coverage90": float("nan"),
    }
    if std is not None:
        z = float(ndtri(0.5 + coverage / 2))
        half = z * np.asarray(std, dtype=np.float64)
        out["coverage90"] = float(np.mean(np.abs(y - mean) <= half + 1e-9))
    return out


def _top_precision(y: np.ndarray, pred: np.ndarray, share: float) -> float:
    k = max(1, int(math.ceil(share * len(y))))
    # stable tie-breaking by position, so equal predictions do not depend on sort internals
    top_pred = np.lexsort((np.arange(len(y)), -pred))[:k]
    top_true = np.lexsort((np.arange(len(y)), -y))[:k]
    return float(len(np.intersect1d(top_pred, top_true)) / k)


def observed_epochs(epochs: np.ndarray, fraction: float | None) -> int:
    """How many leading epochs are observed at ``fraction`` of the last epoch.

    Raises:
        EvaluationError: the fraction observes no epoch, or every epoch.
    """
    if fraction is None:
        return 0
    k = int(np.sum(epochs <= fraction * epochs[-1] + 1e-9))
    if k == 0:
        raise EvaluationError(
            f"observed fraction {fraction} observes no epoch: the first epoch is {int(epochs[0])} of {int(epochs[-1])} "
            f"(need a fraction >= {epochs[0] / epochs[-1]:.4g})"
        )
    if k >= len(epochs):
        raise EvaluationError(
            f"observed fraction {fraction} observes the final epoch; nothing is left to predict"
        )
    return k


def _baselines(
    Xtr: np.ndarray,
    ytr: np.ndarray,
    Xte: np.ndarray,
    epochs: np.ndarray,
    k: int,
    seed: int,
    bounds: tuple[float, float] | None = (0.0, 100.0),
) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import NuSVR

    obs = Xte[:, 1 : 1 + k]
    with np.errstate(all="ignore"):
        best = np.where(
            np.isfinite(obs).any(1), np.nanmax(np.where(np.isfinite(obs), obs, -np.inf), axis=1), np.nan
        )
    out: dict[str, tuple[np.ndarray, np.ndarray | None]] = {
        "last_value": (_last(obs), None),
        "best_value": (best, None),
        "pow3": (extrapolate("pow3", epochs[:k], obs, float(epochs[-1]), bounds=bounds), None),
    }
    tr = Xtr[:, 1 : 1 + k]
    ok = np.all(np.isfinite(tr), axis=1)
    if ok.sum() >= 3:
        svr = TransformedTargetRegressor(
            make_pipeline(StandardScaler(), NuSVR(C=1.0, nu=0.5)), transformer=StandardScaler()
        )
        svr.fit(tr[ok], ytr[ok])
        filled = np.where(np.isfinite(obs), obs, np.nanmean(tr[ok], axis=0))
        out["svr_observed"] = (svr.predict(filled), None)
    return out


def _last(obs: np.ndarray) -> np.ndarray:
    from surrogates.curves import last_observed

    return last_observed(obs)


def evaluate(
    table: Any,
    config: EvalConfig,
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the harness on a table.

    Args:
        table: a :class:`~nasbench.tables.table.ResultTable`.
        config: the evaluation settings.
        progress: called with a short line after each fit (the CLI prints it).

    Returns:
        JSON-ready dict: ``table``, ``protocol`` and one entry per training size with
        per-metric ``mean``/``std``/``values`` for the model and each baseline, plus fit
        and predict seconds.

    Raises:
        EvaluationError: bad settings for this table (fraction, sizes).
    """
    from nasbench.tables.benchmark import Benchmark

    bench = Benchmark(table)  # the search view: test metrics are not reachable
    epochs = table.epochs.astype(np.float64)
    n_epochs = len(epochs)
    k = observed_epochs(epochs, config.observed_fraction)
    objective = target_objective(table, config.metric)
    y_all = objective.sign * bench.values_at(objective.metric, int(epochs[-1])).astype(np.float64)
    keep = np.flatnonzero(np.isfinite(y_all))
    archs = table.arch_index[keep].astype(np.int64)
    y = y_all[keep]
    curves = (
        objective.sign * bench.curves(archs, objective.metric, seed="mean").astype(np.float64) if k else None
    )
    n = len(archs)
    too_big = [s for s in config.train_sizes if s >= n]
    if too_big:
        raise EvaluationError(
            f"train size {too_big[0]} leaves nothing to test: the table has {n} architectures with a target"
        )
    results = []
    for size in config.train_sizes:
        runs: dict[str, list[dict[str, float]]] = {}
        fit_s: list[float] = []
        pred_s: list[float] = []
        for r in range(config.repeats):
            rng = np.random.default_rng([config.seed, size, r])
            perm = rng.permutation(n)
            tr, te = perm[:size], perm[size:]
            Xtr = design(archs[tr], n_epochs, None if curves is None else curves[tr])
            # held-out rows: only the observed epochs, the rest is NaN before the model sees it
            Xte = design(archs[te], n_epochs, None if curves is None else curves[te], observed=k)
            model = make_surrogate(
                config.model,
                table.space,
                epochs=table.epochs.tolist(),
                random_state=config.seed * 1000 + r,
                **config.params,
            )
            set_score_bounds(model, objective.score_bounds, config.params)
            t0 = time.perf_counter()
            model.fit(Xtr, y[tr])
            t1 = time.perf_counter()
            mean, std = model.predict(Xte, return_std=True)
            t2 = time.perf_counter()
            fit_s.append(t1 - t0)
            pred_s.append(t2 - t1)
            runs.setdefault("model", []).append(score(y[te], mean, std))
            if k:
                baselines = _baselines(Xtr, y[tr], Xte, epochs, k, config.seed, objective.score_bounds)
                for name, (pred, bstd) in baselines.items():
                    runs.setdefault(name, []).append(score(y[te], pred, bstd))
            if progress is not None:
                m = runs["model"][-1]
                progress(
                    f"n={size} repeat {r + 1}/{config.repeats}: tau {m['kendall_tau']:.3f} "
                    f"R2 {m['r2']:.3f} coverage {m['coverage90']:.3f} fit {t1 - t0:.1f}s"
                )
        entry: dict[str, Any] = {
            "train_size": size,
            "n_test": n - size,
            "fit_s": _summary(fit_s),
            "predict_s": _summary(pred_s),
            "model": _aggregate(runs.pop("model")),
            "baselines": {name: _aggregate(v) for name, v in runs.items()},
        }
        results.append(entry)
    return {
        "table": {
            "dataset": table.metadata.get("dataset"),
            "space": table.space.name,
            "content_hash": table.content_hash(),
            "n_archs": int(n),
            "epochs": [int(e) for e in table.epochs],
        },
        "protocol": {
            **{k_: v for k_, v in asdict(config).items() if k_ != "params"},
            # arrays (per-architecture scores) are described, not dumped
            "params": {
                k_: f"array {v.shape}" if isinstance(v, np.ndarray) else v for k_, v in config.params.items()
            },
            "metric": objective.metric,
            "target": f"seed-mean {objective.metric} at epoch {int(epochs[-1])}"
            + ("" if objective.maximize else ", negated (it is minimised)"),
            "observed_epochs": [int(e) for e in table.epochs[:k]],
            "split": "train: random subset from default_rng([seed, size, repeat]); test: all other architectures",
            "baselines": (["last_value", "best_value", "pow3", "svr_observed"] if k else []),
            "baselines_note": None if k else "no curve is observed: curve baselines do not apply",
        },
        "results": results,
    }


def _summary(v: Sequence[float]) -> dict[str, float]:
    a = np.asarray(v, dtype=np.float64)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0}


def _aggregate(runs: list[dict[str, float]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in METRIC_NAMES:
        vals = [r[name] for r in runs]
        a = np.asarray(vals, dtype=np.float64)
        if np.all(np.isnan(a)):
            out[name] = {"mean": None, "std": None, "values": [None] * len(a)}
            continue
        out[name] = {
            "mean": float(np.nanmean(a)),
            "std": float(np.nanstd(a, ddof=1)) if len(a) > 1 else 0.0,
            "values": [float(x) for x in a],
        }
    return out
