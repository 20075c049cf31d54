"""``nasbench explore``: the main job on the embedded default table, in under two minutes.

It loads the shipped digits table (or ``--table``), fits the default surrogate on it and
writes a leaderboard of the whole space, compares the main strategies over a few seeds
with the simulated clock, and exports everything into one folder:

* ``leaderboard.md`` / ``leaderboard.csv`` / ``leaderboard.png`` -- the top architectures
  by predicted final accuracy, with uncertainty and measured values;
* ``compare/`` -- the comparison (``regret.png``, ``summary.md``, ``summary.json``,
  ``trajectories.parquet``, per-run files);
* ``explore.json`` -- the summary printed on screen, machine-readable.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import surrogates
from nasbench.core.io import atomic_path, atomic_write_text, make_dirs, write_json
from nasbench.experiments.compare import CompareConfig, Evaluator, compare, prepare
from nasbench.experiments.leaderboard import LeaderboardConfig, fit_on_table, leaderboard, render
from nasbench.tables.benchmark import Benchmark
from nasbench.tables.table import ResultTable
from strategies.errors import StrategyConfigError
from strategies.runner import Budget, RunConfig

#: The main strategies explore compares (non-surrogate baselines, multi-fidelity, surrogate-guided).
MAIN_STRATEGIES: tuple[str, ...] = ("rs", "re", "ls", "hb", "re+es", "screened")
#: What explore compares with ``--objectives``: multi-objective random search and evolution.
MO_STRATEGIES: tuple[str, ...] = ("mo-rs", "mo-re")

#: Strategy parameters explore sets: early stopping's surrogate refits warm-started (its
#: stacking weights and calibration kept until the full curves doubled), which cut re+es's
#: surrogate time, the largest share of the job, by a third (benchmarks/STRATEGIES.md).
MAIN_PARAMS: dict[str, dict[str, Any]] = {"re+es": {"es.surrogate.warm_start": True}}


@dataclass(frozen=True)
class ExploreConfig:
    """Attributes:
    out: output folder.
    table: table file (default: the shipped digits table).
    strategies: strategies to compare.
    seeds: runs per strategy.
    budget: per run (full evaluations, or simulated time such as ``"2e4s"``).
    top: leaderboard entries.
    processes: worker processes for the comparison.
    params: per strategy name, its parameters (default: :data:`MAIN_PARAMS`; names not
        compared are ignored).
    objectives: several objectives (``valid_acc,params``): the leaderboard adds Pareto
        ranks and the front's plot, the comparison the hypervolume.
    maxima, minima: constraints ``NAME=VALUE`` for both.
    """

    out: Path = Path("nasbench-out")
    table: Path | None = None
    strategies: tuple[str, ...] = MAIN_STRATEGIES
    seeds: int = 10
    budget: str = "100"
    top: int = 50
    processes: int = 2
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: dict(MAIN_PARAMS))
    objectives: str = ""
    maxima: tuple[str, ...] = ()
    minima: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (isinstance(self.seeds, int) and self.seeds >= 1):
            raise StrategyConfigError(f"--seeds must be a positive integer, got {self.seeds!r}")


def resolve_table(table: str | os.PathLike[str] | None) -> Path:
    """The given table, or the shipped default (``nasbench.tables.default.default_table_path``)."""
    if table is not None:
        return Path(table)
    from nasbench.tables.default import default_table_path

    return Path(default_table_path())


def explore(config: ExploreConfig) -> dict[str, Any]:
    """Run the main job; return the summary (also written to ``explore.json``).

    Raises:
        NasbenchError: bad input (missing table, bad budget, ...).
    """
    t0 = time.perf_counter()
    table = resolve_table(config.table)
    t = ResultTable.load(table)
    bench = Benchmark(t)
    run = RunConfig(Budget.parse(config.budget))
    params = {k: dict(v) for k, v in config.params.items() if k in config.strategies}
    evaluator = Evaluator(objectives=config.objectives, maxima=config.maxima, minima=config.minima)
    cmp_cfg = CompareConfig(
        tuple(config.strategies),
        config.seeds,
        run,
        params=params,
        processes=config.processes,
        evaluator=evaluator,
    )
    out = Path(config.out)
    prepare(table, out / "compare", cmp_cfg)  # every input error before any work
    make_dirs(out)

    # The leaderboard's surrogate fit runs in its own process while the comparison runs:
    # on 2 cores the two overlap instead of queueing.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    name = surrogates.DEFAULT_SURROGATE
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        lb_cfg = LeaderboardConfig(
            surrogate=name,
            top=config.top,
            fmt="md",
            objectives=config.objectives,
            maxima=config.maxima,
            minima=config.minima,
        )
        lb_future = pool.submit(_leaderboard_job, str(table), str(out), lb_cfg)
        cmp = compare(table, out / "compare", cmp_cfg)  # 2. the strategies, on the simulated clock
        board, fit_s = lb_future.result()  # 1. the surrogate on the whole table, and its leaderboard

    objective = bench.objective
    metric = objective.metric
    best_arch, best_val = bench.best(metric, bench.max_epoch)
    top = board["entries"][0]
    strategies = {
        k: {
            "final_regret": v["final_regret"]["mean"],
            "final_regret_ci": [v["final_regret"]["lo"], v["final_regret"]["hi"]],
            "evals_to_top1": v["targets"]["top1"]["evals"]["median"],
            "reached_top1": v["targets"]["top1"]["evals"]["reached"],
            "mean_rank": v["mean_rank"]["mean"],
        }
        for k, v in cmp["strategies"].items()
    }
    summary = {
        "table": str(table),
        "dataset": t.metadata.get("dataset"),
        "archs": t.n_archs,
        "epochs": t.epochs.tolist(),
        **({} if objective.is_default else {"objective": objective.to_dict()}),
        "best_measured": {"arch": bench.space.to_str(best_arch), metric: best_val},
        "surrogate": {"name": name, "fit_s": fit_s},
        "best_predicted": {
            "arch": top["arch"],
            f"predicted_{metric}": top[f"predicted_{metric}"],
            "predicted_std": top["predicted_std"],
            f"measured_{metric}": top[f"measured_{metric}"],
        },
        "compare": {"budget": str(run.budget), "seeds": config.seeds, "strategies": strategies},
        **_several_objectives(board, cmp),
        "files": {
            "leaderboard": [str(out / f) for f in ("leaderboard.md", "leaderboard.csv", "leaderboard.png")],
            "compare": [
                cmp["files"][k] for k in ("summary.md", "regret.png", "summary.json", "trajectories.parquet")
            ],
            "summary": str(out / "explore.json"),
        },
        "wall_s": time.perf_counter() - t0,
    }
    write_json(out / "explore.json", summary)
    return summary


def _several_objectives(board: Mapping[str, Any], cmp: Mapping[str, Any]) -> dict[str, Any]:
    """The summary's multi-objective part: the leaderboard's front and the hypervolumes."""
    if "multiobjective" not in cmp and "pareto" not in board:
        return {}
    out: dict[str, Any] = {}
    if "pareto" in board:
        p = board["pareto"]
        out["pareto"] = {"objectives": p["objectives"], "front_size": len(p["front"]), "files": p["files"]}
    if "multiobjective" in cmp:
        m = cmp["multiobjective"]
        out["hypervolume"] = {
            "reference_point": m["reference_point"],
            "table_front": m["table_front_hypervolume"],
            "final": {k: v["final_hypervolume"] for k, v in m["strategies"].items()},
        }
    if "constraints" in cmp:
        out["constraints"] = cmp["constraints"]
    return out


def _leaderboard_job(table: str, out: str, config: LeaderboardConfig) -> tuple[dict[str, Any], float]:
    """Fit the default surrogate on the table; write leaderboard.{md,csv,png} (and the Pareto
    ranks and front, ``leaderboard.pareto.{csv,png}``, with objectives)."""
    t = ResultTable.load(table)
    name = config.surrogate
    t_fit = time.perf_counter()
    model = fit_on_table(name, Benchmark(t), random_state=0)
    fit_s = time.perf_counter() - t_fit
    o = Path(out)
    board = leaderboard(
        config,
        o / "leaderboard.md",
        table=table,
        model=model,
        provenance={"model_kind": f"surrogate {name!r} fitted on the table", "random_state": 0},
    )
    atomic_write_text(o / "leaderboard.csv", render(board["entries"], board["provenance"], "csv"))
    plot_leaderboard(board["entries"], o / "leaderboard.png", t.objective.metric)
    return board, fit_s


def plot_leaderboard(entries: list[dict[str, Any]], path: Path, metric: str = "valid_acc") -> None:
    """PNG: the predicted objective (with one standard deviation) by rank, and the measured
    value where known (``metric``: the objective, whose entry fields it reads)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rank = np.array([e["rank"] for e in entries])
    pred = np.array([_f(e[f"predicted_{metric}"]) for e in entries])
    std = np.array([_f(e["predicted_std"]) for e in entries])
    meas = np.array([_f(e[f"measured_{metric}"]) for e in entries])
    fig, ax = plt.subplots(figsize=(9, 4), constrained_layout=True)
    ax.errorbar(rank, pred, yerr=np.nan_to_num(std), fmt="o", ms=3, capsize=2, label="predicted (±1 sd)")
    ok = ~np.isnan(meas)
    ax.plot(rank[ok], meas[ok], "x", color="C3", label="measured (seed mean)")
    ax.set_xlabel("leaderboard rank")
    ax.set_ylabel("final validation accuracy (%)" if metric == "valid_acc" else f"final {metric}")
    ax.legend()
    ax.grid(True, alpha=0.3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def _f(x: Any) -> float:
    return math.nan if x is None else float(x)
