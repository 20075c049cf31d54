"""Population training: equals training each member alone, isolates divergence, partitions."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from conftest import write_tiny_npz  # noqa: E402

from nasbench.core.errors import ConfigError  # noqa: E402
from nasbench.spaces.nb201 import Cell, NB201Space  # noqa: E402
from nasbench.train.data import load_dataset  # noqa: E402
from nasbench.train.members import Member, cached_trainer, train_members  # noqa: E402
from nasbench.train.population import PopulationTrainer, make_plan, partition, slot_demand  # noqa: E402
from nasbench.train.recipe import PRESETS  # noqa: E402

TINY = PRESETS["digits"].replace(
    channels=(4, 8, 8), epochs=2, n_train=None, n_valid=None, n_test=None, batch_size=16, eval_batch_size=48
)
CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|",
]


@pytest.fixture(scope="module")
def members() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    space = NB201Space()
    arch = np.array([Cell.from_string(c).index for c in CELLS] + [Cell.from_string(CELLS[0]).index])
    seeds = np.array([0, 0, 1])  # the last member: the first cell with another seed
    return arch, seeds, space.op_matrix(arch)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):  # type: ignore[no-untyped-def]
    # 3x3 images keep compilation short (every convolution takes the im2col path;
    # test_conv_paths_agree covers the per-slot path)
    path = write_tiny_npz(tmp_path_factory.mktemp("data") / "tiny.npz")
    return load_dataset(f"npz:{path}", TINY)


@pytest.fixture(scope="module")
def population_trainer(members, dataset):  # type: ignore[no-untyped-def]
    _, _, ops = members
    _, caps = partition(ops, len(ops))
    # one spare slot on every kind, so padding slots are exercised too; the process-wide
    # cache's trainer, so that train_members below reuses its compiled programs
    caps = {k: c + 1 for k, c in caps.items()}
    return cached_trainer(
        TINY, dataset, caps, len(ops) + 1, "population", jax.local_devices()[0], space=NB201Space()
    )


@pytest.fixture(scope="module")
def population_result(members, population_trainer):  # type: ignore[no-untyped-def]
    arch, seeds, ops = members
    return population_trainer.train(arch, seeds, ops)


@pytest.mark.slow
def test_population_matches_each_member_trained_alone(members, dataset, population_result) -> None:  # type: ignore[no-untyped-def]
    arch, seeds, ops = members
    single = PopulationTrainer(TINY, dataset, None, 1, mode="single").train(arch, seeds, ops)
    pop = population_result
    for m in ("train_loss", "valid_loss", "test_loss"):
        got, want = pop.metrics[m], single.metrics[m]
        assert np.array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-4, atol=1e-5)
    for m in ("train_acc", "valid_acc", "test_acc"):  # a flipped argmax moves one image at most
        np.testing.assert_allclose(pop.metrics[m], single.metrics[m], atol=100 / 16 + 1e-4)
    np.testing.assert_array_equal(pop.params, single.params)
    assert not pop.diverged.any()


def test_result_shapes_and_curves(members, population_result) -> None:  # type: ignore[no-untyped-def]
    res = population_result
    assert res.metrics["valid_acc"].shape == (3, TINY.epochs)
    assert np.isnan(res.metrics["test_acc"][:, 0]).all() and np.isfinite(res.metrics["test_acc"][:, -1]).all()
    time_s = res.metrics["time_s"]
    assert (np.diff(time_s, axis=1) > 0).all() and (time_s > 0).all()
    assert res.params[1] < res.params[0] == res.params[2]
    assert res.flops[1] < res.flops[0] == res.flops[2]


def test_seeds_differ_and_reruns_repeat(members, population_trainer, population_result) -> None:  # type: ignore[no-untyped-def]
    arch, seeds, ops = members
    again = population_trainer.train(arch, seeds, ops)
    for m in ("train_loss", "valid_loss", "valid_acc", "test_acc"):
        np.testing.assert_array_equal(again.metrics[m], population_result.metrics[m])
    # members 0 and 2: the same cell with seeds 0 and 1
    assert population_result.metrics["train_loss"][0, 0] != population_result.metrics["train_loss"][2, 0]


@pytest.mark.slow
def test_scan_over_steps_matches_step_loop(members, dataset, population_trainer, population_result) -> None:  # type: ignore[no-untyped-def]
    # accelerators run each epoch as one lax.scan program; CPU calls a compiled step per batch
    arch, seeds, ops = members
    scan = PopulationTrainer(
        TINY, dataset, population_trainer.capacities, population_trainer.population, use_scan=True
    )
    res = scan.train(arch, seeds, ops)
    for m in ("train_loss", "valid_loss", "test_loss"):
        np.testing.assert_allclose(res.metrics[m], population_result.metrics[m], rtol=1e-5, atol=1e-6)


def test_divergence_is_isolated(members, population_trainer, population_result) -> None:  # type: ignore[no-untyped-def]
    arch, seeds, ops = members
    res = population_trainer.train(arch, seeds, ops, poison=[1])
    assert res.diverged.tolist() == [False, True, False]
    assert np.isnan(res.metrics["valid_acc"][1]).all()
    keep = [0, 2]
    for m in ("train_loss", "valid_loss", "valid_acc", "test_acc"):
        np.testing.assert_allclose(
            res.metrics[m][keep], population_result.metrics[m][keep], rtol=1e-6, atol=1e-6
        )
    assert np.isfinite(res.metrics["time_s"]).all()


@pytest.mark.parametrize("hw, stride", [(8, 1), (8, 2), (3, 1), (3, 2)])
def test_conv_paths_agree(hw: int, stride: int) -> None:
    from jax import lax

    from nasbench.train.model import conv as _conv

    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 2, hw, hw, 4)).astype(np.float32)
    w = rng.normal(size=(3, 3, 3, 4, 5)).astype(np.float32)
    got = np.asarray(_conv(x, w, stride))
    for s in range(3):
        want = lax.conv_general_dilated(
            x[s], w[s], (stride, stride), ((1, 1), (1, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        np.testing.assert_allclose(got[s], np.asarray(want), rtol=1e-4, atol=1e-4)


def test_partition_respects_capacities_and_covers_every_run() -> None:
    space = NB201Space()
    sample = np.random.default_rng(0).choice(space.unique_indices(), 300, replace=False)
    ops = np.repeat(space.op_matrix(sample), 2, axis=0)
    groups, caps = partition(ops, 25)
    allpos = np.sort(np.concatenate(groups))
    np.testing.assert_array_equal(allpos, np.arange(len(ops)))
    assert max(len(g) for g in groups) <= 25
    cap = np.array([caps[k] for k in sorted(caps, key=list(caps).index)])
    for g in groups:
        assert (slot_demand(ops[g]).sum(0) <= cap).all()
    again, caps2 = partition(ops, 25)
    assert caps2 == caps and all(np.array_equal(a, b) for a, b in zip(groups, again))
    # most of the allocated slot capacity does real work
    used = slot_demand(ops).sum()
    assert used / (cap.sum() * len(groups)) > 0.75


def test_plan_rejects_overfull_slot() -> None:
    ops = np.full((3, 6), 3)
    with pytest.raises(ConfigError, match="exceed its capacity"):
        make_plan(ops, {k: 1 for k in partition(ops, 3)[1]})
    plan = make_plan(ops, partition(ops, 3)[1])
    assert plan["slots"]["e0_conv3"].tolist() == [0, 1, 2]


def test_continued_and_fresh_members_train_in_one_program(
    members, population_trainer, population_result
) -> None:  # type: ignore[no-untyped-def]
    """Per-member progress: members continued from their checkpoint at epoch 1 train in the
    same program as a fresh member, and each is bit-identical to training straight through."""
    arch, seeds, ops = members
    half = population_trainer.train(arch, seeds, ops, epochs=1, keep_state=True)
    # the optimiser's step count is each member's own (a scalar per member state)
    counts = [[v for k, v in s.items() if k.endswith(".count")] for s in half.states or []]
    assert counts and all(c and all(np.ndim(v) == 0 for v in c) for c in counts)
    fresh = 1  # member 1 starts from scratch; members 0 and 2 continue at epoch 1
    mixed = population_trainer.train(
        arch, seeds, ops, start_epoch=[1, 0, 1], epochs=1,
        start_state=[half.states[0], None, half.states[2]],
    )  # fmt: skip
    assert mixed.first_epoch == -1 and mixed.start_epochs.tolist() == [1, 0, 1]
    straight = population_result.metrics
    for m in ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc"):
        for i in (0, 2):  # continued: epoch 2 of the straight run, test split included
            np.testing.assert_array_equal(mixed.metrics[m][i, 0], straight[m][i, 1], err_msg=m)
    for m in ("train_loss", "train_acc", "valid_loss", "valid_acc"):
        np.testing.assert_array_equal(mixed.metrics[m][fresh, 0], straight[m][fresh, 0], err_msg=m)
    # the fresh member is not at its schedule's end: no test pass for it
    assert (
        np.isnan(mixed.metrics["test_acc"][fresh, 0])
        and np.isfinite(mixed.metrics["test_acc"][[0, 2], 0]).all()
    )
    # without epochs=, each member trains to its own schedule's end, all in one program
    to_end = population_trainer.train(
        arch, seeds, ops, start_epoch=[1, 0, 1], start_state=[half.states[0], None, half.states[2]]
    )
    assert to_end.trained_epochs.tolist() == [1, 2, 1]
    np.testing.assert_array_equal(to_end.metrics["valid_loss"][fresh], straight["valid_loss"][fresh])
    assert np.isnan(to_end.metrics["valid_loss"][[0, 2], 1]).all()


def test_train_members_mixes_epoch_counts_in_one_population_and_keeps_the_order(
    members, population_trainer, population_result
) -> None:  # type: ignore[no-untyped-def]
    arch, seeds, ops = members
    todo = [Member(int(arch[1]), int(seeds[1])), Member(int(arch[0]), int(seeds[0]), epochs=1)]
    res = train_members(
        NB201Space(), TINY, population_trainer.dataset, todo, population=population_trainer.population,
        layout=population_trainer.capacities, device=jax.local_devices()[0], keep_state=True,
    )  # fmt: skip
    assert res.arch_index.tolist() == [arch[1], arch[0]] and res.trained_epochs.tolist() == [2, 1]
    # one program for both: the one-epoch member's slot trains on unused for the second epoch
    assert res.timing["populations"] == 1 and res.timing["compile_s"] == 0
    assert not res.diverged.any() and np.isnan(res.metrics["time_s"][1, 1])
    # its state is the one after its own epoch: continuing from it trains as straight through
    more = train_members(
        NB201Space(), TINY, population_trainer.dataset,
        [Member(int(arch[0]), int(seeds[0]), start_epoch=1, epochs=1, start_state=res.states[1])],
        population=population_trainer.population, layout=population_trainer.capacities,
        device=jax.local_devices()[0],
    )  # fmt: skip
    np.testing.assert_allclose(
        more.metrics["valid_loss"][0, :1], population_result.metrics["valid_loss"][0, 1:2], rtol=1e-5
    )
    # other company in the slots: equal up to the order of float sums
    np.testing.assert_allclose(
        res.metrics["valid_loss"][0], population_result.metrics["valid_loss"][1], rtol=1e-5
    )
    np.testing.assert_allclose(
        res.metrics["valid_loss"][1, :1], population_result.metrics["valid_loss"][0, :1], rtol=1e-5
    )
    assert np.isnan(res.metrics["valid_loss"][1, 1])


def test_mixed_epoch_counts_charge_every_epoch_to_the_members_training_in_it() -> None:
    from nasbench.train.engine import finish_metrics

    out = {
        m: np.ones((3, 3), np.float32)
        for m in ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc", "time_s")
    }
    metrics, diverged = finish_metrics(
        out, np.array([3.0, 2.0, 4.0]), np.array([1.0, 1.0]), ends=np.array([1, 3])
    )
    # epoch 1: both members (1.5 s each); epochs 2 and 3: member 1 alone
    np.testing.assert_allclose(metrics["time_s"][1], [1.5, 3.5, 7.5])
    assert metrics["time_s"][0, 0] == 1.5 and np.isnan(metrics["time_s"][0, 1:]).all()
    assert not diverged.any()  # the unused epochs of member 0 are not a divergence
