"""Optuna's samplers as nasbench strategies: ``optuna:tpe``, ``optuna:TPESampler``, ...

``--strategy optuna:NAME`` runs the Optuna sampler ``NAME`` -- a short name (``tpe``,
``gp``, ``cmaes``, ``random``, ``qmc``, ``nsga2``, ``nsga3``, ``bruteforce``) or the name
of any sampler class in :mod:`optuna.samplers` -- through Optuna's own ask/tell interface
(:meth:`optuna.study.Study.ask`, :meth:`~optuna.study.Study.tell`) inside the one search
loop, so it runs on the simulated clock with asynchronous workers and on every backend
(table, surrogate, train). Nothing of the sampler is re-implemented here.

* **Parameters.** ``-p key=value`` are the sampler's constructor arguments: the ones of a
  plain type (int, float, bool, str, and unions of them with None), read from its
  signature and checked by :func:`nasbench.core.config.build_config` like every
  strategy's. ``seed`` is not one of them: each run seeds the sampler from the strategy's
  generator, so the same run seed gives the same trajectory.
* **Space.** :class:`strategies.space_mapping.SpaceMapping` names the space's parameters;
  each becomes an Optuna distribution (categorical -> ``suggest_categorical``, ordinal ->
  an int position ``0..n-1`` so samplers see the order, integer -> ``suggest_int`` with
  its ``log`` or grid step, float -> ``suggest_float`` with its ``log``, snapped to the
  dimension's grid). A conditional dimension is suggested only when its conditions hold.
* **Objectives.** One objective is one ``maximize`` direction (nasbench tells scores,
  larger is better). With ``--objectives`` the study is multi-objective: one more
  ``maximize`` direction per secondary objective of the context (they are signed so that
  larger is better), so Optuna's multi-objective samplers (NSGA-II, TPE, ...) see them.
* **Constraints and architectures the evaluator cannot answer** (``--max`` / ``--min``,
  a table that stores only part of the space, a forbidden combination): such a proposal
  is never evaluated. The trial is told at once as infeasible through
  :meth:`optuna.trial.Trial.set_constraint` (Optuna 5's replacement of the deprecated
  ``constraints_func``; TPE, NSGA-II, NSGA-III, GP and CMA-ES read it) with the worst
  values told so far (before any: as failed), every evaluated trial gets the constraint
  ``0`` (feasible), and the sampler is asked again. After ``max_retries`` infeasible
  proposals in a row, a random answerable architecture from the strategy's generator is
  enqueued (:meth:`optuna.study.Study.enqueue_trial`), so the run always goes on.
* **Repeats.** A proposal of an architecture already evaluated is evaluated again, as a
  new trial (another seed drawn from a table, another training run), as regularized
  evolution's repeats are: the loop charges it in full and the sampler is told its value.
* **Results.** Each full evaluation is told to its trial (a run stopped early by
  ``+es`` with its predicted final score); a diverged run (NaN) is told as failed.
  Sampling and telling are charged to the clock as the strategy's overhead.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import inspect
import logging
import math
import warnings
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from strategies.base import Proposal, Result, SearchContext, Strategy, check
from strategies.errors import StrategyConfigError, UnknownStrategyError
from strategies.space_mapping import Param, SpaceMapping, config_from_signature

#: short names of Optuna's samplers
ALIASES: dict[str, str] = {
    "tpe": "TPESampler",
    "gp": "GPSampler",
    "cmaes": "CmaEsSampler",
    "random": "RandomSampler",
    "qmc": "QMCSampler",
    "nsga2": "NSGAIISampler",
    "nsga3": "NSGAIIISampler",
    "bruteforce": "BruteForceSampler",
}

#: what a sampler imports only when it first samples (checked before a run starts)
NEEDS: dict[str, tuple[str, ...]] = {"GPSampler": ("torch",), "CmaEsSampler": ("cmaes",)}

#: constructor arguments the bridge sets itself
_OWN = frozenset({"seed", "constraints_func"})


def sampler_classes() -> list[str]:
    """The sampler classes of :mod:`optuna.samplers`."""
    import optuna

    return sorted(
        n
        for n in dir(optuna.samplers)
        if n.endswith("Sampler")
        and not n.startswith("Base")
        and isinstance(getattr(optuna.samplers, n), type)
        and issubclass(getattr(optuna.samplers, n), optuna.samplers.BaseSampler)
    )


def _sampler(name: str) -> type:
    import optuna

    cls_name = ALIASES.get(name, name)
    if cls_name not in sampler_classes():
        raise UnknownStrategyError(
            f"unknown Optuna sampler {name!r}; use optuna:NAME with one of "
            f"{', '.join(ALIASES)} or a sampler class: {', '.join(sampler_classes())}"
        )
    return getattr(optuna.samplers, cls_name)


def _config_class(sampler: type) -> type:
    """A frozen dataclass of the sampler's plain constructor arguments, and ``max_retries``."""
    return config_from_signature(
        sampler.__init__,
        exclude=_OWN,
        extra=(("max_retries", int, 100),),
        doc=f"The plain constructor arguments of optuna.samplers.{sampler.__name__} (its own "
        "defaults), and max_retries: infeasible proposals in a row before a random answerable "
        "architecture is enqueued.",
    )


