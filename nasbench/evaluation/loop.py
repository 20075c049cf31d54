"""The one search loop: a strategy asks, an :class:`~nasbench.evaluation.contract.Evaluator`
answers, the loop keeps the budget and the clock.

Everything a backend does not decide is decided here, once: the checks of a proposal
(epoch, architecture, continuation), the budget, the trial bookkeeping, the order in which
results are told, the trajectory and its metadata. Two ways of scheduling, chosen by the
evaluator's :meth:`~nasbench.evaluation.contract.Evaluator.batch_size`:

* **Asynchronous workers** (batch size 1: a table, a surrogate's predictions). ``N``
  simulated workers: a free worker asks the strategy for work, the evaluator answers at
  once with the training seconds it costs, and results are told in order of simulated
  finish time. Continuing a trial from epoch ``a`` to ``b`` charges only the seconds from
  ``a`` to ``b`` of the same run.
* **Populations** (batch size > 1: the trainer). Up to a batch of asks is answered
  together, as one population; with :attr:`Evaluator.overlap` the strategy is asked for the
  next batch while one trains. Results are told in ask order once the batch is done; the
  clock adds each evaluation's seconds (one device trains the populations one after
  another). The sequence of asks and tells does not depend on timing.

The strategy's surrogate time (:attr:`Strategy.overhead_s`, real wall seconds) is charged
to the clock too and recorded apart (``overhead_s``): reported times are the training
clock plus the surrogate seconds spent so far, and a seconds budget counts both. Events
are ordered by the training clock alone, so the same seed gives the same evaluations.

The loop never starts an evaluation that would end past the budget (evaluations: full
evaluation equivalents; seconds: the clock). The run ends at the first proposal that does
not fit, after the running evaluations finish.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np

from nasbench.evaluation.context import AskTell, Proposal, Result
from nasbench.evaluation.contract import Evaluator, Job, Outcome
from nasbench.evaluation.errors import InvalidProposalError
from nasbench.evaluation.run import RunConfig
from nasbench.evaluation.trajectory import Trajectory, run_info, trajectory_columns

log = logging.getLogger(__name__)

ProgressFn = Callable[[dict[str, Any]], None]

#: ``_new(cls, fields)`` builds a named tuple from a tuple of all its fields, as ``cls._make``
#: does but without its Python-level call and length check (the hot path of a table search)
_new = tuple.__new__


class _Finished(NamedTuple):
    """The finished evaluations of a run, one list per field, in finish order.

    Stored by column, not as one record per evaluation: thousands of live tuple-subclass
    records stay tracked by the garbage collector (plain tuples of numbers are untracked),
    which made the loop about 20% slower.
    """

    trial: list[int]
    epoch: list[int]
    from_epoch: list[int]  #: 0 for a new trial
    valid_acc: list[float]  #: the score told (signed)
    cost_s: list[float]
    units: list[float]  #: full-evaluation equivalents charged
    start_s: list[float]  #: reported clock (training + surrogate seconds)
    finish_s: list[float]
    overhead_s: list[float]  #: surrogate seconds so far

    @classmethod
    def empty(cls) -> _Finished:
        return cls(*([] for _ in cls._fields))


class _Trials:
    """Per trial (index = trial id), one list per field, and the proposal checks."""

    def __init__(self, evaluator: Evaluator, who: str) -> None:
        ctx = evaluator.context
        self.arch: list[int] = []
        self.rep: list[int] = []
        self.seed: list[int] = []
        self.reached: list[int] = []  #: epoch reached (or being trained to)
        self.running: list[bool] = []
        self.who = who
        self.epochs = ctx.epochs
        self.epoch_set = frozenset(ctx.epochs)
        self.max_epoch = ctx.epochs[-1]
        self.valid = ctx.valid
        self.n_space = len(ctx.valid)
        self.canon = ctx.canonical

    def job(self, p: Proposal) -> Job:
        """The job of proposal ``p`` (a new trial is not recorded until :meth:`start`).

        Raises:
            InvalidProposalError: an epoch the evaluator does not answer, an architecture that
                is no valid index, or a continuation of an unknown, running or later trial.
        """
        epoch = p.epoch
        if epoch not in self.epoch_set or type(epoch) is bool:
            raise InvalidProposalError(
                f"{self.who} proposed epoch {epoch!r}; the evaluator answers {list(self.epochs)}"
            )
        epoch = int(epoch)
        trial = p.resume
        if trial is None:
            arch = p.arch
            if type(arch) is not int and isinstance(arch, np.integer):
                arch = int(arch)
            if type(arch) is not int or not 0 <= arch < self.n_space:
                raise InvalidProposalError(
                    f"{self.who} proposed architecture {arch!r}, not an index of the space"
                )
            if not self.valid[arch]:
                raise InvalidProposalError(
                    f"{self.who} proposed architecture {arch}, which this evaluator cannot answer"
                )
            rep = arch if self.canon is None else int(self.canon[arch])
            parent = p.parent
            if parent is not None:
                parent = int(parent) if self.canon is None else int(self.canon[int(parent)])
            return _new(Job, (len(self.arch), arch, rep, -1, 0, epoch, parent))
        if not (type(trial) is int and 0 <= trial < len(self.arch)) or self.running[trial]:
            raise InvalidProposalError(f"cannot resume trial {trial!r}: unknown or still running")
        if self.arch[trial] != p.arch or self.reached[trial] >= epoch:
            raise InvalidProposalError(
                f"cannot resume trial {trial} (architecture {self.arch[trial]} at epoch "
                f"{self.reached[trial]}) as architecture {p.arch} to epoch {epoch}"
            )
        return _new(
            Job,
            (trial, self.arch[trial], self.rep[trial], self.seed[trial], self.reached[trial], epoch, None),
        )

    def start(self, job: Job, seed: int) -> None:
        """Record that ``job`` runs (a new trial gets its id and keeps ``seed``)."""
        if job.from_epoch == 0 and job.trial == len(self.arch):
            self.arch.append(job.arch)
            self.rep.append(job.rep)
            self.seed.append(seed)
            self.reached.append(job.to_epoch)
            self.running.append(True)
        else:
            self.reached[job.trial] = job.to_epoch
            self.running[job.trial] = True


def run_loop(
    evaluator: Evaluator,
    strategy: AskTell,
    config: RunConfig,
    rng: np.random.Generator,
    *,
    meta: Mapping[str, Any] | None = None,
    progress: ProgressFn | None = None,
) -> Trajectory:
    """Run ``strategy`` on ``evaluator`` until the budget is spent.

    Args:
        evaluator: any backend.
        strategy: a fresh strategy built on ``evaluator.context``.
        config: budget, workers, noise.
        rng: the loop's generator (the evaluator's seed draws); independent of the strategy's.
        meta: extra metadata for the trajectory.
        progress: called with counters after each batch (population evaluators) or each
            finished evaluation.

    Raises:
        BudgetError: the budget is smaller than one evaluation.
        InvalidProposalError: the strategy proposed something the evaluator cannot answer.
        StrategyConfigError: settings the evaluator cannot run.
    """
    evaluator.check_budget(config.budget)
    evaluator.begin(config, rng, strategy)
    t_wall = time.perf_counter()
    batch = evaluator.batch_size(config)
    run = _populations if batch > 1 else _asynchronous
    trials = _Trials(evaluator, strategy.name or type(strategy).__name__)
    done, extra, reason = run(evaluator, strategy, config, trials, batch, progress, t_wall)
    if reason == "strategy_exhausted":
        log.info("%s stopped proposing after %d evaluations", strategy.name, len(done.trial))
    return _trajectory(evaluator, strategy, config, trials, done, extra, reason, meta)


def _asynchronous(
    evaluator: Evaluator,
    strategy: AskTell,
    config: RunConfig,
    trials: _Trials,
    batch: int,
    progress: ProgressFn | None,
    t_wall: float,
) -> tuple[_Finished, dict[str, list[Any]], str]:
    """``config.workers`` asynchronous workers; the evaluator answers each job at once.

    The hot path of every table search, so the common proposal (a valid architecture and
    epoch, or a valid continuation) is checked and recorded inline; anything else goes
    through :meth:`_Trials.job`, which converts it or raises the one-line error.
    """
    by_evals = config.budget.kind == "evals"
    amount = config.budget.amount * (1 + 1e-12) + 1e-9
    charge = config.charge_overhead
    max_jobs = config.max_evaluations
    max_epoch = trials.max_epoch
    evaluate, make_job = evaluator.evaluate, trials.job
    ask, tell = strategy.ask, strategy.tell
    heappush, heappop = heapq.heappush, heapq.heappop
    new, Job_ = _new, Job
    epoch_set, valid, canon, n_space = trials.epoch_set, trials.valid, trials.canon, trials.n_space
    t_arch, t_rep, t_seed, t_reached, t_running = (
        trials.arch,
        trials.rep,
        trials.seed,
        trials.reached,
        trials.running,
    )
    done = _Finished.empty()  # appended field by field through these bound methods
    add_trial, add_epoch, add_from = done.trial.append, done.epoch.append, done.from_epoch.append
    add_val, add_cost, add_units = done.valid_acc.append, done.cost_s.append, done.units.append
    add_start, add_finish, add_ov = done.start_s.append, done.finish_s.append, done.overhead_s.append
    extra: dict[str, list[Any]] = {}
    heap: list[tuple[Any, ...]] = []
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
            epoch, trial, arch = p.epoch, p.resume, p.arch
            if trial is None:
                if (
                    type(arch) is int
                    and 0 <= arch < n_space
                    and type(epoch) is int
                    and epoch in epoch_set
                    and valid[arch]
                ):
                    parent = p.parent
                    if parent is not None:
                        parent = int(parent) if canon is None else int(canon[int(parent)])
                    rep = arch if canon is None else int(canon[arch])
                    job = new(Job_, (len(t_arch), arch, rep, -1, 0, epoch, parent))
                else:
                    job = make_job(p)
            elif (
                type(trial) is int
                and 0 <= trial < len(t_arch)
                and not t_running[trial]
                and t_arch[trial] == arch
                and type(epoch) is int
                and epoch in epoch_set
                and t_reached[trial] < epoch
            ):
                job = new(Job_, (trial, arch, t_rep[trial], t_seed[trial], t_reached[trial], epoch, None))
            else:
                job = make_job(p)
            trial, arch, rep, _, from_epoch, epoch, _ = job
            value, curve, cost, seed, oextra = evaluate((job,))[0]
            units = (epoch - from_epoch) / max_epoch
            if (used + units if by_evals else t + cost + (ov if charge else 0.0)) > amount:
                stopping = True  # this proposal does not fit: the run ends
                break
            if by_evals:
                used += units
            if from_epoch == 0:  # a new trial: its id is the next one
                t_arch.append(arch)
                t_rep.append(rep)
                t_seed.append(seed)
                t_reached.append(epoch)
                t_running.append(True)
            else:
                t_reached[trial] = epoch
                t_running[trial] = True
            start_s = t + ov if charge else t
            heappush(
                heap,
                (t + cost, seq, trial, arch, epoch, from_epoch, value, curve, cost, oextra, units, start_s),
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
        finish, _, trial, arch, epoch, from_epoch, value, curve, cost, oextra, units, start_s = heappop(heap)
        if finish > t:
            t = finish
        free += 1
        t_running[trial] = False
        shown = ov if charge else 0.0
        if not by_evals and finish + shown > amount:
            # surrogate time spent while it ran pushed its end past the budget: it never finished
            stopping = True
            continue
        finish_s = finish + shown
        add_trial(trial)
        add_epoch(epoch)
        add_from(from_epoch)
        add_val(value)
        add_cost(cost)
        add_units(units)
        add_start(start_s)
        add_finish(finish_s)
        add_ov(ov)
        if oextra is not None:
            _add_extra(extra, oextra, len(done.trial))
        tell(Result(trial, arch, epoch, value, curve, cost, finish_s))
        ov = strategy.overhead_s - ov0
        if progress is not None:
            _report(progress, evaluator, config, done, t, used, t_wall)
    return done, extra, reason


def _populations(
    evaluator: Evaluator,
    strategy: AskTell,
    config: RunConfig,
    trials: _Trials,
    batch: int,
    progress: ProgressFn | None,
    t_wall: float,
) -> tuple[_Finished, dict[str, list[Any]], str]:
    """Batches of up to ``batch`` jobs, each answered together (one population)."""
    by_evals = config.budget.kind == "evals"
    amount = config.budget.amount * (1 + 1e-12) + 1e-9
    max_epoch = trials.max_epoch
    done = _Finished.empty()
    extra: dict[str, list[Any]] = {}
    state: dict[str, Any] = {"used": 0.0, "clock": 0.0, "stopping": False, "reason": "budget"}
    inflight: list[Job] = []
    ov0 = strategy.overhead_s

    def fits(job: Job) -> bool:
        units = (job.to_epoch - job.from_epoch) / max_epoch
        if by_evals:
            return state["used"] + units <= amount
        spent = state["clock"] + (strategy.overhead_s - ov0 if config.charge_overhead else 0.0)
        pending = sum(evaluator.estimate_cost(j) for j in inflight)
        return spent + pending + evaluator.estimate_cost(job) <= amount

    def ask_batch() -> list[Job]:
        jobs: list[Job] = []
        while len(jobs) < batch and not state["stopping"]:
            if len(done.trial) + len(inflight) >= config.max_evaluations:
                state["stopping"], state["reason"] = True, "max_evaluations"
                break
            p = strategy.ask()
            if p is None:
                break
            job = trials.job(p)
            if not fits(job):
                state["stopping"] = True
                break
            trials.start(job, job.seed)
            state["used"] += (job.to_epoch - job.from_epoch) / max_epoch
            inflight.append(job)
            jobs.append(job)
        return jobs

    def tell(jobs: list[Job], outcomes: list[Outcome]) -> None:
        for job, o in zip(jobs, outcomes, strict=True):
            inflight.remove(job)
            trials.running[job.trial] = False
            if job.from_epoch == 0:
                trials.seed[job.trial] = o.seed
            ov = strategy.overhead_s - ov0
            shown = ov if config.charge_overhead else 0.0
            start = state["clock"] + shown
            state["clock"] += o.cost_s
            done.trial.append(job.trial)
            done.epoch.append(job.to_epoch)
            done.from_epoch.append(job.from_epoch)
            done.valid_acc.append(o.value)
            done.cost_s.append(o.cost_s)
            done.units.append((job.to_epoch - job.from_epoch) / max_epoch)
            done.start_s.append(start)
            done.finish_s.append(state["clock"] + shown)
            done.overhead_s.append(ov)
            if o.extra is not None:
                _add_extra(extra, o.extra, len(done.trial))
            strategy.tell(
                Result(job.trial, job.arch, job.to_epoch, o.value, o.curve, o.cost_s, start + o.cost_s)
            )
        if progress is not None:
            _report(progress, evaluator, config, done, state["clock"], state["used"], t_wall)

    pool = ThreadPoolExecutor(1) if evaluator.overlap else None
    try:
        cur = ask_batch()
        while cur:
            if pool is not None:
                fut = pool.submit(evaluator.evaluate, cur)
                nxt = ask_batch()  # proposed while the population trains
                outcomes = fut.result()
            else:
                outcomes = evaluator.evaluate(cur)
                nxt = []
            tell(cur, outcomes)
            cur = nxt or ask_batch()
        if not state["stopping"] and state["reason"] == "budget":
            state["reason"] = "strategy_exhausted"
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return done, extra, state["reason"]


def _add_extra(extra: dict[str, list[Any]], values: Mapping[str, Any], n: int) -> None:
    """Append one evaluation's backend columns (``n``: evaluations so far, this one included)."""
    for k, v in values.items():
        col = extra.setdefault(k, [])
        if len(col) < n - 1:  # a column first seen now: earlier evaluations had none
            col.extend([None] * (n - 1 - len(col)))
        col.append(v)


