"""The metric vocabulary every table, trainer, surrogate and report uses.

Accuracies are percentages (0-100); ``*_r2`` (regression) is the coefficient of
determination, a fraction (1 is perfect); ``time_s`` is the cumulative training cost in
seconds to reach that epoch. Validation and test are never aliased: a search sees
:data:`SEARCH_METRICS` only, and test metrics are read by reporting code alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from nasbench.core.errors import ConfigError

#: Every metric a table may store, in storage order.
METRICS: tuple[str, ...] = (
    "train_loss",
    "train_acc",
    "valid_loss",
    "valid_acc",
    "test_loss",
    "test_acc",
    "valid_r2",
    "test_r2",
    "time_s",
)
#: What a search strategy may see.
SEARCH_METRICS: frozenset[str] = frozenset(
    {"train_loss", "train_acc", "valid_loss", "valid_acc", "valid_r2", "time_s"}
)
#: Read only by reporting code.
TEST_METRICS: frozenset[str] = frozenset({"test_loss", "test_acc", "test_r2"})
#: What a trainer records per task: accuracies (percent) for classification; for
#: regression, losses (mean squared error on the standardised target) and R^2 (a fraction).
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "classification": tuple(m for m in METRICS if not m.endswith("_r2")),
    "regression": tuple(m for m in METRICS if not m.endswith("_acc")),
}

#: Directions of an objective: larger is better (``max``) or smaller is better (``min``).
DIRECTIONS: tuple[str, ...] = ("max", "min")
#: Metrics a table may name as its objective (what a search optimises).
OBJECTIVE_METRICS: tuple[str, ...] = ("valid_acc", "valid_loss", "valid_r2", "train_acc", "train_loss")


@dataclass(frozen=True)
class Objective:
    """What a table's searches optimise: one metric and its direction.

    A table records it in its metadata (``{"objective": {"metric": ..., "direction":
    ...}}``); a table that records none optimises ``valid_acc``, larger is better, as
    every table did before objectives existed. Strategies and surrogates work on the
    *score* ``sign * value`` (larger is better either way), so they never need to know the
    direction; reports turn scores back into values with the same sign.

    Attributes:
        metric: one of :data:`OBJECTIVE_METRICS`.
        direction: ``max`` or ``min``.
    """

    metric: str = "valid_acc"
    direction: Literal["max", "min"] = "max"

    def __post_init__(self) -> None:
        if self.metric not in OBJECTIVE_METRICS:
            raise ConfigError(
                f"objective metric must be one of {', '.join(OBJECTIVE_METRICS)}, got {self.metric!r}"
            )
        if self.direction not in DIRECTIONS:
            raise ConfigError(f"direction must be max or min, got {self.direction!r}")

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None) -> Objective:
        """The objective a table's metadata records (default: ``valid_acc``, ``max``).

        Raises:
            ConfigError: a malformed ``objective`` entry.
        """
        from nasbench.core.config import build_config

        raw = (metadata or {}).get("objective")
        if raw is None:
            return cls()
        return build_config(cls, raw, who="table objective", noun="key")

    def to_dict(self) -> dict[str, str]:
        return {"metric": self.metric, "direction": self.direction}

    @property
    def sign(self) -> float:
        """``1.0`` for ``max``, ``-1.0`` for ``min``: ``score = sign * value``."""
        return 1.0 if self.direction == "max" else -1.0

    @property
    def maximize(self) -> bool:
        return self.direction == "max"

    @property
    def test_metric(self) -> str | None:
        """The test-split counterpart of a validation metric (reporting only), else ``None``."""
        return "test_" + self.metric[len("valid_") :] if self.metric.startswith("valid_") else None

    @property
    def score_bounds(self) -> tuple[float, float] | None:
        """The range of the score: ``(0, 100)`` for an accuracy (percent) that is
        maximised, where learning-curve extrapolations are clipped; ``None`` otherwise."""
        return (0.0, 100.0) if self.metric.endswith("_acc") and self.maximize else None

    @property
    def is_default(self) -> bool:
        """Whether this is the objective of a table that records none."""
        return self == Objective()

    def describe(self) -> str:
        """``valid_loss (lower is better)``."""
        return f"{self.metric} ({'higher' if self.maximize else 'lower'} is better)"