def strategy_class(name: str) -> type[Strategy]:
    """The strategy class of ``optuna:NAME`` (one class per sampler).

    Raises:
        UnknownStrategyError: no such sampler in :mod:`optuna.samplers`.
        StrategyConfigError: Optuna is not installed.
    """
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise StrategyConfigError(f"optuna:{name} needs Optuna: pip install 'nasbench[optuna]'") from None
    return _strategy_for(_sampler(name))


@functools.cache
def _strategy_for(sampler: type) -> type[Strategy]:
    """One strategy class per sampler class (``optuna:tpe`` and ``optuna:TPESampler`` share it)."""
    return type(
        f"Optuna{sampler.__name__}",
        (OptunaStrategy,),
        {"sampler_class": sampler, "Config": _config_class(sampler), "__module__": __name__},
    )


class OptunaStrategy(Strategy):
    """One Optuna sampler behind nasbench's ask/tell (see the module docstring).

    Subclasses made by :func:`strategy_class` set :attr:`sampler_class` and ``Config``.
    """

    sampler_class: ClassVar[type]

    @dataclass(frozen=True)
    class Config:
        """Set per sampler by :func:`strategy_class`."""

        max_retries: int = 100

    @classmethod
    def check_context(cls, context: SearchContext, config: Any) -> None:
        who = f"optuna:{cls.sampler_class.__name__}"
        SpaceMapping(context.space, who)
        missing = [
            m for m in NEEDS.get(cls.sampler_class.__name__, ()) if importlib.util.find_spec(m) is None
        ]
        if missing:
            raise StrategyConfigError(f"{who} needs {', '.join(missing)}: pip install {' '.join(missing)}")
        check(config.max_retries >= 1, f"max_retries must be >= 1, got {config.max_retries}")

    def __init__(
        self, context: SearchContext, rng: np.random.Generator, config: Any = None, *, surrogate: Any = None
    ) -> None:
        super().__init__(context, rng, config, surrogate=surrogate)
        import optuna

        who = f"optuna:{self.sampler_class.__name__}"
        self.mapping = SpaceMapping(context.space, who)
        # Optuna logs every finished trial at INFO: keep a search's output to nasbench's own
        logging.getLogger("optuna").setLevel(logging.WARNING)
        kwargs = {k: v for k, v in dataclasses.asdict(self.config).items() if k != "max_retries"}
        if "seed" in inspect.signature(self.sampler_class.__init__).parameters:
            kwargs["seed"] = int(rng.integers(2**31 - 1))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                sampler = self.sampler_class(**kwargs)
        except (TypeError, ValueError) as exc:
            raise StrategyConfigError(f"{who} cannot be built with {kwargs}: {exc}") from None
        k = 0 if context.objectives is None else context.objectives.shape[1]
        self.study = optuna.create_study(sampler=sampler, directions=["maximize"] * (1 + k))
        self._epoch = context.max_epoch
        # the architecture each index is answered as (its stored representative), -1 where none
        idx = np.arange(context.space.size)
        target = idx if context.canonical is None else context.canonical
        ok = target >= 0
        ok[ok] = context.valid[target[ok]]
        self._target = np.where(ok, target, -1)
        self._constrained = not bool(ok.all()) or not self.mapping.complete
        self._pending: dict[int, deque[Any]] = {}
        self._worst: list[float] | None = None
        self._retries = 0
        self.counts = {"infeasible": 0, "enqueued": 0, "failed": 0}

    # ---- ask ------------------------------------------------------------------------------
    def _suggest(self, trial: Any) -> dict[str, Any]:
        """Suggest every active parameter of ``trial``; returns the space's values."""
        values: dict[str, Any] = {}
        for p in self.mapping.params:
            if p.conditions and not self.mapping.active(p, values):
                continue
            values[p.name] = _suggest(trial, p)
        return values

    def ask(self) -> Proposal:
        while True:
            with self.timed():
                trial = self.study.ask()
                try:
                    values = self._suggest(trial)
                except ImportError as exc:  # a sampler's optional dependency, met when it first samples
                    raise StrategyConfigError(
                        f"optuna:{self.sampler_class.__name__} needs {exc.name}: pip install {exc.name}"
                    ) from None
                index = self.mapping.decode(values)
                arch = -1 if index is None else int(self._target[index])
                if arch >= 0:
                    self._retries = 0
                    self._pending.setdefault(arch, deque()).append(trial)
                    return Proposal(arch, self._epoch)
                self._tell_infeasible(trial)
                self._retries += 1
                if self._retries >= self.config.max_retries:
                    self._retries = 0
                    fallback = self.context.sample(self.rng)
                    self.study.enqueue_trial(self.mapping.encode(fallback))
                    self.counts["enqueued"] += 1

    def _tell_infeasible(self, trial: Any) -> None:
        from optuna.trial import TrialState

        self.counts["infeasible"] += 1
        if self._worst is None:
            self.study.tell(trial, state=TrialState.FAIL)
            return
        trial.set_constraint("answerable", 1.0)
        self.study.tell(trial, self._worst)

    # ---- tell -----------------------------------------------------------------------------
    def tell(self, result: Result) -> None:
        if result.epoch != self._epoch and result.estimate is None:
            return  # a checkpoint of a run that goes on (+es): its trial is told at its end
        queue = self._pending.get(result.arch)
        if not queue:
            return
        trial = queue.popleft()
        from optuna.trial import TrialState

        with self.timed():
            score = result.valid_acc if result.estimate is None else result.estimate
            values = [float(score)]
            if self.context.objectives is not None:
                values += [float(v) for v in self.context.objectives[result.arch]]
            if not all(math.isfinite(v) for v in values):
                self.counts["failed"] += 1
                self.study.tell(trial, state=TrialState.FAIL)
                return
            if self._constrained:
                trial.set_constraint("answerable", 0.0)
            self._worst = values if self._worst is None else [min(a, b) for a, b in zip(self._worst, values)]
            self.study.tell(trial, values if len(values) > 1 else values[0])

    def stats(self) -> dict[str, Any]:
        """Trials told as infeasible, random architectures enqueued, runs told as failed."""
        return {"optuna": dict(self.counts)}


