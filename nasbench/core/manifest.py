"""Resume manifests: a small JSON file that records the settings of a long job.

A job that writes its results piece by piece (build shards, compare and ablate runs,
live-search populations) writes a manifest into its output folder first. A rerun into
the same folder compares its own settings with the stored ones: equal, and it resumes
from the pieces already there; different, and it stops with one line naming the keys
that differ, before any work, so a folder never mixes results of two configurations.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nasbench.core.errors import ConfigError, NasbenchError
from nasbench.core.io import jsonable, write_json


def normalise(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` as it reads back from JSON (tuples as lists, numpy as numbers), so that a
    fresh manifest compares equal to a stored one."""
    return json.loads(json.dumps(jsonable(dict(body), finite=False)))


def key_hash(key: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of a settings dict (sorted-key JSON): the identity of what a job's pieces depend on."""
    return "sha256:" + hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The stored manifest, or ``None`` when there is none.

    Raises:
        NasbenchError: the file exists but is not a JSON object (one line).
    """
    p = Path(path)
    if not p.is_file():
        return None
    try:
        body = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NasbenchError(f"cannot read the resume manifest {p}: {str(exc).splitlines()[0]}") from None
    if not isinstance(body, dict):
        raise NasbenchError(f"the resume manifest {p} is not a JSON object")
    return body


def differences(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """``(dotted key, old value, new value)`` of every leaf that differs between two
    manifests, nested objects compared key by key (a missing key reads as ``None``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[str, Any, Any]] = []
        for k in sorted(set(old) | set(new)):
            out += differences(old.get(k), new.get(k), f"{prefix}{k}.")
        return out
    return [] if old == new else [(prefix.rstrip("."), old, new)]


def _describe(diff: list[tuple[str, Any, Any]], quiet: tuple[str, ...]) -> str:
    shown = [d for d in diff if d[0] not in quiet] or diff
    parts = [
        f"{k}: {a!r} -> {b!r}" if not isinstance(a, dict | list) and not isinstance(b, dict | list) else k
        for k, a, b in shown[:4]
    ]
    return ", ".join(parts) + (f" and {len(shown) - 4} more" if len(shown) > 4 else "")


def check_manifest(
    path: str | os.PathLike[str],
    body: Mapping[str, Any],
    *,
    what: str,
    hint: str = "use another output folder or remove it",
    error: type[NasbenchError] = ConfigError,
    quiet: tuple[str, ...] = (),
) -> bool:
    """Compare ``body`` with the manifest stored at ``path``.

    Args:
        path: the manifest file.
        body: this run's settings.
        what: what the folder holds, for the message ("a comparison").
        hint: what the user can do, for the message.
        error: the error class to raise.
        quiet: dotted keys derived from the others (hashes): named only when nothing
            else differs.

    Returns:
        ``True`` when a manifest with the same settings is stored (the job resumes),
        ``False`` when there is none (a new job).

    Raises:
        ``error``: the stored settings differ; the message names the keys and values.
    """
    old = read_manifest(path)
    if old is None:
        return False
    diff = differences(old, normalise(body))
    if diff:
        raise error(
            f"{Path(path).parent} holds {what} with different settings ({_describe(diff, quiet)}); {hint}"
        )
    return True


def write_manifest(path: str | os.PathLike[str], body: Mapping[str, Any]) -> None:
    """Write the manifest atomically (sorted keys, so equal settings give equal files)."""
    write_json(path, normalise(body), sort_keys=True)
