"""The table backend of the evaluator contract: a search answered from a result table.

:class:`TableEvaluator` answers each job at once, from the table's stored curves and
costs, so the search loop (:mod:`nasbench.evaluation.loop`) runs asynchronous workers on a
simulated clock over it. Direction: the table's objective
(:attr:`nasbench.tables.table.ResultTable.objective`, by default ``valid_acc``,
maximised) is what the search optimises; strategies are told its *score*, the value signed
by its direction, and the trajectory, the optimum, the targets and the regret are in the
metric's own units.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nasbench.evaluation.context import AskTell, SearchContext
from nasbench.evaluation.contract import Evaluator, Job, Outcome
from nasbench.evaluation.errors import BudgetError, StrategyConfigError
from nasbench.evaluation.loop import run_loop
from nasbench.evaluation.run import Budget, RunConfig
from nasbench.evaluation.trajectory import TARGETS, Trajectory
from nasbench.tables.benchmark import Benchmark, TestOracle

_new = tuple.__new__


class TableEvaluator(Evaluator):
    """The table backend: answers evaluations from a table; build once per table, run many
    searches (:func:`nasbench.evaluation.loop.run_loop`).

    Each evaluation charges the table's training cost (``time_s``) of its architecture and
    epoch; continuing a trial from epoch ``a`` to ``b`` charges only ``time_s(b) -
    time_s(a)`` of the same run. Noise: by default a new trial draws one of the table's
    seeds (one real training run) and keeps it when continued; ``noise="mean"`` answers
    with the seed mean. It is its own :class:`~nasbench.evaluation.contract.Truth`: the
    optimum and the targets are the table's seed-mean final values (the feasible ones',
    under constraints).

    Args:
        bench: the search view of the table.
        oracle: test metrics for reporting the incumbent's test accuracy (optional).

    Attributes:
        context: what strategies may know (space, epochs, valid architectures).
        objective: the table's objective (metric and direction).
        optimum: best seed-mean objective at the max epoch (the lowest, when minimising).
        targets: name -> threshold of the seed-mean final objective (``top1``,
            ``top0.1``, ``optimum``).
        min_full_cost: the cheapest full evaluation (seed-mean seconds).
    """

    def with_scores(self, scores: np.ndarray, names: Sequence[str]) -> TableEvaluator:
        """This simulator, with per-architecture scores in its context (a shallow copy).

        Args:
            scores: float ``(space.size, m)``, larger predicted better (see
                :attr:`SearchContext.scores`).
            names: the ``m`` score names.
        """
        other = copy.copy(self)
        other.context = dataclasses.replace(self.context, scores=scores, score_names=tuple(names))
        return other

    def with_constraints(self, feasible: np.ndarray, describe: Sequence[str] = ()) -> TableEvaluator:
        """This simulator restricted to the feasible rows (a shallow copy): strategies see
        only feasible architectures in their context, the runner refuses the others, and the
        optimum and the targets are the feasible ones'.

        Args:
            feasible: bool ``(A,)`` per table row.
            describe: the constraints in words (``params <= 2e+05``), for the trajectories.

        Raises:
            StrategyConfigError: no architecture the table answers is feasible.
        """
        feasible = np.asarray(feasible, dtype=bool)
        row_of = self._row_of
        answered = row_of >= 0
        keep = answered.copy()
        keep[answered] = feasible[row_of[answered]]
        valid = self.context.valid & keep
        if not valid.any() or not np.isfinite(self.final_mean[feasible]).any():
            raise StrategyConfigError(
                f"no architecture of the table satisfies {', '.join(describe) or 'the constraints'}"
            )
        other = copy.copy(self)
        other._row_of = np.where(keep, row_of, -1)
        other._row_list = other._row_of.tolist()
        other.context = dataclasses.replace(self.context, valid=valid)
        other.feasible = feasible.copy()
        other.constraints = tuple(str(d) for d in describe)
        other._set_truth(feasible)
        other.min_full_cost = self._cheapest(feasible)
        if self.mo_values is not None:
            other.mo_reference = other._nadir()
        return other

    def with_objectives(
        self, names: Sequence[str], maximize: Sequence[bool], values: np.ndarray
    ) -> TableEvaluator:
        """This simulator with secondary objectives (a shallow copy): per-architecture
        columns known without training, which the context shows strategies signed so that
        larger is better, and which reports combine with the table's objective.

        Args:
            names: the ``k`` secondary objectives.
            maximize: ``(k,)`` whether each is maximised.
            values: float ``(A, k)`` per table row, in their own units.
        """
        vals = np.asarray(values, dtype=np.float64).reshape(len(self.final_mean), len(names))
        mx = np.asarray(maximize, dtype=bool)
        signed = np.where(mx, vals, -vals)
        ctx = np.full((len(self._row_of), len(names)), np.nan)
        answered = self._row_of >= 0
        ctx[answered] = signed[self._row_of[answered]]
        other = copy.copy(self)
        other.context = dataclasses.replace(self.context, objectives=ctx, objective_names=tuple(names))
        other.mo_names = (self.objective.metric, *names)
        other.mo_maximize = np.concatenate([[self.objective.maximize], mx])
        other.mo_values = np.column_stack([self.final_mean, vals])
        other.mo_reference = other._nadir()
        return other

    def _nadir(self) -> np.ndarray:
        """The worst value of each objective over the feasible rows: the fixed reference point."""
        v = self.mo_values[self.feasible & np.isfinite(self.mo_values).all(axis=1)]
        if not len(v):
            raise StrategyConfigError(
                f"no (feasible) architecture of the table has a value of every objective ({', '.join(self.mo_names)})"
            )
        return np.where(self.mo_maximize, v.min(axis=0), v.max(axis=0))

    def objective_points(self, archs: np.ndarray) -> np.ndarray:
        """float ``(n, k)``: the objectives (seed-mean final table objective first, then the
        secondary ones, in their own units) of space indices; NaN rows where unknown."""
        archs = np.asarray(archs, dtype=np.int64)
        if self.mo_values is None:
            raise StrategyConfigError("this simulator has no secondary objectives")
        row = np.full(len(archs), -1, dtype=np.int64)
        ok = (archs >= 0) & (archs < len(self._row_of))
        row[ok] = self._row_of[archs[ok]]
        out = np.full((len(archs), self.mo_values.shape[1]), np.nan)
        out[row >= 0] = self.mo_values[row[row >= 0]]
        return out

    def _set_truth(self, feasible: np.ndarray) -> None:
        """The optimum and the targets over the feasible rows."""
        sign = self.objective.sign
        fm = np.where(feasible, self.final_mean, np.nan)
        ok = ~np.isnan(fm)
        best = int(np.argmax(np.where(ok, sign * fm, -np.inf)))
        self.optimum = float(fm[best])
        ranked = np.sort(sign * fm[ok])[::-1]  # best first
        self.targets = {
            name: float(sign * ranked[max(math.ceil(q * len(ranked)) - 1, 0)]) for name, q in TARGETS.items()
        }
        self.targets["optimum"] = float(self.optimum)

    def __init__(self, bench: Benchmark, oracle: TestOracle | None = None) -> None:
        table = bench.table
        self.bench = bench
        self.context = SearchContext.from_benchmark(bench)
        space_size = bench.space.size
        covered = np.flatnonzero(self.context.valid)
        row_of = np.full(space_size, -1, dtype=np.int64)
        row_of[covered] = bench.rows(covered)
        self._row_of = row_of
        self.epochs = tuple(int(e) for e in table.epochs)
        self.max_epoch = self.epochs[-1]
        self._epoch_pos = {e: i for i, e in enumerate(self.epochs)}

        values = table.values
        self.objective = objective = bench.objective
        sign = objective.sign
        # strategies are told scores: the objective signed by its direction (larger is better)
        v = sign * np.ascontiguousarray(
            values[..., table.metric_position(objective.metric)], dtype=np.float64
        )
        c = np.array(values[..., table.metric_position("time_s")], dtype=np.float64)
        a, s, e = v.shape
        with np.errstate(invalid="ignore"), warnings.catch_warnings(action="ignore", category=RuntimeWarning):
            c_mean_seed = np.nanmean(c, axis=1, keepdims=True)  # (A, 1, E)
            c = np.where(np.isnan(c), c_mean_seed, c)
            # still missing: scale the row's full cost by epochs, else the median per epoch
            full = np.nanmean(c[:, :, -1], axis=1)
            ep = np.asarray(self.epochs, dtype=np.float64)
            c = np.where(np.isnan(c), full[:, None, None] * ep / self.max_epoch, c)
            c = np.where(np.isnan(c), np.nanmedian(c.reshape(-1, e), axis=0), c)
        c = np.where(np.isnan(c), ep, c)  # a table without any cost: one second per epoch
        c = np.maximum.accumulate(np.maximum(c, 0.0), axis=2)  # cumulative, so continuations cost >= 0
        avail = ~np.all(np.isnan(v), axis=2)  # (A, S): seeds that ran
        count = avail.sum(axis=1)
        seed_pos = np.argsort(~avail, axis=1, kind="stable")
        count = np.maximum(count, 1)
        with np.errstate(invalid="ignore"), warnings.catch_warnings(action="ignore", category=RuntimeWarning):
            v_mean = np.nanmean(v, axis=1, keepdims=True)
        self._seed_ids = table.seeds.astype(np.int64)
        c_mean = np.mean(c, axis=1, keepdims=True)
        for arr in (v, v_mean, c, c_mean):
            # read-only: the curves told to strategies are views of these (views inherit the flag)
            arr.setflags(write=False)
        self._v = {"seed": v, "mean": v_mean}
        self._c = {"seed": c, "mean": c_mean}
        self._count_of = {"seed": count.tolist(), "mean": [1] * a}
        self._seed_pos = {"seed": seed_pos, "mean": np.zeros((a, 1), dtype=np.int64)}

        self.final_mean = bench.values_at(objective.metric, self.max_epoch).astype(np.float64)
        _, self.optimum = bench.best(objective.metric, self.max_epoch)
        ranked = np.sort(sign * self.final_mean[~np.isnan(self.final_mean)])[::-1]  # best first
        self.targets: dict[str, float] = {
            name: float(sign * ranked[max(math.ceil(q * len(ranked)) - 1, 0)]) for name, q in TARGETS.items()
        }
        self.targets["optimum"] = float(self.optimum)
        self._row_list = row_of.tolist()
        self.min_full_cost = self._cheapest(np.ones(a, dtype=bool))
        self.final_test = np.full(a, np.nan)
        test_metric = objective.test_metric
        if oracle is not None and test_metric in oracle.metrics:
            with np.errstate(invalid="ignore"):
                self.final_test = oracle.values_at(test_metric, self.max_epoch).astype(np.float64)
        self.table_hash = table.metadata.get("content_hash") or getattr(table, "_stored_hash", None)
        #: bool ``(A,)`` the rows searches may propose (all, unless :meth:`with_constraints`)
        self.feasible = np.ones(a, dtype=bool)
        self.constraints: tuple[str, ...] = ()
        #: several objectives (:meth:`with_objectives`): names, directions, ``(A, k)`` values
        #: and the reference point of the hypervolume
        self.mo_names: tuple[str, ...] = ()
        self.mo_maximize: np.ndarray | None = None
        self.mo_values: np.ndarray | None = None
        self.mo_reference: np.ndarray | None = None

    def _cheapest(self, rows: np.ndarray) -> float:
        """The cheapest full evaluation (seed-mean seconds) among ``rows`` (bool ``(A,)``)."""
        return float(np.nanmin(self._c["mean"][rows, 0, -1]))

    # ---- the evaluator contract ------------------------------------------------------------
    def check_budget(self, budget: Budget) -> None:
        """Raise :class:`BudgetError` when ``budget`` is smaller than one full evaluation of a
        (feasible) architecture."""
        super().check_budget(budget)
        if budget.kind == "seconds" and budget.amount < self.min_full_cost:
            raise BudgetError(
                f"budget of {budget.amount:g} simulated seconds is smaller than one evaluation "
                f"(the cheapest full evaluation in this table costs {self.min_full_cost:.4g} s)"
            )

    def begin(self, config: RunConfig, rng: np.random.Generator, strategy: AskTell) -> None:
        noise = config.noise
        self._noise = noise
        self._V, self._C = self._v[noise], self._c[noise]
        self._count, self._draw = self._count_of[noise], self._seed_pos[noise]
        self._random = rng.random

    def estimate_cost(self, job: Job) -> float:
        row, epos = self._row_list[job.rep], self._epoch_pos[job.to_epoch]
        s = max(job.seed, 0)
        c = self._C[row, s, epos]
        return float(c - self._C[row, s, self._epoch_pos[job.from_epoch]] if job.from_epoch else c)

    def evaluate(self, jobs: Sequence[Job]) -> list[Outcome]:
        V, C, epoch_pos, row_list = self._V, self._C, self._epoch_pos, self._row_list
        out = []
        for _, _, rep, s, from_epoch, to_epoch, _ in jobs:  # unpacked: the hot path of a table search
            row = row_list[rep]
            epos = epoch_pos[to_epoch]
            if s < 0:  # a new trial draws one of the seeds that ran
                s = int(self._draw[row, int(self._random() * self._count[row])])
            cost = float(C[row, s, epos])
            if from_epoch:
                cost -= float(C[row, s, epoch_pos[from_epoch]])
            out.append(_new(Outcome, (float(V[row, s, epos]), V[row, s, : epos + 1], cost, s, None)))
        return out

    def seed_ids(self, seeds: np.ndarray) -> np.ndarray:
        if self._noise == "mean":
            return np.full(len(seeds), -1, dtype=np.int64)
        return self._seed_ids[np.asarray(seeds, dtype=np.int64)]

    def final_values(self, archs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The seed-mean final objective and its test counterpart (NaN where unknown)."""
        archs = np.asarray(archs, dtype=np.int64)
        rows = np.full(len(archs), -1, dtype=np.int64)
        ok = (archs >= 0) & (archs < len(self._row_of))
        rows[ok] = self._row_of[archs[ok]]
        has = rows >= 0
        safe = np.where(has, rows, 0)
        return np.where(has, self.final_mean[safe], np.nan), np.where(has, self.final_test[safe], np.nan)

    @property
    def truth(self) -> TableEvaluator:  # type: ignore[override]
        return self

    def run_meta(self) -> dict[str, Any]:
        return {"table_hash": self.table_hash}

    def run(
        self,
        strategy: AskTell,
        config: RunConfig,
        rng: np.random.Generator,
        *,
        meta: Mapping[str, Any] | None = None,
    ) -> Trajectory:
        """Run ``strategy`` until the budget is spent (:func:`nasbench.evaluation.loop.run_loop`)."""
        return run_loop(self, strategy, config, rng, meta=meta)


#: the name the table backend has always had
Simulator = TableEvaluator

__all__ = ["Simulator", "TableEvaluator"]
