"""The trainer engine: one compile cache, one program builder, one epoch loop.

Every JAX program of the package runs through this module:

* :class:`CompileCache` compiles a function ahead of time once per (tag, argument
  shapes), warms it up and keeps compilation seconds apart from training seconds. The
  population trainers (NB201 cells, MLPs), the one-shot supernet, the zero-cost proxies
  and latency all use it.
* :func:`cached` is the one process-wide cache of built program sets (a trainer, the
  supernet's programs, the proxies' programs), so a Ray worker or a live search compiles
  once for many populations.
* :func:`build_program` is the one training program (loss, epoch keys and data order,
  step, scanned epoch, evaluation batch), parameterised by a :class:`Network`: the
  ``init``/``apply`` pair a network family provides for a population of members.
* :class:`Trainer` holds the device copies of the splits and runs the one epoch loop
  (:meth:`Trainer.run_epochs`).

Per-member progress: each member of a population carries its own epoch. The epoch's keys
and data order derive from ``(member key, that member's epoch)``, and the optimiser
state (its step count included) is per member (``vmap`` over the members), so a member
continued from a checkpoint at epoch ``a`` trains in the same program as a fresh member,
bit-identically to training it straight through.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from nasbench.core.errors import ConfigError
from nasbench.core.metrics import METRICS
from nasbench.train.data import Dataset
from nasbench.train.recipe import Recipe


# ---- the network contract ----------------------------------------------------------------
class Network(NamedTuple):
    """A population of K networks, each member its own architecture (optax-sized contract).

    Attributes:
        init: ``(keys, members) -> (params, stats)``: ``keys`` ``(K,)`` each member's
            initialisation key (``fold_in(member_key, 0)``); ``members`` the population's
            description (:meth:`nasbench.train.families.NetworkFamily.members`); every
            leaf of the result has a leading K axis (``stats`` may be ``{}``).
        apply: ``(params, stats, x, members, train, keys) -> (logits, new_stats)``:
            ``x`` ``(K, B, H, W, C)`` images (each member its own batch), ``keys`` ``(K,)``
            each member's step key in training (its augmentation and dropout derive from
            it) or ``None`` in evaluation; ``logits`` ``(K, B, outputs)``.
        hparams: ``members -> (lr (K,), weight_decay (K,), cosine (K,) bool)``: each member's
            own learning rate, weight decay and schedule (cosine or constant), for a space
            that declares them as dimensions; ``None``: every member trains with the recipe's.
    """

    init: Callable[[jax.Array, Any], tuple[Any, Any]]
    apply: Callable[[Any, Any, jax.Array, Any, bool, jax.Array | None], tuple[jax.Array, Any]]
    hparams: Callable[[Any], tuple[jax.Array, jax.Array, jax.Array]] | None = None


# ---- keys, optimiser, augmentation ---------------------------------------------------------
def member_key(seed: int, arch_index: int) -> jax.Array:
    """The key a member's initialisation, data order and augmentation derive from."""
    return jax.random.fold_in(jax.random.key(int(seed)), int(arch_index))


@jax.jit
def member_keys(seeds: jax.Array, archs: jax.Array) -> jax.Array:
    """:func:`member_key` of ``(K,)`` uint32 seeds and architecture indices."""
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


def schedule_shape(recipe: Recipe, steps_per_epoch: int) -> tuple[Callable, Callable]:
    """The recipe's schedule at a learning rate of 1, cosine and constant (each with the
    recipe's warm-up): ``count -> multiplier``; a member's rate is its own lr times one."""
    total = recipe.epochs * steps_per_epoch
    warm = recipe.warmup_epochs * steps_per_epoch
    shapes = []
    for main in (optax.cosine_decay_schedule(1.0, max(1, total - warm)), optax.constant_schedule(1.0)):
        shapes.append(
            optax.join_schedules([optax.linear_schedule(0.0, 1.0, warm), main], [warm]) if warm else main
        )
    return shapes[0], shapes[1]


def make_member_optimizer(recipe: Recipe) -> optax.GradientTransformation:
    """:func:`make_optimizer` with the weight decay and learning rate injected
    (``optax.inject_hyperparams``), so each member of a population sets its own every step
    (:func:`set_member_hyperparams`); momentum and Nesterov are the recipe's."""
    return optax.chain(
        optax.inject_hyperparams(optax.add_decayed_weights)(weight_decay=0.0),
        optax.inject_hyperparams(optax.sgd, static_args=("momentum", "nesterov"))(
            learning_rate=0.0,
            momentum=recipe.momentum or None,
            nesterov=recipe.nesterov and recipe.momentum > 0,
        ),
    )


def set_member_hyperparams(opt_state: Any, lr: jax.Array, weight_decay: jax.Array) -> Any:
    """A :func:`make_member_optimizer` state with this step's learning rate and weight decay."""
    wd_state, sgd_state = opt_state
    return (
        wd_state._replace(hyperparams={**wd_state.hyperparams, "weight_decay": weight_decay}),
        sgd_state._replace(hyperparams={**sgd_state.hyperparams, "learning_rate": lr}),
    )


