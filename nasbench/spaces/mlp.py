"""The MLP macro space: multilayer perceptrons on flattened images, declared as data.

:data:`MLP_DECLARATION` is an ordinary declaration (see :mod:`nasbench.spaces.declared`);
:func:`mlp_space` is its :class:`~nasbench.spaces.declared.DeclaredSpace`, so tables on
it record the space as ``declared`` with the declaration itself, and every surrogate,
strategy and command works on it through the ``SearchSpace`` contract::

    layers     integer 1..4
    units_k    16, 32, 64, 128 (k = 1..4; units_k only when layers >= k)
    activation relu | gelu | tanh | silu | elu   (one for every hidden layer)
    dropout    0.0, 0.2, 0.4                      (after every hidden layer)

Size: (4 + 4**2 + 4**3 + 4**4) width patterns x 5 activations x 3 dropouts = 5,100, so
a table can hold the whole space (about 5,000 members). One activation and one dropout
are shared by the layers (per-layer choices would multiply the size by up to 75); the
widths stop at 128 because 8x8 digits have 64 inputs.

The network of a configuration (built by :mod:`nasbench.train.mlp`, not here): the image
flattened to ``D = H * W * C`` inputs, then per hidden layer ``k`` a dense layer of
``units_k`` units with bias, the activation and dropout, then a dense classifier. Its
parameter count and FLOPs follow from the declaration alone (:func:`mlp_costs`).

Any declared space with the same dimension names (``layers``, ``units_1`` ..
``units_L``, and optionally ``activation`` and ``dropout``) is an MLP space too
(:func:`mlp_shapes` checks it), e.g. other widths or more layers.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.spaces.declared import DeclaredSpace

#: Activation names, in the order of their ids (what the trainer's program selects by).
ACTIVATIONS: tuple[str, ...] = ("relu", "gelu", "tanh", "silu", "elu")

MLP_DECLARATION: dict[str, Any] = {
    "dimensions": [
        {"name": "layers", "type": "integer", "low": 1, "high": 4},
        *(
            {"name": f"units_{k}", "type": "integer", "low": 16, "high": 128, "log": True, "steps": 4}
            for k in range(1, 5)
        ),
        {"name": "activation", "type": "categorical", "values": list(ACTIVATIONS)},
        {"name": "dropout", "type": "ordinal", "values": [0.0, 0.2, 0.4]},
    ],
    "conditions": [f"units_{k} if layers >= {k}" for k in range(2, 5)],
}


@functools.cache
def mlp_space() -> DeclaredSpace:
    """The shipped MLP space (5,100 configurations; built once per process)."""
    return DeclaredSpace(MLP_DECLARATION)


#: Schedule names a ``schedule`` dimension may hold, and what they mean.
SCHEDULES: dict[str, str] = {"cosine": "cosine", "cos": "cosine", "constant": "constant", "const": "constant"}
_SWITCH = {
    "true": True,
    "false": False,
    "on": True,
    "off": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
}

#: The roles an MLP declaration's dimensions play, and the names a dimension is recognised
#: by when the declaration's ``[network]`` table does not name it (``{k}``: the layer, 1-based).
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "depth": ("layers", "n_layers", "num_layers", "depth"),
    "width": (
        "units_{k}",
        "n_units_{k}",
        "width_{k}",
        "hidden_{k}",
        "units",
        "n_units",
        "width",
        "hidden_size",
    ),
    "activation": ("activation_{k}", "activation_fn_{k}", "activation", "activation_fn"),
    "dropout": ("dropout_{k}", "dropout", "dropout_rate"),
    "batch_norm": ("batch_norm", "batchnorm", "bn"),
    "learning_rate": ("learning_rate", "lr", "init_lr"),
    "weight_decay": ("weight_decay", "wd"),
    "batch_size": ("batch_size",),
    "schedule": ("schedule", "lr_schedule"),
}
#: Width shape rules for one ``width`` dimension: every layer as wide (``constant``), or
#: narrowing linearly to ``width / depth`` at the last layer (``funnel``).
SHAPES: tuple[str, ...] = ("constant", "funnel")
#: The roles that are hyperparameters (each member of a population carries its own).
HYPERPARAMETERS: tuple[str, ...] = ("learning_rate", "weight_decay", "batch_size", "schedule")


@dataclass(frozen=True)
class MLPShapes:
    """Networks (and training hyperparameters) of ``n`` configurations of an MLP space.

    Attributes:
        units: int64 ``(n, L)`` width of each hidden layer, 0 where the layer is absent
            (layers are contiguous: layer ``k`` exists iff ``k < layers``).
        layers: int64 ``(n,)`` number of hidden layers.
        activation: int64 ``(n, L)`` index into :data:`ACTIVATIONS` per layer (0 where absent).
        dropout: float64 ``(n, L)`` dropout rate after each hidden layer (0 where absent).
        max_units: widest layer the space allows (dropout masks are drawn at this width).
        batch_norm: bool ``(n,)`` batch normalisation after each hidden layer's product.
        lr, weight_decay: float64 ``(n,)`` the member's own; NaN: the recipe's.
        batch_size: int64 ``(n,)`` the member's own; 0: the recipe's.
        schedule: int64 ``(n,)`` 1 cosine, 0 constant; -1: the recipe's.
    """

    units: np.ndarray
    layers: np.ndarray
    activation: np.ndarray
    dropout: np.ndarray
    max_units: int
    batch_norm: np.ndarray | None = None
    lr: np.ndarray | None = None
    weight_decay: np.ndarray | None = None
    batch_size: np.ndarray | None = None
    schedule: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.layers)
        fill = {
            "batch_norm": np.zeros(n, bool),
            "lr": np.full(n, np.nan),
            "weight_decay": np.full(n, np.nan),
            "batch_size": np.zeros(n, np.int64),
            "schedule": np.full(n, -1, np.int64),
        }
        for name, default in fill.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        # one activation or dropout for every layer broadcasts to the layers
        for name in ("activation", "dropout"):
            a = np.asarray(getattr(self, name))
            if a.ndim == 1:
                a = np.where(self.units > 0, a[:, None], 0).astype(a.dtype)
            object.__setattr__(self, name, a)

    @property
    def max_layers(self) -> int:
        return int(self.units.shape[1])

    def widths(self, i: int) -> tuple[int, ...]:
        """The hidden widths of row ``i``, e.g. ``(64, 32)``."""
        return tuple(int(u) for u in self.units[i, : int(self.layers[i])])

    def activations(self, i: int) -> tuple[int, ...]:
        """The activation ids of row ``i``'s hidden layers."""
        return tuple(int(a) for a in self.activation[i, : int(self.layers[i])])

    def take(self, rows: Sequence[int] | np.ndarray) -> MLPShapes:
        """The shapes of ``rows``."""
        r = np.asarray(rows, np.int64)
        return MLPShapes(
            self.units[r], self.layers[r], self.activation[r], self.dropout[r], self.max_units,
            self.batch_norm[r], self.lr[r], self.weight_decay[r], self.batch_size[r], self.schedule[r],
        )  # fmt: skip


