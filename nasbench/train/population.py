"""The NB201 cell family's population trainer: K networks (architecture, seed) train
together in one jitted program, on the engine (:mod:`nasbench.train.engine`).

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

The forward pass is the one NB201 forward (:func:`nasbench.train.model.forward`) with
the slot plan's cells (:func:`slot_cell`).

Members never mix: every op is per member or per slot, so a member whose loss turns
NaN/inf poisons only itself; it is reported as diverged.

``mode="single"`` trains one architecture at a time with its own Flax network (jit per
architecture): the per-architecture reference that the benchmark compares against.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.spaces.nb201 import CONV1, CONV3, N_EDGES, POOL, SKIP
from nasbench.train.data import Dataset
from nasbench.train.engine import (
    MemberResults,
    Network,
    Trainer,
    augment,
    available_memory_bytes,
    make_optimizer,
    member_key,
    platform_name,
)
from nasbench.train.model import (
    CellFn,
    NB201Network,
    ReluTap,
    arch_cost,
    avg_pool3,
    cell_output,
    forward,
    init_variables,
    relu_conv_bn,
    spatial_sizes,
)
from nasbench.train.recipe import Recipe

log = logging.getLogger(__name__)

_KINDS = (("conv1", CONV1), ("conv3", CONV3), ("pool", POOL))
SLOT_NAMES: tuple[str, ...] = tuple(f"e{k}_{name}" for k in range(N_EDGES) for name, _ in _KINDS)
_SLOT_OP = {f"e{k}_{name}": (k, op) for k in range(N_EDGES) for name, op in _KINDS}


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
def _take(tree: Any, idx: jax.Array) -> Any:
    return jax.tree_util.tree_map(lambda a: a[idx], tree)


def slot_cell(plan: dict) -> CellFn:
    """The cells of a population with a slot plan: on each edge, each op runs once over the
    slots of the members that use it (gathered, batched, scattered back)."""
    ops = plan["ops"]

    def cell(
        p: dict, st: dict, x: jax.Array, train: bool, m: float, tap: ReluTap | None
    ) -> tuple[jax.Array, dict]:
        k_members = x.shape[0]
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
                y, s_new = relu_conv_bn(_take(p[name], g), _take(st[name], g), h[g], 1, train, m, tap, idx)
                acc = acc.at[idx].add(y, mode="drop")
                if train:
                    new_st[name] = jax.tree_util.tree_map(
                        lambda full, upd, idx=idx: full.at[idx].set(upd, mode="drop"), st[name], s_new
                    )
            return acc

        return cell_output(x, add_edge), new_st

    return cell


def population_apply(
    params: dict,
    stats: dict,
    x: jax.Array,
    plan: dict,
    recipe: Recipe,
    train: bool,
    relu_tap: ReluTap | None = None,
) -> tuple[jax.Array, dict]:
    """Forward pass of K members with a slot plan (:func:`nasbench.train.model.forward`
    with :func:`slot_cell`).

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
    return forward(params, stats, x, recipe, train, slot_cell(plan), relu_tap)


def nb201_network(
    recipe: Recipe, image_shape: Sequence[int], n_classes: int, ops: tuple[int, ...] | None = None
) -> Network:
    """The NB201 family's population network.

    With ``ops=None``: every member holds supernet-shaped parameters and runs the
    population forward (:func:`population_apply`) with the slot plan
    (:func:`make_plan`) as its ``members`` argument. With ``ops``: one member (K = 1),
    the architecture's own Flax network (:class:`~nasbench.train.model.NB201Network`),
    the per-architecture reference.
    """
    shape = tuple(int(s) for s in image_shape)
    aug = recipe.augmentation

    def init(keys, members):  # noqa: ANN001, ANN202
        v = jax.vmap(lambda k: init_variables(k, recipe, shape, n_classes, ops))(keys)
        return v["params"], v["batch_stats"]

    def augmented(x, keys):  # noqa: ANN001, ANN202
        if keys is None or aug == "none":
            return x
        return jax.vmap(lambda k, im: augment(k, im, aug))(keys, x)

    if ops is None:

        def apply(params, stats, x, plan, train, keys):  # noqa: ANN001, ANN202
            return population_apply(params, stats, augmented(x, keys), plan, recipe, train)

        return Network(init, apply)
    net = NB201Network(recipe, n_classes, ops)

    def apply_one(params, stats, x, plan, train, keys):  # noqa: ANN001, ANN202
        x = augmented(x, keys)
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

    return Network(init, apply_one)


# ---- memory ----------------------------------------------------------------------------------
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


# ---- the NB201 population trainer -------------------------------------------------------------
def require_images(dataset: Dataset) -> None:
    """Refuse what an NB201 cell cannot train: tabular features or a regression target.

    Raises:
        ConfigError: one line naming the dataset and what to train on it instead.
    """
    if (
        getattr(dataset, "is_tabular", False)
        or getattr(dataset, "task", "classification") != "classification"
    ):
        kind = "tabular features" if getattr(dataset, "is_tabular", False) else "images"
        raise ConfigError(
            f"the NB201 cell trains image classifiers; {dataset.name} is {dataset.task} on {kind}: "
            "train a declared MLP space on it (--space mlp or a declaration file)"
        )


