"""Contract tests over every registered strategy (and the early-stopping modifier).

Same seed -> same trajectory; another seed -> another; the budget is never exceeded;
only valid architectures and stored epochs are proposed; test metrics are never read.
"""

from __future__ import annotations

import dataclasses
import gc

import numpy as np
import pytest

from nasbench.tables.benchmark import Benchmark, TestOracle
from nasbench.tables.table import ResultTable
from strategies import STRATEGIES, Budget, RunConfig, Simulator, run_search
from strategies.base import Proposal, Strategy
from strategies.registry import make_strategy
from strategies.runner import seeded_generators

NAMES = [*STRATEGIES, "re+es", "ls+es", "hb+es"]
#: small settings so surrogate strategies fit often within a short budget
PARAMS: dict[str, dict] = {
    "bananas": {"n_init": 4, "n_candidates": 20, "fit_every": 3},
    "screened": {"n_init": 4, "n_candidates": 50, "batch_size": 3},
    "parego": {"n_init": 4, "n_candidates": 20, "batch_size": 3},
}


def params_for(name: str) -> dict:
    base = name.split("+")[0]
    out = dict(PARAMS.get(base, {}))
    if STRATEGIES[base]().uses_surrogate:
        out["surrogate.members"] = ["ridge"]  # the real surrogates, kept cheap
    if "+es" in name:
        out["es.min_full"] = 3
        out["es.surrogate.members"] = ["ridge"]
    return out


def scored(sim: Simulator) -> Simulator:
    """``sim`` with random per-architecture scores in its context: ``ranked`` needs them, and
    model-based strategies then fit their surrogates on them too (that path is checked as well).
    Five levels, so that ties (which ``ranked`` breaks with its seed) are common."""
    size = sim.context.space.size
    return sim.with_scores(np.random.default_rng(0).integers(0, 5, (size, 1)) / 4.0, ["synthetic"])


@pytest.fixture(scope="module")
def nb201_sim(nb201_table):
    return scored(Simulator(Benchmark(nb201_table), TestOracle(nb201_table)))


@pytest.fixture()
def small_sim(small_table):
    return scored(Simulator(Benchmark(small_table), TestOracle(small_table)))