def _report(
    progress: ProgressFn,
    evaluator: Evaluator,
    config: RunConfig,
    done: _Finished,
    clock: float,
    used: float,
    t_wall: float,
) -> None:
    sign = evaluator.truth.objective.sign
    max_epoch = evaluator.context.epochs[-1]
    finals = [v for v, e in zip(done.valid_acc, done.epoch, strict=True) if e == max_epoch and v == v]
    progress(
        {
            "evaluations": len(done.trial),
            "budget": config.budget,
            "used": used if config.budget.kind == "evals" else clock,
            "best": sign * max(finals) if finals else None,
            "wall_s": time.perf_counter() - t_wall,
            **evaluator.progress(),
        }
    )


def _trajectory(
    evaluator: Evaluator,
    strategy: AskTell,
    config: RunConfig,
    trials: _Trials,
    done: _Finished,
    extra: dict[str, list[Any]],
    reason: str,
    meta: Mapping[str, Any] | None,
) -> Trajectory:
    truth = evaluator.truth
    objective = truth.objective
    trial = np.asarray(done.trial, dtype=np.int64)
    rep = np.asarray(trials.rep, dtype=np.int64)[trial]
    seed = evaluator.seed_ids(np.asarray(trials.seed, dtype=np.int64)[trial])
    if objective.direction == "min":  # strategies were told scores: back to the metric's own units
        done = done._replace(valid_acc=[-v for v in done.valid_acc])
    final_mean, final_test = truth.final_values(rep)
    columns = trajectory_columns(
        done,
        arch=np.asarray(trials.arch, dtype=np.int64)[trial],
        seed=seed,
        final_mean=final_mean,
        final_test=final_test,
        optimum=truth.optimum,
        max_epoch=trials.max_epoch,
        direction=objective.direction,
    )
    n = len(trial)
    for k, v in extra.items():
        columns[k] = np.asarray(v + [None] * (n - len(v)))
    info = run_info(strategy, config, columns, reason)
    info.update(optimum=truth.optimum, targets=dict(truth.targets))
    if not objective.is_default:
        info["objective"] = objective.to_dict()
    if truth.constraints:
        info["constraints"] = list(truth.constraints)
    info.update(evaluator.run_meta())
    info.update(meta or {})
    return Trajectory(columns, info)


__all__ = ["ProgressFn", "run_loop"]
