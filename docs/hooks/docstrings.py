"""MkDocs hook: let one docstring habit of the code through ``mkdocs build --strict``.

A few functions list what they raise as a sentence (``Raises: A, B, C.``) instead of
Google style's ``A: when ...`` pairs; griffe warns about each, and a warning fails a
strict build. This drops exactly that warning, so every other docstring warning (a
documented parameter the signature lacks, say) still fails the build. Remove this hook
once those docstrings name each exception with its reason.
"""

from __future__ import annotations

import logging
from typing import Any

_MESSAGE = "Failed to get 'exception: description' pair"


class _RaisesAsSentence(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _MESSAGE not in record.getMessage()


def on_startup(**kwargs: Any) -> None:
    logging.getLogger("mkdocs.plugins.griffe").addFilter(_RaisesAsSentence())
