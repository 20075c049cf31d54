"""``nasbench ablate CONFIG.toml``: run a base strategy over a factorial design of its parts
and estimate each factor's effect with confidence intervals.

A config (TOML)::

    strategy = "re"            # base strategy (registered name)
    table = "table.parquet"    # optional: default = the shipped table; relative to this file
    budget = "200"             # full evaluations, or simulated time ("5e5s")
    seeds = 10
    workers = 1                # optional
    noise = "seed"             # optional: "seed" or "mean"
    metric = "final_regret"    # optional: or "mean_regret" (average anytime regret), or
                               # "hypervolume_gap" (the default with objectives)
    objectives = "valid_acc,params"   # optional: several objectives, as compare --objectives
    max = ["params=2e5"]       # optional: constraints, as --max / --min
    processes = 2              # optional

    [params]                   # optional: fixed parameters of the base strategy
    sample_size = 5

    [factors]                  # each factor: a list of levels; the first is the reference
    population_size = [10, 50]
    early_stopping = [false, true]     # the +es modifier off / on
    # also: surrogate = ["rf", "gbm"], workers = [1, 4], noise = [...], and any strategy
    # parameter, including the modifier's ("es.confidence" = [0.9, 0.99]) and fidelity
    # schedules ("es.checkpoints" = [[12], [1, 2]], "eta" = [3.0, 10.0] for hb/sh)

    [[subset]]                 # optional: run only these cells instead of the full factorial
    population_size = 10
    early_stopping = false

    [evaluator]                # optional: the backend of every run (default: the table)
    kind = "train"             # "table", "surrogate" (with model = "rf") or "train"
    dataset = "digits"         # train: "digits" or "npz:PATH"; recipe = NAME|FILE (default: the dataset's)
    population = 8             # train: evaluations trained together as one population
    inherit = false            # train: also a factor (inherit = [false, true])

With the ``train`` backend, ``table`` is the reference that regret is measured against
(default: the shipped digits table), and runs go one at a time in this process, each
answering what earlier runs trained (see :mod:`nasbench.experiments.compare`).

The effect of level ``L`` of factor ``F`` is the mean paired difference of the metric
between cells that differ only in ``F`` (``L`` against the reference level), over seeds
and the other factors' levels, with a 95% t-interval; lower metric is better, so a
negative effect helps. Outputs: ``effects.csv``, ``effects.md``, ``effects.json``,
``effects.png``, ``trajectories.parquet``, per-run files (resumable) and ``ablate.json``.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import time
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from nasbench.core.config import build_config, coerce, read_config_file
from nasbench.core.io import atomic_path, atomic_write_text, make_dirs, write_json
from nasbench.core.manifest import check_manifest, write_manifest
from nasbench.experiments import report
from nasbench.experiments.compare import Evaluator, Variant, run_variants, validate_on
from nasbench.experiments.storage import write_all
from strategies.errors import StrategyConfigError
from strategies.registry import parse_name, validate
from strategies.runner import Budget, RunConfig, Trajectory

Metric = Literal["final_regret", "mean_regret", "hypervolume_gap"]
MANIFEST = "ablate.json"


@dataclass(frozen=True)
class AblationFile:
    """The keys of an ablation file and their types (see the module docstring)."""

    strategy: str
    budget: str | int | float
    seeds: int
    factors: dict[str, Any]
    table: str | None = None
    workers: int = 1
    noise: Literal["seed", "mean"] = "seed"
    metric: Metric | None = None
    processes: int = 2
    first_seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    objectives: str = ""
    max: list[str] = field(default_factory=list)
    min: list[str] = field(default_factory=list)
    subset: list[dict[str, Any]] | None = None
    surrogate: str | None = None
    evaluator: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluatorFile:
    """The keys of an ablation file's ``[evaluator]`` table."""

    kind: Literal["table", "surrogate", "train"] = "table"
    model: str = "rf"
    dataset: str = "digits"
    recipe: str | None = None
    population: int = 8
    inherit: bool = False
    inherit_epochs: int = 2
    keep_checkpoints: int = 64


#: factors that are not strategy parameters
SPECIAL_FACTORS = ("early_stopping", "surrogate", "workers", "noise", "inherit")


