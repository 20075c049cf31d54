"""Infer a space declaration from the columns of a table of configurations (a CSV).

Rules, per column (in the order given):

* text or booleans: ``categorical`` with the sorted distinct values;
* numbers with at most ``max_levels`` distinct values: ``integer`` when they are whole
  numbers on a grid (every integer ``low..high``, or ``steps`` values spread evenly or
  log-evenly, e.g. 16, 32, ..., 512), else ``ordinal`` with the sorted values;
* numbers with more distinct values: an ``integer`` or ``float`` range over
  ``min..max`` with ``steps`` grid values (an integer range with fewer integers than
  ``steps`` keeps them all), log-scaled when every value is positive and ``max / min >
  100`` (more than two decades);
* a column that is empty in some rows is conditional: the first other column (of those
  with at most ``max_levels`` values and no gaps) whose value decides whether it is
  empty becomes its parent (``child if parent in [...]``, or ``>=`` / ``==`` where that
  says the same). No such column is an error.

Rows of a range column are generally off its grid; map them with
``DeclaredSpace.indices_of(..., snap=True)``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError, ImportDataError
from nasbench.spaces.declared import DeclaredSpace, Dimension, format_value


def read_columns(path: str | os.PathLike[str], columns: Sequence[str]) -> Any:
    """The named columns of a CSV as a pandas DataFrame.

    Raises:
        ImportDataError: missing or unreadable file, or a column it does not have.
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise ImportDataError(f"CSV file not found: {p}")
    if not columns:
        raise ConfigError("give the columns to declare, e.g. --columns a,b,c")
    dup = next((c for i, c in enumerate(columns) if c in columns[:i]), None)
    if dup is not None:
        raise ConfigError(f"column {dup!r} is listed twice")
    try:
        header = list(pd.read_csv(p, nrows=0).columns)
        missing = [c for c in columns if c not in header]
        if missing:
            raise ImportDataError(
                f"{p} has no column(s) {', '.join(missing)}; columns: {', '.join(map(str, header))}"
            )
        frame = pd.read_csv(p, usecols=list(columns))
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ImportDataError(f"cannot read {p} as CSV: {exc}") from None
    if len(frame) == 0:
        raise ImportDataError(f"{p} has no rows")
    return frame[list(columns)]


def infer_declaration(frame: Any, *, max_levels: int = 20, steps: int = 10) -> dict[str, Any]:
    """A declaration (explicit dict form) for every column of ``frame``.

    Args:
        frame: a pandas DataFrame, one row per configuration, one column per dimension.
        max_levels: numeric columns with at most this many distinct values are grids of
            exactly those values; more make a range.
        steps: grid size of a range.

    Raises:
        ConfigError: ``max_levels`` or ``steps`` below 2.
        ImportDataError: an empty column, or a column empty in some rows that no other
            column explains.
    """
    if max_levels < 2 or steps < 2:
        raise ConfigError(f"max_levels and steps must be >= 2, got {max_levels} and {steps}")
    dims = [_infer_dimension(str(name), frame[name], max_levels, steps) for name in frame.columns]
    conditions = []
    for name in frame.columns:
        present = frame[name].notna().to_numpy()
        if not present.all():
            conditions.append(_infer_condition(frame, str(name), present, dims, max_levels))
    return {"dimensions": dims, "conditions": conditions, "forbidden": []}


def _infer_dimension(name: str, col: Any, max_levels: int, steps: int) -> dict[str, Any]:
    import pandas as pd

    values = col.dropna()
    if len(values) == 0:
        raise ImportDataError(f"column {name!r} is empty")
    if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
        uniq = sorted({format_value(v) if isinstance(v, bool) else str(v) for v in values.tolist()})
        return {"name": name, "type": "categorical", "values": uniq}
    x = np.unique(values.to_numpy(dtype=np.float64))
    whole = bool(np.all(x == np.round(x)))
    positive_wide = bool(x[0] > 0 and x[-1] / x[0] > 100)
    if len(x) <= max_levels:
        if whole:
            grid = _integer_grid(name, x)
            if grid is not None:
                return grid
            return {"name": name, "type": "ordinal", "values": [int(v) for v in x]}
        return {"name": name, "type": "ordinal", "values": [float(v) for v in x]}
    if whole and x[-1] - x[0] + 1 <= steps:
        return {"name": name, "type": "integer", "low": int(x[0]), "high": int(x[-1])}
    dim: dict[str, Any] = {
        "name": name,
        "type": "integer" if whole else "float",
        "low": int(x[0]) if whole else float(x[0]),
        "high": int(x[-1]) if whole else float(x[-1]),
    }
    if positive_wide:
        dim["log"] = True
    dim["steps"] = steps
    return dim