@dataclass(frozen=True)
class MLPRoles:
    """Which dimension of a declaration plays which role in an MLP (:func:`mlp_roles`).

    Each role holds one of: a dimension name (one value for every layer), a tuple of
    per-layer dimension names, or a fixed value (a number or word); ``None`` for an
    optional role the declaration leaves out (the recipe's value, or the family's default).
    """

    depth: Any
    width: Any
    shape: str
    activation: Any
    dropout: Any
    batch_norm: Any
    learning_rate: Any
    weight_decay: Any
    batch_size: Any
    schedule: Any

    @property
    def hyperparameters(self) -> tuple[str, ...]:
        """The hyperparameter roles the declaration declares."""
        return tuple(r for r in HYPERPARAMETERS if isinstance(getattr(self, r), str | tuple))

    def dimensions(self) -> set[str]:
        """Every dimension name a role claims."""
        out: set[str] = set()
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name != "shape" and isinstance(v, str):
                out.add(v)
            elif isinstance(v, tuple):
                out.update(v)
        return out


def _role_value(space: DeclaredSpace, role: str, value: Any, max_layers: int | None) -> Any:
    """A role as the ``[network]`` table gives it: a dimension, a ``{k}`` pattern, or a value."""
    names = set(space.names)
    if isinstance(value, str) and "{k}" in value:
        if max_layers is None:
            raise ConfigError(f"network.{role} = {value!r}: a per-layer pattern needs the depth first")
        per = tuple(value.replace("{k}", str(k)) for k in range(1, max_layers + 1))
        missing = [p for p in per if p not in names]
        if missing:
            raise ConfigError(f"network.{role} = {value!r} names no dimension {missing[0]!r}")
        return per
    if isinstance(value, str) and value in names:
        return value
    if role in ("depth", "width", "learning_rate", "weight_decay", "batch_size") and isinstance(value, str):
        raise ConfigError(f"network.{role} = {value!r} is neither a dimension of the space nor a number")
    return value


