"""Search strategies (ask/tell), a simulated-time runner over result tables, and the
reports around them (compare, ablate, leaderboard, explore).

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
