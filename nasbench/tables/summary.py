"""Library functions behind the table commands (the CLI only parses and prints)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from nasbench.tables.benchmark import Benchmark, TestOracle, format_epochs
from nasbench.tables.table import ResultTable, read_metadata


def table_summary(path: str | os.PathLike[str], *, verify: bool = False) -> dict[str, Any]:
    """A JSON-ready summary of a table (what ``nasbench info`` prints)."""
    meta = read_metadata(path)
    table = ResultTable.load(path, verify=True if verify else None)
    bench = Benchmark(table)
    out: dict[str, Any] = {
        "path": str(path),
        "space": {
            "name": table.space.name,
            "config": table.space.config(),
            "size": table.space.size,
            "stored": table.n_archs,
            "covered": int(bench.covered().sum()),
        },
        "dataset": meta.get("dataset"),
        "seeds": table.seeds.tolist(),
        "epochs": table.epochs.tolist(),
        "epochs_text": format_epochs(table.epochs),
        "metrics": list(table.metrics),
        "arch_columns": sorted(table.arch_columns),
        "diverged_runs": int(table.diverged.sum()),
        "content_hash": meta.get("content_hash"),
        "verified": bool(verify),
        "created": meta.get("created"),
        "build_command": meta.get("build_command"),
        "notes": meta.get("notes", []),
        "versions": meta.get("versions", {}),
    }
    for key in ("recipe", "informativeness", "source", "latency"):
        if key in meta:
            out[key] = meta[key]
    objective = table.objective
    metric = objective.metric
    if not objective.is_default:
        out["objective"] = objective.to_dict()
    if metric in table.metrics:
        for pos in range(len(table.epochs) - 1, -1, -1):  # last epoch that has values
            epoch = int(table.epochs[pos])
            if not np.all(np.isnan(bench.values_at(metric, epoch))):
                idx, val = bench.best(metric, epoch)  # the objective's direction
                out["best"] = {
                    "arch": table.space.to_str(idx),
                    "index": idx,
                    "epoch": epoch,
                    metric: val,
                }
                break
    return out


def query_table(
    path: str | os.PathLike[str],
    arch: str,
    *,
    epoch: int | None = None,
    metric: str | None = None,
    seed: int | str = "mean",
    include_test: bool = False,
) -> dict[str, Any]:
    """Metrics of one architecture (what ``nasbench query`` prints)."""
    table = ResultTable.load(path)
    view = TestOracle(table) if include_test else Benchmark(table)
    idx = view.index(arch)
    row = view.row(idx)
    metrics = [metric] if metric else list(view.metrics)
    values = {m: view.query(idx, m, epoch, seed) for m in metrics}  # type: ignore[arg-type]
    ep = int(table.epochs[view.epoch_positions(epoch)[0]])
    return {
        "arch": table.space.to_str(idx),
        "index": idx,
        "resolved_arch": table.space.to_str(int(table.arch_index[row])),
        "epoch": ep,
        "seed": seed,
        "metrics": values,
        "diverged": bool(table.diverged[row].any()),
    }
