"""Per-architecture score files: what ``nasbench estimate proxies|oneshot`` writes, read back.

A score file is a parquet with ``arch`` (string form), ``arch_index`` (space index) and one
float column per score, larger meaning predicted better (``-inf`` where a proxy is
undefined). Its ``nasbench`` schema metadata records how the scores were made. This
module reads such files and turns them into what the layers above consume: features for
surrogates (:func:`score_features`), a ranking for strategies, columns for a table or a
leaderboard (:func:`score_columns`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import TableFormatError

_KEYS = ("arch", "arch_index")


def read_scores(path: str | os.PathLike[str], columns: Sequence[str] | None = None) -> Any:
    """A score file as a ``pandas.DataFrame`` (``arch_index`` int64 plus the score columns).

    Args:
        columns: the score columns to keep (``None``: all).

    Raises:
        TableFormatError: unreadable file, no ``arch_index``, a missing or non-numeric
            column, or a repeated architecture.
    """
    import pandas as pd
    import pyarrow as pa

    try:
        df = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise TableFormatError(f"cannot read score file {path}: {str(exc).splitlines()[0]}") from None
    if "arch_index" not in df.columns:
        raise TableFormatError(f"{path} is not a score file (no arch_index column)")
    names = [c for c in df.columns if c not in _KEYS] if columns is None else list(columns)
    missing = [c for c in names if c not in df.columns]
    if missing:
        avail = ", ".join(c for c in df.columns if c not in _KEYS)
        raise TableFormatError(f"{path} has no score column {missing[0]!r} (columns: {avail})")
    if not names:
        raise TableFormatError(f"{path} holds no score column")
    for c in names:
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise TableFormatError(f"score column {c!r} of {path} is not numeric")
    idx = df["arch_index"].to_numpy()
    if not np.issubdtype(idx.dtype, np.integer):
        raise TableFormatError(f"arch_index of {path} must hold integers")
    if len(np.unique(idx)) != len(idx):
        raise TableFormatError(f"{path} scores an architecture twice")
    out = df[["arch_index", *names]].copy()
    out["arch_index"] = out["arch_index"].astype(np.int64)
    return out


def score_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``nasbench`` metadata of a score file (``{}`` when absent)."""
    import pyarrow.parquet as pq

    raw = (pq.read_schema(path).metadata or {}).get(b"nasbench")
    return json.loads(raw) if raw else {}


def write_scores(df: Any, path: str | Path, metadata: dict[str, Any]) -> None:
    """Write a score frame to parquet atomically, ``metadata`` as JSON under the key ``nasbench``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from nasbench.core.io import atomic_path, jsonable

    df = df.copy()
    df.attrs = {}  # run statistics travel in ``metadata``, not as pandas attributes
    tbl = pa.Table.from_pandas(df, preserve_index=False)
    tbl = tbl.replace_schema_metadata({b"nasbench": json.dumps(jsonable(metadata), sort_keys=True).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(tbl, tmp, compression="zstd")


def score_columns(space: Any, frames: Sequence[Any]) -> dict[str, np.ndarray]:
    """Raw scores over the whole space: name -> float ``(space.size,)``.

    An architecture that is not scored itself takes its isomorphism class's score (score
    files hold one cell per class); NaN where its class is unscored too.

    Raises:
        TableFormatError: an index outside the space, or a column named in two files.
    """
    reps = space.iso_representatives()
    out: dict[str, np.ndarray] = {}
    for df in frames:
        idx = df["arch_index"].to_numpy(np.int64)
        if len(idx) and (idx.min() < 0 or idx.max() >= space.size):
            raise TableFormatError(
                f"a score file indexes architectures outside {space.name} (size {space.size})"
            )
        for c in (c for c in df.columns if c not in _KEYS):
            if c in out:
                raise TableFormatError(f"score column {c!r} is given twice")
            col = np.full(space.size, np.nan)
            col[idx] = df[c].to_numpy(np.float64)
            by_class = np.full(space.size, np.nan)
            by_class[reps[idx]] = col[idx]
            out[c] = np.where(np.isnan(col), by_class[reps], col)
    return out


def attach_scores(table: Any, frames: Sequence[Any], metadata: Sequence[dict[str, Any]] = ()) -> Any:
    """``table`` with every score column as a per-architecture column (``arch:NAME`` in the
    file), its isomorphism class's score where the architecture is not scored itself.

    Args:
        metadata: the files' metadata (:func:`score_metadata`), one per frame; a file's
            ``latency`` record (platform, batch sizes, repeats) is kept in the table's
            metadata under ``latency``, since timings only compare within one platform.

    Raises:
        TableFormatError: a score column named like an existing arch column, or one that
            leaves a stored architecture unscored.
    """
    import dataclasses

    cols = score_columns(table.space, frames)
    clash = [c for c in cols if c in table.arch_columns]
    if clash:
        raise TableFormatError(f"the table already has an arch column {clash[0]!r}")
    new = {}
    for name, col in cols.items():
        v = col[table.arch_index]
        if np.isnan(v).any():
            n = int(np.isnan(v).sum())
            raise TableFormatError(f"score column {name!r} leaves {n} of the table's architectures unscored")
        new[name] = v
    meta = dict(table.metadata)
    meta["score_columns"] = sorted({*meta.get("score_columns", []), *new})
    for m in metadata:
        if m.get("latency"):
            meta["latency"] = m["latency"]
    return dataclasses.replace(table, arch_columns={**table.arch_columns, **new}, metadata=meta)


def score_features(space: Any, frames: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """Surrogate features from score files: float ``(space.size, m)`` and the column names.

    Each column is the score's rank percentile in ``[0, 1]`` among the architectures its
    file scores (ties averaged; ``-inf`` lowest), a monotone, label-free transform that
    puts scores spanning many orders of magnitude (synflow) on one scale. Isomorphic
    cells take their class's value; unscored architectures get 0.5.
    """
    from scipy.stats import rankdata

    ranked = []
    for df in frames:
        df = df.copy()
        for c in (c for c in df.columns if c not in _KEYS):
            v = df[c].to_numpy(np.float64)
            have = ~np.isnan(v)
            pct = np.full(len(v), np.nan)
            if have.sum() > 1:
                pct[have] = (rankdata(v[have]) - 1) / (have.sum() - 1)
            df[c] = pct
        ranked.append(df)
    cols = score_columns(space, ranked)
    feats = (
        np.column_stack([np.nan_to_num(v, nan=0.5) for v in cols.values()])
        if cols
        else np.zeros((space.size, 0))
    )
    return feats, list(cols)


__all__ = [
    "attach_scores",
    "read_scores",
    "score_columns",
    "score_features",
    "score_metadata",
    "write_scores",
]
