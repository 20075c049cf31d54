"""``nasbench search`` and ``nasbench compare`` as a user runs them: files, resume, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import assert_one_line_error, run_cli, synthetic_search_table


@pytest.fixture(scope="module")
def one_epoch_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tables") / "one_epoch.parquet"
    synthetic_search_table(epochs=(4,)).save(path)
    return path


def test_search_json_and_trajectory(search_table_file, tmp_path):
    out = tmp_path / "run.parquet"
    proc = run_cli(
        "search",
        str(search_table_file),
        "--strategy",
        "re",
        "--budget",
        "30",
        "--seed",
        "4",
        "--param",
        "population_size=8",
        "--out",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    assert s["strategy"] == "re" and s["params"]["population_size"] == 8
    assert s["full_evaluations"] == 30 and s["incumbent"]["regret"] >= 0
    df = pd.read_parquet(out)
    assert len(df) == 30 and df["evals"].iloc[-1] == 30
    again = json.loads(
        run_cli(
            "search",
            str(search_table_file),
            "-s",
            "re",
            "-b",
            "30",
            "--seed",
            "4",
            "-p",
            "population_size=8",
            "--json",
        ).stdout
    )
    assert again["incumbent"] == s["incumbent"] and again["sim_time_s"] == s["sim_time_s"]
    text = run_cli("search", str(search_table_file), "-s", "hb", "-b", "2000s")
    assert text.returncode == 0 and "incumbent" in text.stdout


def test_compare_writes_files_and_resumes(search_table_file, tmp_path):
    out = tmp_path / "cmp"
    args = [
        "compare",
        str(search_table_file),
        "--strategies",
        "rs,re,ls,hb",
        "--seeds",
        "4",
        "--budget",
        "20",
        "--out",
        str(out),
        "--json",
    ]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["runs"] == 16 and res["resumed_runs"] == 0
    for f in ("trajectories.parquet", "regret.png", "summary.md", "summary.json", "compare.json"):
        assert (out / f).is_file() and (out / f).stat().st_size > 0
    assert (out / "regret.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    df = pd.read_parquet(out / "trajectories.parquet")
    assert set(df["strategy"]) == {"rs", "re", "ls", "hb"} and set(df["run_seed"]) == {0, 1, 2, 3}
    summary = json.loads((out / "summary.json").read_text())
    for name in ("rs", "re", "ls", "hb"):
        e = summary["strategies"][name]
        assert e["runs"] == 4
        assert e["final_regret"]["lo"] <= e["final_regret"]["mean"] <= e["final_regret"]["hi"]
        assert set(e["targets"]) == {"top1", "top0.1", "optimum"}
        assert 1 <= e["mean_rank"]["mean"] <= 4
    md = (out / "summary.md").read_text()
    assert "| re | 4 |" in md and "mean rank" in md

    # an interrupted comparison: two runs missing -> a rerun computes only those
    runs = sorted((out / "runs").rglob("*.parquet"))
    assert len(runs) == 16
    kept = {p: p.read_bytes() for p in runs[2:]}
    runs[0].unlink()
    runs[1].unlink()
    res2 = json.loads(run_cli(*args).stdout)
    assert res2["resumed_runs"] == 14 and res2["runs"] == 16
    assert all(p.read_bytes() == b for p, b in kept.items())
    assert res2["strategies"] == res["strategies"]  # same seeds, same trajectories

    # another configuration into the same folder is refused before any work
    bad = run_cli(
        "compare",
        str(search_table_file),
        *["--strategies", "rs", "--seeds", "2", "--budget", "25", "--out"],
        str(out),
    )
    assert_one_line_error(bad, "different settings")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["search", "{t}", "-s", "nope", "-b", "10"], "unknown strategy 'nope'"),
        (["search", "{t}", "-s", "re", "-b", "0.5"], "smaller than one evaluation"),
        (["search", "{t}", "-s", "re", "-b", "1s"], "smaller than one evaluation"),
        (["search", "{t}", "-s", "re", "-b", "lots"], "cannot read budget"),
        (["search", "{t}", "-s", "re", "-b", "10", "-p", "popsize=3"], "no parameter(s) popsize"),
        (["search", "{t}", "-s", "re", "-b", "10", "-p", "population_size=x"], "must be int"),
        (["search", "{one}", "-s", "hb", "-b", "10"], "needs a lower fidelity"),
        (["search", "{one}", "-s", "re+es", "-b", "10"], "needs a lower fidelity"),
        (
            ["compare", "{t}", "--strategies", "rs,bogus", "-b", "10", "--out", "{out}"],
            "unknown strategy 'bogus'",
        ),
        (
            ["compare", "{one}", "--strategies", "rs,sh", "-b", "10", "--out", "{out}"],
            "needs a lower fidelity",
        ),
        (
            ["compare", "{t}", "--strategies", "rs", "-b", "10", "--out", "{out}", "-p", "re.x=1"],
            "must start with",
        ),
    ],
)
def test_bad_input_one_line_errors_before_work(args, fragment, search_table_file, one_epoch_file, tmp_path):
    out = tmp_path / "never"
    argv = [a.format(t=search_table_file, one=one_epoch_file, out=out) for a in args]
    proc = run_cli(*argv)
    assert_one_line_error(proc, fragment)
    assert not out.exists()  # nothing was started


@pytest.mark.parametrize("command", ["compare", "explore"])
def test_an_output_folder_that_cannot_be_made_is_one_line(command, search_table_file, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    out = blocker / "results"
    if command == "compare":
        proc = run_cli(
            "compare",
            str(search_table_file),
            "--strategies",
            "rs",
            "--seeds",
            "2",
            "-b",
            "10",
            "--out",
            str(out),
        )
    else:
        proc = run_cli(
            "explore", "--table", str(search_table_file), "--seeds", "2", "--budget", "10", "--out", str(out)
        )
    assert_one_line_error(proc, "a file is in the way")
    assert blocker.read_text() == "not a folder\n"


def test_an_output_file_that_is_a_folder_is_refused_before_work(search_table_file, tmp_path):
    proc = run_cli("search", str(search_table_file), "-s", "rs", "-b", "10", "--out", str(tmp_path))
    assert_one_line_error(proc, "output path is a directory")
    proc = run_cli(
        "leaderboard",
        "--surrogate",
        "ensemble",
        "--table",
        str(search_table_file),
        "--top",
        "3",
        "--format",
        "md",
        "--out",
        str(tmp_path / "missing" / "board.md"),
    )
    assert_one_line_error(proc, "output directory does not exist")
    assert list(tmp_path.iterdir()) == []
