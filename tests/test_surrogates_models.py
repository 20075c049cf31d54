"""Contract tests of every registered surrogate on small synthetic tables, and bad input.

The synthetic tables and the ``xy`` / ``light`` helpers live in conftest.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import LIGHT, light, synthetic_catalog_table, synthetic_nb201_table, xy

import surrogates as S
from surrogates.inputs import design


@pytest.fixture(scope="module")
def nb_table() -> Any:
    return synthetic_nb201_table()


@pytest.fixture(scope="module")
def cat_table() -> Any:
    return synthetic_catalog_table()


# ---- the registry -------------------------------------------------------------------------
def test_registry_names_and_default() -> None:
    assert {"rf", "gbm", "gp", "ensemble", "lc_param", "lc_svr", "combined"} <= set(S.SURROGATES)
    assert S.DEFAULT_SURROGATE == "combined"


def test_unknown_name_lists_the_available_ones() -> None:
    with pytest.raises(S.UnknownSurrogateError, match="available: .*combined"):
        S.make_surrogate("xgboost", None)


# ---- contracts over every registered surrogate ------------------------------------------------
@pytest.mark.parametrize("name", sorted(S.SURROGATES))
def test_contract_any_t_shapes_std_and_determinism(name: str, nb_table: Any) -> None:
    X, y = xy(nb_table)
    tr, te = np.arange(100), np.arange(100, 150)
    est = light(name, nb_table).fit(X[tr], y[tr])
    for k in (0, 2, 4):  # t = 0, partial, fully observed
        Xk = design(X[te, 0], 4, X[te, 1:], observed=k)
        mean, std = est.predict(Xk, return_std=True)
        assert mean.shape == std.shape == (50,)
        assert np.all(np.isfinite(mean)) and np.all(std >= 0)
        assert est.predict(Xk).shape == (50,)
    again = light(name, nb_table).fit(X[tr], y[tr]).predict(design(X[te, 0], 4, X[te, 1:], observed=2))
    np.testing.assert_array_equal(again, est.predict(design(X[te, 0], 4, X[te, 1:], observed=2)))


def test_fully_observed_rows_return_their_last_value(nb_table: Any) -> None:
    X, y = xy(nb_table)
    est = light("combined", nb_table).fit(X[:100], y[:100])
    mean, std = est.predict(X[100:], return_std=True)
    np.testing.assert_allclose(mean, X[100:, -1])
    assert np.all(std == 0)


def test_curve_improves_on_architecture_only_on_synthetic_curves(cat_table: Any) -> None:
    X, y = xy(cat_table)
    tr, te = np.arange(80), np.arange(80, 120)
    est = light("combined", cat_table).fit(X[tr], y[tr])
    r2 = {}
    for k in (0, 4):
        pred = est.predict(design(X[te, 0], 8, X[te, 1:], observed=k))
        r2[k] = 1 - np.sum((pred - y[te]) ** 2) / np.sum((y[te] - y[te].mean()) ** 2)
    assert r2[4] > 0.9 and r2[4] > r2[0]


def test_early_stopping_style_training_rows_of_mixed_lengths(nb_table: Any) -> None:
    # strategies fit on truncated copies of full runs, each with the final value as target
    X, y = xy(nb_table)
    rows = [design(X[:60, 0], 4, X[:60, 1:], observed=k) for k in (1, 2, 4)]
    Xm, ym = np.vstack(rows), np.tile(y[:60], 3)
    est = light("combined", nb_table).fit(Xm, ym)
    assert est.cuts_.tolist() == [0, 1, 2, 3]
    assert np.all(np.isfinite(est.predict(design(X[60:, 0], 4, X[60:, 1:], observed=1))))


def test_a_model_without_cut_0_refuses_shorter_rows(nb_table: Any) -> None:
    # early stopping fits only its checkpoints: no architecture-only model is fitted
    X, y = xy(nb_table)
    rows = [design(X[:60, 0], 4, X[:60, 1:], observed=k) for k in (1, 2)]
    est = light("combined", nb_table).set_params(cuts=[1, 2]).fit(np.vstack(rows), np.tile(y[:60], 2))
    assert est.cuts_.tolist() == [1, 2]
    mean, std = est.predict(design(X[60:70, 0], 4, X[60:70, 1:], observed=1), return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    with pytest.raises(S.SurrogateInputError, match="at least 1 epochs"):
        est.predict(design(X[60:70, 0], 4, X[60:70, 1:], observed=0))
    with pytest.raises(S.SurrogateInputError, match="at or past"):
        light("combined", nb_table).set_params(cuts=[9]).fit(np.vstack(rows), np.tile(y[:60], 2))


def test_architecture_only_training_fits_only_cut_zero(nb_table: Any) -> None:
    X, y = xy(nb_table, k=0)  # what the leaderboard passes: no curves at all
    est = light("combined", nb_table).fit(X[:100], y[:100])
    assert est.cuts_.tolist() == [0]
    Xp = xy(nb_table, k=3)[0][100:]  # curves observed, but only the architecture model exists
    np.testing.assert_allclose(est.predict(Xp), est.predict(X[100:]))


def test_catalog_space_uses_log_scaled_features(cat_table: Any) -> None:
    from surrogates.encoders import ArchEncoder

    enc = ArchEncoder(cat_table.space).fit(np.zeros((1, 9)))
    Z = enc.transform(np.array([[0.0] + [np.nan] * 8]))
    assert Z[0, 0] == pytest.approx(np.log(cat_table.space.features[0, 0]))  # num_params spans > 100x
    assert Z[0, 1] == pytest.approx(cat_table.space.features[0, 1])  # depth does not


def test_nb201_live_onehot_ignores_dead_edges() -> None:
    from nasbench.spaces.nb201 import NB201Space
    from surrogates.encoders import encode

    sp = NB201Space()
    # node 1 <- 0 is 'none', so edges 1->2 and 1->3 are dead whatever they hold
    a = sp.index("|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    b = sp.index("|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|skip_connect~1|nor_conv_3x3~2|")
    live = encode(sp, np.array([a, b]), "live_onehot")
    np.testing.assert_array_equal(live[0], live[1])
    assert not np.array_equal(sp.encode([a], "onehot"), sp.encode([b], "onehot"))


def test_calibrated_intervals_cover_about_90_percent() -> None:
    big = synthetic_catalog_table(n=400, n_epochs=8, seed=3)
    X, y = xy(big)
    est = S.make_surrogate(
        "combined",
        big.space,
        epochs=big.epochs.tolist(),
        random_state=0,
        cuts=(0, 3),
        member_params={"extra_trees": {"n_estimators": 30}, "hist_gbm": {"max_iter": 30}},
    )
    est.fit(X[:250], y[:250])
    for k in (0, 3):
        mean, std = est.predict(design(X[250:, 0], 8, X[250:, 1:], observed=k), return_std=True)
        cover = np.mean(np.abs(y[250:] - mean) <= 1.6449 * std)
        assert 0.8 <= cover <= 0.98, (k, cover)


# ---- bad input -------------------------------------------------------------------------------
def test_too_few_training_points(nb_table: Any) -> None:
    X, y = xy(nb_table)
    for name in ("combined", "rf", "lc_param"):
        with pytest.raises(S.TooFewPointsError, match="at least 3 training points; got n_samples = 2"):
            light(name, nb_table).fit(X[:2], y[:2])


def test_nan_target_is_a_named_error(nb_table: Any) -> None:
    X, y = xy(nb_table)
    y = y.copy()
    y[3] = np.nan
    with pytest.raises(S.SurrogateInputError, match="diverged or missing final accuracy"):
        light("combined", nb_table).fit(X[:50], y[:50])


def test_diverged_curves_are_used_until_their_first_nan(nb_table: Any) -> None:
    X, y = xy(nb_table)
    est = light("combined", nb_table).fit(X[:100], y[:100])
    row = X[100:101].copy()
    row[0, 3:] = np.nan  # diverged after epoch 2
    gap = X[100:101].copy()
    gap[0, 3] = np.nan  # a hole at epoch 3: epoch 4 after it is ignored too
    np.testing.assert_allclose(est.predict(gap), est.predict(row))


def test_infinite_values_and_bad_index_are_refused(nb_table: Any) -> None:
    X, y = xy(nb_table)
    est = light("combined", nb_table).fit(X[:100], y[:100])
    bad = X[100:102].copy()
    bad[0, 2] = np.inf
    with pytest.raises(S.SurrogateInputError, match="infinite values"):
        est.predict(bad)
    bad = X[100:102].copy()
    bad[0, 0] = 15625
    with pytest.raises(S.SurrogateInputError, match="out of range for space nb201"):
        est.predict(bad)
    bad[0, 0] = 1.5
    with pytest.raises(S.SurrogateInputError, match="integer architecture indices"):
        est.predict(bad)


def test_curves_of_a_different_length_are_refused(nb_table: Any) -> None:
    X, y = xy(nb_table)
    est = light("combined", nb_table).fit(X[:100], y[:100])
    with pytest.raises(S.SurrogateInputError, match="curves of different lengths"):
        est.predict(X[100:, :3])
    with pytest.raises(S.SurrogateInputError, match="curves of different lengths"):
        S.make_surrogate("combined", nb_table.space, epochs=[1, 2, 3]).fit(X[:100], y[:100])


def test_bad_member_settings_are_named_errors(nb_table: Any) -> None:
    X, y = xy(nb_table)
    with pytest.raises(S.SurrogateInputError, match="unknown ensemble member"):
        S.make_surrogate("ensemble", nb_table.space, members=("xgb",)).fit(X[:50], y[:50])
    with pytest.raises(S.SurrogateInputError, match="not a member"):
        S.make_surrogate("rf", nb_table.space, member_params={"hist_gbm": {}}).fit(X[:50], y[:50])


def test_view_members_see_only_their_encodings_and_the_curve(nb_table: Any) -> None:
    from nasbench.spaces.nb201 import FEATURE_NAMES

    X, y = xy(nb_table, k=2)
    est = light("combined", nb_table, members=("ridge", "extra_trees@features"), cuts=(0, 2)).fit(X, y)
    arch_width = est.models_[0].named_steps["features"].transform(X[:1]).shape[1]
    cut0, cut2 = (m.named_steps["regress"] for m in est.models_)
    assert cut0.columns_[0] is None and cut2.columns_[0] is None  # a plain member sees everything
    # "features" is the last block of the nb201 encoding: at cut 0 only it, at cut 2 it and the curve
    assert cut0.columns_[1].tolist() == list(range(arch_width - len(FEATURE_NAMES), arch_width))
    width2 = est.models_[1].named_steps["features"].transform(X[:1]).shape[1]
    assert cut2.columns_[1].tolist() == list(range(arch_width - len(FEATURE_NAMES), width2))
    # the base-name member_params ("extra_trees") reach the view member too
    assert cut2.estimators_[1].n_estimators == LIGHT["extra_trees"]["n_estimators"]
    mean, std = est.predict(X, return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    # the view member alone differs from the same member on every column
    # (on held-out rows: trees reproduce their training targets exactly)
    alone = light("combined", nb_table, members=("extra_trees@features",), cuts=(2,)).fit(X[:100], y[:100])
    full = light("combined", nb_table, members=("extra_trees",), cuts=(2,)).fit(X[:100], y[:100])
    assert not np.allclose(alone.predict(X[100:]), full.predict(X[100:]))


def test_bad_views_are_named_errors(nb_table: Any) -> None:
    X, y = xy(nb_table)
    with pytest.raises(S.SurrogateInputError, match="encoding 'adjacency' is not one of this model's"):
        S.make_surrogate("combined", nb_table.space, members=("ridge@adjacency",)).fit(X[:50], y[:50])
    with pytest.raises(S.SurrogateInputError, match="names view 'features', which this model does not have"):
        S.make_surrogate("ensemble", nb_table.space, members=("ridge@features",)).fit(X[:50], y[:50])
    with pytest.raises(S.SurrogateInputError, match="members must be 'auto' or a list"):
        S.make_surrogate("combined", nb_table.space, members="all").fit(X[:50], y[:50])


def test_auto_members_add_the_compact_view_only_where_it_exists(cat_table: Any) -> None:
    from surrogates.combined import CurveSurrogate

    assert CurveSurrogate(members="auto")._members(("live_onehot", "path", "features")) == (
        "ridge",
        "extra_trees",
        "hist_gbm",
        "ridge@features",
        "extra_trees@features",
        "hist_gbm@features",
    )
    assert CurveSurrogate(members="auto")._members(("features",)) == ("ridge", "extra_trees", "hist_gbm")
    assert CurveSurrogate(members="auto")._members(("log_features",)) == ("ridge", "extra_trees", "hist_gbm")
    X, y = xy(cat_table, k=3)  # a catalog table: one encoding, so the three members only
    est = light("combined", cat_table, cuts=(3,)).fit(X, y)
    assert len(est.models_[0].named_steps["regress"].estimators_) == 3


def test_cut_grids() -> None:
    from surrogates.combined import CurveSurrogate

    assert CurveSurrogate()._cut_list(20) == list(range(20))  # default: every observed length
    assert CurveSurrogate(cuts="auto")._cut_list(20) == [0, 1, 3, 5, 8, 10, 13, 15, 18]
    assert CurveSurrogate(cuts="auto")._cut_list(4) == [0, 1, 2, 3]
    assert CurveSurrogate(cuts=(5, 2, 30))._cut_list(20) == [2, 5]  # an explicit list need not hold 0
    assert CurveSurrogate(cuts=(0, 5))._cut_list(20) == [0, 5]
    assert CurveSurrogate()._cut_list(0) == [0]  # architecture-only data still gets its model
    with pytest.raises(S.SurrogateInputError, match="cuts must be"):
        CurveSurrogate(cuts="some")._cut_list(20)
    with pytest.raises(S.SurrogateInputError, match="cannot be negative"):
        CurveSurrogate(cuts=(-1,))._cut_list(20)
