"""The runner: evaluates a strategy's proposals against a result table on a simulated clock.

Each evaluation charges the table's training cost (``time_s``) of its architecture and
epoch; continuing a trial from epoch ``a`` to ``b`` charges only ``time_s(b) - time_s(a)``
of the same run. ``N`` asynchronous workers are simulated: a free worker asks the strategy
for work, and results are told in order of simulated finish time.

The strategy's surrogate time (real wall seconds spent fitting and predicting,
:attr:`Strategy.overhead_s`) is charged too and recorded separately (``overhead_s``):
every reported time (``start_s``, ``finish_s``) is the training clock plus the surrogate
seconds spent so far, as if the workers waited while the surrogate ran, and a time budget
counts both. Events are ordered by the training clock alone, so the sequence of
evaluations does not depend on wall-time jitter: the same seed gives the same evaluations
(under a time budget, the last few may differ because wall time decides where the
budget ends).

Direction: the table's objective (:attr:`nasbench.tables.table.ResultTable.objective`, by
default ``valid_acc``, maximised) is what the search optimises. Strategies are told its
*score*, the value signed by its direction (a loss is told as minus the loss), so every
strategy maximises; the trajectory, the optimum, the targets and the regret are in the
metric's own units, and the regret ``|optimum - incumbent|`` is >= 0 in either direction.

Noise: by default a new trial draws one of the table's seeds (one real training run) and
keeps it when continued; ``noise="mean"`` answers with the seed mean.

Budgets are simulated seconds or full evaluations (training one architecture to the max
epoch counts 1; training ``a -> b`` epochs counts ``(b - a) / max_epoch``). The runner
never starts an evaluation that would end past the budget; the run ends at the first
proposal that does not fit, after the running evaluations finish.
"""

from __future__ import annotations

import copy
import dataclasses
import heapq
import logging
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np

from nasbench.core.io import jsonable
from nasbench.tables.benchmark import Benchmark, TestOracle
from strategies.base import Result, SearchContext, Strategy
from strategies.errors import BudgetError, InvalidProposalError, StrategyConfigError

log = logging.getLogger(__name__)

Noise = Literal["seed", "mean"]

#: Fractions of the table (by the seed-mean final objective, best first) used as targets.
TARGETS: dict[str, float] = {"top1": 0.01, "top0.1": 0.001}

_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class Budget:
    """A search budget: simulated seconds or full evaluations.

    Attributes:
        kind: ``"evals"`` (full-evaluation equivalents) or ``"seconds"`` (simulated).
        amount: how many.
    """

    kind: Literal["evals", "seconds"]
    amount: float

    def __post_init__(self) -> None:
        if self.kind not in ("evals", "seconds"):
            raise BudgetError(f"budget kind must be 'evals' or 'seconds', got {self.kind!r}")
        if not (isinstance(self.amount, int | float) and math.isfinite(self.amount) and self.amount > 0):
            raise BudgetError(f"budget must be a positive finite number, got {self.amount!r}")

    @classmethod
    def parse(cls, text: str | float | int) -> Budget:
        """``"300"`` or ``"300evals"`` = 300 full evaluations; ``"5e5s"``, ``"20h"`` = simulated time.

        Raises:
            BudgetError: malformed text or a non-positive amount.
        """
        if isinstance(text, int | float) and not isinstance(text, bool):
            return cls("evals", float(text))
        m = re.fullmatch(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z]*)\s*", str(text))
        unit = m.group(2).lower() if m else ""
        try:
            value = float(m.group(1)) if m else math.nan
        except ValueError:
            value = math.nan
        if not m or math.isnan(value) or (unit and unit not in _UNITS and unit not in ("evals", "eval", "e")):
            raise BudgetError(
                f"cannot read budget {text!r}: use a number of full evaluations (300) or simulated time (5e5s, 20h)"
            )
        if unit in _UNITS:
            return cls("seconds", value * _UNITS[unit])
        return cls("evals", value)

    def __str__(self) -> str:
        return f"{self.amount:g} evals" if self.kind == "evals" else f"{self.amount:g} s"


