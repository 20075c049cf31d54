"""The metric vocabulary every table, trainer, surrogate and report uses.

Accuracies are percentages (0-100); ``time_s`` is the cumulative training cost in
seconds to reach that epoch. Validation and test are never aliased: a search sees
:data:`SEARCH_METRICS` only, and test metrics are read by reporting code alone.
"""

from __future__ import annotations

#: Every metric a table may store, in storage order.
METRICS: tuple[str, ...] = (
    "train_loss",
    "train_acc",
    "valid_loss",
    "valid_acc",
    "test_loss",
    "test_acc",
    "time_s",
)
#: What a search strategy may see.
SEARCH_METRICS: frozenset[str] = frozenset({"train_loss", "train_acc", "valid_loss", "valid_acc", "time_s"})
#: Read only by reporting code.
TEST_METRICS: frozenset[str] = frozenset({"test_loss", "test_acc"})
