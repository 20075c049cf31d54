"""Library functions behind ``nasbench search`` on the table and surrogate backends (the CLI
only parses and prints; the train backend's is :func:`nasbench.experiments.live.search_live`)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nasbench.core.io import check_output_file
from nasbench.experiments.evaluators import context_scores, load_simulator
from nasbench.experiments.storage import write_trajectory
from nasbench.tables.benchmark import Benchmark
from nasbench.tables.table import ResultTable
from strategies.runner import RunConfig, Simulator, Trajectory, run_search


def search_table(
    table: str | os.PathLike[str] | Simulator,
    strategy: str,
    *,
    seed: int,
    config: RunConfig,
    params: Mapping[str, Any] | None = None,
    surrogate: str | None = None,
    out: str | os.PathLike[str] | None = None,
    scores: Sequence[str | os.PathLike[str]] = (),
    objectives: str = "",
    maxima: Sequence[str] = (),
    minima: Sequence[str] = (),
) -> tuple[Trajectory, dict[str, Any]]:
    """Run one strategy on a table file (or a prepared simulator); return its trajectory and a
    JSON-ready summary. ``scores``: score files the strategy sees (``--scores``);
    ``objectives``, ``maxima``, ``minima``: several objectives (``--objectives``: the summary
    adds the run's Pareto front and hypervolume) and constraints (``--max``, ``--min``).

    The summary's values are in the units of the table's objective; its incumbent keys
    name the metric (``observed_valid_acc``, ``mean_valid_acc``, ``test_acc`` on an
    accuracy table; ``observed_valid_loss``, ``mean_valid_loss``, ``test_loss`` on one that
    minimises ``valid_loss``), and ``objective`` says which it is and its direction.

    Raises:
        NasbenchError: bad input, before the run starts.
    """
    if out is not None:
        check_output_file(out)  # before the search, not after it
    if isinstance(table, Simulator):
        sim = table.with_scores(*context_scores(table.context.space, scores)) if scores else table
    else:
        sim = load_simulator(table, scores=scores)
    if objectives or maxima or minima:
        from nasbench.experiments import multiobjective as mo

        sim = mo.with_objectives(mo.constrain(sim, maxima, minima), objectives)
    tr = run_search(sim, strategy, seed=seed, config=config, params=params, surrogate=surrogate)
    if out is not None:
        write_trajectory(out, tr)
    space = sim.context.space
    objective = sim.objective
    metric = objective.metric
    inc = int(tr["incumbent"][-1]) if len(tr) else -1
    summary: dict[str, Any] = {
        "table": None if isinstance(table, Simulator) else str(Path(table)),
        "strategy": strategy,
        "seed": seed,
        **config.describe(),
        "params": tr.meta.get("params", {}),
        "scores": [str(f) for f in scores],
        "evaluations": len(tr),
        "full_evaluations": float(tr["evals"][-1]) if len(tr) else 0.0,
        "sim_time_s": float(tr["finish_s"][-1]) if len(tr) else 0.0,
        "surrogate_time_s": float(tr.meta.get("overhead_s", 0.0)),
        "stop_reason": tr.meta.get("stop_reason"),
        "strategy_stats": tr.meta.get("strategy_stats", {}),
        "objective": objective.to_dict(),
        "optimum": sim.optimum,
        "incumbent": None
        if inc < 0
        else {
            "index": inc,
            "arch": space.to_str(inc),
            f"observed_{metric}": float(tr["incumbent_valid"][-1]),
            f"mean_{metric}": float(tr["incumbent_mean"][-1]),
            "regret": float(tr["regret"][-1]),
            objective.test_metric or "test": float(tr["incumbent_test"][-1]),
        },
        "reached": {},
        "out": None if out is None else str(out),
    }
    if sim.constraints:
        summary["constraints"] = list(sim.constraints)
    if sim.mo_values is not None:
        from nasbench.experiments import multiobjective as mo

        curve = mo.run_hypervolume(sim, tr)
        summary["multiobjective"] = {
            **mo.describe(sim),
            "hypervolume": float(curve[-1]) if len(curve) else 0.0,
            "front": mo.run_front(sim, tr),
        }
    for name, thr in sim.targets.items():
        ev, ts = tr.hitting(thr)
        summary["reached"][name] = {
            "threshold": thr,
            "evals": None if math.isinf(ev) else ev,
            "time_s": None if math.isinf(ts) else ts,
        }
    return tr, summary


def search_predicted(
    table: str | os.PathLike[str],
    strategy: str,
    *,
    model: str,
    seed: int,
    config: RunConfig,
    params: Mapping[str, Any] | None = None,
    surrogate: str | None = None,
    out: str | os.PathLike[str] | None = None,
    scores: Sequence[str | os.PathLike[str]] = (),
    objectives: str = "",
    maxima: Sequence[str] = (),
    minima: Sequence[str] = (),
) -> tuple[Trajectory, dict[str, Any]]:
    """Run one strategy on the predictions of ``model`` fitted on ``table``; summary as ``search``'s,
    plus the incumbent's measured seed-mean values. ``objectives``, ``maxima``, ``minima``:
    as :func:`nasbench.experiments.search.search_table`'s, on the predicted table."""
    measured = ResultTable.load(table)
    sim = load_simulator(table, model=model)
    traj, summary = search_table(
        sim,
        strategy,
        seed=seed,
        config=config,
        params=params,
        surrogate=surrogate,
        out=out,
        scores=scores,
        objectives=objectives,
        maxima=maxima,
        minima=minima,
    )
    summary.update(evaluator="surrogate", model=model, table=str(Path(table)))
    inc = summary.get("incumbent")
    if inc:
        mb = Benchmark(measured)
        metric = mb.objective.metric
        known = bool(mb.covered()[inc["index"]])
        inc[f"predicted_{metric}"] = inc.pop(f"mean_{metric}")
        inc[f"measured_mean_{metric}"] = (
            float(mb.values_at(metric, mb.max_epoch)[mb.rows([inc["index"]])[0]]) if known else None
        )
        inc.pop("regret", None)
    return traj, summary