def augment(key: jax.Array, x: jax.Array, kind: str) -> jax.Array:
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


def smoothed_cross_entropy(logits: jax.Array, y: jax.Array, smoothing: float) -> jax.Array:
    """Mean label-smoothed cross-entropy per member: ``logits`` ``(K, B, C)``, ``y``
    ``(K, B)`` -> ``(K,)``."""
    n_cls = logits.shape[-1]
    target = jax.nn.one_hot(y, n_cls) * (1 - smoothing) + smoothing / n_cls
    return -(target * jax.nn.log_softmax(logits)).sum(-1).mean(-1)


def eval_counts(logits: jax.Array, y: jax.Array, mask: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Summed cross-entropy and correct count per member of one evaluation batch:
    ``logits`` ``(K, B, C)``, ``y`` and ``mask`` ``(B,)`` -> two ``(K,)``."""
    ce = -jnp.take_along_axis(jax.nn.log_softmax(logits), y[None, :, None], -1)[..., 0]
    correct = logits.argmax(-1) == y[None]
    return (ce * mask).sum(-1), (correct * mask).sum(-1)


def batched_eval_arrays(
    x: np.ndarray, y: np.ndarray, batch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A split as ``(xs (nb, b, ...), ys (nb, b), mask (nb, b))`` batches, zero-padded."""
    n = len(y)
    batch = min(batch, n)
    nb = -(-n // batch)
    pad = nb * batch - n
    xs = np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)]).reshape(nb, batch, *x.shape[1:])
    ys = np.concatenate([y, np.zeros(pad, y.dtype)]).reshape(nb, batch)
    mask = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)]).reshape(nb, batch)
    return xs, ys, mask


# ---- the one program builder ----------------------------------------------------------------
@dataclass(frozen=True)
class Program:
    """The pure functions of one training setup (compiled on first use by :class:`CompileCache`).

    The state is ``(params, stats, opt_state)``, every leaf with a leading K axis (the
    optimiser state is per member: its step count too).
    """

    init: Callable  # (keys (K,), members) -> state
    epoch_setup: Callable  # (keys (K,), epochs (K,) int32) -> (epoch keys (K,), perms (steps, K, B))
    step: Callable  # (state, members, x, y, ekeys, perms, t) -> (state, loss (K,), acc (K,))
    epoch_scan: Callable  # (state, members, x, y, ekeys, perms) -> (state, mean loss (K,), mean acc (K,))
    eval_batch: Callable  # (params, stats, members, xs, ys, mask, i) -> (ce sum (K,), correct (K,))
    steps: int


