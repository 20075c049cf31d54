"""Network families: what a trainable search space hands the trainer.

A space names its family with one plain attribute, ``network_family`` (``"nb201-cell"``
on :class:`~nasbench.spaces.nb201.NB201Space`, ``"mlp"`` on
:class:`~nasbench.spaces.declared.DeclaredSpace`, whose dimensions describe an MLP); the
spaces layer never imports the trainer. :data:`FAMILIES` maps that key to the family's
factory, imported on first use. :func:`family_of` is the one way from a space to its
family: no checks of space names or classes anywhere in the trainer.

The contract (:class:`NetworkFamily`) is small:

* ``network``: ``init``/``apply`` for a population of members
  (:class:`~nasbench.train.engine.Network`), and ``trainer``, the engine's trainer
  built on it;
* ``split``: how members go into compiled populations (NB201: slot capacities; MLP:
  padded chunks), with the ``layout`` a population program is compiled for;
* ``default_recipe``: the recipe preset for a dataset;
* ``cost``: parameters and FLOPs per architecture;
* ``latency``: measured forward time per architecture;
* ``inherit`` (optional): the state a child architecture takes from a parent's; a
  family without it raises :class:`UnsupportedError`.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError, NasbenchError, UnknownSpaceError
from nasbench.train.recipe import Recipe


class UnsupportedError(ConfigError):
    """A family does not provide an optional part of the contract (e.g. weight inheritance)."""


class NetworkFamily:
    """The contract between a trainable space and the trainer (see the module docstring).

    Attributes:
        key: the family's registry key (the space's ``network_family``).
        space: the space whose architectures the family builds networks for.
        mode_prefix: prefix of the build modes of this family's trainer in table
            metadata (``""`` for NB201 cells, ``"mlp-"`` for MLPs).
    """

    key: str = ""
    mode_prefix: str = ""

    def __init__(self, space: Any) -> None:
        self.space = space

    # ---- the network --------------------------------------------------------------------
    def network(self, recipe: Recipe, image_shape: Sequence[int], n_classes: int) -> Any:
        """The population network, a :class:`~nasbench.train.engine.Network`."""
        raise NotImplementedError

    def trainer(
        self,
        recipe: Recipe,
        dataset: Any,
        population: int,
        *,
        layout: Mapping[str, int] | None = None,
        mode: str = "population",
        device: Any = None,
    ) -> Any:
        """The engine's trainer of this family (``mode``: ``population`` or ``single``)."""
        raise NotImplementedError

    def split(
        self, arch_index: np.ndarray, population: int, *, layout: Mapping[str, int] | None = None
    ) -> tuple[list[np.ndarray], dict[str, int]]:
        """Members (``(n,)`` space indices) in populations of at most ``population``.

        Deterministic; whole architectures (every seed) stay together where possible.

        Returns:
            (member positions per population, the layout the populations fit, e.g. the
            NB201 slot capacities; ``{}`` when the family needs none).
        """
        raise NotImplementedError

    def fixed_layout(self, population: int) -> dict[str, int]:
        """A layout that any ``population`` members fit with high probability (a live search
        keeps one compiled program); ``{}`` when the family needs none."""
        return {}

    # ---- recipe, cost, latency, inheritance -------------------------------------------------
    def default_recipe(self, dataset: str) -> str:
        """The name of the recipe preset this family trains with on ``dataset``."""
        raise NotImplementedError

    def cost(
        self, recipe: Recipe, arch_index: np.ndarray, image_shape: Sequence[int], n_classes: int
    ) -> dict[str, np.ndarray]:
        """``{"params", "flops"}``: float64 ``(n,)`` of each architecture's own network
        (FLOPs: forward, per image)."""
        raise NotImplementedError

    def latency(
        self,
        arch_index: np.ndarray,
        image_shape: tuple[int, ...],
        n_classes: int,
        *,
        recipe: Recipe | None,
        batch_sizes: tuple[int, ...],
        repeats: int,
        seed: int,
        device: Any,
        report: Callable[[int, int], None],
    ) -> np.ndarray:
        """float64 ``(n, len(batch_sizes))``: median milliseconds of one forward pass."""
        raise NotImplementedError

    def inherit(
        self, parent_state: Mapping[str, np.ndarray], parent_arch: int, child_arch: int
    ) -> dict[str, np.ndarray]:
        """The part of a parent's member state a child starts from.

        Raises:
            UnsupportedError: the family has no weight inheritance.
        """
        raise UnsupportedError(f"the {self.key} network family has no weight inheritance")

    def checkpoint_leaves(self, state: Mapping[str, np.ndarray], arch: int) -> dict[str, np.ndarray]:
        """The leaves of a member state worth saving (all by default)."""
        return dict(state)

    def input_independent(self, arch_index: Sequence[int] | np.ndarray) -> np.ndarray:
        """bool ``(n,)``: architectures whose output cannot depend on the input (NB201 cells
        without an input-to-output path that avoids ``none``); none by default."""
        return np.zeros(len(np.asarray(arch_index).reshape(-1)), bool)

    def cell_ops(self, arch_index: Sequence[int] | np.ndarray, what: str) -> np.ndarray:
        """int32 ``(n, 6)`` NB201 op ids of each architecture's cell, for the estimators
        written for NB201 cells (``what``: the one-shot supernet, the zero-cost proxies).

        Raises:
            UnsupportedError: the family's networks are not NB201 cells.
        """
        raise UnsupportedError(
            f"{what} need NB201 cells; space {self.space.name!r} trains {self.key} networks"
        )

    def check_dataset(self, dataset: Any) -> None:
        """Refuse data the family's networks cannot train (any by default).

        Raises:
            ConfigError: one line.
        """

    def check_memory(self, recipe: Recipe, image_shape: Sequence[int], population: int, device: Any) -> None:
        """Refuse a population that would not fit in the device's memory (no check by default).

        Raises:
            ConfigError: one line with the estimate and a population that fits.
        """