def run(sim, name, seed, budget="40", workers=1, noise="seed"):
    return run_search(
        sim,
        name,
        seed=seed,
        config=RunConfig(Budget.parse(budget), workers=workers, noise=noise),
        params=params_for(name),
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("workers", [1, 3])
def test_same_seed_same_trajectory_other_seed_differs(name, workers, small_sim):
    a = run(small_sim, name, 1, workers=workers)
    b = run(small_sim, name, 1, workers=workers)
    c = run(small_sim, name, 2, workers=workers)
    assert len(a) > 0
    assert a.same_evaluations(b)
    assert not a.same_evaluations(c)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_trajectory_on_nb201(name, nb201_sim):
    a = run(nb201_sim, name, 7, budget="30")
    b = run(nb201_sim, name, 7, budget="30")
    assert a.same_evaluations(b) and not a.same_evaluations(run(nb201_sim, name, 8, budget="30"))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("budget", ["25", "7.5", "180s"])
def test_budget_never_exceeded(name, budget, small_sim):
    b = Budget.parse(budget)
    for workers in (1, 4):
        tr = run(small_sim, name, 3, budget=budget, workers=workers)
        assert len(tr) > 0
        if b.kind == "evals":
            assert tr["evals"][-1] <= b.amount + 1e-9
            if tr.meta["stop_reason"] == "budget":  # (else it evaluated all 40 cells)
                # spent nearly all of it: the next proposal would not have fitted
                assert tr["evals"][-1] > b.amount - 1 - 1e-9
        else:
            assert tr["finish_s"].max() <= b.amount + 1e-6
            assert tr["cost_s"].sum() <= workers * b.amount + 1e-6
        assert np.all(np.diff(tr["finish_s"]) >= 0)


class _Recorder(Strategy):
    """Wraps a strategy and records every proposal."""

    def __init__(self, inner: Strategy) -> None:
        super().__init__(inner.context, inner.rng)
        self.inner, self.proposals = inner, []
        self.name = inner.name

    @property
    def overhead_s(self) -> float:  # type: ignore[override]
        return self.inner.overhead_s if hasattr(self, "inner") else 0.0

    @overhead_s.setter
    def overhead_s(self, value: float) -> None:
        pass

    def ask(self) -> Proposal | None:
        p = self.inner.ask()
        if p is not None:
            self.proposals.append(p)
        return p

    def tell(self, result) -> None:  # type: ignore[no-untyped-def]
        self.inner.tell(result)


@pytest.mark.parametrize("name", NAMES)
def test_only_valid_architectures_and_epochs(name, small_sim):
    ctx = small_sim.context
    assert ctx.valid.sum() == 40  # the table stores 40 unique cells; isomorphs are not proposed
    s_rng, r_rng = seeded_generators(5)
    rec = _Recorder(make_strategy(name, ctx, s_rng, params=params_for(name)))
    tr = small_sim.run(rec, RunConfig(Budget.parse("60"), workers=2), r_rng)
    # the runner drops only the one proposal that did not fit in the budget
    assert rec.proposals and len(tr) <= len(rec.proposals) <= len(tr) + 1
    for p in rec.proposals:
        assert type(p.arch) is int and ctx.valid[p.arch]
        assert p.epoch in ctx.epochs
    assert np.all(ctx.valid[tr["arch"]])


def _scrambled(table: ResultTable) -> ResultTable:
    """The same table with every test metric replaced by noise."""
    values = np.array(table.values)
    for k, m in enumerate(table.metrics):
        if m.startswith("test_"):
            values[..., k] = np.random.default_rng(0).uniform(0, 100, values.shape[:-1])
    return dataclasses.replace(table, values=values)


@pytest.mark.parametrize("name", NAMES)
def test_test_metrics_never_read(name, small_table):
    plain = scored(Simulator(Benchmark(small_table)))  # no oracle at all
    scrambled = scored(Simulator(Benchmark(_scrambled(small_table)), TestOracle(_scrambled(small_table))))
    a, b = run(plain, name, 11), run(scrambled, name, 11)
    assert a.same_evaluations(b)
    assert np.all(np.isnan(a["incumbent_test"]))  # without an oracle nothing test-related exists
    # nothing reachable from a strategy is a table, a benchmark view or an oracle
    s_rng, _ = seeded_generators(0)
    strat = make_strategy(name, scrambled.context, s_rng, params=params_for(name))
    seen, stack = set(), [strat]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, np.ndarray | str | int | float):
            continue
        seen.add(id(obj))
        assert not isinstance(obj, ResultTable | Benchmark | TestOracle), (
            f"{name} holds a {type(obj).__name__}"
        )
        stack.extend(r for r in gc.get_referents(obj) if not isinstance(r, type))


def test_incumbent_test_accuracy_is_reported(small_sim, small_table):
    tr = run(small_sim, "re", 0)
    has = tr["incumbent"] >= 0
    oracle = TestOracle(small_table)
    expect = [oracle.query(int(a), "test_acc", small_table.epochs[-1]) for a in tr["incumbent"][has]]
    assert np.allclose(tr["incumbent_test"][has], expect)


@pytest.mark.parametrize("name", ["re+es", "ls+es"])
def test_early_stopping_stats_match_the_trajectory(name, nb201_sim):
    """``strategy_stats`` counts exactly the runs the trajectory shows ending below the max epoch."""
    tr = run(nb201_sim, name, 3, budget="30")
    es = tr.meta["strategy_stats"]["early_stopping"]
    last = {}
    for trial, epoch in zip(tr["trial"], tr["epoch"], strict=True):
        last[int(trial)] = max(last.get(int(trial), 0), int(epoch))
    max_epoch = nb201_sim.context.max_epoch
    # a run still at its checkpoint when the budget ran out (running, or paused and
    # waiting to be continued) is neither stopped nor finished
    ended_early = sum(e < max_epoch for e in last.values())
    assert es["stopped"] <= ended_early <= es["stopped"] + es["waiting"] + 1
    assert es["full_curves"] == sum(e == max_epoch for e in last.values())
    assert es["stopped"] > 0  # on NB201 some runs are clearly hopeless at 12 epochs
    assert es["std_scale"] >= 1.0 and 0 <= es["audited"] <= es["continued"]


