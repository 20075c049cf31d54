"""Population training of MLPs of different shapes (the MLP space) in one compiled program.

Padding and masking: every member of a population is stored and run at the space's
largest shape, ``L`` hidden layers of ``U`` units (``L`` the largest ``layers``, ``U``
the widest ``units_k``; for :func:`~nasbench.spaces.mlp.mlp_space` 4 x 128). A member
with widths ``(u_1, .., u_l)`` keeps its kernels in the top-left corner of the padded
ones, with zeros elsewhere, and the program masks with ``jnp.where``:

* units ``>= u_k`` of a present layer are set to exactly 0 after the activation, so
  they feed nothing forward, and their weights get exactly zero gradients;
* a layer ``k >= l`` is the identity (``h_k = h_{k-1}``), and its weights get zero
  gradients;
* the classifier reads the last present layer, whose padded units are 0.

Padded parameters therefore start at 0 and stay at exactly 0 (zero gradient, zero
momentum, weight decay of 0 is 0): a padded member computes exactly its own network,
up to the summation order of the padded matrix products (a test checks it against the
member trained alone, unpadded). Its parameter count and FLOPs are those of its own
network (:func:`nasbench.spaces.mlp.mlp_costs`).

Activation: the program computes all five activations of :data:`ACTIVATIONS` on each
layer's pre-activations and selects each member's with ``jnp.where`` on its id (what
``lax.switch`` on a per-member index becomes under ``vmap`` anyway). The unselected
activations are finite wherever the input is, so they never leak NaN into gradients.

Randomness, per member, from ``member_key(seed, arch_index)`` (as the NB201
population): initialisation from ``fold_in(key, 0)`` (kernel ``k`` from its
``fold_in(., k)``, drawn at the padded shape, LeCun-normal with the member's own fan-in,
biases 0), data order from ``fold_in(key, epoch + 1)``, and each step's dropout masks
(drawn at the padded width ``U``) from that epoch key and the step. The member trained
alone draws the same arrays and slices them to its own shapes, so nothing depends on
the population a member lands in. Optimiser: the recipe's (:func:`make_optimizer`), one
state per member (the step count is shared, as every member trains the same steps).

Recipe fields that describe the NB201 network (``channels``, ``cells_per_stage``,
``reduction``, ``bn_momentum``) do not apply here; the rest (optimiser, schedule,
epochs, batch sizes, splits, augmentation before flattening, label smoothing) do.

``mode="single"`` trains each member alone in its own unpadded network, one compiled
program per network shape: the reference the population is checked and timed against.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from nasbench.core.errors import ConfigError
from nasbench.spaces.declared import DeclaredSpace
from nasbench.spaces.mlp import ACTIVATIONS, MLPShapes, mlp_costs, mlp_shapes, mlp_space
from nasbench.train.data import Dataset
from nasbench.train.population import (
    MemberResults,
    TrainerBase,
    _augment,
    _member_keys,
    concat_results,
    finish_metrics,
    make_optimizer,
    member_key,
    poison_params,
)
from nasbench.train.recipe import Recipe

log = logging.getLogger(__name__)

#: The activation functions, in the order of :data:`ACTIVATIONS` (GELU: tanh approximation).
ACTIVATION_FNS: tuple[Callable[[jax.Array], jax.Array], ...] = (
    jax.nn.relu,
    jax.nn.gelu,
    jnp.tanh,
    jax.nn.silu,
    jax.nn.elu,
)
#: Standard deviation of a standard normal truncated to [-2, 2] (LeCun-normal, as Flax's Dense).
_TRUNC_STD = 0.87962566103423978

Params = dict[str, Any]


# ---- the padded description of a population ------------------------------------------------
def padded_spec(shapes: MLPShapes) -> dict[str, np.ndarray]:
    """The arrays the program reads per member (a leading K axis).

    Returns:
        ``unit_mask`` bool ``(K, L, U)`` (unit present), ``layer`` bool ``(K, L)`` (layer
        present), ``act`` int32 ``(K,)`` (activation id), ``keep`` float32 ``(K,)``
        (``1 - dropout``).
    """
    u = shapes.units
    return {
        "unit_mask": np.arange(shapes.max_units)[None, None, :] < u[:, :, None],
        "layer": u > 0,
        "act": shapes.activation.astype(np.int32),
        "keep": (1.0 - shapes.dropout).astype(np.float32),
    }


# ---- initialisation ------------------------------------------------------------------------
def init_member(key: jax.Array, spec: dict[str, jax.Array], input_dim: int, n_classes: int) -> Params:
    """Padded parameters of one member (pure; vmap it over a population).

    Args:
        key: the member's initialisation key (``fold_in(member_key, 0)``).
        spec: one member's row of :func:`padded_spec` (``unit_mask`` ``(L, U)``, ...).
        input_dim: ``D``.
        n_classes: ``C``.

    Returns:
        ``{"hidden": [{"kernel": (D or U, U), "bias": (U,)}] * L, "out": {"kernel":
        (U, C), "bias": (C,)}}``, zero outside the member's own shapes.
    """
    unit_mask, layer = spec["unit_mask"], spec["layer"]
    n_layers, width = unit_mask.shape
    in_mask = jnp.ones(input_dim, bool)
    hidden = []
    for k in range(n_layers):
        w = _lecun(jax.random.fold_in(key, k), (in_mask.shape[0], width), in_mask)
        w = jnp.where(in_mask[:, None] & unit_mask[k][None, :], w, 0.0)
        hidden.append({"kernel": w, "bias": jnp.zeros(width, jnp.float32)})
        # the next layer (and the classifier) reads the last present layer; layer 0 always is
        in_mask = unit_mask[0] if k == 0 else jnp.where(layer[k], unit_mask[k], in_mask)
    w = _lecun(jax.random.fold_in(key, n_layers), (width, n_classes), in_mask)
    w = jnp.where(in_mask[:, None], w, 0.0)
    return {"hidden": hidden, "out": {"kernel": w, "bias": jnp.zeros(n_classes, jnp.float32)}}


def _lecun(key: jax.Array, shape: tuple[int, int], in_mask: jax.Array) -> jax.Array:
    fan_in = jnp.maximum(in_mask.sum(), 1).astype(jnp.float32)
    return jax.random.truncated_normal(key, -2.0, 2.0, shape, jnp.float32) * (lax.rsqrt(fan_in) / _TRUNC_STD)


def unpad_params(padded: Params, widths: Sequence[int]) -> Params:
    """A member's own (unpadded) parameters: the corners of its padded ones.

    Args:
        padded: one member's padded parameters (no K axis).
        widths: its hidden widths ``(u_1, .., u_l)``.
    """
    hidden = []
    fan_in = padded["hidden"][0]["kernel"].shape[0]
    for k, u in enumerate(widths):
        layer = padded["hidden"][k]
        hidden.append({"kernel": layer["kernel"][:fan_in, :u], "bias": layer["bias"][:u]})
        fan_in = u
    out = padded["out"]
    return {"hidden": hidden, "out": {"kernel": out["kernel"][:fan_in], "bias": out["bias"]}}


# ---- forward passes ------------------------------------------------------------------------
def _select_activation(z: jax.Array, act: jax.Array) -> jax.Array:
    out = ACTIVATION_FNS[0](z)
    for i, fn in enumerate(ACTIVATION_FNS[1:], 1):
        out = jnp.where(act == i, fn(z), out)
    return out


def _dropout_mask(key: jax.Array, keep: jax.Array, batch: int, width: int) -> jax.Array:
    """bool ``(B, width)``: units kept (drawn at the padded width, so slicing it gives the
    unpadded network's mask)."""
    return jax.random.bernoulli(key, keep, (batch, width))


def padded_apply(
    params: Params, spec: dict[str, jax.Array], x: jax.Array, dropout_key: jax.Array | None = None
) -> jax.Array:
    """Forward pass of one padded member (vmap it over a population).

    Args:
        params: the member's padded parameters (:func:`init_member`).
        spec: its row of :func:`padded_spec`.
        x: ``(B, D)`` flattened images.
        dropout_key: the step's dropout key (training), or None (evaluation).

    Returns:
        logits ``(B, C)``.
    """
    h = x
    for k, layer in enumerate(params["hidden"]):
        z = h @ layer["kernel"] + layer["bias"]
        a = jnp.where(spec["unit_mask"][k], _select_activation(z, spec["act"]), 0.0)
        if dropout_key is not None:
            keep = spec["keep"]
            mask = _dropout_mask(jax.random.fold_in(dropout_key, k), keep, *a.shape)
            a = jnp.where(mask, a / keep, 0.0)
        h = a if k == 0 else jnp.where(spec["layer"][k], a, h)
    return h @ params["out"]["kernel"] + params["out"]["bias"]


def single_apply(
    params: Params,
    x: jax.Array,
    activation: int,
    keep: jax.Array | None = None,
    dropout_key: jax.Array | None = None,
    max_units: int | None = None,
) -> jax.Array:
    """Forward pass of one member's own (unpadded) network.

    Args:
        params: unpadded parameters (:func:`unpad_params`).
        x: ``(B, D)`` flattened images.
        activation: index into :data:`ACTIVATIONS` (static).
        keep: ``1 - dropout`` (float32 scalar), with ``dropout_key`` in training.
        dropout_key: the step's dropout key, or None (evaluation, or no dropout).
        max_units: the space's padded width ``U`` (the dropout masks are drawn at it).

    Returns:
        logits ``(B, C)``.
    """
    fn = ACTIVATION_FNS[activation]
    h = x
    for k, layer in enumerate(params["hidden"]):
        a = fn(h @ layer["kernel"] + layer["bias"])
        if dropout_key is not None:
            u = a.shape[-1]
            mask = _dropout_mask(jax.random.fold_in(dropout_key, k), keep, a.shape[0], max_units or u)
            a = jnp.where(mask[:, :u], a / keep, 0.0)
        h = a
    return h @ params["out"]["kernel"] + params["out"]["bias"]


# ---- training programs ---------------------------------------------------------------------
#: ``forward(params, spec, x (K, B, D), dropout keys (K,) or None) -> logits (K, B, C)``
Forward = Callable[[Params, dict, jax.Array, "jax.Array | None"], jax.Array]


@dataclass(frozen=True)
class _Fns:
    """The pure functions of one training setup (compiled on first use)."""

    init: Callable  # (padded params) -> (params, opt_state)
    epoch_setup: Callable  # (keys, epoch) -> (epoch keys (K,), perms (steps, K, B))
    step: Callable  # (state, spec, x, y, ekeys, perms, t) -> (state, loss (K,), acc (K,))
    epoch_scan: Callable  # (state, spec, x, y, ekeys, perms) -> (state, mean loss, mean acc)
    eval_batch: Callable  # (params, spec, xs, ys, mask, i) -> (ce sum (K,), correct (K,))
    steps: int


def _make_fns(
    forward: Forward, own_params: Callable, recipe: Recipe, n_train: int, needs_dropout: bool
) -> _Fns:
    steps = max(1, n_train // recipe.batch_size)
    batch = min(recipe.batch_size, n_train)
    tx = make_optimizer(recipe, steps)
    smooth = recipe.label_smoothing

    def init(padded):  # noqa: ANN001, ANN202
        params = own_params(padded)
        return params, tx.init(params)

    def loss_fn(params, spec, xb, yb, dkeys):  # noqa: ANN001, ANN202
        logits = forward(params, spec, xb, dkeys)
        n_cls = logits.shape[-1]
        target = jax.nn.one_hot(yb, n_cls) * (1 - smooth) + smooth / n_cls
        losses = -(target * jax.nn.log_softmax(logits)).sum(-1).mean(-1)  # (K,)
        acc = 100.0 * (logits.argmax(-1) == yb).mean(-1)
        return losses.sum(), (losses, acc)

    def epoch_setup(keys, epoch):  # noqa: ANN001, ANN202
        ekeys = jax.vmap(lambda k: jax.random.fold_in(k, epoch + 1))(keys)
        perms = jax.vmap(
            lambda k: jax.random.permutation(jax.random.fold_in(k, 0), n_train)[: steps * batch]
        )(ekeys)
        return ekeys, perms.reshape(len(keys), steps, batch).transpose(1, 0, 2)

    def step(state, spec, x, y, ekeys, perms, t):  # noqa: ANN001, ANN202
        params, opt = state
        idx = perms[t]
        xb, yb = x[idx], y[idx]  # (K, B, H, W, C): each member its own batch
        skeys = jax.vmap(lambda k: jax.random.split(jax.random.fold_in(k, t + 1)))(ekeys)  # (K, 2)
        if recipe.augmentation != "none":
            xb = jax.vmap(lambda k, im: _augment(k, im, recipe.augmentation))(skeys[:, 0], xb)
        xb = xb.reshape(xb.shape[0], xb.shape[1], -1)
        dkeys = skeys[:, 1] if needs_dropout else None
        grads, (losses, acc) = jax.grad(loss_fn, has_aux=True)(params, spec, xb, yb, dkeys)
        updates, opt = tx.update(grads, opt, params)
        return (optax.apply_updates(params, updates), opt), losses, acc

    def epoch_scan(state, spec, x, y, ekeys, perms):  # noqa: ANN001, ANN202
        def body(carry, t):  # noqa: ANN001, ANN202
            new, losses, acc = step(carry, spec, x, y, ekeys, perms, t)
            return new, (losses, acc)

        state, (losses, acc) = lax.scan(body, state, jnp.arange(steps))
        return state, losses.mean(0), acc.mean(0)

    def eval_batch(params, spec, xs, ys, mask, i):  # noqa: ANN001, ANN202
        xb, yb, mb = xs[i], ys[i], mask[i]
        k = jax.tree_util.tree_leaves(params)[0].shape[0]
        logits = forward(params, spec, jnp.broadcast_to(xb, (k, *xb.shape)), None)
        ce = -jnp.take_along_axis(jax.nn.log_softmax(logits), yb[None, :, None], -1)[..., 0]
        correct = logits.argmax(-1) == yb[None]
        return (ce * mb).sum(-1), (correct * mb).sum(-1)

    return _Fns(init, epoch_setup, step, epoch_scan, eval_batch, steps)


class MLPTrainer(TrainerBase):
    """Trains members (configuration of an MLP space, seed), a population at a time.

    Args:
        recipe: the recipe (optimiser, schedule, epochs, batch sizes, splits).
        dataset: standardised splits (images are flattened).
        population: K, members per compiled program (padded with copies of index 0,
            whose results are discarded).
        space: an MLP-shaped declared space (default :func:`mlp_space`).
        mode: ``population`` (padded, one program per K) or ``single`` (each member
            alone in its own network, one program per network shape).
        device: a ``jax.Device`` (default: the first local device).
        use_scan: one ``lax.scan`` program per epoch (default on accelerators) instead
            of one compiled step per call (default on CPU), as the NB201 trainer.

    Raises:
        ConfigError: a bad mode or population, or a space that is not MLP-shaped.
    """

    def __init__(
        self,
        recipe: Recipe,
        dataset: Dataset,
        population: int,
        *,
        space: DeclaredSpace | None = None,
        mode: str = "population",
        device: Any = None,
        use_scan: bool | None = None,
    ) -> None:
        if mode not in ("population", "single"):
            raise ConfigError(f"unknown training mode {mode!r}; use population or single")
        if population < 1:
            raise ConfigError("population must be >= 1")
        self.recipe = recipe
        self.dataset = dataset
        self.space = space if space is not None else mlp_space()
        self.max_units = mlp_shapes(self.space, [0]).max_units  # checks the space is MLP-shaped
        self.mode = mode
        self.population = 1 if mode == "single" else int(population)
        self.input_dim = int(np.prod(dataset.image_shape))
        self.n_classes = dataset.n_classes
        self._setup_device(dataset, device, use_scan, flatten_eval=True)
        self._fns: collections.OrderedDict[Any, _Fns] = collections.OrderedDict()

    # -- programs --
    def _population_fns(self) -> _Fns:
        fns = self._fns.get("population")
        if fns is None:
            fns = _make_fns(
                lambda params, spec, x, dkeys: jax.vmap(
                    padded_apply, in_axes=(0, 0, 0, None if dkeys is None else 0)
                )(params, spec, x, dkeys),
                lambda padded: padded,
                self.recipe,
                len(self.dataset.y_train),
                needs_dropout=True,
            )
            self._fns["population"] = fns
        return fns

    def _single_fns(self, widths: tuple[int, ...], act: int, dropout: bool) -> _Fns:
        tag = (widths, act, dropout)
        if tag in self._fns:
            self._fns.move_to_end(tag)
            return self._fns[tag]
        u_max = self.max_units

        def forward(params, spec, x, dkeys):  # noqa: ANN001, ANN202
            p0 = jax.tree_util.tree_map(lambda a: a[0], params)
            dk = None if dkeys is None or not dropout else dkeys[0]
            return single_apply(p0, x[0], act, spec["keep"][0], dk, u_max)[None]

        def own_params(padded):  # noqa: ANN001, ANN202
            p0 = jax.tree_util.tree_map(lambda a: a[0], padded)
            return jax.tree_util.tree_map(lambda a: a[None], unpad_params(p0, widths))

        fns = self._fns[tag] = _make_fns(
            forward, own_params, self.recipe, len(self.dataset.y_train), needs_dropout=dropout
        )
        while len(self._fns) > 32:
            self._fns.popitem(last=False)
        return fns

    def _init_padded(self, keys: jax.Array, spec: dict[str, jax.Array]) -> Params:
        """Padded initial parameters of K members (keys ``(K,)``, spec rows ``(K, ...)``)."""
        d, c = self.input_dim, self.n_classes
        return jax.vmap(lambda k, s: init_member(jax.random.fold_in(k, 0), s, d, c))(keys, spec)

    # -- training --
    def shapes(self, arch_index: Sequence[int] | np.ndarray) -> MLPShapes:
        """The network shapes of configurations of :attr:`space`."""
        return mlp_shapes(self.space, arch_index)

    def costs(self, arch_index: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
        """``{"params", "flops"}`` per configuration (float64 ``(n,)``) on this dataset."""
        return mlp_costs(self.shapes(arch_index), self.input_dim, self.n_classes)

    def train(
        self,
        arch_index: Sequence[int],
        seeds: Sequence[int],
        ops: np.ndarray | None = None,
        *,
        poison: Sequence[int] = (),
    ) -> MemberResults:
        """Train one population (or, in single mode, each member in turn) for the recipe's epochs.

        Args:
            arch_index, seeds: ``(n,)`` the members; ``n <= population``.
            ops: the space's ``op_matrix`` rows of the members (what ``nasbench build``
                passes every trainer), checked against ``arch_index``; optional.
            poison: member positions whose initial parameters are set to NaN (a test hook
                for divergence isolation).

        Returns:
            per-member curves ``(n, epochs)``, ``diverged``, and ``params`` and ``flops``
            of each member's own network.

        Raises:
            ArchitectureError: an index outside the space.
            ConfigError: more members than the population, mismatched lengths or ``ops``.
        """
        arch_index = self.space.check_indices(arch_index)
        seeds = np.asarray(seeds, np.int64).reshape(-1)
        n = len(arch_index)
        if len(seeds) != n:
            raise ConfigError(f"{n} architectures but {len(seeds)} seeds")
        if n and seeds.min() < 0:
            raise ConfigError("seeds must be non-negative")
        if ops is not None and not np.array_equal(
            np.asarray(ops).reshape(n, -1), self.space.op_matrix(arch_index)
        ):
            raise ConfigError("ops do not match the architectures' op_matrix rows")
        if self.mode == "single":
            parts = [
                self._train_group(arch_index[i : i + 1], seeds[i : i + 1], [0] if i in poison else [])
                for i in range(n)
            ]
            return concat_results(parts)
        if n > self.population:
            raise ConfigError(f"{n} members do not fit a population of {self.population}")
        return self._train_group(arch_index, seeds, poison)

    def _train_group(self, arch_index: np.ndarray, seeds: np.ndarray, poison: Sequence[int]) -> MemberResults:
        r = self.recipe
        n, k = len(arch_index), self.population
        pad = k - n
        all_arch = np.concatenate([arch_index, np.zeros(pad, np.int64)])
        all_seed = np.concatenate([seeds, np.zeros(pad, np.int64)])
        shapes = self.shapes(all_arch)
        put = lambda a: jax.device_put(a, self.device)  # noqa: E731
        spec = jax.tree_util.tree_map(put, padded_spec(shapes))
        keys = put(_member_keys(jnp.asarray(all_seed, jnp.uint32), jnp.asarray(all_arch, jnp.uint32)))
        if self.mode == "single":
            widths, act = shapes.widths(0), int(shapes.activation[0])
            dropout = bool(shapes.dropout[0] > 0)
            fns = self._single_fns(widths, act, dropout)
            tag: tuple[Any, ...] = ("single", widths, act, dropout)
        else:
            fns = self._population_fns()
            tag = ("population",)
        # one padded initialisation program for every mode and shape; each mode then takes its own
        padded = self._call(("padded-init",), self._init_padded, keys, spec)
        state = self._call(tag + ("init",), fns.init, padded)
        if poison:
            state = (poison_params(state[0], poison, k), state[1])
        state = jax.device_put(state, self.device)
        state, out, epoch_time, eval_time = self._run_epochs(
            fns, tag, state, spec, keys, r.epochs, lambda st: (st[0], spec), setup_tag=("setup",)
        )  # the setup program is shape-free: one for every mode and shape
        costs = mlp_costs(shapes, self.input_dim, self.n_classes)
        metrics, diverged = finish_metrics(out, epoch_time, costs["flops"][:n])
        return MemberResults(
            arch_index=arch_index,
            seed=seeds,
            metrics=metrics,
            diverged=diverged,
            params=costs["params"][:n],
            flops=costs["flops"][:n],
            timing={"train_s": float(epoch_time.sum()), "eval_s": eval_time, "members": n, "padded": pad},
            platform=self.platform,
        )

    def params_of(self, arch_index: int, seed: int) -> Params:
        """A member's initial parameters, unpadded (what :meth:`train` starts it from)."""
        return initial_params(self.space, arch_index, seed, self.input_dim, self.n_classes)


def initial_params(
    space: DeclaredSpace, arch_index: int, seed: int, input_dim: int, n_classes: int
) -> Params:
    """The initial parameters of configuration ``arch_index`` trained with ``seed``, unpadded:
    what :meth:`MLPTrainer.train` starts that member from (``fold_in(member_key, 0)``)."""
    shapes = mlp_shapes(space, [arch_index])
    spec = jax.tree_util.tree_map(lambda a: jnp.asarray(a[0]), padded_spec(shapes))
    key = jax.random.fold_in(member_key(seed, int(arch_index)), 0)
    return unpad_params(init_member(key, spec, input_dim, n_classes), shapes.widths(0))


__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_FNS",
    "MLPTrainer",
    "init_member",
    "initial_params",
    "padded_apply",
    "padded_spec",
    "single_apply",
    "unpad_params",
]