@dataclass(frozen=True)
class AblationConfig:
    """A parsed, checked ablation config (see the module docstring)."""

    strategy: str
    budget: Budget
    seeds: int
    factors: dict[str, tuple[Any, ...]]
    table: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    subset: tuple[dict[str, Any], ...] | None = None
    workers: int = 1
    noise: Literal["seed", "mean"] = "seed"
    metric: Metric = "final_regret"
    processes: int = 2
    first_seed: int = 0
    surrogate: str | None = None
    evaluator: EvaluatorFile = field(default_factory=EvaluatorFile)
    objectives: str = ""
    maxima: tuple[str, ...] = ()
    minima: tuple[str, ...] = ()

    def cells(self) -> list[dict[str, Any]]:
        """The factor-level combinations to run (full factorial unless a subset is given)."""
        if self.subset is not None:
            return [dict(c) for c in self.subset]
        names = list(self.factors)
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*self.factors.values())]

    def variant(self, cell: Mapping[str, Any]) -> Variant:
        """The strategy, parameters and run settings of one cell."""
        params = dict(self.params)
        name = self.strategy
        surrogate = self.surrogate
        workers, noise = self.workers, self.noise
        live: dict[str, Any] = {}
        for k, v in cell.items():
            if k == "early_stopping":
                base, mods = parse_name(name)
                mods = tuple(m for m in mods if m != "es") + (("es",) if v else ())
                name = "+".join((base, *mods))
            elif k == "surrogate":
                surrogate = v
            elif k == "workers":
                workers = v
            elif k == "noise":
                noise = v
            elif k == "inherit":
                live["inherit"] = v
            else:
                params[k] = v
        if "+es" not in name:
            # the modifier's parameters apply only with the modifier on: fixed ones are dropped,
            # and so are varied ones in cells that switch it off (else the registry rejects them)
            es_factor_on = cell.get("early_stopping", True)
            params = {
                k: v
                for k, v in params.items()
                if not (k.startswith("es.") and (k not in cell or not es_factor_on))
            }
        label = ",".join(f"{k}={_level(v)}" for k, v in cell.items()) or self.strategy
        run = RunConfig(self.budget, workers=workers, noise=noise)
        return Variant(label, name, params, surrogate, run, live)

    def backend(self, reference: str) -> Evaluator:
        """The runs' evaluator; ``reference`` is the table (the ground truth of the train backend)."""
        e = self.evaluator
        if e.kind != "train":
            return Evaluator(
                e.kind, e.model, objectives=self.objectives, maxima=self.maxima, minima=self.minima
            )
        from nasbench.experiments.live import make_live_config

        live = make_live_config(
            e.dataset,
            e.recipe,
            ".",
            workers=e.population,
            inherit=e.inherit,
            inherit_epochs=e.inherit_epochs,
            keep_checkpoints=e.keep_checkpoints,
            reference=Path(reference),
        )
        return Evaluator(
            "train", live=live, objectives=self.objectives, maxima=self.maxima, minima=self.minima
        )


def _level(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, list | tuple):
        return "[" + ";".join(map(str, v)) + "]"
    return str(v)


def load_config(path: str | os.PathLike[str]) -> AblationConfig:
    """Read and check an ablation config; paths inside are relative to the file.

    Raises:
        StrategyConfigError: unreadable TOML, unknown keys, wrong types, empty factors.
    """
    p = Path(path)
    raw = read_config_file(p, what="ablation config", error=StrategyConfigError, default="toml")
    cfg = parse_config(raw)
    if cfg.table is not None and not Path(cfg.table).is_absolute():
        cfg = _replace(cfg, table=str((p.parent / cfg.table).resolve()))
    rec = cfg.evaluator.recipe
    if rec is not None and rec.endswith((".toml", ".json")) and not Path(rec).is_absolute():
        cfg = _replace(cfg, evaluator=_replace(cfg.evaluator, recipe=str((p.parent / rec).resolve())))
    return cfg


def _replace(cfg: AblationConfig, **kw: Any) -> AblationConfig:
    import dataclasses

    return dataclasses.replace(cfg, **kw)


