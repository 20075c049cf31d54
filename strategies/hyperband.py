"""Successive halving and Hyperband over epochs (Jamieson & Talwalkar 2016; Li et al. 2018).

Rungs are stored epochs growing by a factor ``eta`` up to the full evaluation (for
NAS-Bench-201's 12 and 200 epochs: ``[12, 200]``; for a 1..6 table with ``eta=3``:
``[1, 3, 6]``). A bracket trains ``n`` new architectures to its first rung, continues the
best ``1/eta`` of them to the next rung (charged only the extra epochs), and so on.
Successive halving repeats one bracket shape; Hyperband cycles through brackets that
start at each rung.

Brackets are synchronous, but a strategy opens a new bracket whenever every open one is
waiting for results, so asynchronous workers never idle. New architectures are drawn at
random, or (``sampler="evolution"``) by mutating the best architecture of a tournament
over recent results, ranked by the highest rung they reached and then their accuracy.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from strategies.base import Proposal, Result, SearchContext, Strategy, check
from strategies.errors import FidelityError


def rung_epochs(context: SearchContext, eta: float, min_epoch: int | None = None) -> list[int]:
    """Rung epochs: from ``min_epoch`` (default: the smallest stored) growing by ``eta``,
    snapped to stored epochs, ending at the max epoch."""
    epochs = list(context.epochs)
    start = epochs[0] if min_epoch is None else min(e for e in epochs if e >= min_epoch)
    rungs = [start]
    while rungs[-1] < epochs[-1]:
        target = rungs[-1] * eta
        nxt = next((e for e in epochs if e >= target - 1e-9), epochs[-1])
        rungs.append(nxt)
    return rungs


class _Bracket:
    """One synchronous successive-halving bracket over ``rungs``."""

    def __init__(self, rungs: list[int], n0: int, eta: float) -> None:
        self.rungs = rungs
        self.eta = eta
        self.rung = 0
        self.to_launch = n0
        self.queue: list[tuple[int, int]] = []  # (trial, arch) to continue to the current rung
        self.pending = 0
        self.done: list[tuple[float, int, int, int]] = []  # (score, order, trial, arch) at the current rung
        self.finished = False

    def next(self, sample: Any) -> Proposal | None:
        if self.to_launch > 0:
            self.to_launch -= 1
            self.pending += 1
            return Proposal(sample(), self.rungs[0])
        if self.queue:
            trial, arch = self.queue.pop()
            self.pending += 1
            return Proposal(arch, self.rungs[self.rung], resume=trial)
        return None

    def tell(self, result: Result) -> None:
        self.pending -= 1
        self.done.append((result.score, -len(self.done), result.trial, result.arch))
        if self.pending or self.to_launch or self.queue:
            return
        if self.rung == len(self.rungs) - 1:
            self.finished = True
            return
        k = max(1, int(len(self.done) / self.eta))
        best = sorted(self.done, reverse=True)[:k]
        self.rung += 1
        self.queue = [(trial, arch) for _, _, trial, arch in reversed(best)]
        self.done = []


class _BracketStrategy(Strategy):
    """Runs brackets, opening a new one whenever every open bracket waits."""

    @classmethod
    def check_context(cls, context: SearchContext, config: Any) -> None:
        context.require_fidelities(cls.__name__)
        if config.min_epoch is not None and config.min_epoch >= context.max_epoch:
            raise FidelityError(
                f"{cls.__name__}: min_epoch {config.min_epoch} leaves no rung below the max epoch {context.max_epoch}"
            )

    def __init__(
        self, context: SearchContext, rng: np.random.Generator, config: Any = None, *, surrogate: Any = None
    ) -> None:
        super().__init__(context, rng, config, surrogate=surrogate)
        self.check_context(context, self.config)
        self.rungs = rung_epochs(context, self.config.eta, self.config.min_epoch)
        self._open: list[_Bracket] = []
        self._by_new: dict[int, list[tuple[int, _Bracket]]] = {}  # arch -> (epoch, bracket) of new trials
        self._by_trial: dict[int, _Bracket] = {}
        self._recent: deque[tuple[int, float, int]] = deque(maxlen=max(self.config.population_size, 1))
        self._n_brackets = 0

    def _new_bracket(self) -> _Bracket:
        raise NotImplementedError

    def _sample(self) -> int:
        if self.config.sampler == "random" or len(self._recent) < self.config.population_size:
            return self.context.sample(self.rng)
        pop = self._recent
        picks = (self.rng.random(self.config.sample_size) * len(pop)).astype(np.int64)
        parent = max((pop[int(i)] for i in picks), key=lambda m: (m[0], m[1]))
        return self.context.mutate(parent[2], self.rng)

    def ask(self) -> Proposal | None:
        for b in self._open:
            p = b.next(self._sample)
            if p is not None:
                return self._track(p, b)
        b = self._new_bracket()
        self._n_brackets += 1
        self._open.append(b)
        p = b.next(self._sample)
        return None if p is None else self._track(p, b)

    def _track(self, p: Proposal, b: _Bracket) -> Proposal:
        if p.resume is None:
            self._by_new.setdefault(p.arch, []).append((p.epoch, b))
        return p

    def tell(self, result: Result) -> None:
        b = self._by_trial.get(result.trial)
        if b is None:
            # a wrapper (early stopping) tells a full-evaluation proposal stopped at a lower epoch
            epoch = self.context.max_epoch if result.estimate is not None else result.epoch
            q = self._by_new[result.arch]
            i = next((k for k, (e, _) in enumerate(q) if e == epoch), 0)
            b = q.pop(i)[1]
            if not q:
                del self._by_new[result.arch]
            self._by_trial[result.trial] = b
        self._recent.append((result.epoch, result.score, result.arch))
        b.tell(result)
        if b.finished:
            self._open.remove(b)


@dataclass(frozen=True)
class _Common:
    """Attributes:
    eta: reduction factor between rungs (keep the best ``1/eta``).
    min_epoch: first rung (default: the smallest stored epoch).
    sampler: ``random`` or ``evolution`` (mutate a tournament winner of recent results).
    population_size: recent results the evolution sampler draws from.
    sample_size: its tournament size.
    """

    eta: float = 3.0
    min_epoch: int | None = None
    sampler: Literal["random", "evolution"] = "random"
    population_size: int = 20
    sample_size: int = 5

    def __post_init__(self) -> None:
        check(self.eta > 1, f"eta must be > 1, got {self.eta}")
        check(self.min_epoch is None or self.min_epoch >= 0, f"min_epoch must be >= 0, got {self.min_epoch}")
        check(self.population_size >= 1, f"population_size must be >= 1, got {self.population_size}")
        check(self.sample_size >= 1, f"sample_size must be >= 1, got {self.sample_size}")


class SuccessiveHalving(_BracketStrategy):
    """Successive halving, repeated: ``n_initial`` architectures per bracket at the first rung."""

    @dataclass(frozen=True)
    class Config(_Common):
        """Attributes (besides eta, min_epoch, sampler, population_size, sample_size):
        n_initial: architectures started per bracket (default ``ceil(eta ** (rungs - 1))``).
        """

        n_initial: int | None = None

        def __post_init__(self) -> None:
            super().__post_init__()
            check(
                self.n_initial is None or self.n_initial >= 1, f"n_initial must be >= 1, got {self.n_initial}"
            )

    def _new_bracket(self) -> _Bracket:
        n0 = self.config.n_initial or math.ceil(self.config.eta ** (len(self.rungs) - 1) - 1e-9)
        return _Bracket(self.rungs, n0, self.config.eta)


class Hyperband(_BracketStrategy):
    """Hyperband: cycle through brackets ``s = s_max .. 0`` starting at rung ``s_max - s``."""

    @dataclass(frozen=True)
    class Config(_Common):
        """Same parameters as successive halving, without ``n_initial``."""

    def _new_bracket(self) -> _Bracket:
        s_max = len(self.rungs) - 1
        s = s_max - (self._n_brackets % (s_max + 1))
        n = math.ceil((s_max + 1) / (s + 1) * self.config.eta**s - 1e-9)
        return _Bracket(self.rungs[s_max - s :], n, self.config.eta)
