"""Zero-cost proxies: the population program equals one network at a time, seeds, properties, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from conftest import assert_one_line_error, run_cli, write_tiny_npz  # noqa: E402

from nasbench.core.errors import ConfigError  # noqa: E402
from nasbench.spaces.nb201 import Cell, NB201Space  # noqa: E402
from nasbench.tables.scores import score_metadata as read_scores_metadata  # noqa: E402
from nasbench.train.data import load_dataset  # noqa: E402
from nasbench.train.model import arch_cost  # noqa: E402
from nasbench.train.proxies import (  # noqa: E402
    PROXIES,
    InputSpec,
    jacob_cov_score,
    naswot_score,
    proxy_scores,
    resolve_proxies,
)
from nasbench.train.recipe import PRESETS  # noqa: E402

TINY = PRESETS["digits"].replace(
    channels=(4, 8, 8), epochs=2, n_train=None, n_valid=None, n_test=None, batch_size=16, eval_batch_size=48
)
CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|nor_conv_1x1~0|+|none~0|nor_conv_3x3~1|+|none~0|skip_connect~1|nor_conv_1x1~2|",
]
SPACE = NB201Space()
ARCHS = np.array([Cell.from_string(c).index for c in CELLS])
BATCH = 16


@pytest.fixture(scope="module")
def npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_npz(tmp_path_factory.mktemp("data") / "tiny.npz")


@pytest.fixture(scope="module")
def dataset(npz: Path):  # type: ignore[no-untyped-def]
    return load_dataset(f"npz:{npz}", TINY)


@pytest.fixture(scope="module")
def together(dataset):  # type: ignore[no-untyped-def]
    """All proxies of the four cells in one population."""
    return proxy_scores(SPACE, ARCHS, TINY, dataset, seed=3, batch=BATCH, population=4)


def _close(a: np.ndarray, b: np.ndarray, rtol: float = 2e-4) -> None:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
    np.testing.assert_array_equal(a[~np.isfinite(a)], b[~np.isfinite(b)])
    np.testing.assert_allclose(a[np.isfinite(a)], b[np.isfinite(b)], rtol=rtol, atol=1e-6)


def test_population_equals_one_cell_at_a_time(together, dataset) -> None:  # type: ignore[no-untyped-def]
    assert list(together.columns) == ["arch", "arch_index", *PROXIES]
    assert together["arch"].tolist() == CELLS
    alone = [proxy_scores(SPACE, [a], TINY, dataset, seed=3, batch=BATCH, population=1) for a in ARCHS]
    for p in PROXIES:
        _close(together[p].to_numpy(), np.array([df[p].iloc[0] for df in alone]))


# ---- an independent reference: each cell's own Flax network (nasbench.train.model) ----------
def _reference(arch: int, dataset, seed: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The published definitions on one architecture's own Flax network."""
    import flax.linen as nn
    import jax.numpy as jnp

    from nasbench.train.model import BN_EPS, NB201Network, ReLUConvBN, init_variables
    from nasbench.train.population import member_key

    ops = tuple(int(o) for o in SPACE.op_matrix([arch])[0])
    net = NB201Network(TINY, dataset.n_classes, ops)
    v = init_variables(
        jax.random.fold_in(member_key(seed, arch), 0), TINY, dataset.image_shape, dataset.n_classes, ops
    )
    params, stats = v["params"], v["batch_stats"]
    pick = np.random.default_rng(seed).choice(len(dataset.y_train), BATCH, replace=False)
    xb, yb = jnp.asarray(dataset.x_train[pick]), jnp.asarray(dataset.y_train[pick])

    def weights(tree):  # type: ignore[no-untyped-def]
        flat = jax.tree_util.tree_flatten_with_path(tree)[0]
        return {jax.tree_util.keystr(p): a for p, a in flat if str(p[-1].key) == "kernel"}

    out = {}
    with jax.enable_x64(True):  # synflow: |theta| in float64, batch norm the identity, ones in
        p64 = jax.tree_util.tree_map_with_path(
            lambda path, a: (
                (jnp.ones_like(a) if path[-1].key == "scale" else jnp.zeros_like(a)).astype(jnp.float64)
                if any(getattr(k, "key", "") in ("bn", "head_bn") for k in path)
                else jnp.abs(a).astype(jnp.float64)
            ),
            params,
        )
        st = jax.tree_util.tree_map_with_path(
            lambda path, a: (
                jnp.zeros(a.shape, jnp.float64)
                if path[-1].key == "mean"
                else jnp.full(a.shape, 1 - BN_EPS, jnp.float64)
            ),
            stats,
        )
        ones = jnp.ones((1, *dataset.image_shape), jnp.float64)
        g = jax.grad(lambda p: net.apply({"params": p, "batch_stats": st}, ones, train=False).sum())(p64)
        w, gw = weights(p64), weights(g)
        out["synflow"] = float(sum(jnp.abs(w[k] * gw[k]).sum() for k in w))

    def logits_fn(p, x):  # type: ignore[no-untyped-def]
        return net.apply({"params": p, "batch_stats": stats}, x, train=True, mutable=["batch_stats"])[0]

    def loss(p):  # type: ignore[no-untyped-def]
        return -(jax.nn.log_softmax(logits_fn(p, xb)) * jax.nn.one_hot(yb, dataset.n_classes)).sum(-1).mean()

    g = jax.grad(loss)(params)
    w, gw = weights(params), weights(g)
    out["grad_norm"] = float(sum(jnp.linalg.norm(gw[k].ravel()) for k in w))
    out["snip"] = float(sum(jnp.abs(w[k] * gw[k]).sum() for k in w))
    jac = jax.grad(lambda x: logits_fn(params, x).sum())(xb)
    out["jacob_cov"] = jacob_cov_score(np.asarray(jac).reshape(BATCH, -1))

    pre = []  # the input of every ReLU: each ReLUConvBN's input and the head's batch-norm output

    def intercept(next_fun, args, kwargs, context):  # type: ignore[no-untyped-def]
        if isinstance(context.module, ReLUConvBN) and context.method_name == "__call__":
            pre.append(args[0])
        y = next_fun(*args, **kwargs)
        if context.module.name == "head_bn" and context.method_name == "__call__":
            pre.append(y)
        return y

    with nn.intercept_methods(intercept):
        logits_fn(params, xb)
    codes = [np.asarray(a).reshape(BATCH, -1) > 0 for a in pre]
    kern = sum(c.astype(float) @ c.T.astype(float) + (~c).astype(float) @ (~c).T.astype(float) for c in codes)
    out["naswot"] = naswot_score(kern)
    return out


