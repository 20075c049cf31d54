"""Regularized (aging) evolution, after Real et al., "Regularized Evolution for Image
Classifier Architecture Search", AAAI 2019.

The first ``population_size`` proposals are random. After that, each proposal mutates
the best of ``sample_size`` members drawn (without replacement) from the population, and
each told result joins the population while the oldest member leaves. With asynchronous
workers a child is bred from whatever has been told so far.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from strategies.base import Proposal, Result, SearchContext, Strategy, check


class RegularizedEvolution(Strategy):
    """Aging evolution with tournament selection and single-edge mutation."""

    mutates = True

    @dataclass(frozen=True)
    class Config:
        """Attributes:
        population_size: members kept (the oldest leaves when a child joins).
        sample_size: tournament size.
        """

        population_size: int = 20
        sample_size: int = 5

        def __post_init__(self) -> None:
            check(self.population_size >= 2, f"population_size must be >= 2, got {self.population_size}")
            check(
                1 <= self.sample_size <= self.population_size,
                f"sample_size must be in 1..population_size ({self.population_size}), got {self.sample_size}",
            )

    def __init__(
        self, context: SearchContext, rng: np.random.Generator, config: Any = None, *, surrogate: Any = None
    ) -> None:
        super().__init__(context, rng, config, surrogate=surrogate)
        self.population: deque[tuple[int, float]] = deque(maxlen=self.config.population_size)
        self._asked = 0
        self._epoch = context.max_epoch

    def ask(self) -> Proposal:
        self._asked += 1
        if self._asked <= self.config.population_size or not self.population:
            return Proposal(self.context.sample(self.rng), self._epoch)
        parent = self.parent()
        return Proposal(self.context.mutate(parent, self.rng), self._epoch, parent=parent)

    def parent(self) -> int:
        """Tournament: the best of ``sample_size`` distinct members of the population."""
        pop = self.population
        n = len(pop)
        k = min(self.config.sample_size, n)
        idx = list(range(n))
        r = self.rng.random(k)
        best_arch, best = -1, -np.inf
        for j in range(k):  # partial Fisher-Yates: k distinct members
            m = j + int(r[j] * (n - j))
            idx[j], idx[m] = idx[m], idx[j]
            arch, score = pop[idx[j]]
            if score > best or best_arch < 0:
                best_arch, best = arch, score
        return best_arch

    def tell(self, result: Result) -> None:
        if result.epoch == self._epoch or result.estimate is not None:
            self.population.append((result.arch, result.score))
