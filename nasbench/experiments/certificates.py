"""Where a surrogate's fidelity certificate (``nasbench surrogate certify``) is found, and
the one line that points to it.

* a saved model file ``MODEL.skops``: ``MODEL.certificate.json`` beside it;
* a registry name fitted on a table ``DIR/T.parquet`` (``--evaluator surrogate --model
  NAME``, ``leaderboard --surrogate NAME --table``): ``DIR/T.NAME.certificate.json`` beside
  the table, which ``certify --attach`` writes.

A certificate made on another table (its content hash differs) vouches for nothing here.
Kept apart from :mod:`nasbench.experiments.certify` so that ``leaderboard`` can read
certificates without importing the comparisons that write them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nasbench.tables.table import ResultTable

#: how a certificate file is recognised
KIND = "nasbench-certificate"


def certificate_path(
    model: str | os.PathLike[str], table: str | os.PathLike[str] | None = None
) -> Path | None:
    """Where the certificate of ``model`` is looked for: ``MODEL.certificate.json`` beside a
    saved model file, or ``T.NAME.certificate.json`` beside the table ``T.parquet`` for a
    registry name; None for a name without a table."""
    p = Path(model)
    if p.is_file() or p.suffix in (".skops", ".json"):
        return p.with_suffix(".certificate.json")
    if table is None:
        return None
    t = Path(table)
    return t.with_name(f"{t.stem}.{p.name}.certificate.json")


def certificate_note(
    model: str | os.PathLike[str], table: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """The certificate that vouches for ``model`` (on ``table``), as one line.

    Returns:
        ``{"path", "found", "line"}``: ``found`` is False (and ``line`` a warning) when no
        certificate exists, or when it was made on another table.
    """
    path = certificate_path(model, table)
    name = Path(model).name
    where = f" on {Path(table).name}" if table is not None else ""
    hint = "`nasbench surrogate certify TABLE --model NAME --out DIR --attach`"
    if path is None or not path.is_file():
        expected = f" (looked for {path})" if path is not None else ""
        return {
            "path": None if path is None else str(path),
            "found": False,
            "line": f"warning: no fidelity certificate for surrogate {name}{where}{expected}; make one with {hint}",
        }
    try:
        cert = json.loads(path.read_text())
    except Exception:  # an unreadable certificate vouches for nothing
        cert = {}
    if cert.get("kind") != KIND:
        return {"path": str(path), "found": False, "line": f"warning: {path} is not a fidelity certificate"}
    if table is not None:
        t = ResultTable.load(table)
        h = getattr(t, "_stored_hash", None) or t.content_hash()
        if cert["table"]["content_hash"] != h:
            return {
                "path": str(path),
                "found": False,
                "line": f"warning: the certificate {path} was made on another table "
                f"(content hash {cert['table']['content_hash'][:12]}, this one {h[:12]}); make one with {hint}",
            }
    return {"path": str(path), "found": True, "line": f"certificate: {path} ({cert['headline']})"}


__all__ = ["KIND", "certificate_note", "certificate_path"]
