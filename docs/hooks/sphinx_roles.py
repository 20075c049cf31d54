"""Griffe extension: show the code's Sphinx roles as code in the API reference.

The docstrings cross-reference with Sphinx roles (``:class:`Benchmark```,
``:func:`~nasbench.tables.scores.read_scores```), which Markdown would print as they are.
This turns each into inline code of the name it shows (the last part after ``~``), and
leaves the docstrings themselves alone.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")


def _code(match: re.Match[str]) -> str:
    target = match.group(2).strip()
    if match.group(1):
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_code, obj.docstring.value)

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self.on_instance(obj=pkg)  # a package's own docstring is complete only here
