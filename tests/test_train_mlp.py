"""The MLP space and its population trainer: a padded member computes exactly its own
network, equals the member trained alone, keeps its own seed, and bad input is refused.

Everything trains on 3x3 images (``write_tiny_npz``) for 2 epochs; one population program
(K = 5) is compiled once and shared, also by the ``nasbench build --space mlp`` test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from conftest import write_tiny_npz  # noqa: E402

from nasbench.cli import main  # noqa: E402
from nasbench.core.errors import ArchitectureError, ConfigError  # noqa: E402
from nasbench.spaces.declared import DeclaredSpace  # noqa: E402
from nasbench.spaces.mlp import ACTIVATIONS, MLP_DECLARATION, mlp_costs, mlp_shapes, mlp_space  # noqa: E402
from nasbench.tables.table import ResultTable  # noqa: E402
from nasbench.train.build import cached_trainer  # noqa: E402
from nasbench.train.data import load_dataset  # noqa: E402
from nasbench.train.mlp import (  # noqa: E402
    MLPLayout,
    MLPTrainer,
    init_member,
    member_apply,
    member_spec,
    width_class,
)
from nasbench.train.recipe import PRESETS  # noqa: E402

TINY = PRESETS["digits"].replace(
    epochs=2, n_train=None, n_valid=None, n_test=None, batch_size=16, eval_batch_size=24
)
#: the recipe above, as ``nasbench build`` options
TINY_ARGS = [
    "--recipe", "digits", "--epochs", "2", "--set", "n_train=null", "--set", "n_valid=null",
    "--set", "n_test=null", "--set", "batch_size=16", "--set", "eval_batch_size=24",
]  # fmt: skip
K = 5
CONFIGS = [
    "layers=1,units_1=16,activation=relu,dropout=0.0",
    "layers=3,units_1=32,units_2=16,units_3=64,activation=gelu,dropout=0.2",
    "layers=4,units_1=16,units_2=16,units_3=16,units_4=16,activation=tanh,dropout=0.4",
]


@pytest.fixture(scope="module")
def data_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_npz(tmp_path_factory.mktemp("mlp") / "tiny.npz")


@pytest.fixture(scope="module")
def dataset(data_path):  # type: ignore[no-untyped-def]
    return load_dataset(f"npz:{data_path}", TINY)


@pytest.fixture(scope="module")
def members() -> tuple[np.ndarray, np.ndarray]:
    space = mlp_space()
    arch = np.array([space.index(c) for c in CONFIGS] + [space.index(CONFIGS[0])])
    return arch, np.array([0, 0, 0, 1])  # the last: the first network with another seed


@pytest.fixture(scope="module")
def trainer(dataset):  # type: ignore[no-untyped-def]
    # the universal layout (a live search's: every shape in one program), cached process-wide
    return cached_trainer(
        TINY, dataset, {"universal": 1}, K, "mlp-population", jax.local_devices()[0], space=mlp_space()
    )


@pytest.fixture(scope="module")
def result(trainer, members):  # type: ignore[no-untyped-def]
    arch, seeds = members
    return trainer.train(arch, seeds)


def _count(tree) -> int:  # type: ignore[no-untyped-def]
    return int(sum(np.size(a) for a in jax.tree_util.tree_leaves(tree)))


# ---- the declaration ---------------------------------------------------------------------
def test_space_is_a_declaration_with_conditional_widths() -> None:
    space = mlp_space()
    assert isinstance(space, DeclaredSpace) and space == DeclaredSpace(MLP_DECLARATION)
    assert space.size == (4 + 4**2 + 4**3 + 4**4) * len(ACTIVATIONS) * 3 == 5100
    # units_k exists only when layers >= k: an inactive width is dropped from the string
    cfg = space.parse("layers=2,units_1=32,units_2=64,units_3=128,activation=elu,dropout=0.2")
    assert str(cfg) == "layers=2,units_1=32,units_2=64,activation=elu,dropout=0.2"
    shapes = mlp_shapes(space, [cfg.index])
    assert shapes.widths(0) == (32, 64) and shapes.units.shape == (1, 4) and shapes.max_units == 128
    assert shapes.activations(0) == (ACTIVATIONS.index("elu"),) * 2
    assert shapes.dropout[0].tolist() == [0.2, 0.2, 0.0, 0.0]
    # parameters and FLOPs from the declaration alone: 9 inputs, 4 classes
    costs = mlp_costs(shapes, 9, 4)
    assert costs["params"][0] == (9 * 32 + 32) + (32 * 64 + 64) + (64 * 4 + 4)
    assert costs["flops"][0] == 2 * (9 * 32 + 32 * 64 + 64 * 4)


def test_a_space_that_is_not_an_mlp_is_refused() -> None:
    no_widths = DeclaredSpace({"dimensions": {"layers": {"type": "integer", "low": 1, "high": 2}}})
    with pytest.raises(ConfigError, match="units_1, units_2"):
        mlp_shapes(no_widths, [0])
    bad_act = DeclaredSpace({"dimensions": {"layers": [1], "units_1": [8], "activation": ["relu", "swish"]}})
    with pytest.raises(ConfigError, match="dimension .activation. .* .swish. is not an activation"):
        MLPTrainer(TINY, None, 2, space=bad_act)  # type: ignore[arg-type]


# ---- padding and masking -----------------------------------------------------------------
def test_padding_is_exact_in_every_layout() -> None:
    """A member computes its own network whether it trains at its exact widths, in its
    bucket (width classes, static activations) or in the universal layout (every layer 128
    wide, activation and depth per member): same initial weights, dropout masks and
    outputs, zero outside its own entries, and no gradient into a padded entry."""
    space = mlp_space()
    cfgs = [
        "layers=1,units_1=64,activation=relu,dropout=0.2",
        "layers=2,units_1=16,units_2=128,activation=gelu,dropout=0.0",
        "layers=3,units_1=32,units_2=16,units_3=64,activation=tanh,dropout=0.4",
        "layers=4,units_1=16,units_2=32,units_3=64,units_4=16,activation=silu,dropout=0.2",
        "layers=2,units_1=128,units_2=16,activation=elu,dropout=0.4",
    ]
    arch = np.array([space.index(c) for c in cfgs])
    shapes = mlp_shapes(space, arch)
    x = np.random.default_rng(1).normal(size=(8, 9)).astype(np.float32)
    universal = MLPLayout((128,) * 4, None, 0, 16)
    for i in range(len(arch)):
        exact = MLPLayout(shapes.widths(i), shapes.activations(i), 0, 16)
        bucket = MLPLayout(
            tuple(int(w) for w in width_class(shapes.units[i, : shapes.layers[i]], 128)), exact.acts, 0, 16
        )
        assert all(u <= w <= 4 * u for u, w in zip(exact.widths, bucket.widths))
        outs = []
        for layout in (exact, bucket, universal):
            spec = jax.tree_util.tree_map(
                lambda a: jnp.asarray(a[0]), member_spec(shapes.take([i]), layout, TINY)
            )
            key = jax.random.fold_in(jax.random.fold_in(jax.random.key(0), int(arch[i])), 0)

            @jax.jit
            def run(spec, x, layout=layout, key=key):  # noqa: ANN001, ANN202
                params, stats = init_member(key, spec, layout, 9, 4, 128, 4)
                fwd = lambda p: member_apply(p, stats, spec, x, layout, 128, True, jax.random.key(7), 0.9)[0]  # noqa: E731
                return params, fwd(params), jax.grad(lambda p: fwd(p).sum())(params)

            params, out, grads = jax.device_get(run(spec, x))
            outs.append(out)
            own = _own_entries(shapes.widths(i), params)
            outside = jax.tree_util.tree_map(lambda a, m: np.where(m, 0.0, a), params, own)
            assert all(not a.any() for a in jax.tree_util.tree_leaves(outside)), (cfgs[i], layout)
            leaked = jax.tree_util.tree_map(lambda g, m: np.where(m, 0.0, g), grads, own)
            assert all(not a.any() for a in jax.tree_util.tree_leaves(leaked)), (cfgs[i], layout)
            if layout is exact:
                assert _count(params) == mlp_costs(shapes.take([i]), 9, 4)["params"][0]
        np.testing.assert_allclose(outs[1], outs[0], rtol=1e-5, atol=1e-5, err_msg=cfgs[i])
        np.testing.assert_allclose(outs[2], outs[0], rtol=1e-5, atol=1e-5, err_msg=cfgs[i])


def _own_entries(widths, like):  # type: ignore[no-untyped-def]
    """bool tree shaped like one member's parameters ``like``: its own entries."""
    mask = jax.tree_util.tree_map(lambda a: np.zeros(a.shape, bool), like)
    fan_in = mask["hidden"][0]["kernel"].shape[0]
    for k, u in enumerate(widths):
        mask["hidden"][k]["kernel"][:fan_in, :u] = True
        mask["hidden"][k]["bias"][:u] = True
        fan_in = u
    mask["out"]["kernel"][:fan_in] = True
    mask["out"]["bias"][:] = True
    return mask


