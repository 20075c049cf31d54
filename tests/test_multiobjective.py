"""Several objectives and constraints: search, compare, leaderboard and the MO strategies."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli

from nasbench.core.errors import ConfigError
from nasbench.experiments import multiobjective as mo
from nasbench.experiments.compare import CompareConfig, Evaluator, compare
from nasbench.experiments.leaderboard import LeaderboardConfig, leaderboard
from nasbench.experiments.search import search_table
from nasbench.tables.benchmark import Benchmark, TestOracle
from strategies.runner import Budget, RunConfig, Simulator, run_search

MO_STRATEGIES = ("mo-rs", "mo-re", "parego")
LIGHT = {"parego": {"n_init": 4, "n_candidates": 20, "batch_size": 3, "surrogate.members": ["ridge"]}}


@pytest.fixture()
def table_file(small_table, tmp_path):
    path = tmp_path / "small.parquet"
    small_table.save(path)
    return path


@pytest.fixture()
def mo_sim(small_table):
    sim = Simulator(Benchmark(small_table), TestOracle(small_table))
    return mo.with_objectives(mo.constrain(sim, ["params=0.6"]), "valid_acc,params")


def test_constraints_restrict_proposals_and_the_optimum(small_table, table_file) -> None:
    params = small_table.arch_columns["params"]
    run = RunConfig(Budget("evals", 15))
    tr, s = search_table(table_file, "re", seed=0, config=run, maxima=("params=0.6",))
    feasible = set(small_table.arch_index[params <= 0.6].tolist())
    assert set(tr["arch"].tolist()) <= feasible
    assert s["constraints"] == ["params <= 0.6"]
    final = Benchmark(small_table).values_at("valid_acc", 4)
    assert s["optimum"] == pytest.approx(float(np.nanmax(final[params <= 0.6])))
    assert np.all(tr["regret"][~np.isnan(tr["regret"])] >= -1e-9)
    # unconstrained: the same call as before the option existed
    _, plain = search_table(table_file, "re", seed=0, config=run)
    assert "constraints" not in plain and "multiobjective" not in plain
    assert plain["optimum"] == pytest.approx(float(np.nanmax(final)))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"maxima": ("latency_ms=3",)}, "'latency_ms' is not a column"),
        ({"maxima": ("params=-1",)}, "no architecture of the table satisfies params <= -1"),
        ({"objectives": "params,time_s"}, "must name the table's objective"),
        ({"objectives": "valid_acc,train_loss"}, "not known without training"),
        ({"objectives": "valid_acc:min,params"}, "higher is better"),
    ],
)
def test_bad_objectives_and_constraints_are_refused(table_file, kwargs, fragment) -> None:
    with pytest.raises(ConfigError, match=fragment):
        search_table(table_file, "rs", seed=0, config=RunConfig(Budget("evals", 5)), **kwargs)


@pytest.mark.parametrize("name", MO_STRATEGIES)
def test_mo_strategies_see_secondary_objectives_and_keep_the_contract(mo_sim, name) -> None:
    assert mo_sim.context.objective_names == ("params",)
    run = RunConfig(Budget("evals", 20))
    a = run_search(mo_sim, name, seed=1, config=run, params=LIGHT.get(name))
    b = run_search(mo_sim, name, seed=1, config=run, params=LIGHT.get(name))
    assert a.same_evaluations(b)
    assert mo_sim.context.valid[a["arch"]].all()
    curve = mo.run_hypervolume(mo_sim, a)
    assert len(curve) == len(a) and np.all(np.diff(curve) >= -1e-12)
    assert 0 < curve[-1] <= mo.table_hypervolume(mo_sim) + 1e-9


def test_mo_evolution_prefers_the_front(mo_sim) -> None:
    from strategies.registry import make_strategy

    s = make_strategy("mo-re", mo_sim.context, np.random.default_rng(0), params={"sample_size": 20})
    archs = mo_sim.context.candidates[:20]
    pts = mo_sim.objective_points(archs)
    for a, p in zip(archs, pts):
        s.population.append((int(a), float(p[0])))
    rank, _ = s._population_quality()
    # with the whole population in the tournament the parent is on the front
    assert rank[[int(a) for a, _ in s.population].index(s.parent())] == 1


def test_search_summary_reports_the_front_and_hypervolume(table_file) -> None:
    _, s = search_table(
        table_file, "mo-re", seed=0, config=RunConfig(Budget("evals", 20)), objectives="valid_acc,params"
    )
    m = s["multiobjective"]
    assert m["objectives"] == ["valid_acc:max", "params:min"]
    assert len(m["reference_point"]) == 2 and 0 < m["hypervolume"] <= m["table_front_hypervolume"]
    front = np.array([[f["valid_acc"], f["params"]] for f in m["front"]])
    assert len(front) >= 1 and np.all(np.diff(front[:, 0]) <= 0) and np.all(np.diff(front[:, 1]) <= 0)


def test_compare_reports_hypervolume_with_a_fixed_reference(table_file, tmp_path) -> None:
    cfg = CompareConfig(
        ("mo-rs", "mo-re"),
        3,
        RunConfig(Budget("evals", 12)),
        processes=1,
        evaluator=Evaluator(objectives="valid_acc,params", maxima=("params=0.8",)),
    )
    out = compare(table_file, tmp_path / "cmp", cfg)
    m = out["multiobjective"]
    assert set(m["strategies"]) == {"mo-rs", "mo-re"}
    hv = m["strategies"]["mo-re"]["final_hypervolume"]
    assert hv["n"] == 3 and hv["lo"] <= hv["mean"] <= hv["hi"]
    assert out["constraints"] == ["params <= 0.8"]
    assert (tmp_path / "cmp" / "hypervolume.png").stat().st_size > 0
    assert "## Hypervolume" in (tmp_path / "cmp" / "summary.md").read_text()
    saved = json.loads((tmp_path / "cmp" / "summary.json").read_text())
    assert saved["multiobjective"]["reference_point"] == m["reference_point"]


def test_leaderboard_pareto_ranks_and_constraints(small_table, table_file, tmp_path) -> None:
    cfg = LeaderboardConfig(
        "rf", top=5, fmt="json", objectives="valid_acc,params", maxima=("params=0.9",), random_state=0
    )
    res = leaderboard(cfg, tmp_path / "lb.json", table=table_file)
    p = res["pareto"]
    ranks = [e["pareto_rank"] for e in res["entries"]]
    assert ranks == sorted(ranks) and ranks[0] == 1
    assert all(e["params"] <= 0.9 for e in res["entries"])
    # the table's archs are measured; the rest of the space is predicted and has no params: unranked
    rows = (tmp_path / "lb.pareto.csv").read_text().splitlines()
    body = [r for r in rows if not r.startswith("#")]
    assert body[0] == "index,arch,valid_acc,params,values,pareto_rank"
    assert len(body) - 1 == res["ranked"] == int((small_table.arch_columns["params"] <= 0.9).sum())
    front = np.array([[f["valid_acc"], f["params"]] for f in p["front"]])
    pts = np.array(
        [[e["valid_acc"], e["params"]] for e in json.loads((tmp_path / "lb.json").read_text())["entries"]]
    )
    for q in pts:  # nothing written dominates a front member
        assert not np.any(
            (q[0] >= front[:, 0]) & (q[1] <= front[:, 1]) & ((q[0] > front[:, 0]) | (q[1] < front[:, 1]))
        )
    assert (tmp_path / "lb.pareto.png").stat().st_size > 0


def test_cli_unknown_objective_column_is_one_line(table_file, tmp_path) -> None:
    proc = run_cli(
        "leaderboard", "--surrogate", "rf", "--table", str(table_file), "--objectives", "valid_acc,flops",
        "--out", str(tmp_path / "x.csv"),
    )  # fmt: skip
    assert_one_line_error(proc, "'flops' is not a column")
