"""Multi-objective strategies: random search, NSGA-II-style evolution, ParEGO.

How a strategy sees several objectives: the runner tells one score, the table's
objective (signed, larger is better); the other objectives are per-architecture columns
known without training (``params``, ``flops``, ``latency_ms``), which the search context
holds signed the same way (:attr:`SearchContext.objectives`). An evaluated architecture's
objective vector is therefore ``(told score, *context.objectives[arch])``, every entry
maximised. Without secondary objectives each strategy reduces to a single-objective one
(so they run on any table).

* ``mo-rs``: uniform random search (the proposals of ``rs``); its value is as the
  baseline of the hypervolume.
* ``mo-re``: multi-objective regularized evolution: an aging population, and tournaments
  won by the lowest Pareto rank within the population, ties broken by NSGA-II's
  crowding distance (then the first drawn).
* ``parego``: ParEGO-style random scalarisations for a model-based search (Knowles,
  "ParEGO", IEEE TEC 2006): each round draws weights from the simplex, and candidates
  (mutations of the best under that scalarisation) are ranked by the augmented
  Tchebycheff scalarisation of the surrogate's optimistic prediction (mean + kappa std)
  of the score and their known secondary objectives, each normalised to ``[0, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from nasbench.core.pareto import crowding_distance, pareto_ranks
from strategies.base import Result, SearchContext, check
from strategies.evolution import RegularizedEvolution
from strategies.model_based import ModelBasedConfig, ModelBasedSearch
from strategies.random_search import RandomSearch
from surrogates.inputs import design, predict_mean_std

#: stands for a diverged run's score or an unknown secondary objective: worse than anything
_WORST = -1e300


def objective_vectors(context: SearchContext, archs: Any, scores: Any) -> np.ndarray:
    """float ``(n, 1 + k)``: ``(score, *context.objectives[arch])``, all maximised; non-finite
    entries are replaced by a finite worst value so that they rank last."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1, 1)
    if context.objectives is not None:
        s = np.hstack([s, context.objectives[np.asarray(archs, dtype=np.int64)]])
    return np.where(np.isfinite(s), s, _WORST)


class MultiObjectiveRandomSearch(RandomSearch):
    """Uniform random search (as ``rs``), the baseline of multi-objective comparisons."""


class MultiObjectiveEvolution(RegularizedEvolution):
    """Aging evolution whose tournaments compare Pareto rank, then crowding distance."""

    def __init__(
        self, context: SearchContext, rng: np.random.Generator, config: Any = None, *, surrogate: Any = None
    ) -> None:
        super().__init__(context, rng, config, surrogate=surrogate)
        self._quality: tuple[np.ndarray, np.ndarray] | None = None  # (rank, crowding) of the population

    def _population_quality(self) -> tuple[np.ndarray, np.ndarray]:
        if self._quality is None:
            archs = [a for a, _ in self.population]
            pts = objective_vectors(self.context, archs, [s for _, s in self.population])
            rank = pareto_ranks(pts, np.ones(pts.shape[1], dtype=bool))
            crowd = np.zeros(len(pts))
            for r in np.unique(rank):
                m = rank == r
                crowd[m] = crowding_distance(pts[m])
            self._quality = (rank, crowd)
        return self._quality

    def parent(self) -> int:
        """Tournament of ``sample_size`` distinct members: lowest Pareto rank, then most crowding distance."""
        pop = self.population
        n = len(pop)
        k = min(self.config.sample_size, n)
        rank, crowd = self._population_quality()
        drawn = self.rng.permutation(n)[:k]
        best = min(drawn.tolist(), key=lambda i: (int(rank[i]), -float(crowd[i])))
        return pop[best][0]

    def tell(self, result: Result) -> None:
        if result.epoch == self._epoch or result.estimate is not None:
            self.population.append((result.arch, result.score))
            self._quality = None


@dataclass(frozen=True)
class ParEGOConfig(ModelBasedConfig):
    """See :class:`~strategies.model_based.ModelBasedConfig`, plus:

    Attributes:
        rho: weight of the augmentation term of the Tchebycheff scalarisation.
    """

    acquisition: Literal["mean", "ucb", "ei", "ts"] = "ucb"
    n_candidates: int = 200
    n_parents: int = 5
    batch_size: int = 5
    fit_growth: float = 1.2
    rho: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.rho >= 0, f"rho must be >= 0, got {self.rho}")
        check(
            self.acquisition in ("mean", "ucb"),
            f"parego's acquisition must be mean or ucb, got {self.acquisition!r}",
        )


class ParEGO(ModelBasedSearch):
    """Model-based search on random augmented-Tchebycheff scalarisations, one per round."""

    default_surrogate = None  # surrogates.DEFAULT_SURROGATE
    Config = ParEGOConfig

    def __init__(
        self, context: SearchContext, rng: np.random.Generator, config: Any = None, *, surrogate: Any = None
    ) -> None:
        super().__init__(context, rng, config, surrogate=surrogate)
        k = 0 if context.objectives is None else context.objectives.shape[1]
        self._weights = np.full(1 + k, 1.0 / (1 + k))
        if k:  # fixed ranges of the known objectives over the candidates
            known = context.objectives[context.candidates]
            known = np.where(np.isfinite(known), known, np.nan)
            self._lo = np.nan_to_num(np.nanmin(known, axis=0), nan=0.0)
            self._hi = np.nan_to_num(np.nanmax(known, axis=0), nan=1.0)
        else:
            self._lo = self._hi = np.zeros(0)

    def _scalarise(self, score: np.ndarray, archs: np.ndarray) -> np.ndarray:
        """float ``(n,)``: the augmented Tchebycheff value (larger better) under the round's weights."""
        finite = [s for s in self.scores if np.isfinite(s)]
        lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
        f = [(np.asarray(score, np.float64) - lo) / (hi - lo if hi > lo else 1.0)]
        if self.context.objectives is not None:
            sec = self.context.objectives[archs]
            span = np.where(self._hi > self._lo, self._hi - self._lo, 1.0)
            f += list(((sec - self._lo) / span).T)
        gap = 1.0 - np.vstack(f)  # (1 + k, n): distance to the ideal point, per objective
        gap = np.where(np.isfinite(gap), gap, 1e6)
        w = self._weights[:, None]
        return -(np.max(w * gap, axis=0) + self.config.rho * np.sum(w * gap, axis=0))

    def parent_values(self) -> np.ndarray:
        return self._scalarise(np.asarray(self.scores), np.asarray(self.archs, dtype=np.int64))

    def _next_round(self) -> None:
        self._weights = self.rng.dirichlet(np.ones(len(self._weights)))
        super()._next_round()

    def score_candidates(self, cand: np.ndarray) -> np.ndarray:
        with self.timed():
            mean, std = predict_mean_std(self.surrogate, design(cand, self._n_epochs))
        kappa = self.config.kappa if self.config.acquisition == "ucb" else 0.0
        return self._scalarise(mean + kappa * np.nan_to_num(std), cand)
