"""The result table: one file format for every benchmark.

On disk a table is one parquet file. Rows are ``(arch, seed, epoch)`` with one float
column per metric, a ``diverged`` flag and per-architecture columns (``params``,
``flops``, ...); the provenance (space, dataset, recipe, versions, creation time,
content hash) is JSON in the parquet schema metadata under the key ``nasbench``. The
writer always stores the complete ``arch x seed x epoch`` grid, sorted, with NaN where
a value is missing, so loading is a column read plus a reshape.

In memory a table is a dense float32 array ``values[arch, seed, epoch, metric]``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata as _md
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import NasbenchError, TableFormatError
from nasbench.core.io import atomic_path
from nasbench.core.metrics import METRICS, Objective
from nasbench.spaces import SearchSpace, space_class

FORMAT = "nasbench-table"
FORMAT_VERSION = 1
META_KEY = b"nasbench"

_VERIFY_AUTO_BYTES = 64 * 2**20


def package_versions(*extra: str) -> dict[str, str]:
    """Versions of nasbench and the libraries that shaped a table."""
    out: dict[str, str] = {}
    for name in ("nasbench-explorer", "numpy", "pandas", "pyarrow", *extra):
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            continue
    return out


@dataclass(frozen=True, eq=False)
class ResultTable:
    """A dense result table.

    Attributes:
        space: the search space the architectures belong to.
        arch_index: int64 ``(A,)`` unique space indices, one per table row-block.
        seeds: int64 ``(S,)`` seed ids.
        epochs: int64 ``(E,)`` strictly increasing epochs (fidelities) stored, from 1.
        metrics: names of the ``M`` metrics stored, from :data:`METRICS`.
        values: float32 ``(A, S, E, M)``; NaN where missing or after divergence.
        diverged: bool ``(A, S)``; training produced NaN/inf for that arch and seed.
        arch_columns: per-architecture float64 ``(A,)`` columns such as ``params``.
        metadata: provenance (dataset, recipe, source, notes, ...); JSON-serialisable.
            ``metadata["objective"]`` (``{"metric", "direction"}``) names what searches
            on the table optimise (:attr:`objective`); absent: ``valid_acc``, maximised.
    """

    space: SearchSpace
    arch_index: np.ndarray
    seeds: np.ndarray
    epochs: np.ndarray
    metrics: tuple[str, ...]
    values: np.ndarray
    diverged: np.ndarray
    arch_columns: dict[str, np.ndarray] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        arch_index = np.asarray(self.arch_index, dtype=np.int64)
        seeds = np.asarray(self.seeds, dtype=np.int64)
        epochs = np.asarray(self.epochs, dtype=np.int64)
        values = np.asarray(self.values, dtype=np.float32)
        a, s, e, m = len(arch_index), len(seeds), len(epochs), len(self.metrics)
        if values.shape != (a, s, e, m):
            raise TableFormatError(f"values must have shape {(a, s, e, m)}, got {values.shape}")
        diverged = np.asarray(self.diverged, dtype=bool)
        if diverged.shape != (a, s):
            raise TableFormatError(f"diverged must have shape {(a, s)}, got {diverged.shape}")
        if a == 0 or s == 0 or e == 0 or m == 0:
            raise TableFormatError("a table needs at least one architecture, seed, epoch and metric")
        if len(np.unique(arch_index)) != a:
            raise TableFormatError("architectures must appear once each in a table")
        self.space.check_indices(arch_index)
        if len(np.unique(seeds)) != s:
            raise TableFormatError("seed ids must be unique")
        if np.any(np.diff(epochs) <= 0) or epochs[0] < 1:
            shown = ", ".join(map(str, epochs[:6].tolist())) + (", ..." if e > 6 else "")
            raise TableFormatError(
                f"epochs must be positive (tables start at epoch 1) and strictly increasing, got {shown}"
            )
        unknown = [x for x in self.metrics if x not in METRICS]
        if unknown:
            raise TableFormatError(f"unknown metric(s) {unknown}; the vocabulary is {', '.join(METRICS)}")
        if len(set(self.metrics)) != m:
            raise TableFormatError("metric names must be unique")
        cols = {}
        for name, col in self.arch_columns.items():
            col = np.asarray(col, dtype=np.float64)
            if col.shape != (a,):
                raise TableFormatError(f"arch column {name!r} must have shape ({a},), got {col.shape}")
            cols[name] = col
        for arr in (arch_index, seeds, epochs, values, diverged, *cols.values()):
            arr.setflags(write=False)
        object.__setattr__(self, "arch_index", arch_index)
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "epochs", epochs)
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "diverged", diverged)
        object.__setattr__(self, "arch_columns", cols)
        try:
            objective = Objective.from_metadata(self.metadata)
        except NasbenchError as exc:
            raise TableFormatError(str(exc)) from None
        if "objective" in self.metadata and objective.metric not in self.metrics:
            raise TableFormatError(
                f"the table's objective {objective.metric!r} is not one of its metrics ({', '.join(self.metrics)})"
            )
        object.__setattr__(self, "_objective", objective)

    # ---- shape ----------------------------------------------------------------------
    @property
    def n_archs(self) -> int:
        return len(self.arch_index)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(archs, seeds, epochs, metrics)``."""
        return self.values.shape  # type: ignore[return-value]

    @property
    def objective(self) -> Objective:
        """What searches on this table optimise: the metric and its direction."""
        return self._objective  # type: ignore[attr-defined,no-any-return]

    def metric_position(self, metric: str) -> int:
        """Position of ``metric`` on the last axis of :attr:`values`."""
        from nasbench.core.errors import MetricNotAvailableError

        try:
            return self.metrics.index(metric)
        except ValueError:
            raise MetricNotAvailableError(
                f"metric {metric!r} is not in this table; available: {', '.join(self.metrics)}"
            ) from None

    def arch_strings(self) -> list[str]:
        """Canonical string of every architecture, in row order."""
        strings = getattr(self.space, "strings", None)  # a vectorised form, where the space has one
        if callable(strings):
            return list(strings(self.arch_index))
        return [self.space.to_str(int(i)) for i in self.arch_index]

    # ---- identity -------------------------------------------------------------------
    def content_hash(self) -> str:
        """sha256 of everything the rows hold (not of metadata or creation time)."""
        h = hashlib.sha256()
        h.update(json.dumps([self.space.name, self.space.config(), list(self.metrics)]).encode())
        for arr in (self.arch_index, self.seeds, self.epochs, self.diverged):
            h.update(np.ascontiguousarray(arr).tobytes())
        # NaN as one bit pattern: a computed NaN (e.g. inf - inf, sign bit set) and the NaN
        # parquet reads back are the same missing value
        values = np.where(np.isnan(self.values), np.float32(np.nan), self.values).astype(self.values.dtype)
        h.update(np.ascontiguousarray(values).tobytes())
        for name in sorted(self.arch_columns):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.arch_columns[name]).tobytes())
        h.update("\n".join(self.arch_strings()).encode())
        return "sha256:" + h.hexdigest()

    def provenance(self) -> dict[str, Any]:
        """The metadata as written to disk (includes shape and content hash)."""
        meta = dict(self.metadata)
        meta.update(
            format=FORMAT,
            format_version=FORMAT_VERSION,
            space={"name": self.space.name, "config": self.space.config()},
            n_archs=self.n_archs,
            seeds=self.seeds.tolist(),
            epochs=self.epochs.tolist(),
            metrics=list(self.metrics),
            arch_columns=sorted(self.arch_columns),
            content_hash=self.content_hash(),
        )
        meta.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
        meta.setdefault("versions", package_versions())
        return meta

    # ---- conversion -----------------------------------------------------------------
    def to_frame(self) -> Any:
        """Long pandas DataFrame, one row per ``(arch, seed, epoch)``."""
        import pandas as pd

        a, s, e, _ = self.shape
        strs = np.asarray(self.arch_strings(), dtype=object)
        frame = {
            "arch": np.repeat(strs, s * e),
            "arch_index": np.repeat(self.arch_index, s * e),
            "seed": np.tile(np.repeat(self.seeds, e), a),
            "epoch": np.tile(self.epochs, a * s),
        }
        flat = self.values.reshape(a * s * e, -1)
        for k, metric in enumerate(self.metrics):
            frame[metric] = flat[:, k]
        frame["diverged"] = np.repeat(self.diverged.reshape(-1), e)
        for name, col in self.arch_columns.items():
            frame[name] = np.repeat(col, s * e)
        return pd.DataFrame(frame)

    @classmethod
    def from_records(
        cls,
        space: SearchSpace,
        frame: Any,
        *,
        metrics: Sequence[str] | None = None,
        arch_columns: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
    ) -> ResultTable:
        """Build a table from long rows (any order, any subset of the grid).

        Args:
            space: the search space.
            frame: DataFrame with ``arch_index`` (or ``arch`` strings), ``seed``,
                ``epoch``, metric columns, optional ``diverged`` and arch columns.
            metrics: metric columns to take (default: every vocabulary column present).
            arch_columns: per-architecture columns (must be constant per architecture).
            metadata: provenance to store.

        Raises:
            TableFormatError: duplicate rows, missing columns or inconsistent arch columns.
        """
        df = frame
        if "arch_index" not in df.columns:
            if "arch" not in df.columns:
                raise TableFormatError("rows need an 'arch_index' or 'arch' column")
            uniq = df["arch"].unique()
            lookup = {a: space.index(a) for a in uniq}
            arch_idx = df["arch"].map(lookup).to_numpy(np.int64)
        else:
            arch_idx = df["arch_index"].to_numpy(np.int64)
        for col in ("seed", "epoch"):
            if col not in df.columns:
                raise TableFormatError(f"rows need a {col!r} column")
        metrics = tuple(metrics) if metrics is not None else tuple(m for m in METRICS if m in df.columns)
        missing = [m for m in metrics if m not in df.columns]
        if missing:
            raise TableFormatError(f"rows lack metric column(s) {missing}")
        archs, a_pos = np.unique(arch_idx, return_inverse=True)
        seeds, s_pos = np.unique(df["seed"].to_numpy(np.int64), return_inverse=True)
        epochs, e_pos = np.unique(df["epoch"].to_numpy(np.int64), return_inverse=True)
        flat = (a_pos * len(seeds) + s_pos) * len(epochs) + e_pos
        if len(np.unique(flat)) != len(flat):
            raise TableFormatError("duplicate (arch, seed, epoch) rows")
        values = np.full((len(archs), len(seeds), len(epochs), len(metrics)), np.nan, np.float32)
        values.reshape(-1, len(metrics))[flat] = df[list(metrics)].to_numpy(np.float32)
        diverged = np.zeros((len(archs), len(seeds)), dtype=bool)
        if "diverged" in df.columns:
            np.logical_or.at(diverged, (a_pos, s_pos), df["diverged"].to_numpy(bool))
        cols: dict[str, np.ndarray] = {}
        for name in arch_columns:
            if name not in df.columns:
                raise TableFormatError(f"rows lack arch column {name!r}")
            v = df[name].to_numpy(np.float64)
            col = np.full(len(archs), np.nan)
            col[a_pos] = v
            if not np.allclose(col[a_pos], v, equal_nan=True):
                raise TableFormatError(f"arch column {name!r} varies within an architecture")
            cols[name] = col
        return cls(space, archs, seeds, epochs, metrics, values, diverged, cols, dict(metadata or {}))

    # ---- persistence ----------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Write the table atomically to ``path`` (parquet) and return its metadata.

        Raises:
            NasbenchError: the output directory is missing or not writable.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        meta = self.provenance()
        a, s, e, _ = self.shape
        strs = self.arch_strings()
        arch_col = pa.DictionaryArray.from_arrays(
            pa.array(np.repeat(np.arange(a, dtype=np.int32), s * e)), pa.array(strs, pa.string())
        )
        flat = self.values.reshape(a * s * e, -1)
        cols: dict[str, Any] = {
            "arch": arch_col,
            "arch_index": pa.array(np.repeat(self.arch_index.astype(np.int32), s * e)),
            "seed": pa.array(np.tile(np.repeat(self.seeds.astype(np.int32), e), a)),
            "epoch": pa.array(np.tile(self.epochs.astype(np.int32), a * s)),
        }
        for k, metric in enumerate(self.metrics):
            cols[metric] = pa.array(np.ascontiguousarray(flat[:, k]))
        cols["diverged"] = pa.array(np.repeat(self.diverged.reshape(-1), e))
        for name, col in self.arch_columns.items():
            cols[f"arch:{name}"] = pa.array(np.repeat(col, s * e))
        tbl = pa.table(cols)
        tbl = tbl.replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True).encode()})
        with atomic_path(path) as tmp:
            try:
                # lz4 and plain-encoded floats: measured fastest to load (benchmarks/table_io.py)
                dict_cols = [c for c in tbl.column_names if c not in self.metrics]
                pq.write_table(tbl, tmp, compression="lz4", use_dictionary=dict_cols, row_group_size=1 << 20)
            except OSError as exc:
                raise NasbenchError(f"cannot write table {path}: {exc}") from None
        return meta

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, verify: bool | None = None) -> ResultTable:
        """Read a table written by :meth:`save`.

        Args:
            path: parquet file.
            verify: recompute the content hash and compare it with the metadata.
                ``None`` (default) verifies tables under 64 MiB of values; shape and
                grid checks always run.

        Raises:
            TableFormatError: missing, corrupt, truncated or inconsistent file.
        """
        import pyarrow.parquet as pq

        meta = read_metadata(path)
        try:
            tbl = pq.read_table(path, read_dictionary=["arch"], memory_map=True)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise TableFormatError(f"cannot read table {path}: {_first_line(exc)}") from None
        try:
            return cls._from_arrow(tbl, meta, path, verify)
        except TableFormatError:
            raise
        except (KeyError, ValueError, TypeError) as exc:
            raise TableFormatError(f"table {path} does not match its metadata: {_first_line(exc)}") from None

    @classmethod
    def _from_arrow(cls, tbl: Any, meta: dict[str, Any], path: Any, verify: bool | None) -> ResultTable:
        seeds = np.asarray(meta["seeds"], dtype=np.int64)
        epochs = np.asarray(meta["epochs"], dtype=np.int64)
        metrics = tuple(meta["metrics"])
        a, s, e = int(meta["n_archs"]), len(seeds), len(epochs)
        n = a * s * e
        if tbl.num_rows != n:
            raise TableFormatError(
                f"table {path} has {tbl.num_rows} rows but its metadata describes {a} archs x {s} seeds x {e} epochs = {n}"
            )
        names = set(tbl.column_names)
        need = {"arch", "arch_index", "seed", "epoch", "diverged", *metrics} | {
            f"arch:{c}" for c in meta["arch_columns"]
        }
        if need - names:
            raise TableFormatError(f"table {path} lacks column(s) {sorted(need - names)}")

        def col(name: str) -> np.ndarray:
            return tbl.column(name).to_numpy()

        grid_arch = col("arch_index").reshape(a, s * e)
        arch_index = grid_arch[:, 0].copy()
        if not (
            np.array_equal(col("seed").reshape(a, s, e), np.broadcast_to(seeds[None, :, None], (a, s, e)))
            and np.array_equal(col("epoch").reshape(a * s, e), np.broadcast_to(epochs, (a * s, e)))
            and np.all(grid_arch == arch_index[:, None])
        ):
            raise TableFormatError(f"table {path} rows are not the sorted arch x seed x epoch grid")
        values = np.empty((a * s * e, len(metrics)), dtype=np.float32)
        for k, m in enumerate(metrics):
            values[:, k] = col(m)
        diverged = col("diverged").reshape(a, s, e)[:, :, 0]
        arch_cols = {c: col(f"arch:{c}").reshape(a, s * e)[:, 0].copy() for c in meta["arch_columns"]}
        chunks = tbl.column("arch").chunks
        dictionary = chunks[0].dictionary.to_pylist() if chunks else []
        codes = np.concatenate([c.indices.to_numpy() for c in chunks]) if chunks else np.zeros(0, int)
        arch_ids = [dictionary[i] for i in codes.reshape(a, s * e)[:, 0]]
        space_meta = meta["space"]
        space = space_class(space_meta["name"]).from_table(space_meta.get("config", {}), arch_ids, arch_cols)
        table = cls(
            space,
            arch_index,
            seeds,
            epochs,
            metrics,
            values.reshape(a, s, e, len(metrics)),
            diverged,
            arch_cols,
            {k: v for k, v in meta.items() if k not in _DERIVED_KEYS},
        )
        object.__setattr__(table, "_stored_hash", meta.get("content_hash"))
        if verify or (verify is None and table.values.nbytes <= _VERIFY_AUTO_BYTES):
            table.verify()
        return table

    def verify(self) -> None:
        """Check the rows against the content hash recorded when the table was written.

        Raises:
            TableFormatError: the rows were changed after the table was written.
        """
        stored = getattr(self, "_stored_hash", None)
        if stored is None:
            return
        actual = self.content_hash()
        if actual != stored:
            raise TableFormatError(
                f"table content hash {actual[:19]}... does not match its metadata ({stored[:19]}...): the rows were modified"
            )


