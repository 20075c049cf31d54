"""Importers that turn real third-party results into nasbench tables.

* :func:`import_nb201` reads the merged NAS-Bench-201 CSV (see ``shared/data/README.md``):
  two fidelities, 12 and 200 epochs, in the ``nb201`` space.
* :func:`import_curves` reads any per-epoch learning-curve CSV into a ``catalog`` space.
* :func:`import_configs` reads one row per configuration of a declared space (a tabular
  HPO/NAS benchmark such as FCNet) with per-seed (and optionally per-epoch) columns of a
  metric that may be minimised.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from nasbench.core.errors import ArchitectureError, ConfigError, ImportDataError
from nasbench.core.metrics import Objective
from nasbench.tables.table import ResultTable, package_versions

Dataset = Literal["cifar10", "cifar100", "imagenet16"]

#: Column names per dataset: (12-epoch valid, 12-epoch test, 200-epoch per-seed valid,
#: 200-epoch train time, note on what "valid" means at 200 epochs).
_NB201_COLUMNS: dict[str, dict[str, str]] = {
    "cifar10": {
        "v12": "hp12_cifar10_val",
        "t12": "hp12_cifar10_test",
        "v200": "e200_c10valid_validacc_seeds",
        "time": "e200_c10valid_train_time_s",
        "params": "e200_c10valid_params_mb",
        "note": "valid_acc at 200 epochs is NAS-Bench-201's 'cifar10-valid' validation accuracy, per seed; "
        "no test accuracy is available at 200 epochs in this source.",
    },
    "cifar100": {
        "v12": "hp12_cifar100_val",
        "t12": "hp12_cifar100_test",
        "v200": "e200_c100_valtestacc_seeds",
        "time": "e200_c100_train_time_s",
        "note": "valid_acc at 200 epochs is NAS-Bench-201's accuracy on the joint valid+test split "
        "('valtest'), per seed: the only 200-epoch accuracy in this source.",
    },
    "imagenet16": {
        "v12": "hp12_imagenet_val",
        "t12": "hp12_imagenet_test",
        "v200": "e200_in16_valtestacc_seeds",
        "time": "e200_in16_train_time_s",
        "note": "valid_acc at 200 epochs is NAS-Bench-201's accuracy on the joint valid+test split "
        "('valtest') of ImageNet16-120, per seed: the only 200-epoch accuracy in this source.",
    },
}


def _read_csv(path: str | os.PathLike[str], **kw: Any) -> Any:
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise ImportDataError(f"CSV file not found: {p}")
    try:
        return pd.read_csv(p, **kw)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportDataError(f"cannot parse CSV {p}: {first}") from None


def _require(df: Any, columns: Sequence[str], path: Any) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ImportDataError(f"{path} lacks column(s) {', '.join(missing)}")


def _numeric(df: Any, column: str, path: Any) -> np.ndarray:
    import pandas as pd

    vals = pd.to_numeric(df[column], errors="coerce").to_numpy(np.float64)
    bad = np.isnan(vals) & df[column].notna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ImportDataError(
            f"{path}: column {column!r} has a non-numeric value {df[column].iloc[row]!r} (row {row + 2})"
        )
    return vals


def import_nb201(path: str | os.PathLike[str], dataset: str = "cifar10") -> ResultTable:
    """Import the NAS-Bench-201 CSV as a two-fidelity table (epochs 12 and 200).

    Epoch 12 holds the seed-mean 12-epoch valid/test accuracy (the source has no per-seed
    values there; the mean is stored for every seed). Epoch 200 holds the per-seed
    accuracies (2 or 3 seeds; a missing seed is NaN). ``time_s`` at 200 is the source's
    200-epoch training time and at 12 it is 12/200 of it.

    Raises:
        ImportDataError: unknown dataset, missing columns, malformed values.
    """
    from nasbench.spaces.nb201 import NB201Space

    if dataset not in _NB201_COLUMNS:
        raise ImportDataError(f"unknown NB201 dataset {dataset!r}; choose from {', '.join(_NB201_COLUMNS)}")
    cols = _NB201_COLUMNS[dataset]
    df = _read_csv(path)
    needed = ["arch_str", cols["v12"], cols["t12"], cols["v200"], cols["time"]]
    _require(df, needed + ([cols["params"]] if "params" in cols else []), path)
    space = NB201Space()
    try:
        arch_index = np.array([space.index(s) for s in df["arch_str"].astype(str)], dtype=np.int64)
    except ArchitectureError as exc:
        raise ImportDataError(f"{path}: bad arch_str: {exc}") from None
    if len(np.unique(arch_index)) != len(arch_index):
        raise ImportDataError(f"{path}: an architecture appears more than once")

    seeds_text = df[cols["v200"]].astype(str).tolist()
    per_seed: list[list[float]] = []
    for row, text in enumerate(seeds_text):
        try:
            vals = [float(x) for x in text.split(";") if x.strip() and x.strip().lower() != "nan"]
        except ValueError:
            raise ImportDataError(
                f"{path}: {cols['v200']} row {row + 2} is not ';'-joined numbers: {text!r}"
            ) from None
        per_seed.append(vals)
    n_seeds = max(len(v) for v in per_seed)
    a = len(df)
    v200 = np.full((a, n_seeds), np.nan)
    for i, vals in enumerate(per_seed):
        v200[i, : len(vals)] = vals
    have = ~np.isnan(v200)

    v12 = _numeric(df, cols["v12"], path)
    t12 = _numeric(df, cols["t12"], path)
    time200 = _numeric(df, cols["time"], path)
    metrics = ("valid_acc", "test_acc", "time_s")
    values = np.full((a, n_seeds, 2, len(metrics)), np.nan, dtype=np.float32)
    # The 12-epoch values are seed means: store them for every seed that exists.
    values[:, :, 0, 0] = np.where(have, v12[:, None], np.nan)
    values[:, :, 0, 1] = np.where(have, t12[:, None], np.nan)
    values[:, :, 0, 2] = np.where(have, (time200 * 12 / 200)[:, None], np.nan)
    values[:, :, 1, 0] = v200
    values[:, :, 1, 2] = np.where(have, time200[:, None], np.nan)
    arch_cols: dict[str, np.ndarray] = (
        {"nb201_index": df["arch_index"].to_numpy(np.float64)} if "arch_index" in df else {}
    )
    if "params" in cols:
        arch_cols["params_m"] = _numeric(df, cols["params"], path)
    order = np.argsort(arch_index)
    meta = {
        "dataset": f"nb201-{dataset}",
        "source": {
            "importer": "nb201",
            "file": Path(path).name,
            "columns": {k: v for k, v in cols.items() if k != "note"},
        },
        "notes": [
            cols["note"],
            "Epoch-12 values are NAS-Bench-201 'hp=12' seed means, stored for every seed.",
            "time_s at epoch 12 is 12/200 of the 200-epoch training time.",
        ],
        "versions": package_versions(),
    }
    return ResultTable(
        space,
        arch_index[order],
        np.arange(n_seeds),
        np.array([12, 200]),
        metrics,
        values[order],
        np.zeros((a, n_seeds), dtype=bool),
        {k: v[order] for k, v in arch_cols.items()},
        meta,
    )


def import_curves(
    path: str | os.PathLike[str],
    id_column: str,
    curve_prefix: str,
    *,
    feature_columns: Sequence[str] = (),
    epoch_cost: float = 1.0,
    scale: Literal["auto", "fraction", "percent"] = "auto",
    dataset: str | None = None,
    skip_epoch_zero: bool = False,
) -> ResultTable:
    """Import per-epoch learning curves (``PREFIX1 .. PREFIXn`` columns) into a catalog table.

    Each row is one configuration with one run (seed 0). Curves are validation accuracy.
    The source has no training times, so ``time_s`` is ``epoch * epoch_cost``. Tables
    start at epoch 1: a ``PREFIX0`` column (the accuracy before any training, which some
    published curve sets include) is refused unless ``skip_epoch_zero`` leaves it out.

    Args:
        path: the CSV.
        id_column: column with a unique configuration id (e.g. MetaQNN's ``net``).
        curve_prefix: prefix of the per-epoch columns; the suffix is the epoch number.
        feature_columns: numeric per-configuration columns kept as catalog features.
        epoch_cost: simulated seconds per epoch.
        scale: ``fraction`` values are multiplied by 100; ``auto`` does so when all
            values lie in [0, 1].
        dataset: dataset name for the metadata (default: the file's stem).
        skip_epoch_zero: leave out the epoch-0 curve column instead of refusing the file.

    Raises:
        ImportDataError: missing columns, no curve columns, an epoch-0 column (without
            ``skip_epoch_zero``) or a negative epoch, duplicate ids, bad values.
    """
    import pandas as pd

    from nasbench.spaces.catalog import CatalogSpace

    if not epoch_cost > 0:
        raise ImportDataError(f"--epoch-cost must be positive, got {epoch_cost}")
    if scale not in ("auto", "fraction", "percent"):
        raise ImportDataError(f"scale must be auto, fraction or percent, got {scale!r}")
    df = _read_csv(path)
    _require(df, [id_column, *feature_columns], path)
    pat = re.compile(re.escape(curve_prefix) + r"(-?\d+)$")
    curve_cols = sorted(
        ((int(m.group(1)), c) for c in df.columns if (m := pat.match(str(c)))), key=lambda t: t[0]
    )
    if not curve_cols:
        raise ImportDataError(f"{path} has no columns named {curve_prefix}<epoch>")
    if curve_cols[0][0] < 0:
        raise ImportDataError(
            f"{path}: curve column {curve_cols[0][1]!r} has a negative epoch ({curve_cols[0][0]}); "
            f"curve columns are {curve_prefix}<epoch> with epochs 1, 2, ..."
        )
    zero = [c for e, c in curve_cols if e == 0]
    if zero and not skip_epoch_zero:
        raise ImportDataError(
            f"{path}: curve column {zero[0]!r} is epoch 0 (before any training); "
            "tables start at epoch 1: pass --skip-epoch-zero to leave it out"
        )
    curve_cols = [(e, c) for e, c in curve_cols if e != 0]
    if not curve_cols:
        raise ImportDataError(
            f"{path}: the only curve column {zero[0]!r} is epoch 0; a table needs epochs 1, 2, ..."
        )
    epochs = np.array([e for e, _ in curve_cols], dtype=np.int64)
    if len(np.unique(epochs)) != len(epochs):
        raise ImportDataError(f"{path}: two curve columns share an epoch number")
    ids = df[id_column].astype(str).str.strip()
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise ImportDataError(f"{path}: id column {id_column!r} is not unique ({dup!r} repeats)")
    curves = np.stack([_numeric(df, c, path) for _, c in curve_cols], axis=1)
    finite = curves[np.isfinite(curves)]
    if finite.size == 0:
        raise ImportDataError(f"{path}: the curve columns hold no numbers")
    if scale == "auto":
        scale = "fraction" if finite.min() >= 0 and finite.max() <= 1.0 else "percent"
    if scale == "fraction":
        curves = curves * 100.0
    if finite.min() < 0 or (curves[np.isfinite(curves)].max() > 100.0 + 1e-6):
        raise ImportDataError(f"{path}: accuracies must lie in [0, 100] (or [0, 1] as fractions)")
    feats = np.stack([_numeric(df, c, path) for c in feature_columns], axis=1) if feature_columns else None
    if feats is not None and not np.all(np.isfinite(feats)):
        bad = feature_columns[int(np.flatnonzero(~np.all(np.isfinite(feats), axis=0))[0])]
        raise ImportDataError(f"{path}: feature column {bad!r} has missing or non-finite values")
    space = CatalogSpace(ids.tolist(), feats, list(feature_columns))
    a, e = curves.shape
    values = np.full((a, 1, e, 2), np.nan, dtype=np.float32)
    values[:, 0, :, 0] = curves
    values[:, 0, :, 1] = np.where(np.isnan(curves), np.nan, epochs[None, :] * epoch_cost)
    arch_cols = {c: feats[:, k] for k, c in enumerate(feature_columns)} if feats is not None else {}
    meta = {
        "dataset": dataset or Path(path).stem,
        "source": {
            "importer": "curves",
            "file": Path(path).name,
            "id_column": id_column,
            "curve_prefix": curve_prefix,
            "scale": scale,
            "epoch_cost": epoch_cost,
        },
        "notes": [
            "valid_acc is the per-epoch accuracy from the source curves (one run per configuration).",
            f"time_s is simulated: epoch x {epoch_cost} s (the source records no training times).",
        ],
        "versions": package_versions(),
    }
    if zero:
        meta["source"]["skipped_columns"] = zero
        meta["notes"].append(
            f"The source's epoch-0 column{'s' if len(zero) > 1 else ''} {', '.join(zero)} "
            "(accuracy before any training) was left out: tables start at epoch 1."
        )
    _ = pd  # pandas is the CSV reader
    return ResultTable(
        space,
        np.arange(a),
        np.array([0]),
        epochs,
        ("valid_acc", "time_s"),
        values,
        np.zeros((a, 1), dtype=bool),
        arch_cols,
        meta,
    )


_PLACEHOLDERS = ("seed", "epoch")


def column_pattern(pattern: str, option: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A regular expression for a column pattern such as ``val_loss_seed{seed}``.

    ``{seed}`` and ``{epoch}`` (each at most once) match a number; the rest matches itself.

    Returns:
        ``(compiled pattern, placeholders used)``.

    Raises:
        ConfigError: an empty pattern, an unknown or repeated placeholder, or a stray brace.
    """
    if not pattern or not pattern.strip():
        raise ConfigError(f"{option} needs a column name or pattern, e.g. 'val_loss_seed{{seed}}'")
    regex, used = "", []
    for part in re.split(r"(\{[^{}]*\})", pattern):
        name = part[1:-1] if part.startswith("{") and part.endswith("}") else None
        if name is not None and name in _PLACEHOLDERS:
            if name in used:
                raise ConfigError(f"{option} {pattern!r} uses {{{name}}} twice")
            used.append(name)
            regex += rf"(?P<{name}>\d+)"
        elif "{" in part or "}" in part:
            raise ConfigError(
                f"{option} {pattern!r}: unknown placeholder {part!r}; patterns may use {{seed}} and {{epoch}}"
            )
        else:
            regex += re.escape(part)
    return re.compile(regex), tuple(used)


def _match_columns(
    header: Sequence[str], pattern: str, option: str, path: Any
) -> tuple[dict[tuple[int, int], str], tuple[str, ...]]:
    """``{(seed, epoch): column}`` of the columns a pattern matches (-1 where a placeholder is absent)."""
    regex, used = column_pattern(pattern, option)
    found: dict[tuple[int, int], str] = {}
    for col in header:
        m = regex.fullmatch(str(col))
        if m is None:
            continue
        key = (
            int(m.group("seed")) if "seed" in used else -1,
            int(m.group("epoch")) if "epoch" in used else -1,
        )
        if key in found:
            raise ImportDataError(
                f"{path}: columns {found[key]!r} and {col!r} both match {option} {pattern!r}"
            )
        found[key] = str(col)
    if not found:
        shown = ", ".join(map(str, header[:12])) + (", ..." if len(header) > 12 else "")
        what = " (placeholders " + ", ".join(f"{{{u}}}" for u in used) + " match numbers)" if used else ""
        raise ImportDataError(f"{path}: no column matches {option} {pattern!r}{what}; columns: {shown}")
    return found, used


def import_configs(
    path: str | os.PathLike[str],
    space: Any,
    metric: str,
    *,
    direction: str = "min",
    cost: str | None = None,
    arch_columns: Sequence[str] = (),
    store_as: str | None = None,
    final_epoch: int = 1,
    epoch_cost: float = 1.0,
    snap: bool = False,
    nrows: int | None = None,
    dataset: str | None = None,
) -> ResultTable:
    """Import a table of configurations of a declared space (one CSV row per configuration).

    The columns named after the space's dimensions give each row's configuration (mapped
    with :meth:`~nasbench.spaces.declared.DeclaredSpace.indices_of`, vectorised). The
    metric's columns follow ``metric``, a pattern in which ``{seed}`` expands over the
    seeds present (``val_loss_seed{seed}``: seeds 0..3 on FCNet) and ``{epoch}`` over
    per-epoch values (a learning curve); without ``{seed}`` there is one seed (0), and
    without ``{epoch}`` the values are final ones, stored at ``final_epoch``. The metric
    is stored as ``store_as`` and recorded as the table's objective with ``direction``.

    ``time_s`` (cumulative training seconds) comes from ``cost``, a pattern of the same
    kind: per seed where it has ``{seed}`` (else shared by the seeds), per epoch where it
    has ``{epoch}`` (else the full run's cost, prorated as ``epoch / last epoch``). Without
    ``cost`` it is ``epoch * epoch_cost``. A non-finite (infinite) metric value marks that
    run diverged; an empty one is missing.

    Args:
        path: the CSV.
        space: a :class:`~nasbench.spaces.declared.DeclaredSpace`.
        metric: the metric's column pattern.
        direction: ``min`` (a loss) or ``max`` (an accuracy).
        cost: the training-seconds column pattern (optional).
        arch_columns: numeric per-configuration columns kept with the table (``model_size``).
        store_as: the vocabulary name of the metric (default ``valid_loss`` for ``min``,
            ``valid_acc`` for ``max``).
        final_epoch: the epoch of final values (a metric without ``{epoch}``).
        epoch_cost: simulated seconds per epoch without ``cost``.
        snap: integer and float dimensions take the nearest grid value (off-grid data).
        nrows: read only the first ``nrows`` rows.
        dataset: dataset name for the metadata (default: the file's stem).

    Raises:
        ConfigError: a bad direction, metric name, pattern or option.
        ImportDataError: a missing column, no column matching a pattern, a row outside the
            space, two rows of one configuration, or non-numeric values.
    """
    from nasbench.spaces.declared import DeclaredSpace

    if direction not in ("min", "max"):
        raise ConfigError(f"--direction must be min or max, got {direction!r}")
    objective = Objective(store_as or ("valid_loss" if direction == "min" else "valid_acc"), direction)  # type: ignore[arg-type]
    if not isinstance(space, DeclaredSpace):
        raise ConfigError(f"import configs needs a declared space, got {type(space).__name__}")
    if not (isinstance(final_epoch, int) and final_epoch >= 1):
        raise ConfigError(f"--final-epoch must be an integer >= 1, got {final_epoch!r}")
    if not epoch_cost > 0:
        raise ConfigError(f"--epoch-cost must be positive, got {epoch_cost}")
    if nrows is not None and not (isinstance(nrows, int) and nrows >= 1):
        raise ConfigError(f"--rows must be a positive integer, got {nrows!r}")
    header = [str(c) for c in _read_csv(path, nrows=0).columns]
    metric_cols, m_used = _match_columns(header, metric, "--metric", path)
    cost_cols, c_used = _match_columns(header, cost, "--cost", path) if cost else ({}, ())
    dims = list(space.names)
    no_dims = [d for d in dims if d not in header]
    if no_dims:
        raise ImportDataError(f"{path} has no column for the space's dimension(s) {', '.join(no_dims)}")
    _require_header(header, arch_columns, path)

    seeds = sorted({s for s, _ in metric_cols}) if "seed" in m_used else [0]
    epochs = sorted({e for _, e in metric_cols}) if "epoch" in m_used else [final_epoch]
    if epochs[0] < 1:
        raise ImportDataError(
            f"{path}: column {metric_cols[next(k for k in metric_cols if k[1] == epochs[0])]!r} is epoch "
            f"{epochs[0]}; tables start at epoch 1"
        )
    s_pos = {s: i for i, s in enumerate(seeds)}
    e_pos = {e: i for i, e in enumerate(epochs)}

    def cost_column(seed: int, epoch: int) -> str | None:
        key = (seed if "seed" in c_used else -1, epoch if "epoch" in c_used else -1)
        col = cost_cols.get(key)
        if col is None:
            what = " and ".join(
                f"{n} {v}" for n, v, u in (("seed", seed, "seed"), ("epoch", epoch, "epoch")) if u in c_used
            )
            raise ImportDataError(f"{path}: no --cost column {cost!r} for {what}")
        return col

    needed_cost = (
        {(s, e): cost_column(s, e) for s in seeds for e in epochs if "epoch" in c_used or e == epochs[-1]}
        if cost
        else {}
    )
    usecols = list(dict.fromkeys([*dims, *arch_columns, *metric_cols.values(), *needed_cost.values()]))
    df = _read_csv(path, usecols=usecols, nrows=nrows)
    if len(df) == 0:
        raise ImportDataError(f"{path} has no rows")
    idx = _config_indices(space, df, dims, snap, path)
    a = len(df)
    values = np.full((a, len(seeds), len(epochs), 2), np.nan, dtype=np.float64)
    for (s, e), col in metric_cols.items():
        values[:, s_pos[s if s >= 0 else 0], e_pos[e if e >= 0 else final_epoch], 0] = _numeric(df, col, path)
    diverged = np.isinf(values[..., 0]).any(axis=2)
    values[..., 0] = np.where(np.isinf(values[..., 0]), np.nan, values[..., 0])
    ep = np.asarray(epochs, dtype=np.float64)
    if not cost:
        values[..., 1] = np.broadcast_to(ep * epoch_cost, values.shape[:3])
    elif "epoch" in c_used:
        for (s, e), col in needed_cost.items():
            values[:, s_pos[s], e_pos[e], 1] = _numeric(df, col, path)
    else:
        for (s, _), col in needed_cost.items():
            values[:, s_pos[s], :, 1] = _numeric(df, col, path)[:, None] * (ep / ep[-1])[None, :]
    if np.nanmin(values[..., 1], initial=0.0) < 0:
        raise ImportDataError(f"{path}: --cost columns hold negative seconds")
    # no metric value: no run, so no cost either
    values[..., 1] = np.where(np.isnan(values[..., 0]) & ~diverged[:, :, None], np.nan, values[..., 1])
    cols = {c: _numeric(df, c, path) for c in arch_columns}
    bad_col = next((c for c, v in cols.items() if not np.all(np.isfinite(v))), None)
    if bad_col is not None:
        raise ImportDataError(f"{path}: arch column {bad_col!r} has missing or non-finite values")
    order = np.argsort(idx)
    meta = {
        "dataset": dataset or Path(path).stem,
        "objective": objective.to_dict(),
        "source": {
            "importer": "configs",
            "file": Path(path).name,
            "metric": metric,
            "cost": cost,
            "columns": {
                "metric": sorted(metric_cols.values()),
                "cost": sorted(set(needed_cost.values())),
                "arch": list(arch_columns),
            },
            "rows": a,
            "snap": snap,
        },
        "notes": [
            f"{objective.metric} is the source's {metric!r}, {'lower' if direction == 'min' else 'higher'} "
            f"is better; seeds {seeds}" + (", per epoch." if "epoch" in m_used else "."),
            (
                "time_s is the source's training seconds"
                + (" per epoch." if "epoch" in c_used else ", prorated by epoch." if len(epochs) > 1 else ".")
            )
            if cost
            else f"time_s is simulated: epoch x {epoch_cost} s (no --cost given).",
        ],
        "versions": package_versions(),
    }
    if "epoch" not in m_used:
        meta["notes"].append(f"Final values only: stored at epoch {final_epoch}; no learning curves.")
    return ResultTable(
        space,
        idx[order],
        np.asarray(seeds, dtype=np.int64),
        np.asarray(epochs, dtype=np.int64),
        (objective.metric, "time_s"),
        values[order].astype(np.float32),
        diverged[order],
        {c: v[order] for c, v in cols.items()},
        meta,
    )


def _require_header(header: Sequence[str], columns: Sequence[str], path: Any) -> None:
    missing = [c for c in columns if c not in header]
    if missing:
        shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
        raise ImportDataError(f"{path} lacks column(s) {', '.join(missing)}; columns: {shown}")


def _config_indices(space: Any, df: Any, dims: Sequence[str], snap: bool, path: Any) -> np.ndarray:
    """int64 ``(n,)`` space index of each row.

    Raises:
        ImportDataError: a row outside the space (the message names its CSV line and why),
            or two rows of one configuration.
    """
    columns = {d: df[d].to_numpy() for d in dims}
    idx = space.indices_of(columns, snap=snap, on_invalid="mark")
    if (idx < 0).any():
        r = int(np.flatnonzero(idx < 0)[0])
        try:
            space.indices_of({d: v[r : r + 1] for d, v in columns.items()}, snap=snap)
            why = "not a configuration of the space"
        except ArchitectureError as exc:
            why = re.sub(r"^row 0: ", "", str(exc))
        raise ImportDataError(f"{path} line {r + 2} is outside the space: {why}")
    uniq, counts = np.unique(idx, return_counts=True)
    if (counts > 1).any():
        i = int(uniq[counts > 1][0])
        lines = np.flatnonzero(idx == i)[:2] + 2
        raise ImportDataError(
            f"{path}: lines {lines[0]} and {lines[1]} are the same configuration ({space.to_str(i)})"
        )
    return idx