def distribution(p: Param) -> Any:
    """The Optuna distribution of one mapped parameter (see the module docstring)."""
    from optuna import distributions as d

    if p.kind == "categorical":
        return d.CategoricalDistribution(list(p.choices))
    if p.kind == "ordinal":
        return d.IntDistribution(0, len(p.choices) - 1)
    if p.kind == "int":
        step = 1 if p.grid is not None and p.step is None else (p.step or 1)
        return d.IntDistribution(int(p.low), int(p.high), log=p.log, step=step)
    return d.FloatDistribution(float(p.low), float(p.high), log=p.log)


def search_space(mapping: SpaceMapping) -> dict[str, Any]:
    """Every mapped parameter's Optuna distribution (name -> distribution), conditional ones
    included (a fixed search space, as OptunaHub's problems declare it)."""
    return {p.name: distribution(p) for p in mapping.params}


def space_values(mapping: SpaceMapping, params: dict[str, Any]) -> dict[str, Any]:
    """Optuna's parameter values as the space holds them (an ordinal's position -> its value)."""
    out = dict(params)
    for p in mapping.params:
        if p.kind == "ordinal" and p.name in out:
            out[p.name] = p.choices[int(out[p.name])]
    return out


def _suggest(trial: Any, p: Param) -> Any:
    """One parameter from an Optuna trial, through the public ``suggest_*`` methods, as the
    space holds it."""
    dist = distribution(p)
    if p.kind == "categorical":
        return trial.suggest_categorical(p.name, dist.choices)
    if p.kind == "ordinal":
        return p.choices[trial.suggest_int(p.name, dist.low, dist.high)]
    if p.kind == "int":
        return trial.suggest_int(p.name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(p.name, dist.low, dist.high, log=dist.log)


__all__ = [
    "ALIASES",
    "OptunaStrategy",
    "distribution",
    "sampler_classes",
    "search_space",
    "space_values",
    "strategy_class",
]
