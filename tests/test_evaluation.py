"""The evaluator contract, checked over every implementation (as scikit-learn's
``parametrize_with_checks`` does for estimators): the table, the surrogate's predictions
and live training all run through the one search loop, and each must give the same
trajectory for the same seed, respect its budget, honour the objective's direction and
the constraints, and tell strategies read-only results. Also the defects the evaluation
layer fixed: a stale table cache and the budget check under constraints."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import synthetic_nb201_table, write_tiny_npz

from nasbench.core.metrics import Objective
from nasbench.evaluation import Budget, Evaluator, Proposal, RunConfig, run_loop
from nasbench.evaluation.errors import BudgetError
from nasbench.experiments.evaluators import EvaluatorSpec, load_simulator, open_evaluator
from nasbench.experiments.multiobjective import constrain
from nasbench.spaces.nb201 import NB201Space
from nasbench.tables.benchmark import Benchmark, TestOracle
from nasbench.tables.simulator import TableEvaluator
from nasbench.tables.table import ResultTable
from strategies.base import Strategy
from strategies.runner import run_search


def _table(direction: str = "max", n: int = 40, seed: int = 0) -> ResultTable:
    """``n`` NB201 cells, 2 seeds, epochs 1..4, the objective ``valid_acc`` (max) or
    ``valid_loss`` (min), per-architecture ``params``."""
    rng = np.random.default_rng(seed)
    space = NB201Space()
    archs = space.unique_indices()[:n]
    quality = rng.random(n)
    e = np.arange(1, 5)
    v = np.empty((n, 2, 4, 3), np.float32)
    for s in range(2):
        noise = rng.normal(0, 0.02, (n, 4))
        curve = quality[:, None] * (1 - 0.5**e)[None, :] + noise
        v[:, s, :, 0] = 100 * curve if direction == "max" else np.exp(-3 * curve)
        v[:, s, :, 1] = v[:, s, :, 0]
        v[:, s, :, 2] = (1 + np.arange(n))[:, None] * e[None, :]
    metrics = (
        ("valid_acc", "test_acc", "time_s") if direction == "max" else ("valid_loss", "test_loss", "time_s")
    )
    meta = {} if direction == "max" else {"objective": {"metric": "valid_loss", "direction": "min"}}
    return ResultTable(
        space,
        archs,
        [0, 1],
        list(e),
        metrics,
        v,
        np.zeros((n, 2), bool),
        arch_columns={"params": (1 + np.arange(n)).astype(np.float64) * 1e3},
        metadata=meta,
    )


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("tables")
    out = {}
    for direction in ("max", "min"):
        out[direction] = d / f"{direction}.parquet"
        _table(direction).save(out[direction])
    out["nb201"] = d / "nb201.parquet"
    synthetic_nb201_table(n_archs=80).save(out["nb201"])
    return out


#: the simulated backends, as (spec, table key); the train backend has its own test below
SIMULATED = {
    "table-max": (EvaluatorSpec("table"), "max"),
    "table-min": (EvaluatorSpec("table"), "min"),
    "surrogate": (EvaluatorSpec("surrogate", model="rf"), "nb201"),
    "table-constrained": (EvaluatorSpec("table", maxima=("params=20000",)), "max"),
}


@pytest.mark.parametrize("name", sorted(SIMULATED))
@pytest.mark.parametrize("strategy", ["rs", "re"])
def test_every_simulated_evaluator_keeps_the_contract(
    name: str, strategy: str, tables: dict[str, Path]
) -> None:
    spec, key = SIMULATED[name]
    ev = open_evaluator(spec, tables[key])
    assert isinstance(ev, Evaluator)
    cfg = RunConfig(Budget("evals", 12), workers=2)
    a = run_search(ev, strategy, seed=4, config=cfg)
    b = run_search(open_evaluator(spec, tables[key]), strategy, seed=4, config=cfg)
    c = run_search(ev, strategy, seed=5, config=cfg)
    assert a.same_evaluations(b), "the same seed must give the same trajectory"
    assert not a.same_evaluations(c), "another seed must give another trajectory"
    assert 0 < a["evals"][-1] <= 12 + 1e-9, "the budget is respected"
    # only what the context allows is evaluated, and the optimum is among it
    assert ev.context.valid[a["arch"]].all()
    truth = ev.truth
    sign = truth.objective.sign
    finals = a["valid_acc"][a["epoch"] == ev.context.epochs[-1]]
    # the incumbent is the best observed full evaluation in the objective's own direction
    assert a["incumbent_valid"][-1] == pytest.approx(finals[np.argmax(sign * finals)])
    assert (a["regret"][~np.isnan(a["regret"])] >= -1e-9).all()
    if truth.constraints:
        t = ResultTable.load(tables[key])
        feasible_archs = set(t.arch_index[t.arch_columns["params"] <= 20000].tolist())
        assert set(a["arch"].tolist()) <= feasible_archs
        assert truth.optimum == pytest.approx(max(truth.final_values(np.array(sorted(feasible_archs)))[0])), (
            "the optimum is the best feasible architecture's"
        )


class _Writer(Strategy):
    """Tries to write into every curve it is told."""

    name = "writer"

    def __init__(self, context: Any) -> None:
        super().__init__(context, np.random.default_rng(0))
        self.failures: list[bool] = []

    def ask(self) -> Proposal | None:
        if len(self.failures) >= 3:
            return None
        return Proposal(self.context.sample(self.rng), self.context.epochs[-1])

    def tell(self, result: Any) -> None:
        try:
            result.curve[0] = 0.0
            self.failures.append(False)
        except ValueError:
            self.failures.append(True)


def test_results_are_read_only(tables: dict[str, Path]) -> None:
    ev = open_evaluator(EvaluatorSpec("table"), tables["max"])
    w = _Writer(ev.context)
    run_loop(ev, w, RunConfig(Budget("evals", 5)), np.random.default_rng(0))
    assert w.failures == [True, True, True]


def test_a_rebuilt_table_at_the_same_path_is_not_served_stale(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    _table(seed=0).save(path)
    first = load_simulator(path).optimum
    time.sleep(0.01)  # a later modification time, as a rebuild has
    _table(seed=1).save(path)
    second = load_simulator(path).optimum
    assert second != first
    assert second == pytest.approx(TableEvaluator(Benchmark(ResultTable.load(path))).optimum)


def test_constraints_set_the_cheapest_feasible_cost_for_the_budget_check(tables: dict[str, Path]) -> None:
    t = ResultTable.load(tables["max"])
    sim = TableEvaluator(Benchmark(t), TestOracle(t))
    # full evaluations cost 4 * (row + 1) seconds: the cheapest is 4 s, the cheapest with params >= 11e3 is 44 s
    assert sim.min_full_cost == pytest.approx(4.0)
    sim.check_budget(Budget("seconds", 10))
    heavy = constrain(sim, minima=["params=11000"])
    assert heavy.min_full_cost == pytest.approx(44.0)
    with pytest.raises(BudgetError, match="cheapest full evaluation in this table costs 44"):
        heavy.check_budget(Budget("seconds", 10))


# ---- the train backend, on a tiny dataset --------------------------------------------------------


@pytest.mark.slow
def test_the_train_backend_keeps_the_contract_with_objectives_and_constraints(tmp_path: Path) -> None:
    """A live search with a reference table optimises its objective, searches only the feasible
    architectures and reports regret in the metric's units; the same seed trains the same."""
    from nasbench.experiments.live import search_live
    from nasbench.train.live import LiveConfig
    from nasbench.train.recipe import PRESETS

    tiny = PRESETS["digits"].replace(
        channels=(4, 8, 8),
        epochs=2,
        n_train=None,
        n_valid=None,
        n_test=None,
        batch_size=16,
        eval_batch_size=48,
    )
    npz = write_tiny_npz(tmp_path / "tiny.npz")
    cfg = LiveConfig(dataset=f"npz:{npz}", recipe=tiny, out=tmp_path / "ref", workers=4)
    params = {"population_size": 4, "sample_size": 2}
    _, first = search_live(
        cfg, "re", seed=0, run=RunConfig(Budget("evals", 8)), params=params, leaderboard_surrogate=None
    )
    ref = ResultTable.load(tmp_path / "ref" / "table.parquet")
    assert "params" in ref.arch_columns
    bound = float(np.median(ref.arch_columns["params"]))
    feasible = set(ref.arch_index[ref.arch_columns["params"] <= bound].tolist())
    runs = []
    for out in ("a", "b"):
        c = LiveConfig(
            dataset=f"npz:{npz}",
            recipe=tiny,
            out=tmp_path / out,
            workers=4,
            reference=tmp_path / "ref" / "table.parquet",
        )
        runs.append(
            search_live(
                c,
                "re",
                seed=1,
                run=RunConfig(Budget("evals", 6)),
                params=params,
                leaderboard_surrogate=None,
                objectives="valid_acc,params",
                maxima=(f"params={bound}",),
            )
        )
    (ta, sa), (tb, _) = runs
    assert ta.same_evaluations(tb, costs=False)
    assert set(ta["arch"].tolist()) <= feasible
    assert sa["constraints"] == [f"params <= {bound:g}"]
    assert sa["objective"] == Objective().to_dict()
    assert np.isfinite(sa["optimum"]) and sa["incumbent"]["regret"] >= 0
    assert "hypervolume" in sa["multiobjective"]
    assert ta["evals"][-1] <= 6


