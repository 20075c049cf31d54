"""Live search (``--evaluator train``): continuation, checkpoints, inheritance, the cache,
resume, and bad input. A tiny recipe on 3x3 images keeps every compile short."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_line_error, run_cli, write_tiny_npz

from nasbench.experiments.live import LiveConfig, LiveEvaluator, search_live
from nasbench.spaces.nb201 import CONV1, CONV3, NB201Space
from nasbench.tables.benchmark import Benchmark
from nasbench.tables.table import ResultTable
from nasbench.train.checkpoint import inherited_state, load_state, save_state, used_leaves
from nasbench.train.data import load_dataset
from nasbench.train.population import PopulationTrainer, partition
from nasbench.train.recipe import PRESETS
from strategies.runner import Budget, RunConfig

TINY = PRESETS["digits"].replace(
    channels=(4, 8, 8), epochs=4, n_train=None, n_valid=None, n_test=None, batch_size=16, eval_batch_size=48
)


@pytest.fixture(scope="module")
def npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_npz(tmp_path_factory.mktemp("data") / "tiny.npz")


def _members(n: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    space = NB201Space()
    arch = space.unique_indices()[[10, 2000, 4000]][:n]
    return arch, np.array([0, 1, 0])[:n], space.op_matrix(arch)


def test_continuing_from_a_checkpoint_equals_training_straight_through(npz: Path, tmp_path: Path) -> None:
    arch, seeds, ops = _members()
    _, caps = partition(ops, 3)
    tr = PopulationTrainer(TINY, load_dataset(f"npz:{npz}", TINY), caps, 3)
    straight = tr.train(arch, seeds, ops)
    first = tr.train(arch, seeds, ops, epochs=1, keep_state=True)
    # through the checkpoint files: only the leaves each cell uses are written
    for i in range(3):
        save_state(tmp_path / f"m{i}.npz", first.states[i], ops[i])
    back = [load_state(tmp_path / f"m{i}.npz") for i in range(3)]
    assert all(len(b) < len(first.states[0]) for b in back)
    rest = tr.train(arch, seeds, ops, start_epoch=1, start_state=back)
    assert rest.first_epoch == 1 and rest.metrics["valid_acc"].shape == (3, TINY.epochs - 1)
    for m in ("train_loss", "valid_loss", "valid_acc", "test_acc"):
        np.testing.assert_array_equal(rest.metrics[m], straight.metrics[m][:, 1:])
        np.testing.assert_array_equal(first.metrics[m][:, 0], straight.metrics[m][:, 0])


def test_inheritance_takes_unchanged_edges_and_no_optimiser_state() -> None:
    parent_ops = [CONV3, CONV1, CONV3, 0, 1, CONV1]
    child_ops = [CONV3, CONV3, CONV3, 0, 1, CONV1]  # edge 1 changed: conv1 -> conv3
    state = {
        "[0]['stem']['conv']['kernel']": np.ones(2),
        "[0]['cell0_0']['e0_conv3']['conv']['kernel']": np.ones(2),
        "[0]['cell0_0']['e1_conv1']['conv']['kernel']": np.ones(2),
        "[0]['cell0_0']['e1_conv3']['conv']['kernel']": np.ones(2),  # unused by the parent
        "[1]['cell0_0']['e5_conv1']['bn']['mean']": np.ones(2),
        "[2][1][0].trace['stem']['conv']['kernel']": np.ones(2),
    }
    used = used_leaves(state, parent_ops)
    assert "[0]['cell0_0']['e1_conv3']['conv']['kernel']" not in used and len(used) == 5
    got = inherited_state(used, parent_ops, child_ops)
    assert set(got) == {
        "[0]['stem']['conv']['kernel']",
        "[0]['cell0_0']['e0_conv3']['conv']['kernel']",
        "[1]['cell0_0']['e5_conv1']['bn']['mean']",
    }


def test_a_bad_checkpoint_is_one_clear_error(tmp_path: Path) -> None:
    from nasbench.core.errors import TableFormatError

    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(TableFormatError, match="cannot read checkpoint"):
        load_state(bad)


def _config(npz: Path, out: Path, **kw) -> LiveConfig:  # type: ignore[no-untyped-def]
    return LiveConfig(dataset=f"npz:{npz}", recipe=TINY, out=out, workers=4, overlap=True, **kw)


def _search(npz: Path, out: Path, strategy: str = "re", budget: float = 10, resume: bool = False, **kw):  # type: ignore[no-untyped-def]
    params = {"population_size": 4, "sample_size": 2} if strategy.startswith("re") else None
    return search_live(
        _config(npz, out, **kw),
        strategy,
        seed=3,
        run=RunConfig(Budget("evals", budget)),
        params=params,
        resume=resume,
        leaderboard_surrogate="rf",
    )


@pytest.mark.slow
def test_live_search_grows_a_table_and_a_rerun_trains_nothing(npz: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    traj, s = _search(npz, out)
    assert s["evaluations"] == len(traj) == 10 and s["trained_evaluations"] + s["cached_evaluations"] == 10
    assert s["trained_evaluations"] >= 8  # RE may repeat an architecture and seed: that is a cache hit
    assert s["training_s"] > 0 and s["wall_s"] >= s["training_s"]
    for f in ("trajectory.parquet", "table.parquet", "summary.json", "manifest.json"):
        assert (out / f).is_file()
    table = ResultTable.load(out / "table.parquet")
    shards = sorted((out / "shards").glob("pop-*.parquet"))
    assert shards and table.n_archs == len(set(NB201Space().iso_representatives()[traj["arch"]].tolist()))
    # every told value is the stored one
    bench = Benchmark(table)
    rows = bench.rows(NB201Space().iso_representatives()[traj["arch"]])
    seed_pos = np.searchsorted(table.seeds, traj["seed"])
    v = table.values[rows, seed_pos, -1, table.metric_position("valid_acc")]
    np.testing.assert_array_equal(v, traj["valid_acc"])
    again, s2 = _search(npz, out, resume=True)
    assert s2["trained_evaluations"] == 0 and s2["cached_evaluations"] == 10
    assert again.same_evaluations(traj)
    assert len(sorted((out / "shards").glob("pop-*.parquet"))) == len(shards)


@pytest.mark.slow
def test_resume_after_losing_the_populations_in_flight(npz: Path, tmp_path: Path) -> None:
    """A kill -9 loses at most the populations being trained: remove the last shard (and its
    checkpoints), resume, and get the uninterrupted trajectory, training only what was lost."""
    out = tmp_path / "run"
    full, s = _search(npz, out, budget=12)
    shards = sorted((out / "shards").glob("pop-*.parquet"))
    import pyarrow.parquet as pq

    lost = pq.read_table(shards[-1]).to_pandas()
    shards[-1].unlink()
    lost_runs = {(int(a), int(b)) for a, b in zip(lost["arch_index"], lost["seed"], strict=True)}
    resumed, s2 = _search(npz, out, budget=12, resume=True)
    assert resumed.same_evaluations(full, costs=False)
    new = pq.read_table(sorted((out / "shards").glob("pop-*.parquet"))[-1]).to_pandas()
    assert {(int(a), int(b)) for a, b in zip(new["arch_index"], new["seed"], strict=True)} == lost_runs
    assert s2["live"]["trained_member_epochs"] == len(new)  # nothing stored was trained again


@pytest.mark.slow
def test_hyperband_pays_only_for_the_epochs_it_trains(npz: Path, tmp_path: Path) -> None:
    out = tmp_path / "hb"
    traj, s = search_live(
        _config(npz, out),
        "sh",
        seed=0,
        run=RunConfig(Budget("evals", 6)),
        params={"eta": 2, "min_epoch": 1, "n_initial": 8},
    )
    assert (traj["from_epoch"] > 0).any()  # continuations happened
    live = s["live"]
    assert live["continued_from_checkpoint"] > 0 and live["restarted_without_checkpoint"] == 0
    charged = int(np.sum(traj["epoch"] - traj["from_epoch"]))
    assert live["trained_member_epochs"] == charged
    # the continued curves equal training straight through (a fresh run of the same members)
    table = ResultTable.load(out / "table.parquet")
    done = [
        (int(a), int(sd))
        for a, sd, e in zip(traj["arch"], traj["seed"], traj["epoch"], strict=True)
        if e == 4
    ]
    arch = np.array([a for a, _ in done]), np.array([sd for _, sd in done])
    space = NB201Space()
    ops = space.op_matrix(arch[0])
    tr = PopulationTrainer(TINY, load_dataset(f"npz:{npz}", TINY), None, len(done))
    straight = tr.train(arch[0], arch[1], ops)
    rows = Benchmark(table).rows(arch[0])
    got = table.values[rows, np.searchsorted(table.seeds, arch[1]), :, table.metric_position("valid_acc")]
    np.testing.assert_array_equal(got, straight.metrics["valid_acc"])


@pytest.mark.slow
def test_inherited_children_are_kept_apart_from_the_table(npz: Path, tmp_path: Path) -> None:
    out = tmp_path / "inh"
    traj, s = _search(npz, out, budget=16, inherit=True, inherit_epochs=1)
    assert s["live"]["inherited"] > 0
    assert (traj["parent"] >= 0).sum() == s["live"]["inherited"]
    assert set(traj["inherited_epochs"][traj["parent"] >= 0].tolist()) == {1}
    import pandas as pd

    inh = pd.concat(pd.read_parquet(p) for p in sorted((out / "inherited").glob("*.parquet")))
    assert {"parent_arch", "parent_seed"} <= set(inh.columns) and (inh["epoch"] == 1).all()
    table = ResultTable.load(out / "table.parquet")
    bench = Benchmark(table)
    scratch = traj["parent"] < 0
    reps = NB201Space().iso_representatives()
    # children trained only by inheritance are not benchmark values of their architecture
    only_inherited = set(reps[traj["arch"][~scratch]].tolist()) - set(reps[traj["arch"][scratch]].tolist())
    assert only_inherited and not bench.covered()[list(only_inherited)].any()


def test_bad_input_is_one_line_and_exit_2(npz: Path, tmp_path: Path) -> None:
    base = ["search", "--evaluator", "train", "--strategy", "re", "--budget", "4"]
    assert_one_line_error(run_cli(*base, "--dataset", "mnist", "--out", str(tmp_path / "a")), "mnist")
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros((4, 3, 3, 1)))
    assert_one_line_error(
        run_cli(*base, "--dataset", f"npz:{wrong}", "--out", str(tmp_path / "b")), "x_train"
    )
    assert_one_line_error(
        run_cli(*base[:-1], "0.5", "--out", str(tmp_path / "c")), "smaller than one evaluation"
    )
    p = run_cli(*base[:3], "--strategy", "rs", "--budget", "4", "--inherit", "--out", str(tmp_path / "d"))
    assert_one_line_error(p, "--inherit needs a strategy that mutates")
    assert_one_line_error(run_cli(*base, "--out", str(tmp_path / "e"), "--resume"), "holds no search")
    assert_one_line_error(run_cli(*base), "--out")


def test_resume_with_other_settings_is_refused(npz: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    LiveEvaluator(_config(npz, out), key={"strategy": "re", "seed": 0})
    from nasbench.core.errors import NasbenchError

    with pytest.raises(NasbenchError, match="previous search"):
        LiveEvaluator(_config(npz, out), key={"strategy": "re", "seed": 0})
    with pytest.raises(NasbenchError, match="seed"):
        LiveEvaluator(_config(npz, out), key={"strategy": "re", "seed": 1}, resume=True)


def test_surrogate_backend_searches_predictions_and_reports_measured_values(search_table_file: Path) -> None:
    import json

    p = run_cli(
        "search",
        str(search_table_file),
        "--evaluator",
        "surrogate",
        "--strategy",
        "re",
        "--budget",
        "30",
        "--json",
    )
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["evaluator"] == "surrogate" and s["evaluations"] == 30
    inc = s["incumbent"]
    assert inc["predicted_valid_acc"] == inc["observed_valid_acc"]  # one predicted seed: what it saw
    truth = Benchmark(ResultTable.load(search_table_file))
    if truth.covered()[inc["index"]]:  # the predictions cover the whole space, the table 120 cells
        assert inc["measured_mean_valid_acc"] == pytest.approx(
            float(truth.values_at("valid_acc", truth.max_epoch)[truth.rows([inc["index"]])[0]])
        )
    else:
        assert inc["measured_mean_valid_acc"] is None
    # a table of predictions has only the final epoch: multi-fidelity strategies refuse it
    p = run_cli(
        "search", str(search_table_file), "--evaluator", "surrogate", "--strategy", "hb", "--budget", "30"
    )
    assert_one_line_error(p, "lower fidelity")


# ---- compare and ablate on every backend ------------------------------------------------------


def test_compare_on_the_surrogate_backend(search_table_file: Path, tmp_path: Path) -> None:
    import json

    p = run_cli(
        "compare", str(search_table_file), "--evaluator", "surrogate", "--strategies", "rs,re",
        "--seeds", "2", "--budget", "15", "--out", str(tmp_path / "c"), "--json", "--processes", "1",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["config"]["evaluator"] == "surrogate" and r["config"]["model"] == "rf"
    assert r["runs"] == 4 and set(r["strategies"]) == {"rs", "re"}
    # the predicted table holds every unique cell: its optimum is the best prediction
    from nasbench.experiments.predicted import predicted_table

    pred = predicted_table(ResultTable.load(search_table_file), "rf")
    assert r["optimum"] == pytest.approx(
        float(np.nanmax(pred.values[..., pred.metric_position("valid_acc")]))
    )
    # a rerun with another backend into the same folder is refused
    p = run_cli(
        "compare", str(search_table_file), "--strategies", "rs,re", "--seeds", "2", "--budget", "15",
        "--out", str(tmp_path / "c"),
    )  # fmt: skip
    assert_one_line_error(p, "evaluator")


@pytest.mark.slow
def test_ablate_on_the_train_backend_shares_what_earlier_runs_trained(npz: Path, tmp_path: Path) -> None:
    """Two RE cells that differ only in the tournament size start from the same random
    population: the second cell answers it from the first cell's grown table."""
    import json

    import pandas as pd

    from nasbench.experiments.ablate import ablate, parse_config

    ref_dir = tmp_path / "ref"
    _search(npz, ref_dir, budget=8)  # a small reference table of this dataset and recipe
    cfg = parse_config(
        {
            "strategy": "re",
            "table": str(ref_dir / "table.parquet"),
            "budget": "6",
            "seeds": 2,
            "params": {"population_size": 4},
            "factors": {"sample_size": [2, 3]},
            "evaluator": {"kind": "train", "dataset": f"npz:{npz}", "population": 4},
        }
    )
    import dataclasses

    # the tiny test recipe instead of the dataset's default one
    cfg = dataclasses.replace(
        cfg, evaluator=dataclasses.replace(cfg.evaluator, recipe=str(_recipe_file(tmp_path)))
    )
    res = ablate(cfg, tmp_path / "abl")
    assert res["runs"] == 4 and len(res["effects"]) == 1
    from nasbench.experiments.storage import run_file

    assert len(list((tmp_path / "abl" / "live").glob("*/seed-*/summary.json"))) == 4

    def summary(label: str) -> dict:
        folder = run_file(tmp_path / "abl", label, 0).parent.name
        return json.loads((tmp_path / "abl" / "live" / folder / "seed-0000" / "summary.json").read_text())

    first, second = summary("sample_size=2"), summary("sample_size=3")
    assert first["evaluations"] == second["evaluations"] == 6
    assert second["cached_evaluations"] >= 4 and second["trained_evaluations"] <= 2
    runs = pd.read_parquet(tmp_path / "abl" / "trajectories.parquet")
    a = runs[(runs["strategy"] == "sample_size=2") & (runs["seed"] == 0)]
    b = runs[(runs["strategy"] == "sample_size=3") & (runs["seed"] == 0)]
    np.testing.assert_array_equal(a["valid_acc"].to_numpy()[:4], b["valid_acc"].to_numpy()[:4])
    # a rerun resumes from the run files and trains nothing
    again = ablate(cfg, tmp_path / "abl")
    assert again["resumed_runs"] == 4
    # a comparison on the same backend reports against the reference, and reuses what it trained
    from nasbench.experiments.compare import CompareConfig, compare

    cmp_cfg = CompareConfig(
        ("re",), 1, RunConfig(Budget("evals", 6)), {"re": {"population_size": 4, "sample_size": 2}}, processes=2,
        evaluator=cfg.backend(str(ref_dir / "table.parquet")),
    )  # fmt: skip
    res = compare(None, tmp_path / "cmp", cmp_cfg)
    assert res["config"]["evaluator"] == "train" and res["runs"] == 1
    assert res["table"] == str((ref_dir / "table.parquet").resolve())
    assert (tmp_path / "cmp" / "regret.png").is_file() and (tmp_path / "cmp" / "summary.md").is_file()


