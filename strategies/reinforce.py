"""REINFORCE (Williams 1992) as the NAS-Bench-201 baseline runs it: a factorised
categorical policy, one choice per decision (an NB201 edge's operation), trained by
Adam on ``(reward - baseline) * grad log p(arch)`` with an exponential-moving-average
baseline. Rewards are validation accuracies as fractions.

Spaces with a per-decision structure expose ``op_matrix(indices)`` (NB201); any other
space is one categorical decision over its valid architectures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from strategies.base import Proposal, Result, SearchContext, Strategy, check


class Reinforce(Strategy):
    """Policy-gradient search with a factorised categorical policy."""

    @dataclass(frozen=True)
    class Config:
        """Attributes:
        learning_rate: Adam step size on the logits.
        baseline_decay: momentum of the reward baseline (EMA).
        """

        learning_rate: float = 0.01
        baseline_decay: float = 0.9

        def __post_init__(self) -> None:
            check(self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}")
            check(
                0 <= self.baseline_decay < 1, f"baseline_decay must be in [0, 1), got {self.baseline_decay}"
            )

    def __init__(
        self, context: SearchContext, rng: np.random.Generator, config: Any = None, *, surrogate: Any = None
    ) -> None:
        super().__init__(context, rng, config, surrogate=surrogate)
        space = context.space
        if hasattr(space, "op_matrix"):
            choices = np.asarray(space.op_matrix(np.arange(space.size)), dtype=np.int64)  # (size, D)
        else:
            choices = np.full((space.size, 1), -1, dtype=np.int64)
            choices[context.candidates, 0] = np.arange(len(context.candidates))
        self._choices = choices
        n_opt = np.maximum(choices.max(axis=0) + 1, 1)  # (D,)
        self._k = int(n_opt.max())
        radix = np.cumprod(np.concatenate([[1], n_opt[::-1][:-1]]))[::-1]
        self._radix = radix
        self._lookup = np.full(int(np.prod(n_opt)), -1, dtype=np.int64)
        ok = context.valid & (choices.min(axis=1) >= 0)
        self._lookup[(choices[ok] * radix).sum(axis=1)] = np.flatnonzero(ok)
        self._mask = np.arange(self._k)[None, :] < n_opt[:, None]  # (D, K) options that exist
        d = choices.shape[1]
        self.logits = np.zeros((d, self._k))
        self._m = np.zeros_like(self.logits)
        self._v = np.zeros_like(self.logits)
        self._t = 0
        self.baseline: float | None = None
        self._worst = 0.0  # the lowest reward so far (0 while every score is >= 0)
        self._epoch = context.max_epoch
        self._cum: np.ndarray | None = None  # cumulative probabilities, recomputed after each update

    def probabilities(self) -> np.ndarray:
        """float ``(D, K)``: the policy's choice probabilities per decision."""
        z = np.where(self._mask, self.logits, -np.inf)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def ask(self) -> Proposal:
        if self._cum is None:
            self._cum = np.cumsum(self.probabilities(), axis=1)
        p = self._cum
        for _ in range(100):  # resample choices the table cannot answer
            pick = (p < self.rng.random((p.shape[0], 1))).sum(axis=1)
            arch = int(self._lookup[int((np.minimum(pick, self._k - 1) * self._radix).sum())])
            if arch >= 0:
                return Proposal(arch, self._epoch)
        return Proposal(self.context.sample(self.rng), self._epoch)

    def tell(self, result: Result) -> None:
        if result.epoch != self._epoch and result.estimate is None:
            return
        # a diverged run earns the worst reward: 0 (an accuracy of 0%), or the worst seen
        # when scores are negative (minus a loss)
        reward = result.score / 100.0 if np.isfinite(result.score) else min(0.0, self._worst)
        self._worst = min(self._worst, reward)
        if self.baseline is None:
            self.baseline = reward
        advantage = reward - self.baseline
        self.baseline = self.config.baseline_decay * self.baseline + (1 - self.config.baseline_decay) * reward
        choice = self._choices[result.arch]
        grad = -self.probabilities()  # d log p / d logits = onehot - p
        grad[np.arange(len(choice)), np.maximum(choice, 0)] += 1.0
        grad = np.where(self._mask, grad * advantage, 0.0)
        # Adam ascent on the expected reward
        self._t += 1
        b1, b2, lr = 0.9, 0.999, self.config.learning_rate
        self._m = b1 * self._m + (1 - b1) * grad
        self._v = b2 * self._v + (1 - b2) * grad * grad
        mhat = self._m / (1 - b1**self._t)
        vhat = self._v / (1 - b2**self._t)
        self.logits += lr * mhat / (np.sqrt(vhat) + 1e-8)
        self._cum = None
