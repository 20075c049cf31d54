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
import datetime
import inspect
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

from strategies.base import SearchContext, Strategy
from strategies.bridge import ForeignStrategy
from strategies.errors import StrategyConfigError
from strategies.space_mapping import Param, SpaceMapping

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
    return SyneTuneStrategy.for_name(name)


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


class SyneTuneStrategy(ForeignStrategy):
    """One syne-tune scheduler behind nasbench's ask/tell (see the module docstring).

    Subclasses made by :func:`strategy_class` set :attr:`foreign_class` (the scheduler) and
    ``Config``.
    """

    library, package, foreign_kind, any_class = "synetune", "syne-tune", "scheduler", "a class"
    foreign_module = "syne_tune.optimizer.baselines"
    aliases = ALIASES
    own_arguments = _OWN
    config_doc = (
        "The plain constructor arguments of syne_tune.optimizer.baselines.{name} (its own "
        "defaults), and max_retries: unanswerable proposals in a row before a random "
        "answerable architecture is evaluated."
    )
    count_names = ("unanswerable", "random")

    @classmethod
    def foreign_classes(cls) -> list[str]:
        return scheduler_classes()

    @classmethod
    def _check(cls, context: SearchContext, config: Any) -> None:
        if context.objectives is not None:
            raise StrategyConfigError(
                f"{cls.who()} optimises one objective here; with --objectives use optuna:nsga2, optuna:tpe or mo-re"
            )

    def _build(self, kwargs: dict[str, Any]) -> None:
        from syne_tune.optimizer.schedulers.ask_tell_scheduler import AskTellScheduler

        self.space = config_space(self.mapping)
        # syne-tune logs each failed (here: unanswerable) trial as a warning
        logging.getLogger("syne_tune").setLevel(logging.ERROR)
        params = inspect.signature(self.foreign_class.__init__).parameters
        metric: dict[str, Any] = {"metrics": [METRIC]} if "metrics" in params else {"metric": METRIC}
        seed = int(self.rng.integers(2**31 - 1))
        with self._one_line(kwargs):
            base = self.foreign_class(self.space, **metric, do_minimize=False, random_seed=seed, **kwargs)
        self.scheduler = AskTellScheduler(base)
        self._np_state = np.random.RandomState(int(self.rng.integers(2**31 - 1))).get_state()

    @contextlib.contextmanager
    def _calls(self) -> Iterator[None]:
        """numpy's global generator in this scheduler's own state while syne-tune runs."""
        caller = np.random.get_state()
        np.random.set_state(self._np_state)
        try:
            yield
        finally:
            self._np_state = np.random.get_state()
            np.random.set_state(caller)

    def _ask(self) -> tuple[Any, dict[str, Any]] | None:
        trial = self.scheduler.ask()
        if trial.config is None:
            return None
        return trial, trial.config

    def _reject(self, trial: Any) -> None:
        self.scheduler.base_scheduler.on_trial_error(trial)

    def _fallback(self, arch: int) -> Any:
        """A syne-tune trial of architecture ``arch`` (one the searcher did not propose)."""
        from syne_tune.backend.trial_status import Trial

        config = dict(self.mapping.encode(arch))
        for p in self.mapping.params:  # inactive dimensions: any value (dropped when read back)
            config.setdefault(p.name, p.choices[0] if p.choices else p.low)
        trial = Trial(self.scheduler.trial_counter, config, datetime.datetime.now())
        self.scheduler.trial_counter += 1
        return trial

    def _tell(self, trial: Any, values: list[float]) -> None:
        self.scheduler.tell(trial, {METRIC: values[0]})

    #: a diverged run is a failed trial, as an unanswerable proposal is
    _fail = _reject


__all__ = ["ALIASES", "SyneTuneStrategy", "config_space", "scheduler_classes", "strategy_class"]