def _recipe_file(tmp_path: Path) -> Path:
    import json

    path = tmp_path / "tiny-recipe.json"
    path.write_text(json.dumps(TINY.to_dict()))
    return path


def test_train_backend_bad_input_is_one_line(npz: Path, tmp_path: Path) -> None:
    from nasbench.core.errors import NasbenchError
    from nasbench.experiments.ablate import parse_config

    base = {"strategy": "re", "budget": "6", "seeds": 2, "factors": {"sample_size": [2, 3]}}
    with pytest.raises(NasbenchError, match="population"):
        parse_config({**base, "workers": 2, "evaluator": {"kind": "train"}})
    with pytest.raises(NasbenchError, match="inherit needs"):
        parse_config({**base, "factors": {"inherit": [False, True]}})
    with pytest.raises(NasbenchError, match="no key.*populaton"):
        parse_config({**base, "evaluator": {"kind": "train", "populaton": 4}})
    p = run_cli(
        "compare", "--evaluator", "train", "--dataset", f"npz:{npz}", "--strategies", "re",
        "--seeds", "1", "--budget", "4", "--objectives", "valid_acc,params", "--out", str(tmp_path / "x"),
    )  # fmt: skip
    assert_one_line_error(p, "--reference")


@pytest.mark.slow
def test_ray_executor_gives_the_same_search(npz: Path, tmp_path: Path, ray_lock: None) -> None:
    pytest.importorskip("ray")
    local, _ = _search(npz, tmp_path / "local", budget=6)
    remote, s = _search(npz, tmp_path / "ray", budget=6, executor="ray")
    assert s["executor"] == "ray" and s["trained_evaluations"] == 6
    assert remote.same_evaluations(local, costs=False)


