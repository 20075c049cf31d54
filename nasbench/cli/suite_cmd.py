"""``nasbench suite``: many strategies on many tables, ranked together."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from nasbench.cli import app
from nasbench.cli._common import JSON_OPTION, echo_json, progress_bar


@app.command("suite")
def suite(
    config: Annotated[
        Path, typer.Argument(help="Suite file (.toml): tables with their budgets, strategies, seeds.")
    ],
    out: Path = typer.Option(..., "--out", help="Output folder."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue a folder that holds this suite (refused if its settings differ)."
    ),
    executor: str = typer.Option(
        "local", "--executor", help="'local' (tables one after another) or 'ray' (each table a Ray task)."
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="--executor ray: the cluster (default: RAY_ADDRESS or a local instance)."
    ),
    processes: int | None = typer.Option(
        None, "--processes", help="Worker processes of each table's comparison (default: the file's, 2)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run every strategy on every table of a suite; rank them across tables (mean ranks,
    normalised regret, Friedman test and a critical-difference diagram).

    Exit codes: 0 done, 2 bad input, 130 interrupted (finished runs are kept; rerun with --resume).
    """
    from nasbench.experiments.suite import load_suite
    from nasbench.experiments.suite import suite as run_suite

    cfg = load_suite(config)
    try:
        with progress_bar("suite", quiet=as_json) as update:
            result = run_suite(
                cfg,
                out,
                resume=resume,
                executor=executor,
                ray_address=ray_address,
                processes=processes,
                progress=None if update is None else lambda d, n: update(d, n, f"{d}/{n} runs"),
            )
    except KeyboardInterrupt:
        typer.echo(f"nasbench: interrupted; finished runs are kept in {out} (rerun with --resume)", err=True)
        raise typer.Exit(130) from None
    if as_json:
        echo_json(result)
        return
    typer.echo(_text(result))


def _text(result: dict[str, Any]) -> str:
    from nasbench.experiments.report import fmt_ci

    fr, nm = result["friedman"], result["nemenyi"]
    lines = [
        f"{result['runs']} runs ({result['resumed_runs']} resumed) on {len(result['tables'])} tables "
        f"in {result['wall_s']:.1f} s",
        f"{'place':<6} {'strategy':<14} {'mean rank':<24} normalised regret (mean, 0 = optimum, 1 = rs median)",
    ]
    for e in result["ranking"]:
        nr = {k: (float("nan") if v is None else v) for k, v in e["normalised_regret"].items()}
        lines.append(
            f"{e['place']:<6} {e['strategy']:<14} {fmt_ci(e['mean_rank'], digits=3):<24} {fmt_ci(nr, digits=3)}"
        )
    p = "n/a" if fr["p_value"] is None else f"{fr['p_value']:.3g}"
    lines.append(f"Friedman p = {p} ({fr['blocks']} blocks); Nemenyi CD = {nm['critical_difference']:.3f}")
    lines.extend(result["notes"])
    lines.append("files: " + ", ".join(result["files"].values()))
    return "\n".join(lines)
