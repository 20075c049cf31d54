"""``nasbench explore`` end to end: on a small table now, and on the shipped digits table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli


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


@pytest.mark.slow
def test_explore_on_a_small_table(search_table_file, small_table, tmp_path):
    table = search_table_file
    proc = run_cli(
        "explore",
        "--table",
        str(table),
        "--seeds",
        "3",
        "--budget",
        "20",
        "--json",
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    check_outputs(tmp_path / "nasbench-out", summary)  # the default output folder, in the working directory
    # the text report, with several objectives and a constraint: the Pareto leaderboard and hypervolumes
    mo_table = tmp_path / "small.parquet"
    small_table.save(mo_table)
    args = ["--table", str(mo_table), "--seeds", "2", "--budget", "10", "--out", "mo"]
    text = run_cli("explore", *args, "--objectives", "valid_acc,params", "--max", "params=0.9", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "final regret" in text.stdout and "hypervolume" in text.stdout and "mo-re" in text.stdout
    summary = json.loads((tmp_path / "mo" / "explore.json").read_text())
    assert set(summary["hypervolume"]["final"]) == {"mo-rs", "mo-re"}
    assert summary["constraints"] == ["params <= 0.9"]
    for f in ("leaderboard.pareto.png", "leaderboard.pareto.csv", "compare/hypervolume.png"):
        assert (tmp_path / "mo" / f).is_file(), f


def test_explore_without_a_table_reports_one_line(tmp_path):
    proc = run_cli("explore", cwd=tmp_path, env={"NASBENCH_DEFAULT_TABLE": str(tmp_path / "missing.parquet")})
    assert_one_line_error(proc, "missing.parquet")


@pytest.mark.slow
def test_explore_on_the_shipped_table(tmp_path):
    from nasbench.core.errors import NasbenchError
    from nasbench.tables.default import default_table_path

    try:
        default_table_path()
    except NasbenchError as exc:
        pytest.skip(f"shipped table not installed yet: {exc}")
    # the main job on the shipped table; fewer seeds than its default 10 x 100 keep the suite short
    proc = run_cli("explore", "--json", "--seeds", "3", "--budget", "40", cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    check_outputs(tmp_path / "nasbench-out", summary)
    assert summary["archs"] == 6466


def test_explore_default_params_warm_start_early_stopping(small_table):
    from nasbench.experiments.explore import MAIN_PARAMS, MAIN_STRATEGIES, ExploreConfig
    from nasbench.tables.benchmark import Benchmark
    from strategies.base import SearchContext
    from strategies.registry import make_strategy

    assert set(MAIN_PARAMS) <= set(MAIN_STRATEGIES)
    assert ExploreConfig().params == MAIN_PARAMS
    context = SearchContext.from_benchmark(Benchmark(small_table))
    strat = make_strategy("re+es", context, np.random.default_rng(0), params=MAIN_PARAMS["re+es"])
    assert strat.surrogate.get_params()["warm_start"]
