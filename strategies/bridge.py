"""What the bridges to other optimisers share: :class:`ForeignStrategy`.

Both bridges (:mod:`strategies.optuna_bridge`, :mod:`strategies.synetune_bridge`) run a
foreign optimiser's ask/tell inside nasbench's one search loop in the same way:

* the space as named parameters (:class:`strategies.space_mapping.SpaceMapping`), and each
  architecture answered as its stored representative (``-1`` where the evaluator cannot
  answer it: constraints, a partial table, a forbidden combination);
* :meth:`ForeignStrategy.ask` asks the optimiser until it proposes an answerable
  architecture; each unanswerable proposal is rejected back to it, and after
  ``max_retries`` in a row a random answerable architecture from the strategy's generator
  is handed over instead (:meth:`ForeignStrategy._fallback`);
* :meth:`ForeignStrategy.tell` tells each full evaluation (a run stopped early by ``+es``
  with its predicted final score) to the trial that proposed it, a diverged run (NaN) as
  failed; repeats are separate trials, told first in, first out;
* ``LIBRARY:NAME`` names a foreign class by an alias or its class name, and becomes one
  strategy class whose ``Config`` holds the foreign constructor's plain arguments, plus
  ``max_retries`` (:meth:`ForeignStrategy.for_name`); the library's errors are one line.

A bridge subclass declares its names (class attributes) and supplies only the library's
own calls: list its classes, build the optimiser
(:meth:`~ForeignStrategy._build`), ask it for parameter values, reject a proposal, fall
back, tell values, tell a failure.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import functools
import importlib
import math
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from strategies.base import Proposal, Result, SearchContext, Strategy, check
from strategies.errors import StrategyConfigError, UnknownStrategyError
from strategies.space_mapping import SpaceMapping, config_from_signature


def answerable_targets(context: SearchContext) -> np.ndarray:
    """The architecture each space index is answered as (its stored representative), ``-1``
    where the evaluator cannot answer it; shape ``(space.size,)``, int."""
    idx = np.arange(context.space.size)
    target = idx if context.canonical is None else context.canonical
    ok = target >= 0
    ok[ok] = context.valid[target[ok]]
    return np.where(ok, target, -1)


class ForeignStrategy(Strategy):
    """A foreign optimiser's ask/tell behind nasbench's (see the module docstring).

    Subclasses made by :meth:`for_name` set :attr:`foreign_class` and ``Config``.

    Attributes:
        mapping: the space as named parameters.
        counts: unanswerable proposals, random architectures handed over instead, runs
            told as failed (named by :attr:`count_names`), reported by :meth:`stats`.
    """

    #: the registry prefix (``optuna``), also the key of :meth:`stats` and the pip extra
    library: ClassVar[str]
    #: how messages name the package (``Optuna``), what a foreign class is (``sampler``),
    #: and what else ``NAME`` may be (``a sampler class``)
    package: ClassVar[str]
    foreign_kind: ClassVar[str]
    any_class: ClassVar[str]
    #: the module of the foreign classes (``optuna.samplers``), imported only when asked for
    foreign_module: ClassVar[str]
    #: short names of foreign classes
    aliases: ClassVar[Mapping[str, str]]
    #: constructor arguments the bridge sets itself (left out of ``Config``)
    own_arguments: ClassVar[frozenset[str]]
    #: the docstring of ``Config`` (``{name}``: the foreign class's name)
    config_doc: ClassVar[str]
    #: the names :attr:`counts` gives an unanswerable proposal and a random fallback
    count_names: ClassVar[tuple[str, str]]
    #: the foreign optimiser's class (a sampler, a scheduler)
    foreign_class: ClassVar[type]

    @dataclass(frozen=True)
    class Config:
        """Set per foreign class by :meth:`for_name`."""

        max_retries: int = 100

    @classmethod
    def for_name(cls, name: str) -> type[Strategy]:
        """The strategy class of ``LIBRARY:NAME``: ``NAME`` one of :attr:`aliases` or a class
        of :meth:`foreign_classes` (one strategy class per foreign class).

        Raises:
            StrategyConfigError: the library is not installed.
            UnknownStrategyError: no such class.
        """
        try:
            module = importlib.import_module(cls.foreign_module)
        except ImportError:
            raise StrategyConfigError(
                f"{cls.library}:{name} needs {cls.package}: pip install 'nasbench[{cls.library}]'"
            ) from None
        cls_name = cls.aliases.get(name, name)
        classes = cls.foreign_classes()
        if cls_name not in classes:
            raise UnknownStrategyError(
                f"unknown {cls.package} {cls.foreign_kind} {name!r}; use {cls.library}:NAME with one of "
                f"{', '.join(cls.aliases)} or {cls.any_class}: {', '.join(classes)}"
            )
        return _subclass(cls, getattr(module, cls_name))

    @classmethod
    @abc.abstractmethod
    def foreign_classes(cls) -> list[str]:
        """The names of the classes in :attr:`foreign_module` the bridge runs."""

    @classmethod
    def who(cls) -> str:
        """How errors name the strategy (``optuna:TPESampler``)."""
        return f"{cls.library}:{cls.foreign_class.__name__}"

    @classmethod
    def check_context(cls, context: SearchContext, config: Any) -> None:
        SpaceMapping(context.space, cls.who())
        cls._check(context, config)
        check(config.max_retries >= 1, f"max_retries must be >= 1, got {config.max_retries}")

    @classmethod  # noqa: B027 - an optional hook
    def _check(cls, context: SearchContext, config: Any) -> None:
        """Raise :class:`StrategyConfigError` if the library cannot run on ``context``."""

    def __init__(
        self, context: SearchContext, rng: np.random.Generator, config: Any = None, *, surrogate: Any = None
    ) -> None:
        super().__init__(context, rng, config, surrogate=surrogate)
        self.mapping = SpaceMapping(context.space, self.who())
        self._epoch = context.max_epoch
        self._target = answerable_targets(context)
        self._pending: dict[int, deque[Any]] = {}
        self._retries = 0
        self.counts = {self.count_names[0]: 0, self.count_names[1]: 0, "failed": 0}
        kwargs = {k: v for k, v in dataclasses.asdict(self.config).items() if k != "max_retries"}
        self._build(kwargs)

    @abc.abstractmethod
    def _build(self, kwargs: dict[str, Any]) -> None:
        """Build the foreign optimiser with its constructor arguments ``kwargs`` (seeds
        drawn from :attr:`rng`), inside :meth:`_one_line`."""

    @contextlib.contextmanager
    def _one_line(self, kwargs: Mapping[str, Any] | None = None) -> Iterator[None]:
        """The library's errors as one line: a missing optional dependency, and (while
        building, given its ``kwargs``) an argument the constructor rejects."""
        try:
            yield
        except ImportError as exc:
            raise StrategyConfigError(f"{self.who()} needs {exc.name}: pip install {exc.name}") from None
        except (TypeError, ValueError) as exc:
            if kwargs is None:
                raise
            raise StrategyConfigError(f"{self.who()} cannot be built with {kwargs}: {exc}") from None

    def _calls(self) -> contextlib.AbstractContextManager[Any]:
        """The scope each block of the library's calls runs in (default: none)."""
        return contextlib.nullcontext()

    # ---- ask ------------------------------------------------------------------------------
    def ask(self) -> Proposal | None:
        while True:
            with self.timed(), self._calls():
                asked = self._ask()
                if asked is None:  # the optimiser has nothing left to propose
                    return None
                trial, values = asked
                index = self.mapping.decode(values)
                arch = -1 if index is None else int(self._target[index])
                if arch < 0:
                    self.counts[self.count_names[0]] += 1
                    self._reject(trial)
                    self._retries += 1
                    if self._retries < self.config.max_retries:
                        continue
                    self._retries = 0
                    arch = self.context.sample(self.rng)
                    self.counts[self.count_names[1]] += 1
                    trial = self._fallback(arch)
                    if trial is None:  # the optimiser proposes it when asked next
                        continue
                self._retries = 0
                self._pending.setdefault(arch, deque()).append(trial)
                return Proposal(arch, self._epoch)

    @abc.abstractmethod
    def _ask(self) -> tuple[Any, Mapping[str, Any]] | None:
        """A new trial and its parameter values as the space holds them (extra names are
        ignored), or ``None`` when the optimiser has nothing left to propose."""

    @abc.abstractmethod
    def _reject(self, trial: Any) -> None:
        """Tell the optimiser that ``trial`` proposed an architecture that cannot be answered."""

    @abc.abstractmethod
    def _fallback(self, arch: int) -> Any:
        """Hand the optimiser the random answerable architecture ``arch``: the trial to
        evaluate it as, or ``None`` when the optimiser will propose it when asked next."""

    # ---- tell -----------------------------------------------------------------------------
    def tell(self, result: Result) -> None:
        if result.epoch != self._epoch and result.estimate is None:
            return  # a checkpoint of a run that goes on (+es): its trial is told at its end
        queue = self._pending.get(result.arch)
        if not queue:
            return
        trial = queue.popleft()
        with self.timed(), self._calls():
            score = result.valid_acc if result.estimate is None else result.estimate
            values = [float(score)]
            if self.context.objectives is not None:
                values += [float(v) for v in self.context.objectives[result.arch]]
            if not all(math.isfinite(v) for v in values):
                self.counts["failed"] += 1
                self._fail(trial)
                return
            self._tell(trial, values)

    @abc.abstractmethod
    def _tell(self, trial: Any, values: list[float]) -> None:
        """Tell ``trial``'s finite values: the score, then the secondary objectives (signed
        so that larger is better)."""

    @abc.abstractmethod
    def _fail(self, trial: Any) -> None:
        """Tell ``trial`` as failed (a diverged run)."""

    def stats(self) -> dict[str, Any]:
        """Unanswerable proposals, random architectures handed over instead, failed runs."""
        return {self.library: dict(self.counts)}


@functools.cache
def _subclass(bridge: type[ForeignStrategy], foreign: type) -> type[Strategy]:
    """The strategy class of one foreign class: ``Config`` holds the plain arguments of its
    constructor but the bridge's own, and ``max_retries``."""
    config = config_from_signature(
        foreign.__init__,
        exclude=bridge.own_arguments,
        extra=(("max_retries", int, 100),),
        doc=bridge.config_doc.format(name=foreign.__name__),
    )
    return type(
        f"{bridge.__name__.removesuffix('Strategy')}{foreign.__name__}",
        (bridge,),
        {"foreign_class": foreign, "Config": config, "__module__": bridge.__module__},
    )


__all__ = ["ForeignStrategy", "answerable_targets"]
