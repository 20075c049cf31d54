"""Measured latency: the NB201 switch program computes each cell's own network, MLPs time
their own network, columns carry the platform, and bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from nasbench.core.errors import ArchitectureError, ConfigError  # noqa: E402
from nasbench.spaces.mlp import mlp_space  # noqa: E402
from nasbench.spaces.nb201 import Cell, NB201Space  # noqa: E402
from nasbench.train.latency import measure_latency, nb201_switch_apply  # noqa: E402
from nasbench.train.model import NB201Network, init_variables  # noqa: E402
from nasbench.train.population import platform_name  # noqa: E402
from nasbench.train.recipe import PRESETS  # noqa: E402

SMALL = PRESETS["digits"].replace(channels=(4, 4, 8))
CELLS = [
    "|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_3x3~0|none~1|nor_conv_1x1~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|",
]


@pytest.mark.parametrize("reduction", ["pool", "residual"])
def test_switch_program_equals_each_cells_own_network(reduction: str) -> None:
    recipe = SMALL.replace(reduction=reduction)
    sup = init_variables(jax.random.key(1), recipe, (5, 5, 1), 3)
    # non-trivial statistics, so a wrong batch-norm lookup shows
    stats = jax.tree_util.tree_map(
        lambda a: a + 0.3 * jnp.arange(a.size).reshape(a.shape) / a.size, sup["batch_stats"]
    )
    sup = {"params": sup["params"], "batch_stats": stats}
    x = jax.random.normal(jax.random.key(2), (4, 5, 5, 1))
    fn = jax.jit(lambda v, o, x: nb201_switch_apply(v, o, x, recipe, 3))
    for text in CELLS:
        ops = Cell.from_string(text).ops
        own = NB201Network(recipe, 3, ops).apply(sup, x, train=False)
        got = fn(sup, jnp.asarray(ops, jnp.int32), x)
        np.testing.assert_allclose(np.asarray(got), np.asarray(own), rtol=1e-5, atol=1e-5)


def test_nb201_latency_orders_empty_cell_below_all_conv3() -> None:
    space = NB201Space()
    empty, conv3 = (
        space.index(CELLS[1]),
        space.index(
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
        ),
    )
    lat = measure_latency(
        space, [empty, conv3], (8, 8, 1), 10, recipe=PRESETS["digits"], batch_sizes=(64,), repeats=15
    )
    assert lat.ms.shape == (2, 1)
    assert lat.ms[0, 0] < lat.ms[1, 0]  # six 3x3 convolutions per cell cost more than none
    assert lat.metadata()["platform"] == platform_name(jax.local_devices()[0])
    with pytest.raises(ConfigError, match="recipe"):
        measure_latency(space, [empty], (8, 8, 1), 10)


def test_mlp_latency_is_measured_per_network_with_its_platform() -> None:
    space = mlp_space()
    a = space.index("layers=1,units_1=16,activation=relu,dropout=0.0")
    b = space.index("layers=1,units_1=16,activation=relu,dropout=0.4")  # same network in evaluation
    c = space.index("layers=3,units_1=32,units_2=16,units_3=64,activation=gelu,dropout=0.2")
    lat = measure_latency(space, [a, b, c], (3, 3, 1), 4, batch_sizes=(1, 8), repeats=3)
    assert lat.ms.shape == (3, 2) and (lat.ms > 0).all() and lat.repeats == 3
    np.testing.assert_array_equal(lat.ms[0], lat.ms[1])
    assert set(lat.columns()) == {"latency_ms_b1", "latency_ms_b8"}
    assert lat.platform == platform_name(jax.local_devices()[0])
    with pytest.raises(ArchitectureError):
        measure_latency(space, [-1], (3, 3, 1), 4, repeats=1)
    with pytest.raises(ConfigError, match="repeats"):
        measure_latency(space, [a], (3, 3, 1), 4, repeats=0)


def test_estimate_latency_then_attach_gives_a_table_latency_columns(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    import json

    from conftest import write_tiny_npz

    from nasbench.cli import main
    from nasbench.tables.scores import score_metadata
    from nasbench.tables.table import ResultTable

    npz = write_tiny_npz(tmp_path / "tiny.npz")
    space = mlp_space()
    configs = [
        "layers=1,units_1=16,activation=relu,dropout=0.0",
        "layers=2,units_1=128,units_2=128,activation=gelu,dropout=0.2",
    ]
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(configs) + "\n")
    out = tmp_path / "lat.parquet"
    base = ["estimate", "latency", "--space", "mlp", "--dataset", f"npz:{npz}", "--archs", str(archs)]
    assert main([*base, "--batch-sizes", "1,32", "--repeats", "5", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["archs"] == 2 and summary["batch_sizes"] == [1, 32]
    meta = score_metadata(out)
    assert meta["larger_is_better"] is False and meta["latency"]["platform"] == summary["platform"]
    # a table on the same architectures, from a tiny build, takes the columns
    table_path = tmp_path / "t.parquet"
    build = ["build", "--space", "mlp", "--dataset", f"npz:{npz}", "--recipe", "digits", "--epochs", "1",
             "--set", "n_train=null", "--set", "n_valid=null", "--set", "n_test=null", "--set", "batch_size=16",
             "--archs", str(archs), "--population", "2", "--out", str(table_path), "--quiet"]  # fmt: skip
    assert main(build) == 0
    attached = tmp_path / "t2.parquet"
    assert main(["estimate", "attach", str(table_path), "--scores", str(out), "--out", str(attached)]) == 0
    t = ResultTable.load(attached)
    order = [space.index(c) for c in configs]
    for b in (1, 32):
        col = dict(zip(t.arch_index.tolist(), t.arch_columns[f"latency_ms_b{b}"]))
        assert all(col[i] > 0 for i in order)
    assert t.metadata["latency"]["platform"] == summary["platform"]
    capsys.readouterr()
    assert main(["info", str(attached)]) == 0
    shown = capsys.readouterr().out
    assert "latency_ms_b1, latency_ms_b32" in shown and f"measured on {summary['platform']}" in shown
    # bad input: one line, exit 2, nothing written
    capsys.readouterr()
    bad = tmp_path / "bad.parquet"
    assert main([*base, "--batch-sizes", "1,x", "--out", str(bad)]) == 2
    assert main([*base, "--repeats", "0", "--out", str(bad)]) == 2
    assert main(["estimate", "latency", "--space", "declared", "--out", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "--batch-sizes" in err[0] and "repeats" in err[1] and "declared" in err[2], err
    assert not bad.exists()
