"""Layer 2, evaluation: the evaluator contract, the one search loop and the values they pass.

Every backend implements :class:`Evaluator` in the layer that owns what it needs (the
table lookup in :mod:`nasbench.tables.simulator`, the trainer in :mod:`nasbench.train.live`,
a surrogate's predictions through :mod:`surrogates.predicted`), and
:func:`run_loop` drives any of them with any strategy.
"""

from __future__ import annotations

from nasbench.evaluation.context import AskTell, Prior, Proposal, Result, SearchContext
from nasbench.evaluation.contract import Evaluator, Job, Outcome, Truth
from nasbench.evaluation.loop import run_loop
from nasbench.evaluation.run import Budget, RunConfig
from nasbench.evaluation.trajectory import COLUMNS, Trajectory, seeded_generators

__all__ = [
    "COLUMNS",
    "AskTell",
    "Budget",
    "Evaluator",
    "Job",
    "Outcome",
    "Prior",
    "Proposal",
    "Result",
    "RunConfig",
    "SearchContext",
    "Trajectory",
    "Truth",
    "run_loop",
    "seeded_generators",
]
