"""Population training: K networks (architecture, seed) train together in one jitted program.

Every member has its own supernet-shaped parameters, batch-norm statistics, optimiser
state, initialisation and data order, all derived from its own key
``fold_in(key(seed), arch_index)``; nothing depends on which population it lands in.

Work sharing: on each edge, only the members whose cell uses a convolution there run it.
A *slot plan* lists, per edge and op (``e{k}_conv1``, ``e{k}_conv3``, ``e{k}_pool``), the
member ids that use it, padded with the out-of-range id ``K`` to a fixed capacity. The
forward pass gathers those members' activations and weights, runs one batched
convolution over the slots and scatter-adds the result back (padding slots are dropped).
Capacities are fixed for a whole build, so one compile serves every population.
Pooling gets slots too (on CPU its backward pass costs about as much as a convolution);
``skip_connect`` runs on all members, masked (one cheap elementwise pass).

Members never mix: every op is per member or per slot, so a member whose loss turns
NaN/inf poisons only itself; it is reported as diverged.

``mode="single"`` trains one architecture at a time with its own Flax network (jit per
architecture): the per-architecture reference that the benchmark compares against.
"""

from __future__ import annotations

import collections
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from nasbench.core.errors import ConfigError
from nasbench.core.metrics import METRICS
from nasbench.spaces.nb201 import CONV1, CONV3, N_EDGES, POOL, SKIP
from nasbench.train.data import Dataset
from nasbench.train.model import (
    BN_EPS,
    NB201Network,
    arch_cost,
    avg_pool2,
    avg_pool3,
    cell_output,
    init_variables,
    spatial_sizes,
)
from nasbench.train.recipe import Recipe

log = logging.getLogger(__name__)

_KINDS = (("conv1", CONV1), ("conv3", CONV3), ("pool", POOL))
SLOT_NAMES: tuple[str, ...] = tuple(f"e{k}_{name}" for k in range(N_EDGES) for name, _ in _KINDS)
_SLOT_OP = {f"e{k}_{name}": (k, op) for k in range(N_EDGES) for name, op in _KINDS}
#: Below this many output pixels a 3x3 convolution over slots runs as one batched
#: im2col matmul; above it as one XLA convolution per slot (measured faster on CPU).
_IM2COL_MAX_PIXELS = 15


# ---- slot plans and population partition -------------------------------------------------
def slot_demand(ops: np.ndarray) -> np.ndarray:
    """int32 ``(n, 12)``: which of the 12 slot kinds (:data:`SLOT_NAMES`) each cell uses."""
    ops = np.asarray(ops)
    cols = [(ops[:, k] == op) for k, op in (_SLOT_OP[n] for n in SLOT_NAMES)]
    return np.stack(cols, axis=1).astype(np.int32)


