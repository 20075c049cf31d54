"""syne-tune's on-disk blackbox format, both ways, through syne-tune's own API.

:func:`export_synetune` turns a table into a ``BlackboxTabular`` and writes it with
``syne_tune.blackbox_repository.blackbox_tabular.serialize``; :func:`import_synetune`
reads a folder with syne-tune's ``deserialize`` and builds a table. Nothing of the format
is re-implemented here.

The blackbox of a table:

* **configuration space** (syne-tune's ``Domain`` objects): an NB201 table has one
  ``choice`` over the five operations per edge, named ``edge_J_I`` (node J <- node I); a
  declared space has one domain per dimension (categorical: ``choice``; ordinal, integer
  and float grids: ``ordinal`` over the grid values); any other space (a catalog) has
  one ``choice`` named ``arch`` over its architecture strings. syne-tune spaces have no
  conditions: an inactive dimension holds its first grid value.
* **rows**: the table's architectures, in table order (a tabular blackbox answers only
  configurations it stores: give a searcher ``points_to_evaluate`` or a configuration
  list, as for syne-tune's own tabular blackboxes).
* **objectives** ``(archs, seeds, epochs, objectives)``: every metric of the table under
  its own name (``valid_acc``, ``time_s``, ...), then every per-architecture column as
  ``arch:NAME``, repeated over seeds and epochs, so cost columns travel too.
* **fidelity**: ``epoch`` (``randint(1, last epoch)``), fidelity values = the table's epochs.
* **metadata**: ``metric_elapsed_time = "time_s"``, ``default_metric`` (the table's
  objective), ``time_attr = "epoch"``, and under ``nasbench`` what a round trip needs
  (space, seed ids, arch indices, diverged runs, the table's provenance).

A folder written by anything else (syne-tune's own conversion scripts) is read too: its
configuration space becomes a declared space over the values the rows hold, objectives
named like a nasbench metric keep their name, ``metric_elapsed_time`` becomes ``time_s``,
others are mapped with ``metric_map`` (``{"valid_loss": "metric_valid_error"}``), and
objectives constant per configuration become per-architecture columns.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError, ImportDataError, NasbenchError
from nasbench.core.io import jsonable
from nasbench.core.metrics import METRICS, Objective
from nasbench.tables.table import ResultTable, package_versions

FIDELITY = "epoch"
ARCH_PREFIX = "arch:"
#: What syne-tune's ``serialize`` writes and its ``deserialize`` reads.
BLACKBOX_FILES: tuple[str, ...] = (
    "configspace.json",
    "fidelityspace.json",
    "hyperparameters.parquet",
    "objectives_evaluations.npy",
    "fidelities_values.npy",
    "metadata.json",
)


def _synetune() -> Any:
    try:
        import fastparquet  # noqa: F401  (syne-tune's serialize and deserialize use it)
        from syne_tune.blackbox_repository import blackbox_tabular
    except ImportError as exc:
        raise NasbenchError(
            f"syne-tune blackboxes need syne-tune and fastparquet ({exc.name} is missing): "
            "pip install 'nasbench-explorer[synetune]' fastparquet"
        ) from None
    return blackbox_tabular


# ---- export --------------------------------------------------------------------------------
def _nb201_edge_names() -> list[str]:
    from nasbench.spaces.nb201 import EDGES

    return [f"edge_{j}_{i}" for j, i in EDGES]


def configuration(table: ResultTable) -> tuple[dict[str, Any], Any, list[str]]:
    """The syne-tune configuration space of a table, its rows as a DataFrame, and notes.

    Returns:
        ``(configuration_space, hyperparameters, notes)``: ``hyperparameters`` has one row
        per architecture (table order) and one column per domain.
    """
    import pandas as pd
    from syne_tune.config_space import choice, ordinal

    space = table.space
    notes: list[str] = []
    if space.name == "nb201":
        from nasbench.spaces.nb201 import OPS

        names = _nb201_edge_names()
        ops = np.asarray(space.op_matrix(table.arch_index))
        cs = {n: choice(list(OPS)) for n in names}
        rows = pd.DataFrame({n: [OPS[o] for o in ops[:, k]] for k, n in enumerate(names)})
        return cs, rows, notes
    dims = getattr(space, "dims", None)
    if space.name == "declared" and dims is not None:
        cs = {}
        cols: dict[str, list[Any]] = {d.name: [] for d in dims}
        for d in dims:
            grid = list(d.grid)
            cs[d.name] = choice(grid) if d.type == "categorical" else ordinal(grid)
        for i in table.arch_index:
            values = space.arch(int(i)).as_dict()
            for d in dims:
                cols[d.name].append(values.get(d.name, d.grid[0]))
        if space.declaration.conditions:
            notes.append(
                "syne-tune spaces have no conditions: an inactive dimension holds its first grid value."
            )
        return cs, pd.DataFrame(cols), notes
    strings = table.arch_strings()
    return {"arch": choice(strings)}, pd.DataFrame({"arch": strings}), notes


def table_blackbox(table: ResultTable) -> tuple[Any, dict[str, Any]]:
    """A table as a syne-tune ``BlackboxTabular`` and the metadata to serialise with it."""
    bt = _synetune()
    from syne_tune.config_space import randint

    cs, rows, notes = configuration(table)
    a, s, e, m = table.shape
    cols = sorted(table.arch_columns)
    objectives = np.empty((a, s, e, m + len(cols)), dtype=np.float32)
    objectives[..., :m] = table.values
    for k, name in enumerate(cols):
        objectives[..., m + k] = np.asarray(table.arch_columns[name], np.float32)[:, None, None]
    names = [*table.metrics, *(ARCH_PREFIX + c for c in cols)]
    try:
        bb = bt.BlackboxTabular(
            hyperparameters=rows,
            configuration_space=cs,
            fidelity_space={FIDELITY: randint(1, int(table.epochs[-1]))},
            objectives_evaluations=objectives,
            fidelity_values=table.epochs.copy(),
            objectives_names=names,
        )
    except AssertionError as exc:  # syne-tune checks its inputs with assert
        raise ConfigError(f"syne-tune refused the table as a blackbox: {exc}") from None
    if any(np.asarray(table.arch_columns[c], np.float32).astype(np.float64).tolist()
           != np.asarray(table.arch_columns[c]).tolist() for c in cols):  # fmt: skip
        notes.append(
            "per-architecture columns travel as float32 objectives; nasbench metadata keeps them exactly."
        )
    meta = {
        "metric_elapsed_time": "time_s" if "time_s" in table.metrics else None,
        "default_metric": table.objective.metric,
        "default_mode": table.objective.direction,
        "time_attr": FIDELITY,
        "nasbench": {
            "space": {"name": table.space.name, "config": table.space.config()},
            "seeds": table.seeds.tolist(),
            "arch_index": table.arch_index.tolist(),
            "metrics": list(table.metrics),
            "arch_columns": {c: table.arch_columns[c].tolist() for c in cols},
            "diverged": np.argwhere(table.diverged).tolist(),
            "table": jsonable(table.metadata),
            "content_hash": table.content_hash(),
            "notes": notes,
        },
    }
    return bb, meta


def export_synetune(
    table: ResultTable, out: str | os.PathLike[str], *, task: str | None = None
) -> dict[str, Any]:
    """Write ``table`` as a syne-tune tabular blackbox folder (syne-tune's ``serialize``).

    Args:
        table: the table.
        out: the folder (created; must not hold a blackbox already).
        task: the blackbox's task name (default: the table's dataset).

    Returns:
        A summary: folder, task, shape, objectives.

    Raises:
        NasbenchError: syne-tune or fastparquet missing, or ``out`` is a file or not writable.
    """
    bt = _synetune()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NasbenchError(f"output path is a file: {out}")
    if out.is_dir() and any((out / f).exists() for f in BLACKBOX_FILES):
        raise ConfigError(f"{out} already holds a blackbox; remove it or choose another --out")
    if not out.parent.is_dir():
        raise NasbenchError(f"output directory does not exist: {out.parent}")
    bb, meta = table_blackbox(table)
    task = task or str(table.metadata.get("dataset") or "table")
    try:
        bt.serialize({task: bb}, str(out), metadata=meta)
    except OSError as exc:
        raise NasbenchError(f"cannot write the blackbox to {out}: {exc.strerror or exc}") from None
    return {
        "out": str(out),
        "task": task,
        "configurations": int(len(bb.hyperparameters)),
        "seeds": int(bb.num_seeds),
        "fidelities": int(bb.num_fidelities),
        "objectives": list(bb.objectives_names),
        "hyperparameters": list(bb.configuration_space),
    }


# ---- import ---------------------------------------------------------------------------------
def read_blackboxes(directory: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """syne-tune's ``deserialize`` of a folder, and its metadata.

    Raises:
        ImportDataError: a missing file or array, or a folder syne-tune cannot read.
    """
    bt = _synetune()
    d = Path(directory)
    if not d.is_dir():
        raise ImportDataError(f"blackbox folder not found: {d}")
    missing = [f for f in BLACKBOX_FILES if not (d / f).is_file()]
    if missing:
        raise ImportDataError(f"{d} is not a syne-tune tabular blackbox: it lacks {', '.join(missing)}")
    try:
        bbs = bt.deserialize(str(d))
        meta = json.loads((d / "metadata.json").read_text(encoding="utf-8"))
    except (AssertionError, OSError, ValueError, KeyError, TypeError, AttributeError, EOFError) as exc:
        what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportDataError(f"syne-tune cannot read the blackbox in {d}: {what}") from None
    return bbs, meta


def _pick_task(bbs: Mapping[str, Any], task: str | None, where: Any) -> str:
    if task is None:
        if len(bbs) != 1:
            raise ConfigError(f"{where} holds tasks {', '.join(bbs)}: choose one with --task")
        return next(iter(bbs))
    if task not in bbs:
        raise ConfigError(f"{where} has no task {task!r}; tasks: {', '.join(bbs)}")
    return task


def import_synetune(
    directory: str | os.PathLike[str],
    *,
    task: str | None = None,
    metric_map: Mapping[str, str] | None = None,
) -> ResultTable:
    """Read a syne-tune tabular blackbox folder (syne-tune's ``deserialize``) as a table.

    Args:
        directory: the folder (``hyperparameters.parquet``, ``objectives_evaluations.npy``, ...).
        task: which task (default: the only one).
        metric_map: ``{nasbench metric: objective name}`` for foreign objectives.

    Raises:
        ImportDataError: missing arrays, a folder syne-tune cannot read, or rows outside the space.
        ConfigError: an unknown task or a bad ``metric_map``.
    """
    bbs, meta = read_blackboxes(directory)
    name = _pick_task(bbs, task, directory)
    bb = bbs[name]
    values = np.asarray(bb.objectives_evaluations)
    if values.ndim != 4 or values.shape[0] != len(bb.hyperparameters):
        raise ImportDataError(f"{directory}: objectives_evaluations does not match the hyperparameters")
    nb = meta.get("nasbench")
    if isinstance(nb, Mapping):
        return _import_nasbench(bb, values, nb, directory)
    return _import_foreign(bb, values, meta, name, dict(metric_map or {}), directory)


def _import_nasbench(bb: Any, values: np.ndarray, nb: Mapping[str, Any], where: Any) -> ResultTable:
    from nasbench.spaces import space_class

    try:
        metrics = list(nb["metrics"])
        cols = dict(nb["arch_columns"])
        arch_index = np.asarray(nb["arch_index"], np.int64)
        seeds = np.asarray(nb["seeds"], np.int64)
        space_meta = nb["space"]
    except (KeyError, TypeError) as exc:
        raise ImportDataError(f"{where}: the blackbox's nasbench metadata is incomplete ({exc})") from None
    names = list(bb.objectives_names)
    if names[: len(metrics)] != metrics or values.shape[1] != len(seeds) or len(arch_index) != len(values):
        raise ImportDataError(f"{where}: the blackbox's arrays do not match its nasbench metadata")
    rows = bb.hyperparameters
    arch_cols = {c: np.asarray(v, np.float64) for c, v in cols.items()}
    if space_meta["name"] not in ("nb201", "declared"):
        arch_ids = rows["arch"].astype(str).tolist()
    else:
        arch_ids = []
    space = space_class(space_meta["name"]).from_table(space_meta.get("config", {}), arch_ids, arch_cols)
    if space_meta["name"] == "nb201":
        e = {n: rows[n].astype(str).tolist() for n in _nb201_edge_names()}
        check = [
            space.index(f"|{a}~0|+|{b}~0|{c}~1|+|{d}~0|{f}~1|{g}~2|")
            for a, b, c, d, f, g in zip(*(e[n] for n in _nb201_edge_names()))
        ]
    elif space_meta["name"] == "declared":
        check = space.indices_of({d: rows[d].to_numpy() for d in space.names}, on_invalid="mark")
    else:
        check = np.asarray([space.index(s) for s in arch_ids])
    if not np.array_equal(np.asarray(check, np.int64), arch_index):
        raise ImportDataError(f"{where}: the blackbox's configurations do not match its nasbench metadata")
    diverged = np.zeros((len(arch_index), len(seeds)), bool)
    for a, s in nb.get("diverged", []):
        diverged[a, s] = True
    table_meta = dict(nb.get("table") or {})
    return ResultTable(
        space, arch_index, seeds, np.asarray(bb.fidelity_values, np.int64), tuple(metrics),
        values[..., : len(metrics)], diverged, arch_cols, table_meta,
    )  # fmt: skip


def _declaration_from_synetune(cs: Mapping[str, Any], rows: Any, where: Any) -> dict[str, Any]:
    """A declared space over the values the blackbox's rows hold, one dimension per domain."""
    from syne_tune.config_space import Categorical, Domain, Ordinal

    dims = []
    for name, dom in cs.items():
        if not isinstance(dom, Domain):
            continue  # a constant: not a dimension
        if name not in rows.columns:
            raise ImportDataError(f"{where}: hyperparameters.parquet has no column {name!r}")
        present = rows[name].tolist()
        if isinstance(dom, Categorical) and not isinstance(dom, Ordinal):
            cats = [_plain(v) for v in dom.categories]
            used = set(map(_plain, present))
            dims.append(
                {"name": name, "type": "categorical", "values": [c for c in cats if c in used] or cats}
            )
        elif isinstance(dom, Ordinal):
            cats = [_plain(v) for v in dom.categories]
            used = set(map(_plain, present))
            dims.append({"name": name, "type": "ordinal", "values": [c for c in cats if c in used]})
        else:  # numeric ranges: the finite set the table evaluated, in order
            vals = sorted({_plain(v) for v in present})
            dims.append({"name": name, "type": "ordinal", "values": vals})
    if not dims:
        raise ImportDataError(f"{where}: the configuration space has no dimension")
    return {"dimensions": dims}


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return v
    return v


def _import_foreign(
    bb: Any, values: np.ndarray, meta: Mapping[str, Any], task: str, metric_map: dict[str, str], where: Any
) -> ResultTable:
    from nasbench.spaces.declared import DeclaredSpace

    names = list(bb.objectives_names)
    chosen: dict[str, int] = {}
    for metric, obj in metric_map.items():
        if metric not in METRICS:
            raise ConfigError(
                f"--metric {metric}={obj}: {metric!r} is not a nasbench metric ({', '.join(METRICS)})"
            )
        if obj not in names:
            raise ConfigError(
                f"--metric {metric}={obj}: the blackbox has no objective {obj!r}; objectives: {', '.join(names)}"
            )
        chosen[metric] = names.index(obj)
    for k, n in enumerate(names):
        if n in METRICS and n not in chosen:
            chosen[n] = k
    elapsed = meta.get("metric_elapsed_time")
    if "time_s" not in chosen and isinstance(elapsed, str) and elapsed in names:
        chosen["time_s"] = names.index(elapsed)
    if not set(chosen) - {"time_s"}:
        raise ConfigError(
            f"{where}: no objective is a nasbench metric (train_*, valid_*, test_*); map one with --metric NAME=OBJECTIVE "
            f"(objectives: {', '.join(names)})"
        )
    used = set(chosen.values())
    arch_cols: dict[str, np.ndarray] = {}
    dropped = []
    for k, n in enumerate(names):
        if k in used:
            continue
        v = values[..., k].astype(np.float64)
        first = v.reshape(len(v), -1)[:, :1]
        if np.allclose(v.reshape(len(v), -1), first, equal_nan=True):
            arch_cols[n[len(ARCH_PREFIX) :] if n.startswith(ARCH_PREFIX) else n] = first[:, 0]
        else:
            dropped.append(n)
    rows = bb.hyperparameters
    space = DeclaredSpace(_declaration_from_synetune(bb.configuration_space, rows, where))
    idx = space.indices_of({d: rows[d].to_numpy() for d in space.names}, on_invalid="mark")
    if (idx < 0).any():
        r = int(np.flatnonzero(idx < 0)[0])
        raise ImportDataError(f"{where}: hyperparameters row {r} is not a configuration of the space")
    if len(np.unique(idx)) != len(idx):
        raise ImportDataError(f"{where}: two hyperparameter rows are the same configuration")
    metrics = [m for m in METRICS if m in chosen]
    order = np.argsort(idx)
    vals = values[..., [chosen[m] for m in metrics]][order]
    objective = None
    default = meta.get("default_metric")
    inverse = {names[k]: m for m, k in chosen.items()}
    if isinstance(default, str) and inverse.get(default) in (
        "valid_acc",
        "valid_loss",
        "train_acc",
        "train_loss",
    ):
        metric = inverse[default]
        mode = meta.get("default_mode") or ("min" if metric.endswith("loss") else "max")
        objective = Objective(metric, "min" if mode == "min" else "max")
    elif "valid_acc" not in metrics and "valid_loss" in metrics:
        objective = Objective("valid_loss", "min")
    table_meta: dict[str, Any] = {
        "dataset": task,
        "source": {
            "importer": "syne-tune",
            "folder": Path(where).name,
            "task": task,
            "metrics": {m: names[k] for m, k in chosen.items()},
        },
        "notes": [
            "Imported from a syne-tune tabular blackbox: seeds are its seed positions 0..S-1, epochs its fidelity values.",
        ],
        "versions": package_versions("syne-tune"),
    }
    if objective is not None:
        table_meta["objective"] = objective.to_dict()
    if dropped:
        table_meta["notes"].append(f"objectives not imported (map them with --metric): {', '.join(dropped)}")
    fid = np.asarray(bb.fidelity_values, np.int64)
    return ResultTable(
        space, idx[order], np.arange(values.shape[1]), fid, tuple(metrics), vals,
        np.zeros((len(idx), values.shape[1]), bool), {c: v[order] for c, v in arch_cols.items()}, table_meta,
    )  # fmt: skip