# ---- training ----------------------------------------------------------------------------
def test_population_curves_and_costs(result, members, trainer) -> None:  # type: ignore[no-untyped-def]
    arch, seeds = members
    assert result.metrics["valid_acc"].shape == (4, TINY.epochs)
    assert np.isfinite(result.metrics["train_loss"]).all() and not result.diverged.any()
    assert (
        np.isnan(result.metrics["test_acc"][:, 0]).all()
        and np.isfinite(result.metrics["test_acc"][:, -1]).all()
    )
    assert (np.diff(result.metrics["time_s"], axis=1) > 0).all()
    assert result.timing["members"] == 4 and result.timing["padded"] == 1 and result.platform
    for i, a in enumerate(arch):
        own = jax.eval_shape(lambda a=a, s=seeds[i]: trainer.params_of(int(a), int(s)))  # shapes only
        assert result.params[i] == _count(own)
    np.testing.assert_array_equal(result.flops, mlp_costs(mlp_shapes(mlp_space(), arch), 9, 4)["flops"])


def test_padded_member_equals_the_member_trained_alone(result, members, dataset) -> None:  # type: ignore[no-untyped-def]
    arch, seeds = members
    pick = [1]  # 3 layers of 32, 16, 64 units (the 4th padded away), with dropout
    alone = MLPTrainer(TINY, dataset, 1, mode="single").train(arch[pick], seeds[pick])
    assert alone.timing["padded"] == 0
    for m in ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc"):
        np.testing.assert_allclose(alone.metrics[m], result.metrics[m][pick], rtol=1e-5, atol=1e-4, err_msg=m)
    np.testing.assert_array_equal(alone.params, result.params[pick])


