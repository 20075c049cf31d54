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

Every run uses one :class:`Evaluator` backend, with no change to strategy code:

* ``table`` -- the simulated clock on the table;
* ``surrogate`` -- a table of a surrogate's predictions (fitted on the table), charged
  predicted seconds (:mod:`nasbench.experiments.predicted`); regret is measured against
  the predicted optimum;
* ``train`` -- live training (:mod:`nasbench.experiments.live`). Runs go one at a time
  (the trainer uses every core), each into ``live/<strategy>/seed-NNNN/``, and each
  answers what earlier runs of the same comparison trained from their grown tables: a
  cached result is charged the seconds it cost when it was trained, so a run's clock
  does not depend on what ran before it. Regret and the targets come from a reference
  table (``--reference``), e.g. the shipped digits table.
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

import numpy as np

from nasbench.core.io import atomic_write_text, make_dirs, write_json
from nasbench.core.manifest import check_manifest, write_manifest
from nasbench.experiments import report
from nasbench.experiments.evaluators import (  # noqa: F401 - EVALUATORS, context_scores, load_simulator: re-exported
    EVALUATORS,
    EvaluatorSpec,
    context_scores,
    load_simulator,
    table_evaluator,
    truth_evaluator,
)
from nasbench.experiments.storage import read_trajectory, run_file, write_all, write_trajectory
from strategies.errors import StrategyConfigError
from strategies.registry import parse_name, validate
from strategies.runner import RunConfig, Simulator, Trajectory, run_search

log = logging.getLogger(__name__)

MANIFEST = "compare.json"


#: the spec of a comparison's backend (``--evaluator`` and what its strategies see)
Evaluator = EvaluatorSpec


@dataclass(frozen=True)
class CompareConfig:
    """What ``compare`` runs.

    Attributes:
        strategies: registered names (with modifiers, e.g. ``re+es``), in report order.
        seeds: runs per strategy (seeds ``first_seed .. first_seed + seeds - 1``).
        run: budget, workers, noise of every run.
        params: per strategy name, its parameters.
        surrogate: surrogate name for the strategies that use one (default: theirs).
        processes: worker processes (1 = in this process; the train backend always runs
            in this process).
        first_seed: the first run seed.
        evaluator: the backend of every run.
    """

    strategies: tuple[str, ...]
    seeds: int
    run: RunConfig
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    surrogate: str | None = None
    processes: int = 2
    first_seed: int = 0
    evaluator: Evaluator = field(default_factory=Evaluator)

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
            **self.evaluator.manifest_key(),
        }


