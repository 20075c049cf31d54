"""Library functions behind the ``nasbench surrogate`` commands (the CLI only parses and prints)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import ndtri

from surrogates.errors import EvaluationError, SurrogateInputError
from surrogates.inputs import design
from surrogates.persistence import load_model, save_model, table_meta
from surrogates.registry import DESCRIPTIONS, SURROGATES, make_surrogate


def list_surrogates() -> list[dict[str, str]]:
    """Registered surrogates with one-line descriptions."""
    return [{"name": n, "description": DESCRIPTIONS.get(n, "")} for n in sorted(SURROGATES)]


def fit_table(
    table: Any,
    model: str,
    *,
    train_size: int | None = None,
    random_state: int = 0,
    params: dict[str, Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Fit a registered surrogate on a table's full seed-mean validation curves.

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
    y = bench.values_at("valid_acc", last).astype(np.float64)
    rows = np.flatnonzero(np.isfinite(y))
    if train_size is not None:
        if not 0 < train_size <= len(rows):
            raise EvaluationError(f"--train-size must lie in 1..{len(rows)}, got {train_size}")
        rows = np.sort(np.random.default_rng(random_state).choice(rows, train_size, replace=False))
    archs = table.arch_index[rows]
    curves = bench.curves(archs, "valid_acc", seed="mean").astype(np.float64)
    est = make_surrogate(
        model, table.space, epochs=table.epochs.tolist(), random_state=random_state, **(params or {})
    )
    t0 = time.perf_counter()
    est.fit(design(archs, len(table.epochs), curves), y[rows])
    meta = table_meta(table)
    meta.update(
        model=model, n_train=len(rows), fit_s=round(time.perf_counter() - t0, 3), random_state=random_state
    )
    return est, meta


def fit_and_save(
    table_path: str | os.PathLike[str], model: str, out: str | os.PathLike[str], **kw: Any
) -> dict[str, Any]:
    """Load a table, fit a surrogate on it and save the model; returns the metadata written."""
    from nasbench.core.io import check_output_file
    from nasbench.tables.table import ResultTable

    check_output_file(out)  # before the fit, not after it
    table = ResultTable.load(table_path)
    est, meta = fit_table(table, model, **kw)
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
    """Predict final validation accuracy of architectures (nothing observed: ``t = 0``).

    Args:
        model_path: a file written by :func:`fit_and_save` / :func:`~surrogates.save_model`.
        archs: architecture strings, catalog ids or space indices.
        table_path: optional table; its space must be the model's space.
        coverage: the reported prediction interval.

    Raises:
        ModelFileError, SpaceMismatchError, ArchitectureError, SurrogateInputError.
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
    z = float(ndtri(0.5 + coverage / 2))
    return {
        "model": str(model_path),
        "model_class": meta.get("model_class"),
        "fitted_on": {k: meta.get(k) for k in ("dataset", "table_hash", "n_train", "target_epoch")},
        "space": meta.get("space", {}).get("name"),
        "coverage": coverage,
        "predictions": [
            {
                "arch": space.to_str(int(i)),
                "index": int(i),
                "mean": float(m),
                "std": float(s),
                "interval": [float(m - z * s), float(m + z * s)],
            }
            for i, m, s in zip(idx, mean, std, strict=True)
        ],
    }