@dataclass(frozen=True)
class RunConfig:
    """How one search run is simulated.

    Attributes:
        budget: when to stop.
        workers: simulated asynchronous workers.
        noise: ``"seed"`` draws one stored seed per trial (NAS-Bench-201 practice);
            ``"mean"`` answers with seed means.
        charge_overhead: charge the strategy's surrogate wall time to the simulated clock.
        max_evaluations: safety cap on evaluations per run.
    """

    budget: Budget
    workers: int = 1
    noise: Noise = "seed"
    charge_overhead: bool = True
    max_evaluations: int = 2_000_000

    def __post_init__(self) -> None:
        if not isinstance(self.budget, Budget):
            raise StrategyConfigError("budget must be a Budget")
        if not (isinstance(self.workers, int) and self.workers >= 1):
            raise StrategyConfigError(f"workers must be an integer >= 1, got {self.workers!r}")
        if self.noise not in ("seed", "mean"):
            raise StrategyConfigError(f"noise must be 'seed' or 'mean', got {self.noise!r}")
        if not (isinstance(self.max_evaluations, int) and self.max_evaluations >= 1):
            raise StrategyConfigError("max_evaluations must be a positive integer")

    def describe(self) -> dict[str, Any]:
        return {
            "budget": str(self.budget),
            "budget_kind": self.budget.kind,
            "budget_amount": self.budget.amount,
            "workers": self.workers,
            "noise": self.noise,
            "charge_overhead": self.charge_overhead,
        }


#: Trajectory columns, one row per finished evaluation, in finish order.
COLUMNS: tuple[str, ...] = (
    "step",
    "trial",
    "arch",
    "epoch",
    "from_epoch",
    "seed",
    "valid_acc",
    "cost_s",
    "evals",
    "start_s",
    "finish_s",
    "overhead_s",
    "incumbent",
    "incumbent_valid",
    "incumbent_mean",
    "regret",
    "incumbent_test",
)


class _Job(NamedTuple):
    """A running evaluation on the simulator's event heap, which orders by ``(finish, seq)``."""

    finish: float  #: training clock when it ends
    seq: int  #: start order (unique: breaks ties in ``finish``)
    trial: int
    epos: int  #: position in ``epochs`` of the epoch it trains to
    from_epos: int  #: position of the epoch it continues from; -1 for a new trial
    cost: float  #: training seconds charged
    units: float  #: full-evaluation equivalents charged
    start_s: float  #: reported start: training clock plus the surrogate seconds charged so far


#: ``_new_job(_Job, fields)`` builds a job from a tuple of all its fields, as ``_Job._make``
#: does but without its Python-level call and length check (``_Job(...)`` costs twice as much).
_new_job = tuple.__new__


class _Trials(NamedTuple):
    """Per trial (index = trial id), one list per field."""

    row: list[int]  #: table row of its architecture
    seed_pos: list[int]  #: position of its seed in the table (0 with ``noise="mean"``)
    arch: list[int]
    epos: list[int]  #: position in ``epochs`` of the epoch reached (or being trained to)
    running: list[bool]


class _Finished(NamedTuple):
    """The finished evaluations of a run, one list per field, in finish order.

    Stored by column, not as one record per evaluation: thousands of live tuple-subclass
    records stay tracked by the garbage collector (plain tuples of numbers are untracked),
    which made the loop about 20% slower. Architecture and seed are the trial's.
    """

    trial: list[int]
    epoch: list[int]
    from_epoch: list[int]  #: 0 for a new trial
    valid_acc: list[float]
    cost_s: list[float]
    units: list[float]  #: full-evaluation equivalents charged
    start_s: list[float]  #: reported clock (training + surrogate seconds)
    finish_s: list[float]
    overhead_s: list[float]  #: surrogate seconds so far

    @classmethod
    def empty(cls) -> _Finished:
        return cls(*([] for _ in cls._fields))


