"""MkDocs hook: render the CLI reference from the commands themselves.

A page that contains the line ``<!-- cli-reference -->`` gets, in its place, one section
per command and sub-command of ``nasbench``, each holding the command's own ``--help``
exactly as the terminal shows it (run in-process through :func:`nasbench.cli.main`), so
the reference cannot drift from the code. mkdocs-click cannot be used: typer vendors its
own click, whose options mkdocs-click does not recognise.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from typing import Any

MARKER = "<!-- cli-reference -->"
#: Terminal width the help is rendered at (fits a code block of the Material theme).
WIDTH = 92
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Environment that makes rich print plain text at a fixed width.
_ENV = {"COLUMNS": str(WIDTH), "LINES": "50", "NO_COLOR": "1", "TERM": "dumb"}
_UNSET = ("FORCE_COLOR", "PY_COLORS", "TERMINAL_WIDTH")


def command_paths() -> Iterator[tuple[str, ...]]:
    """Every command path of the CLI, groups before their sub-commands, in help order."""
    import typer

    import nasbench.cli

    with contextlib.redirect_stdout(io.StringIO()):
        nasbench.cli.main(["--help"])  # registers every command module, as the entry point does
    root = typer.main.get_command(nasbench.cli.app)

    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            if not getattr(sub, "hidden", False):
                yield from walk(sub, (*path, name))

    yield from walk(root, ())


@contextlib.contextmanager
def _plain_terminal() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in (*_ENV, *_UNSET)}
    os.environ.update(_ENV)
    for k in _UNSET:
        os.environ.pop(k, None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def help_text(path: tuple[str, ...]) -> str:
    """``nasbench PATH --help`` as plain text, trailing blanks removed."""
    import nasbench.cli

    buf = io.StringIO()
    with _plain_terminal(), contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        code = nasbench.cli.main([*path, "--help"])
    if code != 0:
        raise RuntimeError(f"nasbench {' '.join(path)} --help exited with {code}: {buf.getvalue()}")
    lines = [_ANSI.sub("", line).rstrip() for line in buf.getvalue().splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def render() -> str:
    """The markdown of the whole reference: a heading and a text block per command."""
    parts = []
    for path in command_paths():
        title = " ".join(("nasbench", *path))
        level = "#" * min(2 + max(len(path) - 1, 0), 4)
        parts.append(f"{level} `{title}`\n\n```text\n{help_text(path)}\n```\n")
    return "\n".join(parts)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render())
