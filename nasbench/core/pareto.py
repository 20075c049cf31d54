"""Several objectives: their spelling, constraints, Pareto ranks and the hypervolume.

An objective here is any named per-architecture quantity (a metric such as
``valid_acc``, or a per-architecture column such as ``params``, ``flops`` or
``latency_ms``) with a direction. The spelling is ``NAME[:max|:min]`` separated by
commas, e.g. ``valid_acc,params`` or ``valid_acc:max,params:min``. Without a direction,
accuracies and the larger-is-better estimator scores are maximised, everything else
(losses, params, flops, latency, time) minimised (:func:`default_direction`).

Arrays of points are float ``(n, k)``: one row per architecture, one column per
objective, in the objective's own units; ``maximize`` is a bool ``(k,)``. Ranks and the
hypervolume use `moocore <https://multi-objective.github.io/moocore/python/>`_ (exact
non-dominated sorting; exact hypervolume: O(n log n) in 2-D and 3-D).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from nasbench.core.errors import ConfigError

#: Columns that are larger-is-better without being accuracies (the estimator scores).
MAXIMISED_NAMES: frozenset[str] = frozenset(
    {"synflow", "grad_norm", "snip", "jacob_cov", "naswot", "oneshot", "score"}
)


def default_direction(name: str) -> Literal["max", "min"]:
    """``max`` for accuracies (``*_acc``, ``*acc``, ``accuracy``) and estimator scores, else ``min``."""
    base = name.split(":")[-1].lower()
    if base.endswith(("acc", "accuracy")) or base in MAXIMISED_NAMES:
        return "max"
    return "min"


@dataclass(frozen=True)
class Criterion:
    """One of several objectives: a column name and its direction.

    Attributes:
        name: a metric (``valid_acc``) or per-architecture column (``params``).
        direction: ``max`` or ``min``.
    """

    name: str
    direction: Literal["max", "min"] = "max"

    def __post_init__(self) -> None:
        if not self.name or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", self.name):
            raise ConfigError(f"objective name must be a column name, got {self.name!r}")
        if self.direction not in ("max", "min"):
            raise ConfigError(
                f"objective {self.name!r}: direction must be max or min, got {self.direction!r}"
            )

    @property
    def maximize(self) -> bool:
        return self.direction == "max"

    @property
    def sign(self) -> float:
        """``1.0`` for ``max``, ``-1.0`` for ``min``."""
        return 1.0 if self.maximize else -1.0

    def __str__(self) -> str:
        return f"{self.name}:{self.direction}"


def parse_objectives(text: str | Sequence[str]) -> tuple[Criterion, ...]:
    """``"valid_acc,params:min"`` -> ``(Criterion("valid_acc", "max"), Criterion("params", "min"))``.

    Raises:
        ConfigError: an empty list, a malformed entry, a repeated name or fewer than two objectives.
    """
    parts = [p.strip() for p in (text.split(",") if isinstance(text, str) else text)]
    out: list[Criterion] = []
    for p in parts:
        name, _, direction = p.partition(":")
        name = name.strip()
        if name == "arch":
            # ``arch:params`` spells the table's storage name of a per-architecture column
            name, _, direction = direction.partition(":")
        out.append(Criterion(name, (direction.strip() or default_direction(name))))  # type: ignore[arg-type]
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"--objectives names a column twice: {', '.join(names)}")
    if len(out) < 2:
        raise ConfigError(f"--objectives needs at least two objectives, e.g. valid_acc,params; got {text!r}")
    return tuple(out)


@dataclass(frozen=True)
class Constraint:
    """A bound on a per-architecture column: ``--max params=2e5`` keeps ``params <= 2e5``.

    Attributes:
        name: the column.
        bound: the limit (inclusive).
        kind: ``max`` (an upper bound) or ``min`` (a lower bound).
    """

    name: str
    bound: float
    kind: Literal["max", "min"] = "max"

    def __post_init__(self) -> None:
        if self.kind not in ("max", "min"):
            raise ConfigError(f"constraint kind must be max or min, got {self.kind!r}")
        if not math.isfinite(self.bound):
            raise ConfigError(f"constraint on {self.name!r}: the bound must be a finite number")

    def holds(self, values: np.ndarray) -> np.ndarray:
        """bool ``(n,)``: where the bound holds (NaN, an unknown value, never does)."""
        v = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return v <= self.bound if self.kind == "max" else v >= self.bound

    def __str__(self) -> str:
        return f"{self.name} {'<=' if self.kind == 'max' else '>='} {self.bound:g}"


def parse_constraints(maxima: Iterable[str] = (), minima: Iterable[str] = ()) -> tuple[Constraint, ...]:
    """``--max params=2e5 --min valid_acc=90`` as constraints.

    Raises:
        ConfigError: an entry that is not ``NAME=NUMBER``.
    """
    out = []
    for kind, items in (("max", maxima), ("min", minima)):
        for item in items or ():
            name, eq, value = str(item).partition("=")
            name = name.strip()
            if name.startswith("arch:"):
                name = name[len("arch:") :]
            try:
                bound = float(value)
            except ValueError:
                bound = math.nan
            if not eq or not name or not math.isfinite(bound):
                raise ConfigError(f"--{kind} takes NAME=NUMBER (e.g. params=2e5), got {item!r}")
            out.append(Constraint(name, bound, kind))  # type: ignore[arg-type]
    return tuple(out)


# ---- Pareto ranks and hypervolume ------------------------------------------------------------


def _minimising(points: np.ndarray, maximize: Sequence[bool] | np.ndarray) -> np.ndarray:
    """The points signed so that every objective is minimised, float ``(n, k)``."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2:
        raise ConfigError(f"points must be (n, objectives), got shape {p.shape}")
    mx = np.asarray(maximize, dtype=bool)
    if mx.shape != (p.shape[1],):
        raise ConfigError(f"maximize must have one entry per objective ({p.shape[1]}), got {mx.shape}")
    return np.where(mx, -p, p)