def parse_config(raw: Mapping[str, Any]) -> AblationConfig:
    """Check a config mapping (parsed TOML).

    Raises:
        StrategyConfigError: unknown keys or wrong types.
    """
    f = build_config(AblationFile, raw, who="ablation config", noun="key", error=StrategyConfigError)
    parse_name(f.strategy)
    factors: dict[str, tuple[Any, ...]] = {}
    hints = typing.get_type_hints(AblationFile)
    for name, levels in f.factors.items():
        if not isinstance(levels, list) or len(levels) < 2:
            raise StrategyConfigError(
                f"ablation factor {name!r} needs a list of at least two levels, got {levels!r}"
            )
        if len({json.dumps(lv, sort_keys=True) for lv in levels}) != len(levels):
            raise StrategyConfigError(f"ablation factor {name!r} repeats a level")
        if name in SPECIAL_FACTORS:  # a level is a value of the run setting it varies
            tp = bool if name in ("early_stopping", "inherit") else hints[name]
            levels = [
                coerce(lv, tp, f"ablation factor {name!r} level", error=StrategyConfigError) for lv in levels
            ]
        factors[name] = tuple(tuple(lv) if isinstance(lv, list) else lv for lv in levels)
    if not factors:
        raise StrategyConfigError("ablation config needs at least one factor under [factors]")
    for lv in factors.get("workers", ()):
        if lv < 1:
            raise StrategyConfigError(f"ablation factor workers takes positive integers, got {lv!r}")
    subset = None
    if f.subset is not None:
        subset = []
        for i, cell in enumerate(f.subset):
            if not isinstance(cell, dict):
                raise StrategyConfigError(f"ablation subset entry {i + 1} must be a table of factor = level")
            if set(cell) != set(factors):
                raise StrategyConfigError(
                    f"ablation subset entry {i + 1} must set exactly the factors {', '.join(factors)}"
                )
            for k, v in cell.items():
                v = tuple(v) if isinstance(v, list) else v
                if v not in factors[k]:
                    raise StrategyConfigError(
                        f"ablation subset entry {i + 1}: {k} = {v!r} is not one of its levels"
                    )
            subset.append({k: (tuple(v) if isinstance(v, list) else v) for k, v in cell.items()})
        if not subset:
            raise StrategyConfigError("ablation subset is empty")
        subset = tuple(subset)
    try:
        budget = Budget.parse(f.budget)
    except StrategyConfigError as exc:
        raise StrategyConfigError(f"ablation config: {exc}") from None
    if f.seeds < 2:
        raise StrategyConfigError("ablation config: seeds must be >= 2 (confidence intervals need repeats)")
    for k in ("workers", "processes"):
        if getattr(f, k) < 1:
            raise StrategyConfigError(f"ablation config: {k} must be >= 1")
    metric = f.metric or ("hypervolume_gap" if f.objectives else "final_regret")
    if metric == "hypervolume_gap" and not f.objectives:
        raise StrategyConfigError('ablation config: metric = "hypervolume_gap" needs objectives = "A,B,..."')
    return AblationConfig(
        strategy=f.strategy,
        budget=budget,
        seeds=f.seeds,
        factors=factors,
        table=f.table,
        params=dict(f.params),
        subset=subset,
        workers=f.workers,
        noise=f.noise,
        metric=metric,
        processes=f.processes,
        first_seed=f.first_seed,
        surrogate=f.surrogate,
        evaluator=_evaluator(f, factors),
        objectives=f.objectives,
        maxima=tuple(f.max),
        minima=tuple(f.min),
    )


def _evaluator(f: AblationFile, factors: Mapping[str, Any]) -> EvaluatorFile:
    e = build_config(
        EvaluatorFile, f.evaluator, who="ablation config [evaluator]", noun="key", error=StrategyConfigError
    )
    if e.kind != "train":
        if "inherit" in factors or e.inherit:
            raise StrategyConfigError('ablation config: inherit needs [evaluator] kind = "train"')
        return e
    if "workers" in factors or f.workers != 1:
        raise StrategyConfigError(
            'ablation config: with kind = "train", set the population size with [evaluator] population, '
            "not workers"
        )
    if f.noise != "seed" or "noise" in factors:
        raise StrategyConfigError(
            "ablation config: a live search trains one seed per trial; noise must be 'seed'"
        )
    if e.population < 1:
        raise StrategyConfigError("ablation config: [evaluator] population must be >= 1")
    return e


# ---- running -----------------------------------------------------------------------------------


def metric_value(tr: Trajectory, metric: str, budget: Budget, sim: Any = None) -> float:
    """The ablation metric of one run (lower is better).

    ``hypervolume_gap`` is the hypervolume of the table's own front minus the run's final
    one (``sim``: the simulator with the objectives), so 0 is the whole front found.
    """
    if metric == "final_regret":
        return tr.final_regret
    if metric == "hypervolume_gap":
        from nasbench.experiments import multiobjective as mo

        final = float(mo.run_hypervolume(sim, tr)[-1]) if len(tr) else 0.0
        return mo.table_hypervolume(sim) - final
    # mean anytime regret over 100 points of the budget axis; before any incumbent: the first regret seen
    axis = "evals" if budget.kind == "evals" else "time"
    grid = np.linspace(budget.amount / 100, budget.amount, 100)
    r = tr.regret_at(grid, axis=axis)
    first = tr["regret"][~np.isnan(tr["regret"])]
    fill = float(first[0]) if len(first) else math.nan
    return float(np.mean(np.where(np.isnan(r), fill, r)))


