"""The NAS-Bench-201 macro network, built from a cell (the cell itself builds nothing).

Stem (Conv3x3-BN) -> stage 1 cells -> reduction -> stage 2 cells -> reduction -> stage 3
cells -> BN-ReLU -> global average pooling -> dense classifier. Convolution ops are
ReLU-Conv-BN; ``avg_pool_3x3`` is stride-1 average pooling that ignores padding;
``skip_connect`` is the identity and ``none`` the zero tensor. Node ``j`` of a cell
sums one op per earlier node; the cell's output is node 3 (:func:`cell_output`, the one
walk of the cell graph).

:func:`forward` is the one forward pass the trainer runs: K members with stacked
parameters, the macro network written once, each cell's edges supplied by the caller
(the population's slot plan in :mod:`nasbench.train.population`, which the one-shot
supernet and the zero-cost proxies run too; a ``lax.switch`` per edge for latency,
:func:`switch_apply`).

:class:`NB201Network` (Flax) declares the parameters: with ``ops=None`` it is the
*supernet*, holding both convolution ops on every edge, and :func:`init_variables`
initialises every member from it (Flax derives each submodule's key from its name, so a
single architecture's own network holds exactly the subset its ops use, with identical
values). Its own ``__call__`` is the per-architecture reference (``mode="single"``, and
the tests' independent check of :func:`forward`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from nasbench.spaces.nb201 import CONV1, CONV3, EDGES, NONE, POOL, SKIP
from nasbench.train.recipe import Recipe

BN_EPS = 1e-5


# ---- parameter-free ops shared by the Flax network and the population forward -----------
def avg_pool3(x: jax.Array) -> jax.Array:
    """3x3 stride-1 average pooling, padding excluded from the mean. ``x``: ``(..., H, W, C)``."""
    nd = x.ndim
    window = (1,) * (nd - 3) + (3, 3, 1)
    pad = [(0, 0)] * (nd - 3) + [(1, 1), (1, 1), (0, 0)]
    total = lax.reduce_window(x, 0.0, lax.add, window, (1,) * nd, pad)
    ones = jnp.ones((1, *x.shape[-3:-1], 1), x.dtype)
    count = lax.reduce_window(
        ones, 0.0, lax.add, (1, 3, 3, 1), (1, 1, 1, 1), [(0, 0), (1, 1), (1, 1), (0, 0)]
    )
    return total / count.reshape(count.shape[1:])


def avg_pool2(x: jax.Array) -> jax.Array:
    """2x2 stride-2 average pooling; an odd size keeps its last row/column (``ceil(H/2)``)."""
    nd = x.ndim
    h, w = x.shape[-3], x.shape[-2]
    window = (1,) * (nd - 3) + (2, 2, 1)
    pad = [(0, 0)] * (nd - 3) + [(0, h % 2), (0, w % 2), (0, 0)]
    total = lax.reduce_window(x, 0.0, lax.add, window, window, pad)
    ones = jnp.ones((1, h, w, 1), x.dtype)
    count = lax.reduce_window(ones, 0.0, lax.add, (1, 2, 2, 1), (1, 2, 2, 1), [(0, 0), *pad[-3:-1], (0, 0)])
    return total / count.reshape(count.shape[1:])


def cell_output(x: jax.Array, add_edge: Callable[[int, jax.Array, jax.Array], jax.Array]) -> jax.Array:
    """The one walk of an NB201 cell's graph: node ``j`` sums one op per earlier node, the
    output is node 3. ``add_edge(k, h, acc)`` returns ``acc`` with edge ``k``'s op applied
    to ``h`` (its source node) added; edges are visited in :data:`EDGES` order per node.
    Shared by the Flax network, the population forward and the latency program."""
    nodes = [x]
    for j in range(1, 4):
        acc = jnp.zeros_like(x)
        for k, (to, frm) in enumerate(EDGES):
            if to == j:
                acc = add_edge(k, nodes[frm], acc)
        nodes.append(acc)
    return nodes[3]


# ---- the functional forward pass (the one NB201 forward of the trainer) -------------------
#: Below this many output pixels a 3x3 convolution over slots runs as one batched
#: im2col matmul; above it as one XLA convolution per slot (measured faster on CPU).
IM2COL_MAX_PIXELS = 15

#: ``tap(pre_activation, members)``: see :func:`forward`'s ``relu_tap``.
ReluTap = Callable[[jax.Array, "jax.Array | None"], None]
#: ``cell(params, stats, h, train, momentum, tap) -> (h, new_stats)`` of one cell, ``h``
#: ``(K, B, H, W, C)``: how the edges of a population's cells run (slots, a switch).
CellFn = Callable[[dict, dict, jax.Array, bool, float, "ReluTap | None"], tuple[jax.Array, dict]]


def conv(x: jax.Array, w: jax.Array, stride: int, xla: bool = False) -> jax.Array:
    """Per-slot convolution (no bias, padding ``k // 2``). ``x``: ``(S, B, H, W, C)``; ``w``: ``(S, k, k, C, O)``.

    Training picks per shape what runs fastest over many slots (a matmul for 1x1 and for
    3x3 on small maps); ``xla`` runs every convolution as XLA's convolution, one per
    slot, as a deployed network (``flax.linen.Conv``) does: what latency times.
    """
    s, _, h, wd, c = x.shape
    k = w.shape[1]
    p = k // 2
    if xla:
        return jnp.stack(
            [
                lax.conv_general_dilated(
                    x[i], w[i], (stride, stride), ((p, p), (p, p)), dimension_numbers=("NHWC", "HWIO", "NHWC")
                )
                for i in range(s)
            ]
        )
    if k == 1:
        if stride > 1:
            x = x[:, :, ::stride, ::stride]
        return jnp.einsum("sbhwc,sco->sbhwo", x, w[:, 0, 0])
    ho, wo = (h + 2 * p - k) // stride + 1, (wd + 2 * p - k) // stride + 1
    if ho * wo > IM2COL_MAX_PIXELS:
        return jnp.stack(
            [
                lax.conv_general_dilated(
                    x[i], w[i], (stride, stride), ((p, p), (p, p)), dimension_numbers=("NHWC", "HWIO", "NHWC")
                )
                for i in range(s)
            ]
        )
    xp = jnp.pad(x, ((0, 0), (0, 0), (p, p), (p, p), (0, 0)))
    cols = jnp.concatenate(
        [
            xp[:, :, i : i + stride * (ho - 1) + 1 : stride, j : j + stride * (wo - 1) + 1 : stride]
            for i in range(k)
            for j in range(k)
        ],
        axis=-1,
    )
    return jnp.einsum("sbhwi,sio->sbhwo", cols, w.reshape(s, k * k * c, -1))


def bn(p: dict, st: dict, y: jax.Array, train: bool, momentum: float) -> tuple[jax.Array, dict]:
    """Batch norm per slot, as ``flax.linen.BatchNorm`` computes it. ``y``: ``(S, ..., C)``."""
    axes = tuple(range(1, y.ndim - 1))
    if train:
        mean = y.mean(axes)
        var = jnp.maximum(0.0, (y * y).mean(axes) - mean * mean)
        new = {
            "mean": momentum * st["mean"] + (1 - momentum) * mean,
            "var": momentum * st["var"] + (1 - momentum) * var,
        }
    else:
        mean, var, new = st["mean"], st["var"], st
    shape = (y.shape[0],) + (1,) * (y.ndim - 2) + (y.shape[-1],)
    mul = lax.rsqrt(var + BN_EPS) * p["scale"]
    return (y - mean.reshape(shape)) * mul.reshape(shape) + p["bias"].reshape(shape), new


def relu_conv_bn(
    p: dict,
    st: dict,
    x: jax.Array,
    stride: int,
    train: bool,
    m: float,
    tap: ReluTap | None = None,
    members: jax.Array | None = None,
    xla: bool = False,
) -> tuple[jax.Array, dict]:
    """ReLU -> convolution -> batch norm over slots (:class:`ReLUConvBN`'s computation)."""
    if tap is not None:
        tap(x, members)
    y = conv(jax.nn.relu(x), p["conv"]["kernel"], stride, xla)
    y, new = bn(p["bn"], st["bn"], y, train, m)
    return y, {"bn": new}


def forward(
    params: dict,
    stats: dict,
    x: jax.Array,
    recipe: Recipe,
    train: bool,
    cell: CellFn,
    relu_tap: ReluTap | None = None,
    xla_conv: bool = False,
) -> tuple[jax.Array, dict]:
    """The NB201 macro network of K members, the one forward pass of the trainer.

    Stem, stages of cells with reductions between them, head; ``cell`` runs the edges
    of each cell (the population's slot plan, or the latency program's switch).

    Args:
        params, stats: supernet ``params`` / ``batch_stats`` trees with a leading K axis.
        x: ``(K, B, H, W, C)`` images (each member its own batch).
        train: batch statistics (and updated running averages) if True.
        relu_tap: called at trace time with the input of every ReLU, ``(S, B, H, W, C)``,
            and the member of each row: ``(S,)`` int32 slot ids (``K`` = a padding row)
            or ``None`` when the rows are the members ``0..K-1``.
        xla_conv: every convolution of the stem and reductions as XLA's (:func:`conv`);
            the cells' convolutions are ``cell``'s.

    Returns:
        logits ``(K, B, classes)`` and the new ``batch_stats`` tree.
    """
    m = recipe.bn_momentum
    new: dict[str, Any] = {}
    y = conv(x, params["stem"]["conv"]["kernel"], 1, xla_conv)
    h, st = bn(params["stem"]["bn"], stats["stem"]["bn"], y, train, m)
    new["stem"] = {"bn": st}
    for s in range(len(recipe.channels)):
        if s > 0:
            name = f"reduce{s}"
            if recipe.reduction == "residual":
                pa, sa = params[name], stats[name]
                y, na = relu_conv_bn(pa["conv_a"], sa["conv_a"], h, 2, train, m, relu_tap, None, xla_conv)
                y, nb = relu_conv_bn(pa["conv_b"], sa["conv_b"], y, 1, train, m, relu_tap, None, xla_conv)
                h = y + conv(avg_pool2(h), pa["shortcut"]["kernel"], 1, xla_conv)
                new[name] = {"conv_a": na, "conv_b": nb}
            else:
                h, np_ = relu_conv_bn(
                    params[name]["proj"],
                    stats[name]["proj"],
                    avg_pool2(h),
                    1,
                    train,
                    m,
                    relu_tap,
                    None,
                    xla_conv,
                )
                new[name] = {"proj": np_}
        for i in range(recipe.cells_per_stage):
            name = f"cell{s}_{i}"
            h, new[name] = cell(params[name], stats[name], h, train, m, relu_tap)
    h, new["head_bn"] = bn(params["head_bn"], stats["head_bn"], h, train, m)
    if relu_tap is not None:
        relu_tap(h, None)
    h = jax.nn.relu(h).mean(axis=(2, 3))
    logits = (
        jnp.einsum("kbc,kcn->kbn", h, params["classifier"]["kernel"])
        + params["classifier"]["bias"][:, None, :]
    )
    return logits, new


def switch_cell(ops: jax.Array) -> CellFn:
    """The cell of one member (K = 1) whose ``ops`` ``(6,)`` are chosen at run time: every
    edge is a ``lax.switch`` on its op id, so only the chosen op executes (evaluation,
    XLA convolutions as the deployed network runs them)."""

    def cell(
        p: dict, st: dict, h: jax.Array, train: bool, m: float, tap: ReluTap | None
    ) -> tuple[jax.Array, dict]:
        def add_edge(k: int, h: jax.Array, acc: jax.Array) -> jax.Array:
            def conv_op(kernel: int) -> Callable[[jax.Array], jax.Array]:
                name = f"e{k}_conv{kernel}"
                return lambda h: relu_conv_bn(p[name], st[name], h, 1, False, m, xla=True)[0]

            branches: list[Callable[[jax.Array], jax.Array]] = [jnp.zeros_like] * 5
            branches[SKIP] = lambda h: h
            branches[CONV1] = conv_op(1)
            branches[CONV3] = conv_op(3)
            branches[POOL] = avg_pool3
            return acc + lax.switch(ops[k], branches, h)

        return cell_output(h, add_edge), st

    return cell


def switch_apply(variables: dict[str, Any], ops: jax.Array, x: jax.Array, recipe: Recipe) -> jax.Array:
    """Evaluation forward of the network whose cell is ``ops`` ``(6,)``, chosen at run time
    (:func:`forward` with :func:`switch_cell`; the latency program of the whole space).

    Args:
        variables: the supernet's ``{'params', 'batch_stats'}`` (:func:`init_variables`
            with ``ops=None``, no K axis); a cell's own network holds a subset of them
            under the same names.
        x: ``(B, H, W, C)`` images.

    Returns:
        logits ``(B, n_classes)``, equal to ``NB201Network(recipe, n_classes, ops).apply``
        on the same variables.
    """
    one = jax.tree_util.tree_map(lambda a: a[None], (variables["params"], variables["batch_stats"]))
    return forward(*one, x[None], recipe, False, switch_cell(ops), xla_conv=True)[0][0]


# ---- Flax modules ------------------------------------------------------------------------


def batch_norm(momentum: float, train: bool, name: str = "bn") -> nn.BatchNorm:
    """The network's batch norm (running averages for evaluation, epsilon :data:`BN_EPS`)."""
    return nn.BatchNorm(use_running_average=not train, momentum=momentum, epsilon=BN_EPS, name=name)


class ReLUConvBN(nn.Module):
    """ReLU -> Conv (no bias, padding k//2) -> BatchNorm."""

    features: int
    kernel: int
    stride: int = 1
    bn_momentum: float = 0.9

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        p = self.kernel // 2
        x = nn.relu(x)
        x = nn.Conv(
            self.features,
            (self.kernel, self.kernel),
            strides=(self.stride, self.stride),
            padding=((p, p), (p, p)),
            use_bias=False,
            name="conv",
        )(x)
        return batch_norm(self.bn_momentum, train)(x)


class Stem(nn.Module):
    features: int
    bn_momentum: float = 0.9

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        x = nn.Conv(self.features, (3, 3), padding=((1, 1), (1, 1)), use_bias=False, name="conv")(x)
        return batch_norm(self.bn_momentum, train)(x)


class ResidualReduction(nn.Module):
    """NAS-Bench-201's reduction: ReLUConvBN 3x3/2 -> ReLUConvBN 3x3, plus AvgPool2 -> Conv1x1."""

    features: int
    bn_momentum: float = 0.9

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        y = ReLUConvBN(self.features, 3, 2, self.bn_momentum, name="conv_a")(x, train)
        y = ReLUConvBN(self.features, 3, 1, self.bn_momentum, name="conv_b")(y, train)
        s = nn.Conv(self.features, (1, 1), use_bias=False, name="shortcut")(avg_pool2(x))
        return y + s


class PoolReduction(nn.Module):
    """The digits recipe's reduction: AvgPool2 -> ReLU-Conv1x1-BN."""

    features: int
    bn_momentum: float = 0.9

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        return ReLUConvBN(self.features, 1, 1, self.bn_momentum, name="proj")(avg_pool2(x), train)


class Cell(nn.Module):
    """An NB201 cell. ``ops=None`` builds every parametric op (supernet, for initialisation)."""

    ops: tuple[int, ...] | None
    features: int
    bn_momentum: float = 0.9

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        def conv(k: int, kernel: int) -> ReLUConvBN:
            return ReLUConvBN(self.features, kernel, 1, self.bn_momentum, name=f"e{k}_conv{kernel}")

        def add_edge(k: int, h: jax.Array, acc: jax.Array) -> jax.Array:
            if self.ops is None:  # supernet: every op, summed (only used by init)
                return acc + conv(k, 1)(h, train) + conv(k, 3)(h, train) + avg_pool3(h) + h
            op = self.ops[k]
            if op == SKIP:
                return acc + h
            if op == CONV1:
                return acc + conv(k, 1)(h, train)
            if op == CONV3:
                return acc + conv(k, 3)(h, train)
            if op == POOL:
                return acc + avg_pool3(h)
            return acc  # NONE adds nothing

        return cell_output(x, add_edge)


class NB201Network(nn.Module):
    """The macro network for one cell (``ops``) or the supernet (``ops=None``).

    Input ``(B, H, W, C)`` images; output ``(B, n_classes)`` logits.
    """

    recipe: Recipe
    n_classes: int
    ops: tuple[int, ...] | None = None

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        r = self.recipe
        m = r.bn_momentum
        x = Stem(r.channels[0], m, name="stem")(x, train)
        for s, c in enumerate(r.channels):
            if s > 0:
                block = ResidualReduction if r.reduction == "residual" else PoolReduction
                x = block(c, m, name=f"reduce{s}")(x, train)
            for i in range(r.cells_per_stage):
                x = Cell(self.ops, c, m, name=f"cell{s}_{i}")(x, train)
        x = batch_norm(m, train, "head_bn")(x)
        x = nn.relu(x).mean(axis=(-3, -2))
        return nn.Dense(self.n_classes, name="classifier")(x)


def init_variables(
    key: jax.Array,
    recipe: Recipe,
    image_shape: Sequence[int],
    n_classes: int,
    ops: tuple[int, ...] | None = None,
) -> dict[str, Any]:
    """``{'params': ..., 'batch_stats': ...}`` for one network (the supernet if ``ops`` is None)."""
    net = NB201Network(recipe, n_classes, ops)
    return net.init(key, jnp.zeros((1, *image_shape), jnp.float32), train=False)


# ---- analytic cost ----------------------------------------------------------------------
def spatial_sizes(image_shape: Sequence[int]) -> list[tuple[int, int]]:
    """(H, W) of the three stages."""
    h, w = int(image_shape[0]), int(image_shape[1])
    out = [(h, w)]
    for _ in range(2):
        h, w = (h + 1) // 2, (w + 1) // 2
        out.append((h, w))
    return out


def arch_cost(
    recipe: Recipe, ops: Sequence[int], image_shape: Sequence[int], n_classes: int
) -> dict[str, float]:
    """Parameters and forward FLOPs per image (2 x multiply-adds of convs and the classifier).

    Counts every op of the cell, also ops on edges no input-to-output path uses (as
    NAS-Bench-201 does).
    """
    r = recipe
    c_in = int(image_shape[2])
    sizes = spatial_sizes(image_shape)
    c0 = r.channels[0]
    h, w = sizes[0]
    params = 9 * c_in * c0 + 2 * c0
    flops = 2 * 9 * c_in * c0 * h * w
    for s, c in enumerate(r.channels):
        h, w = sizes[s]
        if s > 0:
            cp = r.channels[s - 1]
            if r.reduction == "residual":
                params += 9 * cp * c + 2 * c + 9 * c * c + 2 * c + cp * c
                flops += 2 * h * w * (9 * cp * c + 9 * c * c + cp * c)
            else:
                params += cp * c + 2 * c
                flops += 2 * h * w * cp * c
        n1 = sum(1 for o in ops if o == CONV1)
        n3 = sum(1 for o in ops if o == CONV3)
        params += r.cells_per_stage * (n1 * (c * c + 2 * c) + n3 * (9 * c * c + 2 * c))
        flops += r.cells_per_stage * 2 * h * w * (n1 * c * c + n3 * 9 * c * c)
    c2 = r.channels[2]
    params += 2 * c2 + c2 * n_classes + n_classes
    flops += 2 * c2 * n_classes
    return {"params": float(params), "flops": float(flops)}


def count_params(params: Any) -> int:
    return int(sum(x.size for x in jax.tree_util.tree_leaves(params)))


__all__ = [
    "NB201Network",
    "bn",
    "cell_output",
    "conv",
    "forward",
    "relu_conv_bn",
    "switch_apply",
    "switch_cell",
    "ReLUConvBN",
    "Cell",
    "Stem",
    "ResidualReduction",
    "PoolReduction",
    "arch_cost",
    "init_variables",
    "count_params",
    "spatial_sizes",
    "avg_pool3",
    "avg_pool2",
    "NONE",
]
