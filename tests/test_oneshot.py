"""One-shot / few-shot supernets: sampling, masking, scoring against each cell's own network,
resume after an interruption, reproducibility and the command."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

jax = pytest.importorskip("jax")

from conftest import assert_one_line_error, run_cli, write_tiny_npz  # noqa: E402

from nasbench.core.errors import ConfigError  # noqa: E402
from nasbench.spaces.nb201 import N_OPS, NB201Space  # noqa: E402
from nasbench.train.data import load_dataset  # noqa: E402
from nasbench.train.oneshot import (  # noqa: E402
    SupernetConfig,
    oneshot_scores,
    sample_paths,
    score_cells,
    train_supernet,
)
from nasbench.train.recipe import PRESETS  # noqa: E402

TINY = PRESETS["digits"].replace(
    channels=(4, 8, 8), epochs=2, n_train=None, n_valid=None, n_test=None, batch_size=16, eval_batch_size=48
)
SPACE = NB201Space()
CELLS = SPACE.unique_indices()[::700][:9]  # a spread of cells, including a disconnected one


@pytest.fixture(scope="module")
def npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_npz(tmp_path_factory.mktemp("data") / "tiny.npz")


@pytest.fixture(scope="module")
def dataset(npz: Path):  # type: ignore[no-untyped-def]
    return load_dataset(f"npz:{npz}", TINY)


#: One training setup for every test (the programs compile once per process): 3 paths a step
#: leave 2 of the 5 operations of each edge unused, so masking has work to do.
CFG = SupernetConfig(epochs=1, paths=3, bn="batch", population=4, recal_images=24, checkpoint_every=2)


@pytest.fixture(scope="module")
def trained(dataset):  # type: ignore[no-untyped-def]
    """A one-shot supernet trained on the tiny data (4 steps of 3 paths)."""
    return train_supernet(TINY, dataset, CFG, seed=1)


def _leaf(tree, name: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    flat = jax.tree_util.tree_flatten_with_path(tree)[0]
    hits = [np.asarray(a) for p, a in flat if name in jax.tree_util.keystr(p)]
    assert hits, name
    return hits[0]


def _conv(edge: int, op: int) -> str:
    return f"cell0_0']['e{edge}_conv{1 if op == 2 else 3}']['conv']['kernel"


def test_paths_are_stratified_uniform_and_reproducible() -> None:
    p = sample_paths(0, 3, 5)
    assert p.shape == (5, 6)
    for e in range(6):
        assert sorted(p[:, e]) == list(range(N_OPS))  # every op on every edge once per step
    np.testing.assert_array_equal(p, sample_paths(0, 3, 5))
    assert not np.array_equal(p, sample_paths(0, 4, 5)) and not np.array_equal(p, sample_paths(1, 3, 5))
    # one path per step: still marginally uniform over the operations of each edge
    counts = np.stack([np.bincount(sample_paths(0, s, 1)[0], minlength=N_OPS) for s in range(2000)])
    share = counts.sum(0) / counts.sum()
    assert np.all(np.abs(share - 0.2) < 0.03)
    few = sample_paths(2, 0, 10, split_edge=3)
    np.testing.assert_array_equal(few[:, 3], np.arange(10) % 5)


def test_unused_operations_keep_weights_and_momentum(dataset) -> None:  # type: ignore[no-untyped-def]
    ops = sample_paths(5, 0, CFG.paths)
    unused = next((e, o) for e in range(6) for o in (2, 3) if o not in ops[:, e])
    used = next((e, o) for e in range(6) for o in (2, 3) if o in ops[:, e])
    out = {}
    for mask in (True, False):
        cfg = dataclasses.replace(CFG, mask_inactive=mask)
        progs, params, _ = train_supernet(TINY, dataset, cfg, seed=5, stop_after=1)
        init, opt0 = progs.init(5)
        out[mask] = params
        assert not np.array_equal(_leaf(init, _conv(*used)), _leaf(params, _conv(*used)))
    init, _ = progs.init(5)
    np.testing.assert_array_equal(_leaf(init, _conv(*unused)), _leaf(out[True], _conv(*unused)))  # untouched
    assert not np.array_equal(_leaf(init, _conv(*unused)), _leaf(out[False], _conv(*unused)))  # weight decay


def test_population_scores_equal_each_cells_own_network(trained, dataset) -> None:  # type: ignore[no-untyped-def]
    """A cell's score is the accuracy of its own Flax network holding the supernet's weights."""
    from nasbench.train.model import NB201Network

    progs, params, _ = trained
    ops = SPACE.op_matrix(CELLS)
    together = score_cells(progs, params, dataset, ops)
    alone = [score_cells(progs, params, dataset, ops[i : i + 1]) for i in (0, 3, 5)]
    np.testing.assert_allclose([a["acc"][0] for a in alone], together["acc"][[0, 3, 5]])
    shared = jax.tree_util.tree_map(lambda a: a[0], params)
    x, y = dataset.x_valid, dataset.y_valid
    for i in (0, 3, 5):
        net = NB201Network(TINY, dataset.n_classes, tuple(int(o) for o in ops[i]))
        own = net.init(jax.random.key(0), np.zeros((1, *dataset.image_shape), np.float32))
        correct = 0
        for j in range(0, len(y), TINY.eval_batch_size):  # batch statistics of each validation batch
            logits, _ = net.apply(
                {"params": _prune(shared, own["params"]), "batch_stats": own["batch_stats"]},
                x[j : j + TINY.eval_batch_size], train=True, mutable=["batch_stats"],
            )  # fmt: skip
            correct += int((np.asarray(logits).argmax(-1) == y[j : j + TINY.eval_batch_size]).sum())
        assert abs(100.0 * correct / len(y) - together["acc"][i]) <= 100.0 / len(y) + 1e-9
    # recomputed statistics score too, differently
    progs.config = dataclasses.replace(CFG, bn="recal")
    try:
        recal = score_cells(progs, params, dataset, ops)
    finally:
        progs.config = CFG
    assert np.all((recal["acc"] >= 0) & (recal["acc"] <= 100)) and np.all(np.isfinite(recal["loss"]))
    assert not np.array_equal(together["loss"], recal["loss"])


def _prune(shared, ref):  # type: ignore[no-untyped-def]
    """The supernet's values for exactly the parameters of ``ref`` (the cell's own network)."""
    return {k: _prune(shared[k], v) if isinstance(v, dict) else shared[k] for k, v in ref.items()}


def test_resume_after_interruption_is_bit_identical(trained, dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, straight, _ = trained
    ckpt = tmp_path / "s.supernet.npz"
    train_supernet(TINY, dataset, CFG, seed=1, checkpoint=ckpt, stop_after=3)  # "killed" after step 3
    with pytest.raises(ConfigError, match="--resume"):
        train_supernet(TINY, dataset, CFG, seed=1, checkpoint=ckpt)
    with pytest.raises(ConfigError, match="other settings"):
        train_supernet(TINY, dataset, CFG, seed=3, checkpoint=ckpt, resume=True)
    _, resumed, timing = train_supernet(TINY, dataset, CFG, seed=1, checkpoint=ckpt, resume=True)
    assert timing["resumed_at"] == 2 and timing["finished"] and timing["steps_run"] == 2
    for a, b in zip(jax.tree_util.tree_leaves(straight), jax.tree_util.tree_leaves(resumed), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_fewshot_trains_one_supernet_per_operation(dataset) -> None:  # type: ignore[no-untyped-def]
    cfg = SupernetConfig(mode="fewshot", epochs=1, paths=5, split_edge=2, bn="batch", population=2)
    progs, params, _ = train_supernet(TINY, dataset, cfg, seed=0, stop_after=1)
    init, _ = progs.init(0)
    k3 = _leaf(params, _conv(2, 3))  # (5, ...): the 3x3 convolution on the split edge, per sub-supernet
    assert k3.shape[0] == N_OPS
    # only the sub-supernet whose split-edge operation is the 3x3 convolution trains it
    changed = [not np.array_equal(k3[g], _leaf(init, _conv(2, 3))[g]) for g in range(N_OPS)]
    assert changed == [g == 3 for g in range(N_OPS)]
    ops = SPACE.op_matrix(CELLS[1:3])
    s = score_cells(progs, params, dataset, ops)
    assert np.all(np.isfinite(s["loss"]))


def test_same_seed_same_scores(dataset) -> None:  # type: ignore[no-untyped-def]
    a = oneshot_scores(SPACE, CELLS, TINY, dataset, CFG, seed=4)
    b = oneshot_scores(SPACE, CELLS, TINY, dataset, CFG, seed=4)
    c = oneshot_scores(SPACE, CELLS, TINY, dataset, CFG, seed=5)
    assert list(a.columns) == ["arch", "arch_index", "oneshot"]
    np.testing.assert_array_equal(a["oneshot"].to_numpy(), b["oneshot"].to_numpy())
    np.testing.assert_array_equal(a.attrs["loss"], b.attrs["loss"])
    assert not np.array_equal(a.attrs["loss"], c.attrs["loss"])


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="mode"):
        SupernetConfig(mode="twoshot")
    with pytest.raises(ConfigError, match="multiple of 5"):
        SupernetConfig(mode="fewshot", paths=3)
    with pytest.raises(ConfigError, match="split edge"):
        SupernetConfig(mode="fewshot", split_edge=6)
    with pytest.raises(ConfigError, match="bn"):
        SupernetConfig(bn="running")


def test_command_writes_scores_and_rescores_on_resume(npz: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from nasbench.cli import main

    out = tmp_path / "os.parquet"
    sets = [x for kv in ("channels=4,8,8", "epochs=2", "n_train=null", "n_valid=null", "n_test=null",
                         "batch_size=16", "eval_batch_size=48") for x in ("--set", kv)]  # fmt: skip
    args = ["estimate", "oneshot", "--space", "nb201", "--dataset", f"npz:{npz}", "--seed", "0", "--out", str(out),
            "--archs", "12", "--epochs", "1", "--paths", "3", "--bn", "batch", "--recipe", "digits", *sets,
            "--json"]  # fmt: skip
    assert main(args) == 0  # in this process: the programs compiled above serve it
    summary = json.loads(capsys.readouterr().out)
    df = pd.read_parquet(out)
    assert list(df.columns) == ["arch", "arch_index", "oneshot"] and len(df) == 12 == summary["archs"]
    assert summary["resumed_at_step"] == 0 and summary["steps"] == 4
    assert_one_line_error(run_cli(*args), "--resume")  # a checkpoint exists
    assert main([*args, "--resume"]) == 0
    assert json.loads(capsys.readouterr().out)["resumed_at_step"] == 4  # nothing trained again
    np.testing.assert_array_equal(pd.read_parquet(out)["oneshot"].to_numpy(), df["oneshot"].to_numpy())
    assert_one_line_error(run_cli(*args[:-1], "--mode", "fewshot", "--json"), "multiple of 5")
