"""Per-architecture columns of a table by name: what objectives and constraints read.

A name is a search metric the table stores (its seed mean at the max epoch: ``valid_acc``,
``valid_loss``, ``time_s``, ...) or a per-architecture column (``params``, ``flops``,
``latency_ms_b1``, ...; the storage name ``arch:params`` is accepted too, and
``latency_ms`` names ``latency_ms_b1``). Test metrics are
no column here: searches and constraints never see them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.core.pareto import Constraint
from nasbench.tables.benchmark import Benchmark


def available_columns(bench: Benchmark) -> tuple[str, ...]:
    """The names :func:`column_values` answers: the visible metrics, then the per-architecture columns."""
    return (*bench.metrics, *sorted(bench.table.arch_columns))


#: Short names of measured columns: ``latency_ms`` is the batch-1 latency where a table
#: has no column of that name (``--max latency_ms=3``).
ALIASES: dict[str, str] = {"latency_ms": "latency_ms_b1"}


def _key(bench: Benchmark, name: str) -> str:
    key = name.removeprefix("arch:")
    if key not in bench.table.arch_columns and ALIASES.get(key) in bench.table.arch_columns:
        return ALIASES[key]
    return key


def is_arch_column(bench: Benchmark, name: str) -> bool:
    """Whether ``name`` is a per-architecture column (known without training)."""
    return _key(bench, name) in bench.table.arch_columns


def column_values(bench: Benchmark, name: str) -> np.ndarray:
    """float64 ``(A,)``: the column in row order (NaN where unknown).

    Raises:
        ConfigError: ``name`` is not a column of the table (the message lists those it has).
    """
    key = _key(bench, name)
    if key in bench.table.arch_columns:
        return np.asarray(bench.table.arch_columns[key], dtype=np.float64)
    if key in bench.metrics:
        return bench.values_at(key, bench.max_epoch).astype(np.float64)
    raise ConfigError(
        f"{name!r} is not a column of this table; it has {', '.join(available_columns(bench)) or 'none'}"
    )


def feasible_rows(bench: Benchmark, constraints: Sequence[Constraint]) -> np.ndarray:
    """bool ``(A,)``: the rows that satisfy every constraint (an unknown value never does).

    Raises:
        ConfigError: a constraint names no column of the table.
    """
    ok = np.ones(len(bench), dtype=bool)
    for c in constraints:
        ok &= c.holds(column_values(bench, c.name))
    return ok
