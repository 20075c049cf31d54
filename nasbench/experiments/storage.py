"""Trajectories on disk: parquet, one file per run, with the run's metadata as JSON in the
schema metadata (key ``nasbench_run``). Writes are atomic, so an interrupted comparison
leaves only complete files behind."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nasbench.core.errors import NasbenchError
from nasbench.core.io import atomic_path, jsonable
from strategies.runner import COLUMNS, Trajectory

META_KEY = b"nasbench_run"


def write_trajectory(path: str | os.PathLike[str], traj: Trajectory) -> None:
    """Write one run atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tbl = pa.table({c: pa.array(np.ascontiguousarray(traj.columns[c])) for c in COLUMNS})
    tbl = tbl.replace_schema_metadata({META_KEY: json.dumps(jsonable(traj.meta, finite=False)).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(tbl, tmp, compression="zstd")


def read_trajectory(path: str | os.PathLike[str]) -> Trajectory:
    """Read one run written by :func:`write_trajectory`.

    Raises:
        NasbenchError: not a readable run file.
    """
    import pyarrow.parquet as pq

    try:
        tbl = pq.read_table(path)
        meta = json.loads((tbl.schema.metadata or {})[META_KEY])
        cols = {c: tbl.column(c).to_numpy() for c in COLUMNS}
    except (OSError, KeyError, ValueError) as exc:
        raise NasbenchError(
            f"cannot read run file {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    return Trajectory(cols, meta)


def write_all(path: str | os.PathLike[str], trajectories: Sequence[Trajectory]) -> None:
    """Write many runs as one long parquet table (columns plus ``strategy`` and ``run_seed``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = []
    for tr in trajectories:
        n = len(tr)
        cols = {
            "strategy": pa.array([str(tr.meta.get("strategy", ""))] * n, pa.string()),
            "run_seed": pa.array(np.full(n, int(tr.meta.get("seed", -1)), np.int64)),
        }
        cols.update({c: pa.array(np.ascontiguousarray(tr.columns[c])) for c in COLUMNS})
        parts.append(pa.table(cols))
    if not parts:
        return
    tbl = pa.concat_tables(parts)
    with atomic_path(path) as tmp:
        pq.write_table(tbl, tmp, compression="zstd")


def run_file(out: Path, label: str, seed: int) -> Path:
    """Where a comparison keeps one run of a strategy (or ablation cell) ``label``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", label.replace("+", "_plus_"))
    if safe != label.replace("+", "_plus_") or len(safe) > 80:  # keep distinct labels distinct
        safe = safe[:60] + "-" + hashlib.sha256(label.encode()).hexdigest()[:10]
    return out / "runs" / safe / f"seed-{seed:04d}.parquet"
