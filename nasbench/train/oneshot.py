"""One-shot and few-shot supernets: train one weight-sharing network, score every cell with it.

A *supernet* holds every operation on every edge of the NB201 cell (the trainer's
supernet-shaped parameter tree, :func:`nasbench.train.model.init_variables` with
``ops=None``). It is trained under the recipe's optimiser by single-path sampling (SPOS,
Guo et al. 2020): each step trains ``paths`` sampled cells, each on its own minibatch,
through the population forward pass (:func:`nasbench.train.population.population_apply`,
the one NB201 forward pass :func:`nasbench.train.model.forward` with the slot plan)
with every path reading the same weights. A cell's score is then its validation accuracy
with the supernet's weights (Bender et al. 2018).

Choices (measured in ``benchmarks/ESTIMATORS.md``):

* **Sampling.** The ``paths`` cells of a step are drawn *stratified*: on every edge, the
  operations of the ``paths`` cells are a random permutation of the five operations
  repeated (FairNAS' strict fairness, Chu et al. 2021). Each path is still marginally
  uniform over the 15,625 cells, and with ``paths`` a multiple of 5 every operation of
  every edge is trained equally often, on every step. The slot plan then has no padding
  (capacity ``ceil(paths / 5)`` per edge and operation), so a step costs exactly its
  paths.
* **Optimiser state of unused operations.** An operation that no path of a step uses gets
  a zero gradient, but plain SGD would still apply weight decay and momentum to it. With
  ``mask_inactive`` (the default) its parameters *and* its optimiser state (momentum
  trace) are left exactly as they were: a step changes only what it used. With the
  stratified sampling and ``paths`` a multiple of 5 one-shot never has an unused
  operation; the mask matters for other path counts and for few-shot's fixed edge.
* **Few-shot** (Zhao et al. 2021): one sub-supernet per operation on ``split_edge``,
  all starting from the same initialisation. Each step gives every sub-supernet
  ``paths / 5`` of the step's paths (those with its operation on the split edge), so the
  total budget (steps x paths) equals one-shot's. A cell is scored with the
  sub-supernet of its own operation on that edge.
* **Batch norm at scoring** (``bn``): ``batch`` (the default) uses each validation
  batch's own statistics, one forward pass per cell; ``recal`` recomputes each cell's
  statistics on ``recal_images`` training images (one batch, the same for every cell)
  and evaluates with them, a second forward pass. During training, batch norm always
  uses batch statistics (running averages would mix paths).
* **Scores.** ``oneshot`` is the validation accuracy (percent) on the first
  ``score_images`` images of the validation split (256 by default; ``None``: all).
  Every unique cell is scored, ``population`` cells per compiled program (fixed slot
  capacities, one compile).

Training state (parameters, optimiser state, step) is checkpointed every
``checkpoint_every`` steps to ``OUT.supernet.npz`` (a safe ``.npz``, never a pickle).
Data order and path sampling derive from ``(seed, step)`` alone, so a run resumed after a
kill is bit-identical to one that ran straight through; the finished supernet stays on
disk, and rescoring it (another ``bn``) with ``resume`` trains nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError, TrainingDivergedError
from nasbench.core.io import check_output_file
from nasbench.core.manifest import key_hash
from nasbench.spaces.nb201 import N_EDGES, N_OPS
from nasbench.train.recipe import Recipe

log = logging.getLogger(__name__)

MODES = ("oneshot", "fewshot")
BN_MODES = ("recal", "batch")
SUPERNET_FORMAT = "nasbench-supernet"

ProgressFn = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class SupernetConfig:
    """How the supernet is trained and how cells are scored.

    Attributes:
        mode: ``oneshot`` (one supernet) or ``fewshot`` (one sub-supernet per operation
            on ``split_edge``).
        epochs: supernet epochs; an epoch is ``n_train // batch_size`` steps, and each
            step trains ``paths`` cells on ``batch_size`` images each.
        paths: cells sampled per step (a multiple of 5 trains every operation each step).
        split_edge: the edge few-shot splits on (0..5, in NB201 string order).
        mask_inactive: leave the parameters and optimiser state of operations a step did
            not use unchanged (no weight decay, no momentum step).
        bn: ``recal`` or ``batch`` batch-norm statistics at scoring.
        recal_images: training images the ``recal`` statistics are computed on.
        score_images: validation images each cell is scored on (``None``: all).
        population: cells per scoring program.
        checkpoint_every: steps between checkpoints.
    """

    mode: str = "oneshot"
    epochs: int = 100
    paths: int = 5
    split_edge: int = 0
    mask_inactive: bool = True
    bn: str = "batch"
    recal_images: int = 256
    score_images: int | None = 256
    population: int = 50
    checkpoint_every: int = 100

    def __post_init__(self) -> None:
        checks = [
            (self.mode in MODES, f"mode must be one of {', '.join(MODES)}, got {self.mode!r}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.paths >= 1, f"paths must be >= 1, got {self.paths}"),
            (
                0 <= self.split_edge < N_EDGES,
                f"split edge must be in 0..{N_EDGES - 1}, got {self.split_edge}",
            ),
            (self.bn in BN_MODES, f"bn must be one of {', '.join(BN_MODES)}, got {self.bn!r}"),
            (self.recal_images >= 2, f"recal images must be >= 2, got {self.recal_images}"),
            (self.score_images is None or self.score_images >= 1, "score images must be >= 1"),
            (self.population >= 1, f"population must be >= 1, got {self.population}"),
            (self.checkpoint_every >= 1, "checkpoint_every must be >= 1"),
        ]
        if self.mode == "fewshot":
            checks.append((self.paths % N_OPS == 0, f"few-shot needs paths a multiple of {N_OPS}"))
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"supernet: {msg}")

    @property
    def groups(self) -> int:
        """Supernets trained: 1 (one-shot) or one per operation (few-shot)."""
        return N_OPS if self.mode == "fewshot" else 1

    def training_key(self) -> dict[str, Any]:
        """What the trained weights depend on (scoring settings excluded)."""
        return {
            "mode": self.mode,
            "epochs": self.epochs,
            "paths": self.paths,
            "split_edge": self.split_edge if self.mode == "fewshot" else None,
            "mask_inactive": self.mask_inactive,
        }


# ---- path sampling --------------------------------------------------------------------
def sample_paths(seed: int, step: int, paths: int, split_edge: int | None = None) -> np.ndarray:
    """int32 ``(paths, 6)``: the cells of one step, stratified per edge.

    On each edge the operations are a random permutation of ``0..4`` repeated to cover
    ``paths`` (cut to ``paths``): each row is marginally uniform over the space. With
    ``split_edge`` (few-shot), that edge is ``row % 5`` instead, so row ``i`` belongs to
    sub-supernet ``i % 5``. Depends only on ``(seed, step)``.
    """
    rng = np.random.default_rng([int(seed), int(step), 0x5EED])
    reps = -(-paths // N_OPS)
    out = np.empty((paths, N_EDGES), np.int32)
    for e in range(N_EDGES):
        out[:, e] = rng.permutation(np.tile(np.arange(N_OPS), reps))[:paths]
    if split_edge is not None:
        out[:, split_edge] = np.arange(paths) % N_OPS
    return out


def _usage(ops: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """bool ``(G, 6, 5)``: whether a path of group ``g`` uses operation ``o`` on edge ``e``."""
    use = np.zeros((n_groups, N_EDGES, N_OPS), bool)
    for row, g in zip(ops, groups):
        use[g, np.arange(N_EDGES), row] = True
    return use


def _masked(new: Any, old: Any, use: Any) -> Any:
    """``new`` where the leaf's group used its edge operation this step, else ``old``.

    Leaves outside an edge's convolution (stem, reductions, head, step counts) take
    ``new``. ``use``: bool ``(G, 6, 5)``; edge leaves carry a leading ``G`` axis.
    """
    import jax
    import jax.numpy as jnp

    from nasbench.train.checkpoint import edge_op

    def pick(path: Any, a: Any, b: Any) -> Any:
        eo = edge_op(jax.tree_util.keystr(path))
        if eo is None or jnp.ndim(a) == 0:
            return a
        m = use[:, eo[0], eo[1]].reshape((-1,) + (1,) * (jnp.ndim(a) - 1))
        return jnp.where(m, a, b)

    return jax.tree_util.tree_map_with_path(pick, new, old)


# ---- the compiled programs ------------------------------------------------------------
class _SupernetPrograms:
    """Initialisation, the training step and the scoring pass of one setup (compiled once)."""

    def __init__(self, recipe: Recipe, config: SupernetConfig, image_shape: tuple[int, ...], n_classes: int, n_train: int) -> None:  # fmt: skip
        from nasbench.train.engine import CompileCache, make_optimizer

        self.recipe, self.config = recipe, config
        self.image_shape, self.n_classes, self.n_train = tuple(image_shape), int(n_classes), int(n_train)
        self.batch = min(recipe.batch_size, n_train)
        self.steps_per_epoch = max(1, n_train // recipe.batch_size)
        self.total_steps = config.epochs * self.steps_per_epoch
        self.tx = make_optimizer(recipe.replace(epochs=config.epochs), self.steps_per_epoch)
        self.programs = CompileCache()
        self._zero_stats: dict[int, Any] = {}

    @property
    def compile_s(self) -> float:
        """Seconds spent compiling these programs so far."""
        return self.programs.compile_s

    def call(self, name: str, fn: Callable, *args: Any, donate: tuple[int, ...] = ()) -> Any:
        """``fn(*args)`` compiled once (:class:`nasbench.train.engine.CompileCache`)."""
        return self.programs.call((name,), fn, *args, donate=donate)

    def init(self, seed: int) -> tuple[Any, Any]:
        """``(params, opt_state)``: the supernet's parameters stacked ``G`` times (one
        initialisation, the trainer's ``fold_in(key(seed), 0)``), and the optimiser state."""
        import jax
        import jax.numpy as jnp

        from nasbench.train.model import init_variables

        g = self.config.groups

        def init(seed_):  # noqa: ANN001, ANN202
            v = init_variables(jax.random.fold_in(jax.random.key(seed_), 0), self.recipe, self.image_shape, self.n_classes)  # fmt: skip
            params = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (g, *a.shape)), v["params"])
            return params, self.tx.init(params)

        return self.call("init", init, jnp.uint32(seed))

    def _stats(self, k: int) -> Any:
        """Zero batch-norm statistics with a leading ``k`` axis (read only in evaluation mode)."""
        import jax
        import jax.numpy as jnp

        from nasbench.train.model import init_variables

        if k not in self._zero_stats:
            shapes = jax.eval_shape(
                lambda: init_variables(jax.random.key(0), self.recipe, self.image_shape, self.n_classes)
            )["batch_stats"]
            self._zero_stats[k] = jax.tree_util.tree_map(lambda s: jnp.zeros((k, *s.shape), s.dtype), shapes)
        return self._zero_stats[k]

    def step(self, params: Any, opt: Any, plan: Any, groups: Any, use: Any, x: Any, y: Any, key: Any, step: Any) -> tuple[Any, Any, Any]:  # fmt: skip
        import jax
        import jax.numpy as jnp
        import optax

        from nasbench.train.engine import augment, smoothed_cross_entropy
        from nasbench.train.population import population_apply

        recipe, k = self.recipe, self.config.paths
        spe, batch, n_train, smooth = self.steps_per_epoch, self.batch, self.n_train, recipe.label_smoothing
        stats = self._stats(k)

        def train_step(params, opt, plan, groups, use, x, y, key, step):  # noqa: ANN001, ANN202
            epoch, t = step // spe, step % spe
            mkeys = jax.vmap(lambda m: jax.random.fold_in(jax.random.fold_in(key, m), epoch))(jnp.arange(k))
            idx = jax.vmap(
                lambda mk: jax.lax.dynamic_slice(jax.random.permutation(mk, n_train), (t * batch,), (batch,))
            )(mkeys)
            xb, yb = x[idx], y[idx]  # (K, B, ...): each path its own minibatch
            if recipe.augmentation != "none":
                akeys = jax.vmap(lambda mk: jax.random.fold_in(mk, t + 1))(mkeys)
                xb = jax.vmap(lambda ak, im: augment(ak, im, recipe.augmentation))(akeys, xb)

            def loss_fn(params):  # noqa: ANN001, ANN202
                pk = jax.tree_util.tree_map(lambda a: a[groups], params)
                logits, _ = population_apply(pk, stats, xb, plan, recipe, True)
                losses = smoothed_cross_entropy(logits, yb, smooth)
                return losses.sum(), losses

            grads, losses = jax.grad(loss_fn, has_aux=True)(params)
            updates, new_opt = self.tx.update(grads, opt, params)
            new_params = optax.apply_updates(params, updates)
            # ``use`` is all True when masking is off: one program serves both settings
            new_params = _masked(new_params, params, use)
            new_opt = _masked(new_opt, opt, use)
            return new_params, new_opt, losses

        return self.call("step", train_step, params, opt, plan, groups, use, x, y, key, step, donate=(0, 1))

    def score(self, params: Any, member_groups: Any, plan: Any, xr: Any, batches: Sequence[tuple[Any, Any, Any]]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Per member: (summed cross-entropy, correct count) over the validation ``batches``.

        One compiled call per batch (XLA:CPU runs a ``lax.scan`` slower than a Python loop).
        """
        import jax
        import jax.numpy as jnp

        from nasbench.train.engine import eval_counts
        from nasbench.train.population import population_apply

        recipe, bn = self.recipe, self.config.bn
        p_k = int(member_groups.shape[0])
        stats0 = self._stats(p_k)
        recal = recipe.replace(bn_momentum=0.0)  # running statistics := this batch's statistics

        def take(params, member_groups):  # noqa: ANN001, ANN202
            return jax.tree_util.tree_map(lambda a: a[member_groups], params)

        def recal_stats(params, member_groups, plan, xr):  # noqa: ANN001, ANN202
            xk = jnp.broadcast_to(xr, (p_k, *xr.shape))
            return population_apply(take(params, member_groups), stats0, xk, plan, recal, True)[1]

        def evaluate(params, member_groups, stats, plan, xb, yb, mb):  # noqa: ANN001, ANN202
            xk = jnp.broadcast_to(xb, (p_k, *xb.shape))
            logits, _ = population_apply(take(params, member_groups), stats, xk, plan, recipe, bn == "batch")
            return eval_counts(logits, yb, mb)

        stats = self.call("recal", recal_stats, params, member_groups, plan, xr) if bn == "recal" else stats0
        ce = correct = 0.0
        for xb, yb, mb in batches:
            c, a = self.call(f"evaluate-{bn}", evaluate, params, member_groups, stats, plan, xb, yb, mb)
            ce, correct = ce + np.asarray(c, np.float64), correct + np.asarray(a, np.float64)
        return ce, correct


# ---- checkpoints ------------------------------------------------------------------------
def checkpoint_path(out: str | Path) -> Path:
    """Where the supernet of ``out`` is checkpointed: ``OUT.supernet.npz``."""
    out = Path(out)
    return out.with_name(out.name + ".supernet.npz")


def _save(path: Path, params: Any, opt: Any, step: int, key: str) -> None:
    import jax

    from nasbench.train.checkpoint import save_arrays
    from nasbench.train.engine import state_leaves

    paths, leaves = state_leaves(jax.device_get((params, opt)))
    arrays = {p: np.asarray(a) for p, a in zip(paths, leaves, strict=True)}
    arrays["__step__"] = np.int64(step)
    arrays["__key__"] = np.array(key)
    save_arrays(path, arrays)


def _load(path: Path, params: Any, opt: Any, key: str) -> tuple[Any, Any, int]:
    """``(params, opt, step)`` from a checkpoint of the same training key.

    Raises:
        ConfigError: the checkpoint was trained with other settings.
        TableFormatError: unreadable or incomplete file.
    """
    import jax

    from nasbench.core.errors import TableFormatError
    from nasbench.train.checkpoint import load_state

    arrays = load_state(path)
    if str(arrays.get("__key__", "")) != key:
        raise ConfigError(
            f"{path} holds a supernet trained with other settings (recipe, data, seed or supernet "
            "options); remove it or use the same arguments"
        )
    flat, treedef = jax.tree_util.tree_flatten_with_path(jax.device_get((params, opt)))
    leaves = []
    for p, leaf in flat:
        k = jax.tree_util.keystr(p)
        if k not in arrays or np.shape(arrays[k]) != np.shape(leaf):
            raise TableFormatError(f"{path} is not a complete supernet checkpoint (leaf {k})")
        leaves.append(np.asarray(arrays[k], dtype=np.asarray(leaf).dtype))
    params, opt = jax.tree_util.tree_unflatten(treedef, leaves)
    return params, opt, int(arrays["__step__"])


# ---- the library function --------------------------------------------------------------
def train_supernet(
    recipe: Recipe,
    data: Any,
    config: SupernetConfig,
    *,
    seed: int = 0,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    progress: ProgressFn | None = None,
    stop_after: int | None = None,
    device: Any = None,
) -> tuple[_SupernetPrograms, Any, dict[str, Any]]:
    """Train the supernet(s) of ``config`` on ``data`` (a :class:`nasbench.train.data.Dataset`).

    Args:
        seed: initialisation, data order and path sampling.
        checkpoint: ``.npz`` file written every ``config.checkpoint_every`` steps and at
            the end (``None``: no checkpoint).
        resume: continue from ``checkpoint`` if it exists (it must have the same settings).
        progress: called every few steps with ``done``, ``total`` (steps), ``loss``.
        stop_after: stop after this many steps in total (a test hook for interruption).

    Returns:
        (the compiled programs, the parameters with a leading ``G`` axis, timing).

    Raises:
        ConfigError: an existing checkpoint without ``resume``, or one with other settings.
    """
    import jax

    from nasbench.train.population import SLOT_NAMES, make_plan

    t0 = time.perf_counter()
    device = device or jax.local_devices()[0]
    progs = _programs(recipe, config, tuple(data.image_shape), int(data.n_classes), len(data.y_train))
    key = key_hash(
        {
            "format": SUPERNET_FORMAT,
            "recipe": recipe.content_hash(),
            "data": getattr(data, "fingerprint", "") or data.name,
            "seed": int(seed),
            **config.training_key(),
        }
    )
    start = 0
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if ckpt is not None and ckpt.exists() and not resume:
        raise ConfigError(f"{ckpt} exists: pass --resume to continue (or rescore) it, or remove it")
    params, opt = progs.init(seed)
    if ckpt is not None and ckpt.exists():
        params, opt, start = _load(ckpt, params, opt, key)
        log.info("resuming the supernet at step %d of %d", start, progs.total_steps)
    put = lambda a: jax.device_put(a, device)  # noqa: E731
    params, opt = put(params), put(opt)
    x, y = put(np.asarray(data.x_train, np.float32)), put(np.asarray(data.y_train, np.int32))
    base = jax.random.fold_in(jax.random.key(int(seed)), 1)
    caps = {name: -(-config.paths // N_OPS) for name in SLOT_NAMES}
    split = config.split_edge if config.mode == "fewshot" else None
    total = progs.total_steps
    end = total if stop_after is None else min(total, int(stop_after))
    losses = []
    train_s = 0.0
    done = saved = start
    try:
        for s in range(start, end):
            ts = time.perf_counter()
            ops = sample_paths(seed, s, config.paths, split)
            groups = ops[:, split].astype(np.int32) if split is not None else np.zeros(config.paths, np.int32)
            plan = jax.tree_util.tree_map(lambda a: put(np.asarray(a)), make_plan(ops, caps))
            use = (
                _usage(ops, groups, config.groups)
                if config.mask_inactive
                else np.ones((config.groups, N_EDGES, N_OPS), bool)
            )
            use = put(use)
            c0 = progs.compile_s
            new = progs.step(params, opt, plan, put(groups), use, x, y, base, np.int32(s))
            params, opt, loss = new  # the step donated the old buffers: only now is the state whole again
            done = s + 1
            if done % config.checkpoint_every == 0 or done == total:
                losses.append(float(np.asarray(loss).mean()))
                if not np.isfinite(losses[-1]):
                    raise TrainingDivergedError(
                        f"the supernet diverged (loss {losses[-1]}) by step {done}; lower the learning rate (--set lr=...)"
                    )
                if ckpt is not None:
                    _save(ckpt, params, opt, done, key)
                    saved = done
            if progress and (done % 10 == 0 or done == end):
                progress({"done": done, "total": total, "loss": float(np.asarray(loss).mean())})
            train_s += time.perf_counter() - ts - (progs.compile_s - c0)
    except KeyboardInterrupt:
        if ckpt is not None and done > saved:
            _save(ckpt, params, opt, done, key)  # the state after the last whole step
        raise
    jax.block_until_ready(params)
    timing = {
        "steps": total,
        "steps_run": max(0, end - start),
        "resumed_at": start,
        "train_s": train_s,
        "compile_s": progs.compile_s,
        "wall_s": time.perf_counter() - t0,
        "final_loss": losses[-1] if losses else None,
        "finished": end == total,
    }
    return progs, params, timing


def _programs(
    recipe: Recipe, config: SupernetConfig, image_shape: tuple[int, ...], n_classes: int, n_train: int
) -> _SupernetPrograms:
    """The compiled programs of a setup, kept for later calls in this process (compiled once).

    Only what shapes the training program is in the key (mode, epochs, paths, split
    edge); scoring programs are compiled per batch-norm mode by name. The returned object
    carries ``config`` for everything else.
    """
    from nasbench.train.engine import cached

    fields = ("mode", "epochs", "paths", "split_edge")
    key = tuple((f, getattr(config, f)) for f in fields)
    progs = cached(
        ("supernet", recipe, key, image_shape, n_classes, n_train),
        lambda: _SupernetPrograms(recipe, SupernetConfig(**dict(key)), image_shape, n_classes, n_train),
    )
    progs.config = config
    return progs


def score_cells(
    progs: _SupernetPrograms,
    params: Any,
    data: Any,
    ops: np.ndarray,
    *,
    seed: int = 0,
    progress: ProgressFn | None = None,
    device: Any = None,
) -> dict[str, np.ndarray]:
    """Validation accuracy (percent) and mean cross-entropy of each cell with the supernet's weights.

    Args:
        ops: int ``(n, 6)`` the cells.
        seed: picks the ``recal`` training images.

    Returns:
        ``{"acc": (n,), "loss": (n,)}`` float64.
    """
    import jax

    from nasbench.train.engine import batched_eval_arrays
    from nasbench.train.population import check_population_memory, make_plan, partition

    cfg, recipe = progs.config, progs.recipe
    device = device or jax.local_devices()[0]
    ops = np.asarray(ops, np.int32).reshape(-1, N_EDGES)
    n = len(ops)
    k = min(cfg.population, n)
    eval_batch = min(recipe.eval_batch_size, len(data.y_valid))
    check_population_memory(
        recipe.replace(batch_size=max(cfg.recal_images, eval_batch) // 3 + 1, eval_batch_size=eval_batch),
        progs.image_shape, k, device,
    )  # fmt: skip
    groups_all, caps = partition(ops, k)
    m = len(data.y_valid) if cfg.score_images is None else min(cfg.score_images, len(data.y_valid))
    xs, ys, ms = batched_eval_arrays(
        np.asarray(data.x_valid[:m], np.float32), np.asarray(data.y_valid[:m], np.int32), eval_batch
    )
    batches = [tuple(jax.device_put(a[i], device) for a in (xs, ys, ms)) for i in range(len(xs))]
    pick = np.random.default_rng([int(seed), 0xBA7C]).choice(
        len(data.y_train), min(cfg.recal_images, len(data.y_train)), replace=False
    )
    xr = jax.device_put(np.asarray(data.x_train[np.sort(pick)], np.float32), device)
    acc = np.full(n, np.nan)
    loss = np.full(n, np.nan)
    done = 0
    for g in groups_all:
        pad = k - len(g)
        g_ops = np.concatenate([ops[g], np.zeros((pad, N_EDGES), np.int32)])
        plan = jax.device_put(jax.tree_util.tree_map(np.asarray, make_plan(g_ops, caps)), device)
        member_groups = (g_ops[:, cfg.split_edge] if cfg.mode == "fewshot" else np.zeros(k, np.int32)).astype(
            np.int32
        )
        ce, correct = progs.score(params, jax.device_put(member_groups, device), plan, xr, batches)
        acc[g] = 100.0 * np.asarray(correct, np.float64)[: len(g)] / m
        loss[g] = np.asarray(ce, np.float64)[: len(g)] / m
        done += len(g)
        if progress:
            progress({"done": done, "total": n})
    return {"acc": acc, "loss": loss}


def oneshot_scores(
    space: Any,
    archs: Sequence[int] | np.ndarray,
    recipe: Recipe,
    data: Any,
    config: SupernetConfig,
    *,
    seed: int = 0,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    progress: ProgressFn | None = None,
    device: Any = None,
) -> Any:
    """Train the supernet and score ``archs``: a ``pandas.DataFrame`` with ``arch``,
    ``arch_index`` and ``oneshot`` (validation accuracy with the supernet's weights,
    percent; larger is predicted better); ``attrs["timing"]`` holds the seconds.

    ``progress`` receives ``phase`` (``train`` or ``score``), ``done`` and ``total``.

    Raises:
        ConfigError: a space other than NB201, no architectures, or a checkpoint problem.
    """
    import pandas as pd

    from nasbench.train.families import family_of

    t0 = time.perf_counter()
    arch = space.check_indices(np.asarray(archs, np.int64).reshape(-1))
    cell_ops = family_of(space).cell_ops(arch, "the one-shot supernet and few-shot supernets")
    if len(arch) == 0:
        raise ConfigError("no architectures to score")

    def phase(name: str) -> ProgressFn | None:
        return None if progress is None else (lambda ev: progress({"phase": name, **ev}))

    progs, params, timing = train_supernet(
        recipe, data, config, seed=seed, checkpoint=checkpoint, resume=resume, progress=phase("train"), device=device
    )  # fmt: skip
    t1 = time.perf_counter()
    c1 = progs.compile_s
    scores = score_cells(progs, params, data, cell_ops, seed=seed, progress=phase("score"), device=device)  # fmt: skip
    timing = {
        **timing,
        "score_s": time.perf_counter() - t1 - (progs.compile_s - c1),
        "compile_s": progs.compile_s,
        "wall_s": time.perf_counter() - t0,
    }
    df = pd.DataFrame(
        {
            "arch": [str(space.arch(int(i))) for i in arch],
            "arch_index": arch.astype(np.int64),
            "oneshot": scores["acc"],
        }
    )
    df.attrs["timing"] = timing
    df.attrs["loss"] = scores["loss"]
    return df


# ---- the command's job ---------------------------------------------------------------------
@dataclass(frozen=True)
class OneShotConfig:
    """Everything ``nasbench estimate oneshot`` needs.

    Attributes:
        out: output parquet (``arch``, ``arch_index``, ``oneshot``).
        recipe: the training recipe (network, optimiser, splits).
        recipe_name: how the recipe was named (recorded).
        dataset: ``digits`` or ``npz:PATH``.
        supernet: supernet training and scoring settings.
        space: search-space name (``nb201``).
        archs: ``unique``, ``all``, ``N`` or a file (as ``nasbench build`` takes).
        seed: initialisation, data order and path sampling.
        resume: continue (or rescore) the checkpoint ``OUT.supernet.npz``.
    """

    out: Path
    recipe: Recipe
    dataset: str
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    recipe_name: str | None = None
    space: str = "nb201"
    archs: str = "unique"
    seed: int = 0
    resume: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        if self.seed < 0:
            raise ConfigError(f"--seed must be >= 0, got {self.seed}")


def estimate_oneshot(config: OneShotConfig, *, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Train the supernet of ``config``, score its architectures and write ``config.out`` atomically.

    Returns:
        the summary printed by the command (``--json``).
    """
    from nasbench.tables.scores import write_scores
    from nasbench.tables.table import package_versions
    from nasbench.train.data import load_dataset
    from nasbench.train.families import resolve_archs, resolve_trainable_space

    check_output_file(config.out)
    space = resolve_trainable_space(config.space)
    archs = resolve_archs(space, config.archs)
    data = load_dataset(config.dataset, config.recipe)
    ckpt = checkpoint_path(config.out)
    df = oneshot_scores(
        space, archs, config.recipe, data, config.supernet,
        seed=config.seed, checkpoint=ckpt, resume=config.resume, progress=progress,
    )  # fmt: skip
    timing = df.attrs["timing"]
    sn = config.supernet
    meta = {
        "format": "nasbench-oneshot-scores",
        "version": 1,
        "space": {"name": space.name, "config": space.config()},
        "archs": config.archs,
        "n_archs": len(df),
        "scores": ["oneshot"],
        "larger_is_better": True,
        "seed": config.seed,
        "supernet": {
            **sn.training_key(),
            "bn": sn.bn,
            "recal_images": sn.recal_images,
            "score_images": sn.score_images,
        },
        "recipe": config.recipe.to_dict(),
        "recipe_name": config.recipe_name,
        "recipe_hash": config.recipe.content_hash(),
        "dataset": data.summary(),
        "checkpoint": str(ckpt),
        "versions": package_versions("jax", "flax", "optax"),
    }
    write_scores(df, config.out, meta)
    col = df["oneshot"].to_numpy()
    return {
        "out": str(config.out),
        "checkpoint": str(ckpt),
        "archs": len(df),
        "mode": sn.mode,
        "bn": sn.bn,
        "epochs": sn.epochs,
        "paths": sn.paths,
        "steps": timing["steps"],
        "resumed_at_step": timing["resumed_at"],
        "seed": config.seed,
        "dataset": config.dataset,
        "recipe": config.recipe_name,
        "train_s": round(float(timing["train_s"]), 3),
        "score_s": round(float(timing["score_s"]), 3),
        "compile_s": round(float(timing["compile_s"]), 3),
        "wall_s": round(float(timing["wall_s"]), 3),
        "final_loss": timing["final_loss"],
        "oneshot": {
            "min": float(np.min(col)),
            "median": float(np.median(col)),
            "max": float(np.max(col)),
        },
    }


__all__ = [
    "BN_MODES",
    "MODES",
    "OneShotConfig",
    "SupernetConfig",
    "checkpoint_path",
    "estimate_oneshot",
    "oneshot_scores",
    "sample_paths",
    "score_cells",
    "train_supernet",
]
