"""``nasbench build``: train architectures on a dataset and write a result table."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import typer

from nasbench.cli import app
from nasbench.cli._common import (
    DATASET_HELP,
    JSON_OPTION,
    TARGET_OPTION,
    TASK_OPTION,
    dataset_arg,
    echo_json,
    progress_bar,
)
from nasbench.core.config import parse_assignments
from nasbench.core.errors import ConfigError


def _command(parts: dict[str, Any], sets: list[str]) -> str:
    words = ["nasbench", "build"]
    for flag, value in parts.items():
        if value is None or value is False:
            continue
        words += [flag] if value is True else [flag, str(value)]
    for s in sets:
        words += ["--set", s]
    return shlex.join(words)


@app.command("build")
def build(
    out: Path = typer.Option(..., "--out", help="Output table (.parquet)."),
    space: str = typer.Option(
        "nb201", "--space", help="Search space: nb201, mlp or a declaration file (SPACE.toml)."
    ),
    dataset: str = typer.Option("digits", "--dataset", help=DATASET_HELP),
    target: str | None = TARGET_OPTION,
    task: str | None = TASK_OPTION,
    epochs: int | None = typer.Option(None, "--epochs", help="Training epochs (default: the recipe's)."),
    seeds: str = typer.Option("1", "--seeds", help="Number of seeds (0..S-1) or a list like 0,3,7."),
    population: int = typer.Option(50, "--population", help="Runs trained together; 1 = one at a time."),
    archs: str = typer.Option("unique", "--archs", help="unique | all | N (sampled unique archs) | FILE."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT.shards after an interruption."),
    executor: str = typer.Option("local", "--executor", help="local | ray."),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster (default: RAY_ADDRESS or local)."
    ),
    recipe: str | None = typer.Option(
        None, "--recipe", help="Preset (digits, nb201) or JSON file; default by dataset."
    ),
    sets: list[str] = typer.Option(
        [], "--set", help="Recipe override key=value (repeatable), e.g. --set lr=0.1."
    ),
    shards: Path | None = typer.Option(None, "--shards", help="Shard directory (default: OUT.shards)."),
    latency: bool = typer.Option(
        False,
        "--latency",
        help="Also time each architecture's forward pass here (batch 1 and 256): latency_ms_b1/_b256 columns.",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Train every architecture (x seeds) and write the result table, resumably."""
    from nasbench.train.build import BuildConfig, build_table, default_recipe_name, parse_seeds
    from nasbench.train.recipe import resolve_recipe

    dataset = dataset_arg(dataset, target, task)
    rec = resolve_recipe(
        recipe or default_recipe_name(dataset, space), parse_assignments(sets, option="--set")
    )
    if epochs is not None:
        if epochs < 1:
            raise ConfigError(f"--epochs must be >= 1, got {epochs}")
        rec = rec.replace(epochs=epochs)
    command = _command(
        {
            "--space": space,
            "--dataset": dataset,
            "--recipe": recipe,
            "--epochs": rec.epochs,
            "--seeds": seeds,
            "--population": population,
            "--archs": archs,
            "--executor": executor if executor != "local" else None,
            "--latency": latency,
            "--out": out,
        },
        sets,
    )
    config = BuildConfig(
        dataset=dataset,
        recipe=rec,
        out=out,
        space=space,
        seeds=parse_seeds(seeds),
        population=population,
        archs=archs,
        resume=resume,
        executor=executor,
        ray_address=ray_address,
        shard_dir=shards,
        command=command,
        latency=latency,
    )
    with progress_bar("build", quiet=quiet or as_json) as update:
        summary = build_table(config, progress=None if update is None else _build_progress(update))
    if as_json:
        echo_json(summary)
        return
    info = summary.get("informativeness") or {}
    lines = [
        f"wrote     {summary['out']}  ({summary['archs']} archs x {len(summary['seeds'])} seeds x {summary['epochs']} epochs)",
        f"runs      {summary['trained_runs']} trained, {summary['resumed_runs']} from shards, {summary['diverged_runs']} diverged",
        f"time      {summary['wall_s']:.1f} s wall, {summary['train_s']:.1f} s training, {summary['eval_s']:.1f} s eval, "
        f"{summary['compile_s']:.1f} s compile ({summary['mode']} mode, {summary['populations']} shards)",
    ]
    if info.get("seed_spearman") is not None:
        lines.append(
            f"quality   seed-seed rho {info['seed_spearman']}, valid-test rho {info['valid_test_spearman']}, "
            f"p90-p10 {info['spread_p90_p10']}, late gain {info['late_gain']} ({info['n_archs']} connected archs)"
        )
    platforms = summary.get("platforms") or []
    if len(platforms) > 1:  # resumed on another machine type: not bit-identical to a one-machine build
        lines.append(f"platforms {'; '.join(platforms)} (machine types round differently)")
    elif platforms:
        lines.append(f"platform  {platforms[0]}")
    if summary.get("latency"):
        lat = summary["latency"]
        lines.append(f"latency   {', '.join(lat['columns'])} ({lat['repeats']} timed calls each, median)")
    lines.append(f"hash      {summary['content_hash']}")
    typer.echo("\n".join(lines))


def _build_progress(update: Any) -> Any:
    def progress(ev: dict[str, Any]) -> None:
        if ev.get("phase") == "latency":
            update(ev["done"], ev["total"], f"latency: {ev['done']}/{ev['total']} networks timed")
            return
        trained = ev["runs_done"] - ev["resumed_runs"]
        rate = trained / ev["elapsed_s"] if ev["elapsed_s"] > 0 else 0.0
        update(
            ev["runs_done"],
            ev["runs_total"],
            f"shard {ev['shards_done']}/{ev['shards_total']}, {ev['runs_done']}/{ev['runs_total']} arch-seed "
            f"runs, {rate:.2f} runs/s",
        )

    return progress
