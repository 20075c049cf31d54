"""Population training of MLPs of different shapes (any MLP declaration) in compiled programs.

A declaration's dimensions play roles (depth, widths, activation per layer or shared,
dropout, batch norm, and the hyperparameters learning rate, weight decay, schedule and
batch size: :func:`nasbench.spaces.mlp.mlp_roles`); this module trains the networks they
describe with no code per space.

**Layouts.** A population is compiled for one :class:`MLPLayout`:

* a **bucket** (what ``nasbench build`` trains): members that share their depth, their
  activation per layer, batch norm on or off and batch size, with each layer padded to the
  member's *width class*: the smallest of ``U, U/4, U/16, ..`` (``U`` the space's widest
  layer) that holds it. Each member pays for its own class (at most 4x its width per
  layer), the activations are static (one per layer, not all five), and a space has few
  buckets (the shipped ``mlp`` space: 150), so a build compiles few programs;
* the **universal** layout (a live search, whose batches mix every shape): every layer
  ``U`` wide, the space's deepest, activations and depth chosen per member with
  ``jnp.where``: one program per batch size for the whole space.

**Padding is exact.** A member keeps its kernels in the top-left corner of its layout's,
with zeros elsewhere, and the program masks with ``jnp.where``: units ``>= u_k`` are
exactly 0 after the activation (zero gradients), absent layers (universal) are the
identity, and the classifier reads the last present layer. Padded parameters start at 0
and stay 0, so a member computes its own network in any layout, up to the summation
order of the padded matrix products (a test checks it against the member trained alone).

**Randomness, per member, from** ``member_key(seed, arch_index)``, independent of the
layout: kernel ``k`` is drawn at the space's full shape (``D`` or ``U`` rows, ``U``
columns; the classifier's key is ``L_max``) and sliced to the layout, LeCun-normal with
the member's own fan-in, biases 0; data order from ``fold_in(key, epoch + 1)``; each
step's dropout masks drawn at width ``U`` and sliced. Optimiser: the recipe's
(:func:`~nasbench.train.engine.make_optimizer`), or, where the space declares learning
rate, weight decay or schedule, the same SGD with each member's own values injected
(:func:`~nasbench.train.engine.make_member_optimizer`). Members with different batch
sizes train in different populations (the batch size is part of the layout).

Batch norm (a role): after each hidden layer's product, batch statistics in training and
running averages (momentum ``recipe.bn_momentum``) in evaluation, with a scale and an
offset per unit.

Tabular data: the inputs are the standardised feature vectors; images are flattened after
augmentation. Regression members have one output (:func:`~nasbench.train.engine.build_program`).

``mode="single"`` trains each member alone at its exact widths, one compiled program per
network: the reference the population is checked and timed against.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from nasbench.core.errors import ConfigError
from nasbench.spaces.declared import DeclaredSpace
from nasbench.spaces.mlp import ACTIVATIONS, MLPShapes, mlp_costs, mlp_roles, mlp_shapes, mlp_space
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
#: Width classes shrink by this factor from the space's widest layer (a member pays at most
#: this much per layer for sharing a compiled program).
WIDTH_CLASS_FACTOR = 4
_BN_EPS = 1e-5

Params = dict[str, Any]


class MLPLayout(NamedTuple):
    """What one population program is compiled for (see the module docstring).

    Attributes:
        widths: the padded width of each layer (universal: ``U`` for the deepest).
        acts: the activation id of each layer, static; ``None``: chosen per member (universal).
        bn: 0 no batch norm, 1 batch norm on every member, 2 chosen per member (universal).
        batch_size: the members' batch size.
    """

    widths: tuple[int, ...]
    acts: tuple[int, ...] | None
    bn: int
    batch_size: int
    #: universal layout: the activation ids the space can take (only those are computed)
    choices: tuple[int, ...] = tuple(range(len(ACTIVATIONS)))

    @property
    def universal(self) -> bool:
        return self.acts is None


def width_class(units: np.ndarray, max_units: int) -> np.ndarray:
    """The smallest of ``U, U/4, U/16, ..`` (rounded up) that holds each width (0 stays 0)."""
    u = np.asarray(units, np.int64)
    steps = np.floor(np.log(max_units / np.maximum(u, 1)) / np.log(WIDTH_CLASS_FACTOR) + 1e-9)
    cls = np.ceil(max_units / WIDTH_CLASS_FACTOR ** np.maximum(steps, 0)).astype(np.int64)
    return np.where(u > 0, np.maximum(cls, u), 0)


def member_spec(shapes: MLPShapes, layout: MLPLayout, recipe: Recipe) -> dict[str, Any]:
    """The arrays a population program reads per member (a leading K axis).

    Returns:
        ``mask``: per layer bool ``(K, w_k)`` (unit present); ``layer`` bool ``(K, L)``;
        ``act`` int32 ``(K, L)``; ``keep`` float32 ``(K, L)`` (``1 - dropout``); ``bn``
        bool ``(K,)``; ``lr``, ``wd`` float32 ``(K,)`` and ``cosine`` bool ``(K,)`` (the
        member's own, else the recipe's).
    """
    n_layers = len(layout.widths)
    u = shapes.units[:, :n_layers]
    return {
        "mask": [np.arange(w)[None, :] < u[:, k : k + 1] for k, w in enumerate(layout.widths)],
        "layer": u > 0,
        "act": shapes.activation[:, :n_layers].astype(np.int32),
        "keep": (1.0 - shapes.dropout[:, :n_layers]).astype(np.float32),
        "bn": shapes.batch_norm.astype(bool),
        "lr": np.where(np.isnan(shapes.lr), recipe.lr, shapes.lr).astype(np.float32),
        "wd": np.where(np.isnan(shapes.weight_decay), recipe.weight_decay, shapes.weight_decay).astype(
            np.float32
        ),
        "cosine": np.where(shapes.schedule < 0, recipe.schedule == "cosine", shapes.schedule == 1),
    }


# ---- initialisation ------------------------------------------------------------------------
def init_member(
    key: jax.Array,
    spec: dict[str, Any],
    layout: MLPLayout,
    input_dim: int,
    n_out: int,
    max_units: int,
    max_layers: int,
) -> tuple[Params, Params]:
    """One member's parameters and batch-norm statistics in ``layout`` (pure; vmap it).

    Returns:
        ``({"hidden": [{"kernel", "bias"(, "scale", "offset")}] * L, "out": {"kernel",
        "bias"}}, {"bn": [{"mean", "var"}] * L} or {})``, zero outside the member's shapes.
    """
    hidden, stats = [], []
    in_mask = jnp.ones(input_dim, bool)
    for k, width in enumerate(layout.widths):
        rows = input_dim if k == 0 else max_units
        w = _lecun(jax.random.fold_in(key, k), (rows, max_units), in_mask)[: in_mask.shape[0], :width]
        unit = spec["mask"][k]
        layer = {
            "kernel": jnp.where(in_mask[:, None] & unit[None, :], w, 0.0),
            "bias": jnp.zeros(width, jnp.float32),
        }
        if layout.bn:
            layer["scale"] = jnp.where(unit, 1.0, 0.0).astype(jnp.float32)
            layer["offset"] = jnp.zeros(width, jnp.float32)
            stats.append({"mean": jnp.zeros(width, jnp.float32), "var": jnp.ones(width, jnp.float32)})
        hidden.append(layer)
        # the next layer (and the classifier) reads the last present layer; layer 0 always is
        in_mask = unit if k == 0 or not layout.universal else jnp.where(spec["layer"][k], unit, in_mask)
    w = _lecun(jax.random.fold_in(key, max_layers), (max_units, n_out), in_mask)[: in_mask.shape[0]]
    out = {"kernel": jnp.where(in_mask[:, None], w, 0.0), "bias": jnp.zeros(n_out, jnp.float32)}
    return {"hidden": hidden, "out": out}, ({"bn": stats} if layout.bn else {})


def _lecun(key: jax.Array, shape: tuple[int, int], in_mask: jax.Array) -> jax.Array:
    fan_in = jnp.maximum(in_mask.sum(), 1).astype(jnp.float32)
    return jax.random.truncated_normal(key, -2.0, 2.0, shape, jnp.float32) * (lax.rsqrt(fan_in) / _TRUNC_STD)


# ---- the forward pass ------------------------------------------------------------------------
def _select_activation(z: jax.Array, act: jax.Array, choices: Sequence[int]) -> jax.Array:
    """Each member's activation of ``z``: only the ``choices`` its space can take are computed
    (``jnp.where`` picks, so the result is exactly the chosen function's)."""
    out = ACTIVATION_FNS[choices[0]](z)
    for i in choices[1:]:
        out = jnp.where(act == i, ACTIVATION_FNS[i](z), out)
    return out


def _batch_norm(
    z: jax.Array, layer: Params, stat: Params, train: bool, momentum: float
) -> tuple[jax.Array, Params]:
    if train:
        mean, var = z.mean(0), z.var(0)
        new = {
            "mean": momentum * stat["mean"] + (1 - momentum) * mean,
            "var": momentum * stat["var"] + (1 - momentum) * var,
        }
    else:
        mean, var, new = stat["mean"], stat["var"], stat
    return (z - mean) * lax.rsqrt(var + _BN_EPS) * layer["scale"] + layer["offset"], new


def member_apply(
    params: Params,
    stats: Params,
    spec: dict[str, Any],
    x: jax.Array,
    layout: MLPLayout,
    max_units: int,
    train: bool,
    dropout_key: jax.Array | None,
    bn_momentum: float,
) -> tuple[jax.Array, Params]:
    """Forward pass of one member in ``layout`` (vmap it over a population).

    Args:
        x: ``(B, D)`` features (flattened images).
        dropout_key: the step's dropout key in training, else None.

    Returns:
        ``(outputs (B, n_out), new batch-norm statistics)``.
    """
    h = x
    new_stats = []
    for k, layer in enumerate(params["hidden"]):
        z = h @ layer["kernel"] + layer["bias"]
        if layout.bn:
            zn, st = _batch_norm(z, layer, stats["bn"][k], train, bn_momentum)
            if layout.bn == 2:
                zn = jnp.where(spec["bn"], zn, z)
                st = jax.tree_util.tree_map(lambda a, b: jnp.where(spec["bn"], a, b), st, stats["bn"][k])
            z = zn
            new_stats.append(st)
        a = (
            _select_activation(z, spec["act"][k], layout.choices)
            if layout.universal
            else ACTIVATION_FNS[layout.acts[k]](z)
        )
        a = jnp.where(spec["mask"][k], a, 0.0)
        if dropout_key is not None:
            keep = spec["keep"][k]
            mask = jax.random.bernoulli(jax.random.fold_in(dropout_key, k), keep, (a.shape[0], max_units))
            a = jnp.where(mask[:, : a.shape[1]], a / keep, 0.0)
        h = a if k == 0 or not layout.universal else jnp.where(spec["layer"][k], a, h)
    return h @ params["out"]["kernel"] + params["out"]["bias"], ({"bn": new_stats} if layout.bn else {})


# ---- the MLP family's population network ---------------------------------------------------
def mlp_network(
    recipe: Recipe,
    layout: MLPLayout,
    input_dim: int,
    n_out: int,
    max_units: int,
    max_layers: int,
    member_hparams: bool,
    augmentation: str | None = None,
) -> Network:
    """The MLP family's population network (:class:`~nasbench.train.engine.Network`) for one
    layout; ``members`` is the population's :func:`member_spec`. Each member's step key
    splits in two: its augmentation key and its dropout key.

    Args:
        recipe: augmentation (images only) and batch-norm momentum.
        layout: what the program is compiled for.
        input_dim: ``D``, features (flattened image size).
        n_out: outputs (classes; 1 for regression).
        max_units, max_layers: the space's widest layer and deepest network.
        member_hparams: each member trains with its own learning rate, weight decay and
            schedule (the space declares them).
        augmentation: overrides the recipe's (``none`` for tabular data).
    """
    aug = recipe.augmentation if augmentation is None else augmentation

    def inputs(x, keys):  # noqa: ANN001, ANN202
        if keys is None:
            return x.reshape(x.shape[0], x.shape[1], -1), None
        skeys = jax.vmap(jax.random.split)(keys)  # (K, 2): augmentation, dropout
        if aug != "none":
            x = jax.vmap(lambda k, im: augment(k, im, aug))(skeys[:, 0], x)
        return x.reshape(x.shape[0], x.shape[1], -1), skeys[:, 1]

    def init(keys, spec):  # noqa: ANN001, ANN202
        return jax.vmap(lambda k, s: init_member(k, s, layout, input_dim, n_out, max_units, max_layers))(
            keys, spec
        )

    def apply(params, stats, x, spec, train, keys):  # noqa: ANN001, ANN202
        xb, dkeys = inputs(x, keys)
        fn = functools.partial(
            member_apply, layout=layout, max_units=max_units, train=train, bn_momentum=recipe.bn_momentum
        )
        return jax.vmap(
            lambda p, s, sp, xx, dk: fn(p, s, sp, xx, dropout_key=dk),
            in_axes=(0, 0, 0, 0, None if dkeys is None else 0),
        )(params, stats, spec, xb, dkeys)

    hparams = (lambda spec: (spec["lr"], spec["wd"], spec["cosine"])) if member_hparams else None
    return Network(init, apply, hparams)


class MLPTrainer(Trainer):
    """Trains members (configuration of an MLP declaration, seed), a population at a time,
    on the engine (:class:`nasbench.train.engine.Trainer`) with :func:`mlp_network`.

    Args:
        recipe: the recipe (optimiser, schedule, epochs, batch sizes, splits); a member's
            declared hyperparameters replace the recipe's.
        dataset: standardised splits (images are flattened; tabular features as they are).
        population: K, the most members per compiled program. A bucket population of
            ``n`` members is padded to the next power of two up to K (copies of its first
            member, whose results are discarded), so few program sizes are compiled.
        space: an MLP declaration (default :func:`mlp_space`).
        mode: ``population`` or ``single`` (each member alone at its exact widths, one
            program per network).
        universal: compile the universal layout (every shape in one program per batch
            size; a live search) instead of one program per bucket.
        device: a ``jax.Device`` (default: the first local device).
        use_scan: one ``lax.scan`` program per epoch (default on accelerators) instead
            of one compiled step per call (default on CPU), as the NB201 trainer.

    Raises:
        ConfigError: a bad mode or population, a declaration the family cannot train, or
            image augmentation asked of tabular data.
    """

    def __init__(
        self,
        recipe: Recipe,
        dataset: Dataset,
        population: int,
        *,
        space: DeclaredSpace | None = None,
        mode: str = "population",
        universal: bool = False,
        device: Any = None,
        use_scan: bool | None = None,
    ) -> None:
        self.space = space if space is not None else mlp_space()
        self.roles = mlp_roles(self.space)  # checks the declaration is a trainable MLP
        full = mlp_shapes(self.space, [0])
        self.max_units, self.max_layers = full.max_units, full.max_layers
        self.universal = bool(universal)
        self.member_hparams = bool(
            {"learning_rate", "weight_decay", "schedule"} & set(self.roles.hyperparameters)
        )
        self.input_dim = int(np.prod(dataset.image_shape)) if dataset is not None else 0
        self.n_classes = dataset.n_classes if dataset is not None else 0
        self.n_out = getattr(dataset, "n_outputs", self.n_classes) if dataset is not None else 0
        tabular = bool(getattr(dataset, "is_tabular", False))
        self.augmentation = "none" if tabular else None
        self.configure(recipe, dataset, population, mode, device, use_scan)

    # -- layouts --
    def layout_of(self, shapes: MLPShapes, exact: bool = False) -> list[MLPLayout]:
        """Each member's bucket layout (``exact``: at its own widths, the single-mode network)."""
        bs = np.where(shapes.batch_size > 0, shapes.batch_size, self.recipe.batch_size)
        widths = shapes.units if exact else width_class(shapes.units, self.max_units)
        bn = shapes.batch_norm
        return [
            MLPLayout(
                tuple(int(w) for w in widths[i, : shapes.layers[i]]),
                shapes.activations(i),
                int(bn[i]),
                int(bs[i]),
            )
            for i in range(len(shapes.layers))
        ]

    def universal_layout(self, batch_size: int) -> MLPLayout:
        """Every configuration of the space in one program (for ``batch_size``)."""
        bn = 2 if self.roles.batch_norm is not None else 0
        return MLPLayout((self.max_units,) * self.max_layers, None, bn, int(batch_size), self.activation_ids)

    @functools.cached_property
    def activation_ids(self) -> tuple[int, ...]:
        """The activation ids the space's configurations use (the universal layout computes
        only these)."""
        v = self.roles.activation
        names = (v,) if isinstance(v, str) else v if isinstance(v, tuple) else ()
        values = [x for n in names for x in self.space.dims[self.space.names.index(n)].grid]
        values = values or ["relu" if v is None else v]
        return tuple(sorted({ACTIVATIONS.index(str(x)) for x in values}))

    def _layout(self, arch: np.ndarray, ops: np.ndarray) -> MLPLayout:
        shapes = self.shapes(arch)
        if self.mode == "single":
            return self.layout_of(shapes.take([0]), exact=True)[0]
        own = self.layout_of(shapes)
        sizes = {lay.batch_size for lay in own}
        if len(sizes) > 1:
            raise ConfigError(
                f"members with different batch sizes ({sorted(sizes)}) train in separate populations"
            )
        if not self.universal and len(set(own)) == 1:
            return own[0]
        return self.universal_layout(own[0].batch_size)

    def _recipe_for(self, layout: Hashable) -> Recipe:
        return self.recipe.replace(batch_size=layout.batch_size)  # type: ignore[union-attr]

    def _population_size(self, arch: np.ndarray, ops: np.ndarray) -> int:
        # a bucket's population compiles for the next power of two up to K (its last chunk is
        # often small); the universal layout always for K, so that a member trains the same
        # whatever company it keeps
        if self.mode == "single" or self._layout(arch, ops).universal:
            return self.population
        return min(self.population, 1 << max(0, len(arch) - 1).bit_length())

    # -- what the engine asks of a family's trainer --
    def _padding(self, pad: int, arch: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        first = np.full(pad, arch[0] if len(arch) else 0, np.int64)
        return first, np.asarray(self.space.op_matrix(first)).reshape(pad, ops.shape[1])

    def _members(self, arch: np.ndarray, ops: np.ndarray) -> dict[str, Any]:
        # the padding members are copies of the first, so they share its layout
        return member_spec(self.shapes(arch), self._layout(arch, ops), self.recipe)

    def _single(self, arch: np.ndarray, ops: np.ndarray) -> MLPLayout:
        return self.layout_of(self.shapes(arch[:1]), exact=True)[0]

    def _network(self, single: Any, layout: Any = None) -> Network:
        lay = single if single is not None else layout
        return mlp_network(
            self.recipe, lay, self.input_dim, self.n_out, self.max_units, self.max_layers,
            self.member_hparams, self.augmentation,
        )  # fmt: skip

    def _costs(self, arch: np.ndarray, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = self.costs(arch)
        return c["params"], c["flops"]

    def params_of(self, arch_index: int, seed: int) -> Params:
        """A member's initial parameters at its exact widths (what :meth:`train` starts it
        from, without the padding)."""
        shapes = self.shapes([arch_index])
        layout = self.layout_of(shapes, exact=True)[0]
        spec = jax.tree_util.tree_map(lambda a: jnp.asarray(a[0]), member_spec(shapes, layout, self.recipe))
        key = jax.random.fold_in(member_key(seed, int(arch_index)), 0)
        return init_member(key, spec, layout, self.input_dim, self.n_out, self.max_units, self.max_layers)[0]

    # -- training --
    def shapes(self, arch_index: Sequence[int] | np.ndarray) -> MLPShapes:
        """The network shapes of configurations of :attr:`space`."""
        return mlp_shapes(self.space, arch_index)

    def costs(self, arch_index: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
        """``{"params", "flops"}`` per configuration (float64 ``(n,)``) on this dataset."""
        return mlp_costs(self.shapes(arch_index), self.input_dim, self.n_out)

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

        Members of one bucket train in that bucket's program; members of several (or a
        universal trainer) in the universal layout. Members must share a batch size.

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
            ConfigError: more members than the population, mismatched lengths or ``ops``,
                or members with different batch sizes.
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


__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_FNS",
    "MLPLayout",
    "MLPTrainer",
    "init_member",
    "member_apply",
    "member_spec",
    "mlp_network",
    "width_class",
]
