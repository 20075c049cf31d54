"""``nasbench explore`` end to end: on a small table now, and on the shipped digits table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_strategies_standins import HAVE_SURROGATES, synthetic_table

pytestmark = pytest.mark.skipif(not HAVE_SURROGATES, reason="explore needs the surrogates package")


def run(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nasbench", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), **(env or {})},
    )


def check_outputs(out: Path, summary: dict) -> None:
    for f in (
        "leaderboard.md",
        "leaderboard.csv",
        "leaderboard.png",
        "explore.json",
        "compare/regret.png",
        "compare/summary.md",
        "compare/summary.json",
        "compare/trajectories.parquet",
    ):
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    assert summary["best_predicted"]["arch"].startswith("|")
    assert set(summary["compare"]["strategies"]) >= {"rs", "re"}
    for v in summary["compare"]["strategies"].values():
        assert v["final_regret"] is None or v["final_regret"] >= 0


def test_explore_on_a_small_table(tmp_path):
    table = tmp_path / "t.parquet"
    synthetic_table().save(table)
    proc = run("explore", "--table", str(table), "--seeds", "3", "--budget", "20", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    check_outputs(tmp_path / "nasbench-out", summary)  # the default output folder, in the working directory
    text = run("explore", "--table", str(table), "--seeds", "3", "--budget", "20", cwd=tmp_path)
    assert text.returncode == 0 and "nasbench-out" in text.stdout and "final regret" in text.stdout


def test_explore_without_a_table_reports_one_line(tmp_path):
    proc = run("explore", cwd=tmp_path, env={"NASBENCH_DEFAULT_TABLE": str(tmp_path / "missing.parquet")})
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "missing.parquet" in lines[0]


def test_explore_on_the_shipped_table(tmp_path):
    from nasbench.core.errors import NasbenchError
    from nasbench.tables.default import default_table_path

    try:
        default_table_path()
    except NasbenchError as exc:
        pytest.skip(f"shipped table not installed yet: {exc}")
    proc = run("explore", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    check_outputs(tmp_path / "nasbench-out", summary)
    assert summary["archs"] == 6466
