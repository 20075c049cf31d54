"""``nasbench space``: declared search spaces (infer from a CSV, show, convert to/from ConfigSpace)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nasbench.cli import app
from nasbench.cli._common import JSON_OPTION, echo_json
from nasbench.core.errors import ConfigError

space_app = typer.Typer(
    help="Declared search spaces: infer one from a CSV, show one, convert to and from ConfigSpace JSON.",
    no_args_is_help=True,
)
app.add_typer(space_app, name="space")

FLOAT_STEPS_OPTION = typer.Option(
    None, "--float-steps", help="Grid size for a ConfigSpace file's continuous floats."
)


def _columns(text: str) -> list[str]:
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        raise ConfigError("--columns must name at least one column, e.g. --columns a,b,c")
    return cols


@space_app.command("infer")
def infer_cmd(
    csv: Annotated[Path, typer.Argument(help="CSV with one row per configuration.")],
    columns: str = typer.Option(..., "--columns", help="Comma-separated columns, one dimension each."),
    out: Path = typer.Option(..., "--out", help="Output declaration (.json)."),
    max_levels: int = typer.Option(
        20, "--max-levels", help="Numeric columns with at most this many values become grids of them."
    ),
    steps: int = typer.Option(10, "--steps", help="Grid size of a range (a column with more values)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a space declaration inferred from a CSV's columns.

    Text columns become categorical; numbers with few values an integer grid or ordinal
    values; numbers with many values a range of --steps values (log-scaled when positive
    and spanning more than two decades); a column empty in some rows a conditional
    dimension.
    """
    from nasbench.spaces.infer import infer_space

    summary = infer_space(csv, _columns(columns), out, max_levels=max_levels, steps=steps)
    if as_json:
        echo_json(summary)
        return
    lines = [
        f"wrote       {summary['out']}",
        f"size        {summary['size']:,} configurations",
        f"rows        {summary['rows']:,} ({summary['distinct']:,} distinct configurations"
        + (f", {summary['uncovered']:,} outside the space" if summary["uncovered"] else "")
        + ")",
    ]
    lines += [f"dimension   {d}" for d in summary["dimensions"]]
    lines += [f"condition   {c}" for c in summary["conditions"]]
    typer.echo("\n".join(lines))


@space_app.command("show")
def show_cmd(
    space_file: Annotated[Path, typer.Argument(help="Declaration (.json/.toml) or ConfigSpace JSON.")],
    float_steps: int | None = FLOAT_STEPS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a space's size, dimensions, conditions and forbidden combinations."""
    from nasbench.spaces.declared_files import show_space

    info = show_space(space_file, float_steps=float_steps)
    if as_json:
        echo_json(info)
        return
    lines = [
        f"space       {info['file']} ({info['format']})",
        f"size        {info['size']:,} configurations",
    ]
    for d in info["dimensions"]:
        when = "" if d["active_in"] == info["size"] else f"  (active in {d['active_in']:,})"
        lines.append(f"dimension   {d['name']}: {d['summary']}{when}")
    lines += [f"condition   {c}" for c in info["conditions"]]
    lines += [f"forbidden   {f}" for f in info["forbidden"]]
    lines += [f"network     {k} = {v}" for k, v in info.get("network", {}).items()]
    lines.append("encodings   " + ", ".join(f"{k} ({n} columns)" for k, n in info["encodings"].items()))
    typer.echo("\n".join(lines))


@space_app.command("convert")
def convert_cmd(
    space_file: Annotated[Path, typer.Argument(help="Declaration (.json/.toml) or ConfigSpace JSON.")],
    out: Path = typer.Option(..., "--out", help="Output file (.json)."),
    to: str = typer.Option("auto", "--to", help="declared | configspace | auto (the other format)."),
    float_steps: int | None = FLOAT_STEPS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Convert a space between a declaration and ConfigSpace JSON (same size and indices)."""
    from nasbench.spaces.declared_files import convert_space

    if to not in ("auto", "declared", "configspace"):
        raise ConfigError(f"--to must be one of declared, configspace, auto; got {to!r}")
    summary = convert_space(
        space_file,
        out,
        to=None if to == "auto" else to,  # type: ignore[arg-type]
        float_steps=float_steps,
    )
    if as_json:
        echo_json(summary)
        return
    typer.echo(f"wrote {summary['out']} ({summary['to']}, {summary['size']:,} configurations)")
