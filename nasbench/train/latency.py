"""Measured forward latency of architectures on this machine (NB201 cells and MLPs).

The one timing loop of the package (:func:`time_call`): each program is compiled once,
called once to warm up, then ``repeats`` calls are timed one by one
(``block_until_ready``) and the median is kept. Inputs and parameters are seeded random
numbers: the time does not depend on their values. Networks run in evaluation mode
(batch-norm running statistics, no dropout).

* **NB201 cells** run in one compiled program per batch size for the whole space: every
  edge is a ``lax.switch`` on the cell's op id at run time (:func:`nb201_switch_apply`),
  so only the chosen op executes (no ``vmap``: a switch on a concrete scalar is a real
  branch on CPU and GPU). Compiling each of the 15,625 cells' own network instead would
  take hours, longer than measuring them. Measured against each cell's own compiled
  network on 40 cells (``benchmarks/latency.py``): the switch program takes 1.12x as
  long in the median, and ranks the cells alike (Spearman 0.99 at batch 256; 0.84 at
  batch 1, where both are under a millisecond and timing noise shows).
* **MLPs** run their own unpadded network, one program per (widths, activation, batch
  size); configurations that differ only in dropout share the measurement, since
  dropout does nothing in evaluation.

Timings are of this machine only (:attr:`Latency.platform`): compare them within one
platform, never across.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from nasbench.core.errors import ConfigError

#: The batch sizes timed by default (issue 19: batch 1 and batch 256).
BATCH_SIZES: tuple[int, ...] = (1, 256)
#: Timed calls per (network, batch size) by default, after one warm-up call.
REPEATS = 20


@dataclass(frozen=True)
class Latency:
    """Measured forward latency of networks on one machine.

    Attributes:
        arch_index: int64 ``(n,)`` the architectures.
        batch_sizes: the batch sizes timed.
        ms: float64 ``(n, len(batch_sizes))`` median milliseconds of one forward pass.
        repeats: timed calls per (network, batch size), after one warm-up call.
        platform: the machine (:func:`~nasbench.train.population.platform_name`).
    """

    arch_index: np.ndarray
    batch_sizes: tuple[int, ...]
    ms: np.ndarray
    repeats: int
    platform: str

    def columns(self) -> dict[str, np.ndarray]:
        """Per-architecture columns ``latency_ms_b1``, ``latency_ms_b256``, ... (float64 ``(n,)``)."""
        return {f"latency_ms_b{b}": self.ms[:, j] for j, b in enumerate(self.batch_sizes)}

    def metadata(self) -> dict[str, Any]:
        """What a table or score file records next to the columns."""
        return {
            "platform": self.platform,
            "batch_sizes": list(self.batch_sizes),
            "repeats": self.repeats,
            "statistic": "median milliseconds of one forward pass, evaluation mode",
            "columns": sorted(self.columns()),
        }

    def frame(self, space: Any) -> Any:
        """The measurements as a score-file frame (``arch``, ``arch_index``, one column per
        batch size), what :func:`nasbench.tables.scores.write_scores` and
        :func:`~nasbench.tables.scores.attach_scores` take."""
        import pandas as pd

        return pd.DataFrame(
            {
                "arch": [str(space.arch(int(i))) for i in self.arch_index],
                "arch_index": self.arch_index,
                **self.columns(),
            }
        )


def time_call(fn: Callable[..., Any], args: tuple[Any, ...], repeats: int) -> float:
    """Median milliseconds of ``fn(*args)`` over ``repeats`` calls, after one warm-up call."""
    jax.block_until_ready(fn(*args))
    times = np.empty(repeats)
    for r in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times[r] = time.perf_counter() - t0
    return 1e3 * float(np.median(times))


def _check(batch_sizes: Sequence[int], repeats: int) -> tuple[tuple[int, ...], int]:
    if int(repeats) < 1 or not batch_sizes or min(int(b) for b in batch_sizes) < 1:
        raise ConfigError("latency needs repeats >= 1 and batch sizes >= 1")
    return tuple(int(b) for b in batch_sizes), int(repeats)


# ---- NB201: one switch program for the whole space ----------------------------------------
def nb201_switch_apply(
    variables: dict[str, Any], ops: jax.Array, x: jax.Array, recipe: Any, n_classes: int
) -> jax.Array:
    """Evaluation forward of the NB201 network whose cell is ``ops``, chosen at run time.

    Args:
        variables: the supernet's ``{'params', 'batch_stats'}``
            (:func:`nasbench.train.model.init_variables` with ``ops=None``); a cell's
            own network holds a subset of them under the same names.
        ops: int32 ``(6,)`` op ids of the cell's edges.
        x: ``(B, H, W, C)`` images.
        recipe: the training recipe (the network's shape).
        n_classes: classifier outputs.

    Returns:
        logits ``(B, n_classes)``, equal to ``NB201Network(recipe, n_classes,
        ops).apply`` on the same variables.
    """
    import flax.linen as nn

    from nasbench.spaces.nb201 import CONV1, CONV3, POOL, SKIP
    from nasbench.train.model import (
        BN_EPS,
        PoolReduction,
        ReLUConvBN,
        ResidualReduction,
        Stem,
        avg_pool3,
        cell_output,
    )

    params, stats = variables["params"], variables["batch_stats"]
    m = recipe.bn_momentum

    def sub(name: str, tree: tuple[dict, dict] | None = None) -> dict[str, Any]:
        p, s = tree if tree is not None else (params, stats)
        return {"params": p[name], "batch_stats": s[name]}

    x = Stem(recipe.channels[0], m).apply(sub("stem"), x, False)
    for s, c in enumerate(recipe.channels):
        if s > 0:
            block = ResidualReduction if recipe.reduction == "residual" else PoolReduction
            x = block(c, m).apply(sub(f"reduce{s}"), x, False)
        for i in range(recipe.cells_per_stage):
            cell = (params[f"cell{s}_{i}"], stats[f"cell{s}_{i}"])

            def add_edge(k: int, h: jax.Array, acc: jax.Array, c: int = c, cell: Any = cell) -> jax.Array:
                def conv(h: jax.Array, kernel: int) -> jax.Array:
                    return ReLUConvBN(c, kernel, 1, m).apply(sub(f"e{k}_conv{kernel}", cell), h, False)

                branches: list[Callable[[jax.Array], jax.Array]] = [jnp.zeros_like] * 5
                branches[SKIP] = lambda h: h
                branches[CONV1] = lambda h: conv(h, 1)
                branches[CONV3] = lambda h: conv(h, 3)
                branches[POOL] = avg_pool3
                return acc + lax.switch(ops[k], branches, h)

            x = cell_output(x, add_edge)
    bn = nn.BatchNorm(use_running_average=True, momentum=m, epsilon=BN_EPS)
    x = bn.apply(sub("head_bn"), x)
    x = nn.relu(x).mean(axis=(-3, -2))
    return nn.Dense(n_classes).apply({"params": params["classifier"]}, x)


@dataclass(frozen=True)
class _Setup:
    """What every timing shares: the input, the batch sizes, repeats, seed stream and device."""

    image_shape: tuple[int, ...]
    n_classes: int
    batch_sizes: tuple[int, ...]
    repeats: int
    seed: int
    rng: np.random.Generator  # the inputs (and NB201's batch-norm statistics), from ``seed``
    device: Any
    progress: Callable[[int, int], None] | None

    def report(self, done: int, total: int) -> None:
        if self.progress:
            self.progress(done, total)


def _nb201_latency(space: Any, idx: np.ndarray, recipe: Any, st: _Setup) -> np.ndarray:
    from nasbench.train.model import init_variables

    variables = init_variables(jax.random.PRNGKey(st.seed), recipe, st.image_shape, st.n_classes)
    # batch-norm statistics of a trained network, not the initial (0, 1): seeded, positive
    variables = {
        "params": variables["params"],
        "batch_stats": jax.tree_util.tree_map(
            lambda a: jnp.asarray(np.abs(st.rng.standard_normal(a.shape)).astype(np.float32) + 0.5),
            variables["batch_stats"],
        ),
    }
    variables = jax.device_put(variables, st.device)
    ops = space.op_matrix(idx).astype(np.int32)
    ms = np.zeros((len(idx), len(st.batch_sizes)))
    for j, b in enumerate(st.batch_sizes):
        x = jax.device_put(st.rng.standard_normal((b, *st.image_shape)).astype(np.float32), st.device)
        fn = (
            jax.jit(lambda v, o, x: nb201_switch_apply(v, o, x, recipe, st.n_classes))
            .lower(variables, jnp.asarray(ops[0]), x)
            .compile()
        )
        for i in range(len(idx)):
            ms[i, j] = time_call(fn, (variables, jax.device_put(ops[i], st.device), x), st.repeats)
            st.report(j * len(idx) + i + 1, len(idx) * len(st.batch_sizes))
    return ms


# ---- MLPs: one program per network shape --------------------------------------------------
def _mlp_latency(space: Any, idx: np.ndarray, st: _Setup) -> np.ndarray:
    from nasbench.spaces.mlp import mlp_shapes
    from nasbench.train.mlp import initial_params, single_apply

    shapes = mlp_shapes(space, idx)
    d = int(np.prod(st.image_shape))
    xs = {
        b: jax.device_put(st.rng.standard_normal((b, d)).astype(np.float32), st.device)
        for b in st.batch_sizes
    }
    nets = [(shapes.widths(i), int(shapes.activation[i])) for i in range(len(idx))]
    first = {net: i for i, net in reversed(list(enumerate(nets)))}  # a configuration of each network
    measured: dict[tuple[Any, int], np.ndarray] = {}
    for u, (widths, act) in enumerate(sorted(first)):
        # the member's own initial weights (the time does not depend on their values)
        params = initial_params(space, int(idx[first[widths, act]]), st.seed, d, st.n_classes)
        params = jax.device_put(params, st.device)
        row = np.zeros(len(st.batch_sizes))
        for j, b in enumerate(st.batch_sizes):
            fn = jax.jit(lambda p, x, act=act: single_apply(p, x, act)).lower(params, xs[b]).compile()
            row[j] = time_call(fn, (params, xs[b]), st.repeats)
        measured[(widths, act)] = row
        st.report(u + 1, len(first))
    return np.stack([measured[n] for n in nets]) if nets else np.zeros((0, len(st.batch_sizes)))


def measure_latency(
    space: Any,
    arch_index: Sequence[int] | np.ndarray,
    image_shape: Sequence[int],
    n_classes: int,
    *,
    recipe: Any = None,
    batch_sizes: Sequence[int] = BATCH_SIZES,
    repeats: int = REPEATS,
    seed: int = 0,
    device: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> Latency:
    """Time each architecture's forward pass on this machine.

    Args:
        space: the NB201 space or an MLP-shaped declared space.
        arch_index: ``(n,)`` architectures of ``space``.
        image_shape: ``(H, W, C)`` of the input images.
        n_classes: classifier outputs.
        recipe: the training recipe (the NB201 network's shape; unused for MLPs).
        batch_sizes: the batch sizes to time.
        repeats: timed calls per (network, batch size); at least 1.
        seed: seed of the random parameters and inputs.
        device: a ``jax.Device`` (default: the first local device).
        progress: called with (done, total) after each measurement.

    Raises:
        ArchitectureError: an index outside the space.
        ConfigError: ``repeats`` or a batch size below 1, an NB201 space without a
            recipe, or a space with no network to time.
    """
    from nasbench.spaces.declared import DeclaredSpace
    from nasbench.spaces.nb201 import NB201Space
    from nasbench.train.population import platform_name

    batch_sizes, repeats = _check(batch_sizes, repeats)
    idx = space.check_indices(arch_index)
    device = device or jax.local_devices()[0]
    st = _Setup(
        tuple(int(v) for v in image_shape), int(n_classes), batch_sizes, repeats, int(seed),
        np.random.default_rng(seed), device, progress,
    )  # fmt: skip
    if isinstance(space, NB201Space):
        if recipe is None:
            raise ConfigError("timing NB201 cells needs the training recipe (the network's shape)")
        ms = _nb201_latency(space, idx, recipe, st)
    elif isinstance(space, DeclaredSpace):
        ms = _mlp_latency(space, idx, st)
    else:
        raise ConfigError(f"space {space.name!r} has no network to time; latency covers nb201 and mlp spaces")
    return Latency(idx, batch_sizes, ms, repeats, platform_name(device))


def estimate_latency(
    *,
    out: Any,
    space: str,
    dataset: str,
    recipe: Any,
    archs: str = "unique",
    batch_sizes: Sequence[int] = BATCH_SIZES,
    repeats: int = REPEATS,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """``nasbench estimate latency``: time the architectures and write a score-format file.

    The file holds ``arch``, ``arch_index`` and ``latency_ms_b{B}`` per batch size (lower
    is faster: these are measurements, not scores); its metadata records the space,
    recipe, dataset and the :meth:`Latency.metadata` (platform first of all).
    ``nasbench estimate attach`` carries the columns into a table.

    Returns:
        the summary printed by the command (``--json``).
    """
    from nasbench.core.io import check_output_file
    from nasbench.tables.scores import write_scores
    from nasbench.tables.table import package_versions
    from nasbench.train.build import resolve_archs, resolve_build_space
    from nasbench.train.data import load_dataset

    check_output_file(out)
    batch_sizes, repeats = _check(batch_sizes, repeats)
    sp = resolve_build_space(space)
    idx = resolve_archs(sp, archs)
    data = load_dataset(dataset, recipe)
    t0 = time.perf_counter()
    lat = measure_latency(
        sp, idx, data.image_shape, data.n_classes, recipe=recipe, batch_sizes=batch_sizes,
        repeats=repeats, seed=seed, progress=progress,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    meta = {
        "format": "nasbench-latency",
        "version": 1,
        "space": {"name": sp.name, "config": sp.config()},
        "archs": archs,
        "n_archs": len(idx),
        "larger_is_better": False,
        "seed": seed,
        "recipe": recipe.to_dict(),
        "dataset": data.summary(),
        "latency": lat.metadata(),
        "versions": package_versions("jax", "jaxlib"),
    }
    write_scores(lat.frame(sp), out, meta)
    ms = lat.ms
    return {
        "out": str(out),
        "archs": len(idx),
        "platform": lat.platform,
        "batch_sizes": list(batch_sizes),
        "repeats": repeats,
        "median_ms": {f"b{b}": round(float(np.median(ms[:, j])), 4) for j, b in enumerate(batch_sizes)},
        "range_ms": {
            f"b{b}": [round(float(ms[:, j].min()), 4), round(float(ms[:, j].max()), 4)]
            for j, b in enumerate(batch_sizes)
        },
        "wall_s": round(wall, 2),
    }


__all__ = [
    "BATCH_SIZES",
    "Latency",
    "REPEATS",
    "estimate_latency",
    "measure_latency",
    "nb201_switch_apply",
    "time_call",
]
