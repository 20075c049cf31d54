"""``nasbench estimate``: score architectures without training each one (zero-cost proxies, one-shot supernets)."""

from __future__ import annotations

from pathlib import Path

import typer

from nasbench.cli import app
from nasbench.cli._common import JSON_OPTION, echo_json, progress_bar
from nasbench.core.config import parse_assignments
from nasbench.core.errors import ConfigError

estimate_app = typer.Typer(
    help="Estimate architectures' performance without training each one (zero-cost proxies, one-shot supernets).",
    no_args_is_help=True,
)
app.add_typer(estimate_app, name="estimate")


@estimate_app.command("proxies")
def proxies_cmd(
    out: Path = typer.Option(
        ..., "--out", help="Output scores (.parquet): arch, arch_index, one column per proxy."
    ),
    space: str = typer.Option("nb201", "--space", help="Search space (nb201)."),
    dataset: str | None = typer.Option(
        None,
        "--dataset",
        help="'digits' (embedded) or npz:PATH; omit with --input-shape for data-free proxies.",
    ),
    input_shape: str | None = typer.Option(
        None, "--input-shape", help="H,W,C of a stated input (no dataset), e.g. 32,32,3."
    ),
    classes: int | None = typer.Option(None, "--classes", help="Class count of a stated input (no dataset)."),
    proxies: str = typer.Option(
        "all",
        "--proxies",
        help="all | data-free (synflow,params,flops) | a list of synflow,grad_norm,snip,jacob_cov,naswot,params,flops.",
    ),
    archs: str = typer.Option("unique", "--archs", help="unique | all | N (sampled unique cells) | FILE."),
    seed: int = typer.Option(0, "--seed", help="Initialisation and minibatch seed (same seed, same scores)."),
    batch: int = typer.Option(
        64, "--batch", help="Images in the one minibatch of the data-dependent proxies."
    ),
    population: int = typer.Option(50, "--population", help="Cells per compiled program."),
    recipe: str | None = typer.Option(
        None, "--recipe", help="Preset (digits, nb201) or JSON file; default by dataset (nb201 without one)."
    ),
    sets: list[str] = typer.Option([], "--set", help="Recipe override key=value (repeatable)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Score every architecture with zero-cost proxies at initialisation; larger = predicted better.

    synflow, params and flops need no data: give --input-shape and --classes instead of
    --dataset (with --proxies data-free). grad_norm, snip, jacob_cov and naswot use one
    minibatch of the dataset's training split.
    """
    from nasbench.train.build import default_recipe_name
    from nasbench.train.proxies import InputSpec, ProxyConfig, estimate_proxies, parse_input_shape
    from nasbench.train.recipe import resolve_recipe

    spec = None
    if dataset is not None:
        if input_shape is not None or classes is not None:
            raise ConfigError("give --dataset or --input-shape/--classes, not both")
    else:
        if input_shape is None or classes is None:
            raise ConfigError(
                "give --dataset, or --input-shape H,W,C and --classes N for the data-free proxies"
            )
        spec = InputSpec(parse_input_shape(input_shape), classes)
    name = recipe or (default_recipe_name(dataset) if dataset is not None else "nb201")
    rec = resolve_recipe(name, parse_assignments(sets, option="--set"))
    config = ProxyConfig(
        out=out,
        recipe=rec,
        recipe_name=name,
        dataset=dataset,
        input_spec=spec,
        space=space,
        archs=archs,
        proxies=tuple(proxies.split(",")),
        seed=seed,
        batch=batch,
        population=population,
    )
    with progress_bar("proxies", quiet=quiet or as_json) as update:
        summary = estimate_proxies(
            config,
            progress=None
            if update is None
            else lambda ev: update(ev["done"], ev["total"], f"{ev['done']}/{ev['total']} archs"),
        )
    if as_json:
        echo_json(summary)
        return
    source = (
        summary["dataset"]
        or f"input {','.join(map(str, summary['input_shape']))}, {summary['classes']} classes"
    )
    lines = [
        f"wrote     {summary['out']}  ({summary['archs']} archs x {len(summary['proxies'])} proxies)",
        f"proxies   {', '.join(summary['proxies'])}  (larger = predicted better)",
        f"network   recipe {summary['recipe']}, {source}, seed {summary['seed']}"
        + (f", batch {summary['batch']}" if summary["batch"] else ""),
        f"time      {summary['wall_s']:.1f} s wall, {summary['compile_s']:.1f} s compile "
        f"({summary['populations']} populations of {summary['population']})",
    ]
    typer.echo("\n".join(lines))


@estimate_app.command("oneshot")
def oneshot_cmd(
    out: Path = typer.Option(..., "--out", help="Output scores (.parquet): arch, arch_index, oneshot."),
    space: str = typer.Option("nb201", "--space", help="Search space (nb201)."),
    dataset: str = typer.Option("digits", "--dataset", help="'digits' (embedded) or npz:PATH."),
    mode: str = typer.Option(
        "oneshot",
        "--mode",
        help="oneshot (one supernet) | fewshot (one sub-supernet per op on --split-edge).",
    ),
    epochs: int = typer.Option(100, "--epochs", help="Supernet epochs (each step trains --paths cells)."),
    paths: int = typer.Option(5, "--paths", help="Cells sampled per step, stratified per edge."),
    split_edge: int = typer.Option(0, "--split-edge", help="Edge (0-5) few-shot splits on."),
    bn: str = typer.Option(
        "batch", "--bn", help="Batch norm at scoring: batch (batch statistics) | recal (recomputed per cell)."
    ),
    recal_images: int = typer.Option(256, "--recal-images", help="Training images of the recal statistics."),
    score_images: int = typer.Option(
        256, "--score-images", help="Validation images each cell is scored on (0: all)."
    ),
    no_mask: bool = typer.Option(
        False, "--no-mask", help="Let weight decay and momentum move operations a step did not use."
    ),
    archs: str = typer.Option("unique", "--archs", help="unique | all | N (sampled unique cells) | FILE."),
    seed: int = typer.Option(0, "--seed", help="Initialisation, data order and path sampling."),
    population: int = typer.Option(50, "--population", help="Cells per scoring program."),
    recipe: str | None = typer.Option(
        None, "--recipe", help="Preset (digits, nb201) or JSON file; default by dataset."
    ),
    sets: list[str] = typer.Option([], "--set", help="Recipe override key=value (repeatable)."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the checkpoint OUT.supernet.npz (a finished one is only rescored)."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Train a weight-sharing supernet once and score every cell with its weights (larger = better).

    The supernet is trained by stratified single-path sampling under the recipe's optimiser
    and checkpointed to OUT.supernet.npz (a kill loses at most a few steps: rerun with
    --resume). A cell's score is its validation accuracy with the supernet's weights.
    """
    from nasbench.train.build import default_recipe_name
    from nasbench.train.oneshot import OneShotConfig, SupernetConfig, estimate_oneshot
    from nasbench.train.recipe import resolve_recipe

    name = recipe or default_recipe_name(dataset)
    rec = resolve_recipe(name, parse_assignments(sets, option="--set"))
    supernet = SupernetConfig(
        mode=mode,
        epochs=epochs,
        paths=paths,
        split_edge=split_edge,
        mask_inactive=not no_mask,
        bn=bn,
        recal_images=recal_images,
        score_images=score_images or None,
        population=population,
    )
    config = OneShotConfig(
        out=out, recipe=rec, recipe_name=name, dataset=dataset, supernet=supernet, space=space, archs=archs,
        seed=seed, resume=resume,
    )  # fmt: skip
    with progress_bar(mode, quiet=quiet or as_json) as update:

        def report(ev: dict) -> None:
            if update is None:
                return
            if ev["phase"] == "train":
                update(
                    ev["done"], ev["total"], f"train step {ev['done']}/{ev['total']}, loss {ev['loss']:.3f}"
                )
            else:
                update(ev["done"], ev["total"], f"scored {ev['done']}/{ev['total']} archs")

        summary = estimate_oneshot(config, progress=report)
    if as_json:
        echo_json(summary)
        return
    resumed = f", resumed at step {summary['resumed_at_step']}" if summary["resumed_at_step"] else ""
    lines = [
        f"wrote     {summary['out']}  ({summary['archs']} archs, column oneshot: valid accuracy, larger = better)",
        f"supernet  {summary['mode']}, {summary['epochs']} epochs = {summary['steps']} steps x {summary['paths']} "
        f"paths, recipe {summary['recipe']}, {summary['dataset']}, seed {summary['seed']}{resumed}",
        f"scoring   batch norm {summary['bn']}; scores {summary['oneshot']['min']:.1f} .. "
        f"{summary['oneshot']['max']:.1f} (median {summary['oneshot']['median']:.1f})",
        f"time      {summary['train_s']:.1f} s training, {summary['score_s']:.1f} s scoring, "
        f"{summary['compile_s']:.1f} s compile, {summary['wall_s']:.1f} s wall",
        f"checkpoint {summary['checkpoint']}",
    ]
    typer.echo("\n".join(lines))


@estimate_app.command("latency")
def latency_cmd(
    out: Path = typer.Option(
        ..., "--out", help="Output (.parquet): arch, arch_index, latency_ms_b{B} per batch size."
    ),
    space: str = typer.Option("nb201", "--space", help="Search space: nb201 or mlp."),
    dataset: str = typer.Option(
        "digits", "--dataset", help="'digits' (embedded) or npz:PATH (input shape, classes)."
    ),
    archs: str = typer.Option("unique", "--archs", help="unique | all | N (sampled unique archs) | FILE."),
    batch_sizes: str = typer.Option("1,256", "--batch-sizes", help="Batch sizes to time, e.g. 1,256."),
    repeats: int = typer.Option(
        20, "--repeats", help="Timed calls per network and batch size (median kept)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the random weights and inputs."),
    recipe: str | None = typer.Option(
        None, "--recipe", help="Preset or JSON file (the network's shape); default by space and dataset."
    ),
    sets: list[str] = typer.Option([], "--set", help="Recipe override key=value (repeatable)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Measure each architecture's forward latency on this machine (median of --repeats).

    Timings hold for this machine only; the file records its platform. Carry them into a
    table with `nasbench estimate attach TABLE --scores FILE --out T2`; then
    `--objectives valid_acc,latency_ms_b1` and `--max latency_ms_b1=0.5` use them.
    """
    from nasbench.train.build import default_recipe_name
    from nasbench.train.latency import estimate_latency
    from nasbench.train.recipe import resolve_recipe

    try:
        sizes = tuple(int(b) for b in batch_sizes.split(",") if b.strip())
    except ValueError:
        raise ConfigError(f"--batch-sizes must be integers like 1,256, got {batch_sizes!r}") from None
    rec = resolve_recipe(
        recipe or default_recipe_name(dataset, space), parse_assignments(sets, option="--set")
    )
    with progress_bar("latency", quiet=quiet or as_json) as update:
        summary = estimate_latency(
            out=out,
            space=space,
            dataset=dataset,
            recipe=rec,
            archs=archs,
            batch_sizes=sizes,
            repeats=repeats,
            seed=seed,
            progress=None if update is None else lambda d, t: update(d, t, f"{d}/{t} networks"),
        )
    if as_json:
        echo_json(summary)
        return
    med = ", ".join(f"{k} {v} ms" for k, v in summary["median_ms"].items())
    typer.echo(
        f"wrote     {summary['out']}  ({summary['archs']} archs, median {med})\n"
        f"platform  {summary['platform']}  ({summary['repeats']} timed calls each, {summary['wall_s']:.1f} s)"
    )


@estimate_app.command("attach")
def attach_cmd(
    table: Path = typer.Argument(..., help="Result table (.parquet)."),
    scores: list[Path] = typer.Option(..., "--scores", help="Score file from proxies/oneshot (repeatable)."),
    out: Path = typer.Option(..., "--out", help="Output table (.parquet) with the scores as arch columns."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Carry score columns in a table: each becomes a per-architecture column (arch:NAME)."""
    from nasbench.core.io import check_output_file
    from nasbench.tables.scores import attach_scores, read_scores, score_metadata
    from nasbench.tables.table import ResultTable

    check_output_file(out)
    t = attach_scores(
        ResultTable.load(table), [read_scores(f) for f in scores], [score_metadata(f) for f in scores]
    )
    t.save(out)
    summary = {"out": str(out), "archs": int(t.n_archs), "arch_columns": sorted(t.arch_columns)}
    if as_json:
        echo_json(summary)
        return
    typer.echo(
        f"wrote {out}: {summary['archs']} architectures, arch columns {', '.join(summary['arch_columns'])}"
    )
