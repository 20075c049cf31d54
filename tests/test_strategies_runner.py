"""The runner: cost accounting (with continuation), budgets, workers, noise, incumbents."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasbench.spaces.nb201 import NB201Space
from nasbench.tables.benchmark import Benchmark, TestOracle
from nasbench.tables.table import ResultTable
from strategies import Budget, Proposal, RunConfig, Simulator, Strategy, run_search
from strategies.base import SearchContext
from strategies.errors import (
    BudgetError,
    FidelityError,
    InvalidProposalError,
    StrategyConfigError,
    UnknownStrategyError,
)
from strategies.registry import make_strategy, validate


def make_table(epochs=(1, 2, 4), seeds=(0, 1), n=6, missing_seed_row=None) -> ResultTable:
    """Cells 0..n-1 of NB201 (as stored archs) with known values and costs.

    valid_acc[a, s, e] = 50 + a + 0.1 * s + e;  test_acc = valid - 5;
    time_s[a, s, e] = (a + 1) * epoch * (1 + s)  (cumulative, seed-specific).
    """
    space = NB201Space()
    archs = space.unique_indices()[:n]
    a_, s_, e_ = n, len(seeds), len(epochs)
    v = np.empty((a_, s_, e_, 3), np.float32)
    for i in range(a_):
        for j in range(s_):
            for k, ep in enumerate(epochs):
                v[i, j, k] = (50 + i + 0.1 * j + ep, 45 + i + 0.1 * j + ep, (i + 1) * ep * (1 + j))
    if missing_seed_row is not None:
        v[missing_seed_row, 1] = np.nan
    return ResultTable(
        space,
        archs,
        list(seeds),
        list(epochs),
        ("valid_acc", "test_acc", "time_s"),
        v,
        np.zeros((a_, s_), bool),
    )


class Scripted(Strategy):
    """Proposes a fixed list, then stops; records what it was told."""

    def __init__(self, context, script):  # type: ignore[no-untyped-def]
        super().__init__(context, np.random.default_rng(0))
        self.script, self.told = list(script), []
        self.name = "scripted"

    def ask(self):  # type: ignore[no-untyped-def]
        return self.script.pop(0) if self.script else None

    def tell(self, result):  # type: ignore[no-untyped-def]
        self.told.append(result)


def sim_and_archs(**kw):  # type: ignore[no-untyped-def]
    table = make_table(**kw)
    return Simulator(Benchmark(table), TestOracle(table)), [int(a) for a in table.arch_index]


def test_cost_accounting_with_continuation():
    sim, archs = sim_and_archs()
    a = archs[2]  # cost (2+1) * epoch * (1 + seed)
    script = [Proposal(a, 1), Proposal(a, 4, resume=0), Proposal(archs[0], 2)]
    strat = Scripted(sim.context, script)
    tr = sim.run(strat, RunConfig(Budget.parse("10"), noise="seed"), np.random.default_rng(0))
    s = int(tr["seed"][0])
    per_epoch = 3 * (1 + s)
    assert tr["cost_s"][0] == pytest.approx(per_epoch * 1)
    assert tr["cost_s"][1] == pytest.approx(per_epoch * 4 - per_epoch * 1)  # only the difference
    assert tr["seed"][1] == s  # a continuation keeps its run's seed
    assert tr["from_epoch"].tolist() == [0, 1, 0] and tr["epoch"].tolist() == [1, 4, 2]
    assert tr["evals"].tolist() == pytest.approx([0.25, 1.0, 1.5])
    assert tr["finish_s"][1] == pytest.approx(per_epoch * 4)  # sequential worker
    assert tr["trial"].tolist() == [0, 0, 1]
    told = strat.told
    assert told[1].valid_acc == pytest.approx(50 + 2 + 0.1 * s + 4)
    assert np.allclose(told[1].curve, [50 + 2 + 0.1 * s + e for e in (1, 2, 4)])
    assert tr.meta["stop_reason"] == "strategy_exhausted"


def test_seed_mean_noise():
    sim, archs = sim_and_archs()
    tr = sim.run(
        Scripted(sim.context, [Proposal(archs[1], 4)]),
        RunConfig(Budget.parse("5"), noise="mean"),
        np.random.default_rng(0),
    )
    assert tr["valid_acc"][0] == pytest.approx(50 + 1 + 0.05 + 4)
    assert tr["cost_s"][0] == pytest.approx(2 * 4 * 1.5)
    assert tr["seed"][0] == -1


def test_seed_draws_use_only_stored_seeds():
    sim, archs = sim_and_archs(missing_seed_row=3)
    script = [Proposal(archs[3], 4) for _ in range(30)] + [Proposal(archs[4], 4) for _ in range(30)]
    tr = sim.run(Scripted(sim.context, script), RunConfig(Budget.parse("100")), np.random.default_rng(1))
    assert set(tr["seed"][:30]) == {0}
    assert set(tr["seed"][30:]) == {0, 1}


def test_async_workers_finish_in_time_order():
    sim, archs = sim_and_archs()
    # costs (noise=mean): arch i at epoch 4 -> (i+1) * 4 * 1.5
    script = [Proposal(archs[5], 4), Proposal(archs[0], 4), Proposal(archs[1], 4), Proposal(archs[0], 1)]
    strat = Scripted(sim.context, script)
    tr = sim.run(strat, RunConfig(Budget.parse("100"), workers=2, noise="mean"), np.random.default_rng(0))
    assert tr["arch"].tolist() == [archs[0], archs[1], archs[0], archs[5]]
    assert tr["start_s"].tolist() == pytest.approx([0, 6, 18, 0])
    assert tr["finish_s"].tolist() == pytest.approx([6, 18, 19.5, 36])
    assert [r.arch for r in strat.told] == tr["arch"].tolist()


def test_budget_stops_before_overrun_and_counts_evaluations():
    sim, archs = sim_and_archs()
    script = [Proposal(archs[0], 4)] * 10
    tr = sim.run(
        Scripted(sim.context, script), RunConfig(Budget.parse("20s"), noise="mean"), np.random.default_rng(0)
    )
    assert len(tr) == 3 and tr["finish_s"][-1] == pytest.approx(18)  # a 4th (to 24 s) would overrun
    tr = sim.run(
        Scripted(sim.context, [Proposal(archs[0], 2)] * 10),
        RunConfig(Budget.parse("2")),
        np.random.default_rng(0),
    )
    assert len(tr) == 4 and tr["evals"][-1] == pytest.approx(2.0)


def test_incumbent_and_regret_by_observed_validation():
    sim, archs = sim_and_archs()
    script = [Proposal(archs[1], 4), Proposal(archs[4], 2), Proposal(archs[3], 4), Proposal(archs[2], 4)]
    tr = sim.run(
        Scripted(sim.context, script), RunConfig(Budget.parse("10"), noise="mean"), np.random.default_rng(0)
    )
    # low-fidelity results never become the incumbent
    assert tr["incumbent"].tolist() == [archs[1], archs[1], archs[3], archs[3]]
    optimum = 50 + 5 + 0.05 + 4
    assert sim.optimum == pytest.approx(optimum)
    assert tr["regret"].tolist() == pytest.approx(
        [optimum - 55.05, optimum - 55.05, optimum - 57.05, optimum - 57.05]
    )
    assert tr["incumbent_test"][-1] == pytest.approx(57.05 - 5)
    assert tr.hitting(57.0) == (pytest.approx(2.5), pytest.approx(tr["finish_s"][2]))
    assert tr.hitting(99.0) == (math.inf, math.inf)
    assert np.isnan(tr.regret_at(np.array([0.5]))[0])


def test_invalid_proposals_raise():
    sim, archs = sim_and_archs()
    cfg = RunConfig(Budget.parse("10"))
    uncovered = int(np.flatnonzero(~sim.context.valid)[0])
    for script in (
        [Proposal(archs[0], 3)],  # epoch not stored
        [Proposal(15625, 4)],  # out of range
        [Proposal(uncovered, 4)] if sim._row_of[uncovered] < 0 else [Proposal(-1, 4)],
        [Proposal(archs[0], 2), Proposal(archs[0], 1, resume=0)],  # resume backwards
        [Proposal(archs[0], 2), Proposal(archs[1], 4, resume=0)],  # resume as another arch
        [Proposal(archs[0], 4, resume=5)],  # unknown trial
    ):
        with pytest.raises(InvalidProposalError):
            sim.run(Scripted(sim.context, script), cfg, np.random.default_rng(0))


def test_budget_parsing_and_bad_budgets():
    assert Budget.parse("300") == Budget("evals", 300.0)
    assert Budget.parse("2.5evals") == Budget("evals", 2.5)
    assert Budget.parse("1e5s") == Budget("seconds", 1e5)
    assert Budget.parse("2h") == Budget("seconds", 7200.0)
    for bad in ("", "abc", "-3", "0", "5 parsecs", "nan"):
        with pytest.raises(BudgetError):
            Budget.parse(bad)
    sim, _ = sim_and_archs()
    with pytest.raises(BudgetError, match="smaller than one evaluation"):
        run_search(sim, "rs", seed=0, config=RunConfig(Budget.parse("0.5")))
    with pytest.raises(BudgetError, match="smaller than one evaluation"):
        run_search(sim, "rs", seed=0, config=RunConfig(Budget.parse("3s")))  # cheapest full eval: 6 s
    with pytest.raises(StrategyConfigError):
        RunConfig(Budget.parse("3"), workers=0)


def test_unknown_names_params_and_missing_fidelity():
    sim, _ = sim_and_archs()
    with pytest.raises(UnknownStrategyError, match="unknown strategy 'nope'"):
        validate("nope", sim.context)
    with pytest.raises(UnknownStrategyError, match="modifier"):
        validate("re+zz", sim.context)
    with pytest.raises(StrategyConfigError, match="no parameter"):
        validate("re", sim.context, {"populaton_size": 3})
    with pytest.raises(StrategyConfigError, match="must be int"):
        validate("re", sim.context, {"population_size": "big"})
    with pytest.raises(StrategyConfigError, match="must be >= 2"):
        validate("re", sim.context, {"population_size": 1})
    with pytest.raises(StrategyConfigError, match="does not use"):
        validate("re", sim.context, {"es.confidence": 0.9})
    one = make_table(epochs=(4,))
    ctx = SearchContext.from_benchmark(Benchmark(one))
    for name in ("sh", "hb", "re+es"):
        with pytest.raises(FidelityError, match="lower fidelity"):
            make_strategy(name, ctx, np.random.default_rng(0))
    ctx2 = SearchContext.from_benchmark(Benchmark(make_table(epochs=(3, 4))))
    with pytest.raises(FidelityError):  # 3 > 0.5 * 4: no early-stopping checkpoint
        make_strategy("re+es", ctx2, np.random.default_rng(0))


def test_nb201_rs_uses_both_seeds_and_stays_deterministic(nb201_table):
    sim = Simulator(Benchmark(nb201_table))
    a = run_search(sim, "rs", seed=3, config=RunConfig(Budget.parse("200")))
    assert len(set(a["seed"].tolist())) >= 2
    assert len(np.unique(a["arch"])) == 200  # without replacement
    assert a["evals"][-1] == 200 and np.all(a["regret"][~np.isnan(a["regret"])] >= -1e-9)
    assert sim.targets["optimum"] >= sim.targets["top0.1"] >= sim.targets["top1"]


@pytest.mark.parametrize("name", ["ls", "bananas", "screened"])
def test_strategies_that_never_repeat_end_when_the_space_is_exhausted(name):
    sim, _ = sim_and_archs(n=6)
    params = {"n_init": 2, "n_candidates": 5} if name != "ls" else {"n_init": 2}
    tr = run_search(sim, name, seed=0, config=RunConfig(Budget.parse("50")), params=params)
    assert sorted(tr["arch"].tolist()) == sorted(sim.context.candidates.tolist())  # each once
    assert tr.meta["stop_reason"] == "strategy_exhausted"


class CurveWriter(Scripted):
    """Tries to edit the curve it is told (a strategy must not corrupt the simulator's table)."""

    def tell(self, result):  # type: ignore[no-untyped-def]
        super().tell(result)
        result.curve[0] = -1.0


@pytest.mark.parametrize("noise", ["seed", "mean"])
def test_told_curves_are_read_only_and_later_queries_unchanged(noise):
    sim, archs = sim_and_archs()
    script = [Proposal(archs[2], 2), Proposal(archs[2], 4, resume=0)]
    cfg = RunConfig(Budget.parse("10"), noise=noise)
    before = sim.run(Scripted(sim.context, list(script)), cfg, np.random.default_rng(0))
    with pytest.raises(ValueError, match="read-only"):
        sim.run(CurveWriter(sim.context, list(script)), cfg, np.random.default_rng(0))
    strat = Scripted(sim.context, list(script))
    after = sim.run(strat, cfg, np.random.default_rng(0))
    assert after.same_evaluations(before)
    curve = strat.told[1].curve
    assert not curve.flags.writeable
    assert curve[0] == pytest.approx(50 + 2 + 1 + (0.05 if noise == "mean" else 0.1 * int(after["seed"][1])))
    with pytest.raises(ValueError):
        curve += 1.0


def test_trajectory_meta_is_plain_json_values_and_keeps_nan():
    from dataclasses import dataclass

    class WithNaNConfig(Scripted):
        @dataclass(frozen=True)
        class Config:
            rate: float = math.nan
            sizes: tuple[int, ...] = (1, 2)

        def stats(self):  # type: ignore[no-untyped-def]
            return {"best": np.float32(1.5), "missing": math.nan, "counts": (np.int64(3), 4)}

    sim, archs = sim_and_archs()
    strat = WithNaNConfig(sim.context, [Proposal(archs[0], 4)])
    tr = sim.run(strat, RunConfig(Budget.parse("2")), np.random.default_rng(0))
    params, stats = tr.meta["params"], tr.meta["strategy_stats"]
    assert math.isnan(params["rate"]) and params["sizes"] == [1, 2]
    assert stats["best"] == 1.5 and type(stats["best"]) is float and math.isnan(stats["missing"])
    assert stats["counts"] == [3, 4] and all(type(c) is int for c in stats["counts"])
    assert tr["step"].tolist() == [0] and tr["evals"].tolist() == [1.0]