def effects(
    cfg: AblationConfig, cells: list[dict[str, Any]], values: dict[str, np.ndarray]
) -> list[dict[str, Any]]:
    """Each factor level's effect against the factor's reference level (paired by seed and other factors)."""
    out = []
    index = {json.dumps(_key(c), sort_keys=True): c for c in cells}
    for f, levels in cfg.factors.items():
        ref = levels[0]
        for lv in levels[1:]:
            diffs: list[np.ndarray] = []
            for c in cells:
                if c[f] != lv:
                    continue
                twin = dict(c, **{f: ref})
                k = json.dumps(_key(twin), sort_keys=True)
                if k in index:
                    a = values[cfg.variant(c).label]
                    b = values[cfg.variant(index[k]).label]
                    diffs.append(a - b)
            d = np.concatenate(diffs) if diffs else np.zeros(0)
            ci = report.mean_ci(d)
            out.append(
                {
                    "factor": f,
                    "level": _level(lv),
                    "reference": _level(ref),
                    "pairs": int(len(d)),
                    "effect": ci["mean"],
                    "lo": ci["lo"],
                    "hi": ci["hi"],
                    "significant": bool(ci["n"] > 1 and (ci["lo"] > 0 or ci["hi"] < 0)),
                }
            )
    return out


def _key(cell: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in cell.items()}


def prepare(cfg: AblationConfig, out: str | os.PathLike[str]) -> tuple[str, Any, list[dict[str, Any]]]:
    """Resolve the table and check every cell before any run.

    Raises:
        NasbenchError: bad input, as one-line messages.
    """
    if cfg.table is not None:
        table = cfg.table
    else:
        e = cfg.evaluator
        if e.kind == "train" and (e.dataset != "digits" or e.recipe is not None):
            raise StrategyConfigError(
                'ablation config: with kind = "train" on another dataset or recipe than the shipped '
                "table's, set table = the reference table that regret is measured against"
            )
        from nasbench.tables.default import default_table_path

        table = str(default_table_path())
    evaluator = cfg.backend(table)
    sim, context = validate_on(table, evaluator, cfg.budget)
    cells = cfg.cells()
    for c in cells:
        v = cfg.variant(c)
        try:
            validate(v.strategy, context, v.params, v.surrogate)
        except StrategyConfigError as exc:
            raise StrategyConfigError(f"ablation cell {v.label}: {exc}") from None
    out = Path(out)
    check_manifest(
        out / MANIFEST,
        _manifest(cfg, table, sim.table_hash),
        what="an ablation",
        hint="use another --out folder or remove it",
        error=StrategyConfigError,
    )
    return table, sim, cells


def _manifest(cfg: AblationConfig, table: str, table_hash: str | None) -> dict[str, Any]:
    return {
        "kind": "nasbench-ablate",
        "table": table,
        "table_hash": table_hash,
        "strategy": cfg.strategy,
        "budget": str(cfg.budget),
        "noise": cfg.noise,
        "workers": cfg.workers,
        "params": cfg.params,
        "surrogate": cfg.surrogate,
        **cfg.backend(table).manifest_key(),
    }


def ablate(cfg: AblationConfig, out: str | os.PathLike[str]) -> dict[str, Any]:
    """Run (or resume) an ablation and write its effect table and plot.

    Raises:
        NasbenchError: bad input, before any run starts.
    """
    t0 = time.perf_counter()
    table, sim, cells = prepare(cfg, out)
    out = Path(out)
    make_dirs(out)
    write_manifest(out / MANIFEST, _manifest(cfg, table, sim.table_hash))
    variants = [cfg.variant(c) for c in cells]
    seeds = list(range(cfg.first_seed, cfg.first_seed + cfg.seeds))
    evaluator = cfg.backend(table)
    runs, resumed = run_variants(table, out, variants, seeds, processes=cfg.processes, evaluator=evaluator)
    write_all(out / "trajectories.parquet", runs)
    by_label: dict[str, np.ndarray] = {}
    for v in variants:
        rs = sorted((r for r in runs if r.meta["strategy"] == v.label), key=lambda r: int(r.meta["seed"]))
        by_label[v.label] = np.array([metric_value(r, cfg.metric, cfg.budget, sim) for r in rs])
    eff = effects(cfg, cells, by_label)
    cell_rows = [
        {
            **{k: _level(val) for k, val in c.items()},
            "strategy": cfg.variant(c).strategy,
            **{f"{cfg.metric}_{k}": v for k, v in report.mean_ci(by_label[cfg.variant(c).label]).items()},
        }
        for c in cells
    ]
    result = {
        "table": table,
        "table_hash": sim.table_hash,
        "strategy": cfg.strategy,
        "budget": str(cfg.budget),
        "seeds": cfg.seeds,
        "metric": cfg.metric,
        "noise": cfg.noise,
        **evaluator.describe(),
        "design": "subset" if cfg.subset else "full factorial",
        **_multiobjective(sim),
        "cells": cell_rows,
        "effects": eff,
        "runs": len(runs),
        "resumed_runs": resumed,
        "wall_s": time.perf_counter() - t0,
        "files": {
            k: str(out / k)
            for k in ("effects.csv", "effects.md", "effects.json", "effects.png", "trajectories.parquet")
        },
    }
    _write_effects(out, result)
    plot_effects(
        eff, out / "effects.png", title=f"{cfg.strategy}: effect on {cfg.metric} ({cfg.seeds} seeds)"
    )
    return result


