"""The benchmark query API over a loaded :class:`~nasbench.tables.table.ResultTable`.

:class:`Benchmark` answers what a search may see: train/valid metrics and costs.
Test metrics live behind :class:`TestOracle`, which only reporting code uses.

Architectures are resolved to table rows once: an architecture stored in the table
answers with its own row; one that is not stored answers with the row of an isomorphic
architecture that is (the one with the smallest index), so isomorphic cells answer
alike. Everything is vectorised over space indices for strategies and runners.

Seed semantics (``seed=``): an ``int`` is a seed id stored in the table; ``"mean"``
averages the available seeds; a :class:`numpy.random.Generator` draws one available
seed per query (the noisy-benchmark practice of NAS-Bench-201).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np

from nasbench.core.errors import (
    EpochNotAvailableError,
    MetricNotAvailableError,
    SeedNotAvailableError,
    UnknownArchitectureError,
)
from nasbench.core.metrics import SEARCH_METRICS, TEST_METRICS, Objective
from nasbench.tables.table import ResultTable

SeedArg = int | Literal["mean"] | np.random.Generator


class _TableView:
    """Shared resolution logic; subclasses decide which metrics are visible."""

    _visible: frozenset[str] = frozenset()

    def __init__(self, table: ResultTable) -> None:
        self.table = table
        self.space = table.space
        space_size = self.space.size
        row_of = np.full(space_size, -1, dtype=np.int64)
        row_of[table.arch_index] = np.arange(table.n_archs)
        if table.n_archs < space_size:
            # Unstored architectures fall back to the smallest stored member of their class.
            reps = self.space.iso_representatives()
            class_row = np.full(space_size, -1, dtype=np.int64)
            order = np.argsort(table.arch_index, kind="stable")[::-1]  # smallest index written last
            class_row[reps[table.arch_index[order]]] = order
            missing = row_of < 0
            row_of[missing] = class_row[reps[missing]]
        row_of.setflags(write=False)
        self._row_of = row_of
        epochs = table.epochs
        self._epoch_pos = np.full(int(epochs.max()) + 1, -1, dtype=np.int64)
        self._epoch_pos[epochs] = np.arange(len(epochs))
        self._seed_pos = {int(s): i for i, s in enumerate(table.seeds)}
        self._epochs_list = table.epochs.tolist()
        self._mean_cache: dict[int, np.ndarray] = {}
        self._avail_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    # ---- what the table holds ------------------------------------------------------
    @property
    def epochs(self) -> np.ndarray:
        """int64 ``(E,)`` stored epochs (fidelities)."""
        return self.table.epochs

    @property
    def max_epoch(self) -> int:
        return int(self.table.epochs[-1])

    @property
    def seeds(self) -> np.ndarray:
        return self.table.seeds

    @property
    def objective(self) -> Objective:
        """What searches on this table optimise (:attr:`ResultTable.objective`)."""
        return self.table.objective

    @property
    def direction(self) -> str:
        """``max`` or ``min``: the objective's direction."""
        return self.table.objective.direction

    def scores_at(self, epoch: int | None = None) -> np.ndarray:
        """float32 ``(A,)``: the objective's seed means signed by its direction (larger
        is better), in row order; what surrogates are fitted on."""
        obj = self.table.objective
        return obj.sign * self.values_at(obj.metric, epoch)

    def score_curves(self, archs: Sequence[int] | np.ndarray, seed: SeedArg = "mean") -> np.ndarray:
        """float32 ``(n, E)``: :meth:`curves` of the objective, signed by its direction."""
        obj = self.table.objective
        return obj.sign * self.curves(archs, obj.metric, seed)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The stored metrics visible through this view."""
        return tuple(m for m in self.table.metrics if m in self._visible)

    def archs(self) -> np.ndarray:
        """int64 ``(A,)`` space indices stored in the table, in row order."""
        return self.table.arch_index

    def __iter__(self) -> Iterator[Any]:
        """Iterate over the stored architectures as space values."""
        for i in self.table.arch_index:
            yield self.space.arch(int(i))

    def __len__(self) -> int:
        return self.table.n_archs

    def covered(self) -> np.ndarray:
        """bool ``(space.size,)``: which space indices resolve to a stored row."""
        return self._row_of >= 0

    # ---- resolution ----------------------------------------------------------------
    def index(self, arch: Any) -> int:
        """Space index of an architecture value, string or index."""
        if type(arch) is int and 0 <= arch < len(self._row_of):  # hot path for strategies
            return arch
        return self.space.index(arch)

    def rows(self, archs: Sequence[int] | np.ndarray) -> np.ndarray:
        """Table rows of space indices (vectorised).

        Raises:
            UnknownArchitectureError: an architecture and all its isomorphs are absent.
        """
        idx = self.space.check_indices(archs)
        rows = self._row_of[idx]
        if rows.size and rows.min() < 0:
            bad = int(idx[rows < 0][0])
            raise UnknownArchitectureError(
                f"architecture {self.space.to_str(bad)} (index {bad}) is not in the table, nor is any "
                f"isomorphic architecture; the table holds {self.table.n_archs} of {self.space.size}"
            )
        return rows

    def row(self, arch: Any) -> int:
        return int(self.rows([self.index(arch)])[0])

    def _metric(self, metric: str) -> int:
        if metric not in self._visible or metric not in self.table.metrics:
            if metric in TEST_METRICS:
                raise MetricNotAvailableError(
                    f"{metric} is a test metric: searches never see it; reporting code uses TestOracle"
                )
            raise MetricNotAvailableError(
                f"metric {metric!r} is not in this table; available: {', '.join(self.metrics)}"
            )
        return self.table.metric_position(metric)

    def epoch_positions(self, epochs: int | Sequence[int] | np.ndarray | None) -> np.ndarray:
        """Positions of epochs on the table's epoch axis (``None`` = last epoch)."""
        if epochs is None:
            return np.array([len(self.table.epochs) - 1])
        e = np.atleast_1d(np.asarray(epochs))
        if e.size and not np.issubdtype(e.dtype, np.integer):
            if not np.all(np.mod(e, 1) == 0):
                raise EpochNotAvailableError(f"epochs must be integers, got {epochs!r}")
            e = e.astype(np.int64)
        ok = (e >= 0) & (e < len(self._epoch_pos))
        pos = np.full(e.shape, -1, dtype=np.int64)
        pos[ok] = self._epoch_pos[e[ok]]
        if pos.size and pos.min() < 0:
            bad = int(e[pos < 0][0])
            raise EpochNotAvailableError(
                f"epoch {bad} is not in the table; available epochs: {format_epochs(self.table.epochs)}"
            )
        return pos

    def _seed_position(self, seed: int) -> int:
        try:
            return self._seed_pos[int(seed)]
        except (KeyError, TypeError, ValueError):
            raise SeedNotAvailableError(
                f"seed {seed!r} is not in the table; available seeds: {self.table.seeds.tolist()}"
            ) from None

    def _seed_mean(self, m: int) -> np.ndarray:
        if m not in self._mean_cache:
            with (
                np.errstate(invalid="ignore"),
                warnings.catch_warnings(action="ignore", category=RuntimeWarning),
            ):
                self._mean_cache[m] = np.nanmean(self.table.values[..., m], axis=1)
        return self._mean_cache[m]

    def _gather(self, rows: np.ndarray, epos: np.ndarray, m: int, seed: SeedArg) -> np.ndarray:
        vals = self.table.values
        if isinstance(seed, str):
            if seed != "mean":
                raise SeedNotAvailableError(f"seed must be an int, 'mean' or a Generator, got {seed!r}")
            return self._seed_mean(m)[rows, epos]
        if isinstance(seed, np.random.Generator):
            n_seeds = vals.shape[1]
            if n_seeds == 1:
                return vals[rows, 0, epos, m]
            cand = vals[rows, :, epos, m]  # (n, S)
            avail = ~np.isnan(cand)
            count = avail.sum(axis=1)
            pick = np.floor(seed.random(len(rows)) * np.maximum(count, 1)).astype(np.int64)
            # position of the (pick+1)-th available seed in each row
            rank = np.cumsum(avail, axis=1) - 1
            choice = np.argmax(avail & (rank == pick[:, None]), axis=1)
            return cand[np.arange(len(rows)), choice]
        return vals[rows, self._seed_position(seed), epos, m]

    # ---- queries ---------------------------------------------------------------------
    def query(
        self, arch: Any, metric: str = "valid_acc", epoch: int | None = None, seed: SeedArg = "mean"
    ) -> float:
        """One metric of one architecture at one epoch (``None`` = last stored epoch).

        Raises:
            UnknownArchitectureError, EpochNotAvailableError, MetricNotAvailableError,
            SeedNotAvailableError.
        """
        m = self._metric(metric)
        row = self._row_of[self.index(arch)]
        if row < 0:
            self.rows([self.index(arch)])  # raises with the full message
        if epoch is None:
            ep = len(self._epochs_list) - 1
        else:
            ep = self._epoch_pos[epoch] if 0 <= epoch < len(self._epoch_pos) else -1
            if ep < 0:
                self.epoch_positions(epoch)  # raises
        if isinstance(seed, int) and not isinstance(seed, bool):
            return float(self.table.values[row, self._seed_position(seed), ep, m])
        if isinstance(seed, np.random.Generator):  # scalar fast path of _gather
            cand = self.table.values[row, :, ep, m]
            avail = np.flatnonzero(cand == cand)  # not NaN
            if len(avail) == 0:
                return float("nan")
            return float(cand[avail[int(seed.random() * len(avail))]])
        return float(self._gather(np.array([row]), np.array([ep]), m, seed)[0])

    def query_many(
        self,
        archs: Sequence[int] | np.ndarray,
        metric: str = "valid_acc",
        epochs: int | Sequence[int] | np.ndarray | None = None,
        seed: SeedArg = "mean",
    ) -> np.ndarray:
        """Vectorised :meth:`query` over space indices ``(n,)``; ``epochs`` scalar or ``(n,)``.

        Returns:
            float32 ``(n,)``.
        """
        m = self._metric(metric)
        rows = self.rows(archs)
        epos = self.epoch_positions(epochs)
        if epos.size == 1:
            epos = np.broadcast_to(epos, rows.shape)
        elif epos.shape != rows.shape:
            raise EpochNotAvailableError(f"got {epos.size} epochs for {rows.size} architectures")
        return self._gather(rows, epos, m, seed)

    def curve(
        self, arch: Any, metric: str = "valid_acc", seed: SeedArg = "mean"
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(epochs, values)`` of one architecture, each ``(E,)``."""
        m = self._metric(metric)
        row = self.row(arch)
        e = len(self.table.epochs)
        return self.table.epochs.copy(), self._gather(np.full(e, row), np.arange(e), m, seed)

    def curves(
        self, archs: Sequence[int] | np.ndarray, metric: str = "valid_acc", seed: SeedArg = "mean"
    ) -> np.ndarray:
        """float32 ``(n, E)`` curves of many architectures (one drawn seed per curve
        when ``seed`` is a Generator, so a curve is one real run)."""
        m = self._metric(metric)
        rows = self.rows(archs)
        vals = self.table.values
        if isinstance(seed, np.random.Generator):
            cand = vals[rows, :, :, m]  # (n, S, E)
            avail = ~np.all(np.isnan(cand), axis=2)
            count = avail.sum(1)
            pick = np.floor(seed.random(len(rows)) * np.maximum(count, 1)).astype(np.int64)
            rank = np.cumsum(avail, axis=1) - 1
            choice = np.argmax(avail & (rank == pick[:, None]), axis=1)
            return cand[np.arange(len(rows)), choice]
        if isinstance(seed, str):
            self._gather(rows[:0], rows[:0], m, seed)  # validates the string
            return self._seed_mean(m)[rows]
        return vals[rows, self._seed_position(seed), :, m]

    def cost(self, arch: Any, epoch: int | None = None, seed: SeedArg = "mean") -> float:
        """Seconds of training to reach ``epoch`` (cumulative ``time_s``)."""
        return self.query(arch, "time_s", epoch, seed)

    def cost_many(
        self,
        archs: Sequence[int] | np.ndarray,
        epochs: int | Sequence[int] | np.ndarray | None = None,
        seed: SeedArg = "mean",
    ) -> np.ndarray:
        """Vectorised :meth:`cost`."""
        return self.query_many(archs, "time_s", epochs, seed)

    def best(
        self, metric: str | None = None, epoch: int | None = None, *, maximize: bool | None = None
    ) -> tuple[int, float]:
        """``(space index, value)`` of the best seed-mean ``metric`` at ``epoch``.

        ``metric`` defaults to the table's objective. ``maximize`` defaults to the
        objective's direction for the objective, and otherwise to True for accuracies and
        False for losses and time.
        """
        objective = self.table.objective
        metric = objective.metric if metric is None else metric
        m = self._metric(metric)
        ep = int(self.epoch_positions(epoch)[0])
        col = self._seed_mean(m)[:, ep]
        if np.all(np.isnan(col)):
            raise MetricNotAvailableError(f"{metric} has no values at epoch {int(self.table.epochs[ep])}")
        if maximize is None:
            maximize = objective.maximize if metric == objective.metric else metric.endswith("_acc")
        row = int(np.nanargmax(col) if maximize else np.nanargmin(col))
        return int(self.table.arch_index[row]), float(col[row])

    def values_at(self, metric: str = "valid_acc", epoch: int | None = None) -> np.ndarray:
        """float32 ``(A,)`` seed means of every stored architecture, in row order."""
        m = self._metric(metric)
        return self._seed_mean(m)[:, int(self.epoch_positions(epoch)[0])]


class Benchmark(_TableView):
    """What a search may see: train/valid metrics and training cost.

    Example:
        >>> bench = Benchmark.load("data/digits.parquet")          # doctest: +SKIP
        >>> bench.query("|nor_conv_3x3~0|+|...|", "valid_acc", epoch=6, seed=0)  # doctest: +SKIP
    """

    _visible = SEARCH_METRICS

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, verify: bool | None = None) -> Benchmark:
        return cls(ResultTable.load(path, verify=verify))

    def diverged(self, archs: Sequence[int] | np.ndarray) -> np.ndarray:
        """bool ``(n, S)``: which runs diverged."""
        return self.table.diverged[self.rows(archs)]


class TestOracle(_TableView):
    """Test metrics, for reporting code only (never handed to a strategy)."""

    __test__ = False  # not a pytest class
    _visible = TEST_METRICS | SEARCH_METRICS

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, verify: bool | None = None) -> TestOracle:
        return cls(ResultTable.load(path, verify=verify))


def format_epochs(epochs: np.ndarray) -> str:
    e = epochs.tolist()
    if len(e) > 8 and e == list(range(e[0], e[-1] + 1)):
        return f"{e[0]}..{e[-1]}"
    return ", ".join(map(str, e))
