"""Atomic file writes: write to a temporary file beside the target, fsync, rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

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
