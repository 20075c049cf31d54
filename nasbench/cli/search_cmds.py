"""``nasbench search``, ``compare``, ``ablate``, ``leaderboard`` and ``explore``."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from nasbench.cli import app
from nasbench.cli._common import (
    DATASET_HELP,
    JSON_OPTION,
    TARGET_OPTION,
    TASK_OPTION,
    dataset_arg,
    echo_json,
    fmt_metric,
    progress_bar,
)
from nasbench.core.config import parse_assignments
from nasbench.core.errors import ConfigError


def _names() -> str:
    from strategies.registry import MODIFIERS, STRATEGIES

    return ", ".join(STRATEGIES) + "; modifiers: " + ", ".join(f"+{m}" for m in MODIFIERS)


def _run_config(budget: str, workers: int, noise: str) -> Any:
    from strategies.runner import Budget, RunConfig

    if noise not in ("seed", "mean"):
        raise ConfigError(f"--noise must be 'seed' or 'mean', got {noise!r}")
    return RunConfig(Budget.parse(budget), workers=workers, noise=noise)  # type: ignore[arg-type]


def _certificate_line(model: str, table: Path) -> None:
    """One line on stderr: the surrogate's fidelity certificate on this table, or a warning."""
    from nasbench.experiments.certificates import certificate_note

    typer.echo(certificate_note(model, table)["line"], err=True)


BUDGET_HELP = "Full evaluations (300) or simulated time (5e5s, 20h)."
NOISE_HELP = "'seed': each trial draws one stored seed (default); 'mean': seed means."


EVALUATOR_OPTION = typer.Option(
    "table",
    "--evaluator",
    help="'table' (simulated clock), 'surrogate' (predicted values and costs of a model fitted "
    "on TABLE) or 'train' (train for real).",
)
MODEL_OPTION = typer.Option("rf", "--model", help="--evaluator surrogate: the surrogate that predicts.")
SCORES_OPTION = typer.Option(
    [],
    "--scores",
    help="Score file from `nasbench estimate proxies|oneshot` (repeatable): surrogate features for "
    "model-based strategies, the order of `ranked`.",
)
DATASET_OPTION = typer.Option("digits", "--dataset", help="--evaluator train: " + DATASET_HELP)
SPACE_OPTION = typer.Option(
    "nb201",
    "--space",
    help="--evaluator train: the search space (nb201, mlp or a declaration file SPACE.toml).",
)
RECIPE_OPTION = typer.Option(
    None, "--recipe", help="--evaluator train: recipe name or TOML/JSON file (default: the dataset's)."
)
INHERIT_OPTION = typer.Option(
    False, "--inherit", help="--evaluator train: warm-start mutated children from their parents' weights."
)
INHERIT_EPOCHS_OPTION = typer.Option(2, "--inherit-epochs", help="Epochs an inheriting child trains.")
EXECUTOR_OPTION = typer.Option(
    "local", "--executor", help="--evaluator train: 'local' or 'ray' (each population a Ray task)."
)
RAY_ADDRESS_OPTION = typer.Option(
    None, "--ray-address", help="--executor ray: the cluster (default: RAY_ADDRESS or a local instance)."
)
OBJECTIVES_OPTION = typer.Option(
    "",
    "--objectives",
    help="Several objectives NAME[:max|:min],... e.g. valid_acc,params (accuracies and estimator scores "
    "are maximised, everything else minimised unless spelled). In search/compare: the table's "
    "objective plus per-architecture columns; adds the hypervolume.",
)
MAX_OPTION = typer.Option(
    [],
    "--max",
    help="Constraint NAME=VALUE (repeatable), e.g. params=2e5: only architectures at or below it.",
)
MIN_OPTION = typer.Option(
    [], "--min", help="Constraint NAME=VALUE (repeatable): only architectures at or above it."
)
KEEP_OPTION = typer.Option(
    64, "--keep-checkpoints", help="Checkpoints kept on disk per run (the best by validation accuracy)."
)


