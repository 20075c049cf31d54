"""Named errors of search strategies and the search loop (defined in
:mod:`nasbench.evaluation.errors`, below every backend; re-exported here where strategies
have always imported them)."""

from __future__ import annotations

from nasbench.evaluation.errors import (
    BudgetError,
    FidelityError,
    InvalidProposalError,
    StrategyConfigError,
    StrategyError,
    UnknownStrategyError,
)

__all__ = [
    "BudgetError",
    "FidelityError",
    "InvalidProposalError",
    "StrategyConfigError",
    "StrategyError",
    "UnknownStrategyError",
]
