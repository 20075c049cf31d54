"""Several objectives and constraints for ``search`` and ``compare`` (table and surrogate backends).

* Constraints (``--max params=2e5``, ``--min NAME=VALUE``) restrict the search: strategies
  see only the feasible architectures in their context, the runner refuses the others,
  and the optimum and targets are the feasible ones' (:meth:`Simulator.with_constraints`).
* Objectives (``--objectives valid_acc,params``): one of them is the table's objective,
  which the runner tells; the others must be per-architecture columns, known without
  training (``params``, ``flops``, ``latency_ms``), which the search context shows
  multi-objective strategies (:attr:`SearchContext.objectives`).
* The hypervolume of a run after each evaluation: the points are the full evaluations'
  seed-mean final objective and their secondary objectives, and the reference point is
  fixed for a table and its constraints: the worst value of each objective over the
  feasible architectures (the table's nadir), recorded in every summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.core.pareto import (
    hypervolume,
    hypervolume_curve,
    pareto_front,
    parse_constraints,
    parse_objectives,
)
from nasbench.tables.columns import column_values, feasible_rows, is_arch_column
from strategies.runner import Simulator, Trajectory


def constrain(sim: Simulator, maxima: Sequence[str] = (), minima: Sequence[str] = ()) -> Simulator:
    """``sim`` restricted by ``--max NAME=V`` / ``--min NAME=V`` (itself when there are none).

    Raises:
        ConfigError: a malformed bound, a name that is no column, or no feasible architecture.
    """
    cons = parse_constraints(maxima, minima)
    if not cons:
        return sim
    return sim.with_constraints(feasible_rows(sim.bench, cons), [str(c) for c in cons])


def with_objectives(sim: Simulator, objectives: str) -> Simulator:
    """``sim`` with the secondary objectives of ``--objectives`` (itself for an empty string).

    Raises:
        ConfigError: malformed objectives, no or a contradicting entry for the table's
            objective, or a secondary objective that is not a per-architecture column.
    """
    if not objectives:
        return sim
    crit = parse_objectives(objectives)
    table_obj = sim.objective
    primary = [c for c in crit if c.name == table_obj.metric]
    if not primary:
        raise ConfigError(
            f"--objectives must name the table's objective {table_obj.metric!r} (what the search is told), "
            f"got {objectives!r}"
        )
    if primary[0].direction != table_obj.direction:
        raise ConfigError(f"--objectives: this table's {table_obj.describe()}, not {primary[0]}")
    rest = [c for c in crit if c.name != table_obj.metric]
    for c in rest:
        column_values(sim.bench, c.name)  # one line for a name that is no column
        if not is_arch_column(sim.bench, c.name):
            raise ConfigError(
                f"--objectives: {c.name!r} is not known without training; a search's objectives besides "
                f"{table_obj.metric!r} must be per-architecture columns ({', '.join(sorted(sim.bench.table.arch_columns)) or 'none here'})"
            )
    values = np.column_stack([column_values(sim.bench, c.name) for c in rest])
    return sim.with_objectives([c.name for c in rest], [c.maximize for c in rest], values)


def describe(sim: Simulator) -> dict[str, Any]:
    """The objectives and reference point (``{}`` without several objectives), for summaries."""
    if sim.mo_values is None:
        return {}
    assert sim.mo_maximize is not None and sim.mo_reference is not None
    return {
        "objectives": [f"{n}:{'max' if m else 'min'}" for n, m in zip(sim.mo_names, sim.mo_maximize)],
        "reference_point": [float(x) for x in sim.mo_reference],
        "reference_rule": "the worst value of each objective over the (feasible) table",
        "table_front_hypervolume": table_hypervolume(sim),
    }


def table_hypervolume(sim: Simulator) -> float:
    """The hypervolume of the whole (feasible) table's Pareto front: the most any run can reach."""
    assert sim.mo_values is not None and sim.mo_maximize is not None and sim.mo_reference is not None
    pts = sim.mo_values[sim.feasible]
    return hypervolume(pts[pareto_front(pts, sim.mo_maximize)], sim.mo_reference, sim.mo_maximize)


def run_points(sim: Simulator, tr: Trajectory) -> np.ndarray:
    """float ``(n, k)``: each evaluation's objectives; NaN rows for lower fidelities."""
    pts = sim.objective_points(tr["arch"])
    pts[np.asarray(tr["epoch"]) != sim.max_epoch] = np.nan
    return pts


