"""MkDocs hook: let two docstring habits of the code through ``mkdocs build --strict``.

Some docstrings list what they raise as a sentence (``Raises: A, B, C.``) instead of
Google style's ``A: when ...`` pairs, and some document several parameters on one line
(``seeds, budget: as in compare``). griffe warns about each, and a warning fails a strict
build. This drops exactly those warnings, so every other docstring warning (a documented
parameter the signature lacks, say) still fails the build. Remove it once the docstrings
name each exception and each parameter on its own line.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_HABITS = re.compile(
    r"Failed to get 'exception: description' pair"
    r"|No type or annotation for parameter '[^']*, [^']*'"
    r"|Parameter '[^']*, [^']*' does not appear in the function signature"
)


class _KnownHabits(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _HABITS.search(record.getMessage())


def on_startup(**kwargs: Any) -> None:
    logging.getLogger("mkdocs.plugins.griffe").addFilter(_KnownHabits())
