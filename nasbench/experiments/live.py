"""``nasbench search --evaluator train``: one strategy, trained for real, and its run folder.

The training backend itself is :class:`nasbench.train.live.TrainEvaluator` (beside the
trainer); :func:`nasbench.experiments.evaluators.open_evaluator` opens it, and the one
search loop drives it. This module writes what a live search leaves behind: the
trajectory, the grown table, a leaderboard and the summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import NasbenchError
from nasbench.core.io import write_json
from nasbench.evaluation.run import RunConfig
from nasbench.evaluation.trajectory import Trajectory
from nasbench.experiments.evaluators import EvaluatorSpec, open_evaluator
from nasbench.experiments.storage import write_trajectory
from nasbench.tables.table import ResultTable
from nasbench.train.live import (
    LiveConfig,
    LiveEvaluator,
    LiveStats,
    TrainEvaluator,
    live_context,
    make_live_config,
)


def search_live(
    config: LiveConfig,
    strategy: str,
    *,
    seed: int,
    run: RunConfig,
    params: Mapping[str, Any] | None = None,
    surrogate: str | None = None,
    resume: bool = False,
    leaderboard_surrogate: str | None = "rf",
    progress: Callable[[dict[str, Any]], None] | None = None,
    objectives: str = "",
    maxima: Sequence[str] = (),
    minima: Sequence[str] = (),
) -> tuple[Trajectory, dict[str, Any]]:
    """Run one strategy with the ``train`` backend; write the run directory; return a summary.

    ``config.out`` receives ``trajectory.parquet``, ``table.parquet`` (the grown table),
    ``leaderboard.csv`` (the space ranked by ``leaderboard_surrogate`` fitted on the grown
    table, when it has enough full runs; None: no leaderboard), ``summary.json`` and the
    cache (shards, checkpoints). ``objectives``, ``maxima``, ``minima``: as ``search`` on a
    table; they read their per-architecture columns from ``config.reference``.

    The summary's values are in the units of the search's objective (the reference
    table's); its incumbent keys name the metric (``observed_valid_acc``,
    ``mean_valid_acc``, ``test_acc`` by default).

    Raises:
        NasbenchError: bad input, before anything is trained.
    """
    from strategies.runner import run_search

    t0 = time.perf_counter()
    spec = EvaluatorSpec(
        "train", live=config, objectives=objectives, maxima=tuple(maxima), minima=tuple(minima)
    )
    key = {
        "strategy": strategy,
        "seed": int(seed),
        **run.describe(),
        "params": dict(params or {}),
        "surrogate": surrogate,
        "workers": config.workers,
        "train_seeds": list(config.train_seeds),
        "inherit": config.inherit,
        "inherit_epochs": config.inherit_epochs if config.inherit else None,
        # what the strategy sees decides what it trains (absent when none: older runs resume)
        **({"scores": [str(f) for f in config.scores]} if config.scores else {}),
        **({"objectives": objectives} if objectives else {}),
        **({"constraints": {"max": list(maxima), "min": list(minima)}} if maxima or minima else {}),
    }
    ev = open_evaluator(spec, key=key, resume=resume)
    assert isinstance(ev, TrainEvaluator)
    try:
        traj = run_search(
            ev, strategy, seed=seed, config=run, params=params, surrogate=surrogate, progress=progress
        )
    finally:
        ev.close()
    out = config.out
    write_trajectory(out / "trajectory.parquet", traj)
    table = ev.grown_table()
    board: dict[str, Any] | None = None
    if table is not None:
        table.save(out / "table.parquet")
        if leaderboard_surrogate is not None:
            board = _leaderboard(out, table, leaderboard_surrogate)
    inc = int(traj["incumbent"][-1]) if len(traj) else -1
    st = ev.stats
    objective = ev.objective
    metric = objective.metric
    truth = ev.truth
    summary: dict[str, Any] = {
        "evaluator": "train",
        "dataset": config.dataset,
        "space": config.space,
        "strategy": strategy,
        "seed": int(seed),
        **run.describe(),
        "workers": config.workers,
        "executor": config.executor,
        "inherit": config.inherit,
        "objective": objective.to_dict(),
        "evaluations": len(traj),
        "trained_evaluations": st.trained_evaluations,
        "cached_evaluations": st.cached_evaluations,
        "training_s": round(st.train_s, 3),
        "eval_s": round(st.eval_s, 3),
        "compile_s": round(st.compile_s, 3),
        "surrogate_s": round(float(traj.meta.get("overhead_s", 0.0)), 3),
        "wall_s": round(time.perf_counter() - t0, 3),
        "stop_reason": traj.meta.get("stop_reason"),
        "optimum": truth.optimum,
        "incumbent": None
        if inc < 0
        else {
            "index": inc,
            "arch": ev.space.to_str(inc),
            f"observed_{metric}": float(traj["incumbent_valid"][-1]),
            f"mean_{metric}": float(traj["incumbent_mean"][-1]),
            "regret": float(traj["regret"][-1]),
            objective.test_metric or "test": float(traj["incumbent_test"][-1]),
            "truth": traj.meta.get("truth"),
        },
        "live": st.as_dict(),
        "table_rows": None if table is None else int(table.n_archs),
        "leaderboard": board,
        "out": str(out),
    }
    if truth.constraints:
        summary["constraints"] = list(truth.constraints)
    if getattr(truth, "mo_values", None) is not None:
        from nasbench.experiments import multiobjective as mo

        curve = mo.run_hypervolume(truth, traj)
        summary["multiobjective"] = {
            **mo.describe(truth),
            "hypervolume": float(curve[-1]) if len(curve) else 0.0,
            "front": mo.run_front(truth, traj),
        }
    write_json(out / "summary.json", summary)
    return traj, summary


def _leaderboard(out: Path, table: ResultTable, surrogate: str) -> dict[str, Any] | None:
    """Rank the space with a surrogate fitted on the grown table (needs some full runs)."""
    from nasbench.experiments.leaderboard import LeaderboardConfig, leaderboard

    full = int(
        np.isfinite(np.asarray(table.values)[:, :, -1, table.metric_position("valid_acc")]).any(1).sum()
    )
    if full < 10:
        return {"skipped": f"only {full} architecture(s) trained to the last epoch; 10 are needed"}
    try:
        res = leaderboard(
            LeaderboardConfig(surrogate=surrogate, top=100),
            out / "leaderboard.csv",
            table=out / "table.parquet",
        )
    except NasbenchError as exc:
        return {"skipped": str(exc)}
    return {"out": str(out / "leaderboard.csv"), "surrogate": surrogate, "ranked": res.get("ranked")}


__all__ = [
    "LiveConfig",
    "LiveEvaluator",
    "LiveStats",
    "TrainEvaluator",
    "live_context",
    "make_live_config",
    "search_live",
]
