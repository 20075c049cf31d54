"""Space files: read a declaration (TOML/JSON) or a ConfigSpace JSON, write either one.

A file is taken as ConfigSpace JSON when it holds ``hyperparameters`` (ConfigSpace's
key) and as a declaration when it holds ``dimensions``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from nasbench.core.config import read_config_file
from nasbench.core.errors import ConfigError
from nasbench.core.io import atomic_write_text, dumps_json
from nasbench.spaces.configspace import configspace_json, from_configspace_json
from nasbench.spaces.declared import DeclaredSpace

SpaceFormat = Literal["declared", "configspace"]


def read_space_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], SpaceFormat]:
    """The raw content of a space file and its format.

    Raises:
        ConfigError: missing, unreadable or malformed file, or neither format.
    """
    data = read_config_file(path, what="space file")
    if "hyperparameters" in data:
        return data, "configspace"
    if "dimensions" in data:
        return data, "declared"
    raise ConfigError(
        f"space file {path} holds neither a declaration ('dimensions') nor ConfigSpace JSON ('hyperparameters')"
    )


def read_space(path: str | os.PathLike[str], *, float_steps: int | None = None) -> DeclaredSpace:
    """The declared space of a declaration or ConfigSpace JSON file.

    Args:
        path: a ``.toml`` or ``.json`` declaration, or a ConfigSpace JSON file.
        float_steps: grid size for a ConfigSpace file's continuous floats.

    Raises:
        ConfigError: the file or its declaration is malformed (the message names the file).
    """
    return _load(path, float_steps)[0]


def _load(path: str | os.PathLike[str], float_steps: int | None) -> tuple[DeclaredSpace, SpaceFormat]:
    data, fmt = read_space_file(path)
    try:
        if fmt == "configspace":
            return from_configspace_json(data, float_steps=float_steps), fmt
        return DeclaredSpace(data), fmt
    except ConfigError as exc:
        raise ConfigError(f"space file {path}: {exc}") from None


def write_space(space: DeclaredSpace, path: str | os.PathLike[str], fmt: SpaceFormat = "declared") -> None:
    """Write ``space`` atomically as a JSON declaration or as ConfigSpace JSON.

    Raises:
        ConfigError: ``path`` is not a ``.json`` file.
    """
    if Path(path).suffix.lower() != ".json":
        raise ConfigError(f"space files are written as JSON; name the output *.json, not {path}")
    if fmt == "configspace":
        atomic_write_text(path, configspace_json(space))
    else:
        atomic_write_text(path, dumps_json(space.declaration.to_dict()) + "\n")


def convert_space(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    to: SpaceFormat | None = None,
    float_steps: int | None = None,
) -> dict[str, Any]:
    """Convert a space file between a declaration and ConfigSpace JSON.

    Args:
        source: the input file (either format).
        out: the output ``.json`` file.
        to: the output format; None: the other one.
        float_steps: grid size for a ConfigSpace file's continuous floats.

    Returns:
        A summary: ``source``, ``from``, ``out``, ``to``, ``size``.
    """
    space, fmt = _load(source, float_steps)
    target: SpaceFormat = to or ("declared" if fmt == "configspace" else "configspace")
    write_space(space, out, target)
    return {"source": str(source), "from": fmt, "out": str(out), "to": target, "size": space.size}


def show_space(path: str | os.PathLike[str], *, float_steps: int | None = None) -> dict[str, Any]:
    """:meth:`DeclaredSpace.describe` of a space file, with the file and its format."""
    space, fmt = _load(path, float_steps)
    return {"file": str(path), "format": fmt, **space.describe()}