def test_live_objectives_without_a_reference_are_one_clear_error(tmp_path: Path) -> None:
    from conftest import assert_one_line_error, run_cli

    proc = run_cli(
        "search",
        "--evaluator",
        "train",
        "--strategy",
        "re",
        "--budget",
        "5",
        "--out",
        str(tmp_path / "run"),
        "--max",
        "params=1e5",
    )
    assert_one_line_error(proc, "need --reference TABLE")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_the_mlp_space_searches_live(tmp_path: Path) -> None:
    """Live search trains every trainable space: the MLP declaration through its family."""
    from nasbench.experiments.live import search_live
    from nasbench.spaces.mlp import mlp_space
    from nasbench.train.live import LiveConfig
    from nasbench.train.recipe import PRESETS

    npz = write_tiny_npz(tmp_path / "tiny.npz")
    recipe = PRESETS["mlp-digits"].replace(epochs=2, n_train=None, n_valid=None, n_test=None, batch_size=16)
    cfg = LiveConfig(dataset=f"npz:{npz}", recipe=recipe, out=tmp_path / "run", space="mlp", workers=4)
    traj, s = search_live(
        cfg, "re", seed=0, run=RunConfig(Budget("evals", 6)), params={"population_size": 4, "sample_size": 2}
    )
    assert s["space"] == "mlp" and s["evaluations"] == len(traj) == 6
    grown = ResultTable.load(tmp_path / "run" / "table.parquet")
    assert grown.space.config() == mlp_space().config()
    assert set(traj["arch"].tolist()) >= set(grown.arch_index.tolist())
    assert np.isfinite(grown.values[..., grown.metric_position("valid_acc")][:, :, -1]).any()
