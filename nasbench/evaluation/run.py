"""How a search run is set up: its budget and its run configuration.

Budgets are simulated seconds or full evaluations (training one architecture to the max
epoch counts 1; training ``a -> b`` epochs counts ``(b - a) / max_epoch``). Every backend
reads them the same way (:mod:`nasbench.evaluation.loop`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from nasbench.evaluation.errors import BudgetError, StrategyConfigError

Noise = Literal["seed", "mean"]

_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class Budget:
    """A search budget: simulated seconds or full evaluations.

    Attributes:
        kind: ``"evals"`` (full-evaluation equivalents) or ``"seconds"`` (simulated).
        amount: how many.
    """

    kind: Literal["evals", "seconds"]
    amount: float

    def __post_init__(self) -> None:
        if self.kind not in ("evals", "seconds"):
            raise BudgetError(f"budget kind must be 'evals' or 'seconds', got {self.kind!r}")
        if not (isinstance(self.amount, int | float) and math.isfinite(self.amount) and self.amount > 0):
            raise BudgetError(f"budget must be a positive finite number, got {self.amount!r}")

    @classmethod
    def parse(cls, text: str | float | int) -> Budget:
        """``"300"`` or ``"300evals"`` = 300 full evaluations; ``"5e5s"``, ``"20h"`` = simulated time.

        Raises:
            BudgetError: malformed text or a non-positive amount.
        """
        if isinstance(text, int | float) and not isinstance(text, bool):
            return cls("evals", float(text))
        m = re.fullmatch(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z]*)\s*", str(text))
        unit = m.group(2).lower() if m else ""
        try:
            value = float(m.group(1)) if m else math.nan
        except ValueError:
            value = math.nan
        if not m or math.isnan(value) or (unit and unit not in _UNITS and unit not in ("evals", "eval", "e")):
            raise BudgetError(
                f"cannot read budget {text!r}: use a number of full evaluations (300) or simulated time (5e5s, 20h)"
            )
        if unit in _UNITS:
            return cls("seconds", value * _UNITS[unit])
        return cls("evals", value)

    def __str__(self) -> str:
        return f"{self.amount:g} evals" if self.kind == "evals" else f"{self.amount:g} s"


@dataclass(frozen=True)
class RunConfig:
    """How one search run is simulated.

    Attributes:
        budget: when to stop.
        workers: simulated asynchronous workers.
        noise: ``"seed"`` draws one stored seed per trial (NAS-Bench-201 practice);
            ``"mean"`` answers with seed means.
        charge_overhead: charge the strategy's surrogate wall time to the simulated clock.
        max_evaluations: safety cap on evaluations per run.
    """

    budget: Budget
    workers: int = 1
    noise: Noise = "seed"
    charge_overhead: bool = True
    max_evaluations: int = 2_000_000

    def __post_init__(self) -> None:
        if not isinstance(self.budget, Budget):
            raise StrategyConfigError("budget must be a Budget")
        if not (isinstance(self.workers, int) and self.workers >= 1):
            raise StrategyConfigError(f"workers must be an integer >= 1, got {self.workers!r}")
        if self.noise not in ("seed", "mean"):
            raise StrategyConfigError(f"noise must be 'seed' or 'mean', got {self.noise!r}")
        if not (isinstance(self.max_evaluations, int) and self.max_evaluations >= 1):
            raise StrategyConfigError("max_evaluations must be a positive integer")

    def describe(self) -> dict[str, Any]:
        return {
            "budget": str(self.budget),
            "budget_kind": self.budget.kind,
            "budget_amount": self.budget.amount,
            "workers": self.workers,
            "noise": self.noise,
            "charge_overhead": self.charge_overhead,
        }


__all__ = ["Budget", "Noise", "RunConfig"]
