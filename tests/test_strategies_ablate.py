"""``nasbench ablate``: config checking, the factorial design, effects with CIs, output files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line_error, run_cli

from nasbench.experiments.ablate import effects, parse_config
from strategies.errors import StrategyConfigError, UnknownStrategyError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "ablation.toml"
    p.write_text(text)
    return p


BASE = 'strategy = "re"\ntable = "{table}"\nbudget = "25"\nseeds = 4\n'


def test_full_factorial_outputs_and_resume(search_table_file, tmp_path):
    second, level = "early_stopping = [false, true]\n", ("early_stopping", "on", 8)
    # a modifier's fixed parameter applies only to the cells that use the modifier
    fixed = 'sample_size = 2\n"es.min_full" = 3\n"es.surrogate.members" = ["ridge"]\n'
    cfg = write(
        tmp_path,
        BASE.format(table=search_table_file)
        + "[params]\n"
        + fixed
        + "[factors]\npopulation_size = [4, 12]\n"
        + second,
    )
    out = tmp_path / "abl"
    proc = run_cli("ablate", str(cfg), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["runs"] == 4 * 4 and res["design"] == "full factorial"
    assert [(e["factor"], e["level"], e["pairs"]) for e in res["effects"]] == [
        ("population_size", "12", 8),
        level,
    ]
    for e in res["effects"]:
        assert e["lo"] <= e["effect"] <= e["hi"]
    for f in (
        "effects.csv",
        "effects.md",
        "effects.json",
        "effects.png",
        "trajectories.parquet",
        "ablate.json",
    ):
        assert (out / f).is_file()
    csv = pd.read_csv(out / "effects.csv")
    assert list(csv["factor"]) == ["population_size", level[0]]
    df = pd.read_parquet(out / "trajectories.parquet")
    assert df["strategy"].nunique() == 4
    assert set(df["epoch"]) >= {4, 2}  # +es cells stop runs at checkpoints
    again = json.loads(run_cli("ablate", str(cfg), "--out", str(out), "--json").stdout)
    assert again["resumed_runs"] == 16 and again["effects"] == res["effects"]


def test_subset_design(search_table_file, tmp_path):
    cfg = write(
        tmp_path,
        BASE.format(table=search_table_file) + "[factors]\npopulation_size = [4, 12]\nsample_size = [1, 3]\n"
        "[[subset]]\npopulation_size = 4\nsample_size = 1\n[[subset]]\npopulation_size = 12\nsample_size = 1\n",
    )
    proc = run_cli("ablate", str(cfg), "--out", str(tmp_path / "o"), "--json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["runs"] == 8 and res["design"] == "subset"
    eff = {e["factor"]: e for e in res["effects"]}
    assert eff["population_size"]["pairs"] == 4
    assert eff["sample_size"]["pairs"] == 0 and eff["sample_size"]["effect"] is None  # not estimable


def test_effects_are_paired_differences():
    cfg = parse_config(
        {"strategy": "re", "budget": "10", "seeds": 3, "factors": {"a": [1, 2], "b": [False, True]}}
    )
    cells = cfg.cells()
    base = np.array([1.0, 2.0, 3.0])
    vals = {cfg.variant(c).label: base + 0.5 * (c["a"] == 2) - 1.0 * (c["b"] is True) for c in cells}
    eff = {e["factor"]: e for e in effects(cfg, cells, vals)}
    assert eff["a"]["effect"] == pytest.approx(0.5) and eff["a"]["pairs"] == 6
    assert eff["b"]["effect"] == pytest.approx(-1.0)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("colour = 3\n[factors]\npopulation_size = [4, 12]\n", "has no key(s) colour"),
        ("[factors]\npopulation_size = 4\n", "at least two levels"),
        ("[factors]\npopulaton_size = [4, 12]\n", "no parameter(s) populaton_size"),
        ('[factors]\npopulation_size = ["a", "b"]\n', "must be int"),
        ("[factors]\nearly_stopping = [0, 1]\n", "'early_stopping' level must be bool"),
        ("[factors]\nsurrogate = [1, 2]\n", "'surrogate' level must be str or none"),
        ("[factors]\npopulation_size = [4, 4]\n", "repeats a level"),
        ("[factors]\npopulation_size = [4, 12]\n[[subset]]\npopulation_size = 5\n", "not one of its levels"),
        ('[factors]\n"es.confidence" = [0.9, 0.99]\n', "does not use"),
    ],
)
def test_bad_configs_fail_before_any_run(extra, fragment, search_table_file, tmp_path):
    cfg = write(tmp_path, BASE.format(table=search_table_file) + extra)
    out = tmp_path / "never"
    proc = run_cli("ablate", str(cfg), "--out", str(out))
    assert_one_line_error(proc, fragment)
    assert not out.exists()


def test_type_and_required_keys():
    with pytest.raises(StrategyConfigError, match="'seeds' must be int"):
        parse_config({"strategy": "re", "budget": "10", "seeds": "many", "factors": {"a": [1, 2]}})
    with pytest.raises(StrategyConfigError, match="needs 'factors'"):
        parse_config({"strategy": "re", "budget": "10", "seeds": 3})
    with pytest.raises(UnknownStrategyError, match="unknown strategy"):
        parse_config({"strategy": "xx", "budget": "10", "seeds": 3, "factors": {"a": [1, 2]}})
    with pytest.raises(StrategyConfigError, match="cannot read budget"):
        parse_config({"strategy": "re", "budget": "lots", "seeds": 3, "factors": {"a": [1, 2]}})


def test_objectives_and_constraints_give_a_hypervolume_gap(small_table, tmp_path):
    table = tmp_path / "small.parquet"
    small_table.save(table)
    text = (
        f'strategy = "mo-re"\ntable = "{table}"\nbudget = "20"\nseeds = 3\nprocesses = 1\n'
        'objectives = "valid_acc,params"\nmax = ["params=0.8"]\n'
        "[params]\nsample_size = 2\n[factors]\npopulation_size = [3, 8]\n"
    )
    out = tmp_path / "abl"
    proc = run_cli("ablate", str(write(tmp_path, text)), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["metric"] == "hypervolume_gap" and res["objectives"] == "valid_acc,params"
    assert res["objectives_described"] == ["valid_acc:max", "params:min"] and res["constraints_applied"] == [
        "params <= 0.8"
    ]
    front = res["table_front_hypervolume"]
    for c in res["cells"]:  # the gap to the feasible table front's hypervolume: in [0, front]
        assert 0 <= c["hypervolume_gap_mean"] <= front
    assert "hypervolume reference point" in (out / "effects.md").read_text()
    # bad: the gap without objectives; objectives naming no column
    bad = BASE.format(table=table) + 'metric = "hypervolume_gap"\n[factors]\npopulation_size = [3, 8]\n'
    assert_one_line_error(
        run_cli("ablate", str(write(tmp_path, bad)), "--out", str(tmp_path / "b")), "objectives"
    )
    bad = text.replace('"valid_acc,params"', '"valid_acc,latency_ms"')
    assert_one_line_error(
        run_cli("ablate", str(write(tmp_path, bad)), "--out", str(tmp_path / "c")), "not a column"
    )


def test_a_bridged_optimiser_is_ablated_like_any_strategy(search_table_file, tmp_path):
    """``optuna:tpe`` in an ablation: its sampler's constructor argument is a factor."""
    pytest.importorskip("optuna")
    cfg = write(
        tmp_path,
        f'strategy = "optuna:tpe"\ntable = "{search_table_file}"\nbudget = "15"\nseeds = 2\n'
        + "[factors]\nn_startup_trials = [3, 10]\n",
    )
    proc = run_cli("ablate", str(cfg), "--out", str(tmp_path / "abl"), "--json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["runs"] == 2 * 2 and [e["factor"] for e in res["effects"]] == ["n_startup_trials"]
