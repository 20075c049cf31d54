"""Local search (hill climbing), after White et al., "Local Search is State of the Art for
Neural Architecture Search Benchmarks", 2020.

Start from the best of ``n_init`` random architectures, evaluate its neighbours in random
order and move to a better one -- at once (first improvement, default) or after the whole
neighbourhood (best improvement). At a local optimum, restart from new random
architectures. No architecture is proposed twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from strategies.base import Proposal, Result, SearchContext, Strategy, UnvisitedSampler, check


class LocalSearch(Strategy):
    """Hill climbing over the space's neighbourhood (one elementary change)."""

    mutates = True

    @dataclass(frozen=True)
    class Config:
        """Attributes:
        n_init: random architectures evaluated before each climb (start = their best).
        first_improvement: move as soon as a neighbour beats the current architecture.
        """

        n_init: int = 10
        first_improvement: bool = True

        def __post_init__(self) -> None:
            check(self.n_init >= 1, f"n_init must be >= 1, got {self.n_init}")

    def __init__(
        self, context: SearchContext, rng: np.random.Generator, config: Any = None, *, surrogate: Any = None
    ) -> None:
        super().__init__(context, rng, config, surrogate=surrogate)
        self._epoch = context.max_epoch
        self.visited: set[int] = set()
        self.current: tuple[int, float] | None = None
        self._queue: list[int] = []
        self._pending = 0
        self._init_asked = 0
        self._init_told = 0
        self._init_best: tuple[int, float] = (-1, -math.inf)
        self._best_nbr: tuple[int, float] = (-1, -math.inf)
        self._unvisited = UnvisitedSampler(context, rng, self.visited)

    def _propose(self, arch: int, parent: int | None = None) -> Proposal:
        self.visited.add(arch)
        self._pending += 1
        return Proposal(arch, self._epoch, parent=parent)

    def _move(self, arch: int, score: float) -> None:
        self.current = (arch, score)
        self._best_nbr = (-1, -math.inf)
        nbrs = self.context.neighbours(arch)
        self._queue = [int(a) for a in nbrs[self.rng.permutation(len(nbrs))] if int(a) not in self.visited]

    def ask(self) -> Proposal | None:
        if self.current is None:
            if self._init_asked < self.config.n_init:
                a = self._unvisited()
                if a is None:  # every architecture has been evaluated
                    if self._init_asked == 0 or self._init_told >= self._init_asked:
                        self._init_asked = self.config.n_init  # climb from what the initial draws found
                        if self._init_told and self._init_best[0] >= 0:
                            self._move(*self._init_best)
                            return self.ask()
                    return None
                self._init_asked += 1
                return self._propose(a)
            return None  # waiting for the initial evaluations
        queue, visited = self._queue, self.visited
        while queue:
            a = queue.pop()
            if a not in visited:
                return self._propose(a, self.current[0])  # a neighbour of the current one
        if self._pending:
            return None  # a running evaluation may still move us
        if self._best_nbr[1] > self.current[1]:  # best-improvement move
            self._move(*self._best_nbr)
        else:  # local optimum: restart
            self.current = None
            self._init_asked = self._init_told = 0
            self._init_best = (-1, -math.inf)
        return self.ask()

    def tell(self, result: Result) -> None:
        self._pending -= 1
        if result.epoch != self._epoch and result.estimate is None:
            return
        score = result.score
        if self.current is None:
            self._init_told += 1
            if score > self._init_best[1] or self._init_best[0] < 0:
                self._init_best = (result.arch, score)
            if self._init_told >= self._init_asked == self.config.n_init:
                self._move(*self._init_best)
            return
        if score > self.current[1]:
            if self.config.first_improvement:
                self._move(result.arch, score)
            elif score > self._best_nbr[1]:
                self._best_nbr = (result.arch, score)