def build_program(network: Network, recipe: Recipe, n_train: int, task: str = "classification") -> Program:
    """The one training program of every population trainer.

    Args:
        network: the family's population ``init``/``apply`` (and, where members carry their
            own learning rate and weight decay, ``hparams``).
        recipe: optimiser, schedule (``recipe.epochs`` is the schedule's length), batch
            size and label smoothing.
        n_train: training examples.
        task: ``classification`` (cross-entropy; accuracy in percent) or ``regression``
            (one output; mean squared error on the scaled target; no accuracy, NaN).
    """
    steps = max(1, n_train // recipe.batch_size)
    batch = min(recipe.batch_size, n_train)
    smooth = recipe.label_smoothing
    regression = task == "regression"
    if network.hparams is None:
        tx = make_optimizer(recipe, steps)
    else:
        tx = make_member_optimizer(recipe)
        cosine_shape, constant_shape = schedule_shape(recipe, steps)

    def init(keys, members):  # noqa: ANN001, ANN202
        params, stats = network.init(jax.vmap(lambda k: jax.random.fold_in(k, 0))(keys), members)
        return params, stats, jax.vmap(tx.init)(params)

    def loss_fn(params, stats, xb, yb, members, skeys):  # noqa: ANN001, ANN202
        logits, new_stats = network.apply(params, stats, xb, members, True, skeys)
        if regression:
            losses = ((logits[..., 0] - yb) ** 2).mean(-1)  # (K,)
            acc = jnp.full(losses.shape, jnp.nan, jnp.float32)
        else:
            losses = smoothed_cross_entropy(logits, yb, smooth)  # (K,)
            acc = 100.0 * (logits.argmax(-1) == yb).mean(-1)
        return losses.sum(), (losses, acc, new_stats)

    def epoch_setup(keys, epochs):  # noqa: ANN001, ANN202
        ekeys = jax.vmap(lambda k, e: jax.random.fold_in(k, e + 1))(keys, epochs)
        perms = jax.vmap(
            lambda k: jax.random.permutation(jax.random.fold_in(k, 0), n_train)[: steps * batch]
        )(ekeys)
        return ekeys, perms.reshape(len(keys), steps, batch).transpose(1, 0, 2)

    def step(state, members, x, y, ekeys, perms, t):  # noqa: ANN001, ANN202
        params, stats, opt = state
        idx = perms[t]
        xb, yb = x[idx], y[idx]  # (K, B, ...): each member its own batch
        skeys = jax.vmap(lambda k: jax.random.fold_in(k, t + 1))(ekeys)
        grads, (losses, acc, new_stats) = jax.grad(loss_fn, has_aux=True)(
            params, stats, xb, yb, members, skeys
        )
        if network.hparams is not None:
            lr, wd, cosine = network.hparams(members)
            count = opt[1].count  # (K,): each member's own step
            rate = lr * jnp.where(cosine, cosine_shape(count), constant_shape(count))
            opt = set_member_hyperparams(opt, rate.astype(jnp.float32), wd.astype(jnp.float32))
        updates, opt = jax.vmap(tx.update)(grads, opt, params)
        return (optax.apply_updates(params, updates), new_stats, opt), losses, acc

    def epoch_scan(state, members, x, y, ekeys, perms):  # noqa: ANN001, ANN202
        def body(carry, t):  # noqa: ANN001, ANN202
            new, losses, acc = step(carry, members, x, y, ekeys, perms, t)
            return new, (losses, acc)

        state, (losses, acc) = lax.scan(body, state, jnp.arange(steps))
        return state, losses.mean(0), acc.mean(0)

    def eval_batch(params, stats, members, xs, ys, mask, i):  # noqa: ANN001, ANN202
        xb, yb, mb = xs[i], ys[i], mask[i]
        k = jax.tree_util.tree_leaves(params)[0].shape[0]
        logits, _ = network.apply(params, stats, jnp.broadcast_to(xb, (k, *xb.shape)), members, False, None)
        if regression:
            se = (logits[..., 0] - yb[None]) ** 2
            return (se * mb).sum(-1), jnp.zeros(k, jnp.float32)
        return eval_counts(logits, yb, mb)

    return Program(init, epoch_setup, step, epoch_scan, eval_batch, steps)


# ---- the one compile cache -------------------------------------------------------------------
class CompileCache:
    """Functions compiled ahead of time once per ``(tag, argument shapes and dtypes)``.

    The first call compiles, then runs once to warm up (XLA:CPU finishes some kernel
    compilation on the first run); that time is added to :attr:`compile_s`, kept apart
    from training time. Least recently added programs are dropped beyond ``max_entries``.
    """

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self.compile_s = 0.0
        self._compiled: dict[Any, Any] = {}

    def call(
        self, tag: Hashable, fn: Callable, *args: Any, donate: tuple[int, ...] = (), x64: bool = False
    ) -> Any:
        """``fn(*args)``, compiled once; ``donate`` reuses those arguments' buffers for the
        outputs (a training step's state); ``x64`` runs it with 64-bit floats enabled."""
        if x64:
            with jax.enable_x64(True):
                return self._call(tag, fn, args, donate, x64)
        return self._call(tag, fn, args, donate, x64)

    def _call(
        self, tag: Hashable, fn: Callable, args: tuple[Any, ...], donate: tuple[int, ...], x64: bool
    ) -> Any:
        key = (tag, x64, tuple((a.shape, a.dtype) for a in jax.tree_util.tree_leaves(args)))
        compiled = self._compiled.get(key)
        if compiled is None:
            t0 = time.perf_counter()
            compiled = jax.jit(fn, donate_argnums=donate).lower(*args).compile()
            warm = tuple(
                jax.tree_util.tree_map(jnp.copy, a) if i in donate else a for i, a in enumerate(args)
            )
            jax.block_until_ready(compiled(*warm))
            self.compile_s += time.perf_counter() - t0
            self._compiled[key] = compiled
            if len(self._compiled) > self.max_entries:
                self._compiled.pop(next(iter(self._compiled)))
        return compiled(*args)


_BUILT: collections.OrderedDict[Hashable, Any] = collections.OrderedDict()
_BUILT_LOCK = threading.Lock()


def cached(key: Hashable, factory: Callable[[], Any], *, max_entries: int = 16) -> Any:
    """The one process-wide cache of built program sets (trainers, the supernet's and the
    proxies' programs): ``factory()`` on the first call with ``key``, the same object after.

    ``key`` must hold everything the object's programs depend on (recipe, data shape or
    fingerprint, population size, device).
    """
    with _BUILT_LOCK:
        if key in _BUILT:
            _BUILT.move_to_end(key)
            return _BUILT[key]
        obj = _BUILT[key] = factory()
        while len(_BUILT) > max_entries:
            _BUILT.popitem(last=False)
        return obj


def time_call(fn: Callable[..., Any], args: tuple[Any, ...], repeats: int) -> float:
    """Median milliseconds of ``fn(*args)`` over ``repeats`` calls, after one warm-up call
    (the one timing loop of the package: latency)."""
    jax.block_until_ready(fn(*args))
    times = np.empty(repeats)
    for r in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times[r] = time.perf_counter() - t0
    return 1e3 * float(np.median(times))


# ---- results -----------------------------------------------------------------------------------
@dataclass
class MemberResults:
    """Per-member curves of trained members. Arrays are ``(n, E)`` float32 unless noted.

    Column ``j`` of member ``i`` is its epoch ``start_epochs[i] + j + 1``. ``time_s`` is
    cumulative training seconds (the member's FLOP-weighted share of its population's
    training time; evaluation excluded). ``diverged`` is bool ``(n,)``; ``params`` and
    ``flops`` float64 ``(n,)`` of each member's own network.
    """

    arch_index: np.ndarray
    seed: np.ndarray
    metrics: dict[str, np.ndarray]
    diverged: np.ndarray
    params: np.ndarray
    flops: np.ndarray
    timing: dict[str, float] = field(default_factory=dict)
    #: what trained the members (:func:`platform_name`); XLA rounds differently per CPU type
    platform: str = ""
    #: the epochs the members had trained before this call when they all share one, else -1
    #: (see :attr:`start_epochs`)
    first_epoch: int = 0
    #: with ``keep_state=True``: each member's state after training, a flat ``{path: array}``
    #: (keyed as :func:`state_leaves` names them); ``None`` otherwise
    states: list[dict[str, np.ndarray]] | None = None
    #: int64 ``(n,)``: epochs each member had trained before this call (``None``: all
    #: :attr:`first_epoch`)
    start_epochs: np.ndarray | None = None
    #: int64 ``(n,)``: epochs each member trained in this call (``None``: every column)
    trained_epochs: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.start_epochs is None:
            self.start_epochs = np.full(len(self.arch_index), int(self.first_epoch), np.int64)
        self.start_epochs = np.asarray(self.start_epochs, np.int64)
        uniq = np.unique(self.start_epochs)
        self.first_epoch = int(uniq[0]) if len(uniq) == 1 else (0 if len(uniq) == 0 else -1)


def concat_results(parts: Sequence[MemberResults]) -> MemberResults:
    """One result of several populations trained in turn (timings summed)."""
    timing: dict[str, float] = collections.Counter()
    for p in parts:
        timing.update(p.timing)
    width = max((p.metrics["valid_acc"].shape[1] for p in parts), default=0)

    def widen(a: np.ndarray) -> np.ndarray:
        return np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=np.nan)

    keep = parts and all(p.states is not None for p in parts)
    return MemberResults(
        arch_index=np.concatenate([p.arch_index for p in parts]) if parts else np.zeros(0, np.int64),
        seed=np.concatenate([p.seed for p in parts]) if parts else np.zeros(0, np.int64),
        metrics={m: np.concatenate([widen(p.metrics[m]) for p in parts]) for m in METRICS} if parts else {},
        diverged=np.concatenate([p.diverged for p in parts]) if parts else np.zeros(0, bool),
        params=np.concatenate([p.params for p in parts]) if parts else np.zeros(0),
        flops=np.concatenate([p.flops for p in parts]) if parts else np.zeros(0),
        timing=dict(timing),
        platform=parts[0].platform if parts else "",
        states=[s for p in parts for s in p.states] if keep else None,  # type: ignore[union-attr]
        start_epochs=np.concatenate([p.start_epochs for p in parts]) if parts else np.zeros(0, np.int64),  # type: ignore[misc]
        trained_epochs=np.concatenate([p.trained_epochs for p in parts])  # type: ignore[misc]
        if parts and all(p.trained_epochs is not None for p in parts)
        else None,
    )


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


