"""``nasbench info``, ``nasbench query``, ``nasbench import`` and ``nasbench export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from nasbench.cli import app
from nasbench.cli._common import JSON_OPTION, echo_json, fmt_metric, progress_bar
from nasbench.core.errors import ConfigError

import_app = typer.Typer(help="Import third-party results into nasbench tables.", no_args_is_help=True)
app.add_typer(import_app, name="import")
export_app = typer.Typer(help="Export nasbench tables to other tools' formats.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@app.command("info")
def info(
    table: Annotated[Path, typer.Argument(help="Table file (.parquet).")],
    verify: bool = typer.Option(False, "--verify", help="Recompute the content hash and compare."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Summarise a table: space, dataset, shape, metrics, best architecture, provenance."""
    from nasbench.tables.summary import table_summary

    summary = table_summary(table, verify=verify)
    if as_json:
        echo_json(summary)
        return
    lines = [
        f"table     {table}",
        f"space     {summary['space']['name']} ({summary['space']['stored']} of {summary['space']['size']} architectures stored"
        + (
            f", {summary['space']['covered']} answerable via isomorphism"
            if summary["space"]["covered"] != summary["space"]["stored"]
            else ""
        )
        + ")",
        f"dataset   {summary.get('dataset')}",
        f"seeds     {summary['seeds']}",
        f"epochs    {summary['epochs_text']}",
        f"metrics   {', '.join(summary['metrics'])}",
        f"diverged  {summary['diverged_runs']} runs",
    ]
    if summary["arch_columns"]:
        lines.append(f"per arch  {', '.join(summary['arch_columns'])}")
    if summary.get("latency"):
        lat = summary["latency"]
        lines.append(
            f"latency   measured on {lat['platform']} (median of {lat['repeats']} calls; compare within it)"
        )
    if summary.get("objective"):
        o = summary["objective"]
        lines.append(f"objective {o['metric']}, {'lower' if o['direction'] == 'min' else 'higher'} is better")
    if summary.get("best"):
        b = summary["best"]
        metric = (summary.get("objective") or {}).get("metric", "valid_acc")
        lines.append(f"best      {fmt_metric(b[metric], metric)} {metric} at epoch {b['epoch']}: {b['arch']}")
    lines.append(f"hash      {summary['content_hash']}" + ("  (verified)" if summary.get("verified") else ""))
    if summary.get("created"):
        lines.append(f"created   {summary['created']}")
    if summary.get("build_command"):
        lines.append(f"built by  {summary['build_command']}")
    for note in summary.get("notes", []):
        lines.append(f"note      {note}")
    typer.echo("\n".join(lines))


