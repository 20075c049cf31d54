"""Per-architecture scores (proxies, one-shot) as data: reading score files, surrogate
features, the ``ranked`` strategy, scores in search contexts, and the commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line_error, run_cli
from scipy.stats import kendalltau

from nasbench.core.errors import TableFormatError
from nasbench.spaces.nb201 import NB201Space
from nasbench.tables.benchmark import Benchmark
from nasbench.tables.scores import read_scores, score_columns, score_features, write_scores
from strategies import Budget, RunConfig, Simulator, run_search
from strategies.errors import StrategyConfigError
from strategies.registry import make_strategy
from strategies.runner import seeded_generators
from surrogates.api import feature_params
from surrogates.errors import SurrogateInputError

SPACE = NB201Space()


def _truth(table) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    bench = Benchmark(table)
    return np.asarray(table.arch_index), bench.values_at("valid_acc", int(table.epochs[-1]))


def _score_file(path: Path, archs: np.ndarray, **cols: np.ndarray) -> Path:
    df = pd.DataFrame({"arch": [SPACE.to_str(int(a)) for a in archs], "arch_index": archs, **cols})
    write_scores(df, path, {"format": "test"})
    return path


def test_read_scores_refuses_bad_files(tmp_path: Path) -> None:
    good = _score_file(tmp_path / "s.parquet", np.array([1, 2]), oneshot=np.array([3.0, 4.0]))
    assert list(read_scores(good).columns) == ["arch_index", "oneshot"]
    with pytest.raises(TableFormatError, match="cannot read"):
        read_scores(tmp_path / "missing.parquet")
    with pytest.raises(TableFormatError, match="no score column 'synflow'"):
        read_scores(good, ["synflow"])
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(TableFormatError, match="no arch_index"):
        read_scores(tmp_path / "bad.parquet")
    pd.DataFrame({"arch_index": [1, 1], "s": [1.0, 2.0]}).to_parquet(tmp_path / "dup.parquet")
    with pytest.raises(TableFormatError, match="twice"):
        read_scores(tmp_path / "dup.parquet")
    pd.DataFrame({"arch_index": [1], "s": ["a"]}).to_parquet(tmp_path / "str.parquet")
    with pytest.raises(TableFormatError, match="not numeric"):
        read_scores(tmp_path / "str.parquet")


def test_isomorphic_cells_share_a_score_and_features_are_rank_percentiles() -> None:
    reps = SPACE.iso_representatives()
    iso = int(np.flatnonzero(reps != np.arange(SPACE.size))[0])  # a cell scored through its class
    archs = np.unique(np.concatenate([[reps[iso]], SPACE.unique_indices()[:50]]))
    value = np.linspace(0, 1, len(archs))
    value[0] = -np.inf  # an undefined proxy ranks lowest
    df = pd.DataFrame({"arch_index": archs, "s": value})
    col = score_columns(SPACE, [df])["s"]
    assert col[iso] == col[reps[iso]] and not np.isnan(col[iso])
    feats, names = score_features(SPACE, [df])
    assert names == ["s"] and feats.shape == (SPACE.size, 1)
    assert feats[archs[0], 0] == 0.0 and feats[archs[-1], 0] == 1.0
    unscored = np.setdiff1d(np.arange(SPACE.size), np.flatnonzero(~np.isnan(col)))[0]
    assert feats[unscored, 0] == 0.5


def test_informative_scores_make_the_surrogate_rank_better(small_table) -> None:  # type: ignore[no-untyped-def]
    from surrogates import make_surrogate
    from surrogates.inputs import design

    archs, y = _truth(small_table)
    noisy = y + np.random.default_rng(0).normal(0, 3, len(y))  # a score that knows the landscape
    feats, _ = score_features(SPACE, [pd.DataFrame({"arch_index": archs, "s": noisy})])
    train, test = np.arange(0, 40, 3), np.setdiff1d(np.arange(40), np.arange(0, 40, 3))
    taus = {}
    with_scores = {"kinds": (*SPACE.default_encodings, "scores"), "scores": feats}
    for label, params in (("plain", {}), ("scores", with_scores)):
        est = make_surrogate("rf", SPACE, epochs=list(small_table.epochs), random_state=0, **params)
        est.fit(design(archs[train], len(small_table.epochs)), y[train])
        taus[label] = kendalltau(est.predict(design(archs[test], len(small_table.epochs))), y[test]).statistic
    assert taus["scores"] > taus["plain"] + 0.1


def test_feature_params(tmp_path: Path) -> None:
    f = _score_file(tmp_path / "s.parquet", SPACE.unique_indices()[:5], a=np.arange(5.0), b=-np.arange(5.0))
    assert feature_params(SPACE) == {}
    p = feature_params(SPACE, "auto", [f])
    assert p["kinds"] == (*SPACE.default_encodings, "scores") and p["scores"].shape == (SPACE.size, 2)
    assert feature_params(SPACE, "path+scores", [f])["kinds"] == ("path", "scores")
    with pytest.raises(SurrogateInputError, match="needs --scores"):
        feature_params(SPACE, "encoding+scores")
    with pytest.raises(SurrogateInputError, match="does not use them"):
        feature_params(SPACE, "path", [f])


def test_ranked_evaluates_in_score_order_and_model_based_use_scores(small_table) -> None:  # type: ignore[no-untyped-def]
    archs, y = _truth(small_table)
    feats, names = score_features(SPACE, [pd.DataFrame({"arch_index": archs, "truth": y})])
    sim = Simulator(Benchmark(small_table)).with_scores(feats, names)
    tr = run_search(sim, "ranked", seed=0, config=RunConfig(Budget.parse("5"), noise="mean"))
    np.testing.assert_array_equal(tr["arch"], archs[np.argsort(-y)][:5])
    s_rng, _ = seeded_generators(0)
    screened = make_strategy("screened", sim.context, s_rng)
    assert screened.surrogate.get_params()["scores"] is sim.context.scores
    with pytest.raises(StrategyConfigError, match="--scores"):
        make_strategy("ranked", Simulator(Benchmark(small_table)).context, s_rng)
    with pytest.raises(StrategyConfigError, match="unknown score"):
        make_strategy("ranked", sim.context, s_rng, params={"score": "synflow"})


def test_search_compare_and_surrogate_commands_take_scores(small_table, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = tmp_path / "t.parquet"
    small_table.save(table)
    archs, y = _truth(small_table)
    f = _score_file(tmp_path / "s.parquet", archs, truth=y)
    res = run_cli("search", str(table), "--strategy", "ranked", "--budget", "3", "--scores", str(f),
                  "--noise", "mean", "--json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["incumbent"]["index"] == int(archs[np.argmax(y)]) and out["scores"] == [str(f)]
    cmp = run_cli("compare", str(table), "--strategies", "ranked,rs", "--seeds", "2", "--budget", "4",
                  "--scores", str(f), "--out", str(tmp_path / "cmp"), "--processes", "1", "--json")  # fmt: skip
    assert cmp.returncode == 0, cmp.stderr
    assert_one_line_error(run_cli("search", str(table), "--strategy", "ranked", "--budget", "3"), "--scores")
    assert_one_line_error(
        run_cli("surrogate", "eval", str(table), "--features", "encoding+scores", "--train-sizes", "10"),
        "needs --scores",
    )
    ev = run_cli("surrogate", "eval", str(table), "--model", "rf", "--train-sizes", "15", "--repeats", "2",
                 "--scores", str(f), "--json", "--quiet")  # fmt: skip
    assert ev.returncode == 0, ev.stderr
    result = json.loads(ev.stdout)
    assert result["protocol"]["params"]["scores"].startswith("array")
    model = tmp_path / "m.skops"
    fit = run_cli(
        "surrogate", "fit", str(table), "--model", "rf", "--out", str(model), "--scores", str(f), "--json"
    )
    assert fit.returncode == 0, fit.stderr
    pred = run_cli("surrogate", "predict", str(model), "--archs", str(int(archs[0])), "--json")
    assert pred.returncode == 0, pred.stderr
    board = tmp_path / "top.csv"
    lb = run_cli("leaderboard", "--surrogate", str(model), "--table", str(table), "--top", "5", "--out", str(board),
                 "--scores", str(f))  # fmt: skip
    assert lb.returncode == 0, lb.stderr
    rows = pd.read_csv(board, comment="#")
    assert "truth" in rows.columns
    expect = dict(zip(archs.tolist(), y.tolist(), strict=True))
    np.testing.assert_allclose(rows["truth"], [expect[i] for i in rows["index"]], atol=1e-5)


def test_a_table_carries_scores_as_arch_columns(small_table, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from nasbench.tables.scores import attach_scores
    from nasbench.tables.table import ResultTable

    table = tmp_path / "t.parquet"
    small_table.save(table)
    archs, y = _truth(small_table)
    f = _score_file(tmp_path / "s.parquet", archs, oneshot=y / 2)
    res = run_cli("estimate", "attach", str(table), "--scores", str(f), "--out", str(tmp_path / "t2.parquet"))
    assert res.returncode == 0, res.stderr
    t2 = ResultTable.load(tmp_path / "t2.parquet")
    np.testing.assert_allclose(t2.arch_columns["oneshot"], y / 2)
    np.testing.assert_array_equal(t2.arch_columns["params"], small_table.arch_columns["params"])
    partial = _score_file(tmp_path / "p.parquet", archs[:5], oneshot2=y[:5])
    with pytest.raises(TableFormatError, match="unscored"):
        attach_scores(small_table, [read_scores(partial)])
    with pytest.raises(TableFormatError, match="already has"):
        attach_scores(t2, [read_scores(f)])
