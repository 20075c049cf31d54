"""Ranked search: order the whole space by a score known before the search (a one-shot
supernet's accuracy, a zero-cost proxy) and spend real evaluations on the top, in order.

The scores come with the search context (``--scores FILE`` on ``search`` and
``compare``). This is the one-shot workflow of Bender et al. (2018) and of the
"train the supernet, then evaluate its top-k" baselines: the score does the screening,
and every evaluation goes to the best-scored cell not yet evaluated. Ties (accuracies on
a few hundred images tie often) are broken at random with the strategy's generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from strategies.base import Proposal, SearchContext, Strategy
from strategies.errors import StrategyConfigError


class RankedSearch(Strategy):
    """Evaluate the valid architectures in descending order of one score column."""

    @dataclass(frozen=True)
    class Config:
        """Attributes:
        score: the score column to rank by (default: the first of the context's).
        """

        score: str | None = None

    def __init__(
        self, context: SearchContext, rng: np.random.Generator, config: Any = None, *, surrogate: Any = None
    ) -> None:
        super().__init__(context, rng, config, surrogate=surrogate)
        if context.scores is None:
            raise StrategyConfigError("ranked search needs per-architecture scores (--scores FILE)")
        names = context.score_names
        name = self.config.score or names[0]
        if name not in names:
            raise StrategyConfigError(f"unknown score {name!r}; the context has {', '.join(names)}")
        cand = context.candidates
        value = context.scores[cand, names.index(name)]
        # descending score, random order within ties (lexsort: last key is the primary one)
        order = np.lexsort((rng.permutation(len(cand)), -value))
        self._ranking = cand[order][::-1].tolist()  # pop() walks from the best
        self._order: list[int] = []
        self._epoch = context.max_epoch

    def ask(self) -> Proposal:
        if not self._order:  # the whole ranking evaluated: start again from the top
            self._order = list(self._ranking)
        return Proposal(self._order.pop(), self._epoch)
