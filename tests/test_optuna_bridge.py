"""Optuna's samplers as nasbench strategies (``optuna:NAME``), driven with the real Optuna:
the contract every strategy keeps (same seed, same trajectory; budgets; only answerable
architectures), the space's parameters as Optuna distributions (NB201's categoricals, a
declared space's types, log scales and conditions), several objectives as a
multi-objective study, constraints as Optuna's trial constraints, the registry's
``optuna:`` names in ``compare`` and one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, assert_one_line_error, run_cli, synthetic_nb201_table

optuna = pytest.importorskip("optuna")

from nasbench.evaluation import Budget, RunConfig, run_loop  # noqa: E402
from nasbench.experiments.evaluators import EvaluatorSpec, open_evaluator  # noqa: E402
from nasbench.spaces.declared import DeclaredSpace  # noqa: E402
from nasbench.tables.table import ResultTable  # noqa: E402
from strategies.errors import StrategyConfigError, UnknownStrategyError  # noqa: E402
from strategies.registry import make_strategy, parse_name  # noqa: E402
from strategies.runner import run_search  # noqa: E402

#: a declared space with every dimension type, a log scale, a condition and a forbidden clause
DECLARATION = {
    "dimensions": [
        {"name": "layers", "type": "integer", "low": 1, "high": 3},
        {"name": "units", "type": "integer", "low": 16, "high": 256, "log": True, "steps": 5},
        {"name": "act", "type": "categorical", "values": ["relu", "tanh"]},
        {"name": "width", "type": "ordinal", "values": [1, 2, 4]},
        {"name": "lr", "type": "float", "low": 0.001, "high": 0.1, "log": True, "steps": 3},
        {"name": "extra", "type": "categorical", "values": ["a", "b"]},
    ],
    "conditions": ["extra if layers >= 2"],
    "forbidden": [{"act": "tanh", "lr": 0.1}],
}


def declared_table(n_seeds: int = 2) -> ResultTable:
    """Every configuration of :data:`DECLARATION`, epochs 1..3, accuracy rising with units
    and falling away from lr = 0.01; ``params`` per configuration."""
    space = DeclaredSpace(DECLARATION)
    n = space.size
    archs = np.arange(n)
    rng = np.random.default_rng(0)
    quality = np.array(
        [
            0.5
            + 0.1 * np.log2(c["units"] / 16) / 4
            - 0.1 * abs(np.log10(c["lr"]) + 2)
            + 0.05 * (c["act"] == "relu")
            for c in (space.arch(i) for i in archs)
        ]
    )
    e = np.arange(1, 4)
    v = np.empty((n, n_seeds, 3, 3), np.float32)
    for s in range(n_seeds):
        v[:, s, :, 0] = 100 * quality[:, None] * (1 - 0.5**e)[None, :] + rng.normal(0, 0.5, (n, 3))
        v[:, s, :, 1] = v[:, s, :, 0]
        v[:, s, :, 2] = (1 + archs % 7)[:, None] * e[None, :]
    return ResultTable(
        space,
        archs,
        list(range(n_seeds)),
        list(e),
        ("valid_acc", "test_acc", "time_s"),
        v,
        np.zeros((n, n_seeds), bool),
        arch_columns={"params": (1 + archs).astype(np.float64) * 1e3},
    )


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("optuna-tables")
    out = {"nb201": d / "nb201.parquet", "declared": d / "declared.parquet"}
    synthetic_nb201_table(n_archs=80).save(out["nb201"])  # 80 of 15,625 cells: most are unanswerable
    declared_table().save(out["declared"])
    return out


@pytest.mark.parametrize("name", ["optuna:tpe", "optuna:random", "optuna:nsga2", "optuna:TPESampler"])
@pytest.mark.parametrize("key", ["nb201", "declared"])
def test_samplers_keep_the_strategy_contract(name: str, key: str, tables: dict[str, Path]) -> None:
    ev = open_evaluator(EvaluatorSpec("table"), tables[key])
    cfg = RunConfig(Budget("evals", 25), workers=3)
    p = {"max_retries": 10}  # the 80-cell table answers few proposals: fall back to a random cell sooner
    a = run_search(ev, name, seed=3, config=cfg, params=p)
    b = run_search(open_evaluator(EvaluatorSpec("table"), tables[key]), name, seed=3, config=cfg, params=p)
    c = run_search(ev, name, seed=4, config=cfg, params=p)
    assert a.same_evaluations(b), "the same seed must give the same trajectory"
    assert not a.same_evaluations(c), "another seed must give another trajectory"
    assert len(a) == 25 and a["evals"][-1] <= 25 + 1e-9
    assert ev.context.valid[a["arch"]].all(), "only answerable architectures are evaluated"
    assert a.meta["overhead_s"] > 0, "the sampler's time is charged as the strategy's overhead"


def _run(table: Path, name: str, spec: EvaluatorSpec | None = None, budget: int = 30, **params: object):
    ev = open_evaluator(spec or EvaluatorSpec("table"), table)
    strat = make_strategy(name, ev.context, np.random.default_rng(0), params=params)
    tr = run_loop(ev, strat, RunConfig(Budget("evals", budget), workers=2), np.random.default_rng(1))
    return ev, strat, tr


def test_nb201_edges_are_categoricals_and_trials_hold_what_was_evaluated(tables: dict[str, Path]) -> None:
    ev, strat, tr = _run(tables["nb201"], "optuna:tpe", n_startup_trials=5)
    done = [t for t in strat.study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    dist = done[0].distributions
    assert sorted(dist) == [f"e{k}" for k in range(6)]
    assert all(
        isinstance(d, optuna.distributions.CategoricalDistribution) and len(d.choices) == 5
        for d in dist.values()
    )
    # the 80-cell table answers few cells: the others were told as infeasible, never evaluated
    infeasible = [t for t in done if t.constraints.get("answerable", 0) > 0]
    assert strat.stats()["optuna"]["infeasible"] >= len(infeasible) > 0
    evaluated = [t for t in done if t.constraints.get("answerable") == 0.0]
    assert len(evaluated) == len(tr)
    space, canon = ev.context.space, ev.context.canonical
    told = sorted(t.value for t in evaluated)
    assert told == pytest.approx(sorted(tr["valid_acc"].tolist()))
    for t in evaluated:  # each evaluated trial's cell is answered (as its stored representative)
        cell = strat.mapping.decode(t.params)
        assert ev.context.is_valid(int(canon[cell]) if canon is not None else cell)
    assert {int(a) for a in tr["arch"]} <= {int(canon[strat.mapping.decode(t.params)]) for t in evaluated}
    assert space.size == 15625


def test_declared_space_keeps_types_logs_and_conditions(tables: dict[str, Path]) -> None:
    ev, strat, tr = _run(tables["declared"], "optuna:random", budget=40)
    trials = [t for t in strat.study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    d = {k: v for t in trials for k, v in t.distributions.items()}
    D = optuna.distributions
    assert d["layers"] == D.IntDistribution(1, 3)
    assert d["units"] == D.IntDistribution(16, 256, log=True), "a log grid keeps its log scale"
    assert d["lr"] == D.FloatDistribution(0.001, 0.1, log=True)
    assert d["act"] == D.CategoricalDistribution(["relu", "tanh"])
    assert d["width"] == D.IntDistribution(0, 2), "an ordinal is its ordered position"
    for t in trials:  # the conditional dimension is suggested only where it is active
        assert ("extra" in t.params) == (t.params["layers"] >= 2)
    space = ev.context.space
    # each evaluation is the configuration its trial names, snapped to the grids
    assert all(not (c["act"] == "tanh" and c["lr"] == 0.1) for c in (space.arch(int(a)) for a in tr["arch"]))
    assert {space.arch(int(a))["units"] for a in tr["arch"]} <= {16, 32, 64, 128, 256}


def test_several_objectives_make_a_multi_objective_study(tables: dict[str, Path]) -> None:
    spec = EvaluatorSpec("table", objectives="valid_acc,params")
    ev, strat, tr = _run(tables["declared"], "optuna:nsga2", spec, budget=20, population_size=6)
    assert [d.name for d in strat.study.directions] == ["MAXIMIZE", "MAXIMIZE"]
    done = [t for t in strat.study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    evaluated = [t for t in done if t.constraints["answerable"] == 0.0]  # forbidden ones were told infeasible
    assert len(evaluated) == len(tr)
    t = evaluated[0]
    assert len(t.values) == 2
    arch = strat.mapping.decode(optuna_values(strat, t.params))
    assert t.values[1] == pytest.approx(ev.context.objectives[arch][0]), "minus the params (larger is better)"
    assert t.values[1] < 0


def optuna_values(strat: object, params: dict) -> dict:
    from strategies.optuna_bridge import space_values

    return space_values(strat.mapping, params)  # type: ignore[attr-defined]


def test_constraints_are_optuna_trial_constraints(tables: dict[str, Path]) -> None:
    spec = EvaluatorSpec("table", maxima=("params=40000",))
    ev, strat, tr = _run(tables["declared"], "optuna:tpe", spec, budget=25, n_startup_trials=5)
    t = ResultTable.load(tables["declared"])
    feasible = set(t.arch_index[t.arch_columns["params"] <= 40000].tolist())
    assert set(tr["arch"].tolist()) <= feasible
    done = [x for x in strat.study.trials if x.state == optuna.trial.TrialState.COMPLETE]
    assert all("answerable" in x.constraints for x in done), "every told trial carries the constraint"
    assert any(x.constraints["answerable"] > 0 for x in done), "infeasible proposals were told, not evaluated"
    assert strat.study.best_trial.constraints["answerable"] == 0.0


def test_early_stopping_composes(tables: dict[str, Path]) -> None:
    _, strat, tr = _run(tables["nb201"], "optuna:tpe+es", budget=15)
    assert strat.name == "optuna:tpe+es"
    inner = strat.inner  # type: ignore[attr-defined]
    told = [
        t
        for t in inner.study.trials
        if t.state == optuna.trial.TrialState.COMPLETE and t.constraints.get("answerable") == 0.0
    ]
    assert 0 < len(told) <= len(set(tr["trial"].tolist()))


def test_registry_names_and_errors() -> None:
    assert parse_name("optuna:tpe+es") == ("optuna:tpe", ("es",))
    with pytest.raises(UnknownStrategyError, match="unknown Optuna sampler 'bogus'"):
        parse_name("optuna:bogus")
    with pytest.raises(UnknownStrategyError, match="optuna:NAME"):
        parse_name("nope:tpe")
    from strategies.registry import strategy_class

    assert strategy_class("optuna:tpe") is strategy_class("optuna:TPESampler")


def test_parameters_reach_the_sampler(tables: dict[str, Path]) -> None:
    _, strat, _ = _run(tables["declared"], "optuna:tpe", budget=5, n_startup_trials=3, multivariate=True)
    assert strat.study.sampler._n_startup_trials == 3
    with pytest.raises(StrategyConfigError, match="has no parameter"):
        _run(tables["declared"], "optuna:tpe", seed=1)


def test_unknown_sampler_is_one_line_and_exit_2(tables: dict[str, Path], tmp_path: Path) -> None:
    proc = run_cli("search", str(tables["declared"]), "--strategy", "optuna:bogus", "--budget", "5")
    assert_one_line_error(proc, "unknown Optuna sampler 'bogus'")


def test_a_space_optuna_cannot_express_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A space with no mapping (a toy space registered by the user) is refused before any run."""
    import subprocess

    script = f"""
import sys
sys.path[:0] = [{str(REPO)!r}, {str(REPO / "tests")!r}]
import numpy as np
from nasbench import spaces
from nasbench.tables.table import ResultTable
from test_toy_space import StackSpace
spaces.register_space("toy_stacks", StackSpace)
sp = StackSpace()
n = sp.size
v = np.ones((n, 1, 1, 3), np.float32)
ResultTable(sp, np.arange(n), [0], [1], ("valid_acc", "test_acc", "time_s"), v, np.zeros((n, 1), bool)).save({str(tmp_path / "toy.parquet")!r})
from nasbench.cli import main
sys.exit(main(["search", {str(tmp_path / "toy.parquet")!r}, "--strategy", "optuna:tpe", "--budget", "5"]))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert_one_line_error(proc, "cannot express the 'toy_stacks' space")


def test_compare_runs_bridges_beside_native_strategies(tables: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    proc = run_cli(
        "compare", str(tables["declared"]), "--strategies", "optuna:tpe,synetune:rea,re", "--seeds", "2",
        "--budget", "8", "--processes", "1", "--out", str(out), "-p", "optuna:tpe.n_startup_trials=4",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["strategies"]) == {"optuna:tpe", "synetune:rea", "re"}


@pytest.mark.slow
def test_a_sampler_searches_live_on_a_declared_space(tmp_path: Path) -> None:
    """The train backend: Optuna's TPE proposes MLP configurations (a declared space) that
    are trained live, through the same loop."""
    from conftest import write_tiny_npz

    from nasbench.experiments.live import search_live
    from nasbench.train.live import LiveConfig
    from nasbench.train.recipe import PRESETS

    npz = write_tiny_npz(tmp_path / "tiny.npz")
    recipe = PRESETS["mlp-digits"].replace(epochs=2, n_train=None, n_valid=None, n_test=None, batch_size=16)
    cfg = LiveConfig(dataset=f"npz:{npz}", recipe=recipe, out=tmp_path / "run", space="mlp", workers=2)
    traj, s = search_live(
        cfg, "optuna:tpe", seed=0, run=RunConfig(Budget("evals", 4)), leaderboard_surrogate=None
    )
    assert s["evaluations"] == len(traj) == 4
    grown = ResultTable.load(tmp_path / "run" / "table.parquet")
    assert set(traj["arch"].tolist()) >= set(grown.arch_index.tolist())
    assert np.isfinite(traj["valid_acc"]).all()