def test_seeds_and_populations(result, members, trainer) -> None:  # type: ignore[no-untyped-def]
    arch, seeds = members
    curves = ("train_loss", "valid_loss", "valid_acc", "test_acc")
    # another seed of the same network trains differently
    assert not np.array_equal(result.metrics["train_loss"][0], result.metrics["train_loss"][3])
    # the same members in another order and other company (and more padding) train the same
    again = trainer.train(arch[[3, 0]], seeds[[3, 0]])
    for m in curves:
        np.testing.assert_array_equal(again.metrics[m], result.metrics[m][[3, 0]], err_msg=m)


def test_divergence_is_flagged_and_isolated(result, members, trainer, dataset) -> None:  # type: ignore[no-untyped-def]
    arch, seeds = members
    poisoned = trainer.train(arch, seeds, poison=[1])
    assert poisoned.diverged.tolist() == [False, True, False, False]
    assert np.isnan(poisoned.metrics["valid_acc"][1]).all()
    keep = [0, 2, 3]
    np.testing.assert_array_equal(poisoned.metrics["valid_loss"][keep], result.metrics["valid_loss"][keep])
    # a learning rate that blows up gives a flag, not a crash
    space = mlp_space()
    relu = space.index("layers=1,units_1=16,activation=relu,dropout=0.0")
    res = MLPTrainer(TINY.replace(lr=1e8), dataset, 1, mode="single").train([relu], [0])
    assert res.diverged.tolist() == [True] and np.isnan(res.metrics["train_loss"]).all()


def test_bad_members_are_refused(trainer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ArchitectureError, match="out of range"):
        trainer.train([5100], [0])
    with pytest.raises(ConfigError, match="do not fit"):
        trainer.train(np.arange(K + 1), np.zeros(K + 1, int))
    with pytest.raises(ConfigError, match="seeds"):
        trainer.train([0, 1], [0])
    with pytest.raises(ConfigError, match="op_matrix"):
        trainer.train([0], [0], ops=mlp_space().op_matrix([1]))
    with pytest.raises(ConfigError, match="training mode"):
        MLPTrainer(TINY, None, 2, mode="slots")  # type: ignore[arg-type]


