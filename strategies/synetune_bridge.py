"""syne-tune's searchers as nasbench strategies: ``synetune:rea``, ``synetune:kde``, ...

``--strategy synetune:NAME`` runs one of syne-tune's single-fidelity schedulers from
:mod:`syne_tune.optimizer.baselines` through syne-tune's own ask/tell interface
(:class:`syne_tune.optimizer.schedulers.ask_tell_scheduler.AskTellScheduler`) inside the
one search loop, so it runs on the simulated clock with asynchronous workers and on every
backend (table, surrogate, train). Names: ``rs`` (``RandomSearch``), ``rea``
(``REA``: regularized evolution), ``kde`` (``TPE``: kernel density estimators, as in
BOHB), ``bore`` (``BORE``), ``cqr`` (``CQR``), ``botorch`` (``BOTorch``, needs torch),
``ehvi`` (``EHVI``, several objectives), or any of these class names.

* **Parameters.** ``-p key=value`` are the scheduler's constructor arguments of a plain
  type (``population_size``, ``sample_size`` of ``REA``; ``num_min_data_points``,
  ``top_n_percent``, ... of ``TPE``). ``random_seed`` is drawn from the strategy's
  generator, so the same run seed gives the same trajectory.
* **Space.** :class:`strategies.space_mapping.SpaceMapping` names the parameters; each
  becomes a :mod:`syne_tune.config_space` domain: categorical -> ``choice``, ordinal ->
  ``ordinal``, integer -> ``randint`` / ``lograndint`` (a ``steps`` grid: ``finrange`` /
  ``logfinrange`` cast to int), float -> ``finrange`` / ``logfinrange`` (the dimension's
  grid). syne-tune's spaces have no conditions: every dimension is sampled, and the values
  of inactive dimensions are dropped when the configuration is read back.
* **Objectives.** One objective: the metric ``score``, maximised. ``--objectives`` is
  refused with one line: in syne-tune 0.16 ``RandomSearch`` hands several metrics to a
  single-objective searcher (an assertion fails) and ``EHVI`` needs torch and BoTorch; use
  ``optuna:nsga2``, ``optuna:tpe`` or nasbench's ``mo-re`` for several objectives.
* **Architectures the evaluator cannot answer** (constraints, a partial table, a forbidden
  combination) are never evaluated: the trial is reported to the scheduler as failed
  (``on_trial_error``) and it is asked again; after ``max_retries`` in a row a random
  answerable architecture from the strategy's generator is evaluated and told instead.
* **Repeats** are evaluated again as new trials (as in :mod:`strategies.optuna_bridge`).
* **Seeding.** syne-tune 0.16 draws random configurations (``RandomSearch``, the random
  start of ``REA`` and ``TPE``) from numpy's global generator, not from ``random_seed``.
  The bridge gives the scheduler a global-generator state of its own, seeded from the
  strategy's generator, and swaps it in only around syne-tune's calls (restoring the
  caller's state after each), so runs are reproducible and nothing else's draws move.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import inspect
import logging
import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from strategies.base import Proposal, Result, SearchContext, Strategy, check
from strategies.errors import StrategyConfigError, UnknownStrategyError
from strategies.space_mapping import Param, SpaceMapping, config_from_signature

#: short names of syne-tune's single-fidelity schedulers
ALIASES: dict[str, str] = {
    "rs": "RandomSearch",
    "rea": "REA",
    "kde": "TPE",
    "bore": "BORE",
    "cqr": "CQR",
    "botorch": "BOTorch",
    "ehvi": "EHVI",
}

#: constructor arguments the bridge sets itself
_OWN = frozenset({"config_space", "metric", "metrics", "do_minimize", "random_seed", "points_to_evaluate"})

#: the metric a single objective is reported as
METRIC = "score"


def scheduler_classes() -> list[str]:
    """The single-fidelity schedulers of :mod:`syne_tune.optimizer.baselines` that need no
    searcher argument (those the bridge runs)."""
    from syne_tune.optimizer import baselines
    from syne_tune.optimizer.schedulers.single_fidelity_scheduler import SingleFidelityScheduler

    out = []
    for n in dir(baselines):
        c = getattr(baselines, n)
        if (
            isinstance(c, type)
            and issubclass(c, SingleFidelityScheduler)
            and "searcher" not in inspect.signature(c.__init__).parameters
        ):
            out.append(n)
    return sorted(out)


def strategy_class(name: str) -> type[Strategy]:
    """The strategy class of ``synetune:NAME`` (one class per scheduler).

    Raises:
        UnknownStrategyError: no such single-fidelity scheduler.
        StrategyConfigError: syne-tune is not installed.
    """
    try:
        from syne_tune.optimizer import baselines
    except ImportError:
        raise StrategyConfigError(
            f"synetune:{name} needs syne-tune: pip install 'nasbench[synetune]'"
        ) from None
    cls_name = ALIASES.get(name, name)
    if cls_name not in scheduler_classes():
        raise UnknownStrategyError(
            f"unknown syne-tune scheduler {name!r}; use synetune:NAME with one of "
            f"{', '.join(ALIASES)} or a class: {', '.join(scheduler_classes())}"
        )
    return _strategy_for(getattr(baselines, cls_name))


@functools.cache
def _strategy_for(scheduler: type) -> type[Strategy]:
    config = config_from_signature(
        scheduler.__init__,
        exclude=_OWN,
        extra=(("max_retries", int, 100),),
        doc=f"The plain constructor arguments of syne_tune.optimizer.baselines.{scheduler.__name__} "
        "(its own defaults), and max_retries: unanswerable proposals in a row before a random "
        "answerable architecture is evaluated.",
    )
    return type(
        f"SyneTune{scheduler.__name__}",
        (SyneTuneStrategy,),
        {"scheduler_class": scheduler, "Config": config, "__module__": __name__},
    )


def config_space(mapping: SpaceMapping) -> dict[str, Any]:
    """The syne-tune configuration space of a mapped space (parameter name -> domain)."""
    from syne_tune import config_space as cs

    def domain(p: Param) -> Any:
        if p.kind == "categorical":
            return cs.choice(list(p.choices))
        if p.kind == "ordinal":
            return cs.ordinal(list(p.choices))
        if p.grid is None:  # every integer in low..high
            return (cs.lograndint if p.log else cs.randint)(int(p.low), int(p.high))
        grid = cs.logfinrange if p.log else cs.finrange
        return grid(p.low, p.high, len(p.grid), cast_int=p.kind == "int")

    return {p.name: domain(p) for p in mapping.params}


class SyneTuneStrategy(Strategy):
    """One syne-tune scheduler behind nasbench's ask/tell (see the module docstring)."""

    scheduler_class: ClassVar[type]

    @dataclass(frozen=True)
    class Config:
        """Set per scheduler by :func:`strategy_class`."""

        max_retries: int = 100

    @classmethod
    def _metrics_arg(cls) -> str:
        params = inspect.signature(cls.scheduler_class.__init__).parameters
        return "metrics" if "metrics" in params else "metric"

    @classmethod
    def check_context(cls, context: SearchContext, config: Any) -> None:
        who = f"synetune:{cls.scheduler_class.__name__}"
        SpaceMapping(context.space, who)
        if context.objectives is not None:
            raise StrategyConfigError(
                f"{who} optimises one objective here; with --objectives use optuna:nsga2, optuna:tpe or mo-re"
            )
        check(config.max_retries >= 1, f"max_retries must be >= 1, got {config.max_retries}")

    def __init__(
        self, context: SearchContext, rng: np.random.Generator, config: Any = None, *, surrogate: Any = None
    ) -> None:
        super().__init__(context, rng, config, surrogate=surrogate)
        from syne_tune.optimizer.schedulers.ask_tell_scheduler import AskTellScheduler

        who = f"synetune:{self.scheduler_class.__name__}"
        self.mapping = SpaceMapping(context.space, who)
        self.space = config_space(self.mapping)
        # syne-tune logs each failed (here: unanswerable) trial as a warning
        logging.getLogger("syne_tune").setLevel(logging.ERROR)
        names = [METRIC]
        kwargs = {k: v for k, v in dataclasses.asdict(self.config).items() if k != "max_retries"}
        metric: dict[str, Any] = (
            {"metrics": names} if self._metrics_arg() == "metrics" else {"metric": METRIC}
        )
        try:
            base = self.scheduler_class(
                self.space, **metric, do_minimize=False, random_seed=int(rng.integers(2**31 - 1)), **kwargs
            )
        except ImportError as exc:
            raise StrategyConfigError(f"{who} needs {exc.name}: pip install {exc.name}") from None
        except (TypeError, ValueError) as exc:
            raise StrategyConfigError(f"{who} cannot be built with {kwargs}: {exc}") from None
        self.scheduler = AskTellScheduler(base)
        self._np_state = np.random.RandomState(int(rng.integers(2**31 - 1))).get_state()
        self._names = names
        self._epoch = context.max_epoch
        idx = np.arange(context.space.size)
        target = idx if context.canonical is None else context.canonical
        ok = target >= 0
        ok[ok] = context.valid[target[ok]]
        self._target = np.where(ok, target, -1)
        self._pending: dict[int, deque[Any]] = {}
        self._retries = 0
        self.counts = {"unanswerable": 0, "random": 0, "failed": 0}

    @contextlib.contextmanager
    def _own_global_rng(self) -> Iterator[None]:
        """numpy's global generator in this scheduler's own state while syne-tune runs."""
        caller = np.random.get_state()
        np.random.set_state(self._np_state)
        try:
            yield
        finally:
            self._np_state = np.random.get_state()
            np.random.set_state(caller)

    def ask(self) -> Proposal | None:
        while True:
            with self.timed(), self._own_global_rng():
                trial = self.scheduler.ask()
                if trial.config is None:  # the searcher has nothing left to propose
                    return None
                values = {k: v for k, v in trial.config.items() if k in self.space}
                index = self.mapping.decode(values)
                arch = -1 if index is None else int(self._target[index])
                if arch < 0:
                    self.counts["unanswerable"] += 1
                    self.scheduler.base_scheduler.on_trial_error(trial)
                    self._retries += 1
                    if self._retries < self.config.max_retries:
                        continue
                    arch = self.context.sample(self.rng)
                    trial = self._trial_of(arch)
                    self.counts["random"] += 1
                self._retries = 0
                self._pending.setdefault(arch, deque()).append(trial)
                return Proposal(arch, self._epoch)

    def _trial_of(self, arch: int) -> Any:
        """A syne-tune trial of architecture ``arch`` (one the searcher did not propose)."""
        from syne_tune.backend.trial_status import Trial

        config = dict(self.mapping.encode(arch))
        for p in self.mapping.params:  # inactive dimensions: any value (dropped when read back)
            config.setdefault(p.name, p.choices[0] if p.choices else p.low)
        trial = Trial(self.scheduler.trial_counter, config, datetime.datetime.now())
        self.scheduler.trial_counter += 1
        return trial

    def tell(self, result: Result) -> None:
        if result.epoch != self._epoch and result.estimate is None:
            return  # a checkpoint of a run that goes on (+es): its trial is told at its end
        queue = self._pending.get(result.arch)
        if not queue:
            return
        trial = queue.popleft()
        with self.timed(), self._own_global_rng():
            score = result.valid_acc if result.estimate is None else result.estimate
            values = [float(score)]
            if self.context.objectives is not None:
                values += [float(v) for v in self.context.objectives[result.arch]]
            if not all(math.isfinite(v) for v in values):
                self.counts["failed"] += 1
                self.scheduler.base_scheduler.on_trial_error(trial)
                return
            self.scheduler.tell(trial, dict(zip(self._names, values, strict=True)))

    def stats(self) -> dict[str, Any]:
        """Unanswerable proposals, random architectures evaluated instead, failed runs."""
        return {"synetune": dict(self.counts)}


__all__ = ["ALIASES", "SyneTuneStrategy", "config_space", "scheduler_classes", "strategy_class"]
