"""A nasbench table as an OptunaHub problem inside a real Optuna study: the values a study
sees are the table's, the runtime is the table's cost, constraints reach Optuna's trials."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")
optunahub = pytest.importorskip("optunahub")

from nasbench.experiments.evaluators import EvaluatorSpec  # noqa: E402
from nasbench.experiments.optuna_problem import NasbenchProblem  # noqa: E402
from nasbench.tables.table import ResultTable  # noqa: E402

DIGITS = Path(__file__).resolve().parents[1] / "data" / "digits.parquet"


def _seed_mean_final(table: ResultTable, arch: int, metric: str) -> float:
    row = int(np.flatnonzero(table.arch_index == arch)[0])
    return float(np.nanmean(table.values[row, :, -1, table.metric_position(metric)]))


def test_a_study_on_the_shipped_table_sees_the_tables_values() -> None:
    problem = NasbenchProblem(DIGITS)
    assert isinstance(problem, optunahub.benchmarks.BaseProblem)
    assert problem.directions == [optuna.study.StudyDirection.MAXIMIZE]
    assert sorted(problem.search_space) == [f"e{k}" for k in range(6)]
    study = optuna.create_study(directions=problem.directions, sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(problem, n_trials=12)
    table = ResultTable.load(DIGITS)
    assert len(study.trials) == 12
    for t in study.trials:
        arch = problem.arch(t.params)
        assert arch is not None and arch in set(table.arch_index.tolist())
        assert t.value == pytest.approx(_seed_mean_final(table, arch, "valid_acc"), abs=1e-4)
        assert problem.runtime(t.params) == pytest.approx(_seed_mean_final(table, arch, "time_s"), rel=1e-4)
    sim = problem.simulator_objective(study.best_trial.params)
    assert sim == {
        "value": pytest.approx(study.best_value),
        "runtime": problem.runtime(study.best_trial.params),
    }


def test_noise_seed_draws_one_stored_seed() -> None:
    problem = NasbenchProblem(DIGITS, noise="seed", seed=3)
    table = ResultTable.load(DIGITS)
    finals = table.values[:, :, -1, table.metric_position("valid_acc")]
    row = int(np.flatnonzero(np.abs(finals[:, 0] - finals[:, 1]) > 0.5)[0])  # seeds that disagree
    params = problem.mapping.encode(int(table.arch_index[row]))
    row_values = finals[row]
    values = {problem.evaluate(params) for _ in range(12)}
    assert all(np.isclose(v, row_values, atol=1e-4).any() for v in values), "each value is a stored seed's"
    assert len(values) > 1, "12 draws of a row with several seeds give more than one value"


def test_constraints_and_objectives_reach_the_study() -> None:
    table = ResultTable.load(DIGITS)
    bound = float(np.median(table.arch_columns["params"]))
    spec = EvaluatorSpec("table", objectives="valid_acc,params:min", maxima=(f"params={bound}",))
    problem = NasbenchProblem(DIGITS, spec=spec)
    assert [d.name for d in problem.directions] == ["MAXIMIZE", "MINIMIZE"]
    study = optuna.create_study(directions=problem.directions, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(problem, n_trials=20)
    params_of = dict(zip(table.arch_index.tolist(), table.arch_columns["params"].tolist(), strict=True))
    feasible = [t for t in study.trials if t.constraints["answerable"] == 0.0]
    infeasible = [t for t in study.trials if t.constraints["answerable"] > 0]
    assert feasible and infeasible
    for t in feasible:
        arch = problem.arch(t.params)
        assert t.values[1] == pytest.approx(params_of[arch]) and params_of[arch] <= bound
    assert all(t.values == infeasible[0].values for t in infeasible), (
        "infeasible: the worst values, not evaluated"
    )
