"""Shared machinery of surrogate-guided strategies (BANANAS, predictor-screened search).

After ``n_init`` random full evaluations, the strategy fits its surrogate on every full
result so far (and on the context's prior, a start table's full runs, when there is
one), generates candidates (mutations of the best architectures, optionally plus random
samples), scores them by an acquisition over the surrogate's predicted mean and
uncertainty, and queues the best ``batch_size`` for real full evaluations. When the
queue runs dry it refits if due (``fit_every``, ``fit_growth``; warm-started with
``warm_start``) and scores a new round. No architecture is proposed twice. Fitting and
prediction are timed into :attr:`Strategy.overhead_s`, which the runner charges to the
simulated clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from strategies.acquisition import acquisition
from strategies.base import Proposal, Result, SearchContext, Strategy, UnvisitedSampler, check
from surrogates.inputs import design, fit_or_skip, limit_cuts, predict_mean_std, set_warm_start


@dataclass(frozen=True)
class ModelBasedConfig:
    """Attributes:
    surrogate: registry name of the surrogate (default: the strategy's).
    acquisition: ``mean``, ``ucb``, ``ei`` or ``ts`` (independent Thompson sampling).
    kappa: UCB exploration weight (in standard deviations).
    n_init: random full evaluations before the first fit.
    n_candidates: candidates scored per round.
    n_parents: candidates are mutations of this many best architectures.
    max_edits: each mutated candidate takes 1..max_edits random elementary changes.
    random_fraction: share of candidates sampled uniformly instead of mutated.
    batch_size: real evaluations per round (the best-scored candidates).
    fit_every: refit only after this many new results (1 = after every result).
    fit_growth: ... and once the results grew by this factor since the last fit (1:
        ``fit_every`` alone; as early stopping's ``refit_growth``). Refits then thin out
        geometrically as data accumulates, while the early rounds, which decide most of
        a search, still refit every ``fit_every``; in between, candidates are scored by
        the last model.
    warm_start: warm-start the surrogate's refits where it supports it (the package's
        ensembles keep their stacking weights and calibration until the data doubled,
        ``surrogate.recalibrate_growth``).
    """

    surrogate: str | None = None
    acquisition: Literal["mean", "ucb", "ei", "ts"] = "ucb"
    kappa: float = 1.0
    n_init: int = 10
    n_candidates: int = 100
    n_parents: int = 10
    max_edits: int = 2
    random_fraction: float = 0.0
    batch_size: int = 1
    fit_every: int = 1
    fit_growth: float = 1.0
    warm_start: bool = False

    def __post_init__(self) -> None:
        check(self.kappa >= 0, f"kappa must be >= 0, got {self.kappa}")
        check(self.n_init >= 2, f"n_init must be >= 2, got {self.n_init}")
        check(self.n_candidates >= 1, f"n_candidates must be >= 1, got {self.n_candidates}")
        check(self.n_parents >= 1, f"n_parents must be >= 1, got {self.n_parents}")
        check(self.max_edits >= 1, f"max_edits must be >= 1, got {self.max_edits}")
        check(
            0 <= self.random_fraction <= 1, f"random_fraction must be in [0, 1], got {self.random_fraction}"
        )
        check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        check(self.fit_every >= 1, f"fit_every must be >= 1, got {self.fit_every}")
        check(self.fit_growth >= 1, f"fit_growth must be >= 1, got {self.fit_growth}")


class ModelBasedSearch(Strategy):
    """Base class: fit, generate candidates, score, evaluate the best few, repeat."""

    uses_surrogate = True
    mutates = True
    default_surrogate: str | None = None
    Config = ModelBasedConfig

    def __init__(
        self, context: SearchContext, rng: np.random.Generator, config: Any = None, *, surrogate: Any = None
    ) -> None:
        super().__init__(context, rng, config, surrogate=surrogate)
        if surrogate is not None:
            limit_cuts(surrogate, [0])  # candidates are predicted with no curve observed
            set_warm_start(surrogate, self.config.warm_start)
        self._epoch = context.max_epoch
        self._n_epochs = len(context.epochs)
        self.visited: set[int] = set()
        self.archs: list[int] = []  # full results, in tell order
        self.scores: list[float] = []
        self._queue: list[int] = []
        self._parent_of: dict[int, int] = {}  # candidate -> the architecture it was mutated from
        self._asked = 0
        self._fitted_on = 0
        self.n_fits = 0
        self._unvisited = UnvisitedSampler(context, rng, self.visited)

    # ---- candidates ------------------------------------------------------------------
    def _random_unvisited(self) -> int | None:
        return self._unvisited()

    def candidates(self) -> np.ndarray:
        """int64 ``(m,)`` unvisited candidates: mutations of the best plus random samples.

        When the best architectures' neighbourhoods are used up, mutations take more edits.
        """
        cfg, rng, ctx = self.config, self.rng, self.context
        n_rand = int(round(cfg.n_candidates * cfg.random_fraction))
        n_mut = cfg.n_candidates - n_rand
        out: set[int] = set()
        self._parent_of: dict[int, int] = {}
        if n_mut and self.archs:
            order = np.argsort(-self.parent_values(), kind="stable")[: cfg.n_parents]
            parents = [self.archs[i] for i in order]
            for max_edits in range(cfg.max_edits, cfg.max_edits + 3):
                for _ in range(4 * n_mut):  # tolerate collisions with visited ones
                    p = a = parents[int(rng.random() * len(parents))]
                    for _ in range(1 + int(rng.random() * max_edits)):
                        a = ctx.mutate(a, rng)
                    if a not in self.visited:
                        out.add(a)
                        self._parent_of.setdefault(a, p)
                        if len(out) >= n_mut:
                            break
                if len(out) >= cfg.batch_size:
                    break
        if n_rand:
            for a in ctx.sample_many(rng, n_rand).tolist():
                if a not in self.visited:
                    out.add(a)
        if not out:
            a = self._random_unvisited()
            if a is not None:
                out.add(a)
        return np.fromiter(sorted(out), dtype=np.int64)

    def parent_values(self) -> np.ndarray:
        """float ``(n,)`` how good each told full result is as a parent (larger better): its score."""
        return np.asarray(self.scores, dtype=np.float64)

    # ---- the surrogate -----------------------------------------------------------------
    def fit(self) -> None:
        """Refit the surrogate on every full result told so far, and on the context's prior
        (a start table's full runs) when it has one (timed)."""
        archs, scores = self.archs, self.scores
        prior = self.context.prior
        if prior is not None:
            final = prior.curves[:, -1]
            ok_rows = np.isfinite(final)
            archs = prior.archs[ok_rows].tolist() + archs
            scores = final[ok_rows].tolist() + scores
        with self.timed():
            X = design(archs, self._n_epochs)
            ok = fit_or_skip(self.surrogate, X, np.asarray(scores, dtype=np.float64))
        if ok:
            self._fitted_on = len(self.archs)
            self.n_fits += 1

    def score_candidates(self, cand: np.ndarray) -> np.ndarray:
        """float ``(m,)`` acquisition values of candidates (timed)."""
        with self.timed():
            mean, std = predict_mean_std(self.surrogate, design(cand, self._n_epochs))
        finite = [s for s in self.scores if math.isfinite(s)]
        best = max(finite) if finite else -math.inf
        return acquisition(self.config.acquisition, mean, std, best, self.rng, self.config.kappa)

    def fit_due(self) -> bool:
        """Whether enough new results came in since the last fit (``fit_every``, ``fit_growth``)."""
        cfg, n = self.config, len(self.archs)
        return self.n_fits == 0 or n >= max(self._fitted_on + cfg.fit_every, cfg.fit_growth * self._fitted_on)

    def _next_round(self) -> None:
        if self.fit_due():
            self.fit()
        if self.n_fits == 0:  # the surrogate wants more points: keep sampling at random
            return
        cand = self.candidates()
        if len(cand) == 0:
            return
        acq = self.score_candidates(cand)
        acq = np.where(np.isnan(acq), -np.inf, acq)
        top = np.argsort(-acq, kind="stable")[: self.config.batch_size]
        self._queue = [int(a) for a in cand[top][::-1]]

    def stats(self) -> dict[str, Any]:
        """``fits``: surrogate fits made (the refit schedule's count)."""
        return {"fits": self.n_fits}

    # ---- ask/tell ----------------------------------------------------------------------
    def ask(self) -> Proposal | None:
        self._asked += 1
        if self._asked <= self.config.n_init or len(self.archs) < 2:
            arch = self._random_unvisited()
        else:
            while self._queue and self._queue[-1] in self.visited:
                self._queue.pop()
            if not self._queue:
                self._next_round()
            arch = self._queue.pop() if self._queue else self._random_unvisited()
        if arch is None:  # every architecture has been evaluated
            return None
        self.visited.add(arch)
        return Proposal(arch, self._epoch, parent=self._parent_of.get(arch))

    def tell(self, result: Result) -> None:
        if result.epoch != self._epoch and result.estimate is None:
            return
        score = result.score
        if math.isfinite(score):
            self.archs.append(result.arch)
            self.scores.append(score)