def _infer_role(space: DeclaredSpace, role: str, max_layers: int | None) -> Any:
    names = set(space.names)
    for pattern in ROLE_NAMES[role]:
        if "{k}" in pattern:
            if max_layers is None or pattern.replace("{k}", "1") not in names:
                continue
            per = tuple(pattern.replace("{k}", str(k)) for k in range(1, max_layers + 1))
            if all(p in names for p in per):
                return per
        elif pattern in names:
            return pattern
    return None


def _grid(space: DeclaredSpace, name: str) -> tuple[Any, ...]:
    return tuple(space.dims[space.names.index(name)].grid)


@functools.cache
def _roles_cached(space: DeclaredSpace) -> MLPRoles:
    net = dict(space.declaration.network)
    unknown = sorted(set(net) - {"family", "shape", *ROLE_NAMES})
    if unknown:
        raise ConfigError(
            f"network.{unknown[0]} is not a role of the MLP family; roles: {', '.join(['shape', *ROLE_NAMES])}"
        )

    def pick(role: str, max_layers: int | None) -> Any:
        if role in net:
            return _role_value(space, role, net[role], max_layers)
        return _infer_role(space, role, max_layers)

    # depth first: the per-layer patterns need the largest depth
    depth = pick("depth", None)
    if isinstance(depth, tuple):
        raise ConfigError("network.depth must be one dimension or a number, not per layer")
    width = None
    if depth is None:
        # no depth dimension: as many layers as per-layer width dimensions (FCNet: two)
        for pattern in ("units_{k}", "n_units_{k}", "width_{k}", "hidden_{k}"):
            k = 0
            while pattern.replace("{k}", str(k + 1)) in space.names:
                k += 1
            if k:
                depth, width = k, tuple(pattern.replace("{k}", str(j)) for j in range(1, k + 1))
                break
    if depth is None:
        raise ConfigError(
            "an MLP space needs a depth: a dimension named layers (or network.depth = NAME or a number)"
        )
    if isinstance(depth, str):
        values = _grid(space, depth)
        if not all(_is_int(v) and int(v) >= 1 for v in values):
            raise ConfigError(f"dimension {depth!r} (depth) must hold positive integers, got {values}")
        max_layers = max(int(v) for v in values)
    else:
        if not _is_int(depth) or int(depth) < 1:
            raise ConfigError(f"network.depth must be a positive integer, got {depth!r}")
        max_layers = int(depth)
    if width is None:
        width = pick("width", max_layers)
    if width is None:
        raise ConfigError(
            f"an MLP space with up to {max_layers} layers needs widths: dimensions "
            + ", ".join(f"units_{k}" for k in range(1, max_layers + 1))
            + " (or one width dimension with network.shape)"
        )
    shape = str(net.get("shape", "constant"))
    if shape not in SHAPES:
        raise ConfigError(f"network.shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    roles = MLPRoles(
        depth=depth, width=width, shape=shape,
        **{r: pick(r, max_layers) for r in ROLE_NAMES if r not in ("depth", "width")},
    )  # fmt: skip
    for role in ("activation", "dropout"):
        v = getattr(roles, role)
        if isinstance(v, tuple) and len(v) != max_layers:
            raise ConfigError(f"network.{role} names {len(v)} layers; the space has up to {max_layers}")
    claimed = roles.dimensions()
    free = [n for n in space.names if n not in claimed]
    if free:
        raise ConfigError(
            f"dimension {free[0]!r} plays no role in an MLP (roles: {', '.join(ROLE_NAMES)}); "
            "name it in the declaration's [network] table"
        )
    _check_values(space, roles)
    return roles