@app.command("query")
def query(
    table: Annotated[Path, typer.Argument(help="Table file (.parquet).")],
    arch: Annotated[str, typer.Argument(help="Architecture: NB201 string, catalog id, or space index.")],
    epoch: int | None = typer.Option(None, "--epoch", help="Epoch (default: the last stored)."),
    metric: str | None = typer.Option(None, "--metric", help="One metric (default: all visible)."),
    seed: str | None = typer.Option(None, "--seed", help="Seed id, or 'mean' (default)."),
    test: bool = typer.Option(False, "--test", help="Also report test metrics (reporting use only)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Look up an architecture's metrics at an epoch."""
    from nasbench.tables.summary import query_table

    seed_arg: int | str = "mean"
    if seed is not None and seed != "mean":
        try:
            seed_arg = int(seed)
        except ValueError:
            raise ConfigError(f"--seed must be an integer seed id or 'mean', got {seed!r}") from None
    result = query_table(table, arch, epoch=epoch, metric=metric, seed=seed_arg, include_test=test)
    if as_json:
        echo_json(result)
        return
    typer.echo(f"{result['arch']}  (index {result['index']}, row {result['resolved_arch']})")
    typer.echo(f"epoch {result['epoch']}, seed {result['seed']}")
    for k, v in result["metrics"].items():
        typer.echo(
            f"  {k:<11} {'nan' if v is None or (isinstance(v, float) and np.isnan(v)) else f'{v:.4f}'}"
        )


@import_app.command("nb201")
def import_nb201_cmd(
    csv: Annotated[
        Path, typer.Argument(help="The merged NAS-Bench-201 CSV (e.g. shared/data/nb201/nb201.csv).")
    ],
    dataset: str = typer.Option("cifar10", "--dataset", help="cifar10, cifar100 or imagenet16."),
    out: Path = typer.Option(..., "--out", help="Output table (.parquet)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import NAS-Bench-201 (12- and 200-epoch fidelities) into an nb201 table."""
    from nasbench.core.io import check_output_file
    from nasbench.tables.importers import import_nb201

    check_output_file(out)
    table = import_nb201(csv, dataset)
    _save_and_report(table, out, as_json)


@import_app.command("curves")
def import_curves_cmd(
    csv: Annotated[Path, typer.Argument(help="CSV with one row per configuration and one column per epoch.")],
    id_column: str = typer.Option(..., "--id-column", help="Column holding a unique configuration id."),
    curve_prefix: str = typer.Option(
        ..., "--curve-prefix", help="Prefix of the per-epoch columns, e.g. acc_."
    ),
    feature_columns: str | None = typer.Option(
        None, "--feature-columns", help="Comma-separated numeric columns kept as architecture features."
    ),
    epoch_cost: float = typer.Option(
        1.0, "--epoch-cost", help="Simulated seconds per epoch (the CSV has no times)."
    ),
    scale: str = typer.Option("auto", "--scale", help="auto, fraction (x100) or percent."),
    skip_epoch_zero: bool = typer.Option(
        False,
        "--skip-epoch-zero",
        help="Leave out the epoch-0 column (accuracy before training); tables start at epoch 1.",
    ),
    out: Path = typer.Option(..., "--out", help="Output table (.parquet)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import per-epoch learning curves into a catalog-space table."""
    from nasbench.core.io import check_output_file
    from nasbench.tables.importers import import_curves

    check_output_file(out)
    feats = [c.strip() for c in feature_columns.split(",") if c.strip()] if feature_columns else []
    table = import_curves(
        csv,
        id_column,
        curve_prefix,
        feature_columns=feats,
        epoch_cost=epoch_cost,
        scale=scale,  # type: ignore[arg-type]
        skip_epoch_zero=skip_epoch_zero,
    )
    _save_and_report(table, out, as_json)


@import_app.command("configs")
def import_configs_cmd(
    csv: Annotated[Path, typer.Argument(help="CSV with one row per configuration of a declared space.")],
    space: Path = typer.Option(
        ..., "--space", help="The space: a declaration (.json/.toml, e.g. from `nasbench space infer`)."
    ),
    metric: str = typer.Option(
        ...,
        "--metric",
        help="The metric's columns: a name or a pattern, e.g. 'val_loss_seed{seed}' ({seed} expands over "
        "the seed columns present, {epoch} over per-epoch columns).",
    ),
    direction: str = typer.Option(
        ..., "--direction", help="min (a loss: lower is better) or max (an accuracy: higher is better)."
    ),
    cost: str | None = typer.Option(
        None,
        "--cost",
        help="Training-seconds columns, a pattern like --metric (e.g. 'train_time_s_seed{seed}'); "
        "default: --epoch-cost seconds per epoch.",
    ),
    arch_columns: str | None = typer.Option(
        None, "--arch-columns", help="Comma-separated numeric per-configuration columns (e.g. model_size)."
    ),
    store_as: str | None = typer.Option(
        None,
        "--as",
        help="The metric's name in the table: valid_loss (default with min), valid_acc (default with max), "
        "train_loss or train_acc.",
    ),
    final_epoch: int = typer.Option(
        1, "--final-epoch", help="The epoch of final values (a --metric without {epoch})."
    ),
    epoch_cost: float = typer.Option(1.0, "--epoch-cost", help="Simulated seconds per epoch without --cost."),
    snap: bool = typer.Option(
        False, "--snap", help="Numbers off an integer or float grid take the nearest grid value."
    ),
    rows: int | None = typer.Option(None, "--rows", help="Read only the first N rows."),
    out: Path = typer.Option(..., "--out", help="Output table (.parquet)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import a tabular benchmark (one row per configuration, e.g. FCNet) into a declared-space table.

    The metric and its direction become the table's objective: search, compare,
    surrogate and leaderboard minimise it with --direction min.
    """
    from nasbench.core.io import check_output_file
    from nasbench.spaces.declared_files import read_space
    from nasbench.tables.importers import import_configs

    check_output_file(out)
    if direction not in ("min", "max"):
        raise ConfigError(f"--direction must be min or max, got {direction!r}")
    table = import_configs(
        csv,
        read_space(space),
        metric,
        direction=direction,
        cost=cost,
        arch_columns=[c.strip() for c in arch_columns.split(",") if c.strip()] if arch_columns else [],
        store_as=store_as,
        final_epoch=final_epoch,
        epoch_cost=epoch_cost,
        snap=snap,
        nrows=rows,
    )
    _save_and_report(table, out, as_json)


@import_app.command("nats")
def import_nats_cmd(
    directory: Annotated[
        Path,
        typer.Argument(
            help="A NATS-Bench 'simple' archive folder (NATS-tss-v1_0-3ffb9-simple or NATS-sss-v1_0-50262-simple)."
        ),
    ],
    dataset: str = typer.Option(
        "cifar10-valid", "--dataset", help="cifar10-valid, cifar10, cifar100 or ImageNet16-120."
    ),
    epochs: int | None = typer.Option(
        None,
        "--epochs",
        help="The training schedule: 200 or 12 (topology), 90, 12 or 1 (size); default the longest.",
    ),
    test_split: str = typer.Option(
        "ori-test",
        "--test-split",
        help="test_* metrics: ori-test (every epoch) or x-test (cifar100, ImageNet16-120).",
    ),
    out: Path = typer.Option(
        ..., "--out", help="Output table (.parquet); chunks go to OUT.parts until it is written."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted import from OUT.parts."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import one dataset and schedule of a NATS-Bench archive: full per-epoch curves, every seed, costs."""
    import shutil

    from nasbench.core.io import check_output_file
    from nasbench.tables.nats import import_nats, parts_dir_for

    check_output_file(out)
    parts = parts_dir_for(out)
    with progress_bar("import nats", quiet=quiet or as_json) as update:
        table = import_nats(
            directory, dataset=dataset, epochs=epochs, test_split=test_split, parts=parts, resume=resume,
            progress=update,
        )  # fmt: skip
    _save_and_report(table, out, as_json)
    shutil.rmtree(parts, ignore_errors=True)  # the chunks were a cache of this import only


@import_app.command("syne-tune")
def import_synetune_cmd(
    directory: Annotated[
        Path, typer.Argument(help="A syne-tune tabular blackbox folder (hyperparameters.parquet, ...).")
    ],
    task: str | None = typer.Option(
        None, "--task", help="The task (dataset) to import, where the folder holds several."
    ),
    metric: list[str] = typer.Option(
        [],
        "--metric",
        help="Map a foreign objective to a nasbench metric, NAME=OBJECTIVE (repeatable), "
        "e.g. valid_loss=metric_valid_error.",
    ),  # fmt: skip
    out: Path = typer.Option(..., "--out", help="Output table (.parquet)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import a syne-tune tabular blackbox (read by syne-tune's own deserialize) into a table."""
    from nasbench.core.io import check_output_file
    from nasbench.tables.synetune import import_synetune

    check_output_file(out)
    mapping: dict[str, str] = {}
    for item in metric:
        name, sep, obj = item.partition("=")
        if not sep or not name.strip() or not obj.strip():
            raise ConfigError(f"--metric takes NAME=OBJECTIVE, got {item!r}")
        mapping[name.strip()] = obj.strip()
    table = import_synetune(directory, task=task, metric_map=mapping)
    _save_and_report(table, out, as_json)


@export_app.command("syne-tune")
def export_synetune_cmd(
    table: Annotated[Path, typer.Argument(help="Table file (.parquet).")],
    out: Path = typer.Option(..., "--out", help="Output folder (syne-tune's blackbox format)."),
    task: str | None = typer.Option(
        None, "--task", help="The blackbox's task name (default: the table's dataset)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a table as a syne-tune tabular blackbox (syne-tune's own serialize): every seed and epoch."""
    from nasbench.tables.synetune import export_synetune
    from nasbench.tables.table import ResultTable

    summary = export_synetune(ResultTable.load(table), out, task=task)
    if as_json:
        echo_json(summary)
        return
    typer.echo(
        f"wrote {out}: task {summary['task']}, {summary['configurations']} configurations x {summary['seeds']} seeds x "
        f"{summary['fidelities']} epochs, objectives {', '.join(summary['objectives'])}"
    )


def _save_and_report(table, out: Path, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    meta = table.save(out)
    report = {
        "out": str(out),
        "space": table.space.name,
        "archs": table.n_archs,
        "seeds": len(table.seeds),
        "epochs": table.epochs.tolist(),
        "metrics": list(table.metrics),
        "content_hash": meta["content_hash"],
    }
    if not table.objective.is_default:
        report["objective"] = table.objective.to_dict()
    if as_json:
        echo_json(report)
    else:
        typer.echo(
            f"wrote {out}: {report['archs']} architectures x {report['seeds']} seeds x "
            f"{len(report['epochs'])} epochs ({report['space']} space)"
            + (f"; objective {table.objective.describe()}" if "objective" in report else "")
        )
