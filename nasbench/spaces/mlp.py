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


@dataclass(frozen=True)
class MLPShapes:
    """Network shapes of ``n`` configurations of an MLP space (arrays, one row each).

    Attributes:
        units: int64 ``(n, L)`` width of each hidden layer, 0 where the layer is absent
            (layers are contiguous: layer ``k`` exists iff ``k < layers``).
        layers: int64 ``(n,)`` number of hidden layers.
        activation: int64 ``(n,)`` index into :data:`ACTIVATIONS`.
        dropout: float64 ``(n,)`` dropout rate after every hidden layer.
        max_units: widest layer the space allows (the padded width).
    """

    units: np.ndarray
    layers: np.ndarray
    activation: np.ndarray
    dropout: np.ndarray
    max_units: int

    @property
    def max_layers(self) -> int:
        return int(self.units.shape[1])

    def widths(self, i: int) -> tuple[int, ...]:
        """The hidden widths of row ``i``, e.g. ``(64, 32)``."""
        return tuple(int(u) for u in self.units[i, : int(self.layers[i])])

    def take(self, rows: Sequence[int] | np.ndarray) -> MLPShapes:
        """The shapes of ``rows``."""
        r = np.asarray(rows, np.int64)
        return MLPShapes(self.units[r], self.layers[r], self.activation[r], self.dropout[r], self.max_units)


def _int_grid(space: DeclaredSpace, name: str) -> np.ndarray:
    d = space.dims[space.names.index(name)]
    grid = np.array([float(v) for v in d.grid])
    if not (np.all(grid == np.round(grid)) and grid.min() >= 1):
        raise ConfigError(f"an MLP space needs positive integer values for {name!r}, got {d.describe()}")
    return grid.astype(np.int64)


def mlp_shapes(space: DeclaredSpace, indices: Sequence[int] | np.ndarray) -> MLPShapes:
    """The network shapes of configurations of an MLP-shaped declared space (vectorised).

    Args:
        space: a declared space with ``layers``, ``units_1`` .. ``units_L`` (L the largest
            ``layers``), optionally ``activation`` (values from :data:`ACTIVATIONS`;
            default relu) and ``dropout`` (rates in [0, 1); default 0).
        indices: ``(n,)`` configuration indices.

    Raises:
        ConfigError: the space is not MLP-shaped.
        ArchitectureError: an index is outside the space.
    """
    if not isinstance(space, DeclaredSpace):
        raise ConfigError(f"an MLP space is a declared space, got {type(space).__name__}")
    names = space.names
    if "layers" not in names:
        raise ConfigError("an MLP space needs a 'layers' dimension")
    max_layers = int(_int_grid(space, "layers").max())
    need = [f"units_{k}" for k in range(1, max_layers + 1)]
    missing = [n for n in need if n not in names]
    if missing:
        raise ConfigError(
            f"an MLP space with up to {max_layers} layers needs dimension(s) {', '.join(missing)}"
        )
    dig = space.digits(indices).astype(np.int64)
    n = len(dig)
    layers = _int_grid(space, "layers")[dig[:, names.index("layers")]]
    units = np.zeros((n, max_layers), np.int64)
    max_units = 0
    for k, name in enumerate(need):
        grid = _int_grid(space, name)
        max_units = max(max_units, int(grid.max()))
        col = dig[:, names.index(name)]
        units[:, k] = np.where(col >= 0, grid[np.maximum(col, 0)], 0)
    # the conditions must make units_k exist exactly for the layers a configuration has
    want = np.arange(max_layers)[None, :] < layers[:, None]
    if np.any((units > 0) != want):
        raise ConfigError("an MLP space needs the conditions 'units_k if layers >= k' for every k > 1")
    activation = np.zeros(n, np.int64)
    if "activation" in names:
        d = space.dims[names.index("activation")]
        unknown = [str(v) for v in d.grid if v not in ACTIVATIONS]
        if unknown:
            raise ConfigError(
                f"unknown activation(s) {', '.join(unknown)}; an MLP space takes {', '.join(ACTIVATIONS)}"
            )
        ids = np.array([ACTIVATIONS.index(str(v)) for v in d.grid], np.int64)
        col = dig[:, names.index("activation")]
        if np.any(col < 0):
            raise ConfigError("an MLP space's 'activation' must always be active")
        activation = ids[col]
    dropout = np.zeros(n, np.float64)
    if "dropout" in names:
        d = space.dims[names.index("dropout")]
        rates = np.array([float(v) for v in d.grid])
        if np.any((rates < 0) | (rates >= 1)):
            raise ConfigError(f"dropout rates must be in [0, 1), got {d.describe()}")
        col = dig[:, names.index("dropout")]
        if np.any(col < 0):
            raise ConfigError("an MLP space's 'dropout' must always be active")
        dropout = rates[col]
    return MLPShapes(units, layers, activation, dropout, max_units)


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


__all__ = ["ACTIVATIONS", "MLP_DECLARATION", "MLPShapes", "mlp_costs", "mlp_shapes", "mlp_space"]