@dataclass(frozen=True, eq=False)
class Trajectory:
    """The record of one run.

    Attributes:
        columns: name -> ``(n,)`` array for each of :data:`COLUMNS`: ``evals`` is the
            cumulative full-evaluation count and ``overhead_s`` the cumulative surrogate
            time at each finish; ``valid_acc`` is the observed value of the table's
            objective (validation accuracy, or e.g. a validation loss on a table that
            minimises one); ``incumbent`` is the best architecture so far by observed
            max-epoch objective (-1 before the first), ``incumbent_mean`` its seed-mean
            objective, ``regret`` how far that is from the optimum (``optimum -
            incumbent_mean``, negated when minimising: >= 0 either way), and
            ``incumbent_test`` its seed-mean test counterpart (reporting only; NaN where
            the table has none).
        meta: strategy, seed, run config, objective (``{"metric", "direction"}``;
            absent: ``valid_acc``, ``max``), optimum and target thresholds.
    """

    columns: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.columns["step"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def final_regret(self) -> float:
        r = self.columns["regret"]
        return float(r[-1]) if len(r) else math.nan

    @property
    def sign(self) -> float:
        """``1.0`` when the objective is maximised, ``-1.0`` when it is minimised."""
        return -1.0 if (self.meta.get("objective") or {}).get("direction") == "min" else 1.0

    def hitting(self, threshold: float) -> tuple[float, float]:
        """``(evals, simulated seconds)`` when the incumbent's seed-mean objective first
        reached ``threshold`` (at or above it; at or below when minimising); ``(inf, inf)``
        if it never did."""
        sign = self.sign
        hit = np.flatnonzero(sign * self.columns["incumbent_mean"] >= sign * threshold - 1e-9)
        if len(hit) == 0:
            return math.inf, math.inf
        i = int(hit[0])
        return float(self.columns["evals"][i]), float(self.columns["finish_s"][i])

    def regret_at(self, times: np.ndarray, *, axis: Literal["time", "evals"] = "time") -> np.ndarray:
        """float ``(T,)``: the regret at each time (or evaluation count); NaN before the first incumbent."""
        x = self.columns["finish_s" if axis == "time" else "evals"]
        pos = np.searchsorted(x, np.asarray(times, dtype=np.float64), side="right") - 1
        out = np.full(len(pos), np.nan)
        ok = pos >= 0
        out[ok] = self.columns["regret"][pos[ok]]
        return out

    def to_frame(self) -> Any:
        """pandas DataFrame with the columns plus ``strategy`` and ``seed_id``."""
        import pandas as pd

        df = pd.DataFrame(self.columns)
        df.insert(0, "run_seed", int(self.meta.get("seed", -1)))
        df.insert(0, "strategy", str(self.meta.get("strategy", "")))
        return df

    @classmethod
    def from_frame(cls, frame: Any, meta: Mapping[str, Any]) -> Trajectory:
        cols = {c: frame[c].to_numpy() for c in COLUMNS}
        return cls(cols, dict(meta))

    def same_evaluations(self, other: Trajectory, *, costs: bool = True) -> bool:
        """Whether both runs evaluated the same architectures, epochs and seeds in the same order
        and saw the same values (surrogate wall time may differ).

        ``costs=False`` leaves out the charged seconds: a live search measures them, so a
        retrained evaluation costs a little more or less each time.
        """
        keys = ("trial", "arch", "epoch", "from_epoch", "seed", "valid_acc", "incumbent")
        keys += ("cost_s",) if costs else ()
        return len(self) == len(other) and all(
            np.array_equal(self.columns[k], other.columns[k], equal_nan=True) for k in keys
        )


class Simulator:
    """Answers evaluations from a table; build once per table, run many searches.

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

    def with_scores(self, scores: np.ndarray, names: Sequence[str]) -> Simulator:
        """This simulator, with per-architecture scores in its context (a shallow copy).

        Args:
            scores: float ``(space.size, m)``, larger predicted better (see
                :attr:`SearchContext.scores`).
            names: the ``m`` score names.
        """
        other = copy.copy(self)
        other.context = dataclasses.replace(self.context, scores=scores, score_names=tuple(names))
        return other

    def with_constraints(self, feasible: np.ndarray, describe: Sequence[str] = ()) -> Simulator:
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
        other.context = dataclasses.replace(self.context, valid=valid)
        other.feasible = feasible.copy()
        other.constraints = tuple(str(d) for d in describe)
        other._set_truth(feasible)
        if self.mo_values is not None:
            other.mo_reference = other._nadir()
        return other

    def with_objectives(
        self, names: Sequence[str], maximize: Sequence[bool], values: np.ndarray
    ) -> Simulator:
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
        self._count = {"seed": count.tolist(), "mean": [1] * a}
        self._seed_pos = {"seed": seed_pos, "mean": np.zeros((a, 1), dtype=np.int64)}

        self.final_mean = bench.values_at(objective.metric, self.max_epoch).astype(np.float64)
        _, self.optimum = bench.best(objective.metric, self.max_epoch)
        ranked = np.sort(sign * self.final_mean[~np.isnan(self.final_mean)])[::-1]  # best first
        self.targets: dict[str, float] = {
            name: float(sign * ranked[max(math.ceil(q * len(ranked)) - 1, 0)]) for name, q in TARGETS.items()
        }
        self.targets["optimum"] = float(self.optimum)
        self.min_full_cost = float(np.nanmin(self._c["mean"][:, 0, -1]))
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

    # ---- checks ----------------------------------------------------------------------
    def check_budget(self, budget: Budget) -> None:
        """Raise :class:`BudgetError` when ``budget`` is smaller than one full evaluation."""
        if budget.kind == "evals" and budget.amount < 1:
            raise BudgetError(f"budget of {budget.amount:g} evaluations is smaller than one evaluation")
        if budget.kind == "seconds" and budget.amount < self.min_full_cost:
            raise BudgetError(
                f"budget of {budget.amount:g} simulated seconds is smaller than one evaluation "
                f"(the cheapest full evaluation in this table costs {self.min_full_cost:.4g} s)"
            )

    # ---- the simulation ----------------------------------------------------------------
    def run(
        self,
        strategy: Strategy,
        config: RunConfig,
        rng: np.random.Generator,
        *,
        meta: Mapping[str, Any] | None = None,
    ) -> Trajectory:
        """Run ``strategy`` until the budget is spent.

        Args:
            strategy: a fresh strategy built on :attr:`context`.
            config: budget, workers, noise.
            rng: the runner's generator (seed draws); independent of the strategy's.
            meta: extra metadata for the trajectory.

        Raises:
            BudgetError: the budget is smaller than one evaluation.
            InvalidProposalError: the strategy proposed something the table cannot answer.
        """
        self.check_budget(config.budget)
        V, C = self._v[config.noise], self._c[config.noise]
        count, seed_pos = self._count[config.noise], self._seed_pos[config.noise]
        row_of, epoch_pos, epochs, max_epoch = self._row_of, self._epoch_pos, self.epochs, self.max_epoch
        n_space = len(row_of)
        by_evals = config.budget.kind == "evals"
        amount = config.budget.amount * (1 + 1e-12) + 1e-9
        charge = config.charge_overhead
        max_jobs = config.max_evaluations
        random = rng.random
        ask, tell = strategy.ask, strategy.tell
        heappush, heappop = heapq.heappush, heapq.heappop
        new, Job = _new_job, _Job
        trials = _Trials(row=[], seed_pos=[], arch=[], epos=[], running=[])
        t_row, t_seed, t_arch, t_epos, running = (
            trials.row,
            trials.seed_pos,
            trials.arch,
            trials.epos,
            trials.running,
        )
        done = _Finished.empty()  # appended field by field through these bound methods
        add_trial, add_epoch, add_from = done.trial.append, done.epoch.append, done.from_epoch.append
        add_val, add_cost, add_units = done.valid_acc.append, done.cost_s.append, done.units.append
        add_start, add_finish, add_ov = done.start_s.append, done.finish_s.append, done.overhead_s.append
        heap: list[_Job] = []
        t = 0.0
        used = 0.0
        free = config.workers
        stopping = False
        started = 0
        seq = 0
        ov0 = strategy.overhead_s
        ov = 0.0  # surrogate seconds so far (added to the clock when charged)
        reason = "budget"
        while True:
            while free and not stopping:
                p = ask()
                ov = strategy.overhead_s - ov0
                if p is None:
                    break
                epos = epoch_pos.get(p.epoch, -1)
                if epos < 0:
                    raise InvalidProposalError(
                        f"{strategy.name or type(strategy).__name__} proposed epoch {p.epoch!r}; the table stores {list(epochs)}"
                    )
                trial = p.resume
                if trial is None:
                    arch = p.arch
                    if type(arch) is not int and isinstance(arch, np.integer):
                        arch = int(arch)
                    if not (type(arch) is int and 0 <= arch < n_space) or row_of[arch] < 0:
                        raise InvalidProposalError(
                            f"{strategy.name or type(strategy).__name__} proposed architecture {arch!r}, "
                            "which is not a valid index the table answers"
                        )
                    row = int(row_of[arch])
                    s = int(seed_pos[row, int(random() * count[row])])
                    from_epos = -1
                    cost = float(C[row, s, epos])
                    units = p.epoch / max_epoch
                else:
                    if not (type(trial) is int and 0 <= trial < len(t_row)) or running[trial]:
                        raise InvalidProposalError(f"cannot resume trial {trial!r}: unknown or still running")
                    if t_arch[trial] != p.arch or t_epos[trial] >= epos:
                        raise InvalidProposalError(
                            f"cannot resume trial {trial} (architecture {t_arch[trial]} at epoch "
                            f"{epochs[t_epos[trial]]}) as architecture {p.arch} to epoch {p.epoch}"
                        )
                    row, s, from_epos = t_row[trial], t_seed[trial], t_epos[trial]
                    cost = float(C[row, s, epos] - C[row, s, from_epos])
                    units = (p.epoch - epochs[from_epos]) / max_epoch
                if (used + units if by_evals else t + cost + (ov if charge else 0.0)) > amount:
                    stopping = True  # this proposal does not fit: the run ends
                    break
                if by_evals:
                    used += units
                if trial is None:
                    trial = len(t_row)
                    t_row.append(row)
                    t_seed.append(s)
                    t_arch.append(arch)
                    t_epos.append(epos)
                    running.append(True)
                else:
                    running[trial] = True
                heappush(
                    heap,
                    new(Job, (t + cost, seq, trial, epos, from_epos, cost, units, t + ov if charge else t)),
                )
                seq += 1
                free -= 1
                started += 1
                if started >= max_jobs:
                    stopping = True
                    reason = "max_evaluations"
            if not heap:
                if not stopping:
                    reason = "strategy_exhausted"
                break
            job = heappop(heap)
            finish, trial, epos = job.finish, job.trial, job.epos
            if finish > t:
                t = finish
            free += 1
            row, s = t_row[trial], t_seed[trial]
            t_epos[trial] = epos
            running[trial] = False
            val = float(V[row, s, epos])
            shown = ov if charge else 0.0
            if not by_evals and finish + shown > amount:
                # surrogate time spent while it ran pushed its end past the budget: it never finished
                stopping = True
                continue
            from_epos = job.from_epos
            cost, arch, epoch, finish_s = job.cost, t_arch[trial], epochs[epos], finish + shown
            add_trial(trial)
            add_epoch(epoch)
            add_from(epochs[from_epos] if from_epos >= 0 else 0)
            add_val(val)
            add_cost(cost)
            add_units(job.units)
            add_start(job.start_s)
            add_finish(finish_s)
            add_ov(ov)
            tell(Result(trial, arch, epoch, val, V[row, s, : epos + 1], cost, finish_s))
            ov = strategy.overhead_s - ov0
        if reason == "strategy_exhausted":
            log.info("%s stopped proposing after %d evaluations", strategy.name, len(done.trial))
        return self._trajectory(done, trials, config, strategy, reason, meta)

    def _trajectory(
        self,
        cols: _Finished,
        trials: _Trials,
        config: RunConfig,
        strategy: Strategy,
        reason: str,
        meta: Mapping[str, Any] | None,
    ) -> Trajectory:
        trial = np.asarray(cols.trial, dtype=np.int64)
        rows = np.asarray(trials.row, dtype=np.int64)[trial]
        seed_pos = np.asarray(trials.seed_pos, dtype=np.int64)[trial]
        n = len(trial)
        seed_id = self._seed_ids[seed_pos] if config.noise == "seed" else np.full(n, -1, np.int64)
        direction = self.objective.direction
        if direction == "min":  # the runner told scores: back to the metric's own units
            cols = cols._replace(valid_acc=[-v for v in cols.valid_acc])
        columns = trajectory_columns(
            cols,
            arch=np.asarray(trials.arch, dtype=np.int64)[trial],
            seed=seed_id,
            final_mean=self.final_mean[rows],
            final_test=self.final_test[rows],
            optimum=self.optimum,
            max_epoch=self.max_epoch,
            direction=direction,
        )
        info = run_info(strategy, config, columns, reason)
        info.update(optimum=self.optimum, targets=dict(self.targets), table_hash=self.table_hash)
        if not self.objective.is_default:
            info["objective"] = self.objective.to_dict()
        if self.constraints:
            info["constraints"] = list(self.constraints)
        info.update(meta or {})
        return Trajectory(columns, info)


def trajectory_columns(
    cols: Any,
    *,
    arch: np.ndarray,
    seed: np.ndarray,
    final_mean: np.ndarray,
    final_test: np.ndarray,
    optimum: float,
    max_epoch: int,
    direction: str = "max",
) -> dict[str, np.ndarray]:
    """The :data:`COLUMNS` of a run from its finished evaluations, in finish order.

    Args:
        cols: per-evaluation lists ``trial``, ``epoch``, ``from_epoch``, ``valid_acc``,
            ``cost_s``, ``units``, ``start_s``, ``finish_s``, ``overhead_s``.
        arch, seed: ``(n,)`` each evaluation's architecture and training seed (-1: seed mean).
        final_mean, final_test: ``(n,)`` the ground truth of each evaluation's architecture
            (seed-mean final objective and its test counterpart; NaN where unknown).
        optimum: best seed-mean final objective (NaN where unknown).
        max_epoch: the full evaluation's epoch (only those make an incumbent).
        direction: ``max`` (larger ``valid_acc`` is better) or ``min``.
    """
    trial = np.asarray(cols.trial, dtype=np.int64)
    n = len(trial)
    epoch = np.asarray(cols.epoch, dtype=np.int64)
    valid = np.asarray(cols.valid_acc, dtype=np.float64)
    sign = -1.0 if direction == "min" else 1.0
    # incumbent: best observed max-epoch objective so far (first one wins ties)
    score = np.where((epoch == max_epoch) & ~np.isnan(valid), sign * valid, -np.inf)
    prev_best = np.concatenate([[-np.inf], np.maximum.accumulate(score)[:-1]]) if n else score
    is_new = score > prev_best
    inc_pos = np.maximum.accumulate(np.where(is_new, np.arange(n), -1)) if n else np.zeros(0, np.int64)
    has = inc_pos >= 0
    safe = np.where(has, inc_pos, 0)
    inc_mean = np.where(has, np.asarray(final_mean, np.float64)[safe], np.nan)
    return {
        "step": np.arange(n, dtype=np.int64),
        "trial": trial,
        "arch": np.asarray(arch, dtype=np.int64),
        "epoch": epoch,
        "from_epoch": np.asarray(cols.from_epoch, dtype=np.int64),
        "seed": np.asarray(seed, dtype=np.int64),
        "valid_acc": valid,
        "cost_s": np.asarray(cols.cost_s, dtype=np.float64),
        "evals": np.cumsum(np.asarray(cols.units, dtype=np.float64)),
        "start_s": np.asarray(cols.start_s, dtype=np.float64),
        "finish_s": np.asarray(cols.finish_s, dtype=np.float64),
        "overhead_s": np.asarray(cols.overhead_s, dtype=np.float64),
        "incumbent": np.where(has, np.asarray(arch, np.int64)[safe], -1).astype(np.int64),
        "incumbent_valid": np.where(has, valid[safe], np.nan),
        "incumbent_mean": inc_mean,
        "regret": sign * (optimum - inc_mean),
        "incumbent_test": np.where(has, np.asarray(final_test, np.float64)[safe], np.nan),
    }


def run_info(
    strategy: Strategy, config: RunConfig, columns: Mapping[str, np.ndarray], reason: str
) -> dict[str, Any]:
    """The trajectory metadata every backend records: strategy, parameters, run config, totals."""
    n = len(columns["step"])
    return {
        "strategy": strategy.name or type(strategy).__name__,
        "params": jsonable(asdict(strategy.config), finite=False)
        if hasattr(strategy.config, "__dataclass_fields__")
        else {},
        **config.describe(),
        "stop_reason": reason,
        "n_evaluations": n,
        "sim_time_s": float(columns["finish_s"][-1]) if n else 0.0,
        "overhead_s": float(columns["overhead_s"][-1]) if n else 0.0,
        "strategy_stats": jsonable(strategy.stats(), finite=False),
    }


def seeded_generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent ``(strategy, runner)`` generators of a run seed."""
    s_strategy, s_runner = np.random.SeedSequence(int(seed)).spawn(2)
    return np.random.default_rng(s_strategy), np.random.default_rng(s_runner)


def run_search(
    bench: Benchmark | Simulator,
    strategy: str,
    *,
    seed: int,
    config: RunConfig,
    params: Mapping[str, Any] | None = None,
    surrogate: Any = None,
    oracle: TestOracle | None = None,
) -> Trajectory:
    """Run one registered strategy on a table.

    Args:
        bench: the table's search view, or a prepared :class:`Simulator`.
        strategy: registered name, with modifiers (``"re+es"``).
        seed: run seed; the strategy and the runner's seed draws get independent streams.
        config: budget, workers, noise.
        params: strategy parameters.
        surrogate: surrogate name or unfitted estimator for strategies that use one.
        oracle: test metrics for reporting (ignored when ``bench`` is a Simulator).

    Raises:
        UnknownStrategyError, StrategyConfigError, BudgetError, FidelityError.
    """
    from strategies.registry import make_strategy

    sim = bench if isinstance(bench, Simulator) else Simulator(bench, oracle)
    sim.check_budget(config.budget)
    s_rng, r_rng = seeded_generators(seed)
    strat = make_strategy(strategy, sim.context, s_rng, params=params, surrogate=surrogate)
    meta = {
        "strategy": strategy,
        "seed": int(seed),
        "surrogate": surrogate if isinstance(surrogate, str) else None,
    }
    return sim.run(strat, config, r_rng, meta=meta)