def test_a_start_table_is_the_strategies_prior(npz: Path, tmp_path: Path) -> None:
    """The full curves of a start table reach the strategy's context (not partial ones, and
    not the tables of earlier runs of a comparison), and +es learns from them."""
    import pandas as pd

    from strategies.registry import make_strategy

    space = NB201Space()
    archs = space.unique_indices()[:5]
    rows = []
    for a in archs:
        for seed in (0, 1):
            last = 2 if (a == archs[0] and seed == 1) else TINY.epochs  # one partial run
            for e in range(1, last + 1):
                rows.append({"arch_index": int(a), "seed": seed, "epoch": e, "valid_acc": 10.0 * e + a % 7,
                             "time_s": 0.1 * e})  # fmt: skip
    table = ResultTable.from_records(space, pd.DataFrame(rows), metrics=("valid_acc", "time_s"))
    table.save(tmp_path / "start.parquet")
    ev = LiveEvaluator(_config(npz, tmp_path / "run", table=tmp_path / "start.parquet"))
    prior = ev.context.prior
    assert prior is not None and len(prior) == 9  # 10 runs, one of them partial
    assert np.isfinite(prior.curves).all() and prior.curves.shape == (9, TINY.epochs)
    np.testing.assert_array_equal(prior.curves[:, -1], 10.0 * TINY.epochs + prior.archs % 7)
    es = make_strategy("re+es", ev.context, np.random.default_rng(0))
    assert es.stats()["early_stopping"]["full_curves"] == 9
    # a shared table (an earlier run of a comparison) answers what it holds but is no prior
    shared = LiveEvaluator(_config(npz, tmp_path / "run2", shared=(tmp_path / "start.parquet",)))
    assert shared.context.prior is None and (int(archs[1]), 0) in shared.runs