def partition(
    ops: np.ndarray, population: int, *, seed: int = 0, capacities: dict[str, int] | None = None
) -> tuple[list[np.ndarray], dict[str, int]]:
    """Split members into populations of at most ``population`` with fixed slot capacities.

    Capacities are the mean demand per population, rounded up; members are placed in a
    fixed shuffled order into the first population with room (first fit). The shuffle
    moves groups of identical cells (an architecture's seeds) together, so the first
    populations of a build are a random sample of whole architectures. Deterministic.

    Args:
        ops: int ``(n, 6)`` op ids of each member.
        population: members per population (K).
        capacities: fixed capacities by slot name (a live search keeps one compiled
            program); by default the mean demand per population, rounded up.

    Returns:
        (list of int64 member-position arrays, capacities by slot name).
    """
    d = slot_demand(ops)
    n = len(d)
    n_pop = max(1, -(-n // population))
    if capacities is None:
        cap = np.ceil(d.sum(0) / n_pop).astype(np.int64)
    else:
        cap = np.array([capacities[k] for k in SLOT_NAMES], np.int64)
        if n and (d > cap).any():
            raise ConfigError("a member needs a slot kind whose capacity is 0")
    _, group = np.unique(np.asarray(ops) @ (5 ** np.arange(N_EDGES)), return_inverse=True)
    group_rank = np.random.default_rng(seed).permutation(int(group.max()) + 1 if n else 0)
    order = np.lexsort((np.arange(n), group_rank[group]))
    loads = np.zeros((0, d.shape[1]), np.int64)
    sizes = np.zeros(0, np.int64)
    pops: list[list[int]] = []
    for i in order:
        ok = np.flatnonzero((sizes < population) & np.all(loads + d[i] <= cap, axis=1))
        if len(ok) == 0:
            loads = np.vstack([loads, np.zeros((1, d.shape[1]), np.int64)])
            sizes = np.append(sizes, 0)
            pops.append([])
            j = len(pops) - 1
        else:
            j = int(ok[0])
        loads[j] += d[i]
        sizes[j] += 1
        pops[j].append(int(i))
    return [np.sort(np.asarray(p, np.int64)) for p in pops], {k: int(c) for k, c in zip(SLOT_NAMES, cap)}


def make_plan(ops: np.ndarray, capacities: dict[str, int]) -> dict[str, Any]:
    """The slot plan of one population: ``{'ops': int32 (K, 6), 'slots': {name: int32 (cap,)}}``.

    Raises:
        ConfigError: a slot kind has more users than its capacity.
    """
    ops = np.asarray(ops, np.int32)
    k = len(ops)
    slots = {}
    for name in SLOT_NAMES:
        e, op = _SLOT_OP[name]
        users = np.flatnonzero(ops[:, e] == op).astype(np.int32)
        cap = capacities[name]
        if len(users) > cap:
            raise ConfigError(f"slot {name}: {len(users)} users exceed its capacity {cap}")
        slots[name] = np.concatenate([users, np.full(cap - len(users), k, np.int32)])
    return {"ops": ops, "slots": slots}


# ---- the population forward pass (stacked supernet parameters) -------------------------
def _conv(x: jax.Array, w: jax.Array, stride: int) -> jax.Array:
    """Per-slot convolution. ``x``: ``(S, B, H, W, C)``; ``w``: ``(S, k, k, C, O)``."""
    s, _, h, wd, c = x.shape
    k = w.shape[1]
    if k == 1:
        if stride > 1:
            x = x[:, :, ::stride, ::stride]
        return jnp.einsum("sbhwc,sco->sbhwo", x, w[:, 0, 0])
    p = k // 2
    ho, wo = (h + 2 * p - k) // stride + 1, (wd + 2 * p - k) // stride + 1
    if ho * wo > _IM2COL_MAX_PIXELS:
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


def _bn(p: dict, st: dict, y: jax.Array, train: bool, momentum: float) -> tuple[jax.Array, dict]:
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


#: ``tap(pre_activation, members)``: see :func:`population_apply`'s ``relu_tap``.
ReluTap = Callable[[jax.Array, "jax.Array | None"], None]


def _relu_conv_bn(
    p: dict,
    st: dict,
    x: jax.Array,
    stride: int,
    train: bool,
    m: float,
    tap: ReluTap | None = None,
    members: jax.Array | None = None,
) -> tuple[jax.Array, dict]:
    if tap is not None:
        tap(x, members)
    y = _conv(jax.nn.relu(x), p["conv"]["kernel"], stride)
    y, new = _bn(p["bn"], st["bn"], y, train, m)
    return y, {"bn": new}


def _take(tree: Any, idx: jax.Array) -> Any:
    return jax.tree_util.tree_map(lambda a: a[idx], tree)


def _cell(
    p: dict, st: dict, x: jax.Array, plan: dict, train: bool, m: float, tap: ReluTap | None = None
) -> tuple[jax.Array, dict]:
    k_members = x.shape[0]
    ops = plan["ops"]
    new_st = dict(st)
    bshape = (k_members,) + (1,) * (x.ndim - 1)

    def add_edge(k: int, h: jax.Array, acc: jax.Array) -> jax.Array:
        acc = acc + jnp.where((ops[:, k] == SKIP).reshape(bshape), h, 0.0)
        for kind, _ in _KINDS:
            name = f"e{k}_{kind}"
            idx = plan["slots"][name]
            if idx.shape[0] == 0:
                continue
            # padding slots read a real member (clamped) and are dropped on the way back
            g = jnp.minimum(idx, k_members - 1)
            if kind == "pool":
                acc = acc.at[idx].add(avg_pool3(h[g]), mode="drop")
                continue
            y, s_new = _relu_conv_bn(_take(p[name], g), _take(st[name], g), h[g], 1, train, m, tap, idx)
            acc = acc.at[idx].add(y, mode="drop")
            if train:
                new_st[name] = jax.tree_util.tree_map(
                    lambda full, upd, idx=idx: full.at[idx].set(upd, mode="drop"), st[name], s_new
                )
        return acc

    return cell_output(x, add_edge), new_st


def population_apply(
    params: dict,
    stats: dict,
    x: jax.Array,
    plan: dict,
    recipe: Recipe,
    train: bool,
    relu_tap: ReluTap | None = None,
) -> tuple[jax.Array, dict]:
    """Forward pass of K members.

    Args:
        params, stats: supernet ``params`` / ``batch_stats`` trees with a leading K axis.
        x: ``(K, B, H, W, C)`` images (each member its own batch).
        plan: slot plan from :func:`make_plan` (as arrays).
        train: batch statistics (and updated running averages) if True.
        relu_tap: called at trace time with the input of every ReLU, ``(S, B, H, W, C)``,
            and the member of each row: ``(S,)`` int32 slot ids (``K`` = a padding row)
            or ``None`` when the rows are the members ``0..K-1`` (zero-cost proxies read
            activation patterns this way); ``None`` traces exactly the same program.

    Returns:
        logits ``(K, B, classes)`` and the new ``batch_stats`` tree.
    """
    m = recipe.bn_momentum
    new: dict[str, Any] = {}
    h, new["stem"] = _stem(params["stem"], stats["stem"], x, train, m)
    for s in range(3):
        if s > 0:
            name = f"reduce{s}"
            if recipe.reduction == "residual":
                pa, sa = params[name], stats[name]
                y, na = _relu_conv_bn(pa["conv_a"], sa["conv_a"], h, 2, train, m, relu_tap)
                y, nb = _relu_conv_bn(pa["conv_b"], sa["conv_b"], y, 1, train, m, relu_tap)
                h = y + _conv(avg_pool2(h), pa["shortcut"]["kernel"], 1)
                new[name] = {"conv_a": na, "conv_b": nb}
            else:
                h, np_ = _relu_conv_bn(
                    params[name]["proj"], stats[name]["proj"], avg_pool2(h), 1, train, m, relu_tap
                )
                new[name] = {"proj": np_}
        for i in range(recipe.cells_per_stage):
            name = f"cell{s}_{i}"
            h, new[name] = _cell(params[name], stats[name], h, plan, train, m, relu_tap)
    h, new["head_bn"] = _bn(params["head_bn"], stats["head_bn"], h, train, m)
    if relu_tap is not None:
        relu_tap(h, None)
    h = jax.nn.relu(h).mean(axis=(2, 3))
    logits = (
        jnp.einsum("kbc,kcn->kbn", h, params["classifier"]["kernel"])
        + params["classifier"]["bias"][:, None, :]
    )
    return logits, new


def _stem(p: dict, st: dict, x: jax.Array, train: bool, m: float) -> tuple[jax.Array, dict]:
    y = _conv(x, p["conv"]["kernel"], 1)
    y, new = _bn(p["bn"], st["bn"], y, train, m)
    return y, {"bn": new}


# ---- training -----------------------------------------------------------------------------
def member_key(seed: int, arch_index: int) -> jax.Array:
    """The key a member's initialisation, data order and augmentation derive from."""
    return jax.random.fold_in(jax.random.key(int(seed)), int(arch_index))


@jax.jit
def _member_keys(seeds: jax.Array, archs: jax.Array) -> jax.Array:
    return jax.vmap(lambda s, a: jax.random.fold_in(jax.random.key(s), a))(seeds, archs)


def make_optimizer(recipe: Recipe, steps_per_epoch: int) -> optax.GradientTransformation:
    """``optax.chain(add_decayed_weights, sgd(schedule, momentum, nesterov))``."""
    total = recipe.epochs * steps_per_epoch
    warm = recipe.warmup_epochs * steps_per_epoch
    if recipe.schedule == "cosine":
        main = optax.cosine_decay_schedule(recipe.lr, max(1, total - warm))
    else:
        main = optax.constant_schedule(recipe.lr)
    sched = (
        optax.join_schedules([optax.linear_schedule(0.0, recipe.lr, warm), main], [warm]) if warm else main
    )
    return optax.chain(
        optax.add_decayed_weights(recipe.weight_decay),
        optax.sgd(sched, momentum=recipe.momentum or None, nesterov=recipe.nesterov and recipe.momentum > 0),
    )


def _augment(key: jax.Array, x: jax.Array, kind: str) -> jax.Array:
    """Random crop (zero-pad H//8) and optional horizontal flip of one batch ``(B, H, W, C)``."""
    if kind == "none":
        return x
    b, h, w, _ = x.shape
    pad = max(1, h // 8)
    kc, kf = jax.random.split(key)
    xp = jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    offs = jax.random.randint(kc, (b, 2), 0, 2 * pad + 1)
    x = jax.vmap(lambda im, o: lax.dynamic_slice(im, (o[0], o[1], 0), (h, w, im.shape[-1])))(xp, offs)
    if kind == "crop_flip":
        flip = jax.random.bernoulli(kf, 0.5, (b,))
        x = jnp.where(flip[:, None, None, None], x[:, :, ::-1], x)
    return x


ApplyFn = Callable[[dict, dict, jax.Array, dict, bool], tuple[jax.Array, dict]]


@dataclass(frozen=True)
class _Fns:
    """The pure functions of one training setup (compiled on first use)."""

    epoch_setup: Callable  # (keys, epoch) -> (epoch keys, perms (steps, K, B))
    step: Callable  # (state, plan, x, y, ekeys, perms, t) -> (state, loss (K,), acc (K,))
    epoch_scan: Callable  # (state, plan, x, y, ekeys, perms) -> (state, mean loss, mean acc)
    eval_batch: Callable  # (params, stats, plan, xs, ys, mask, i) -> (ce sum (K,), correct (K,)) of batch i
    steps: int


def _make_fns(apply_fn: ApplyFn, recipe: Recipe, n_train: int) -> _Fns:
    steps = max(1, n_train // recipe.batch_size)
    batch = min(recipe.batch_size, n_train)
    tx = make_optimizer(recipe, steps)
    smooth = recipe.label_smoothing

    def loss_fn(params, stats, xb, yb, plan):  # noqa: ANN001, ANN202
        logits, new_stats = apply_fn(params, stats, xb, plan, True)
        n_cls = logits.shape[-1]
        target = jax.nn.one_hot(yb, n_cls) * (1 - smooth) + smooth / n_cls
        losses = -(target * jax.nn.log_softmax(logits)).sum(-1).mean(-1)  # (K,)
        acc = 100.0 * (logits.argmax(-1) == yb).mean(-1)
        return losses.sum(), (losses, acc, new_stats)

    def epoch_setup(keys, epoch):  # noqa: ANN001, ANN202
        ekeys = jax.vmap(lambda k: jax.random.fold_in(k, epoch + 1))(keys)
        perms = jax.vmap(
            lambda k: jax.random.permutation(jax.random.fold_in(k, 0), n_train)[: steps * batch]
        )(ekeys)
        return ekeys, perms.reshape(len(keys), steps, batch).transpose(1, 0, 2)

    def step(state, plan, x, y, ekeys, perms, t):  # noqa: ANN001, ANN202
        params, stats, opt = state
        idx = perms[t]
        xb, yb = x[idx], y[idx]  # (K, B, ...): each member its own batch
        if recipe.augmentation != "none":
            akeys = jax.vmap(lambda k: jax.random.fold_in(k, t + 1))(ekeys)
            xb = jax.vmap(lambda k, im: _augment(k, im, recipe.augmentation))(akeys, xb)
        grads, (losses, acc, new_stats) = jax.grad(loss_fn, has_aux=True)(params, stats, xb, yb, plan)
        updates, opt = tx.update(grads, opt, params)
        params = optax.apply_updates(params, updates)
        return (params, new_stats, opt), losses, acc

    def epoch_scan(state, plan, x, y, ekeys, perms):  # noqa: ANN001, ANN202
        def body(carry, inp):  # noqa: ANN001, ANN202
            new, losses, acc = step(carry, plan, x, y, ekeys, perms, inp)
            return new, (losses, acc)

        state, (losses, acc) = lax.scan(body, state, jnp.arange(steps))
        return state, losses.mean(0), acc.mean(0)

    def eval_batch(params, stats, plan, xs, ys, mask, i):  # noqa: ANN001, ANN202
        xb, yb, mb = xs[i], ys[i], mask[i]
        k = jax.tree_util.tree_leaves(params)[0].shape[0]
        logits, _ = apply_fn(params, stats, jnp.broadcast_to(xb, (k, *xb.shape)), plan, False)
        ce = -jnp.take_along_axis(jax.nn.log_softmax(logits), yb[None, :, None], -1)[..., 0]
        correct = logits.argmax(-1) == yb[None]
        return (ce * mb).sum(-1), (correct * mb).sum(-1)

    return _Fns(epoch_setup, step, epoch_scan, eval_batch, steps)


def _batched_eval_arrays(
    x: np.ndarray, y: np.ndarray, batch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(y)
    batch = min(batch, n)
    nb = -(-n // batch)
    pad = nb * batch - n
    xs = np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)]).reshape(nb, batch, *x.shape[1:])
    ys = np.concatenate([y, np.zeros(pad, y.dtype)]).reshape(nb, batch)
    mask = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)]).reshape(nb, batch)
    return xs, ys, mask


