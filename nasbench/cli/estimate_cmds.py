"""``nasbench estimate``: score architectures without training them (zero-cost proxies)."""

from __future__ import annotations

from pathlib import Path

import typer

from nasbench.cli import app
from nasbench.cli._common import JSON_OPTION, echo_json, progress_bar
from nasbench.core.config import parse_assignments
from nasbench.core.errors import ConfigError

estimate_app = typer.Typer(
    help="Estimate architectures' performance without training them (zero-cost proxies).",
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
