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
the population a member lands in. Optimiser: the recipe's
(:func:`~nasbench.train.engine.make_optimizer`), one state per member (its step count too).

Recipe fields that describe the NB201 network (``channels``, ``cells_per_stage``,
``reduction``, ``bn_momentum``) do not apply here; the rest (optimiser, schedule,
epochs, batch sizes, splits, augmentation before flattening, label smoothing) do.

``mode="single"`` trains each member alone in its own unpadded network, one compiled
program per network shape: the reference the population is checked and timed against.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from nasbench.core.errors import ConfigError
from nasbench.spaces.declared import DeclaredSpace
from nasbench.spaces.mlp import ACTIVATIONS, MLPShapes, mlp_costs, mlp_shapes, mlp_space
from nasbench.train.data import Dataset
from nasbench.train.engine import (
    MemberResults,
    Network,
    Trainer,
    augment,
    member_key,
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


# ---- the MLP family's population network ---------------------------------------------------
def mlp_network(
    recipe: Recipe,
    input_dim: int,
    n_classes: int,
    max_units: int,
    single: tuple[tuple[int, ...], int, bool] | None = None,
) -> Network:
    """The MLP family's population network (:class:`~nasbench.train.engine.Network`).

    ``members`` is the population's :func:`padded_spec`. Each member's step key splits in
    two: its augmentation key and its dropout key; images are flattened after
    augmentation.

    Args:
        recipe: augmentation (the rest of the recipe is the optimiser's).
        input_dim: ``D``, flattened image size.
        n_classes: ``C``.
        max_units: the space's padded width ``U``.
        single: ``(widths, activation id, has dropout)``: one member (K = 1) in its own
            unpadded network (the per-network reference); ``None``: the padded population.
    """
    aug = recipe.augmentation

    def inputs(x, keys):  # noqa: ANN001, ANN202
        if keys is None:
            return x.reshape(x.shape[0], x.shape[1], -1), None
        skeys = jax.vmap(jax.random.split)(keys)  # (K, 2): augmentation, dropout
        if aug != "none":
            x = jax.vmap(lambda k, im: augment(k, im, aug))(skeys[:, 0], x)
        return x.reshape(x.shape[0], x.shape[1], -1), skeys[:, 1]

    def init_padded(keys, spec):  # noqa: ANN001, ANN202
        return jax.vmap(lambda k, s: init_member(k, s, input_dim, n_classes))(keys, spec)

    if single is None:

        def init(keys, spec):  # noqa: ANN001, ANN202
            return init_padded(keys, spec), {}

        def apply(params, stats, x, spec, train, keys):  # noqa: ANN001, ANN202
            xb, dkeys = inputs(x, keys)
            logits = jax.vmap(padded_apply, in_axes=(0, 0, 0, None if dkeys is None else 0))(
                params, spec, xb, dkeys
            )
            return logits, stats

        return Network(init, apply)
    widths, act, dropout = single

    def init_one(keys, spec):  # noqa: ANN001, ANN202
        p0 = jax.tree_util.tree_map(lambda a: a[0], init_padded(keys, spec))
        return jax.tree_util.tree_map(lambda a: a[None], unpad_params(p0, widths)), {}

    def apply_one(params, stats, x, spec, train, keys):  # noqa: ANN001, ANN202
        xb, dkeys = inputs(x, keys)
        p0 = jax.tree_util.tree_map(lambda a: a[0], params)
        dk = None if dkeys is None or not dropout else dkeys[0]
        return single_apply(p0, xb[0], act, spec["keep"][0], dk, max_units)[None], stats

    return Network(init_one, apply_one)


class MLPTrainer(Trainer):
    """Trains members (configuration of an MLP space, seed), a population at a time, on the
    engine (:class:`nasbench.train.engine.Trainer`) with :func:`mlp_network`.

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
        self.space = space if space is not None else mlp_space()
        self.max_units = mlp_shapes(self.space, [0]).max_units  # checks the space is MLP-shaped
        self.input_dim = int(np.prod(dataset.image_shape)) if dataset is not None else 0
        self.n_classes = dataset.n_classes if dataset is not None else 0
        self.configure(recipe, dataset, population, mode, device, use_scan)

    # -- what the engine asks of a family's trainer --
    def _padding(self, pad: int) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(pad, np.int64), np.asarray(self.space.op_matrix(np.zeros(pad, np.int64)))

    def _members(self, arch: np.ndarray, ops: np.ndarray) -> dict[str, np.ndarray]:
        return padded_spec(self.shapes(arch))

    def _single(self, arch: np.ndarray, ops: np.ndarray) -> tuple[tuple[int, ...], int, bool]:
        shapes = self.shapes(arch[:1])
        return shapes.widths(0), int(shapes.activation[0]), bool(shapes.dropout[0] > 0)

    def _network(self, single: Any) -> Network:
        return mlp_network(self.recipe, self.input_dim, self.n_classes, self.max_units, single)

    def _costs(self, arch: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = self.costs(arch)
        return c["params"], c["flops"]

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
        start_epoch: int | Sequence[int] = 0,
        start_state: Sequence[Mapping[str, np.ndarray] | None] | None = None,
        epochs: int | None = None,
        schedule_epochs: int | None = None,
        keep_state: bool = False,
    ) -> MemberResults:
        """Train one population (or, in single mode, each member in turn).

        Args:
            arch_index, seeds: ``(n,)`` the members; ``n <= population``.
            ops: the space's ``op_matrix`` rows of the members (what ``nasbench build``
                passes every trainer), checked against ``arch_index``; optional.
            poison: member positions whose initial parameters are set to NaN (a test hook
                for divergence isolation).
            start_epoch, start_state, epochs, schedule_epochs, keep_state: continue
                members, as :meth:`nasbench.train.engine.Trainer.train_population` (population
                mode only).

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
        rows = np.asarray(self.space.op_matrix(arch_index))
        if ops is not None and not np.array_equal(np.asarray(ops).reshape(n, -1), rows):
            raise ConfigError("ops do not match the architectures' op_matrix rows")
        return self.train_population(
            arch_index, seeds, rows, poison=poison, start_epoch=start_epoch, start_state=start_state,
            epochs=epochs, schedule_epochs=schedule_epochs, keep_state=keep_state,
        )  # fmt: skip

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
    "mlp_network",
    "padded_apply",
    "padded_spec",
    "single_apply",
    "unpad_params",
]