def _is_int(v: Any) -> bool:
    return (
        isinstance(v, int | float | np.integer | np.floating)
        and not isinstance(v, bool)
        and float(v) == int(v)
    )


def _names(v: Any) -> tuple[str, ...]:
    return v if isinstance(v, tuple) else (v,) if isinstance(v, str) else ()


def _check_values(space: DeclaredSpace, roles: MLPRoles) -> None:
    """Every value a role can take is one the family trains; the message names the dimension."""

    def each(role: str, ok: Any, want: str) -> None:
        v = getattr(roles, role)
        dims = _names(v)
        values = [(d, x) for d in dims for x in _grid(space, d)] if dims else [] if v is None else [(None, v)]
        for d, x in values:
            if not ok(x):
                where = f"dimension {d!r}" if d else f"network.{role}"
                raise ConfigError(f"{where} ({role}): {x!r} is not {want}")

    each("width", lambda x: _is_int(x) and int(x) >= 1, "a positive integer width")
    each(
        "activation",
        lambda x: str(x) in ACTIVATIONS,
        f"an activation the MLP family trains ({', '.join(ACTIVATIONS)})",
    )
    each("dropout", lambda x: _is_number(x) and 0 <= float(x) < 1, "a dropout rate in [0, 1)")
    each("batch_norm", lambda x: _switch(x) is not None, "on or off (true/false)")
    each("learning_rate", lambda x: _is_number(x) and float(x) > 0, "a positive learning rate")
    each("weight_decay", lambda x: _is_number(x) and float(x) >= 0, "a weight decay >= 0")
    each("batch_size", lambda x: _is_int(x) and int(x) >= 1, "a positive integer batch size")
    each("schedule", lambda x: str(x) in SCHEDULES, f"a schedule ({', '.join(SCHEDULES)})")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def _switch(v: Any) -> bool | None:
    if isinstance(v, bool | np.bool_):
        return bool(v)
    return _SWITCH.get(str(v).lower())


def mlp_roles(space: DeclaredSpace) -> MLPRoles:
    """The roles of an MLP declaration's dimensions: from its ``[network]`` table, and for
    a role the table leaves out, from the names in :data:`ROLE_NAMES` (so :data:`MLP_DECLARATION`
    and the FCNet declaration train as they are declared).

    Raises:
        ConfigError: a required role missing (depth, width), a role naming no dimension, a
            value the family cannot train, or a dimension no role claims; the message names it.
    """
    if not isinstance(space, DeclaredSpace):
        raise ConfigError(f"an MLP space is a declared space, got {type(space).__name__}")
    return _roles_cached(space)