def pareto_ranks(points: np.ndarray, maximize: Sequence[bool] | np.ndarray) -> np.ndarray:
    """Non-dominated sorting: int64 ``(n,)``, 1 for the Pareto front, 2 for the front of
    what is left, ...; 0 for a point with a NaN (unranked).

    Equal points share a rank (neither dominates the other).
    """
    import moocore

    q = _minimising(points, maximize)
    ok = ~np.isnan(q).any(axis=1)
    out = np.zeros(len(q), dtype=np.int64)
    if ok.any():
        out[ok] = np.asarray(moocore.pareto_rank(q[ok]), dtype=np.int64) + 1
    return out


def pareto_front(points: np.ndarray, maximize: Sequence[bool] | np.ndarray) -> np.ndarray:
    """bool ``(n,)``: the non-dominated points (NaN rows never are)."""
    return pareto_ranks(points, maximize) == 1


def hypervolume(
    points: np.ndarray, reference: Sequence[float] | np.ndarray, maximize: Sequence[bool] | np.ndarray
) -> float:
    """The volume dominated by ``points`` and bounded by ``reference`` (0 for no point).

    Points with a NaN, or that do not strictly beat the reference in every objective,
    add nothing.
    """
    import moocore

    q = _minimising(points, maximize)
    mx = np.asarray(maximize, dtype=bool)
    ref = np.where(mx, -np.asarray(reference, dtype=np.float64), np.asarray(reference, dtype=np.float64))
    if ref.shape != (q.shape[1],):
        raise ConfigError(f"reference point must have {q.shape[1]} coordinates, got {ref.shape}")
    q = q[~np.isnan(q).any(axis=1)]
    q = q[(q < ref).all(axis=1)]
    if len(q) == 0:
        return 0.0
    return float(moocore.hypervolume(q, ref=ref))


def hypervolume_curve(
    points: np.ndarray, reference: Sequence[float] | np.ndarray, maximize: Sequence[bool] | np.ndarray
) -> np.ndarray:
    """float ``(n,)``: the hypervolume of the first ``i + 1`` points, for each ``i`` (anytime HV).

    Recomputed only when a point enters the current front, so a run of ``n`` points costs
    one hypervolume per front change.
    """
    q = _minimising(points, maximize)
    mx = np.asarray(maximize, dtype=bool)
    ref = np.where(mx, -np.asarray(reference, dtype=np.float64), np.asarray(reference, dtype=np.float64))
    out = np.zeros(len(q))
    front = np.empty((0, q.shape[1]))
    hv = 0.0
    for i, p in enumerate(q):
        if not np.isnan(p).any() and (p < ref).all():
            dominated = bool(len(front)) and bool(((front <= p).all(axis=1)).any())
            if not dominated:
                keep = ~((p <= front).all(axis=1))
                front = np.vstack([front[keep], p])
                hv = hypervolume(front, ref, np.zeros(q.shape[1], dtype=bool))
        out[i] = hv
    return out


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """float ``(n,)``: NSGA-II's crowding distance of points of one front (inf at the extremes).

    Each objective's contribution is the gap between a point's neighbours along it,
    divided by the objective's range; direction does not matter.
    """
    p = np.asarray(points, dtype=np.float64)
    n, k = p.shape
    out = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(k):
        order = np.argsort(p[:, j], kind="stable")
        col = p[order, j]
        span = col[-1] - col[0]
        out[order[0]] = out[order[-1]] = np.inf
        if span > 0 and np.isfinite(span):
            out[order[1:-1]] += (col[2:] - col[:-2]) / span
    return out
