"""Helpers shared by CLI command modules: JSON output and option types."""

from __future__ import annotations

from typing import Any

import typer

from nasbench.core.io import dumps_json

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")


def echo_json(obj: Any) -> None:
    """Print ``obj`` as JSON (NaN and infinities as null, numpy values as numbers)."""
    typer.echo(dumps_json(obj))
