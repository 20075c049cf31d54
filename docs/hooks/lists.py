"""MkDocs hook: a list may start right after a paragraph line, as on GitHub.

Python-Markdown needs a blank line before a list; the benchmark documents the Figures
pages include (written for GitHub) sometimes go straight from "Against the goals:" to
"* ...", which would render as one run-on paragraph. This inserts the blank line, after
``pymdownx.snippets`` has included the files and before anything else reads the text.
Code fences, tables and lines inside a list are left alone.
"""

from __future__ import annotations

import re
from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

_ITEM = re.compile(r"^(?:[*+-]|\d+\.)\s+\S")
_FENCE = re.compile(r"^\s*(```|~~~)")


class _BlankLineBeforeLists(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fence = False
        for line in lines:
            if _FENCE.match(line):
                fence = not fence
            elif not fence and _ITEM.match(line) and out:
                prev = out[-1]
                if prev.strip() and not (_ITEM.match(prev) or prev[:1].isspace() or prev.startswith("|")):
                    out.append("")
            out.append(line)
        return out


class ListsAfterParagraphs(Extension):
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Markdown's API)
        # after pymdownx.snippets (32), before fenced code and raw HTML (25 and less)
        md.preprocessors.register(_BlankLineBeforeLists(md), "blank_line_before_lists", 31)


def on_config(config: Any, **kwargs: Any) -> Any:
    config.markdown_extensions.append(ListsAfterParagraphs())
    return config