def test_model_based_strategies_fit_on_the_prior(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a prior, the surrogate's first fit already holds the prior's full runs."""
    from strategies.base import Prior, Result, SearchContext
    from strategies.registry import make_strategy

    space = NB201Space()
    valid = np.zeros(space.size, bool)
    valid[space.unique_indices()] = True
    archs = space.unique_indices()[:40]
    curves = np.tile(np.arange(1.0, 5.0), (40, 1)) + (archs % 11)[:, None]
    rows: dict[bool, list[int]] = {}
    for prior in (None, Prior(archs, curves)):
        ctx = SearchContext(space, (1, 2, 3, 4), valid, None, prior)
        strat = make_strategy("screened", ctx, np.random.default_rng(0), params={"n_init": 2}, surrogate="rf")
        fitted: list[int] = []
        real_fit = type(strat.surrogate).fit
        monkeypatch.setattr(
            type(strat.surrogate),
            "fit",
            lambda self, X, y, _f=fitted, _r=real_fit: (_f.append(len(y)), _r(self, X, y))[1],
        )
        for i in range(3):
            p = strat.ask()
            strat.tell(Result(i, p.arch, 4, 50.0 + i, np.full(4, 50.0 + i), 1.0, 1.0))
        strat.ask()
        monkeypatch.undo()
        rows[prior is None] = fitted
    assert rows[True][:1] == [2] and rows[False][:1] == [42]  # n_init results (+ 40 prior runs)


def test_one_child_inherited_from_two_parents_in_one_population(npz: Path, tmp_path: Path) -> None:
    import pandas as pd

    from nasbench.core.metrics import METRICS

    ev = LiveEvaluator(_config(npz, tmp_path / "run", inherit=True))
    rows = [
        {"arch_index": 7, "seed": 1, "epoch": e, "parent_arch": p, "parent_seed": 0, "diverged": False,
         "params": 1.0, "flops": 1.0, **{m: float(p + e) for m in METRICS}}
        for p in (11, 12) for e in (1, 2)
    ]  # fmt: skip
    ev._absorb(pd.DataFrame(rows), inherited=True)
    assert set(ev.inherited) == {(7, 1, 11), (7, 1, 12)}
    assert ev.inherited[(7, 1, 12)].values[1, METRICS.index("valid_acc")] == 14.0


def test_ranked_live_search_trains_the_best_scored_cells_first(npz: Path, tmp_path: Path) -> None:
    from nasbench.tables.scores import write_scores

    space = NB201Space()
    archs = space.unique_indices()[100:140]
    score = np.arange(len(archs), dtype=np.float64)  # the last is the best scored
    f = tmp_path / "scores.parquet"
    write_scores(
        pd.DataFrame({"arch": [space.to_str(int(a)) for a in archs], "arch_index": archs, "oneshot": score}),
        f,
        {"format": "test"},
    )
    traj, s = _search(npz, tmp_path / "run", strategy="ranked", budget=4, scores=(f,))
    assert traj["arch"].tolist() == archs[::-1][:4].tolist()
    assert s["evaluations"] == 4