def mlp_shapes(space: DeclaredSpace, indices: Sequence[int] | np.ndarray) -> MLPShapes:
    """The networks and hyperparameters of configurations of an MLP declaration (vectorised).

    Args:
        space: a declared space whose dimensions play MLP roles (:func:`mlp_roles`).
        indices: ``(n,)`` configuration indices.

    Raises:
        ConfigError: the declaration does not describe a trainable MLP.
        ArchitectureError: an index is outside the space.
    """
    roles = mlp_roles(space)
    dig = space.digits(indices).astype(np.int64)
    n = len(dig)

    def column(name: str, cast: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``(values (n,) object or cast, active (n,) bool)`` of a dimension."""
        grid = _grid(space, name)
        col = dig[:, space.names.index(name)]
        vals = np.array([grid[c] if c >= 0 else None for c in col], dtype=object)
        return vals, col >= 0

    def per_layer(role: str, default: Any, convert: Any, dtype: Any) -> np.ndarray:
        v = getattr(roles, role)
        out = np.full((n, max_layers), convert(default), dtype)
        names = _names(v)
        if not names:
            out[:] = convert(default if v is None else v)
            return out
        for k in range(max_layers):
            vals, active = column(names[k] if len(names) > 1 else names[0])
            out[active, k] = [convert(x) for x in vals[active]]
        return out

    def per_member(role: str, default: Any, convert: Any, dtype: Any) -> np.ndarray:
        v = getattr(roles, role)
        if v is None:
            return np.full(n, default, dtype)
        if isinstance(v, str) and v in space.names:
            vals, active = column(v)
            if not active.all():
                raise ConfigError(f"dimension {v!r} ({role}) must always be active")
            return np.array([convert(x) for x in vals], dtype)
        return np.full(n, convert(v), dtype)

    if isinstance(roles.depth, str):
        max_layers = max(int(x) for x in _grid(space, roles.depth))
        layers = per_member("depth", 0, int, np.int64)
    else:
        max_layers = int(roles.depth)
        layers = np.full(n, max_layers, np.int64)
    present = np.arange(max_layers)[None, :] < layers[:, None]
    if isinstance(roles.width, tuple):
        units = per_layer("width", 0, int, np.int64)
        if np.any((units > 0) != present):
            k = int(np.flatnonzero(((units > 0) != present).any(0))[0])
            raise ConfigError(
                f"dimension {roles.width[k]!r} must be active exactly when the depth is at least {k + 1} "
                f"(add the condition '{roles.width[k]} if {roles.depth} >= {k + 1}')"
            )
        max_units = max(max(int(x) for x in _grid(space, w)) for w in roles.width)
    else:
        w = per_member("width", 0, int, np.int64)
        if roles.shape == "funnel":
            frac = (layers[:, None] - np.arange(max_layers)[None, :]) / np.maximum(layers[:, None], 1)
            units = np.maximum(1, np.round(w[:, None] * frac)).astype(np.int64)
        else:
            units = np.repeat(w[:, None], max_layers, axis=1)
        units = np.where(present, units, 0)
        max_units = (
            max(int(x) for x in _grid(space, roles.width))
            if isinstance(roles.width, str)
            else int(roles.width)
        )
    activation = np.where(
        present, per_layer("activation", "relu", lambda x: ACTIVATIONS.index(str(x)), np.int64), 0
    )
    dropout = np.where(present, per_layer("dropout", 0.0, float, np.float64), 0.0)
    return MLPShapes(
        units, layers, activation, dropout, max_units,
        batch_norm=per_member("batch_norm", False, _switch, bool),
        lr=per_member("learning_rate", np.nan, float, np.float64),
        weight_decay=per_member("weight_decay", np.nan, float, np.float64),
        batch_size=per_member("batch_size", 0, int, np.int64),
        schedule=per_member("schedule", -1, lambda x: int(SCHEDULES[str(x)] == "cosine"), np.int64),
    )  # fmt: skip


def mlp_costs(shapes: MLPShapes, input_dim: int, n_classes: int) -> dict[str, np.ndarray]:
    """Parameters and forward FLOPs per image of each network, from its shape alone.

    FLOPs count ``2 x`` the multiply-adds of the dense layers (as
    :func:`nasbench.train.model.arch_cost` does for NB201); activations, biases and
    dropout are not counted.

    Args:
        shapes: the networks (:func:`mlp_shapes`).
        input_dim: ``D``, the flattened image size ``H * W * C``.
        n_classes: classifier outputs.

    Returns:
        ``{"params": float64 (n,), "flops": float64 (n,)}``.
    """
    u = shapes.units.astype(np.float64)
    fan_in = np.concatenate([np.full((len(u), 1), float(input_dim)), u[:, :-1]], axis=1)
    present = u > 0
    macs = np.where(present, fan_in * u, 0.0).sum(1)
    last = u[np.arange(len(u)), shapes.layers - 1]
    params = macs + u.sum(1) + last * n_classes + n_classes
    flops = 2.0 * (macs + last * n_classes)
    return {"params": params, "flops": flops}


__all__ = [
    "ACTIVATIONS",
    "HYPERPARAMETERS",
    "MLP_DECLARATION",
    "MLPRoles",
    "MLPShapes",
    "ROLE_NAMES",
    "mlp_costs",
    "mlp_roles",
    "mlp_shapes",
    "mlp_space",
]
