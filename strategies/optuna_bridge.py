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

import importlib.util
import inspect
import logging
import warnings
from typing import Any

from strategies.base import SearchContext, Strategy
from strategies.bridge import ForeignStrategy
from strategies.errors import StrategyConfigError
from strategies.space_mapping import Param, SpaceMapping

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


def strategy_class(name: str) -> type[Strategy]:
    """The strategy class of ``optuna:NAME`` (one class per sampler: ``optuna:tpe`` and
    ``optuna:TPESampler`` share it).

    Raises:
        UnknownStrategyError: no such sampler in :mod:`optuna.samplers`.
        StrategyConfigError: Optuna is not installed.
    """
    return OptunaStrategy.for_name(name)


class OptunaStrategy(ForeignStrategy):
    """One Optuna sampler behind nasbench's ask/tell (see the module docstring).

    Subclasses made by :func:`strategy_class` set :attr:`foreign_class` (the sampler) and
    ``Config``.
    """

    library, package, foreign_kind, any_class = "optuna", "Optuna", "sampler", "a sampler class"
    foreign_module = "optuna.samplers"
    aliases = ALIASES
    own_arguments = _OWN
    config_doc = (
        "The plain constructor arguments of optuna.samplers.{name} (its own defaults), and "
        "max_retries: infeasible proposals in a row before a random answerable architecture "
        "is enqueued."
    )
    count_names = ("infeasible", "enqueued")

    @classmethod
    def foreign_classes(cls) -> list[str]:
        return sampler_classes()

    @classmethod
    def _check(cls, context: SearchContext, config: Any) -> None:
        needs = NEEDS.get(cls.foreign_class.__name__, ())
        missing = [m for m in needs if importlib.util.find_spec(m) is None]
        if missing:
            raise StrategyConfigError(
                f"{cls.who()} needs {', '.join(missing)}: pip install {' '.join(missing)}"
            )

    def _build(self, kwargs: dict[str, Any]) -> None:
        import optuna

        # Optuna logs every finished trial at INFO: keep a search's output to nasbench's own
        logging.getLogger("optuna").setLevel(logging.WARNING)
        if "seed" in inspect.signature(self.foreign_class.__init__).parameters:
            kwargs["seed"] = int(self.rng.integers(2**31 - 1))
        with self._one_line(kwargs), warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = self.foreign_class(**kwargs)
        k = 0 if self.context.objectives is None else self.context.objectives.shape[1]
        self.study = optuna.create_study(sampler=sampler, directions=["maximize"] * (1 + k))
        self._constrained = not bool((self._target >= 0).all()) or not self.mapping.complete
        self._worst: list[float] | None = None

    # ---- ask ------------------------------------------------------------------------------
    def _ask(self) -> tuple[Any, dict[str, Any]]:
        trial = self.study.ask()
        values: dict[str, Any] = {}
        with self._one_line():  # a sampler's optional dependency, met when it first samples
            for p in self.mapping.params:
                if p.conditions and not self.mapping.active(p, values):
                    continue
                values[p.name] = _suggest(trial, p)
        return trial, values

    def _reject(self, trial: Any) -> None:
        if self._worst is None:
            self._fail(trial)
            return
        trial.set_constraint("answerable", 1.0)
        self.study.tell(trial, self._worst)

    def _fallback(self, arch: int) -> None:
        self.study.enqueue_trial(self.mapping.encode(arch))

    # ---- tell -----------------------------------------------------------------------------
    def _tell(self, trial: Any, values: list[float]) -> None:
        if self._constrained:
            trial.set_constraint("answerable", 0.0)
        self._worst = values if self._worst is None else [min(a, b) for a, b in zip(self._worst, values)]
        self.study.tell(trial, values if len(values) > 1 else values[0])

    def _fail(self, trial: Any) -> None:
        from optuna.trial import TrialState

        self.study.tell(trial, state=TrialState.FAIL)


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
