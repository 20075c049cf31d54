"""Helpers shared by CLI command modules: JSON output, option types and progress bars."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer

from nasbench.core.io import dumps_json

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
DATASET_HELP = (
    "'digits' (embedded), sklearn:NAME (bundled: breast_cancer, wine, iris, diabetes), csv:PATH "
    "(with --target) or npz:PATH (images, or 2-D features)."
)
TARGET_OPTION = typer.Option(
    None, "--target", help="The target column of a csv: dataset (or another column of a bundled set)."
)
TASK_OPTION = typer.Option(
    None, "--task", help="classification | regression (default: from the target; see the building guide)."
)


def dataset_arg(dataset: str, target: str | None, task: str | None) -> str:
    """The one dataset spec string of ``--dataset``, ``--target`` and ``--task``
    (:func:`nasbench.train.data.dataset_spec`)."""
    from nasbench.train.data import dataset_spec

    return dataset_spec(dataset, target=target, task=task)


def echo_json(obj: Any) -> None:
    """Print ``obj`` as JSON (NaN and infinities as null, numpy values as numbers)."""
    typer.echo(dumps_json(obj))


def fmt_metric(value: float | None, metric: str = "valid_acc", width: int = 0) -> str:
    """A metric value for the terminal: accuracies (percent) with 2 decimals, anything
    else (a loss from 1e-5 to 1e4) with 4 significant digits."""
    if value is None:
        return "nan".rjust(width)
    return f"{value:{width}.2f}" if metric.endswith("_acc") else f"{value:{width}.4g}"


#: ``update(completed, total, info)``: one progress step (``total`` may be ``None``: unknown).
ProgressUpdate = Callable[[float, "float | None", str], None]


@contextmanager
def progress_bar(label: str, *, quiet: bool = False) -> Iterator[ProgressUpdate | None]:
    """The one progress display of long commands, on stderr.

    On a terminal, a rich bar with the ``info`` text, elapsed time and an ETA. In a log
    file, one plain line per update, with the rate since the first update and an ETA.
    ``None`` when ``quiet``. Usage::

        with progress_bar("build") as update:
            run(progress=None if update is None else lambda ev: update(ev["done"], ev["total"], "..."))
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    if quiet:
        yield None
        return
    console = Console(file=sys.stderr)
    if not console.is_terminal:
        first: dict[str, Any] = {}  # time, completed and total of the first update of a phase

        def plain(completed: float, total: float | None, info: str) -> None:
            now = time.perf_counter()
            if not first or first["total"] != total:  # a new phase (another total) restarts the rate
                first.update(time=now, completed=completed, total=total)
            rate = (completed - first["completed"]) / (now - first["time"]) if now > first["time"] else 0.0
            eta = f", ETA {(total - completed) / rate / 60:.1f} min" if total and rate > 0 else ""
            print(f"{label}: {info}, elapsed {(now - t0) / 60:.1f} min{eta}", file=sys.stderr, flush=True)

        t0 = time.perf_counter()
        yield plain
        return
    columns = (
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(label, total=None, info="starting")
        started: list[float | None] = []  # the current phase's total, once started

        def update(completed: float, total: float | None, info: str) -> None:
            # work resumed from disk is no speed, and a new phase (another total) has its own:
            # the ETA counts from here
            if not started or started[0] != total:
                started[:] = [total]
                bar.reset(task, total=total, completed=completed, info=info)
                return
            bar.update(
                task, total=total, completed=completed if total is None else min(completed, total), info=info
            )

        yield update
