"""Library functions behind the ``nasbench surrogate`` commands (the CLI only parses and prints)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import ndtri

from surrogates.errors import EvaluationError, SurrogateInputError
from surrogates.inputs import design, set_score_bounds
from surrogates.persistence import load_model, save_model, table_meta
from surrogates.registry import DESCRIPTIONS, SURROGATES, make_surrogate


def list_surrogates() -> list[dict[str, str]]:
    """Registered surrogates with one-line descriptions."""
    return [{"name": n, "description": DESCRIPTIONS.get(n, "")} for n in sorted(SURROGATES)]


def feature_params(
    space: Any, features: str = "auto", score_files: Sequence[str | os.PathLike[str]] = ()
) -> dict[str, Any]:
    """Surrogate constructor parameters for ``--features`` and ``--scores``.

    Args:
        features: ``+``-separated encodings: ``auto`` or ``encoding`` (the space's default
            encodings), ``scores`` (the score files' columns, as rank percentiles: see
            :func:`nasbench.tables.scores.score_features`) or any of the space's own
            encodings, e.g. ``encoding+scores`` or ``path+scores``.
        score_files: score files from ``nasbench estimate proxies|oneshot``. Given with
            ``features="auto"``, they mean ``encoding+scores``.

    Returns:
        ``{}`` for the defaults, else ``kinds`` and (with scores) ``scores``.

    Raises:
        SurrogateInputError: ``scores`` without a score file, or an empty feature list.
        TableFormatError: an unreadable score file.
    """
    from nasbench.tables.scores import read_scores, score_features
    from surrogates.encoders import SCORES_KIND, default_kinds

    words = [w.strip() for w in str(features).split("+") if w.strip()]
    if not words:
        raise SurrogateInputError("--features needs at least one encoding")
    if words == ["auto"] and score_files:
        words = ["encoding", SCORES_KIND]
    kinds: list[str] = []
    for w in words:
        for k in default_kinds(space) if w in ("auto", "encoding") else (w,):
            if k not in kinds:
                kinds.append(k)
    if SCORES_KIND in kinds and not score_files:
        raise SurrogateInputError(
            "--features scores needs --scores FILE (from nasbench estimate proxies|oneshot)"
        )
    params: dict[str, Any] = {}
    if tuple(kinds) != tuple(default_kinds(space)):
        params["kinds"] = tuple(kinds)
    if score_files:
        if SCORES_KIND not in kinds:
            raise SurrogateInputError(
                f"--scores given, but --features {features!r} does not use them (add +scores)"
            )
        params["scores"], _ = score_features(space, [read_scores(f) for f in score_files])
    return params


def fit_table(
    table: Any,
    model: str,
    *,
    train_size: int | None = None,
    random_state: int = 0,
    params: dict[str, Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Fit a registered surrogate on a table's full seed-mean curves of its objective.

    The target is the objective's score, signed by its direction (a loss is fitted as
    minus the loss), so that a larger prediction is better on every table.

    Args:
        table: the :class:`~nasbench.tables.table.ResultTable`.
        model: registry name.
        train_size: fit on a random subset of this many architectures (default: all
            with a final value).
        random_state: seed of the subset and the model.
        params: surrogate constructor parameters.

    Returns:
        ``(fitted model, table_meta)`` with fit statistics added to the metadata.

    Raises:
        EvaluationError: ``train_size`` larger than the table.
    """
    from nasbench.tables.benchmark import Benchmark

    bench = Benchmark(table)
    last = int(table.epochs[-1])
    y = bench.scores_at(last).astype(np.float64)
    rows = np.flatnonzero(np.isfinite(y))
    if train_size is not None:
        if not 0 < train_size <= len(rows):
            raise EvaluationError(f"--train-size must lie in 1..{len(rows)}, got {train_size}")
        rows = np.sort(np.random.default_rng(random_state).choice(rows, train_size, replace=False))
    archs = table.arch_index[rows]
    curves = bench.score_curves(archs, seed="mean").astype(np.float64)
    est = make_surrogate(
        model,
        table.space,
        epochs=table.epochs.tolist(),
        random_state=random_state,
        **(params or {}),
    )
    set_score_bounds(est, table.objective.score_bounds, params)
    t0 = time.perf_counter()
    est.fit(design(archs, len(table.epochs), curves), y[rows])
    meta = table_meta(table)
    meta.update(
        model=model, n_train=len(rows), fit_s=round(time.perf_counter() - t0, 3), random_state=random_state
    )
    return est, meta


