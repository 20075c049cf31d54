"""The evaluator contract: one small interface under every backend.

An :class:`Evaluator` answers the evaluations a strategy asks for. The table lookup
(:class:`nasbench.tables.simulator.TableEvaluator`), the surrogate-predicted table
(:mod:`surrogates.predicted`, a table evaluator over predictions) and live training
(:class:`nasbench.train.live.TrainEvaluator`) each implement it in the layer that owns
what they need, and the one search loop (:func:`nasbench.evaluation.loop.run_loop`) drives
any of them. The shape follows syne-tune's ``TrialBackend`` (one backend under every
scheduler) and optax's ``GradientTransformation`` (a few methods, many implementations):

* :attr:`Evaluator.context` -- what a strategy may know (:class:`SearchContext`);
* :meth:`Evaluator.batch_size` -- how many evaluations it takes at once: ``1`` for an
  evaluator that answers at once (the loop then simulates asynchronous workers on a
  clock), a population for the trainer (the loop hands it whole batches);
* :meth:`Evaluator.check_budget` -- refuse a budget smaller than one evaluation;
* :meth:`Evaluator.begin` -- start a run (its settings and its random stream);
* :meth:`Evaluator.estimate_cost` -- the seconds a job will be charged, before it runs;
* :meth:`Evaluator.evaluate` -- answer a batch of :class:`Job` with :class:`Outcome`;
* :attr:`Evaluator.truth` -- the ground truth regret is measured against (:class:`Truth`);
* :meth:`Evaluator.close` -- release what it holds (a Ray instance, files).

Values passed to and from strategies are *scores*: the objective signed by its direction,
so every strategy maximises. Trajectories and the truth are in the metric's own units.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from nasbench.core.metrics import Objective
from nasbench.evaluation.context import AskTell, SearchContext
from nasbench.evaluation.errors import BudgetError
from nasbench.evaluation.run import Budget, RunConfig


class Job(NamedTuple):
    """One evaluation the loop asks an evaluator for.

    Attributes:
        trial: the trial id (a continuation keeps the id of the trial it continues).
        arch: the space index the strategy proposed.
        rep: the architecture that is answered: ``arch`` itself, or the stored
            representative of its isomorphism class (:attr:`SearchContext.canonical`).
        seed: the trial's seed as the evaluator named it in an earlier :class:`Outcome`
            (a continuation); ``-1`` for a new trial, whose seed the evaluator draws.
        from_epoch: the epoch the trial had reached (``0`` for a new trial).
        to_epoch: train to this epoch (one of :attr:`SearchContext.epochs`).
        parent: the architecture a mutated child came from (weight inheritance), or ``None``.
    """

    trial: int
    arch: int
    rep: int
    seed: int
    from_epoch: int
    to_epoch: int
    parent: int | None = None


class Outcome(NamedTuple):
    """What an evaluator answers for one :class:`Job`.

    Attributes:
        value: the score at ``to_epoch`` (larger is better; NaN when the run diverged).
        curve: float64 ``(k,)`` the scores at ``SearchContext.epochs[:k]`` up to
            ``to_epoch``; read-only where it is a view of stored values.
        cost_s: training seconds charged for this evaluation (a continuation pays only
            for its extra epochs).
        seed: the seed that answered (the evaluator's own name for it, kept by the trial
            for its continuations).
        extra: backend-specific columns of the trajectory for this evaluation (e.g. the
            trainer's ``trained``), or ``None``.
    """

    value: float
    curve: np.ndarray
    cost_s: float
    seed: int
    extra: Mapping[str, Any] | None = None


@runtime_checkable
class Truth(Protocol):
    """The ground truth a run's regret is measured against, in the objective's own units.

    Attributes:
        objective: the metric and its direction.
        optimum: the best seed-mean final objective over the (feasible) architectures
            (NaN where unknown, e.g. a live search without a reference table).
        targets: name -> threshold of the seed-mean final objective (``top1``, ...).
        constraints: the constraints in words (``params <= 2e+05``); empty without.
    """

    objective: Objective
    optimum: float
    targets: Mapping[str, float]
    constraints: tuple[str, ...]

    def final_values(self, archs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """float64 ``(n,)`` twice: the seed-mean final objective and its test counterpart
        of each architecture (NaN where unknown)."""
        ...


class Evaluator(abc.ABC):
    """Answers the evaluations a strategy asks for (see the module docstring).

    Attributes:
        context: what strategies may know.
        truth: the ground truth of regret and targets (its ``objective`` is what the
            search optimises).
    """

    context: SearchContext
    truth: Truth
    #: with a batch size above 1: ask the strategy for the next batch while one is evaluated
    overlap: bool = False

    def batch_size(self, config: RunConfig) -> int:
        """How many evaluations :meth:`evaluate` takes at once: ``1`` (the default) for an
        evaluator that answers at once, so the loop runs ``config.workers`` asynchronous
        workers on the simulated clock; more for one that trains batches together."""
        return 1

    def check_budget(self, budget: Budget) -> None:
        """Raise :class:`BudgetError` when ``budget`` cannot pay for one full evaluation."""
        if budget.kind == "evals" and budget.amount < 1:
            raise BudgetError(f"budget of {budget.amount:g} evaluations is smaller than one evaluation")

    @abc.abstractmethod
    def begin(self, config: RunConfig, rng: np.random.Generator, strategy: AskTell) -> None:
        """Start a run: check the run settings (and the strategy, where the backend needs
        something of it), and keep ``rng`` for the seed draws of new trials (independent of
        the strategy's generator).

        Raises:
            BudgetError, StrategyConfigError: settings this evaluator cannot run.
        """

    @abc.abstractmethod
    def estimate_cost(self, job: Job) -> float:
        """The training seconds ``job`` will be charged (an estimate where it must train)."""

    @abc.abstractmethod
    def evaluate(self, jobs: Sequence[Job]) -> list[Outcome]:
        """Answer ``jobs`` (at most :meth:`batch_size` of them), in order."""

    def seed_ids(self, seeds: np.ndarray) -> np.ndarray:
        """int64 ``(n,)`` the training seeds of :attr:`Outcome.seed` values, as trajectories
        record them (-1: a seed mean). Default: they are the seeds."""
        return np.asarray(seeds, dtype=np.int64)

    def run_meta(self) -> dict[str, Any]:
        """What this backend adds to a trajectory's metadata (default: nothing)."""
        return {}

    def progress(self) -> dict[str, Any]:
        """Counters for a progress display during a run (default: none)."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the evaluator holds (default: nothing)."""

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Evaluator", "Job", "Outcome", "Truth"]