_DERIVED_KEYS = frozenset(
    {
        "format",
        "format_version",
        "space",
        "n_archs",
        "seeds",
        "epochs",
        "metrics",
        "arch_columns",
        "content_hash",
    }
)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read only a table's provenance JSON (fast: no rows are read).

    Raises:
        TableFormatError: not a readable nasbench table.
    """
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.exists():
        raise TableFormatError(f"table not found: {p}")
    if p.is_dir():
        raise TableFormatError(f"expected a table file, got a directory: {p}")
    try:
        schema = pq.read_schema(p)
    except Exception as exc:
        raise TableFormatError(f"{p} is not a readable parquet table: {_first_line(exc)}") from None
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise TableFormatError(f"{p} is parquet but not a nasbench table (no '{META_KEY.decode()}' metadata)")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        raise TableFormatError(f"{p} has corrupt nasbench metadata") from None
    if meta.get("format") != FORMAT:
        raise TableFormatError(f"{p} is not a nasbench table (format {meta.get('format')!r})")
    if int(meta.get("format_version", -1)) > FORMAT_VERSION:
        raise TableFormatError(
            f"{p} uses table format version {meta.get('format_version')}; this nasbench reads up to {FORMAT_VERSION}"
        )
    need = ["space", "n_archs", "seeds", "epochs", "metrics", "arch_columns"]
    missing = [k for k in need if k not in meta]
    if missing:
        raise TableFormatError(f"{p} metadata lacks {missing}")
    return meta
