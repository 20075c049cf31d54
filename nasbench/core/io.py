"""File output for every layer: atomic writes (a temporary file beside the target, fsync,
rename), output-path checks, and JSON that is valid (no NaN) and numpy-aware."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import NasbenchError


def check_output_file(target: str | os.PathLike[str]) -> Path:
    """Check, before any work, that a file can be written at ``target``; return it as a Path.

    Raises:
        NasbenchError: its folder does not exist or is not writable, or ``target`` is a folder.
    """
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise NasbenchError(f"output directory does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise NasbenchError(f"output directory is not writable: {parent}")
    if target.is_dir():
        raise NasbenchError(f"output path is a directory: {target}")
    return target


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: the process's umask, read once at import (reading it means setting it)
_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    A crash or exception before the rename leaves ``target`` untouched (either absent
    or the previous complete version) and removes the temporary file.

    Raises:
        NasbenchError: as :func:`check_output_file`.
    """
    target = check_output_file(target)
    parent = target.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise NasbenchError(f"cannot write to {parent}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp creates the file private (0600): give it the mode an ordinary write would
        # (the replaced file's, else 0666 less the umask)
        try:
            mode = target.stat().st_mode & 0o777
        except OSError:
            mode = 0o666 & ~_UMASK
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode)
        os.replace(tmp, target)
        with contextlib.suppress(OSError):  # not all file systems allow a directory fsync
            dir_fd = os.open(parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``target`` atomically (UTF-8)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def make_dirs(path: str | os.PathLike[str]) -> Path:
    """Create the output folder ``path`` and its parents where missing; return it.

    Raises:
        NasbenchError: it cannot be created: a file is in the way, or no permission.
    """
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NasbenchError(f"cannot create output folder {p}: a file is in the way") from None
    except OSError as exc:
        raise NasbenchError(f"cannot create output folder {p}: {exc.strerror or exc}") from None
    return p


# ---- JSON ---------------------------------------------------------------------------------


def jsonable(obj: Any, *, finite: bool = True) -> Any:
    """``obj`` as plain JSON values: numpy scalars and arrays become numbers and lists, tuples
    lists, paths strings, and anything else its ``repr``.

    Args:
        obj: a value, or a tree of dicts, lists and tuples.
        finite: NaN and infinities become ``None`` (JSON has no such numbers; a median of
            runs that mostly never reached a target is infinite, and its share says so).
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v, finite=finite) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v, finite=finite) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist(), finite=finite)
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if not finite or math.isfinite(obj) else None
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return repr(obj)


def dumps_json(obj: Any, *, indent: int | None = 2, sort_keys: bool = False, finite: bool = True) -> str:
    """JSON text of :func:`jsonable` ``(obj)`` (NaN and infinities as ``null`` unless ``finite=False``)."""
    return json.dumps(jsonable(obj, finite=finite), indent=indent, sort_keys=sort_keys, allow_nan=not finite)


def write_json(target: str | os.PathLike[str], obj: Any, *, sort_keys: bool = False) -> None:
    """Write ``obj`` as indented JSON (NaN as ``null``) to ``target`` atomically, with a final newline."""
    atomic_write_text(target, dumps_json(obj, sort_keys=sort_keys) + "\n")
