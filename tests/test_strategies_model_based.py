"""Warm-started surrogate refits and the geometric refit schedule of surrogate-guided search.

A warm-started refit keeps the ensemble's stacking weights and calibration until the rows
grew by ``recalibrate_growth``, refits the members on every row, and then gives the same
predictions as members fitted from scratch combined with those weights; the schedule
refits when it should; runs stay deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import LIGHT, synthetic_nb201_table

from nasbench.tables.benchmark import Benchmark, TestOracle
from strategies import Budget, RunConfig, Simulator, run_search
from strategies.registry import make_strategy
from surrogates import make_surrogate
from surrogates.inputs import design, set_warm_start
from surrogates.models import StackedEnsemble


def _data(n: int, d: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, d))
    return Z, Z @ np.arange(1.0, d + 1) + rng.normal(0, 0.3, n)


TREES = {"extra_trees": LIGHT["extra_trees"]}
CHEAP_MEMBERS = {k: LIGHT[k] for k in ("extra_trees", "hist_gbm")}


def _ensemble(**kw) -> StackedEnsemble:
    return StackedEnsemble(("ridge", "extra_trees"), random_state=0, member_params=TREES, **kw)


def test_warm_refit_keeps_calibration_until_the_rows_grew_enough():
    Z, y = _data(100)
    warm = _ensemble(warm_start=True, recalibrate_growth=0.5).fit(Z[:40], y[:40])
    w40, scale40 = warm.weights_.copy(), warm.scale_
    assert warm.calibrated_on_ == 40
    warm.fit(Z[:59], y[:59])  # 59 < 1.5 * 40: members refit, calibration kept
    assert warm.calibrated_on_ == 40
    np.testing.assert_array_equal(warm.weights_, w40)
    assert warm.scale_ == scale40
    # the members are those of a cold fit on the 59 rows, combined with the kept weights
    cold = _ensemble().fit(Z[:59], y[:59])
    for a, b in zip(warm.estimators_, cold.estimators_, strict=True):
        np.testing.assert_allclose(a.predict(Z[59:]), b.predict(Z[59:]))
    mean, std = warm.predict(Z[59:], return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    assert np.corrcoef(mean, y[59:])[0, 1] > 0.9
    warm.fit(Z[:60], y[:60])  # 60 >= 1.5 * 40: cross-validated again, as a cold fit would
    assert warm.calibrated_on_ == 60
    cold60 = _ensemble().fit(Z[:60], y[:60])
    np.testing.assert_allclose(warm.weights_, cold60.weights_)
    np.testing.assert_allclose(warm.predict(Z[60:]), cold60.predict(Z[60:]))


def test_warm_refit_on_the_same_rows_equals_a_cold_fit():
    Z, y = _data(50)
    warm = _ensemble(warm_start=True).fit(Z, y).fit(Z, y)
    cold = _ensemble().fit(Z, y)
    m1, s1 = warm.predict(Z, return_std=True)
    m2, s2 = cold.predict(Z, return_std=True)
    np.testing.assert_allclose(m1, m2)
    np.testing.assert_allclose(s1, s2)


def test_cold_ensemble_always_recalibrates_and_changed_members_are_not_reused():
    Z, y = _data(60)
    cold = _ensemble().fit(Z[:40], y[:40]).fit(Z[:45], y[:45])
    assert cold.calibrated_on_ == 45
    warm = _ensemble(warm_start=True).fit(Z[:40], y[:40])
    warm.set_params(members=("ridge",), member_params=None)
    warm.fit(Z[:45], y[:45])  # another model: nothing of the old one is kept
    assert warm.calibrated_on_ == 45 and len(warm.weights_) == 1
    warm.fit(Z[:46, :5], y[:46])  # other features: recalibrated too
    assert warm.calibrated_on_ == 46


@pytest.mark.parametrize("name", ["ensemble", "combined"])
def test_registry_surrogates_pass_warm_start_to_their_ensembles(name):
    table = synthetic_nb201_table(n_archs=80)
    bench = Benchmark(table)
    y = bench.values_at("valid_acc", int(table.epochs[-1])).astype(np.float64)
    X = design(table.arch_index, len(table.epochs))
    est = make_surrogate(
        name, table.space, epochs=table.epochs.tolist(), random_state=0, member_params=CHEAP_MEMBERS
    )
    if name == "combined":
        est.set_params(cuts=[0])
    set_warm_start(est)
    est.fit(X[:40], y[:40])
    est.fit(X[:60], y[:60])  # below the default doubling: calibration kept
    ens = est.pipeline_[-1] if name == "ensemble" else est.models_[0][-1]
    assert ens.warm_start and ens.calibrated_on_ == 40
    mean, std = est.predict(X[60:], return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    assert np.corrcoef(mean, y[60:])[0, 1] > 0.5


def test_set_warm_start_ignores_estimators_without_it():
    from sklearn.linear_model import Ridge

    est = Ridge()
    assert set_warm_start(est) is est
    assert "warm_start" not in est.get_params()


@pytest.fixture(scope="module")
def sim():
    table = synthetic_nb201_table(n_archs=150)
    return Simulator(Benchmark(table), TestOracle(table))


CHEAP = {"n_init": 4, "n_candidates": 30, "surrogate.members": ["ridge"]}


@pytest.mark.parametrize("growth", [1.0, 1.5])
def test_refit_schedule(sim, growth, monkeypatch):
    from strategies.screened import ScreenedSearch

    rounds, fits = [], []
    next_round, fit = ScreenedSearch._next_round, ScreenedSearch.fit

    def spy_round(self):
        rounds.append(len(self.archs))
        next_round(self)

    def spy_fit(self):
        fits.append(len(self.archs))
        fit(self)

    monkeypatch.setattr(ScreenedSearch, "_next_round", spy_round)
    monkeypatch.setattr(ScreenedSearch, "fit", spy_fit)
    params = {**CHEAP, "batch_size": 3, "fit_every": 3, "fit_growth": growth}
    tr = run_search(sim, "screened", seed=0, config=RunConfig(Budget.parse("60")), params=params)
    expected, last = [], None
    for n in rounds:  # refit when 3 more results came in and they grew by the factor
        if last is None or n >= max(last + 3, growth * last):
            expected.append(n)
            last = n
    assert fits == expected and fits[0] == 4
    assert tr.meta["strategy_stats"]["fits"] == len(fits)
    if growth > 1:
        assert len(fits) < len([n for n in rounds if n >= 4]) - 3  # refits thinned out


@pytest.mark.parametrize("name", ["screened", "bananas"])
def test_warm_started_schedule_is_deterministic(sim, name):
    params = {**CHEAP, "surrogate.members": ["ridge", "extra_trees"], "surrogate.member_params": TREES}
    runs = [
        run_search(sim, name, seed=s, config=RunConfig(Budget.parse("40")), params=params) for s in (3, 3, 4)
    ]
    a, b, c = (r.columns["arch"] for r in runs)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len(set(a.tolist())) == len(a)  # nothing proposed twice


def test_defaults_warm_start_the_surrogate(sim):
    for name in ("screened", "bananas"):
        strat = make_strategy(name, sim.context, np.random.default_rng(0))
        assert strat.config.warm_start and strat.config.fit_growth > 1
        assert strat.surrogate.get_params()["warm_start"]
    off = make_strategy("bananas", sim.context, np.random.default_rng(0), params={"warm_start": False})
    assert not off.surrogate.get_params()["warm_start"]
