"""``nasbench suite``: many strategies on many tables, ranked together."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, assert_one_line_error, run_cli
from scipy import stats

from nasbench.cli import main
from nasbench.experiments.storage import read_trajectory, run_file
from nasbench.experiments.suite import cliques, friedman_nemenyi, load_suite, normalised_regret

DIGITS = REPO / "data" / "digits.parquet"
MLP = REPO / "data" / "mlp-digits.parquet"

TINY = f"""
strategies = ["re", "ls"]   # rs is added
seeds = 3
processes = 1
bootstrap_seed = 7

[params.re]
population_size = 8

[[tables]]
path = "{DIGITS}"
budget = "20"

[[tables]]
path = "{MLP}"
budget = 15
name = "mlp"
"""


def write(tmp_path: Path, text: str, name: str = "suite.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_tiny_suite_files_statistics_and_resume(tmp_path, capsys):
    cfg = write(tmp_path, TINY)
    out = tmp_path / "out"
    assert main(["suite", str(cfg), "--out", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    for f in ("suite.md", "suite.json", "cd.png", "normalised_regret.png", "manifest.json"):
        assert (out / f).is_file(), f
    for name in ("digits", "mlp"):  # one compare folder per table
        for f in ("compare.json", "summary.md", "summary.json", "regret.png", "trajectories.parquet"):
            assert (out / "tables" / name / f).is_file(), (name, f)
    assert res["added_baseline"] and any("rs was added" in n for n in res["notes"])
    assert res["config"]["strategies"] == ["rs", "re", "ls"]
    assert res["runs"] == 2 * 3 * 3 and res["resumed_runs"] == 0
    assert [t["budget"] for t in res["tables"]] == ["20 evals", "15 evals"]

    # the statistics, recomputed from the comparisons' run files
    names = res["config"]["strategies"]
    regret = np.array(
        [
            [
                [read_trajectory(run_file(out / "tables" / t, s, k)).final_regret for k in range(3)]
                for s in names
            ]
            for t in ("digits", "mlp")
        ]
    )
    ranks = stats.rankdata(regret.transpose(0, 2, 1).reshape(-1, 3), axis=1)  # blocks: table x seed
    for i, s in enumerate(names):
        assert res["mean_ranks"][s] == pytest.approx(ranks[:, i].mean())
    places = [e["strategy"] for e in res["ranking"]]
    assert sorted(places) == sorted(names)
    assert [res["mean_ranks"][s] for s in places] == sorted(res["mean_ranks"].values())
    for e in res["ranking"]:
        mr = e["mean_rank"]
        assert 1 <= mr["lo"] <= mr["mean"] <= mr["hi"] <= 3
        assert e["normalised_regret"]["mean"] >= 0
    rs = next(e for e in res["ranking"] if e["strategy"] == "rs")
    assert rs["per_table_median_normalised_regret"] == {"digits": 1.0, "mlp": 1.0}  # rs's median maps to 1
    for ti, t in enumerate(res["tables"]):
        assert t["rs_median_final_regret"] == pytest.approx(np.median(regret[ti, 0]))
    fr = res["friedman"]
    chi2, p = stats.friedmanchisquare(*ranks.T)
    assert fr["blocks"] == 6 and fr["strategies"] == 3
    if not math.isnan(p):
        assert fr["p_value"] == pytest.approx(p)
    q = stats.studentized_range.ppf(0.95, 3, np.inf) / math.sqrt(2)
    assert res["nemenyi"]["critical_difference"] == pytest.approx(q * math.sqrt(3 * 4 / (6 * 6)))
    md = (out / "suite.md").read_text()
    assert "Friedman" in md and "Nemenyi critical difference" in md and "tables/mlp/summary.md" in md

    # a second run into the folder is refused without --resume, and resumes everything with it
    assert main(["suite", str(cfg), "--out", str(out)]) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert main(["suite", str(cfg), "--out", str(out), "--resume", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["resumed_runs"] == again["runs"] == 18
    assert again["mean_ranks"] == res["mean_ranks"]  # the bootstrap is seeded too
    assert again["ranking"] == res["ranking"]

    # a changed suite is refused in one line
    write(tmp_path, TINY.replace("seeds = 3", "seeds = 4"))
    assert main(["suite", str(cfg), "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different settings (seeds: 3 -> 4)" in err[0]


def test_normalised_regret_maps_optimum_to_0_and_rs_median_to_1():
    regret = np.array([[[0.0, 2.0, 4.0], [0.0, 1.0, 6.0]], [[0.0, 0.0, 1.0], [0.0, 0.5, 1.0]]])  # (T, S, K)
    norm, med = normalised_regret(regret, baseline=0)
    np.testing.assert_allclose(med, [2.0, 0.0])
    np.testing.assert_allclose(norm[0], [[0.0, 1.0, 2.0], [0.0, 0.5, 3.0]])
    assert np.isnan(norm[1]).all()  # rs's median is the optimum: undefined, never a division by 0


def test_friedman_and_nemenyi_on_a_clear_order():
    rng = np.random.default_rng(0)
    blocks = np.arange(4)[None, :] + rng.normal(0, 0.3, size=(30, 4))  # strategy 0 best, 3 worst
    ranks = stats.rankdata(blocks, axis=1)
    t = friedman_nemenyi(blocks, ranks.mean(0), 0.05)
    assert t["friedman"]["significant"] and t["friedman"]["p_value"] < 1e-6
    # Demsar (2006), table 5(a): q_0.05 = 2.569 for four classifiers
    assert t["nemenyi"]["q_alpha"] == pytest.approx(2.569, abs=1e-3)
    assert t["nemenyi"]["critical_difference"] == pytest.approx(2.569 * math.sqrt(4 * 5 / (6 * 30)), abs=1e-3)
    assert cliques({"a": 1.0, "b": 1.5, "c": 3.0, "d": 3.2}, 0.6) == [["a", "b"], ["c", "d"]]
    assert cliques({"a": 1.0, "b": 2.0}, 0.5) == []
    tied = friedman_nemenyi(np.zeros((5, 3)), np.full(3, 2.0), 0.05)
    assert tied["friedman"]["p_value"] is None and not tied["friedman"]["significant"]


def test_objective_other_than_the_tables_own(tmp_path):
    from nasbench.experiments.suite import suite

    cfg = load_suite(
        write(
            tmp_path,
            f'strategies = ["rs", "ls"]\nseeds = 2\nprocesses = 1\n[[tables]]\npath = "{DIGITS}"\nbudget = 10\n'
            'objective = { metric = "valid_loss", direction = "min" }\n',
        )
    )
    res = suite(cfg, tmp_path / "out")
    assert not res["added_baseline"]
    t = res["tables"][0]
    assert t["objective"] == {"metric": "valid_loss", "direction": "min"} and t["table_file"].endswith(
        "table.parquet"
    )
    assert 0 < t["optimum"] < 1  # a validation loss, not an accuracy in percent


BASE = 'strategies = ["re"]\nseeds = 2\n'
TABLE = '[[tables]]\npath = "{path}"\nbudget = {budget}\n'


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (BASE + TABLE.format(path="missing.parquet", budget=10), "table not found"),
        (
            'strategies = ["re", "bogus"]\nseeds = 2\n' + TABLE.format(path=DIGITS, budget=10),
            "unknown strategy 'bogus'",
        ),
        (BASE + TABLE.format(path=DIGITS, budget=0), "budget must be a positive"),
        (BASE + TABLE.format(path=DIGITS, budget='"0s"'), "budget must be a positive"),
        (BASE + "colour = 3\n" + TABLE.format(path=DIGITS, budget=10), "has no key(s) colour"),
        (BASE + TABLE.format(path=DIGITS, budget=10) + "bugdet = 3\n", "table 1 has no key(s) bugdet"),
        (BASE + "[[tables]\n", "is not valid TOML"),
        (BASE, "needs 'tables'"),
        ("seeds = 2\n" + TABLE.format(path=DIGITS, budget=10), "needs 'strategies'"),
        (
            BASE + "[params.ls]\nx = 1\n" + TABLE.format(path=DIGITS, budget=10),
            "[params.ls] names a strategy",
        ),
        (
            BASE + TABLE.format(path=DIGITS, budget=10) + TABLE.format(path=DIGITS, budget=5),
            "two tables are named",
        ),
        (BASE + "[params.re]\npopulaton_size = 3\n" + TABLE.format(path=DIGITS, budget=10), "populaton_size"),
    ],
)
def test_bad_suites_fail_in_one_line_before_any_run(text, fragment, tmp_path, capsys):
    cfg = write(tmp_path, text)
    out = tmp_path / "never"
    assert main(["suite", str(cfg), "--out", str(out)]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("nasbench: error:") and fragment in err[0], err
    assert not out.exists()


def test_a_missing_table_in_a_real_process(tmp_path):
    cfg = write(tmp_path, BASE + TABLE.format(path="../nowhere/t.parquet", budget=10))
    assert_one_line_error(run_cli("suite", str(cfg), "--out", str(tmp_path / "o")), "table not found")


def test_shipped_suites_parse():
    default = load_suite(REPO / "data" / "suites" / "default.toml")
    assert default.strategies[0] == "rs" and {"digits", "mlp-digits"} <= {t.name for t in default.tables}
    assert all(Path(t.path).is_file() for t in default.tables)
    from nasbench.experiments.suite import parse_suite

    text = (REPO / "benchmarks" / "suites" / "shared.toml").read_text()
    import tomllib

    raw = tomllib.loads(text)
    for t in raw["tables"]:  # the imported files need not exist here; the rest must parse
        t["path"] = str(DIGITS)
        t.pop("objective", None)
    for i, t in enumerate(raw["tables"]):
        t["name"] = f"t{i}"
    assert len(parse_suite(raw, base=REPO).tables) == len(raw["tables"])


@pytest.mark.slow
def test_ray_executor_on_local_instance(tmp_path, ray_lock):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        cfg = write(tmp_path, TINY)
        out = tmp_path / "out"
        proc_local = main(["suite", str(cfg), "--out", str(tmp_path / "local"), "--json"])
        assert proc_local == 0
        assert main(["suite", str(cfg), "--out", str(out), "--executor", "ray", "--json"]) == 0
    finally:
        ray.shutdown()
    a = json.loads((tmp_path / "local" / "suite.json").read_text())
    b = json.loads((out / "suite.json").read_text())
    assert b["config"]["executor"] == "ray" and b["runs"] == 18
    assert a["ranking"] == b["ranking"]  # the same runs, wherever they ran