def test_population_equals_each_cells_own_flax_network(together, dataset) -> None:  # type: ignore[no-untyped-def]
    for i in (0, 1, 3):
        ref = _reference(int(ARCHS[i]), dataset, seed=3)
        for p, value in ref.items():
            _close(together[p].iloc[i], value, rtol=2e-4 if p != "jacob_cov" else 1e-3)


def test_same_seed_same_scores_other_seed_differs(together, dataset) -> None:  # type: ignore[no-untyped-def]
    again = proxy_scores(SPACE, ARCHS, TINY, dataset, seed=3, batch=BATCH, population=4)
    other = proxy_scores(SPACE, ARCHS, TINY, dataset, seed=4, batch=BATCH, population=4)
    for p in PROXIES:
        np.testing.assert_array_equal(again[p].to_numpy(), together[p].to_numpy())
    for p in ("synflow", "grad_norm", "snip", "naswot"):
        assert not np.array_equal(other[p].to_numpy()[[0, 3]], together[p].to_numpy()[[0, 3]]), p


def test_known_properties(together, dataset) -> None:  # type: ignore[no-untyped-def]
    none_cell = CELLS.index("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    syn = together["synflow"].to_numpy()
    assert syn[none_cell] == 0 and np.all(syn[np.arange(len(syn)) != none_cell] > 0)
    assert together["grad_norm"].iloc[none_cell] == 0 and together["snip"].iloc[none_cell] == 0
    # its output ignores the input: no Jacobian correlation, identical activation patterns
    assert together["jacob_cov"].iloc[none_cell] == -np.inf and together["naswot"].iloc[none_cell] == -np.inf
    for i, ops in enumerate(SPACE.op_matrix(ARCHS)):
        cost = arch_cost(TINY, ops, dataset.image_shape, dataset.n_classes)
        assert together["params"].iloc[i] == cost["params"] and together["flops"].iloc[i] == cost["flops"]


def test_more_parameters_on_the_same_path_more_synflow() -> None:
    # 8x8 images: on 1x1 feature maps a 3x3 convolution would see only its centre tap
    spec = InputSpec((8, 8, 1), 3)
    # one path input -> output; a 3x3 convolution on it instead of a 1x1, or a wider network
    one = SPACE.index("|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|")
    three = SPACE.index("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
    for seed in (0, 1, 2):
        s = proxy_scores(SPACE, [one, three], TINY, spec, proxies="data-free", seed=seed)
        assert s["synflow"].iloc[1] > s["synflow"].iloc[0] > 0
        wide = proxy_scores(
            SPACE, [three], TINY.replace(channels=(8, 16, 16)), spec, proxies="synflow", seed=seed
        )
        assert wide["synflow"].iloc[0] > s["synflow"].iloc[1]


def test_bad_input_is_refused(dataset) -> None:  # type: ignore[no-untyped-def]
    spec = InputSpec((4, 4, 1), 3)
    with pytest.raises(ConfigError, match="need a dataset"):
        proxy_scores(SPACE, ARCHS, TINY, spec, proxies="all")
    with pytest.raises(ConfigError, match="unknown proxy"):
        resolve_proxies("synflow,zen")
    with pytest.raises(ConfigError, match="--batch"):
        proxy_scores(SPACE, ARCHS, TINY, dataset, proxies="snip", batch=10_000)
    with pytest.raises(ConfigError, match="input shape"):
        InputSpec((4, 4), 3)
    assert resolve_proxies("flops,data-free") == ("synflow", "params", "flops")


# ---- the command line ----------------------------------------------------------------------
def test_cli_bad_input_exits_2_with_one_line(tmp_path: Path, npz: Path) -> None:
    out = str(tmp_path / "s.parquet")
    shape = ["--input-shape", "4,4,1", "--classes", "3"]
    cases = [
        (["--recipe", "nb201", *shape], "need a dataset"),  # default --proxies all, no data
        (["--proxies", "synflow,zen", *shape], "unknown proxy"),
        (["--input-shape", "4,4", "--classes", "3", "--proxies", "data-free"], "--input-shape"),
        (["--dataset", f"npz:{npz}", *shape], "not both"),
        (["--proxies", "data-free"], "--input-shape"),
        (["--dataset", "cifar"], "unknown dataset"),
        (["--space", "nope", *shape, "--proxies", "data-free"], "unknown space"),
        (["--dataset", f"npz:{npz}", "--archs", "0"], "--archs"),
    ]
    for args, fragment in cases:
        assert_one_line_error(run_cli("estimate", "proxies", "--out", out, *args), fragment)
    assert not Path(out).exists()


@pytest.mark.slow
def test_cli_writes_scores_and_json(tmp_path: Path, npz: Path) -> None:
    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps(TINY.to_dict()))
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(CELLS[:3]) + "\n")
    out = tmp_path / "s.parquet"
    args = ["estimate", "proxies", "--dataset", f"npz:{npz}", "--recipe", str(recipe), "--archs", str(archs)]
    proc = run_cli(*args, "--seed", "3", "--batch", "16", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["archs"] == 3 and summary["proxies"] == list(PROXIES) and summary["populations"] == 1
    import pandas as pd

    df = pd.read_parquet(out)
    assert list(df.columns) == ["arch", "arch_index", *PROXIES]
    assert sorted(df["arch"]) == sorted(CELLS[:3])
    meta = read_scores_metadata(out)
    assert meta["seed"] == 3 and meta["batch"] == 16 and meta["larger_is_better"]
    # data-free, on a stated input
    free = tmp_path / "free.parquet"
    proc = run_cli(
        "estimate", "proxies", "--input-shape", "4,4,1", "--classes", "3", "--recipe", str(recipe),
        "--proxies", "data-free", "--archs", str(archs), "--out", str(free), "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout
    assert list(pd.read_parquet(free).columns) == ["arch", "arch_index", "synflow", "params", "flops"]


def test_help_lists_exit_codes() -> None:
    proc = run_cli("estimate", "proxies", "--help")
    assert proc.returncode == 0 and "Exit codes" in proc.stdout and "--input-shape" in proc.stdout
