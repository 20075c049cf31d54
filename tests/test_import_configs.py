"""``nasbench import configs``: tabular benchmarks on declared spaces, and metric direction.

A synthetic space of 1,536 configurations with a smooth loss landscape (written here as a
CSV) checks the importer, and that a table whose objective is minimised is minimised
everywhere: the optimum, the targets, the regret, the incumbent, the strategies, the
surrogate harness and the leaderboard. FCNet (``shared/data/fcnet``) is imported when present.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA, assert_one_line_error, run_cli

from nasbench.core.errors import ConfigError, ImportDataError, TableFormatError
from nasbench.core.metrics import Objective
from nasbench.spaces.declared import DeclaredSpace
from nasbench.tables.benchmark import Benchmark
from nasbench.tables.importers import import_configs
from nasbench.tables.table import ResultTable
from strategies.runner import Budget, RunConfig, Simulator, run_search

FCNET_NAVAL = SHARED_DATA / "fcnet" / "naval_propulsion.csv"

DECLARATION: dict[str, Any] = {
    "conditions": ["units_2 if layers >= 2"],
    "dimensions": {
        "activation": ["relu", "tanh"],
        "layers": {"type": "integer", "low": 1, "high": 2},
        "units_1": {"type": "integer", "low": 16, "high": 512, "log": True, "steps": 6},
        "units_2": [16, 64, 256],
        "dropout": [0.0, 0.25, 0.5, 0.75],
        "lr": {"type": "float", "low": 0.0001, "high": 0.1, "log": True, "steps": 8},
    },
}


@pytest.fixture(scope="module")
def space() -> DeclaredSpace:
    return DeclaredSpace(DECLARATION)


def landscape(space: DeclaredSpace, n_seeds: int = 3, seed: int = 0) -> pd.DataFrame:
    """One row per configuration (shuffled), columns named after the dimensions,
    ``val_loss_seed{k}``, ``train_time_s_seed{k}`` and ``model_size``. The loss is positive
    and smooth in the dimensions (best: tanh, lr 1e-2, wide, little dropout)."""
    rng = np.random.default_rng(seed)
    rows = [space.arch(i).as_dict() for i in range(space.size)]
    df = pd.DataFrame(rows, columns=list(space.names))
    lr = np.log10(df["lr"].to_numpy(float))
    units = np.log2(df["units_1"].to_numpy(float)) + np.log2(df["units_2"].fillna(16).to_numpy(float)) / 2
    relu = (df["activation"] == "relu").to_numpy(float)
    f = (lr + 2) ** 2 + 0.8 * df["dropout"].to_numpy(float) - 0.15 * units + 0.3 * relu
    loss = np.exp(f)[:, None] * np.exp(rng.normal(0, 0.05, (len(df), n_seeds)))
    for k in range(n_seeds):
        df[f"val_loss_seed{k}"] = loss[:, k]
        df[f"train_time_s_seed{k}"] = 10 + 0.1 * df["units_1"] * (1 + 0.01 * k)
    df["model_size"] = df["units_1"] * 10 + df["units_2"].fillna(0) * 3
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # row order is not index order


@pytest.fixture(scope="module")
def csv_file(space: DeclaredSpace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    df = landscape(space)
    path = tmp_path_factory.mktemp("configs") / "synthetic.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def space_file(space: DeclaredSpace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("space") / "space.json"
    path.write_text(json.dumps(space.declaration.to_dict()))
    return path


@pytest.fixture(scope="module")
def min_table(csv_file: Path, space: DeclaredSpace) -> ResultTable:
    return import_configs(
        csv_file,
        space,
        "val_loss_seed{seed}",
        direction="min",
        cost="train_time_s_seed{seed}",
        arch_columns=["model_size"],
    )


# ---- the importer ----------------------------------------------------------------------------


def test_import_maps_rows_to_configurations_and_expands_seeds(min_table, csv_file, space, tmp_path):
    t = min_table
    src = pd.read_csv(csv_file)
    assert t.n_archs == space.size == len(src)
    assert t.seeds.tolist() == [0, 1, 2] and t.epochs.tolist() == [1]
    assert t.metrics == ("valid_loss", "time_s")
    assert t.objective == Objective("valid_loss", "min")
    b = Benchmark(t)
    assert b.direction == "min"
    for r in (0, 7, 500):
        row = src.iloc[r]
        cfg = {d: row[d] for d in space.names if not pd.isna(row[d])}
        i = space.index(cfg)
        for k in range(3):
            assert b.query(i, "valid_loss", seed=k) == pytest.approx(row[f"val_loss_seed{k}"], rel=1e-6)
            assert b.cost(i, seed=k) == pytest.approx(row[f"train_time_s_seed{k}"], rel=1e-6)
        assert t.arch_columns["model_size"][b.row(i)] == row["model_size"]
    # the objective survives a round trip, and the best is the lowest loss
    t.save(tmp_path / "t.parquet")
    loaded = ResultTable.load(tmp_path / "t.parquet")
    assert loaded.objective == t.objective and loaded.content_hash() == t.content_hash()
    idx, val = Benchmark(loaded).best()
    assert val == pytest.approx(np.nanmin(b.values_at("valid_loss")))


def test_epoch_placeholder_reads_curves_and_prorates_the_cost(space, tmp_path):
    df = landscape(space, n_seeds=2)
    for k in range(2):
        for e in (1, 2, 4):
            df[f"loss_e{e}_s{k}"] = df[f"val_loss_seed{k}"] * (1 + 1.0 / e)
    df.to_csv(tmp_path / "curves.csv", index=False)
    t = import_configs(
        tmp_path / "curves.csv",
        space,
        "loss_e{epoch}_s{seed}",
        direction="min",
        cost="train_time_s_seed{seed}",
    )
    assert t.epochs.tolist() == [1, 2, 4] and t.seeds.tolist() == [0, 1]
    b = Benchmark(t)
    i = space.index(df.iloc[0][[d for d in space.names if not pd.isna(df.iloc[0][d])]].to_dict())
    ep, curve = b.curve(i, "valid_loss", seed=1)
    assert np.allclose(curve, df.iloc[0]["val_loss_seed1"] * (1 + 1.0 / ep), rtol=1e-5)
    full = df.iloc[0]["train_time_s_seed1"]
    assert [b.cost(i, e, seed=1) for e in (1, 2, 4)] == pytest.approx([full / 4, full / 2, full], rel=1e-5)
    # no --cost: one simulated second per epoch; no {seed}: one seed
    t2 = import_configs(tmp_path / "curves.csv", space, "loss_e{epoch}_s0", direction="min")
    assert t2.seeds.tolist() == [0] and Benchmark(t2).cost(i, 4) == 4.0


def test_metric_other_names_and_bad_objectives(csv_file, space, min_table):
    t = import_configs(csv_file, space, "val_loss_seed0", direction="max", store_as="train_acc", nrows=50)
    assert t.objective == Objective("train_acc", "max") and t.n_archs == 50
    assert Benchmark(t).best()[1] == pytest.approx(float(np.nanmax(t.values[:, 0, 0, 0])))
    with pytest.raises(ConfigError, match="direction must be min or max"):
        import_configs(csv_file, space, "val_loss_seed{seed}", direction="down")
    with pytest.raises(ConfigError, match="objective metric must be one of"):
        import_configs(csv_file, space, "val_loss_seed{seed}", direction="min", store_as="time_s")
    with pytest.raises(ConfigError, match="unknown placeholder"):
        import_configs(csv_file, space, "val_loss_seed{run}", direction="min")
    # a table whose metadata names an objective it does not store is refused
    meta = {**min_table.metadata, "objective": {"metric": "valid_acc", "direction": "max"}}
    with pytest.raises(TableFormatError, match="objective 'valid_acc' is not one of its metrics"):
        ResultTable(space, *_parts(min_table), meta)
    # tables that record no objective maximise valid_acc, as before
    assert Objective.from_metadata({}) == Objective("valid_acc", "max")


def _parts(t: ResultTable) -> tuple[Any, ...]:
    return (t.arch_index, t.seeds, t.epochs, t.metrics, t.values, t.diverged, t.arch_columns)


def test_bad_rows_are_refused_with_their_line(space, tmp_path):
    df = landscape(space, n_seeds=1)
    df.loc[3, "units_1"] = 48  # off the grid
    df.to_csv(tmp_path / "off.csv", index=False)
    with pytest.raises(ImportDataError, match=r"line 5 is outside the space: 48 is not a value of units_1"):
        import_configs(tmp_path / "off.csv", space, "val_loss_seed{seed}", direction="min")
    df.loc[3, list(space.names)] = df.loc[4, list(space.names)]
    df.to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(ImportDataError, match="lines 5 and 6 are the same configuration"):
        import_configs(tmp_path / "dup.csv", space, "val_loss_seed{seed}", direction="min")


# ---- direction: optimum, targets, regret, incumbent, strategies ----------------------------


def test_simulator_minimises_a_min_table(min_table):
    sim = Simulator(Benchmark(min_table))
    loss = Benchmark(min_table).values_at("valid_loss").astype(np.float64)
    assert sim.optimum == pytest.approx(np.nanmin(loss))
    assert sim.targets["optimum"] <= sim.targets["top0.1"] <= sim.targets["top1"]
    assert np.mean(loss <= sim.targets["top1"] + 1e-12) == pytest.approx(0.01, abs=1 / len(loss))
    run = RunConfig(Budget("evals", 300), noise="mean")
    tr = run_search(sim, "rs", seed=0, config=run)
    assert tr.meta["objective"] == {"metric": "valid_loss", "direction": "min"}
    regret = tr["regret"][~np.isnan(tr["regret"])]
    assert np.all(regret >= -1e-12)
    assert np.all(np.diff(regret) <= 1e-12)  # seed means without noise: the incumbent only improves
    # the trajectory holds losses (positive), and the incumbent is the lowest seen so far
    assert np.all(tr["valid_acc"] > 0)
    assert tr["incumbent_mean"][-1] == pytest.approx(np.min(tr["valid_acc"]))
    # regret 0 at the best configuration: random search over the whole space ends there
    full = run_search(sim, "rs", seed=0, config=RunConfig(Budget("evals", len(loss)), noise="mean"))
    assert full["incumbent"][-1] == min_table.arch_index[int(np.nanargmin(loss))]
    assert full.final_regret == pytest.approx(0.0, abs=1e-12)
    ev, _ = tr.hitting(sim.targets["top1"])
    assert ev == pytest.approx(float(np.flatnonzero(tr["incumbent_mean"] <= sim.targets["top1"])[0] + 1))


def test_strategies_see_the_same_problem_in_either_direction(min_table, space):
    """A min table of loss L and a max table of -L are one problem: every strategy makes the
    same evaluations, with the same regret."""
    vals = min_table.values.copy()
    vals[..., 0] = -vals[..., 0]
    maxed = ResultTable(
        space, *_parts(min_table)[:3], ("valid_acc", "time_s"), vals, min_table.diverged, {}, {}
    )
    s_min, s_max = Simulator(Benchmark(min_table)), Simulator(Benchmark(maxed))
    assert s_max.optimum == pytest.approx(-s_min.optimum)
    run = RunConfig(Budget("evals", 60))
    for name in ("rs", "re", "ls"):
        a, b = run_search(s_min, name, seed=3, config=run), run_search(s_max, name, seed=3, config=run)
        assert np.array_equal(a["arch"], b["arch"]) and np.array_equal(a["incumbent"], b["incumbent"])
        assert np.allclose(a["regret"], b["regret"], equal_nan=True)
        assert np.allclose(a["valid_acc"], -b["valid_acc"])


def test_evolution_finds_low_losses_faster_than_random_search(min_table):
    sim = Simulator(Benchmark(min_table))
    run = RunConfig(Budget("evals", 150))
    evals = {}
    for name in ("rs", "re"):
        hits = [run_search(sim, name, seed=s, config=run).hitting(sim.targets["top1"])[0] for s in range(8)]
        evals[name] = float(np.median(hits))
    assert evals["re"] < evals["rs"], evals


def test_surrogates_and_leaderboard_rank_lowest_loss_first(min_table, tmp_path):
    from nasbench.experiments.leaderboard import LeaderboardConfig, leaderboard
    from strategies.registry import make_strategy
    from surrogates.evaluate import EvalConfig, evaluate

    res = evaluate(min_table, EvalConfig(model="rf", train_sizes=(200,), repeats=1))
    m = res["results"][0]["model"]
    assert res["protocol"]["metric"] == "valid_loss" and "negated" in res["protocol"]["target"]
    assert m["kendall_tau"]["mean"] > 0.6 and m["top5_precision"]["mean"] > 0.2
    path = tmp_path / "t.parquet"
    min_table.save(path)
    board = leaderboard(LeaderboardConfig(surrogate="rf", top=20, fmt="csv"), tmp_path / "lb.csv", table=path)
    e = board["entries"]
    pred = [x["predicted_valid_loss"] for x in e]
    assert pred == sorted(pred) and "ascending" in board["provenance"]["order"]
    loss = Benchmark(min_table).values_at("valid_loss")
    assert np.median([x["measured_valid_loss"] for x in e]) < np.quantile(loss, 0.05)
    # strategies' curve surrogates are not clipped to accuracy's 0..100 on a loss table
    ctx = Simulator(Benchmark(min_table)).context
    assert ctx.score_bounds is None
    strat = make_strategy("bananas", ctx, np.random.default_rng(0), surrogate="combined")
    assert strat.surrogate.get_params()["bounds"] is None


# ---- the command line ------------------------------------------------------------------------


def test_cli_import_search_and_info(csv_file, space_file, tmp_path):
    out = tmp_path / "t.parquet"
    p = run_cli(
        "import", "configs", str(csv_file), "--space", str(space_file), "--metric", "val_loss_seed{seed}",
        "--direction", "min", "--cost", "train_time_s_seed{seed}", "--arch-columns", "model_size",
        "--out", str(out), "--json",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert report["objective"] == {"metric": "valid_loss", "direction": "min"} and report["seeds"] == 3
    p = run_cli("search", str(out), "--strategy", "re", "--budget", "40", "--seed", "1", "--json")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["objective"]["direction"] == "min" and s["incumbent"]["regret"] >= 0
    assert s["incumbent"]["mean_valid_loss"] >= s["optimum"]
    p = run_cli("info", str(out))
    assert p.returncode == 0 and "objective valid_loss, lower is better" in p.stdout


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"--arch-columns": "model_size,bogus"}, "lacks column(s) bogus"),
        ({"--metric": "val_acc_seed{seed}"}, "no column matches --metric 'val_acc_seed{seed}'"),
        ({"--direction": "sideways"}, "--direction must be min or max"),
        ({"csv": "off"}, "is outside the space: 48 is not a value of units_1"),
    ],
)
def test_cli_bad_input_is_one_line(change, fragment, csv_file, space_file, tmp_path):
    csv = csv_file
    if change.get("csv") == "off":
        df = pd.read_csv(csv_file)
        df.loc[0, "units_1"] = 48
        csv = tmp_path / "off.csv"
        df.to_csv(csv, index=False)
    opts = {
        "--space": str(space_file),
        "--metric": "val_loss_seed{seed}",
        "--direction": "min",
        "--arch-columns": "model_size",
        "--out": str(tmp_path / "t.parquet"),
    }
    opts.update({k: v for k, v in change.items() if k.startswith("--")})
    p = run_cli("import", "configs", str(csv), *[w for kv in opts.items() for w in kv])
    assert_one_line_error(p, fragment)


# ---- FCNet ------------------------------------------------------------------------------------


@pytest.mark.skipif(not FCNET_NAVAL.is_file(), reason="shared FCNet data not present")
def test_fcnet_naval_imports_and_is_minimised():
    from nasbench.spaces.infer import infer_declaration, read_columns

    cols = [
        "activation_fn_1", "activation_fn_2", "batch_size", "dropout_1", "dropout_2",
        "init_lr", "lr_schedule", "n_units_1", "n_units_2",
    ]  # fmt: skip
    space = DeclaredSpace(infer_declaration(read_columns(FCNET_NAVAL, cols)))
    t = import_configs(
        FCNET_NAVAL,
        space,
        "val_loss_seed{seed}",
        direction="min",
        cost="train_time_s_seed{seed}",
        arch_columns=["model_size"],
        nrows=3000,
    )
    assert t.n_archs == 3000 and t.seeds.tolist() == [0, 1, 2, 3]
    src = pd.read_csv(FCNET_NAVAL, nrows=3000)
    b = Benchmark(t)
    assert b.best()[1] == pytest.approx(
        src[[f"val_loss_seed{k}" for k in range(4)]].mean(axis=1).min(), rel=1e-5
    )
    sim = Simulator(b)
    tr = run_search(sim, "re", seed=0, config=RunConfig(Budget("evals", 100)))
    assert np.nanmin(tr["regret"]) >= 0 and tr["incumbent_mean"][-1] >= sim.optimum
