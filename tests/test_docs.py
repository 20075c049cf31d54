"""The commands the documentation shows still work.

Every ```bash / ```console / ```python block of README.md and docs/**/*.md (and of the
files a page includes with ``--8<-- "FILE"``) is either run here or skipped with the
reason written right before it in the markdown:

    <!-- docs-test: skip (long: builds a table) -->

(before an include line, the marker covers every block of the included file). A marker
without a reason, or one that precedes no block, fails. The blocks of one page run in
order in one scratch folder per page (a block may use what an earlier one wrote), which
holds ``data`` (the repository's shipped tables) and has ``../shared`` next to it, so the
paths read as they do from the repository root; a block that needs a file of
``../shared/data`` the checkout lacks is skipped. Keep the blocks that run cheap: the
whole file should take well under a minute on 2 cores; mark anything slower as long.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
#: Fence languages of command blocks; others (toml, text, ...) are not commands.
LANGUAGES = {"bash": "bash", "sh": "bash", "shell": "bash", "console": "console", "python": "python"}
MARKER = re.compile(r"^\s*<!--\s*docs-test:(?P<body>.*?)-->\s*$")
SKIP = re.compile(r"^\s*skip\s*\((?P<reason>[^)].*)\)\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
INCLUDE = re.compile(r"^\s*--8<--\s+\"(?P<path>[^\"]+)\"\s*$")
SHARED_PATH = re.compile(r"\.\./shared/[^\s'\"]+")
TIMEOUT_S = 120


@dataclass(frozen=True)
class Block:
    page: str  # the page that shows it (relative to the repository)
    source: str  # the file it is written in (a page, or a file the page includes)
    line: int  # its fence's line in ``source``
    lang: str
    code: str
    skip: str | None  # the marker's reason; None: run it

    @property
    def id(self) -> str:
        where = self.source if self.source == self.page else f"{self.page}<{self.source}"
        return f"{where}:{self.line}"


class MarkerError(ValueError):
    """A docs-test marker that is malformed or precedes no block."""


def parse(path: Path, page: str, inherited_skip: str | None = None) -> list[Block]:
    """The command blocks of one markdown file, with their markers, in order.

    Raises:
        MarkerError: a malformed marker, or one that no block or include follows.
    """
    rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: tuple[int, str] | None = None  # (line, reason) of the last marker
    i = 0
    while i < len(lines):
        text = lines[i]
        marker = MARKER.match(text)
        fence = FENCE.match(text)
        include = INCLUDE.match(text)
        if marker:
            skip = SKIP.match(marker.group("body"))
            if not skip or not skip.group("reason").strip():
                raise MarkerError(f"{rel}:{i + 1}: write the marker as <!-- docs-test: skip (REASON) -->")
            if pending:
                raise MarkerError(f"{rel}:{pending[0]}: marker followed by another marker, not a block")
            pending = (i + 1, skip.group("reason").strip())
        elif include:
            target = ROOT / include.group("path")
            reason = pending[1] if pending else inherited_skip
            blocks += parse(target, page, reason)
            pending = None
        elif fence:
            close = fence.group("fence")
            body = []
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(close):
                body.append(lines[j][len(fence.group("indent")) :])
                j += 1
            lang = LANGUAGES.get(fence.group("lang").lower())
            if lang is None and pending:
                raise MarkerError(f"{rel}:{pending[0]}: marker before a {fence.group('lang')!r} block")
            if lang is not None:
                reason = pending[1] if pending else inherited_skip
                blocks.append(Block(page, rel, i + 1, lang, "\n".join(body) + "\n", reason))
            pending = None
            i = j
        elif text.strip() and pending:
            raise MarkerError(f"{rel}:{pending[0]}: marker not followed by a block")
        i += 1
    if pending:
        raise MarkerError(f"{rel}:{pending[0]}: marker at the end of the file")
    return blocks


def all_blocks() -> list[Block]:
    out: list[Block] = []
    for path in PAGES:
        out += parse(path, path.relative_to(ROOT).as_posix())
    return out


def console_commands(code: str) -> str:
    """The commands of a console block: ``$ `` lines and their continuations."""
    cmds, cont = [], False
    for line in code.splitlines():
        if line.startswith("$ ") or cont:
            cmds.append(line[2:] if line.startswith("$ ") and not cont else line)
            cont = line.rstrip().endswith("\\")
    return "\n".join(cmds) + "\n"


def commands(code: str) -> list[str]:
    """A shell block's command lines, continuations joined; blank and comment lines dropped."""
    joined = re.sub(r"\\\n", " ", code)
    return [line for line in joined.splitlines() if shlex.split(line, comments=True)]


def in_process_argv(code: str) -> list[list[str]] | None:
    """Each command's arguments when every command is a plain ``nasbench ...`` call (no
    pipes, redirections, variables or globs) that does not load JAX, else None (the block
    then runs in bash)."""
    argvs = []
    for line in commands(code):
        unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "", line)
        if re.search(r"[|&;<>$`*?(){}]", unquoted.split("#")[0]):
            return None
        argv = shlex.split(line, comments=True)
        if argv[0] != "nasbench" or argv[1:2] in (["build"], ["estimate"]) or "train" in argv:
            return None  # not ours, or it loads JAX: keep it out of this process (compare forks)
        argvs.append(argv[1:])
    return argvs


