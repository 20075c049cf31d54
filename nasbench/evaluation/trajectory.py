"""The record of one search run: one row per finished evaluation, in finish order.

Every backend's run ends in the same :class:`Trajectory`: the same columns, the same
incumbent and regret rules (:func:`trajectory_columns`) and the same metadata
(:func:`run_info`), so reports and comparisons never ask which backend ran.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from nasbench.core.io import jsonable
from nasbench.evaluation.context import AskTell
from nasbench.evaluation.run import RunConfig

#: Fractions of the table (by the seed-mean final objective, best first) used as targets.
TARGETS: dict[str, float] = {"top1": 0.01, "top0.1": 0.001}

#: Trajectory columns, one row per finished evaluation, in finish order.
COLUMNS: tuple[str, ...] = (
    "step",
    "trial",
    "arch",
    "epoch",
    "from_epoch",
    "seed",
    "valid_acc",
    "cost_s",
    "evals",
    "start_s",
    "finish_s",
    "overhead_s",
    "incumbent",
    "incumbent_valid",
    "incumbent_mean",
    "regret",
    "incumbent_test",
)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """The record of one run.

    Attributes:
        columns: name -> ``(n,)`` array for each of :data:`COLUMNS`: ``evals`` is the
            cumulative full-evaluation count and ``overhead_s`` the cumulative surrogate
            time at each finish; ``valid_acc`` is the observed value of the table's
            objective (validation accuracy, or e.g. a validation loss on a table that
            minimises one); ``incumbent`` is the best architecture so far by observed
            max-epoch objective (-1 before the first), ``incumbent_mean`` its seed-mean
            objective, ``regret`` how far that is from the optimum (``optimum -
            incumbent_mean``, negated when minimising: >= 0 either way), and
            ``incumbent_test`` its seed-mean test counterpart (reporting only; NaN where
            the table has none).
        meta: strategy, seed, run config, objective (``{"metric", "direction"}``;
            absent: ``valid_acc``, ``max``), optimum and target thresholds.
    """

    columns: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.columns["step"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def final_regret(self) -> float:
        r = self.columns["regret"]
        return float(r[-1]) if len(r) else math.nan

    @property
    def sign(self) -> float:
        """``1.0`` when the objective is maximised, ``-1.0`` when it is minimised."""
        return -1.0 if (self.meta.get("objective") or {}).get("direction") == "min" else 1.0

    def hitting(self, threshold: float) -> tuple[float, float]:
        """``(evals, simulated seconds)`` when the incumbent's seed-mean objective first
        reached ``threshold`` (at or above it; at or below when minimising); ``(inf, inf)``
        if it never did."""
        sign = self.sign
        hit = np.flatnonzero(sign * self.columns["incumbent_mean"] >= sign * threshold - 1e-9)
        if len(hit) == 0:
            return math.inf, math.inf
        i = int(hit[0])
        return float(self.columns["evals"][i]), float(self.columns["finish_s"][i])

    def regret_at(self, times: np.ndarray, *, axis: Literal["time", "evals"] = "time") -> np.ndarray:
        """float ``(T,)``: the regret at each time (or evaluation count); NaN before the first incumbent."""
        x = self.columns["finish_s" if axis == "time" else "evals"]
        pos = np.searchsorted(x, np.asarray(times, dtype=np.float64), side="right") - 1
        out = np.full(len(pos), np.nan)
        ok = pos >= 0
        out[ok] = self.columns["regret"][pos[ok]]
        return out

    def to_frame(self) -> Any:
        """pandas DataFrame with the columns plus ``strategy`` and ``seed_id``."""
        import pandas as pd

        df = pd.DataFrame(self.columns)
        df.insert(0, "run_seed", int(self.meta.get("seed", -1)))
        df.insert(0, "strategy", str(self.meta.get("strategy", "")))
        return df

    @classmethod
    def from_frame(cls, frame: Any, meta: Mapping[str, Any]) -> Trajectory:
        cols = {c: frame[c].to_numpy() for c in COLUMNS}
        return cls(cols, dict(meta))

    def same_evaluations(self, other: Trajectory, *, costs: bool = True) -> bool:
        """Whether both runs evaluated the same architectures, epochs and seeds in the same order
        and saw the same values (surrogate wall time may differ).

        ``costs=False`` leaves out the charged seconds: a live search measures them, so a
        retrained evaluation costs a little more or less each time.
        """
        keys = ("trial", "arch", "epoch", "from_epoch", "seed", "valid_acc", "incumbent")
        keys += ("cost_s",) if costs else ()
        return len(self) == len(other) and all(
            np.array_equal(self.columns[k], other.columns[k], equal_nan=True) for k in keys
        )


def trajectory_columns(
    cols: Any,
    *,
    arch: np.ndarray,
    seed: np.ndarray,
    final_mean: np.ndarray,
    final_test: np.ndarray,
    optimum: float,
    max_epoch: int,
    direction: str = "max",
) -> dict[str, np.ndarray]:
    """The :data:`COLUMNS` of a run from its finished evaluations, in finish order.

    Args:
        cols: per-evaluation lists ``trial``, ``epoch``, ``from_epoch``, ``valid_acc``,
            ``cost_s``, ``units``, ``start_s``, ``finish_s``, ``overhead_s``.
        arch, seed: ``(n,)`` each evaluation's architecture and training seed (-1: seed mean).
        final_mean, final_test: ``(n,)`` the ground truth of each evaluation's architecture
            (seed-mean final objective and its test counterpart; NaN where unknown).
        optimum: best seed-mean final objective (NaN where unknown).
        max_epoch: the full evaluation's epoch (only those make an incumbent).
        direction: ``max`` (larger ``valid_acc`` is better) or ``min``.
    """
    trial = np.asarray(cols.trial, dtype=np.int64)
    n = len(trial)
    epoch = np.asarray(cols.epoch, dtype=np.int64)
    valid = np.asarray(cols.valid_acc, dtype=np.float64)
    sign = -1.0 if direction == "min" else 1.0
    # incumbent: best observed max-epoch objective so far (first one wins ties)
    score = np.where((epoch == max_epoch) & ~np.isnan(valid), sign * valid, -np.inf)
    prev_best = np.concatenate([[-np.inf], np.maximum.accumulate(score)[:-1]]) if n else score
    is_new = score > prev_best
    inc_pos = np.maximum.accumulate(np.where(is_new, np.arange(n), -1)) if n else np.zeros(0, np.int64)
    has = inc_pos >= 0
    safe = np.where(has, inc_pos, 0)
    inc_mean = np.where(has, np.asarray(final_mean, np.float64)[safe], np.nan)
    return {
        "step": np.arange(n, dtype=np.int64),
        "trial": trial,
        "arch": np.asarray(arch, dtype=np.int64),
        "epoch": epoch,
        "from_epoch": np.asarray(cols.from_epoch, dtype=np.int64),
        "seed": np.asarray(seed, dtype=np.int64),
        "valid_acc": valid,
        "cost_s": np.asarray(cols.cost_s, dtype=np.float64),
        "evals": np.cumsum(np.asarray(cols.units, dtype=np.float64)),
        "start_s": np.asarray(cols.start_s, dtype=np.float64),
        "finish_s": np.asarray(cols.finish_s, dtype=np.float64),
        "overhead_s": np.asarray(cols.overhead_s, dtype=np.float64),
        "incumbent": np.where(has, np.asarray(arch, np.int64)[safe], -1).astype(np.int64),
        "incumbent_valid": np.where(has, valid[safe], np.nan),
        "incumbent_mean": inc_mean,
        "regret": sign * (optimum - inc_mean),
        "incumbent_test": np.where(has, np.asarray(final_test, np.float64)[safe], np.nan),
    }


def run_info(
    strategy: AskTell, config: RunConfig, columns: Mapping[str, np.ndarray], reason: str
) -> dict[str, Any]:
    """The trajectory metadata every backend records: strategy, parameters, run config, totals."""
    n = len(columns["step"])
    return {
        "strategy": strategy.name or type(strategy).__name__,
        "params": jsonable(asdict(strategy.config), finite=False)
        if hasattr(strategy.config, "__dataclass_fields__")
        else {},
        **config.describe(),
        "stop_reason": reason,
        "n_evaluations": n,
        "sim_time_s": float(columns["finish_s"][-1]) if n else 0.0,
        "overhead_s": float(columns["overhead_s"][-1]) if n else 0.0,
        "strategy_stats": jsonable(strategy.stats(), finite=False),
    }


def seeded_generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent ``(strategy, runner)`` generators of a run seed."""
    s_strategy, s_runner = np.random.SeedSequence(int(seed)).spawn(2)
    return np.random.default_rng(s_strategy), np.random.default_rng(s_runner)


__all__ = ["COLUMNS", "TARGETS", "Trajectory", "run_info", "seeded_generators", "trajectory_columns"]