def test_train_members_mixes_new_runs_and_continuations(result, members, dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The family-agnostic entry point: a member continued from its checkpoint, a fresh
    member and a member trained for one epoch, in the order given; the continued member is
    bit-identical to training straight through, and its shard rows are its own epochs."""
    import pyarrow.parquet as pq

    from nasbench.train.build import write_shard
    from nasbench.train.members import Member, train_members

    arch, seeds = members
    dev = jax.local_devices()[0]
    half = train_members(
        mlp_space(), TINY, dataset, [Member(int(a), int(s), epochs=1) for a, s in zip(arch, seeds)],
        population=K, keep_state=True, device=dev, layout={"universal": 1},
    )  # fmt: skip
    assert half.states is not None and half.trained_epochs.tolist() == [1] * 4
    todo = [
        Member(int(arch[1]), int(seeds[1]), 1, 1, half.states[1]),  # continued: its epoch 2
        Member(int(arch[0]), int(seeds[0])),  # fresh, both epochs
        Member(int(arch[3]), int(seeds[3]), 0, 1),  # fresh, epoch 1 only
    ]
    res = train_members(mlp_space(), TINY, dataset, todo, population=K, device=dev, layout={"universal": 1})
    assert res.arch_index.tolist() == [arch[1], arch[0], arch[3]]
    assert res.start_epochs.tolist() == [1, 0, 0] and res.trained_epochs.tolist() == [1, 2, 1]
    assert res.timing["populations"] == 1 and res.timing["compile_s"] == 0  # one program: the fixture's
    got, want = res.metrics, result.metrics
    for m in ("train_loss", "valid_loss", "valid_acc", "test_acc"):
        np.testing.assert_array_equal(got[m][0, 0], want[m][1, 1], err_msg=m)
        np.testing.assert_array_equal(got[m][1], want[m][0], err_msg=m)
        assert np.isnan(got[m][2, 1])
    np.testing.assert_array_equal(got["valid_acc"][2, 0], want["valid_acc"][3, 0])
    write_shard(tmp_path / "s.parquet", res, "h")
    rows = pq.read_table(tmp_path / "s.parquet").to_pandas()
    assert rows[["arch_index", "epoch"]].values.tolist() == [
        [arch[1], 2],
        [arch[0], 1],
        [arch[0], 2],
        [arch[3], 1],
    ]


# ---- nasbench build --space mlp -----------------------------------------------------------
def test_build_mlp_table(tmp_path: Path, data_path: Path, result, members, capsys) -> None:  # type: ignore[no-untyped-def]
    arch, _ = members
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(CONFIGS) + "\n")
    out = tmp_path / "mlp.parquet"
    args = ["build", "--space", "mlp", "--dataset", f"npz:{data_path}", *TINY_ARGS, "--seeds", "2",
            "--population", str(K), "--archs", str(archs), "--out", str(out), "--json"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trained_runs"] == 6
    table = ResultTable.load(out)
    assert isinstance(table.space, DeclaredSpace) and table.space == mlp_space()
    # six runs cannot fill a population in each of their three buckets: the universal layout
    assert table.metadata["build"]["mode"] == "mlp-population" and table.metadata["build"]["n_shards"] == 2
    order = np.argsort(table.arch_index)
    np.testing.assert_array_equal(table.arch_index[order], np.sort(arch[:3]))
    costs = mlp_costs(mlp_shapes(mlp_space(), table.arch_index), 9, 4)
    np.testing.assert_array_equal(table.arch_columns["params"], costs["params"])
    # a member's curve does not depend on the population it trained in (same layout and K)
    row = int(np.flatnonzero(table.arch_index == arch[1])[0])
    va = table.values[row, 0, :, table.metric_position("valid_acc")]
    np.testing.assert_array_equal(va, result.metrics["valid_acc"][1])
    # resuming a finished build trains nothing and gives the same table; --latency adds the
    # measured forward latency of each network on this machine, with the platform
    assert main([*args, "--resume", "--latency"]) == 0
    assert json.loads(capsys.readouterr().out)["latency"]["batch_sizes"] == [1, 256]
    again = ResultTable.load(out)
    np.testing.assert_array_equal(again.values, table.values)
    for b in (1, 256):
        assert (again.arch_columns[f"latency_ms_b{b}"] > 0).all()
    assert again.metadata["latency"]["platform"] == table.metadata["build"]["platforms"][0]


def test_build_refuses_a_space_without_a_network(
    tmp_path: Path, data_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["build", "--space", "declared", "--dataset", f"npz:{data_path}", *TINY_ARGS,
            "--out", str(tmp_path / "x.parquet"), "--quiet"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no network to train" in err and "mlp" in err, err
