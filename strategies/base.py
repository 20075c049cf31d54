"""The ask/tell protocol every search strategy follows.

A strategy is a small class: the runner calls :meth:`Strategy.ask` whenever a simulated
worker is free and :meth:`Strategy.tell` when an evaluation finishes. The strategy gets
its random generator (and, if it uses one, a surrogate) in its constructor and sees only
a :class:`SearchContext` -- the space, the table's fidelities and which architectures
the table can answer -- never the table itself, so it cannot read test metrics. The
search loop (:mod:`nasbench.evaluation.loop`) owns the budget and the clock.

Proposals and results use space indices (``int``); a proposal may continue an earlier
trial to a higher epoch (the runner then charges only the extra training).
"""

from __future__ import annotations

import abc
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from nasbench.evaluation.context import Prior, Proposal, Result, SearchContext
from nasbench.evaluation.errors import StrategyConfigError


class UnvisitedSampler:
    """Uniform draws of valid architectures not yet in ``visited``.

    Rejection sampling while most of the space is unvisited; once that fails, one shuffled
    list of what is left, so a nearly exhausted space costs O(1) per draw.
    """

    def __init__(self, context: SearchContext, rng: np.random.Generator, visited: set[int]) -> None:
        self.context, self.rng, self.visited = context, rng, visited
        self._left: list[int] | None = None

    def __call__(self) -> int | None:
        """An unvisited architecture, or ``None`` when every valid one has been visited."""
        visited = self.visited
        if self._left is None:
            for _ in range(64):
                a = self.context.sample(self.rng)
                if a not in visited:
                    return a
            cand = self.context.candidates
            self._left = [int(a) for a in cand[self.rng.permutation(len(cand))] if int(a) not in visited]
        while self._left:
            a = self._left.pop()
            if a not in visited:
                return a
        return None


class Strategy(abc.ABC):
    """Base class of ask/tell search strategies.

    Subclasses define a frozen dataclass ``Config`` of their parameters and implement
    :meth:`ask` (and usually :meth:`tell`).

    Args:
        context: the space and fidelities.
        rng: the strategy's only source of randomness.
        config: parameters (default: ``Config()``).
        surrogate: an unfitted scikit-learn estimator, for strategies that use one.

    Attributes:
        overhead_s: real seconds spent in surrogate fitting and prediction so far; the
            runner charges it to the simulated clock and reports it separately.
    """

    #: registry name, set by the registry
    name: ClassVar[str] = ""
    #: whether the constructor needs a surrogate
    uses_surrogate: ClassVar[bool] = False
    #: whether it proposes children by mutation (and names their parents in :attr:`Proposal.parent`)
    mutates: ClassVar[bool] = False

    @dataclass(frozen=True)
    class Config:
        """No parameters."""

    def __init__(
        self,
        context: SearchContext,
        rng: np.random.Generator,
        config: Any = None,
        *,
        surrogate: Any = None,
    ) -> None:
        self.context = context
        self.rng = rng
        self.config = self.Config() if config is None else config
        self.surrogate = surrogate
        self.overhead_s = 0.0

    @classmethod  # noqa: B027 - an optional hook
    def check_context(cls, context: SearchContext, config: Any) -> None:
        """Raise (e.g. :class:`FidelityError`) if this strategy cannot run on ``context``.

        Called by the registry before anything is built, so bad input fails early.
        """

    @abc.abstractmethod
    def ask(self) -> Proposal | None:
        """The next evaluation to run, or ``None`` when waiting for running evaluations."""

    def tell(self, result: Result) -> None:  # noqa: B027 - optional hook
        """Learn from a finished evaluation."""

    def stats(self) -> dict[str, Any]:
        """Counters worth reporting after a run (JSON-ready; default: none).

        The runner stores them in the trajectory's metadata under ``strategy_stats``.
        """
        return {}

    @contextlib.contextmanager
    def timed(self) -> Iterator[None]:
        """Count the wall time of a block (surrogate fit or prediction) in :attr:`overhead_s`."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.overhead_s += time.perf_counter() - t0


def check(condition: bool, message: str) -> None:
    """Raise :class:`StrategyConfigError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise StrategyConfigError(message)


#: the context types live in :mod:`nasbench.evaluation.context` (below every backend) and are
#: re-exported here, where strategies have always imported them
__all__ = ["Prior", "Proposal", "Result", "SearchContext", "Strategy", "UnvisitedSampler", "check"]
