"""Named errors of search strategies, the search loop and the evaluators.

Every error here derives from :class:`nasbench.core.errors.NasbenchError`, so the CLI turns it
into a one-line message with exit code 2, raised before any run starts.
"""

from __future__ import annotations

from nasbench.core.errors import ConfigError, NasbenchError


class StrategyError(NasbenchError):
    """Base class for errors of search strategies and their runner."""


class UnknownStrategyError(StrategyError, KeyError):
    """A strategy name is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StrategyConfigError(StrategyError, ConfigError):
    """A strategy parameter, budget, run option or ablation config is invalid."""


class BudgetError(StrategyConfigError):
    """A budget is malformed or smaller than one evaluation."""


class FidelityError(StrategyError):
    """The table lacks the fidelities (epochs) a strategy needs."""


class InvalidProposalError(StrategyError):
    """A strategy proposed an architecture, epoch or continuation the runner cannot run."""