# ---- NB201 cells ----------------------------------------------------------------------------
class NB201CellFamily(NetworkFamily):
    """NB201 cells in the macro network (:mod:`nasbench.train.model`), trained in populations
    with slot plans (:mod:`nasbench.train.population`)."""

    key = "nb201-cell"

    def _ops(self, arch_index: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.space.op_matrix(np.asarray(arch_index, np.int64)).astype(np.int32)

    def cell_ops(self, arch_index: Sequence[int] | np.ndarray, what: str) -> np.ndarray:
        return self._ops(arch_index)

    def input_independent(self, arch_index: Sequence[int] | np.ndarray) -> np.ndarray:
        return ~np.asarray(self.space.is_connected(arch_index), bool)

    def network(self, recipe: Recipe, image_shape: Sequence[int], n_classes: int) -> Any:
        from nasbench.train.population import nb201_network

        return nb201_network(recipe, image_shape, n_classes)

    def trainer(self, recipe, dataset, population, *, layout=None, mode="population", device=None):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
        from nasbench.train.population import PopulationTrainer

        return PopulationTrainer(
            recipe, dataset, dict(layout or {}) or None, population, mode=mode, device=device
        )

    def split(self, arch_index, population, *, layout=None):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
        from nasbench.train.population import partition

        return partition(self._ops(arch_index), population, capacities=dict(layout) if layout else None)

    def fixed_layout(self, population: int) -> dict[str, int]:
        from nasbench.train.population import SLOT_NAMES

        # each slot kind is used by ~1/5 of random cells: room for the mean plus 2 sd
        w = int(population)
        cap = min(w, int(math.ceil(0.2 * w + 2 * math.sqrt(0.16 * w))) + 1)
        return {n: cap for n in SLOT_NAMES}

    def default_recipe(self, dataset: str) -> str:
        return "digits" if dataset == "digits" else "nb201"

    def cost(self, recipe, arch_index, image_shape, n_classes):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
        from nasbench.train.model import arch_cost

        c = [arch_cost(recipe, o, image_shape, n_classes) for o in self._ops(arch_index)]
        return {k: np.array([x[k] for x in c], np.float64) for k in ("params", "flops")}

    def latency(
        self, arch_index, image_shape, n_classes, *, recipe, batch_sizes, repeats, seed, device, report
    ):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201, E501
        """One compiled program per batch size for the whole space: every edge is a
        ``lax.switch`` on the cell's op id (:func:`nasbench.train.model.switch_apply`)."""
        import jax
        import jax.numpy as jnp

        from nasbench.train.engine import time_call
        from nasbench.train.model import init_variables, switch_apply

        if recipe is None:
            raise ConfigError("timing NB201 cells needs the training recipe (the network's shape)")
        rng = np.random.default_rng(seed)
        variables = init_variables(jax.random.PRNGKey(seed), recipe, image_shape, n_classes)
        # batch-norm statistics of a trained network, not the initial (0, 1): seeded, positive
        variables = {
            "params": variables["params"],
            "batch_stats": jax.tree_util.tree_map(
                lambda a: jnp.asarray(np.abs(rng.standard_normal(a.shape)).astype(np.float32) + 0.5),
                variables["batch_stats"],
            ),
        }
        variables = jax.device_put(variables, device)
        ops = self._ops(arch_index)
        ms = np.zeros((len(ops), len(batch_sizes)))
        for j, b in enumerate(batch_sizes):
            x = jax.device_put(rng.standard_normal((b, *image_shape)).astype(np.float32), device)
            fn = (
                jax.jit(lambda v, o, x: switch_apply(v, o, x, recipe))
                .lower(variables, jnp.asarray(ops[0]), x)
                .compile()
            )
            for i in range(len(ops)):
                ms[i, j] = time_call(fn, (variables, jax.device_put(ops[i], device), x), repeats)
                report(j * len(ops) + i + 1, len(ops) * len(batch_sizes))
        return ms

    def inherit(self, parent_state, parent_arch, child_arch):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
        from nasbench.train.checkpoint import inherited_state

        return inherited_state(parent_state, self._ops([parent_arch])[0], self._ops([child_arch])[0])

    def checkpoint_leaves(self, state, arch):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
        from nasbench.train.checkpoint import used_leaves

        return used_leaves(state, self._ops([arch])[0])

    def check_dataset(self, dataset):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
        from nasbench.train.population import require_images

        require_images(dataset)

    def check_memory(self, recipe, image_shape, population, device):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
        from nasbench.train.population import check_population_memory

        check_population_memory(recipe, image_shape, population, device)


# ---- MLPs ---------------------------------------------------------------------------------
class MLPFamily(NetworkFamily):
    """Multilayer perceptrons described by a declaration whose dimensions play MLP roles
    (depth, widths, activation, dropout, batch norm, and hyperparameters;
    :func:`nasbench.spaces.mlp.mlp_roles`), trained in buckets of similar shape
    (:mod:`nasbench.train.mlp`).

    Raises:
        ConfigError: the declaration does not describe a trainable MLP (one line naming
            the dimension).
    """

    key = "mlp"
    mode_prefix = "mlp-"

    def __init__(self, space: Any) -> None:
        from nasbench.spaces.mlp import mlp_shapes

        super().__init__(space)
        try:
            full = mlp_shapes(space, [0])
        except ConfigError as exc:
            raise ConfigError(
                f"space {space.name!r} has no trainable network family (no network to train): {exc}"
            ) from None
        self.max_units, self.max_layers = full.max_units, full.max_layers

    def network(self, recipe: Recipe, image_shape: Sequence[int], n_classes: int) -> Any:
        from nasbench.train.mlp import MLPLayout, mlp_network

        layout = MLPLayout((self.max_units,) * self.max_layers, None, 0, recipe.batch_size)
        return mlp_network(
            recipe, layout, int(np.prod(image_shape)), n_classes, self.max_units, self.max_layers, False
        )

    def trainer(self, recipe, dataset, population, *, layout=None, mode="population", device=None):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
        from nasbench.train.mlp import MLPTrainer

        universal = bool((layout or {}).get("universal"))
        return MLPTrainer(
            recipe, dataset, population, space=self.space, mode=mode, universal=universal, device=device
        )

    def _bucket_keys(self, arch: np.ndarray, universal: bool) -> list[Any]:
        from nasbench.spaces.mlp import mlp_shapes
        from nasbench.train.mlp import width_class

        shapes = mlp_shapes(self.space, arch)
        if universal:  # one program per batch size
            return [int(b) for b in shapes.batch_size]
        widths = width_class(shapes.units, self.max_units)
        return [
            (
                int(shapes.batch_size[i]),
                tuple(widths[i].tolist()),
                shapes.activations(i),
                bool(shapes.batch_norm[i]),
            )
            for i in range(len(arch))
        ]

    def split(self, arch_index, population, *, layout=None):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
        """Populations of at most ``population`` members of one bucket each (the same depth,
        activations, batch norm, batch size and width classes: one compiled program per
        bucket), or, with the universal ``layout`` (:meth:`fixed_layout`), of one batch size.
        Runs too few to fill one population per bucket on average train in the universal
        layout too (a few compiles instead of one per bucket).

        Whole architectures (every seed) stay together, buckets and architectures in a
        fixed shuffled order (seed 0), so the first populations are a random sample."""
        arch = np.asarray(arch_index, np.int64)
        n = len(arch)
        universal = bool((layout or {}).get("universal"))
        if not n:
            return [], dict(layout or {})
        uniq, group = np.unique(arch, return_inverse=True)
        keys = self._bucket_keys(uniq, universal)
        if not universal and n < population * len(set(keys)):
            # too few runs to fill a population per bucket: each bucket's compile would cost
            # more than the padding saves, so train every shape in the universal layout
            universal = True
            keys = self._bucket_keys(uniq, universal)
        bucket_ids = {k: b for b, k in enumerate(sorted(set(keys), key=repr))}
        bucket = np.array([bucket_ids[k] for k in keys], np.int64)[group]
        rng = np.random.default_rng(0)
        rank = rng.permutation(len(uniq))[group]
        brank = rng.permutation(len(bucket_ids))[bucket]
        order = np.lexsort((np.arange(n), rank, brank))
        parts = []
        for b in np.unique(brank):
            members = order[brank[order] == b]
            parts.extend(np.sort(members[i : i + population]) for i in range(0, len(members), population))
        return parts, ({"universal": 1} if universal else {})

    def fixed_layout(self, population: int) -> dict[str, int]:
        """The universal layout: a live search's batches mix every shape, so every member
        trains in one program (per batch size), compiled once."""
        return {"universal": 1}

    def default_recipe(self, dataset: str) -> str:
        """``mlp-digits`` on digits, ``mlp-tabular`` on anything else (no augmentation)."""
        return "mlp-digits" if dataset.split("?")[0] in ("digits", "sklearn:digits") else "mlp-tabular"

    def cost(self, recipe, arch_index, image_shape, n_classes):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
        from nasbench.spaces.mlp import mlp_costs, mlp_shapes

        return mlp_costs(
            mlp_shapes(self.space, arch_index), int(np.prod(image_shape)), max(int(n_classes), 1)
        )

    def latency(
        self, arch_index, image_shape, n_classes, *, recipe, batch_sizes, repeats, seed, device, report
    ):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201, E501
        """Each configuration's own network at its exact widths, one program per (network,
        batch size); configurations that differ only in dropout or hyperparameters share
        the measurement, since those do nothing in evaluation."""
        import jax

        from nasbench.spaces.mlp import mlp_shapes
        from nasbench.train.engine import member_key, time_call
        from nasbench.train.mlp import MLPLayout, init_member, member_apply, member_spec
        from nasbench.train.recipe import PRESETS

        rng = np.random.default_rng(seed)
        idx = np.asarray(arch_index, np.int64)
        shapes = mlp_shapes(self.space, idx)
        d = int(np.prod(image_shape))
        n_out = max(int(n_classes), 1)
        rec = recipe or PRESETS["mlp-digits"]
        xs = {b: jax.device_put(rng.standard_normal((b, d)).astype(np.float32), device) for b in batch_sizes}
        nets = [
            MLPLayout(shapes.widths(i), shapes.activations(i), int(shapes.batch_norm[i]), 0)
            for i in range(len(idx))
        ]
        first = {net: i for i, net in reversed(list(enumerate(nets)))}  # a configuration of each network
        measured: dict[Any, np.ndarray] = {}
        for u, net in enumerate(sorted(first)):
            i = first[net]
            spec = jax.tree_util.tree_map(lambda a: a[0], member_spec(shapes.take([i]), net, rec))
            key = jax.random.fold_in(member_key(seed, int(idx[i])), 0)
            params, stats = init_member(key, spec, net, d, n_out, self.max_units, self.max_layers)
            params, stats, spec = jax.device_put((params, stats, spec), device)
            row = np.zeros(len(batch_sizes))
            for j, b in enumerate(batch_sizes):

                def forward(p, st, sp, x, net=net):  # noqa: ANN001, ANN202
                    return member_apply(p, st, sp, x, net, self.max_units, False, None, rec.bn_momentum)[0]

                fn = jax.jit(forward).lower(params, stats, spec, xs[b]).compile()
                row[j] = time_call(fn, (params, stats, spec, xs[b]), repeats)
            measured[net] = row
            report(u + 1, len(first))
        return np.stack([measured[n] for n in nets]) if nets else np.zeros((0, len(batch_sizes)))


# ---- the registry ---------------------------------------------------------------------------
def _lazy(name: str) -> Callable[[Any], NetworkFamily]:
    def make(space: Any) -> NetworkFamily:
        return getattr(importlib.import_module(__name__), name)(space)

    return make


#: ``network_family`` key -> factory of the family for a space (lazy: nothing is built
#: until a space asks).
FAMILIES: dict[str, Callable[[Any], NetworkFamily]] = {
    "nb201-cell": _lazy("NB201CellFamily"),
    "mlp": _lazy("MLPFamily"),
}


def register_family(key: str, factory: Callable[[Any], NetworkFamily]) -> None:
    """Register a network family under the key spaces name in ``network_family``."""
    FAMILIES[key] = factory


def family_or_none(space: Any) -> NetworkFamily | None:
    """The network family of ``space``, or ``None`` where the space declares none (a
    catalog); a declared family that refuses the space still raises.

    Raises:
        ConfigError: the family does not fit the space (e.g. a declaration that is no MLP).
    """
    key = space.network_family  # SearchSpace declares it: None for a space with no network
    factory = None if key is None else FAMILIES.get(key)
    return None if factory is None else factory(space)


def family_of(space: Any) -> NetworkFamily:
    """The network family of ``space``, from its ``network_family`` attribute.

    Raises:
        ConfigError: the space has no trainable network family (one line).
    """
    family = family_or_none(space)
    if family is None:
        raise ConfigError(
            f"space {getattr(space, 'name', space)!r} has no trainable network family (no network to "
            f"train); trainable spaces: {', '.join(TRAINABLE_SPACES)}"
        )
    return family


def _nb201() -> Any:
    from nasbench.spaces.nb201 import NB201Space

    return NB201Space()


def _mlp() -> Any:
    from nasbench.spaces.mlp import mlp_space

    return mlp_space()


#: The trainable spaces by the name commands take (``--space``): name -> the space.
TRAINABLE_SPACES: dict[str, Callable[[], Any]] = {"nb201": _nb201, "mlp": _mlp}


def resolve_trainable_space(name: str) -> Any:
    """The space ``--space NAME`` trains (:data:`TRAINABLE_SPACES`), or the declaration in the
    file ``--space SPACE.toml`` (``.toml``/``.json``, or ConfigSpace JSON), with its family
    checked.

    Raises:
        UnknownSpaceError: no space of that name is registered.
        ConfigError: an unreadable or malformed space file, or a space with no trainable
            network family (one line naming the file and the dimension).
    """
    if name in TRAINABLE_SPACES:
        space = TRAINABLE_SPACES[name]()
        family_of(space)
        return space
    if Path(name).suffix.lower() in (".toml", ".json") or Path(name).is_file():
        from nasbench.spaces.declared_files import read_space

        space = read_space(name)
        try:
            family_of(space)
        except ConfigError as exc:
            raise ConfigError(f"space file {name}: {exc}") from None
        return space
    from nasbench.spaces import space_class

    trainable = " and ".join(TRAINABLE_SPACES)
    try:
        space_class(name)
    except UnknownSpaceError:
        raise UnknownSpaceError(f"unknown space {name!r}; the trainer trains {trainable}") from None
    raise ConfigError(
        f"space {name!r} has no trainable network family (no network to train); the trainer trains {trainable}"
    )


def unique_indices(space: Any) -> np.ndarray:
    """A space's non-isomorphic architectures: one representative per class (every index
    in a space without isomorphisms)."""
    reps = np.asarray(space.iso_representatives(), np.int64)
    return np.flatnonzero(reps == np.arange(space.size)).astype(np.int64)


def resolve_archs(space: Any, spec: str) -> np.ndarray:
    """Sorted unique space indices for ``unique``, ``all``, ``N`` or a file.

    Raises:
        ConfigError: a bad N, a missing file, or a line that is not an architecture.
    """
    spec = str(spec).strip()
    if spec == "unique":
        return unique_indices(space)
    if spec == "all":
        return np.arange(space.size, dtype=np.int64)
    if spec.isdigit():
        n = int(spec)
        uniq = unique_indices(space)
        if not 1 <= n <= len(uniq):
            raise ConfigError(f"--archs N must be in 1..{len(uniq)} (unique cells), got {n}")
        return np.sort(np.random.default_rng(0).choice(uniq, n, replace=False))
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"--archs must be unique, all, a number or a file; {spec!r} is none of these")
    out = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            out.append(space.index(text))
        except NasbenchError as exc:
            raise ConfigError(f"{path}:{lineno}: {exc}") from None
    if not out:
        raise ConfigError(f"{path} lists no architectures")
    return np.unique(np.asarray(out, np.int64))


__all__ = [
    "FAMILIES",
    "MLPFamily",
    "NB201CellFamily",
    "NetworkFamily",
    "TRAINABLE_SPACES",
    "UnsupportedError",
    "family_of",
    "family_or_none",
    "register_family",
    "resolve_archs",
    "resolve_trainable_space",
    "unique_indices",
]