def _integer_grid(name: str, x: np.ndarray) -> dict[str, Any] | None:
    """An integer dimension whose grid is exactly the whole numbers ``x``, if one is."""
    low, high = int(x[0]), int(x[-1])
    if len(x) == 1:
        return {"name": name, "type": "integer", "low": low, "high": high}
    if high - low + 1 == len(x):
        return {"name": name, "type": "integer", "low": low, "high": high}
    for log in (False, True):
        if log and low <= 0:
            continue
        dim = {"name": name, "type": "integer", "low": low, "high": high, "steps": len(x)}
        if log:
            dim["log"] = True
        if np.array_equal(np.asarray(Dimension(**dim).grid, dtype=np.float64), x):  # type: ignore[arg-type]
            return dim
    return None


def _infer_condition(
    frame: Any, child: str, present: np.ndarray, dims: list[dict[str, Any]], max_levels: int
) -> dict[str, Any]:
    import pandas as pd

    by_name = {d["name"]: d for d in dims}
    for parent in frame.columns:
        parent = str(parent)
        col = frame[parent]
        if parent == child or col.isna().any() or col.nunique() > max_levels:
            continue
        d = Dimension(**by_name[parent])
        codes, uniques = pd.factorize(col)
        found = [d.position(u) for u in np.asarray(uniques).tolist()]
        if any(k is None for k in found):
            continue
        pos = np.asarray(found, dtype=np.int64)[codes]
        on = np.zeros(d.size, dtype=bool)
        on[pos[present]] = True
        off = np.zeros(d.size, dtype=bool)
        off[pos[~present]] = True
        if (on & off).any() or not on.any():
            continue  # this column does not decide it
        keys = [k for k in range(d.size) if on[k]]
        if len(keys) == 1:
            return {"child": child, "parent": parent, "op": "==", "value": d.grid[keys[0]]}
        if d.ordered and keys == list(range(keys[0], d.size)):
            return {"child": child, "parent": parent, "op": ">=", "value": d.grid[keys[0]]}
        return {"child": child, "parent": parent, "op": "in", "value": [d.grid[k] for k in keys]}
    raise ImportDataError(
        f"column {child!r} is empty in {int((~present).sum())} rows and no other column "
        "(with few values) decides when; fill it or list its parent in --columns"
    )


def infer_space(
    csv: str | os.PathLike[str],
    columns: Sequence[str],
    out: str | os.PathLike[str] | None = None,
    *,
    max_levels: int = 20,
    steps: int = 10,
) -> dict[str, Any]:
    """Infer a declaration from a CSV's columns, check it and (with ``out``) write it.

    Returns:
        A summary: ``csv``, ``out``, ``rows``, ``size``, ``distinct`` (distinct
        configurations among the rows, off-grid range values snapped), ``uncovered``
        (rows the space does not hold), ``dimensions`` and ``conditions`` (one line each).

    Raises:
        ImportDataError: the CSV or a column is unusable (see :func:`infer_declaration`).
        ConfigError: bad options, or the inferred declaration is not a valid space (too
            large: fewer ``steps`` or ``max_levels`` help).
    """
    from nasbench.spaces.declared_files import write_space

    frame = read_columns(csv, list(columns))
    declaration = infer_declaration(frame, max_levels=max_levels, steps=steps)
    space = DeclaredSpace(declaration)
    idx = space.indices_of({c: frame[c].to_numpy() for c in frame.columns}, snap=True, on_invalid="mark")
    if out is not None:
        write_space(space, out)
    return {
        "csv": str(csv),
        "out": None if out is None else str(out),
        "rows": int(len(frame)),
        "size": space.size,
        "distinct": int(len(np.unique(idx[idx >= 0]))),
        "uncovered": int((idx < 0).sum()),
        "dimensions": [f"{d.name}: {d.describe()}" for d in space.dims],
        "conditions": [str(c) for c in space.declaration.conditions],
    }
