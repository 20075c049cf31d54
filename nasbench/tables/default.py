"""Where the embedded default table lives.

The digits table ships in the repository's ``data/`` folder (found beside the package
in a source checkout or editable install) and is installed to ``<prefix>/share/nasbench``
by a regular install.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nasbench.core.errors import TableFormatError

DEFAULT_TABLE_NAME = "digits.parquet"


def default_table_path() -> Path:
    """Path of the shipped digits table.

    ``NASBENCH_DEFAULT_TABLE`` overrides it.

    Raises:
        TableFormatError: the table is not installed.
    """
    env = os.environ.get("NASBENCH_DEFAULT_TABLE")
    if env:
        return Path(env)
    candidates = [
        Path(__file__).resolve().parents[2] / "data" / DEFAULT_TABLE_NAME,
        Path(sys.prefix) / "share" / "nasbench" / DEFAULT_TABLE_NAME,
    ]
    for c in candidates:
        if c.is_file():
            return c
    raise TableFormatError(
        f"the embedded default table {DEFAULT_TABLE_NAME} is not installed (looked in "
        + ", ".join(str(c.parent) for c in candidates)
        + "); pass a table path or set NASBENCH_DEFAULT_TABLE"
    )


#: the shipped table of each trainable space on the embedded dataset (``digits``)
SHIPPED_TABLES: dict[str, str] = {"nb201": DEFAULT_TABLE_NAME, "mlp": "mlp-digits.parquet"}


def shipped_table_path(space: str) -> Path | None:
    """The shipped digits table of ``space`` (``nb201``: :func:`default_table_path`), or
    ``None`` when none ships for it."""
    name = SHIPPED_TABLES.get(space)
    if name is None:
        return None
    if name == DEFAULT_TABLE_NAME:
        return default_table_path()
    path = default_table_path().with_name(name)
    return path if path.is_file() else None