# ---- results ------------------------------------------------------------------------------
@dataclass
class MemberResults:
    """Per-member curves of one population. Arrays are ``(K, E)`` float32 unless noted.

    ``time_s`` is cumulative training seconds (the member's FLOP-weighted share of the
    population's training time; evaluation excluded). ``diverged`` is bool ``(K,)``.
    """

    arch_index: np.ndarray
    seed: np.ndarray
    metrics: dict[str, np.ndarray]
    diverged: np.ndarray
    params: np.ndarray
    flops: np.ndarray
    timing: dict[str, float] = field(default_factory=dict)
    #: what trained the population (:func:`platform_name`); XLA rounds differently per CPU type
    platform: str = ""
    #: epochs the members had trained before this call: column ``j`` of the metrics is
    #: epoch ``first_epoch + j + 1``
    first_epoch: int = 0
    #: with ``keep_state=True``: each member's state after training, a flat ``{path: array}``
    #: (keyed as :func:`_state_leaves` names them); ``None`` otherwise
    states: list[dict[str, np.ndarray]] | None = None


def platform_name(device: Any) -> str:
    """The hardware a population trained on: ``"cpu: <CPU model> (<arch>)"`` or ``"gpu: <device kind>"``.

    Bit-exact results hold on one machine type only, so builds record it.
    """
    if device.platform != "cpu":
        return f"{device.platform}: {device.device_kind}"
    import platform

    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    except OSError:
        pass
    return f"cpu: {model or platform.processor() or 'unknown'} ({platform.machine()})"


