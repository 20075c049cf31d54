"""Random search: uniformly random architectures, each trained to the full fidelity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from strategies.base import Proposal, SearchContext, Strategy


class RandomSearch(Strategy):
    """Uniform random search over the architectures the table answers.

    By default it samples without replacement (a random permutation, restarted when
    exhausted), so no architecture index is evaluated twice before all have been.
    """

    @dataclass(frozen=True)
    class Config:
        """Attributes:
        replace: sample with replacement (plain i.i.d. random search).
        """

        replace: bool = False

    def __init__(
        self, context: SearchContext, rng: np.random.Generator, config: Any = None, *, surrogate: Any = None
    ) -> None:
        super().__init__(context, rng, config, surrogate=surrogate)
        self._order: list[int] = []
        self._epoch = context.max_epoch

    def ask(self) -> Proposal:
        if self.config.replace:
            return Proposal(self.context.sample(self.rng), self._epoch)
        if not self._order:
            # reversed so that pop() walks the permutation from its start
            cand = self.context.candidates
            self._order = cand[self.rng.permutation(len(cand))][::-1].tolist()
        return Proposal(self._order.pop(), self._epoch)