# ---- member states (checkpoints, inheritance) ------------------------------------------------
def state_leaves(state: Any) -> tuple[list[str], list[Any]]:
    """``(paths, leaves)`` of a ``(params, stats, opt_state)`` tree. Paths are strings such
    as ``[0]['cell0_0']['e3_conv3']['conv']['kernel']`` (index 0 = params, 1 = batch
    statistics, 2 = optimiser state): the keys of a member state."""
    flat, _ = jax.tree_util.tree_flatten_with_path(state)
    return [jax.tree_util.keystr(p) for p, _ in flat], [a for _, a in flat]


def member_states(state: Any, n: int) -> list[dict[str, np.ndarray]]:
    """The first ``n`` members' states of ``state`` (leading K axis), each a flat ``{path: array}``."""
    paths, leaves = state_leaves(jax.device_get(state))
    return [{p: np.array(a[i]) for p, a in zip(paths, leaves, strict=True)} for i in range(n)]


def with_member_states(state: Any, states: Sequence[Mapping[str, np.ndarray] | None]) -> Any:
    """``state`` (leading K axis) with member ``i``'s leaves replaced by ``states[i]``'s.

    Leaves a member's state lacks keep its fresh initialisation. A checkpoint written
    when the optimiser's step count was one scalar per population loads too (its count
    is the member's own).

    Raises:
        ConfigError: a leaf of the wrong shape.
    """
    host = jax.device_get(state)
    flat, treedef = jax.tree_util.tree_flatten_with_path(host)
    leaves = []
    for path, leaf in flat:
        key = jax.tree_util.keystr(path)
        leaf = np.array(leaf)
        for i, st in enumerate(states):
            if st is not None and key in st:
                v = np.asarray(st[key])
                if v.shape != leaf.shape[1:]:
                    raise ConfigError(f"state leaf {key} has shape {v.shape}, expected {leaf.shape[1:]}")
                leaf[i] = v
        leaves.append(leaf)
    return jax.tree_util.tree_unflatten(treedef, leaves)


