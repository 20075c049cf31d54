"""Helpers shared by CLI command modules: JSON output and option types."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import typer

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")


def _default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return _clean(float(obj))
    if isinstance(obj, np.ndarray):
        return [_default(x) if isinstance(x, np.generic) else x for x in obj.tolist()]
    if hasattr(obj, "__fspath__"):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def dumps(obj: Any) -> str:
    """JSON text with NaN/inf as null and numpy scalars as numbers."""
    return json.dumps(_clean(obj), default=_default, indent=2, sort_keys=False)


def echo_json(obj: Any) -> None:
    typer.echo(dumps(obj))
