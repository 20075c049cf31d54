"""syne-tune's schedulers as nasbench strategies (``synetune:NAME``), driven with the real
syne-tune through its AskTellScheduler: the strategy contract, the space as syne-tune
domains, one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli, synthetic_nb201_table
from test_optuna_bridge import declared_table

pytest.importorskip("syne_tune")

from nasbench.evaluation import Budget, RunConfig, run_loop  # noqa: E402
from nasbench.experiments.evaluators import EvaluatorSpec, open_evaluator  # noqa: E402
from strategies.errors import StrategyConfigError, UnknownStrategyError  # noqa: E402
from strategies.registry import make_strategy, parse_name  # noqa: E402
from strategies.runner import run_search  # noqa: E402


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("synetune-tables")
    out = {"nb201": d / "nb201.parquet", "declared": d / "declared.parquet"}
    synthetic_nb201_table(n_archs=300).save(out["nb201"])
    declared_table().save(out["declared"])
    return out


@pytest.mark.parametrize("name", ["synetune:rs", "synetune:rea", "synetune:kde"])
@pytest.mark.parametrize("key", ["nb201", "declared"])
def test_schedulers_keep_the_strategy_contract(name: str, key: str, tables: dict[str, Path]) -> None:
    ev = open_evaluator(EvaluatorSpec("table"), tables[key])
    cfg = RunConfig(Budget("evals", 20), workers=2)
    params = {"population_size": 6, "sample_size": 3} if name == "synetune:rea" else {}
    state = np.random.get_state()
    a = run_search(ev, name, seed=3, config=cfg, params=params)
    assert np.array_equal(np.random.get_state()[1], state[1]), "numpy's global generator is left as it was"
    b = run_search(
        open_evaluator(EvaluatorSpec("table"), tables[key]), name, seed=3, config=cfg, params=params
    )
    c = run_search(ev, name, seed=4, config=cfg, params=params)
    assert a.same_evaluations(b), "the same seed must give the same trajectory"
    assert not a.same_evaluations(c), "another seed must give another trajectory"
    assert len(a) == 20 and ev.context.valid[a["arch"]].all()


def test_the_space_becomes_syne_tune_domains(tables: dict[str, Path]) -> None:
    from syne_tune import config_space as cs

    ev = open_evaluator(EvaluatorSpec("table"), tables["declared"])
    strat = make_strategy("synetune:rea", ev.context, np.random.default_rng(0), params={"population_size": 4})
    space = strat.space  # type: ignore[attr-defined]
    assert isinstance(space["act"], cs.Categorical) and space["act"].categories == ["relu", "tanh"]
    assert isinstance(space["width"], cs.Ordinal)
    assert isinstance(space["layers"], cs.Integer) and (space["layers"].lower, space["layers"].upper) == (
        1,
        3,
    )
    assert isinstance(space["lr"], cs.FiniteRange) and space["lr"].log_scale
    assert sorted(space["units"].values) == [16, 32, 64, 128, 256]
    tr = run_loop(ev, strat, RunConfig(Budget("evals", 30)), np.random.default_rng(1))
    configs = [ev.context.space.arch(int(a)) for a in tr["arch"]]
    assert all(("extra" in c) == (c["layers"] >= 2) for c in configs), "inactive values are dropped"
    assert all(not (c["act"] == "tanh" and c["lr"] == 0.1) for c in configs), "forbidden ones never run"


def test_bad_input_is_one_line(tables: dict[str, Path]) -> None:
    with pytest.raises(UnknownStrategyError, match="unknown syne-tune scheduler 'asha'"):
        parse_name("synetune:asha")
    ev = open_evaluator(EvaluatorSpec("table", objectives="valid_acc,params"), tables["declared"])
    with pytest.raises(StrategyConfigError, match="optimises one objective"):
        make_strategy("synetune:rea", ev.context, np.random.default_rng(0))
    with pytest.raises(StrategyConfigError, match="optimises one objective"):
        make_strategy("synetune:rs", ev.context, np.random.default_rng(0))
    proc = run_cli("search", str(tables["declared"]), "--strategy", "synetune:bogus", "--budget", "5")
    assert_one_line_error(proc, "unknown syne-tune scheduler 'bogus'")