class PopulationTrainer(Trainer):
    """Trains members (architecture, seed) population by population, on the engine
    (:class:`nasbench.train.engine.Trainer`) with the NB201 network (:func:`nb201_network`).

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
        if (
            getattr(dataset, "is_tabular", False)
            or getattr(dataset, "task", "classification") != "classification"
        ):
            raise ConfigError(
                f"the NB201 cell trains image classifiers; {dataset.name} is {dataset.task} on tabular "
                "features: train a declared MLP space on it (--space mlp or a declaration file)"
            )
        self.capacities = dict(capacities or {n: population for n in SLOT_NAMES})
        self.image_shape = dataset.image_shape
        self.n_classes = dataset.n_classes
        if check_memory and mode in ("population", "single") and population >= 1:
            k = 1 if mode == "single" else population
            check_population_memory(recipe, self.image_shape, k, device or jax.local_devices()[0])
        self.configure(recipe, dataset, population, mode, device, use_scan)

    # -- what the engine asks of a family's trainer --
    def _padding(self, pad: int, arch: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # the all-none cell: it occupies no slot
        return np.zeros(pad, np.int64), np.zeros((pad, N_EDGES), np.int32)

    def _members(self, arch: np.ndarray, ops: np.ndarray) -> dict[str, Any]:
        if self.mode == "single":
            return {"ops": np.asarray(ops, np.int32), "slots": {}}
        return make_plan(ops, self.capacities)

    def _single(self, arch: np.ndarray, ops: np.ndarray) -> tuple[int, ...]:
        return tuple(int(o) for o in ops[0])

    def _network(self, single: Any, layout: Any = None) -> Network:
        return nb201_network(self.recipe, self.image_shape, self.n_classes, single)

    def _costs(self, arch: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = [arch_cost(self.recipe, o, self.image_shape, self.n_classes) for o in ops]
        return np.array([x["params"] for x in c]), np.array([x["flops"] for x in c])

    # -- training --
    def train(
        self,
        arch_index: Sequence[int],
        seeds: Sequence[int],
        ops: np.ndarray,
        *,
        poison: Sequence[int] = (),
        start_epoch: int | Sequence[int] = 0,
        start_state: Sequence[Mapping[str, np.ndarray] | None] | None = None,
        epochs: int | None = None,
        schedule_epochs: int | None = None,
        keep_state: bool = False,
    ) -> MemberResults:
        """Train one population (or, in single mode, each member in turn).

        By default every member trains from its initialisation through the recipe's
        epochs. The keyword arguments continue members from a checkpoint, train part of
        the schedule, or start from inherited weights (population mode only); see
        :meth:`nasbench.train.engine.Trainer.train_population`.

        Args:
            arch_index, seeds: ``(n,)`` the members; ``n <= population``.
            ops: int ``(n, 6)`` op ids of each member's cell.
            poison: member positions whose initial parameters are set to NaN (a test hook
                for divergence isolation).
            start_epoch: epochs each member has already trained, one value or ``(n,)``
                (default 0). Data order, augmentation and the optimiser's step count are
                per member, so a member continued from its checkpoint at epoch ``a``
                trains exactly as it would have straight through, next to fresh members.
            start_state: per member, a flat ``{path: array}`` (keyed as
                :func:`~nasbench.train.engine.state_leaves` names them) of state to start
                from, or ``None``; leaves it lacks keep the member's fresh initialisation
                (an inheriting child passes only the parent's weights it takes, and so
                gets a fresh optimiser state).
            epochs: epochs to train in this call, the same for every member (default: up
                to the end of the schedule).
            schedule_epochs: length of the learning-rate schedule (default the recipe's);
                a shorter one gives, e.g., an inheriting child its own short schedule.
            keep_state: return each member's final state in :attr:`MemberResults.states`.
        """
        ops = np.asarray(ops, np.int32).reshape(-1, N_EDGES)
        return self.train_population(
            np.asarray(arch_index, np.int64), np.asarray(seeds, np.int64), ops, poison=poison,
            start_epoch=start_epoch, start_state=start_state, epochs=epochs,
            schedule_epochs=schedule_epochs, keep_state=keep_state,
        )  # fmt: skip


def train_flops(
    recipe: Recipe, flops_per_image: np.ndarray, n_train: int, n_valid: int, n_test: int
) -> float:
    """Total FLOPs of training and evaluating members (backward counted as 2x forward)."""
    steps = max(1, n_train // recipe.batch_size)
    images = recipe.epochs * steps * min(recipe.batch_size, n_train)
    evals = recipe.epochs * n_valid + (recipe.epochs if recipe.test_every_epoch else 1) * n_test
    return float(np.sum(flops_per_image) * (3 * images + evals))


__all__ = [
    "MemberResults",
    "PopulationTrainer",
    "SLOT_NAMES",
    "check_population_memory",
    "make_optimizer",
    "make_plan",
    "member_key",
    "nb201_network",
    "partition",
    "platform_name",
    "population_apply",
    "slot_cell",
    "slot_demand",
    "train_flops",
]