def run_in_process(argvs: list[list[str]], cwd: Path, block: Block) -> None:
    """Run ``nasbench`` commands through the entry point's function, in this process
    (the same code path as the installed script, without a second of start-up each)."""
    from nasbench.cli import main

    old = Path.cwd()
    os.chdir(cwd)
    try:
        for argv in argvs:
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                code = main(argv)
            assert code == 0, (
                f"{block.id}: nasbench {shlex.join(argv)} exited with {code}:\n{out.getvalue()[-3000:]}"
            )
    finally:
        os.chdir(old)


def missing_shared(code: str, cwd: Path) -> list[str]:
    return [p for p in SHARED_PATH.findall(code) if not (cwd / p).exists()]


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """One scratch folder (and Python namespace) per page, made on first use."""
    return {}


def sandbox(sandboxes: dict, factory: pytest.TempPathFactory, page: str) -> tuple[Path, dict]:
    if page not in sandboxes:
        base = factory.mktemp(re.sub(r"\W+", "-", page))
        cwd = base / "repo"
        cwd.mkdir()
        (cwd / "data").symlink_to(ROOT / "data", target_is_directory=True)
        if SHARED.is_dir():
            (base / "shared").symlink_to(SHARED, target_is_directory=True)
        sandboxes[page] = (cwd, {"__name__": "__docs__"})
    return sandboxes[page]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["MPLBACKEND"] = "Agg"
    return env


@pytest.fixture(autouse=True)
def _headless_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")


BLOCKS = all_blocks()


def test_markers_and_blocks_are_found() -> None:
    """Every page parses (markers well formed), and there are blocks to run and skip."""
    assert any(b.skip is None for b in BLOCKS)
    assert any(b.skip is not None for b in BLOCKS)


def test_a_marker_needs_a_reason_and_a_block(tmp_path: Path) -> None:
    page = tmp_path / "probe.md"
    cases = {
        "<!-- docs-test: skip -->\n```bash\necho\n```\n": "REASON",
        "<!-- docs-test: skip (long) -->\n\nSome text.\n": "not followed by a block",
        "<!-- docs-test: skip (long) -->\n```toml\na = 1\n```\n": "marker before a 'toml' block",
        "text\n<!-- docs-test: skip (long) -->\n": "end of the file",
    }
    for text, message in cases.items():
        page.write_text(text, encoding="utf-8")
        with pytest.raises(MarkerError, match=re.escape(message)):
            parse(page, "probe")
    page.write_text("<!-- docs-test: skip (long: x) -->\n\n```bash\necho\n```\n", encoding="utf-8")
    assert [b.skip for b in parse(page, "probe")] == ["long: x"]


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_docs_block(block: Block, sandboxes: dict, tmp_path_factory: pytest.TempPathFactory) -> None:
    if block.skip is not None:
        pytest.skip(block.skip)
    cwd, namespace = sandbox(sandboxes, tmp_path_factory, block.page)
    missing = missing_shared(block.code, cwd)
    if missing:
        pytest.skip(f"needs {', '.join(missing)}, absent here")
    if block.lang == "python":
        old = Path.cwd()
        os.chdir(cwd)
        try:
            exec(compile(block.code, block.id, "exec"), namespace)
        finally:
            os.chdir(old)
        return
    code = console_commands(block.code) if block.lang == "console" else block.code
    argvs = in_process_argv(code)
    if argvs is not None:
        run_in_process(argvs, cwd, block)
        return
    proc = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", code],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, (
        f"{block.id} failed with exit code {proc.returncode}:\n{code}\n"
        f"--- stdout (end)\n{proc.stdout[-2000:]}\n--- stderr (end)\n{proc.stderr[-2000:]}"
    )


def test_the_installed_command_starts() -> None:
    """The blocks call the entry point's function in-process; this runs the script once."""
    proc = subprocess.run(
        ["nasbench", "--help"], env=_env(), capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert proc.returncode == 0, proc.stderr
    assert "explore" in proc.stdout


def test_in_process_only_for_plain_nasbench_calls() -> None:
    assert in_process_argv(
        "nasbench info data/t.parquet   # a comment\nnasbench query t 'a|b' \\\n  --json\n"
    ) == [
        ["info", "data/t.parquet"],
        ["query", "t", "a|b", "--json"],
    ]
    for shell in (
        "nasbench info t | head",
        "nasbench info $T",
        "python -m pip install .",
        "nasbench a && nasbench b",
        "nasbench estimate proxies --out p.parquet",
    ):
        assert in_process_argv(shell) is None


def test_commands_are_quoted_as_a_shell_reads_them() -> None:
    """A command block must at least tokenise (an unbalanced quote is a typo)."""
    for b in BLOCKS:
        if b.lang != "python":
            shlex.split(console_commands(b.code) if b.lang == "console" else b.code, comments=True)