# ---- worker side -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One configuration that runs over many seeds (a strategy in ``compare``, a cell in ``ablate``).

    Attributes:
        label: name in reports, and the folder of its run files.
        strategy: registered strategy name (with modifiers).
        params: strategy parameters.
        surrogate: surrogate name, or ``None`` for the strategy's default.
        run: budget, workers, noise.
        live: settings of the ``train`` backend this variant changes (e.g. ``inherit``).
    """

    label: str
    strategy: str
    params: Mapping[str, Any]
    surrogate: str | None
    run: RunConfig
    live: Mapping[str, Any] = field(default_factory=dict)


def _run_batch(
    table: str | None, out: str, tasks: Sequence[tuple[Variant, int]], evaluator: Evaluator
) -> int:
    sim = None if evaluator.kind == "train" else table_evaluator(table or "", evaluator)
    for v, seed in tasks:
        if sim is None:
            tr = _run_live(evaluator, Path(out), v, seed)
        else:
            tr = run_search(sim, v.strategy, seed=seed, config=v.run, params=v.params, surrogate=v.surrogate)
        tr.meta["strategy"] = v.label
        tr.meta["registry_name"] = v.strategy
        write_trajectory(run_file(Path(out), v.label, seed), tr)
    return len(tasks)


def _run_live(evaluator: Evaluator, out: Path, v: Variant, seed: int) -> Trajectory:
    """One run of the ``train`` backend in ``out/live/<label>/seed-NNNN`` (the label as its run
    files spell it), resumed if it was cut off."""
    import dataclasses

    from nasbench.experiments.live import search_live  # the trainer: only when a run trains

    assert evaluator.live is not None
    root = out / "live"
    run_dir = root / run_file(out, v.label, seed).parent.name / f"seed-{seed:04d}"
    earlier = tuple(sorted(p for p in root.glob("*/seed-*/table.parquet") if p.parent != run_dir))
    cfg = dataclasses.replace(evaluator.live, out=run_dir, shared=earlier, **dict(v.live))
    tr, _ = search_live(
        cfg,
        v.strategy,
        seed=seed,
        run=v.run,
        params=v.params,
        surrogate=v.surrogate,
        resume=(run_dir / "manifest.json").exists(),
        leaderboard_surrogate=None,
        objectives=evaluator.objectives,
        maxima=evaluator.maxima,
        minima=evaluator.minima,
    )
    return tr


def validate_on(table: str | None, evaluator: Evaluator, budget: Any) -> tuple[Simulator, Any]:
    """The simulator that gives optimum and targets, and the search context strategies are
    checked on; checks the budget where the backend can.

    Raises:
        NasbenchError: bad input, as a one-line message.
    """
    if evaluator.own_truth:
        sim = None  # the comparison's own runs are the truth, once they have run
    else:
        sim = truth_evaluator(evaluator, table)
    if evaluator.kind != "train":
        sim.check_budget(budget)
        return sim, sim.context
    from nasbench.train.live import live_context  # the trainer: only when a run trains

    assert evaluator.live is not None
    if budget.kind == "evals" and budget.amount < 1:
        if sim is None:
            raise StrategyConfigError(f"--budget must be at least one evaluation, got {budget}")
        sim.check_budget(budget)  # the same one-line refusal
    return sim, live_context(evaluator.live)


#: where ``compare --evaluator train`` without ``--reference`` keeps its own runs' table
OWN_REFERENCE = "reference.parquet"


def reference_from_runs(out: Path) -> Path:
    """Every run a train comparison trained (all strategies and seeds: the grown tables of
    ``out/live/*/seed-*``), as one table ``out/reference.parquet``: the truth of a
    comparison without ``--reference``, whose optimum is the best any run found.

    Raises:
        StrategyConfigError: no run trained anything.
    """
    import pandas as pd

    from nasbench.tables.table import ResultTable

    tables = [ResultTable.load(p) for p in sorted((out / "live").glob("*/seed-*/table.parquet"))]
    if not tables:
        raise StrategyConfigError(f"{out}: no run of the comparison trained anything")
    first = tables[0]
    frame = pd.concat([t.to_frame() for t in tables], ignore_index=True)
    frame = frame.drop_duplicates(["arch_index", "seed", "epoch"]).reset_index(drop=True)
    ref = ResultTable.from_records(
        first.space,
        frame,
        metrics=first.metrics,
        arch_columns=tuple(first.arch_columns),
        metadata={
            **first.metadata,
            "source": "nasbench compare --evaluator train: every run the comparison trained (no --reference)",
        },
    )
    path = out / OWN_REFERENCE
    ref.save(path)
    return path


def _measured_against(runs: Sequence[Trajectory], sim: Simulator) -> None:
    """Each run's incumbent values and regret against ``sim`` (a train comparison's own runs)."""
    for tr in runs:
        inc = np.asarray(tr["incumbent"], np.int64)
        fm, ft = sim.final_values(np.maximum(inc, 0))
        mean = np.where(inc >= 0, fm, np.nan)
        tr.columns["incumbent_mean"] = mean
        tr.columns["incumbent_test"] = np.where(inc >= 0, ft, np.nan)
        tr.columns["regret"] = sim.objective.sign * (sim.optimum - mean)
        tr.meta.update(optimum=sim.optimum, targets=dict(sim.targets))


def run_variants(
    table: str | None,
    out: Path,
    variants: Sequence[Variant],
    seeds: Sequence[int],
    *,
    processes: int,
    progress: Callable[[int, int], None] | None = None,
    evaluator: Evaluator | None = None,
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
    ev = evaluator or Evaluator()
    _execute(table, out, todo, 1 if ev.kind == "train" else processes, progress, resumed, len(all_tasks), ev)
    return [read_trajectory(run_file(out, v.label, s)) for v, s in all_tasks], resumed


# ---- orchestration ---------------------------------------------------------------------------


def _truth_key(config: CompareConfig, table: Any, sim: Simulator | None) -> tuple[str, str | None]:
    """What a comparison's manifest records as its truth: the table, or its own runs."""
    if sim is None:
        return "(the comparison's own runs)", None
    return config.evaluator.truth(table), sim.table_hash


def prepare(
    table: str | os.PathLike[str] | None, out: str | os.PathLike[str], config: CompareConfig
) -> Simulator | None:
    """Check everything before any run: table, strategies and their parameters, budget,
    fidelities, and the output folder's earlier configuration.

    Returns:
        The simulator that gives the optimum and the targets (None: a train comparison
        without ``--reference``, measured against its own runs once they have run).

    Raises:
        NasbenchError: bad input, as a one-line message.
    """
    sim, context = validate_on(None if table is None else str(table), config.evaluator, config.run.budget)
    for name in config.strategies:
        validate(name, context, config.params.get(name), config.surrogate)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StrategyConfigError(f"--out {out} exists and is not a folder")
    check_manifest(
        out / MANIFEST,
        config.manifest(*_truth_key(config, table, sim)),
        what="a comparison",
        hint="use another --out folder or remove it",
        error=StrategyConfigError,
    )
    return sim


def compare(
    table: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    config: CompareConfig,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a comparison and write its reports.

    Args:
        table: result table file (the ``train`` backend: ignored, its reference is the truth).
        out: output folder (created).
        config: strategies, seeds, run settings.
        progress: called with ``(runs done, runs total)`` as runs finish.

    Returns:
        The JSON summary (also written to ``summary.json``).

    Raises:
        NasbenchError: bad input (each subclass a one-line message), before any run starts.
    """
    t0 = time.perf_counter()
    sim = prepare(table, out, config)
    out = Path(out)
    make_dirs(out / "runs")
    write_manifest(out / MANIFEST, config.manifest(*_truth_key(config, table, sim)))
    table_s = None if sim is None else config.evaluator.truth(table)

    variants = [
        Variant(n, n, dict(config.params.get(n, {})), config.surrogate, config.run) for n in config.strategies
    ]
    runs, resumed = run_variants(
        table_s,
        out,
        variants,
        config.seed_list(),
        processes=config.processes,
        progress=progress,
        evaluator=config.evaluator,
    )
    own = sim is None
    if own:  # train without --reference: the best any run found is the optimum
        table_s = str(reference_from_runs(out))
        sim = table_evaluator(table_s, Evaluator("table"))
        _measured_against(runs, sim)
    write_all(out / "trajectories.parquet", runs)
    summary = report.summarize(runs, sim.targets)
    header = {
        "table": table_s,
        "table_hash": sim.table_hash,
        "evaluator": config.evaluator.kind
        + {"surrogate": f" ({config.evaluator.model}'s predictions)", "train": " (trained for real)"}.get(
            config.evaluator.kind, ""
        ),
        "strategies": ", ".join(config.strategies),
        "seeds": f"{config.seeds} (from {config.first_seed})",
        "budget": str(config.run.budget),
        "workers": config.run.workers,
        "noise": config.run.noise,
        **(
            {"truth": f"no --reference: the best any run of this comparison found ({OWN_REFERENCE})"}
            if own
            else {}
        ),
    }
    objective = sim.objective
    if objective.is_default:
        header["optimum (valid acc %)"] = round(sim.optimum, 4)
        header["top 1% / top 0.1% thresholds"] = f"{sim.targets['top1']:.3f} / {sim.targets['top0.1']:.3f}"
    else:
        header["objective"] = objective.describe()
        header[f"optimum ({objective.metric})"] = f"{sim.optimum:.6g}"
        header["top 1% / top 0.1% thresholds"] = f"{sim.targets['top1']:.6g} / {sim.targets['top0.1']:.6g}"
    report.plot_regret(
        runs, out / "regret.png", title=f"{Path(table_s).name}: {config.run.budget}, {config.seeds} seeds"
    )
    files = ["trajectories.parquet", "regret.png", "summary.md", "summary.json"]
    mo_summary: dict[str, Any] = {}
    if sim.mo_values is not None:
        from nasbench.experiments import multiobjective as mo

        mo_summary = {**mo.describe(sim), "strategies": mo.summarize_hypervolume(sim, runs)}
        mo.plot_hypervolume(
            sim,
            runs,
            out / "hypervolume.png",
            title=f"{Path(table_s).name}: hypervolume, {config.seeds} seeds",
        )
        files.insert(2, "hypervolume.png")
        header["objectives"] = ", ".join(mo_summary["objectives"])
        header["hypervolume reference point"] = ", ".join(f"{x:.6g}" for x in mo_summary["reference_point"])
        header["table front hypervolume"] = f"{mo_summary['table_front_hypervolume']:.6g}"
    if sim.constraints:
        header["constraints"] = ", ".join(sim.constraints)
    text = report.summary_markdown(summary, header, objective=objective)
    if mo_summary:
        text += _hypervolume_markdown(mo_summary)
    atomic_write_text(out / "summary.md", text)
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
            **config.evaluator.describe(),
        },
        **({} if objective.is_default else {"objective": objective.to_dict()}),
        "optimum": sim.optimum,
        "targets": sim.targets,
        "runs": len(runs),
        "resumed_runs": resumed,
        "wall_s": time.perf_counter() - t0,
        "files": {k: str(out / k) for k in files},
        "strategies": summary,
        **({"constraints": list(sim.constraints)} if sim.constraints else {}),
        **({"multiobjective": mo_summary} if mo_summary else {}),
    }
    write_json(out / "summary.json", result)
    return result


def _hypervolume_markdown(mo_summary: Mapping[str, Any]) -> str:
    """The hypervolume section of ``summary.md``."""
    lines = [
        "",
        "## Hypervolume",
        "",
        f"Objectives {', '.join(mo_summary['objectives'])}; reference point "
        f"({', '.join(f'{x:.6g}' for x in mo_summary['reference_point'])}), "
        f"{mo_summary['reference_rule']}; the table's front reaches {mo_summary['table_front_hypervolume']:.6g}.",
        "",
        "| strategy | final hypervolume (95% CI) | fraction of the table front's (95% CI) |",
        "| --- | --- | --- |",
    ]
    for name, e in mo_summary["strategies"].items():
        hv, fr = e["final_hypervolume"], e["final_fraction_of_table_front"]
        lines.append(
            f"| {name} | {hv['mean']:.6g} ({hv['lo']:.6g} to {hv['hi']:.6g}) | "
            f"{fr['mean']:.4f} ({fr['lo']:.4f} to {fr['hi']:.4f}) |"
        )
    return "\n".join(lines) + "\n"


def _complete(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        read_trajectory(path)
    except Exception:  # a damaged file is simply run again
        return False
    return True


def _execute(
    table: str | None,
    out: Path,
    todo: list[tuple[Variant, int]],
    processes: int,
    progress: Callable[[int, int], None] | None,
    done: int,
    total: int,
    evaluator: Evaluator,
) -> None:
    if not todo:
        return
    if processes == 1 or len(todo) == 1:
        for task in todo:
            done += _run_batch(table, str(out), [task], evaluator)
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
        pending = {pool.submit(_run_batch, table, str(out), c, evaluator) for c in chunks}
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