def fit_and_save(
    table_path: str | os.PathLike[str],
    model: str,
    out: str | os.PathLike[str],
    *,
    features: str = "auto",
    score_files: Sequence[str | os.PathLike[str]] = (),
    **kw: Any,
) -> dict[str, Any]:
    """Load a table, fit a surrogate on it and save the model; returns the metadata written.

    ``features`` and ``score_files`` are :func:`feature_params`' (the scores travel inside
    the model file).
    """
    from nasbench.core.io import check_output_file
    from nasbench.tables.table import ResultTable

    check_output_file(out)  # before the fit, not after it
    table = ResultTable.load(table_path)
    extra = feature_params(table.space, features, score_files)
    if extra:
        kw["params"] = {**(kw.get("params") or {}), **extra}
    est, meta = fit_table(table, model, **kw)
    if score_files:
        meta["score_files"] = [str(f) for f in score_files]
    written = save_model(est, out, table_meta=meta)
    written["out"] = str(out)
    return written


def predict_archs(
    model_path: str | os.PathLike[str],
    archs: Sequence[str],
    *,
    table_path: str | os.PathLike[str] | None = None,
    coverage: float = 0.9,
) -> dict[str, Any]:
    """Predict the final objective of architectures (nothing observed: ``t = 0``).

    Predictions are in the metric's own units: a model fitted on a table that minimises
    (its metadata's ``direction``) predicts minus the metric, which is turned back here.
    The interval's ends are mapped back from the model's target scale
    (:meth:`~surrogates.models.SurrogateBase.predict_interval`), so on a log scale it is
    asymmetric around the mean.

    Args:
        model_path: a file written by :func:`fit_and_save` / :func:`~surrogates.save_model`.
        archs: architecture strings, catalog ids or space indices.
        table_path: optional table; its space must be the model's space.
        coverage: the reported prediction interval.

    Raises:
        ModelFileError: an unreadable or untrusted model file.
        SpaceMismatchError: the table's space is not the model's.
        ArchitectureError: an architecture the space does not know.
        SurrogateInputError: no architectures, or a model fitted without a space.
    """
    from nasbench.tables.table import ResultTable

    table = ResultTable.load(table_path) if table_path is not None else None
    model, meta = load_model(model_path, table=table, return_meta=True)
    space = model.space
    if space is None:
        raise SurrogateInputError(
            "this model was fitted without a search space; it cannot resolve architectures"
        )
    if not archs:
        raise SurrogateInputError("give at least one architecture (--archs)")
    idx = np.array([space.index(a) for a in archs], dtype=np.int64)
    X = design(idx, len(meta.get("epochs", [])))
    mean, std = model.predict(X, return_std=True)
    sign = -1.0 if meta.get("direction") == "min" else 1.0
    mean = sign * np.asarray(mean, dtype=np.float64)
    z = float(ndtri(0.5 + coverage / 2))
    if hasattr(model, "predict_interval"):  # both ends mapped back from the model's target scale
        a, b = (sign * np.asarray(v, dtype=np.float64) for v in model.predict_interval(X, coverage))
        lo, hi = np.minimum(a, b), np.maximum(a, b)
    else:
        lo, hi = mean - z * std, mean + z * std
    return {
        "model": str(model_path),
        "model_class": meta.get("model_class"),
        "fitted_on": {k: meta.get(k) for k in ("dataset", "table_hash", "n_train", "target_epoch")},
        "space": meta.get("space", {}).get("name"),
        "metric": meta.get("metric", "valid_acc"),
        "direction": meta.get("direction", "max"),
        "coverage": coverage,
        "predictions": [
            {
                "arch": space.to_str(int(i)),
                "index": int(i),
                "mean": float(m),
                "std": float(s),
                "interval": [float(a), float(b)],
            }
            for i, m, s, a, b in zip(idx, mean, std, lo, hi, strict=True)
        ],
    }
