"""``nasbench compare``: many strategies x many seeds on one table, spread over processes.

Writes into the output folder:

* ``compare.json`` -- the configuration (a rerun with the same folder must match it);
* ``runs/<strategy>/seed-NNNN.parquet`` -- one file per finished run, written atomically
  as soon as the run ends, so an interrupted comparison keeps what it finished and a
  rerun resumes the rest;
* ``trajectories.parquet`` -- all runs in one long table;
* ``regret.png`` -- mean anytime regret with 95% bands against simulated time and evaluations;
* ``summary.md`` and ``summary.json`` -- final regret, evaluations and simulated time to
  the top 1% / 0.1% and the optimum, mean ranks, all with confidence intervals.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasbench.core.io import atomic_write_text, make_dirs, write_json
from nasbench.core.manifest import check_manifest, write_manifest
from nasbench.experiments import report
from nasbench.experiments.storage import read_trajectory, run_file, write_all, write_trajectory
from nasbench.tables.benchmark import Benchmark, TestOracle
from nasbench.tables.table import ResultTable
from strategies.errors import StrategyConfigError
from strategies.registry import parse_name, validate
from strategies.runner import RunConfig, Simulator, Trajectory, run_search

log = logging.getLogger(__name__)

MANIFEST = "compare.json"


@dataclass(frozen=True)
class CompareConfig:
    """What ``compare`` runs.

    Attributes:
        strategies: registered names (with modifiers, e.g. ``re+es``), in report order.
        seeds: runs per strategy (seeds ``first_seed .. first_seed + seeds - 1``).
        run: budget, workers, noise of every run.
        params: per strategy name, its parameters.
        surrogate: surrogate name for the strategies that use one (default: theirs).
        processes: worker processes (1 = in this process).
        first_seed: the first run seed.
    """

    strategies: tuple[str, ...]
    seeds: int
    run: RunConfig
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    surrogate: str | None = None
    processes: int = 2
    first_seed: int = 0

    def __post_init__(self) -> None:
        if not self.strategies:
            raise StrategyConfigError("compare needs at least one strategy")
        if len(set(self.strategies)) != len(self.strategies):
            raise StrategyConfigError(f"strategies are listed twice: {', '.join(self.strategies)}")
        for name in self.strategies:
            parse_name(name)
        unknown = sorted(set(self.params) - set(self.strategies))
        if unknown:
            raise StrategyConfigError(f"parameters given for strategies not compared: {', '.join(unknown)}")
        if not (isinstance(self.seeds, int) and self.seeds >= 1):
            raise StrategyConfigError(f"seeds must be a positive integer, got {self.seeds!r}")
        if not (isinstance(self.processes, int) and self.processes >= 1):
            raise StrategyConfigError(f"processes must be a positive integer, got {self.processes!r}")

    def seed_list(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.seeds))

    def manifest(self, table: str, table_hash: str | None) -> dict[str, Any]:
        """What must match for a rerun into the same folder to resume."""
        return {
            "kind": "nasbench-compare",
            "table": table,
            "table_hash": table_hash,
            "run": self.run.describe(),
            "params": {k: dict(v) for k, v in sorted(self.params.items())},
            "surrogate": self.surrogate,
        }


# ---- worker side -----------------------------------------------------------------------------

_SIMS: dict[str, Simulator] = {}


def load_simulator(table: str | os.PathLike[str]) -> Simulator:
    """A simulator of a table file, cached per process (inherited by forked workers)."""
    key = str(Path(table).resolve())
    sim = _SIMS.get(key)
    if sim is None:
        t = ResultTable.load(key)
        sim = _SIMS[key] = Simulator(Benchmark(t), TestOracle(t))
    return sim


@dataclass(frozen=True)
class Variant:
    """One configuration that runs over many seeds (a strategy in ``compare``, a cell in ``ablate``).

    Attributes:
        label: name in reports, and the folder of its run files.
        strategy: registered strategy name (with modifiers).
        params: strategy parameters.
        surrogate: surrogate name, or ``None`` for the strategy's default.
        run: budget, workers, noise.
    """

    label: str
    strategy: str
    params: Mapping[str, Any]
    surrogate: str | None
    run: RunConfig


def _run_batch(table: str, out: str, tasks: Sequence[tuple[Variant, int]]) -> int:
    sim = load_simulator(table)
    for v, seed in tasks:
        tr = run_search(sim, v.strategy, seed=seed, config=v.run, params=v.params, surrogate=v.surrogate)
        tr.meta["strategy"] = v.label
        tr.meta["registry_name"] = v.strategy
        write_trajectory(run_file(Path(out), v.label, seed), tr)
    return len(tasks)


def run_variants(
    table: str,
    out: Path,
    variants: Sequence[Variant],
    seeds: Sequence[int],
    *,
    processes: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Trajectory], int]:
    """Run every variant on every seed, skipping runs whose file already exists.

    Returns:
        All runs (variant-major, then seed) and how many were resumed from files.
    """
    all_tasks = [(v, s) for v in variants for s in seeds]
    todo = [(v, s) for v, s in all_tasks if not _complete(run_file(out, v.label, s))]
    resumed = len(all_tasks) - len(todo)
    for v in variants:
        make_dirs(run_file(out, v.label, 0).parent)
    if progress:
        progress(resumed, len(all_tasks))
    _execute(table, out, todo, processes, progress, resumed, len(all_tasks))
    return [read_trajectory(run_file(out, v.label, s)) for v, s in all_tasks], resumed


# ---- orchestration ---------------------------------------------------------------------------


def prepare(table: str | os.PathLike[str], out: str | os.PathLike[str], config: CompareConfig) -> Simulator:
    """Check everything before any run: table, strategies and their parameters, budget,
    fidelities, and the output folder's earlier configuration.

    Raises:
        NasbenchError subclasses with a one-line message.
    """
    sim = load_simulator(table)
    sim.check_budget(config.run.budget)
    for name in config.strategies:
        validate(name, sim.context, config.params.get(name), config.surrogate)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StrategyConfigError(f"--out {out} exists and is not a folder")
    check_manifest(
        out / MANIFEST,
        config.manifest(str(Path(table).resolve()), sim.table_hash),
        what="a comparison",
        hint="use another --out folder or remove it",
        error=StrategyConfigError,
    )
    return sim


def compare(
    table: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: CompareConfig,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a comparison and write its reports.

    Args:
        table: result table file.
        out: output folder (created).
        config: strategies, seeds, run settings.
        progress: called with ``(runs done, runs total)`` as runs finish.

    Returns:
        The JSON summary (also written to ``summary.json``).

    Raises:
        NasbenchError subclasses for bad input, before any run starts.
    """
    t0 = time.perf_counter()
    sim = prepare(table, out, config)
    out = Path(out)
    make_dirs(out / "runs")
    table_s = str(Path(table).resolve())
    write_manifest(out / MANIFEST, config.manifest(table_s, sim.table_hash))

    variants = [
        Variant(n, n, dict(config.params.get(n, {})), config.surrogate, config.run) for n in config.strategies
    ]
    runs, resumed = run_variants(
        table_s, out, variants, config.seed_list(), processes=config.processes, progress=progress
    )
    write_all(out / "trajectories.parquet", runs)
    summary = report.summarize(runs, sim.targets)
    header = {
        "table": table_s,
        "table_hash": sim.table_hash,
        "strategies": ", ".join(config.strategies),
        "seeds": f"{config.seeds} (from {config.first_seed})",
        "budget": str(config.run.budget),
        "workers": config.run.workers,
        "noise": config.run.noise,
        "optimum (valid acc %)": round(sim.optimum, 4),
        "top 1% / top 0.1% thresholds": f"{sim.targets['top1']:.3f} / {sim.targets['top0.1']:.3f}",
    }
    report.plot_regret(
        runs, out / "regret.png", title=f"{Path(table).name}: {config.run.budget}, {config.seeds} seeds"
    )
    atomic_write_text(out / "summary.md", report.summary_markdown(summary, header))
    result = {
        "table": table_s,
        "table_hash": sim.table_hash,
        "config": {
            "strategies": list(config.strategies),
            "seeds": config.seeds,
            "first_seed": config.first_seed,
            **config.run.describe(),
            "params": {k: dict(v) for k, v in config.params.items()},
            "surrogate": config.surrogate,
            "processes": config.processes,
        },
        "optimum": sim.optimum,
        "targets": sim.targets,
        "runs": len(runs),
        "resumed_runs": resumed,
        "wall_s": time.perf_counter() - t0,
        "files": {
            k: str(out / k) for k in ("trajectories.parquet", "regret.png", "summary.md", "summary.json")
        },
        "strategies": summary,
    }
    write_json(out / "summary.json", result)
    return result


def _complete(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        read_trajectory(path)
    except Exception:  # a damaged file is simply run again
        return False
    return True


def _execute(
    table: str,
    out: Path,
    todo: list[tuple[Variant, int]],
    processes: int,
    progress: Callable[[int, int], None] | None,
    done: int,
    total: int,
) -> None:
    if not todo:
        return
    if processes == 1 or len(todo) == 1:
        for task in todo:
            done += _run_batch(table, str(out), [task])
            if progress:
                progress(done, total)
        return
    # small chunks: resumable granularity and balanced processes
    size = max(1, math.ceil(len(todo) / (processes * 8)))
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)  # fork: reuse the loaded table
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=ctx)
    try:
        pending = {pool.submit(_run_batch, table, str(out), c) for c in chunks}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                done += f.result()
                if progress:
                    progress(done, total)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
