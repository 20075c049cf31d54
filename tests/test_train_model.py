"""The Flax NB201 network: shapes, parameter counts, supernet/architecture consistency."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from nasbench.spaces.nb201 import Cell  # noqa: E402
from nasbench.train.model import NB201Network, arch_cost, avg_pool2, count_params, init_variables  # noqa: E402
from nasbench.train.recipe import PRESETS, Recipe  # noqa: E402

ALL_CONV3 = (3, 3, 3, 3, 3, 3)
ALL_NONE = (0, 0, 0, 0, 0, 0)
MIXED = Cell.from_string(
    "|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_3x3~0|none~1|nor_conv_1x1~2|"
).ops


def test_nb201_recipe_matches_published_parameter_count() -> None:
    # NAS-Bench-201's largest CIFAR-10 network (all 3x3 convolutions) has 1,531,546 parameters (1.53 MB).
    shapes = jax.eval_shape(
        lambda: init_variables(jax.random.key(0), PRESETS["nb201"], (32, 32, 3), 10, ALL_CONV3)
    )
    assert count_params(shapes["params"]) == 1_531_546
    assert arch_cost(PRESETS["nb201"], ALL_CONV3, (32, 32, 3), 10)["params"] == 1_531_546


@pytest.mark.parametrize("ops", [ALL_CONV3, ALL_NONE, MIXED])
@pytest.mark.parametrize("reduction", ["pool", "residual"])
def test_parameter_count_matches_analytic_count(ops: tuple[int, ...], reduction: str) -> None:
    r = PRESETS["digits"].replace(reduction=reduction, cells_per_stage=2)
    shapes = jax.eval_shape(lambda: init_variables(jax.random.key(0), r, (8, 8, 1), 10, ops))
    assert count_params(shapes["params"]) == arch_cost(r, ops, (8, 8, 1), 10)["params"]


def test_costs_order_architectures() -> None:
    r = PRESETS["digits"]
    none, mixed, conv3 = (arch_cost(r, o, (8, 8, 1), 10) for o in (ALL_NONE, MIXED, ALL_CONV3))
    assert none["params"] < mixed["params"] < conv3["params"]
    assert none["flops"] < mixed["flops"] < conv3["flops"]


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(8, 8, 1), (7, 9, 3)])
def test_forward_shape(shape: tuple[int, int, int]) -> None:
    r = Recipe(channels=(4, 8, 8), cells_per_stage=1, reduction="residual")
    net = NB201Network(r, 5, MIXED)
    v = init_variables(jax.random.key(0), r, shape, 5, MIXED)
    x = np.ones((3, *shape), np.float32)
    logits, upd = net.apply(v, x, train=True, mutable=["batch_stats"])
    assert logits.shape == (3, 5)
    assert np.all(np.isfinite(np.asarray(logits)))
    assert set(upd["batch_stats"]) == set(v["batch_stats"])


def test_odd_sizes_pool_to_ceil() -> None:
    assert avg_pool2(np.ones((2, 7, 5, 3), np.float32)).shape == (2, 4, 3, 3)


def test_architecture_network_is_a_subset_of_the_supernet() -> None:
    r = Recipe(channels=(4, 8, 8), cells_per_stage=1, reduction="pool")
    sup = init_variables(jax.random.key(3), r, (8, 8, 1), 10)
    own = init_variables(jax.random.key(3), r, (8, 8, 1), 10, MIXED)
    flat_sup = dict(jax.tree_util.tree_flatten_with_path(sup)[0])
    flat_own = jax.tree_util.tree_flatten_with_path(own)[0]
    assert len(flat_own) < len(flat_sup)
    for path, leaf in flat_own:
        np.testing.assert_array_equal(flat_sup[path], leaf)
    # the cell holds exactly its ops' parameters
    assert sorted(own["params"]["cell0_0"]) == ["e0_conv1", "e3_conv3", "e5_conv1"]