def _multiobjective(sim: Any) -> dict[str, Any]:
    """The objectives' reference point and table front, and the constraints, for the result."""
    from nasbench.experiments import multiobjective as mo

    out: dict[str, Any] = {}
    described = mo.describe(sim)
    if described:
        out["objectives_described"] = described.pop("objectives")
        out.update(described)
    if sim.constraints:
        out["constraints_applied"] = list(sim.constraints)
    return out


def _write_effects(out: Path, result: dict[str, Any]) -> None:
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(
        buf,
        fieldnames=["factor", "level", "reference", "pairs", "effect", "lo", "hi", "significant"],
        lineterminator="\n",
    )
    w.writeheader()
    for e in result["effects"]:
        w.writerow(e)
    atomic_write_text(out / "effects.csv", buf.getvalue())
    write_json(out / "effects.json", result)
    lines = [
        f"# Ablation of {result['strategy']}",
        "",
        f"- **table**: {result['table']}",
        f"- **budget**: {result['budget']}, **seeds**: {result['seeds']}, "
        f"**noise**: {result['noise']}, **design**: {result['design']}",
        f"- **metric**: {result['metric']} (lower is better; a negative effect helps)",
        *(
            [
                f"- **objectives**: {', '.join(result['objectives_described'])}; hypervolume reference point "
                f"{', '.join(f'{x:.6g}' for x in result['reference_point'])}, table front "
                f"{result['table_front_hypervolume']:.6g}"
            ]
            if "reference_point" in result
            else []
        ),
        *(
            [f"- **constraints**: {', '.join(result['constraints_applied'])}"]
            if "constraints_applied" in result
            else []
        ),
        "",
        "## Effects (level minus reference, paired; mean [95% CI])",
        "",
        "| factor | level | vs | pairs | effect | significant |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for e in result["effects"]:
        lines.append(
            f"| {e['factor']} | {e['level']} | {e['reference']} | {e['pairs']} | "
            f"{report.fmt_ci({'mean': e['effect'], 'lo': e['lo'], 'hi': e['hi']})} | "
            f"{'yes' if e['significant'] else 'no'} |"
        )
    metric = result["metric"]
    lines += ["", "## Cells (mean [95% CI])", ""]
    keys = [k for k in result["cells"][0] if not k.startswith(metric)] if result["cells"] else []
    lines += ["| " + " | ".join(keys) + f" | {metric} |", "|" + " --- |" * (len(keys) + 1)]
    for c in result["cells"]:
        d = {"mean": c[f"{metric}_mean"], "lo": c[f"{metric}_lo"], "hi": c[f"{metric}_hi"]}
        lines.append("| " + " | ".join(str(c[k]) for k in keys) + f" | {report.fmt_ci(d)} |")
    atomic_write_text(out / "effects.md", "\n".join(lines) + "\n")


def plot_effects(eff: list[dict[str, Any]], path: Path, *, title: str = "") -> None:
    """PNG: each factor level's effect with its 95% interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{e['factor']}: {e['level']} vs {e['reference']}" for e in eff]
    y = np.arange(len(eff))[::-1]
    mean = np.array([np.nan if e["effect"] is None else e["effect"] for e in eff], dtype=float)
    lo = np.array([np.nan if e["lo"] is None else e["lo"] for e in eff], dtype=float)
    hi = np.array([np.nan if e["hi"] is None else e["hi"] for e in eff], dtype=float)
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.5 * len(eff)), constrained_layout=True)
    err = np.vstack([np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)])
    ax.errorbar(mean, y, xerr=err, fmt="o", capsize=4)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, labels)
    ax.set_xlabel("effect on the metric (negative = better)")
    if title:
        ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