def available_memory_bytes(device: Any) -> int | None:
    """Free memory for a device (accelerator limit, or the host's MemAvailable)."""
    try:
        stats = device.memory_stats()
    except Exception:  # CPU devices raise or return None
        stats = None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def estimate_memory_bytes(
    recipe: Recipe, image_shape: Sequence[int], population: int, eval_batch: int
) -> int:
    """Rough peak bytes of one population's training step and evaluation.

    Counts activations kept for the backward pass (about 40 feature maps per cell, from
    the per-edge ReLU, convolution, batch-norm, pooling and node sums) plus parameters
    and optimiser state.
    """
    sizes = spatial_sizes(image_shape)
    per_image = sum(
        h * w * c * (recipe.cells_per_stage * 40 + 12) for (h, w), c in zip(sizes, recipe.channels)
    )
    act = population * max(recipe.batch_size, eval_batch // 3) * per_image * 4
    c = recipe.channels
    sup = recipe.cells_per_stage * 6 * sum(10 * ch * ch for ch in c) + 20 * sum(
        a * b for a, b in zip(c, c[1:])
    )
    return int(1.5 * act + population * sup * 4 * 4)


def check_population_memory(recipe: Recipe, image_shape: Sequence[int], population: int, device: Any) -> None:
    """Refuse a population that would not fit in the device's free memory (80% of it).

    Raises:
        ConfigError: one line with the estimate, the free memory and a population that fits.
    """
    need = estimate_memory_bytes(recipe, image_shape, population, recipe.eval_batch_size)
    have = available_memory_bytes(device)
    if have is not None and need > 0.8 * have:
        fit = max(1, int(population * 0.8 * have / need))
        raise ConfigError(
            f"a population of {population} needs about {need / 2**30:.1f} GiB but only "
            f"{have / 2**30:.1f} GiB is free on {device.platform}; try --population {fit} or smaller"
        )


def call_compiled(
    cache: dict[Any, Any],
    tag: Any,
    fn: Callable,
    args: tuple[Any, ...],
    donate: tuple[int, ...] = (),
    compile_s: float = 0.0,
    max_entries: int = 64,
) -> tuple[Any, float]:
    """``fn(*args)``, compiled ahead of time once per ``(tag, argument shapes)`` in ``cache``.

    The one compile-once mechanism of the trainers: the first call compiles, then runs
    once to warm up (XLA:CPU finishes some kernel compilation on the first run), and that
    time is added to ``compile_s``, kept apart from training time. With ``donate``, those
    arguments' buffers are reused for the outputs (a training step's state).

    Returns:
        (the result, ``compile_s`` plus the seconds spent compiling now).
    """
    key = (tag, tuple((a.shape, a.dtype) for a in jax.tree_util.tree_leaves(args)))
    compiled = cache.get(key)
    if compiled is None:
        t0 = time.perf_counter()
        compiled = jax.jit(fn, donate_argnums=donate).lower(*args).compile()
        warm = tuple(jax.tree_util.tree_map(jnp.copy, a) if i in donate else a for i, a in enumerate(args))
        jax.block_until_ready(compiled(*warm))
        compile_s += time.perf_counter() - t0
        cache[key] = compiled
        if len(cache) > max_entries:
            cache.pop(next(iter(cache)))
    return compiled(*args), compile_s


# ---- what both population trainers share (NB201 cells here, MLPs in mlp.py) -------------------
class TrainerBase:
    """The device copies of the splits, the compile cache and the one epoch loop of the
    population trainers (:class:`PopulationTrainer`, :class:`nasbench.train.mlp.MLPTrainer`).

    A subclass sets ``recipe`` and calls :meth:`_setup_device` in its constructor.
    """

    recipe: Recipe

    def _setup_device(
        self, dataset: Dataset, device: Any, use_scan: bool | None, *, flatten_eval: bool = False
    ) -> None:
        """Put the training split and the batched evaluation splits on ``device``.

        Args:
            use_scan: one ``lax.scan`` program per epoch; default on accelerators only
                (XLA:CPU runs a scan over training steps about 4x slower than the same step
                called in a Python loop, measured in ``benchmarks/TRAINING.md``).
            flatten_eval: flatten the evaluation images (MLPs; training images are
                flattened in the step, after augmentation).
        """
        self.device = device or jax.local_devices()[0]
        self.platform = platform_name(self.device)  # recorded with every population's results
        self.use_scan = self.device.platform != "cpu" if use_scan is None else use_scan
        self.compile_s = 0.0
        put = lambda a: jax.device_put(a, self.device)  # noqa: E731
        self._x = put(dataset.x_train)
        self._y = put(dataset.y_train)
        prep = (lambda x: x.reshape(len(x), -1)) if flatten_eval else (lambda x: x)
        batch = self.recipe.eval_batch_size
        self._valid = tuple(
            put(a) for a in _batched_eval_arrays(prep(dataset.x_valid), dataset.y_valid, batch)
        )
        self._test = tuple(put(a) for a in _batched_eval_arrays(prep(dataset.x_test), dataset.y_test, batch))
        self._eval_counts = {id(self._valid): len(dataset.y_valid), id(self._test): len(dataset.y_test)}
        self._compiled: dict[Any, Any] = {}

    def _call(self, tag: Any, fn: Callable, *args: Any) -> Any:
        """Run ``fn`` compiled ahead of time (:func:`call_compiled`); a training step or epoch
        donates its state."""
        donate = (0,) if tag[-1] in ("step", "epoch") else ()
        out, self.compile_s = call_compiled(self._compiled, tag, fn, args, donate, self.compile_s)
        return out

    def _evaluate_split(
        self, tag: tuple[Any, ...], fns: Any, args: tuple[Any, ...], split: tuple[Any, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean cross-entropy and accuracy (percent) of every member on one split, float32 ``(K,)``.

        Args:
            args: what ``fns.eval_batch`` takes before the split's arrays (parameters, ...).
            split: ``(xs, ys, mask)`` from :func:`_batched_eval_arrays`.
        """
        xs, ys, mask = split
        ce = correct = 0.0
        for i in range(xs.shape[0]):
            c, a = self._call(tag + ("eval",), fns.eval_batch, *args, xs, ys, mask, np.int32(i))
            ce, correct = ce + np.asarray(c, np.float64), correct + np.asarray(a, np.float64)
        n = float(self._eval_counts[id(split)])
        return (ce / n).astype(np.float32), (100.0 * correct / n).astype(np.float32)

    def _run_epochs(
        self,
        fns: Any,
        tag: tuple[Any, ...],
        state: Any,
        member_arg: Any,
        keys: jax.Array,
        epochs: int,
        eval_args: Callable[[Any], tuple[Any, ...]],
        *,
        setup_tag: tuple[Any, ...],
        first: int = 0,
        sched: int | None = None,
    ) -> tuple[Any, dict[str, np.ndarray], np.ndarray, float]:
        """Train a population for ``epochs`` epochs, evaluating after each.

        Each epoch draws its keys and data order (``fns.epoch_setup``), then runs one
        ``lax.scan`` program (``use_scan``) or one compiled step per batch, then evaluates
        the validation split, and the test split at the schedule's last epoch (or every
        epoch with ``test_every_epoch``). Compilation is kept out of both timings.

        Args:
            member_arg: what the step takes after the state (the slot plan, the MLP spec).
            keys: ``(K,)`` member keys.
            eval_args: the state -> what ``fns.eval_batch`` takes before a split's arrays.
            setup_tag: the compile tag of ``fns.epoch_setup``.
            first: the first epoch's index (0-based; continued training starts later).
            sched: the schedule's length in epochs (default: the recipe's).

        Returns:
            ``(state, metrics (K, epochs) per name with time_s left NaN, seconds per epoch,
            evaluation seconds)``.
        """
        r = self.recipe
        sched = int(sched or r.epochs)
        k = len(keys)
        out = {m: np.full((k, epochs), np.nan, np.float32) for m in METRICS}
        epoch_time = np.zeros(epochs)
        eval_time = 0.0
        for e in range(epochs):
            t0, c0 = time.perf_counter(), self.compile_s
            now = first + e  # the epoch being trained (0-based)
            ekeys, perms = self._call(setup_tag, fns.epoch_setup, keys, np.int32(now))
            data = (self._x, self._y, ekeys, perms)
            if self.use_scan:
                state, tl, ta = self._call(tag + ("epoch",), fns.epoch_scan, state, member_arg, *data)
                tl, ta = np.asarray(tl), np.asarray(ta)
            else:
                ls, accs = [], []
                for t in range(fns.steps):
                    state, lt, at = self._call(
                        tag + ("step",), fns.step, state, member_arg, *data, np.int32(t)
                    )
                    ls.append(lt)
                    accs.append(at)
                tl = np.mean(np.stack([np.asarray(v) for v in ls]), axis=0)
                ta = np.mean(np.stack([np.asarray(v) for v in accs]), axis=0)
            epoch_time[e] = time.perf_counter() - t0 - (self.compile_s - c0)
            t1, c1 = time.perf_counter(), self.compile_s
            out["train_loss"][:, e], out["train_acc"][:, e] = tl, ta
            args = eval_args(state)
            out["valid_loss"][:, e], out["valid_acc"][:, e] = self._evaluate_split(
                tag, fns, args, self._valid
            )
            if r.test_every_epoch or now + 1 == sched:
                out["test_loss"][:, e], out["test_acc"][:, e] = self._evaluate_split(
                    tag, fns, args, self._test
                )
            eval_time += time.perf_counter() - t1 - (self.compile_s - c1)
        return state, out, epoch_time, eval_time


def poison_params(params: Any, poison: Sequence[int], k: int) -> Any:
    """``params`` (leading K axis) with the members at positions ``poison`` set to NaN
    (the test hook for divergence isolation)."""
    bad = jnp.zeros(k, bool).at[jnp.asarray(list(poison))].set(True)
    return jax.tree_util.tree_map(
        lambda a: jnp.where(bad.reshape((k,) + (1,) * (a.ndim - 1)), jnp.nan, a), params
    )


def finish_metrics(
    out: dict[str, np.ndarray], epoch_time: np.ndarray, flops: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The ``n`` real members' metrics (``flops`` ``(n,)``; padding rows of ``out`` dropped)
    with ``time_s`` filled, and their ``diverged`` flags.

    ``time_s`` is each member's FLOP-weighted share of the population's cumulative epoch
    time. A diverged run (a non-finite train or valid loss) keeps nothing after its first
    non-finite epoch.
    """
    n = len(flops)
    metrics = {m: v[:n] for m, v in out.items()}
    share = flops / flops.sum() if n else np.zeros(0)
    metrics["time_s"] = (np.cumsum(epoch_time)[None, :] * share[:, None]).astype(np.float32)
    bad = ~np.isfinite(metrics["train_loss"]) | ~np.isfinite(metrics["valid_loss"])
    diverged = bad.any(axis=1)
    for i in np.flatnonzero(diverged):
        first = int(np.flatnonzero(bad[i])[0])
        for m in METRICS:
            if m != "time_s":
                metrics[m][i, first:] = np.nan
    return metrics, diverged


class PopulationTrainer(TrainerBase):
    """Trains members (architecture, seed) population by population.

    Args:
        recipe: the recipe.
        dataset: standardised splits.
        capacities: slot capacity per :data:`SLOT_NAMES` entry (from :func:`partition`);
            ignored in single mode.
        population: K, members per compiled program (padded with all-``none`` members).
        mode: ``population`` or ``single`` (one Flax network per architecture).
        device: a ``jax.Device`` (default: the first local device).
        check_memory: refuse a population that would not fit in memory.
        use_scan: one ``lax.scan`` program per epoch (default on accelerators) instead of
            one compiled step per call (default on CPU).
    """

    def __init__(
        self,
        recipe: Recipe,
        dataset: Dataset,
        capacities: dict[str, int] | None,
        population: int,
        *,
        mode: str = "population",
        device: Any = None,
        check_memory: bool = True,
        use_scan: bool | None = None,
    ) -> None:
        if mode not in ("population", "single"):
            raise ConfigError(f"unknown training mode {mode!r}")
        if population < 1:
            raise ConfigError("population must be >= 1")
        self.recipe = recipe
        self.dataset = dataset
        self.mode = mode
        self.population = 1 if mode == "single" else population
        self.capacities = dict(capacities or {n: population for n in SLOT_NAMES})
        self.image_shape = dataset.image_shape
        self.n_classes = dataset.n_classes
        if check_memory:
            check_population_memory(
                recipe, self.image_shape, self.population, device or jax.local_devices()[0]
            )
        self._setup_device(dataset, device, use_scan)
        self._single_cache: collections.OrderedDict[tuple[int, ...], _Fns] = collections.OrderedDict()
        self._sched_fns: dict[int, _Fns] = {}  # population programs by schedule length
        self._init_fns: dict[tuple[tuple[int, ...] | None, int], Callable] = {}

    # -- compiled pieces --
    def _single_fns(self, ops: tuple[int, ...]) -> _Fns:
        if ops in self._single_cache:
            self._single_cache.move_to_end(ops)
            return self._single_cache[ops]
        net = NB201Network(self.recipe, self.n_classes, ops)

        def apply(params, stats, x, plan, train):  # noqa: ANN001, ANN202
            p0 = jax.tree_util.tree_map(lambda a: a[0], params)
            s0 = jax.tree_util.tree_map(lambda a: a[0], stats)
            if train:
                logits, upd = net.apply(
                    {"params": p0, "batch_stats": s0}, x[0], train=True, mutable=["batch_stats"]
                )
                s_new = upd["batch_stats"]
            else:
                logits, s_new = net.apply({"params": p0, "batch_stats": s0}, x[0], train=False), s0
            return logits[None], jax.tree_util.tree_map(lambda a: a[None], s_new)

        fns = _make_fns(apply, self.recipe, len(self.dataset.y_train))
        self._single_cache[ops] = fns
        while len(self._single_cache) > 32:
            self._single_cache.popitem(last=False)
        return fns

    # -- training --
    def init_state(
        self, keys: jax.Array, ops: np.ndarray | None = None, schedule_epochs: int | None = None
    ) -> tuple[Any, Any, Any]:
        """``(params, batch_stats, opt_state)`` with a leading K axis (one compiled call).

        Its compilation counts in :attr:`compile_s`, like every other compiled piece.
        """
        arch = tuple(int(o) for o in ops[0]) if self.mode == "single" and ops is not None else None
        sched = int(schedule_epochs or self.recipe.epochs)
        fn = self._init_fns.get((arch, sched))
        if fn is None:
            steps = max(1, len(self.dataset.y_train) // self.recipe.batch_size)
            tx = make_optimizer(self.recipe.replace(epochs=sched), steps)

            def init(keys):  # noqa: ANN001, ANN202
                v = jax.vmap(
                    lambda k: init_variables(
                        jax.random.fold_in(k, 0), self.recipe, self.image_shape, self.n_classes, arch
                    )
                )(keys)
                return v["params"], v["batch_stats"], tx.init(v["params"])

            fn = self._init_fns[(arch, sched)] = init
            if len(self._init_fns) > 32:
                self._init_fns.pop(next(iter(self._init_fns)))
        return self._call(("init", arch, sched), fn, keys)

    def train(
        self,
        arch_index: Sequence[int],
        seeds: Sequence[int],
        ops: np.ndarray,
        *,
        poison: Sequence[int] = (),
        start_epoch: int = 0,
        start_state: Sequence[Mapping[str, np.ndarray] | None] | None = None,
        epochs: int | None = None,
        schedule_epochs: int | None = None,
        keep_state: bool = False,
    ) -> MemberResults:
        """Train one population (or, in single mode, each member in turn).

        By default every member trains from its initialisation through the recipe's
        epochs. The keyword arguments continue members from a checkpoint, train part of
        the schedule, or start from inherited weights (population mode only):

        Args:
            arch_index, seeds: ``(n,)`` the members; ``n <= population``.
            ops: int ``(n, 6)`` op ids of each member's cell.
            poison: member positions whose initial parameters are set to NaN (a test hook
                for divergence isolation).
            start_epoch: epochs the members have already trained (default 0; one value
                for the population, since its members share the optimiser's step count).
                Data order and augmentation derive from the member's key and the epoch
                number, so a member continued from its checkpoint at epoch ``a`` trains
                exactly as it would have straight through.
            start_state: per member, a flat ``{path: array}`` (keyed as :func:`_state_leaves` names them)
                of state to start from, or ``None``; leaves it lacks keep the member's
                fresh initialisation (an inheriting child passes only the parent's weights
                it takes, and so gets a fresh optimiser state).
            epochs: epochs to train in this call (default: up to the end of the schedule).
            schedule_epochs: length of the learning-rate schedule (default the recipe's);
                a shorter one gives, e.g., an inheriting child its own short schedule.
            keep_state: return each member's final state in :attr:`MemberResults.states`.
        """
        arch_index = np.asarray(arch_index, np.int64)
        seeds = np.asarray(seeds, np.int64)
        ops = np.asarray(ops, np.int32).reshape(-1, N_EDGES)
        n = len(arch_index)
        custom = (
            bool(start_epoch) or start_state is not None or epochs is not None or schedule_epochs is not None
        )
        if self.mode == "single" and (custom or keep_state):
            raise ConfigError("continuing, partial or inherited training needs population mode")
        sched = int(schedule_epochs or self.recipe.epochs)
        first = int(start_epoch)
        if not 0 <= first < sched:
            raise ConfigError(f"start epoch must be in 0..{sched - 1}, got {first}")
        n_ep = int(epochs) if epochs is not None else sched - first
        if n_ep < 1 or first + n_ep > sched:
            raise ConfigError(f"cannot train {n_ep} epoch(s) from epoch {first} of a {sched}-epoch schedule")
        if start_state is not None and len(start_state) != n:
            raise ConfigError(f"start_state has {len(start_state)} entries for {n} members")
        if self.mode == "single":
            parts = [
                self._train_group(
                    arch_index[i : i + 1], seeds[i : i + 1], ops[i : i + 1], [0] if i in poison else []
                )
                for i in range(n)
            ]
            return concat_results(parts)
        if n > self.population:
            raise ConfigError(f"{n} members do not fit a population of {self.population}")
        return self._train_group(
            arch_index,
            seeds,
            ops,
            poison,
            first=first,
            states=start_state,
            n_epochs=n_ep,
            sched=sched,
            keep_state=keep_state,
        )

    def _population_fns(self, sched: int) -> _Fns:
        """The population program for a ``sched``-epoch learning-rate schedule (cached)."""
        fns = self._sched_fns.get(sched)
        if fns is None:
            recipe = self.recipe.replace(epochs=sched)

            def apply(params, stats, x, plan, train):  # noqa: ANN001, ANN202
                return population_apply(params, stats, x, plan, recipe, train)

            fns = self._sched_fns[sched] = _make_fns(apply, recipe, len(self.dataset.y_train))
        return fns

    def _train_group(
        self,
        arch_index: np.ndarray,
        seeds: np.ndarray,
        ops: np.ndarray,
        poison: Sequence[int],
        *,
        first: int = 0,
        states: Sequence[Mapping[str, np.ndarray] | None] | None = None,
        n_epochs: int | None = None,
        sched: int | None = None,
        keep_state: bool = False,
    ) -> MemberResults:
        r = self.recipe
        n = len(arch_index)
        k = self.population
        pad = k - n
        sched = int(sched or r.epochs)
        # padding members: the all-none cell (occupies no conv slot), results discarded
        all_ops = np.concatenate([ops, np.zeros((pad, N_EDGES), np.int32)])
        all_arch = np.concatenate([arch_index, np.zeros(pad, np.int64)])
        all_seed = np.concatenate([seeds, np.full(pad, 0, np.int64)])
        plan_np = (
            make_plan(all_ops, self.capacities)
            if self.mode == "population"
            else {"ops": all_ops, "slots": {}}
        )
        put = lambda a: jax.device_put(a, self.device)  # noqa: E731
        plan = jax.tree_util.tree_map(put, plan_np)
        keys = put(_member_keys(jnp.asarray(all_seed, jnp.uint32), jnp.asarray(all_arch, jnp.uint32)))
        if self.mode == "single":
            fns = self._single_fns(tuple(int(o) for o in ops[0]))
            tag: tuple[Any, ...] = ("single", tuple(int(o) for o in ops[0]))
        else:
            fns = self._population_fns(sched)
            tag = ("population",) if sched == r.epochs else ("population", sched)
        state = self.init_state(keys, ops, sched)
        if states is not None and any(st is not None for st in states):
            state = _with_member_states(state, states)
        if poison:
            state = (poison_params(state[0], poison, k), *state[1:])
        state = jax.device_put(state, self.device)
        e_total = sched if n_epochs is None else int(n_epochs)
        state, out, epoch_time, eval_time = self._run_epochs(
            fns, tag, state, plan, keys, e_total, lambda st: (st[0], st[1], plan),
            setup_tag=tag + ("setup",), first=first, sched=sched,
        )  # fmt: skip
        costs = np.array([arch_cost(r, o, self.image_shape, self.n_classes)["flops"] for o in ops])
        params_n = np.array([arch_cost(r, o, self.image_shape, self.n_classes)["params"] for o in ops])
        metrics, diverged = finish_metrics(out, epoch_time, costs)
        kept = None
        if keep_state:
            paths, leaves = _state_leaves(jax.device_get(state))
            # the optimiser's step count is one scalar for the population; the rest is per member
            kept = [
                {p: np.array(a[i] if np.ndim(a) else a) for p, a in zip(paths, leaves, strict=True)}
                for i in range(n)
            ]
        return MemberResults(
            arch_index=arch_index,
            seed=seeds,
            metrics=metrics,
            diverged=diverged,
            params=params_n,
            flops=costs,
            timing={"train_s": float(epoch_time.sum()), "eval_s": eval_time, "members": n, "padded": pad},
            platform=self.platform,
            first_epoch=first,
            states=kept,
        )


# ---- member states (checkpoints, inheritance) ------------------------------------------------
def _state_leaves(state: Any) -> tuple[list[str], list[Any]]:
    """``(paths, leaves)`` of a ``(params, batch_stats, opt_state)`` tree. Paths are strings
    such as ``[0]['cell0_0']['e3_conv3']['conv']['kernel']`` (index 0 = params, 1 = batch
    statistics, 2 = optimiser state): the keys of a member state."""
    flat, _ = jax.tree_util.tree_flatten_with_path(state)
    return [jax.tree_util.keystr(p) for p, _ in flat], [a for _, a in flat]


def _with_member_states(state: Any, states: Sequence[Mapping[str, np.ndarray] | None]) -> Any:
    """``state`` (leading K axis) with member ``i``'s leaves replaced by ``states[i]``'s."""
    host = jax.device_get(state)
    flat, treedef = jax.tree_util.tree_flatten_with_path(host)
    leaves = []
    for path, leaf in flat:
        key = jax.tree_util.keystr(path)
        leaf = np.array(leaf)
        for i, st in enumerate(states):
            if st is not None and key in st:
                v = np.asarray(st[key])
                if leaf.ndim == 0:  # the shared step count: every member continues from the same epoch
                    leaf = v.astype(leaf.dtype)
                    continue
                if v.shape != leaf.shape[1:]:
                    raise ConfigError(f"state leaf {key} has shape {v.shape}, expected {leaf.shape[1:]}")
                leaf[i] = v
        leaves.append(leaf)
    return jax.tree_util.tree_unflatten(treedef, leaves)


def concat_results(parts: list[MemberResults]) -> MemberResults:
    """One result of several populations trained in turn (timings summed)."""
    timing: dict[str, float] = collections.Counter()
    for p in parts:
        timing.update(p.timing)
    return MemberResults(
        arch_index=np.concatenate([p.arch_index for p in parts]) if parts else np.zeros(0, np.int64),
        seed=np.concatenate([p.seed for p in parts]) if parts else np.zeros(0, np.int64),
        metrics={m: np.concatenate([p.metrics[m] for p in parts]) for m in METRICS} if parts else {},
        diverged=np.concatenate([p.diverged for p in parts]) if parts else np.zeros(0, bool),
        params=np.concatenate([p.params for p in parts]) if parts else np.zeros(0),
        flops=np.concatenate([p.flops for p in parts]) if parts else np.zeros(0),
        timing=dict(timing),
        platform=parts[0].platform if parts else "",
    )


def train_flops(
    recipe: Recipe, flops_per_image: np.ndarray, n_train: int, n_valid: int, n_test: int
) -> float:
    """Total FLOPs of training and evaluating members (backward counted as 2x forward)."""
    steps = max(1, n_train // recipe.batch_size)
    images = recipe.epochs * steps * min(recipe.batch_size, n_train)
    evals = recipe.epochs * n_valid + (recipe.epochs if recipe.test_every_epoch else 1) * n_test
    return float(np.sum(flops_per_image) * (3 * images + evals))


__all__ = [
    "PopulationTrainer",
    "MemberResults",
    "partition",
    "make_plan",
    "population_apply",
    "member_key",
    "make_optimizer",
    "SLOT_NAMES",
]