def _live_config(options: Mapping[str, Any], *, out: Path | None, reference: Path | None) -> Any:
    """The ``train`` backend's settings from the parsed options of ``search`` or ``compare``
    (typer's ``ctx.params``).

    Each setting is read by its option's name (never ``locals()``): renaming an option on
    either side is a ``KeyError`` at once instead of a silently dropped setting, and both
    commands share this one list.
    """
    from nasbench.experiments.live import make_live_config

    if options["noise"] != "seed":
        raise ConfigError("--noise mean needs a table; a live search trains one seed per trial")
    return make_live_config(
        dataset_arg(options["dataset"], options["target"], options["task"]),
        options["recipe"],
        out,
        space=options["space"],
        workers=options["workers"] or 8,
        inherit=options["inherit"],
        inherit_epochs=options["inherit_epochs"],
        keep_checkpoints=options["keep_checkpoints"],
        table=options["table"],
        reference=reference,
        executor=options["executor"],
        ray_address=options["ray_address"],
        scores=options["scores"],
    )


@app.command("search")
def search(
    ctx: typer.Context,
    table: Annotated[
        Path | None,
        typer.Argument(
            help="Table file (.parquet). With --evaluator train: optional, a table of the same dataset "
            "and recipe whose results are reused instead of trained."
        ),
    ] = None,
    strategy: str = typer.Option(..., "--strategy", "-s", help="Strategy name (see --help of compare)."),
    budget: str = typer.Option(
        ...,
        "--budget",
        "-b",
        help=BUDGET_HELP + " With --evaluator train: evaluations or training time (10m).",
    ),
    seed: int = typer.Option(0, "--seed", help="Run seed."),
    workers: int | None = typer.Option(
        None,
        "--workers",
        "-w",
        help="Simulated asynchronous workers (default 1); with --evaluator train, evaluations trained "
        "together as one population (default 8).",
    ),
    noise: str = typer.Option("seed", "--noise", help=NOISE_HELP),
    param: list[str] | None = typer.Option(
        None, "--param", "-p", help="Strategy parameter NAME=VALUE (repeat)."
    ),
    surrogate: str | None = typer.Option(
        None, "--surrogate", help="Surrogate name for strategies that use one."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Write the trajectory here (.parquet); with --evaluator train, the run directory (required).",
    ),
    evaluator: str = EVALUATOR_OPTION,
    model: str = MODEL_OPTION,
    scores: list[Path] = SCORES_OPTION,
    dataset: str = DATASET_OPTION,
    target: str | None = TARGET_OPTION,
    task: str | None = TASK_OPTION,
    space: str = SPACE_OPTION,
    recipe: str | None = RECIPE_OPTION,
    resume: bool = typer.Option(False, "--resume", help="--evaluator train: continue the run in --out."),
    inherit: bool = INHERIT_OPTION,
    inherit_epochs: int = INHERIT_EPOCHS_OPTION,
    keep_checkpoints: int = KEEP_OPTION,
    executor: str = EXECUTOR_OPTION,
    ray_address: str | None = RAY_ADDRESS_OPTION,
    reference: Path | None = typer.Option(
        None,
        "--reference",
        help="--evaluator train: a table used only to report the incumbent's true seed mean and regret.",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    objectives: str = OBJECTIVES_OPTION,
    maxima: list[str] = MAX_OPTION,
    minima: list[str] = MIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Run one search strategy on a table with a simulated clock, or train what it asks for.

    Exit codes: 0 done, 2 bad input (unknown strategy, dataset or space; a malformed
    file; a budget smaller than one evaluation; --inherit with a strategy that never
    mutates; --resume with different settings).
    """
    from nasbench.experiments.compare import EVALUATORS

    if evaluator not in EVALUATORS:
        raise ConfigError(f"--evaluator must be one of {', '.join(EVALUATORS)}, got {evaluator!r}")
    params = parse_assignments(param, option="--param")
    if evaluator == "train":
        if out is None:
            raise ConfigError("--evaluator train needs --out DIR (the run directory)")
        cfg = _live_config(ctx.params, out=out, reference=reference)
        run = _run_config(budget, 1, "seed")
        shape = {"objectives": objectives, "maxima": tuple(maxima), "minima": tuple(minima)}
        _search_live(cfg, strategy, run, seed, params, surrogate, resume, quiet, as_json, shape)
        return
    if table is None:
        raise ConfigError("give a table file (or --evaluator train to train for real)")
    for flag, used in (
        ("--resume", resume),
        ("--inherit", inherit),
        ("--reference", reference),
        ("--executor ray", executor != "local"),
    ):
        if used:
            raise ConfigError(f"{flag} needs --evaluator train")
    from nasbench.experiments.search import search_predicted, search_table

    run_search = search_table if evaluator == "table" else functools.partial(search_predicted, model=model)
    _, s = run_search(
        table,
        strategy,
        seed=seed,
        config=_run_config(budget, workers or 1, noise),
        params=params,
        surrogate=surrogate,
        out=out,
        scores=scores,
        objectives=objectives,
        maxima=tuple(maxima),
        minima=tuple(minima),
    )
    if evaluator == "surrogate":
        _certificate_line(model, table)
    if as_json:
        echo_json(s)
        return
    metric = s.get("objective", {}).get("metric", "valid_acc")
    unit = "%" if metric.endswith("_acc") else ""
    if evaluator == "surrogate":
        inc = s["incumbent"] or {}
        typer.echo(
            f"strategy   {s['strategy']} (seed {s['seed']}, {s['budget']}) on {s['model']}'s predictions\n"
            f"ran        {s['evaluations']} evaluations, {s['sim_time_s']:.4g} predicted s\n"
            f"incumbent  {inc.get('arch')}\n"
            f"           predicted {fmt_metric(inc.get(f'predicted_{metric}', float('nan')), metric)}{unit}, "
            f"measured seed mean {fmt_metric(inc.get(f'measured_mean_{metric}') or float('nan'), metric)}{unit}"
        )
        return
    lines = [
        f"strategy   {s['strategy']} (seed {s['seed']}, {s['budget']}, {s['workers']} worker(s), noise={s['noise']})",
        f"ran        {s['evaluations']} evaluations = {s['full_evaluations']:.2f} full, "
        f"{s['sim_time_s']:.4g} simulated s (+{s['surrogate_time_s']:.3g} s surrogate)",
    ]
    es = s["strategy_stats"].get("early_stopping")
    if es:
        lines.append(
            f"stopping   {es['stopped']} run(s) stopped early, {es['continued']} continued past a checkpoint "
            f"({es['audited']} of them audits), {es['waiting']} waiting at one when the budget ended; "
            f"learned from {es['full_curves']} full curves"
        )
    inc = s["incumbent"]
    if inc:
        lines.append(f"incumbent  {inc['arch']}")
        if metric == "valid_acc":
            lines.append(
                f"           valid {inc['observed_valid_acc']:.2f} observed, {inc['mean_valid_acc']:.2f} seed mean; "
                f"regret {inc['regret']:.3f} (optimum {s['optimum']:.2f})"
            )
        else:
            direction = "lower" if s["objective"]["direction"] == "min" else "higher"
            lines.append(
                f"           {metric} {inc[f'observed_{metric}']:.4g} observed, {inc[f'mean_{metric}']:.4g} "
                f"seed mean ({direction} is better); regret {inc['regret']:.4g} (optimum {s['optimum']:.4g})"
            )
    else:
        lines.append("incumbent  none (no full evaluation finished)")
    for name, r in s["reached"].items():
        when = "not reached" if r["evals"] is None else f"after {r['evals']:.4g} evals, {r['time_s']:.4g} s"
        thr = f"{r['threshold']:.3f}" if metric == "valid_acc" else f"{r['threshold']:.4g}"
        lines.append(f"{name:<10} {thr}: {when}")
    lines += _constraint_and_front_lines(s)
    if s["out"]:
        lines.append(f"trajectory {s['out']}")
    typer.echo("\n".join(lines))


def _search_live(
    cfg: Any,
    strategy: str,
    run: Any,
    seed: int,
    params: dict[str, Any],
    surrogate: str | None,
    resume: bool,
    quiet: bool,
    as_json: bool,
    shape: dict[str, Any],
) -> None:
    from nasbench.experiments.live import search_live

    with progress_bar("search", quiet=quiet) as update:
        _, s = search_live(
            cfg,
            strategy,
            seed=seed,
            run=run,
            params=params,
            surrogate=surrogate,
            resume=resume,
            progress=None if update is None else _live_progress(update),
            **shape,
        )
    if as_json:
        echo_json(s)
        return
    lines = [
        f"strategy   {s['strategy']} (seed {s['seed']}, {s['budget']}, {s['workers']} per population, "
        f"trained on {s['dataset']})",
        f"ran        {s['evaluations']} evaluations: {s['trained_evaluations']} trained, "
        f"{s['cached_evaluations']} from the cache",
        f"time       {s['wall_s']:.1f} s wall = {s['training_s']:.1f} s training + {s['eval_s']:.1f} s "
        f"evaluation + {s['compile_s']:.1f} s compiling + {s['surrogate_s']:.1f} s surrogate + rest",
    ]
    inc = s["incumbent"]
    metric = s["objective"]["metric"]
    test = metric.replace("valid_", "test_")
    unit = "%" if metric.endswith("_acc") else ""
    if inc:
        lines.append(f"incumbent  {inc['arch']}")
        lines.append(
            f"           {metric} {fmt_metric(inc[f'observed_{metric}'], metric)}{unit} observed, "
            f"{fmt_metric(inc[f'mean_{metric}'], metric)}{unit} seed mean ({inc['truth']}), "
            f"{test} {fmt_metric(inc.get(test, float('nan')), test)}{unit}"
            + ("" if s["optimum"] != s["optimum"] else f"; regret {inc['regret']:.4g}")
        )
    lines += _constraint_and_front_lines(s)
    board = s.get("leaderboard") or {}
    lines.append(f"wrote      {s['out']}/ (trajectory.parquet, table.parquet, summary.json"
                 + (", leaderboard.csv)" if board.get("out") else ")"))  # fmt: skip
    typer.echo("\n".join(lines))


def _constraint_and_front_lines(s: Mapping[str, Any]) -> list[str]:
    """A search summary's constraints and Pareto front, as ``search`` prints them."""
    lines = []
    if s.get("constraints"):
        lines.append(f"subject to {', '.join(s['constraints'])}")
    mo = s.get("multiobjective")
    if mo:
        lines.append(
            f"front      {len(mo['front'])} architecture(s) on ({', '.join(mo['objectives'])}); hypervolume "
            f"{mo['hypervolume']:.6g} of the table front's {mo['table_front_hypervolume']:.6g} "
            f"(reference {', '.join(f'{x:.6g}' for x in mo['reference_point'])})"
        )
    return lines


def _live_progress(update: Any) -> Any:
    def progress(ev: dict[str, Any]) -> None:
        best = "-" if ev["best"] is None else f"{ev['best']:.2f}%"
        update(
            ev["used"],
            ev["budget"].amount,
            f"{ev['evaluations']} evals, {ev['trained']} trained, best {best}, {ev['train_s']:.0f} s training",
        )

    return progress


def _split_strategy_params(items: list[str] | None, names: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, val in parse_assignments(items, option="--param").items():
        for name in sorted(names, key=len, reverse=True):  # "re+es.x" before "re.x"
            if key.startswith(name + "."):
                out.setdefault(name, {})[key[len(name) + 1 :]] = val
                break
        else:
            raise ConfigError(
                f"--param {key!r} must start with a compared strategy name (STRATEGY.NAME=VALUE)"
            )
    return out


@app.command("compare")
def compare(
    ctx: typer.Context,
    table: Annotated[
        Path | None,
        typer.Argument(
            help="Table file (.parquet). With --evaluator train: optional, a table of the same dataset and "
            "recipe whose results are reused instead of trained."
        ),
    ] = None,
    strategies: str = typer.Option("rs,re,ls,reinforce,hb", "--strategies", help="Comma-separated names."),
    seeds: int = typer.Option(10, "--seeds", help="Runs per strategy (seeds 0..N-1)."),
    budget: str = typer.Option(..., "--budget", "-b", help=BUDGET_HELP),
    workers: int | None = typer.Option(
        None,
        "--workers",
        "-w",
        help="Simulated asynchronous workers per run (default 1); with --evaluator train, evaluations "
        "trained together as one population (default 8).",
    ),
    noise: str = typer.Option("seed", "--noise", help=NOISE_HELP),
    out: Path = typer.Option(..., "--out", help="Output folder (rerun with the same folder to resume)."),
    param: list[str] | None = typer.Option(None, "--param", "-p", help="STRATEGY.NAME=VALUE (repeat)."),
    surrogate: str | None = typer.Option(None, "--surrogate", help="Surrogate for strategies that use one."),
    processes: int = typer.Option(2, "--processes", help="Worker processes (the train backend uses 1)."),
    evaluator: str = EVALUATOR_OPTION,
    model: str = MODEL_OPTION,
    scores: list[Path] = SCORES_OPTION,
    dataset: str = DATASET_OPTION,
    target: str | None = TARGET_OPTION,
    task: str | None = TASK_OPTION,
    space: str = SPACE_OPTION,
    recipe: str | None = RECIPE_OPTION,
    inherit: bool = INHERIT_OPTION,
    inherit_epochs: int = INHERIT_EPOCHS_OPTION,
    keep_checkpoints: int = KEEP_OPTION,
    executor: str = EXECUTOR_OPTION,
    ray_address: str | None = RAY_ADDRESS_OPTION,
    reference: Path | None = typer.Option(
        None,
        "--reference",
        help="--evaluator train: the table that regret and the targets are measured against (default "
        "on digits with its recipe: the shipped table).",
    ),
    objectives: str = OBJECTIVES_OPTION,
    maxima: list[str] = MAX_OPTION,
    minima: list[str] = MIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Compare strategies over many seeds; write trajectories, a regret plot and summaries.

    Exit codes: 0 done, 2 bad input, 130 interrupted (finished runs are kept).
    """
    from nasbench.experiments.compare import CompareConfig, Evaluator
    from nasbench.experiments.compare import compare as run_compare

    names = [s.strip() for s in strategies.split(",") if s.strip()]
    live = None
    if evaluator == "train":
        if reference is None and dataset == "digits" and recipe is None:
            from nasbench.tables.default import shipped_table_path

            reference = shipped_table_path(space)  # the space's shipped table: digits, its recipe
        live = _live_config(ctx.params, out=out, reference=reference)
        workers = 1
    config = CompareConfig(
        tuple(names),
        seeds,
        _run_config(budget, workers or 1, noise),
        _split_strategy_params(param, names),
        surrogate,
        processes,
        evaluator=Evaluator(
            evaluator,
            model,
            live,
            tuple(str(f) for f in scores),
            objectives=objectives,
            maxima=tuple(maxima),
            minima=tuple(minima),
        ),
    )
    try:
        with progress_bar("compare", quiet=as_json) as update:
            result = run_compare(
                table,
                out,
                config,
                progress=None if update is None else lambda d, n: update(d, n, f"{d}/{n} runs"),
            )
    except KeyboardInterrupt:
        typer.echo(
            f"nasbench: interrupted; finished runs are kept in {out} (rerun the same command to resume)",
            err=True,
        )
        raise typer.Exit(130) from None
    if evaluator == "surrogate" and table is not None:
        _certificate_line(model, table)
    if as_json:
        echo_json(result)
        return
    typer.echo(_compare_text(result))


def _compare_text(result: dict[str, Any]) -> str:
    from nasbench.experiments.report import fmt_ci

    objective = result.get("objective")
    optimum = (
        f"optimum {result['optimum']:.3f}"
        if objective is None
        else f"optimum {result['optimum']:.4g} {objective['metric']} "
        f"({'lowest' if objective['direction'] == 'min' else 'highest'}; regret >= 0 is the distance to it)"
    )
    lines = [
        f"{result['runs']} runs ({result['resumed_runs']} resumed) in {result['wall_s']:.1f} s; {optimum}",
        f"{'strategy':<14} {'final regret':<26} {'evals to top 0.1%':<28} mean rank",
    ]
    for name, e in result["strategies"].items():
        t = e["targets"]["top0.1"]["evals"]
        lines.append(
            f"{name:<14} {fmt_ci(e['final_regret']):<26} "
            f"{fmt_ci(t, 'median', 4) + ' (' + format(t['reached'], '.0%') + ')':<28} {fmt_ci(e['mean_rank'])}"
        )
    if result.get("constraints"):
        lines.append("subject to " + ", ".join(result["constraints"]))
    mo = result.get("multiobjective")
    if mo:
        lines.append(
            f"hypervolume of ({', '.join(mo['objectives'])}), reference "
            f"({', '.join(f'{x:.6g}' for x in mo['reference_point'])}); table front "
            f"{mo['table_front_hypervolume']:.6g}"
        )
        for name, e in mo["strategies"].items():
            lines.append(f"{name:<14} final hypervolume {fmt_ci(e['final_hypervolume'], digits=6)}")
    lines.append("files: " + ", ".join(result["files"].values()))
    return "\n".join(lines)


@app.command("ablate")
def ablate(
    config: Annotated[
        Path, typer.Argument(help="Ablation config (.toml): base strategy, factors, seeds, budget.")
    ],
    out: Path = typer.Option(..., "--out", help="Output folder (rerun with the same folder to resume)."),
    processes: int | None = typer.Option(
        None, "--processes", help="Worker processes (default: the config's, 2)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run a factorial ablation of a strategy's parts; write each factor's effect with CIs and a plot."""
    import dataclasses

    from nasbench.experiments.ablate import ablate as run_ablate
    from nasbench.experiments.ablate import load_config
    from nasbench.experiments.report import fmt_ci

    cfg = load_config(config)
    if processes is not None:
        if processes < 1:
            raise ConfigError(f"--processes must be >= 1, got {processes}")
        cfg = dataclasses.replace(cfg, processes=processes)
    try:
        result = run_ablate(cfg, out)
    except KeyboardInterrupt:
        typer.echo(f"nasbench: interrupted; finished runs are kept in {out} (rerun to resume)", err=True)
        raise typer.Exit(130) from None
    if as_json:
        echo_json(result)
        return
    lines = [
        f"{result['runs']} runs ({result['resumed_runs']} resumed) in {result['wall_s']:.1f} s; "
        f"metric {result['metric']} (lower is better)"
    ]
    for e in result["effects"]:
        ci = fmt_ci({"mean": e["effect"], "lo": e["lo"], "hi": e["hi"]})
        lines.append(
            f"{e['factor']}: {e['level']} vs {e['reference']}: {ci}{'  *' if e['significant'] else ''}"
        )
    lines.append("files: " + ", ".join(result["files"].values()))
    typer.echo("\n".join(lines))


@app.command("leaderboard")
def leaderboard(
    surrogate: str = typer.Option(
        ..., "--surrogate", help="Saved model file, or a surrogate name to fit on --table."
    ),
    table: Path | None = typer.Option(
        None, "--table", help="Table: fits a named surrogate, adds measured values."
    ),
    top: int = typer.Option(100, "--top", help="Entries to write."),
    fmt: str = typer.Option("csv", "--format", help="csv, json, md or html."),
    out: Path = typer.Option(..., "--out", help="Output file."),
    all_indices: bool = typer.Option(False, "--all", help="Rank every index, not one per isomorphism class."),
    scores: list[Path] = typer.Option(
        [],
        "--scores",
        help="Score file from `nasbench estimate` (repeatable): its columns beside the prediction.",
    ),
    objectives: str = typer.Option(
        "",
        "--objectives",
        help="Several objectives NAME[:max|:min],... (metrics or per-architecture columns, e.g. "
        "valid_acc,params): Pareto ranks, OUT.pareto.csv and OUT.pareto.png.",
    ),
    maxima: list[str] = MAX_OPTION,
    minima: list[str] = MIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Rank the whole search space by a surrogate's predicted final accuracy (or, with
    --objectives, by Pareto rank).

    Exit codes: 0 done, 2 bad input (e.g. an objective or constraint that is no column).
    """
    from nasbench.experiments.leaderboard import LeaderboardConfig
    from nasbench.experiments.leaderboard import leaderboard as run_leaderboard

    cfg = LeaderboardConfig(
        surrogate=surrogate,
        top=top,
        fmt=fmt,  # type: ignore[arg-type]
        unique=not all_indices,
        scores=tuple(str(f) for f in scores),
        objectives=objectives,
        maxima=tuple(maxima),
        minima=tuple(minima),
    )
    result = run_leaderboard(cfg, out, table=table)
    cert = result["certificate"]
    typer.echo(cert["line"], err=True)  # the surrogate's fidelity certificate, or a warning
    if as_json:
        echo_json(result)
        return
    if not result["entries"]:
        typer.echo(
            f"no architecture satisfies {result['provenance'].get('constraints')}; wrote {result['out']}"
        )
        return
    if "pareto" in result:
        p = result["pareto"]
        typer.echo(
            f"ranked {result['ranked']} architectures on ({', '.join(p['objectives'])}); the Pareto front "
            f"holds {len(p['front'])}; wrote the top {len(result['entries'])} by Pareto rank to {result['out']}, "
            f"every rank to {p['files']['ranks']} and the front to {p['files']['plot']}\n"
            f"values: {result['provenance']['values']}"
        )
        return
    first = result["entries"][0]
    metric = list(first)[3].removeprefix("predicted_")  # the field named after the objective
    measured = first[f"measured_{metric}"]
    typer.echo(
        f"ranked {result['ranked']} architectures with {result['provenance']['model']}; wrote the top "
        f"{len(result['entries'])} to {result['out']}"
        + ("" if metric == "valid_acc" else f" ({result['provenance'].get('order', '')})")
        + f"\n#1 {first['arch']}: predicted {fmt_metric(first[f'predicted_{metric}'], metric)} ± "
        f"{fmt_metric(first['predicted_std'] or 0, metric)}"
        + (f", measured {fmt_metric(measured, metric)}" if measured is not None else "")
    )


@app.command("explore")
def explore(
    table: Path | None = typer.Option(None, "--table", help="Table (default: the shipped digits table)."),
    out: Path = typer.Option(Path("nasbench-out"), "--out", help="Output folder."),
    seeds: int = typer.Option(
        10, "--seeds", help="Runs per strategy (10 x 100 keeps the job near two minutes)."
    ),
    budget: str = typer.Option("100", "--budget", "-b", help=BUDGET_HELP),
    strategies: str | None = typer.Option(
        None, "--strategies", help="Comma-separated (default: the main ones)."
    ),
    processes: int = typer.Option(2, "--processes", help="Worker processes."),
    objectives: str = OBJECTIVES_OPTION,
    maxima: list[str] = MAX_OPTION,
    minima: list[str] = MIN_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The main job: fit the default surrogate, compare the main strategies, export leaderboard and plots.

    With --objectives the leaderboard adds Pareto ranks (leaderboard.pareto.csv/png), the
    comparison the hypervolume (compare/hypervolume.png), and the default strategies are
    mo-rs and mo-re.
    """
    from nasbench.experiments.explore import MAIN_STRATEGIES, MO_STRATEGIES, ExploreConfig
    from nasbench.experiments.explore import explore as run_explore

    default = MO_STRATEGIES if objectives else MAIN_STRATEGIES
    names = tuple(s.strip() for s in strategies.split(",") if s.strip()) if strategies else default
    s = run_explore(
        ExploreConfig(
            out=out,
            table=table,
            strategies=names,
            seeds=seeds,
            budget=budget,
            processes=processes,
            objectives=objectives,
            maxima=tuple(maxima),
            minima=tuple(minima),
        )
    )
    if as_json:
        echo_json(s)
        return
    bp, bm = s["best_predicted"], s["best_measured"]
    metric = s.get("objective", {}).get("metric", "valid_acc")
    regret = (
        "regret = optimum - incumbent, valid %"
        if "objective" not in s
        else f"regret = |optimum - incumbent| {metric}, {s['objective']['direction']}imised"
    )
    lines = [
        f"table      {s['table']} ({s['dataset']}, {s['archs']} architectures, epochs {s['epochs'][0]}..{s['epochs'][-1]})",
        f"surrogate  {s['surrogate']['name']} fitted in {s['surrogate']['fit_s']:.1f} s",
        f"predicted  #1 {bp['arch']}: {fmt_metric(bp[f'predicted_{metric}'], metric)} ± "
        f"{fmt_metric(bp['predicted_std'] or 0, metric)}",
        f"measured   best {bm['arch']}: {fmt_metric(bm[metric], metric)}",
        f"strategies {s['compare']['seeds']} seeds x {s['compare']['budget']} ({regret}):",
    ]
    for name, v in s["compare"]["strategies"].items():
        r = f"{v['final_regret']:.3f}" if "objective" not in s else f"{v['final_regret']:.4g}"
        hv = s.get("hypervolume", {}).get("final", {}).get(name)
        lines.append(
            f"  {name:<10} final regret {r}   mean rank {v['mean_rank']:.2f}"
            + (f"   hypervolume {hv['mean']:.6g} [{hv['lo']:.6g}, {hv['hi']:.6g}]" if hv else "")
        )
    if "hypervolume" in s:
        h = s["hypervolume"]
        lines.append(
            f"front      {s['pareto']['front_size']} leaderboard entries on the Pareto front of "
            f"({', '.join(s['pareto']['objectives'])}); the table front's hypervolume {h['table_front']:.6g}"
        )
    extra = ", leaderboard.pareto.png, compare/hypervolume.png" if "hypervolume" in s else ""
    lines.append(
        f"files      {Path(s['files']['summary']).parent.resolve()}/ (leaderboard.md, leaderboard.csv, "
        f"leaderboard.png, compare/regret.png, compare/summary.md{extra})"
    )
    lines.append(f"took       {s['wall_s']:.0f} s")
    typer.echo("\n".join(lines))


__all__ = ["ablate", "compare", "explore", "leaderboard", "search"]