def poison_params(params: Any, poison: Sequence[int], k: int) -> Any:
    """``params`` (leading K axis) with the members at positions ``poison`` set to NaN
    (the test hook for divergence isolation)."""
    bad = jnp.zeros(k, bool).at[jnp.asarray(list(poison))].set(True)
    return jax.tree_util.tree_map(
        lambda a: jnp.where(bad.reshape((k,) + (1,) * (a.ndim - 1)), jnp.nan, a), params
    )


def finish_metrics(
    out: dict[str, np.ndarray], epoch_time: np.ndarray, flops: np.ndarray, ends: np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The ``n`` real members' metrics (``flops`` ``(n,)``; padding rows of ``out`` dropped)
    with ``time_s`` filled, and their ``diverged`` flags.

    ``time_s`` is each member's FLOP-weighted share of the population's cumulative epoch
    time. A diverged run (a non-finite train or valid loss) keeps nothing after its first
    non-finite epoch. ``ends``: int ``(n,)`` the epochs each member trained (default: every
    column); its columns after that are NaN, only its own epochs can diverge, and each
    epoch's seconds are shared by the members still training in it.
    """
    n = len(flops)
    metrics = {m: v[:n] for m, v in out.items()}
    if ends is None:
        share = flops / flops.sum() if n else np.zeros(0)
        metrics["time_s"] = (np.cumsum(epoch_time)[None, :] * share[:, None]).astype(np.float32)
        beyond = np.zeros((n, len(epoch_time)), bool)
    else:
        # each epoch's seconds go to the members still training then (the slots of members
        # that have finished train on unused: their time is charged, as padding is)
        beyond = np.arange(len(epoch_time))[None, :] >= np.asarray(ends)[:n, None]
        weight = np.where(beyond, 0.0, np.asarray(flops, np.float64)[:, None])
        share = weight / np.maximum(weight.sum(axis=0, keepdims=True), 1e-300)
        metrics["time_s"] = np.cumsum(share * np.asarray(epoch_time)[None, :], axis=1).astype(np.float32)
        for m in metrics:
            metrics[m][beyond] = np.nan
    bad = (~np.isfinite(metrics["train_loss"]) | ~np.isfinite(metrics["valid_loss"])) & ~beyond
    diverged = bad.any(axis=1)
    for i in np.flatnonzero(diverged):
        first = int(np.flatnonzero(bad[i])[0])
        for m in metrics:
            if m != "time_s":
                metrics[m][i, first:] = np.nan
    return metrics, diverged


# ---- the one epoch loop -------------------------------------------------------------------------
class Trainer:
    """The device copies of the splits, the compile cache and the one epoch loop shared by
    every population trainer (:class:`nasbench.train.population.PopulationTrainer`,
    :class:`nasbench.train.mlp.MLPTrainer`).

    A family's trainer calls :meth:`configure` in its constructor and provides its
    network (:meth:`_network`, :meth:`_single`), the population's description
    (:meth:`_members`, :meth:`_padding`) and the members' costs (:meth:`_costs`).
    """

    recipe: Recipe
    dataset: Dataset

    def setup_device(self, dataset: Dataset, device: Any, use_scan: bool | None) -> None:
        """Put the training split and the batched evaluation splits on ``device``.

        Args:
            use_scan: one ``lax.scan`` program per epoch; default on accelerators only
                (XLA:CPU runs a scan over training steps about 4x slower than the same step
                called in a Python loop, measured in ``benchmarks/TRAINING.md``).
        """
        self.device = device or jax.local_devices()[0]
        self.platform = platform_name(self.device)  # recorded with every population's results
        self.use_scan = self.device.platform != "cpu" if use_scan is None else use_scan
        self.programs = CompileCache()
        put = lambda a: jax.device_put(a, self.device)  # noqa: E731
        self._x = put(dataset.x_train)
        self._y = put(dataset.y_train)
        batch = self.recipe.eval_batch_size
        self._valid = tuple(put(a) for a in batched_eval_arrays(dataset.x_valid, dataset.y_valid, batch))
        self._test = tuple(put(a) for a in batched_eval_arrays(dataset.x_test, dataset.y_test, batch))
        self.task = getattr(dataset, "task", "classification")

        def variance(y: np.ndarray) -> float:
            return float(np.var(np.asarray(y, np.float64))) if self.task == "regression" else 1.0

        self._eval_counts = {
            id(self._valid): (len(dataset.y_valid), variance(dataset.y_valid)),
            id(self._test): (len(dataset.y_test), variance(dataset.y_test)),
        }

    @property
    def compile_s(self) -> float:
        """Seconds spent compiling this trainer's programs so far."""
        return self.programs.compile_s

    def call(self, tag: tuple[Any, ...], fn: Callable, *args: Any) -> Any:
        """Run ``fn`` compiled ahead of time; a training step or epoch donates its state."""
        donate = (0,) if tag[-1] in ("step", "epoch") else ()
        return self.programs.call(tag, fn, *args, donate=donate)

    def evaluate_split(
        self, tag: tuple[Any, ...], program: Program, args: tuple[Any, ...], split: tuple[Any, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every member's mean loss on one split and its second figure, float32 ``(K,)``:
        accuracy (percent) for classification, R^2 for regression.

        Args:
            args: what ``program.eval_batch`` takes before the split's arrays.
            split: ``(xs, ys, mask)`` from :func:`batched_eval_arrays`.
        """
        xs, ys, mask = split
        ce = correct = 0.0
        for i in range(xs.shape[0]):
            c, a = self.call(tag + ("eval",), program.eval_batch, *args, xs, ys, mask, np.int32(i))
            ce, correct = ce + np.asarray(c, np.float64), correct + np.asarray(a, np.float64)
        n, variance = self._eval_counts[id(split)]
        loss = ce / n
        if self.task == "regression":
            with np.errstate(divide="ignore", invalid="ignore"):
                return loss.astype(np.float32), (1.0 - loss / variance).astype(np.float32)
        return loss.astype(np.float32), (100.0 * correct / n).astype(np.float32)

    # -- what a family's trainer provides --
    population: int
    mode: str

    def configure(
        self, recipe: Recipe, dataset: Dataset, population: int, mode: str, device: Any, use_scan: bool | None
    ) -> None:
        """Check and keep what every trainer takes, then :meth:`setup_device`.

        Raises:
            ConfigError: an unknown mode or a population below 1.
        """
        if mode not in ("population", "single"):
            raise ConfigError(f"unknown training mode {mode!r}; use population or single")
        if population < 1:
            raise ConfigError("population must be >= 1")
        self.recipe = recipe
        self.dataset = dataset
        self.mode = mode
        self.population = 1 if mode == "single" else int(population)
        self.setup_device(dataset, device, use_scan)
        self._built: collections.OrderedDict[Any, Program] = collections.OrderedDict()

    def _network(self, single: Hashable | None, layout: Hashable = None) -> Network:
        """The family's population network (for ``layout``, :meth:`_layout`), or
        (``single``, from :meth:`_single`) one member's own network."""
        raise NotImplementedError

    def _single(self, arch: np.ndarray, ops: np.ndarray) -> Hashable:
        """What identifies member 0's own network in single mode (its program's key)."""
        raise NotImplementedError

    def _layout(self, arch: np.ndarray, ops: np.ndarray) -> Hashable:
        """What a population's program is compiled for, beyond the trainer's own settings
        (the MLP family: the members' bucket shape and batch size); ``None`` by default."""
        return None

    def _recipe_for(self, layout: Hashable) -> Recipe:
        """The recipe a population of ``layout`` trains with (by default the trainer's)."""
        return self.recipe

    def _population_size(self, arch: np.ndarray, ops: np.ndarray) -> int:
        """Members per compiled program for the population ``arch`` (by default the trainer's K)."""
        return self.population

    def _program(self, sched: int, arch: np.ndarray, ops: np.ndarray) -> tuple[tuple[Any, ...], Program]:
        """``(compile tag, program)`` for a ``sched``-epoch schedule (single mode: of member 0)."""
        single = self._single(arch, ops) if self.mode == "single" else None
        layout = self._layout(arch, ops)
        key = (single, layout, sched)
        program = self._built.get(key)
        if program is None:
            recipe = self._recipe_for(layout).replace(epochs=sched)
            program = self._built[key] = build_program(
                self._network(single, layout), recipe, len(self.dataset.y_train), self.task
            )
            while len(self._built) > 64:
                self._built.popitem(last=False)
        else:
            self._built.move_to_end(key)
        tag = ("single", single) if single is not None else ("population",)
        if layout is not None:
            tag = (*tag, layout)
        return (tag if sched == self.recipe.epochs else (*tag, sched)), program

    def _padding(self, pad: int, arch: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(arch_index (pad,), ops (pad, ...))`` of the members that fill a population of
        the members ``arch`` (results discarded)."""
        raise NotImplementedError

    def _members(self, arch: np.ndarray, ops: np.ndarray) -> Any:
        """The population's description ``network.apply`` takes (numpy arrays), K members."""
        raise NotImplementedError

    def _costs(self, arch: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(params, flops)`` float64 ``(n,)`` of each member's own network."""
        raise NotImplementedError

    # -- training --
    def train_population(
        self,
        arch_index: np.ndarray,
        seeds: np.ndarray,
        ops: np.ndarray,
        *,
        poison: Sequence[int] = (),
        start_epoch: int | Sequence[int] | np.ndarray = 0,
        start_state: Sequence[Mapping[str, np.ndarray] | None] | None = None,
        epochs: int | None = None,
        schedule_epochs: int | None = None,
        keep_state: bool = False,
    ) -> MemberResults:
        """Train ``n <= population`` members in one population (single mode: one at a time).

        Args:
            arch_index, seeds: ``(n,)`` the members.
            ops: ``(n, ...)`` the family's per-member rows (NB201: op ids ``(n, 6)``).
            poison: member positions whose initial parameters are set to NaN (a test hook).
            start_epoch: epochs each member has trained already, one value or ``(n,)``.
            start_state: per member a flat ``{path: array}`` to start from, or ``None``.
            epochs: epochs to train now: one count, or ``(n,)`` one per member (default: up
                to the schedule's end). Members with fewer epochs than others train in the
                same program; each keeps its state and curve from its own last epoch (the
                slot trains on unused until the population's last epoch).
            schedule_epochs: the learning-rate schedule's length (default the recipe's).
            keep_state: return each member's final state in :attr:`MemberResults.states`.

        Raises:
            ConfigError: an epoch outside the schedule, too many members, mismatched
                lengths, or continuation in single mode.
        """
        arch_index = np.asarray(arch_index, np.int64).reshape(-1)
        seeds = np.asarray(seeds, np.int64).reshape(-1)
        n = len(arch_index)
        if len(seeds) != n:
            raise ConfigError(f"{n} architectures but {len(seeds)} seeds")
        first = np.broadcast_to(np.asarray(start_epoch, np.int64), (n,)).copy()
        sched = int(schedule_epochs or self.recipe.epochs)
        custom = (
            bool(first.any()) or start_state is not None or epochs is not None or schedule_epochs is not None
        )
        if self.mode == "single" and (custom or keep_state):
            raise ConfigError("continuing, partial or inherited training needs population mode")
        if n and not ((first >= 0) & (first < sched)).all():
            raise ConfigError(f"start epochs must be in 0..{sched - 1}, got {sorted(set(first.tolist()))}")
        own = np.broadcast_to(np.asarray(sched - first if epochs is None else epochs, np.int64), (n,)).copy()
        if n and ((own < 1).any() or (first + own > sched).any()):
            bad = int(np.flatnonzero((own < 1) | (first + own > sched))[0])
            raise ConfigError(
                f"cannot train {int(own[bad])} epoch(s) from epoch {int(first[bad])} of a {sched}-epoch schedule"
            )
        if start_state is not None and len(start_state) != n:
            raise ConfigError(f"start_state has {len(start_state)} entries for {n} members")
        if self.mode == "single":
            parts = [
                self._train_group(arch_index[i : i + 1], seeds[i : i + 1], ops[i : i + 1], [0] if i in poison else [],
                                  first[i : i + 1], None, own[i : i + 1], sched, False)
                for i in range(n)
            ]  # fmt: skip
            return concat_results(parts)
        if n > self.population:
            raise ConfigError(f"{n} members do not fit a population of {self.population}")
        return self._train_group(arch_index, seeds, ops, poison, first, start_state, own, sched, keep_state)

    def _train_group(
        self,
        arch: np.ndarray,
        seeds: np.ndarray,
        ops: np.ndarray,
        poison: Sequence[int],
        first: np.ndarray,
        states: Sequence[Mapping[str, np.ndarray] | None] | None,
        own: np.ndarray,
        sched: int,
        keep_state: bool,
    ) -> MemberResults:
        n = len(arch)
        n_epochs = int(own.max()) if n else 1
        k = self._population_size(arch, ops)
        pad = k - n
        p_arch, p_ops = self._padding(pad, arch, ops)
        all_arch = np.concatenate([arch, p_arch])
        all_ops = np.concatenate([ops, p_ops])
        all_seed = np.concatenate([seeds, np.zeros(pad, np.int64)])
        # padding members train alongside the first member (so they trigger no extra test pass)
        all_first = np.concatenate([first, np.full(pad, first[0] if n else 0, np.int64)])
        put = lambda a: jax.device_put(a, self.device)  # noqa: E731
        members = jax.tree_util.tree_map(put, self._members(all_arch, all_ops))
        keys = put(member_keys(jnp.asarray(all_seed, jnp.uint32), jnp.asarray(all_arch, jnp.uint32)))
        tag, program = self._program(sched, arch, ops)
        state = self.call(tag + ("init",), program.init, keys, members)
        if states is not None and any(st is not None for st in states):
            state = with_member_states(state, states)
        if poison:
            state = (poison_params(state[0], poison, k), *state[1:])
        state = jax.device_put(state, self.device)
        ends = own if keep_state and n and (own < n_epochs).any() else None
        state, out, epoch_time, eval_time, kept = self.run_epochs(
            program, tag, state, members, keys, all_first, n_epochs, sched, setup_tag=("setup",), ends=ends
        )
        params_n, flops = self._costs(arch, ops)
        metrics, diverged = finish_metrics(
            out, epoch_time, flops, own if n and (own < n_epochs).any() else None
        )
        return MemberResults(
            arch_index=arch,
            seed=seeds,
            metrics=metrics,
            diverged=diverged,
            params=params_n,
            flops=flops,
            timing={"train_s": float(epoch_time.sum()), "eval_s": eval_time, "members": n, "padded": pad},
            platform=self.platform,
            states=(kept if kept is not None else member_states(state, n)) if keep_state else None,
            start_epochs=first,
            trained_epochs=own,
        )

    def run_epochs(
        self,
        program: Program,
        tag: tuple[Any, ...],
        state: Any,
        members: Any,
        keys: jax.Array,
        first: np.ndarray,
        epochs: int,
        sched: int,
        *,
        setup_tag: tuple[Any, ...],
        ends: np.ndarray | None = None,
    ) -> tuple[Any, dict[str, np.ndarray], np.ndarray, float, list[dict[str, np.ndarray]] | None]:
        """Train a population for ``epochs`` epochs, evaluating after each.

        Each epoch draws every member's keys and data order for that member's own epoch
        (``program.epoch_setup``), then runs one ``lax.scan`` program (``use_scan``) or one
        compiled step per batch, then evaluates the validation split, and the test split
        for the members at their schedule's last epoch (every member with
        ``test_every_epoch``). Compilation is kept out of both timings.

        Args:
            members: what the step takes after the state (the slot plan, the MLP spec).
            keys: ``(K,)`` member keys.
            first: int ``(K,)`` epochs each member has trained already (0: a fresh member).
            epochs: epochs to train now (every member the same number).
            sched: the schedule's length in epochs.
            setup_tag: the compile tag of ``program.epoch_setup``.
            ends: int ``(n,)`` the epochs each of the first ``n`` members trains, when some
                train fewer than ``epochs``: each one's state is taken after its own last
                epoch (outside the timed training).

        Returns:
            ``(state, metrics (K, epochs) per name with time_s left NaN, seconds per epoch,
            evaluation seconds, the first n members' states at their own ends (None
            without ``ends``))``.
        """
        first = np.asarray(first, np.int32)
        k = len(first)
        kept: list[Any] = [None] * (0 if ends is None else len(ends))
        out = {m: np.full((k, epochs), np.nan, np.float32) for m in METRICS}
        epoch_time = np.zeros(epochs)
        eval_time = 0.0
        for e in range(epochs):
            t0, c0 = time.perf_counter(), self.compile_s
            now = first + e  # each member's epoch being trained (0-based)
            ekeys, perms = self.call(setup_tag, program.epoch_setup, keys, now)
            data = (self._x, self._y, ekeys, perms)
            if self.use_scan:
                state, tl, ta = self.call(tag + ("epoch",), program.epoch_scan, state, members, *data)
                tl, ta = np.asarray(tl), np.asarray(ta)
            else:
                ls, accs = [], []
                for t in range(program.steps):
                    state, lt, at = self.call(
                        tag + ("step",), program.step, state, members, *data, np.int32(t)
                    )
                    ls.append(lt)
                    accs.append(at)
                tl = np.mean(np.stack([np.asarray(v) for v in ls]), axis=0)
                ta = np.mean(np.stack([np.asarray(v) for v in accs]), axis=0)
            epoch_time[e] = time.perf_counter() - t0 - (self.compile_s - c0)
            t1, c1 = time.perf_counter(), self.compile_s
            second = "r2" if self.task == "regression" else "acc"
            out["train_loss"][:, e] = tl
            if second == "acc":
                out["train_acc"][:, e] = ta
            args = (state[0], state[1], members)
            out["valid_loss"][:, e], out[f"valid_{second}"][:, e] = self.evaluate_split(
                tag, program, args, self._valid
            )
            test = np.ones(k, bool) if self.recipe.test_every_epoch else now + 1 == sched
            if test.any():
                tl_, ta_ = self.evaluate_split(tag, program, args, self._test)
                out["test_loss"][test, e], out[f"test_{second}"][test, e] = tl_[test], ta_[test]
            eval_time += time.perf_counter() - t1 - (self.compile_s - c1)
            if ends is not None and (ends == e + 1).any():
                snap = member_states(state, len(ends))
                for i in np.flatnonzero(ends == e + 1):
                    kept[i] = snap[i]
        return state, out, epoch_time, eval_time, (kept if ends is not None else None)


__all__ = [
    "CompileCache",
    "MemberResults",
    "Network",
    "Program",
    "Trainer",
    "augment",
    "batched_eval_arrays",
    "build_program",
    "cached",
    "concat_results",
    "finish_metrics",
    "make_optimizer",
    "member_key",
    "member_keys",
    "member_states",
    "platform_name",
    "poison_params",
    "state_leaves",
    "time_call",
    "with_member_states",
]