def test_compare_summary_counts_early_stops(nb201_sim):
    from nasbench.experiments.report import summarize

    runs = [run(nb201_sim, "ls+es", s, budget="30") for s in (3, 4)]
    for t in runs:
        t.meta["strategy"] = "ls+es"
    plain = run(nb201_sim, "ls", 3, budget="30")
    plain.meta["strategy"] = "ls"
    summary = summarize([*runs, plain], nb201_sim.targets)
    es = summary["ls+es"]["early_stopping"]
    stops = [t.meta["strategy_stats"]["early_stopping"]["stopped"] for t in runs]
    assert es["stopped"]["mean"] == pytest.approx(np.mean(stops))
    assert 0 < es["stopped_share"]["mean"] < 1
    assert "early_stopping" not in summary["ls"]
    from nasbench.experiments.report import summary_markdown

    md = summary_markdown(summary, {})
    assert (
        "Learning-curve early stopping" in md and "| ls+es |" in md.split("Learning-curve early stopping")[1]
    )


class _Listed(Strategy):
    """Proposes full evaluations of the given architectures, then nothing; records tells."""

    def __init__(self, context, rng, archs):
        super().__init__(context, rng)
        self._todo = list(archs)
        self.told: dict[int, float] = {}

    def ask(self):
        return Proposal(self._todo.pop(0), self.context.max_epoch) if self._todo else None

    def tell(self, result):
        self.told[result.arch] = result.score


class _PlusTen:
    """A learning-curve 'surrogate': final = last observed value + 10, std 5."""

    def fit(self, X, y):
        return self

    def predict(self, X, return_std=False):
        last = X[:, 1]
        return (last + 10.0, np.full(len(X), 5.0)) if return_std else last + 10.0


def test_paused_runs_continue_best_first_and_are_stopped_when_the_incumbent_rises(nb201_sim):
    """With ``lookahead`` the wrapper pauses runs at the checkpoint until the window is
    full, continues the one most likely to beat the incumbent, and re-applies the
    stopping rule to the others after the incumbent moves."""
    from strategies.base import Result
    from strategies.early_stopping import EarlyStopping

    ctx = nb201_sim.context
    lo, hi = ctx.epochs[0], ctx.max_epoch
    archs = [int(a) for a in ctx.candidates[:7]]
    inner = _Listed(ctx, np.random.default_rng(0), archs)
    cfg = EarlyStopping.Config(min_full=2, lookahead=3, audit=0.0)
    es = EarlyStopping(inner, ctx, np.random.default_rng(0), cfg, surrogate=_PlusTen())

    def tell(p, trial, acc):
        es.tell(
            Result(
                trial, p.arch, p.epoch, acc, np.full(ctx.epochs.index(p.epoch) + 1, acc, np.float32), 1.0, 0.0
            )
        )

    # two runs before the rule may act: each continues straight to the max epoch
    for trial, final in enumerate([50.0, 60.0]):
        p = es.ask()
        assert p.epoch == lo
        tell(p, trial, final - 20)
        q = es.ask()
        assert (q.arch, q.epoch, q.resume) == (p.arch, hi, trial)
        tell(q, trial, final)
    # incumbent 60; z = 1.645: 40 at the checkpoint predicts 50 +- 5 -> stopped at once
    p2 = es.ask()
    tell(p2, 2, 40.0)
    assert inner.told[p2.arch] == 50.0 and es.n_stopped == 1
    # 49, 51, 50 predict 59, 61, 60 +- 5: none can be stopped, all wait
    arch = {}
    for trial, acc in [(3, 49.0), (4, 51.0), (5, 50.0)]:
        p = es.ask()
        assert p.epoch == lo and p.resume is None
        tell(p, trial, acc)
        arch[trial] = p.arch
    assert es.stats()["early_stopping"]["waiting"] == 3
    # the window (3) is full: the most promising (61) is continued, not the oldest
    q = es.ask()
    assert (q.resume, q.epoch) == (4, hi)
    tell(q, 4, 70.0)
    # incumbent 70: a new run at 45 (55 +- 5) is stopped at once ...
    p6 = es.ask()
    assert p6.resume is None
    tell(p6, 6, 45.0)
    assert inner.told[p6.arch] == 55.0
    # ... and 59 +- 5, 60 +- 5 can no longer beat it either: with nothing more to
    # propose, both are stopped and the search ends
    assert es.ask() is None
    assert inner.told[arch[3]] == 59.0 and inner.told[arch[5]] == 60.0
    assert es.n_stopped == 4 and es.stats()["early_stopping"]["waiting"] == 0
