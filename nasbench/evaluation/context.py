"""What a search strategy may know and what passes between it and the search loop.

:class:`SearchContext` is what a strategy may know about the problem (the space, the
fidelities, which architectures can be answered, scores and objectives known without
training). :class:`Proposal` is what it asks for, :class:`Result` what it is told. They
live below every backend (table, surrogate, trainer), so each backend builds its own
context and the one search loop (:mod:`nasbench.evaluation.loop`) passes these values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from nasbench.evaluation.errors import FidelityError, StrategyConfigError
from nasbench.spaces.base import SearchSpace


@dataclass(frozen=True, slots=True)
class Proposal:
    """What a strategy asks the runner to evaluate.

    Attributes:
        arch: space index of the architecture.
        epoch: train to this epoch (one of :attr:`SearchContext.epochs`).
        resume: id of an earlier trial of the same architecture to continue from its
            epoch to ``epoch`` (only the difference in training cost is charged);
            ``None`` starts a new trial.
        parent: for a child made by mutation, the architecture it was mutated from. A
            live evaluator with weight inheritance may warm-start the child from the
            parent's trained weights; the table ignores it.
    """

    arch: int
    epoch: int
    resume: int | None = None
    parent: int | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Result:
    """One finished evaluation, as the runner tells it to the strategy.

    Attributes:
        trial: trial id (continuations keep the id of the trial they continue).
        arch: space index.
        epoch: epoch trained to.
        valid_acc: the score observed at ``epoch``: the table's objective signed so that
            larger is better (validation accuracy in %; minus the loss on a table that
            minimises one); NaN if the run diverged.
        curve: float64 ``(k,)`` the score at ``SearchContext.epochs[:k]``, the
            stored epochs up to ``epoch`` of this run (one seed of the table, or the seed
            mean with ``noise="mean"``). Read-only: it is a view of the runner's cached
            table, so writing to it raises ``ValueError``; copy it to modify it.
        cost_s: simulated training seconds charged for this evaluation.
        finish_time: simulated clock (seconds) when it finished.
        estimate: a predicted final (max-epoch) score, set by wrappers such as early
            stopping when they tell a stopped run to the strategy they wrap.
    """

    trial: int
    arch: int
    epoch: int
    valid_acc: float
    curve: np.ndarray
    cost_s: float
    finish_time: float
    estimate: float | None = None

    @property
    def score(self) -> float:
        """The value strategies rank by: ``estimate`` if set, else ``valid_acc``; NaN -> -inf."""
        v = self.valid_acc if self.estimate is None else self.estimate
        return v if v == v else -math.inf


@dataclass(frozen=True, eq=False)
class Prior:
    """Full learning curves known before a search starts (e.g. a start table's runs).

    Surrogate-guided strategies fit on them beside their own results. They are not
    evaluations of the search: the incumbent, the trajectory and the budget never see them.

    Attributes:
        archs: int64 ``(n,)`` the architecture of each run.
        curves: float ``(n, E)`` its validation accuracy at the context's epochs.
    """

    archs: np.ndarray
    curves: np.ndarray

    def __post_init__(self) -> None:
        archs = np.asarray(self.archs, np.int64)
        curves = np.asarray(self.curves, np.float64)
        if curves.ndim != 2 or len(curves) != len(archs):
            raise StrategyConfigError(f"prior curves must be ({len(archs)}, epochs), got {curves.shape}")
        object.__setattr__(self, "archs", archs)
        object.__setattr__(self, "curves", curves)

    def __len__(self) -> int:
        return len(self.archs)


@dataclass(frozen=True, eq=False)
class SearchContext:
    """What a strategy may know about the problem: the space and the table's fidelities.

    Attributes:
        space: the search space (strategies work with its integer indices).
        epochs: the stored epochs (fidelities), increasing; the last one is the full
            evaluation.
        valid: bool ``(space.size,)``: the architectures strategies may propose.
        canonical: int64 ``(space.size,)`` or ``None``. For a table that stores one
            architecture per isomorphism class, the stored architecture each index
            resolves to (-1 where none); then ``valid`` marks only the stored ones and
            neighbourhoods are taken up to isomorphism. ``None`` when every answerable
            architecture is stored itself.
        prior: full curves known before the search (:class:`Prior`), or ``None``.
        scores: float ``(space.size, m)`` per-architecture scores known before the search
            (zero-cost proxies, one-shot accuracy; each a rank percentile in ``[0, 1]``,
            larger predicted better), or ``None``. Model-based strategies add them to
            their surrogate's features; ``ranked`` evaluates in their order.
        score_names: the ``m`` score names.
        score_bounds: the range of the values strategies are told (``(0, 100)`` for an
            accuracy in percent, where learning-curve extrapolations are clipped), or
            ``None`` (unbounded: e.g. minus a loss).
        objectives: float ``(space.size, k)`` secondary objectives known without training
            (per-architecture columns such as ``params`` or ``latency_ms``), each signed so
            that larger is better (minus the params when they are minimised; NaN where
            unknown), or ``None`` (one objective: the told score). Multi-objective
            strategies rank ``(told score, *objectives[arch])``; the others ignore them.
        objective_names: the ``k`` secondary objectives' names.
    """

    space: SearchSpace
    epochs: tuple[int, ...]
    valid: np.ndarray
    canonical: np.ndarray | None = None
    prior: Prior | None = None
    scores: np.ndarray | None = None
    score_names: tuple[str, ...] = ()
    score_bounds: tuple[float, float] | None = (0.0, 100.0)
    objectives: np.ndarray | None = None
    objective_names: tuple[str, ...] = ()
    _candidates: np.ndarray = field(init=False, repr=False)
    _all_valid: bool = field(init=False, repr=False)
    _nbrs: dict[int, np.ndarray] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        valid = np.asarray(self.valid, dtype=bool)
        if valid.shape != (self.space.size,):
            raise StrategyConfigError(f"valid mask must have shape ({self.space.size},), got {valid.shape}")
        if not valid.any():
            raise StrategyConfigError("the table answers no architecture of the space")
        epochs = tuple(int(e) for e in self.epochs)
        if not epochs or any(b <= a for a, b in zip(epochs, epochs[1:], strict=False)):
            raise StrategyConfigError(f"epochs must be non-empty and increasing, got {epochs}")
        valid = valid.copy()
        valid.setflags(write=False)
        if self.canonical is not None:
            canon = np.asarray(self.canonical, dtype=np.int64).copy()
            if canon.shape != valid.shape:
                raise StrategyConfigError(f"canonical must have shape {valid.shape}, got {canon.shape}")
            canon.setflags(write=False)
            object.__setattr__(self, "canonical", canon)
        for field_, names_ in (("scores", "score_names"), ("objectives", "objective_names")):
            self._freeze_columns(field_, names_)
        cand = np.flatnonzero(valid).astype(np.int64)
        cand.setflags(write=False)
        object.__setattr__(self, "valid", valid)
        object.__setattr__(self, "epochs", epochs)
        object.__setattr__(self, "_candidates", cand)
        object.__setattr__(self, "_all_valid", bool(valid.all()))

    def _freeze_columns(self, field_: str, names_: str) -> None:
        """Check and freeze a per-architecture matrix ``(space.size, len(names))`` and its names."""
        value = getattr(self, field_)
        if value is None:
            return
        names = tuple(str(n) for n in getattr(self, names_))
        arr = np.array(value, dtype=np.float64)  # a copy
        if arr.ndim != 2 or arr.shape != (self.space.size, len(names)):
            raise StrategyConfigError(
                f"{field_} must be ({self.space.size}, {len(names)}) (one column per name), got {arr.shape}"
            )
        arr.setflags(write=False)
        object.__setattr__(self, field_, arr)
        object.__setattr__(self, names_, names)

    @classmethod
    def from_benchmark(cls, bench: Any) -> SearchContext:
        """The context of a :class:`nasbench.tables.benchmark.Benchmark` (its space, epochs, coverage)."""
        epochs = tuple(int(e) for e in bench.epochs)
        covered = bench.covered()
        stored = np.zeros(bench.space.size, dtype=bool)
        stored[bench.archs()] = True
        bounds = bench.objective.score_bounds
        if int(covered.sum()) == int(stored.sum()):
            return cls(bench.space, epochs, covered, score_bounds=bounds)
        canonical = np.full(bench.space.size, -1, dtype=np.int64)
        idx = np.flatnonzero(covered)
        canonical[idx] = bench.archs()[bench.rows(idx)]
        return cls(bench.space, epochs, stored, canonical, score_bounds=bounds)

    @property
    def max_epoch(self) -> int:
        return self.epochs[-1]

    @property
    def candidates(self) -> np.ndarray:
        """int64 ``(n,)`` the valid space indices, sorted."""
        return self._candidates

    def is_valid(self, arch: int) -> bool:
        return 0 <= arch < len(self.valid) and bool(self.valid[arch])

    def sample(self, rng: np.random.Generator) -> int:
        """One uniformly random valid architecture."""
        if self._all_valid:
            return int(rng.random() * len(self.valid))
        return int(self._candidates[int(rng.random() * len(self._candidates))])

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """int64 ``(n,)`` uniformly random valid architectures (with replacement)."""
        return self._candidates[(rng.random(n) * len(self._candidates)).astype(np.int64)]

    def neighbours(self, arch: int) -> np.ndarray:
        """int64 ``(k,)`` the valid architectures one elementary change from ``arch`` (cached)."""
        nb = self._nbrs.get(arch)
        if nb is None:
            nb = np.asarray(self.space.neighbours(int(arch)), dtype=np.int64)
            if self.canonical is not None:  # neighbours up to isomorphism
                nb = np.unique(self.canonical[nb])
                nb = nb[(nb >= 0) & (nb != arch)]
            if not self._all_valid:
                nb = nb[self.valid[nb]]
            nb.setflags(write=False)
            self._nbrs[arch] = nb
        return nb

    def mutate(self, arch: int, rng: np.random.Generator) -> int:
        """A uniformly random valid neighbour of ``arch``; a random valid architecture if it has none."""
        nb = self.neighbours(arch)
        if len(nb) == 0:
            return self.sample(rng)
        return int(nb[int(rng.random() * len(nb))])

    def lower_epochs(self, fraction: float = 1.0) -> tuple[int, ...]:
        """Stored epochs below the full evaluation and at most ``fraction * max_epoch``."""
        return tuple(e for e in self.epochs[:-1] if e <= fraction * self.max_epoch)

    def require_fidelities(self, who: str, fraction: float = 1.0) -> tuple[int, ...]:
        """The lower fidelities a multi-fidelity strategy can use.

        Raises:
            FidelityError: the table stores no epoch below ``fraction * max_epoch``.
        """
        low = self.lower_epochs(fraction)
        if not low:
            limit = "" if fraction >= 1 else f" at most {fraction:g} x {self.max_epoch}"
            raise FidelityError(
                f"{who} needs a lower fidelity (an epoch below {self.max_epoch}{limit}), but the table "
                f"stores only epochs {list(self.epochs)}"
            )
        return low


@runtime_checkable
class AskTell(Protocol):
    """What the search loop needs of a strategy (:class:`strategies.base.Strategy` is one).

    Attributes:
        name: the strategy's registry name (may be empty).
        config: its parameters (a dataclass, recorded in the trajectory).
        overhead_s: real seconds spent in its surrogate so far (charged to the clock).
    """

    name: str
    config: Any
    overhead_s: float

    def ask(self) -> Proposal | None: ...

    def tell(self, result: Result) -> None: ...

    def stats(self) -> dict[str, Any]: ...


__all__ = ["AskTell", "Prior", "Proposal", "Result", "SearchContext"]
