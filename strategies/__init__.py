"""Layer 6, strategies: search strategies (ask/tell) and the simulated-time runner over
result tables. The jobs built on them (compare, ablate, leaderboard, explore) live one
layer up, in :mod:`nasbench.experiments`.

Strategies only ask and tell: they never import the trainer and never see test metrics.
"""

from __future__ import annotations

from strategies.base import Proposal, Result, SearchContext, Strategy
from strategies.registry import STRATEGIES, available, make_strategy, register_strategy
from strategies.runner import Budget, RunConfig, Simulator, Trajectory, run_search

__all__ = [
    "STRATEGIES",
    "Budget",
    "Proposal",
    "Result",
    "RunConfig",
    "SearchContext",
    "Simulator",
    "Strategy",
    "Trajectory",
    "available",
    "make_strategy",
    "register_strategy",
    "run_search",
]