def run_hypervolume(sim: Simulator, tr: Trajectory) -> np.ndarray:
    """float ``(n,)``: the run's hypervolume after each evaluation."""
    assert sim.mo_maximize is not None and sim.mo_reference is not None
    return hypervolume_curve(run_points(sim, tr), sim.mo_reference, sim.mo_maximize)


def run_front(sim: Simulator, tr: Trajectory) -> list[dict[str, Any]]:
    """The run's Pareto front of full evaluations: ``[{"index", "arch", <objective>: value}]``."""
    assert sim.mo_maximize is not None
    pts = run_points(sim, tr)
    archs = np.asarray(tr["arch"])
    _, first = np.unique(archs, return_index=True)
    first = np.sort(first)
    pts, archs = pts[first], archs[first]
    front = pareto_front(pts, sim.mo_maximize)
    order = np.argsort(-pts[front, 0] if sim.mo_maximize[0] else pts[front, 0], kind="stable")
    space = sim.context.space
    return [
        {"index": int(a), "arch": space.to_str(int(a)), **{n: float(v) for n, v in zip(sim.mo_names, p)}}
        for a, p in zip(archs[front][order], pts[front][order])
    ]


def hv_at(curve: np.ndarray, x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """float ``(T,)``: the hypervolume at each grid point (0 before the first evaluation)."""
    pos = np.searchsorted(np.asarray(x, np.float64), grid, side="right") - 1
    return np.where(pos >= 0, curve[np.clip(pos, 0, None)], 0.0) if len(curve) else np.zeros(len(grid))


def summarize_hypervolume(sim: Simulator, runs: Sequence[Trajectory]) -> dict[str, Any]:
    """Per strategy: the final hypervolume (mean and 95% interval), also as a fraction of the
    table front's; with the curves for :func:`plot_hypervolume`."""
    from nasbench.experiments import report

    top = table_hypervolume(sim)
    out: dict[str, Any] = {}
    for name, group in report.group(runs).items():
        finals = [float(run_hypervolume(sim, t)[-1]) if len(t) else 0.0 for t in group]
        out[name] = {
            "final_hypervolume": report.mean_ci(finals),
            "final_fraction_of_table_front": report.mean_ci(np.asarray(finals) / top if top > 0 else []),
        }
    return out


def plot_hypervolume(
    sim: Simulator, runs: Sequence[Trajectory], path: str | Path, *, title: str = ""
) -> None:
    """PNG: mean hypervolume with a 95% band against simulated time and evaluations (top row),
    and its gap to the table front's on a log scale, where late differences show (bottom row)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nasbench.core.io import atomic_path
    from nasbench.experiments import report

    top = table_hypervolume(sim)
    groups = report.group(runs)
    curves = {name: [(t, run_hypervolume(sim, t)) for t in g] for name, g in groups.items()}
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), constrained_layout=True)
    for j, (col, label) in enumerate((("finish_s", "simulated time (s)"), ("evals", "full evaluations"))):
        xs = [t[col] for g in curves.values() for t, _ in g if len(t)]
        if not xs:
            continue
        lo_x = max(min(float(x[0]) for x in xs), 1e-9)
        hi_x = max(float(x[-1]) for x in xs)
        grid = np.geomspace(lo_x, max(hi_x, lo_x * 1.001), 200)
        for name, g in curves.items():
            mat = np.vstack([hv_at(c, t[col], grid) for t, c in g])
            for i, m in enumerate((mat, top - mat)):
                mean, lo, hi = report.band(m)
                (line,) = axes[i, j].plot(grid, mean, label=f"{name} (n={len(g)})")
                axes[i, j].fill_between(grid, lo, hi, color=line.get_color(), alpha=0.2)
        axes[0, j].axhline(top, color="k", ls="--", lw=0.8, label="table front")
        axes[1, j].set_yscale("log")
        for i in range(2):
            axes[i, j].set_xscale("log")
            axes[i, j].set_xlabel(label)
            axes[i, j].grid(True, which="both", alpha=0.3)
        axes[0, j].set_ylabel("hypervolume (" + ", ".join(sim.mo_names) + ")")
        axes[1, j].set_ylabel("table front's hypervolume - run's")
    axes[0, 0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
