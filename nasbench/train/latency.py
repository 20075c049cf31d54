"""Measured forward latency of architectures on this machine (NB201 cells and MLPs).

The one timing loop of the package (:func:`time_call`): each program is compiled once,
called once to warm up, then ``repeats`` calls are timed one by one
(``block_until_ready``) and the median is kept. Inputs and parameters are seeded random
numbers: the time does not depend on their values. Networks run in evaluation mode
(batch-norm running statistics, no dropout).

* **NB201 cells** run in one compiled program per batch size for the whole space: every
  edge is a ``lax.switch`` on the cell's op id at run time (:func:`nb201_switch_apply`:
  the trainer's one NB201 forward pass, :func:`nasbench.train.model.forward`, with XLA
  convolutions as a deployed network runs them), so only the chosen op executes (no
  ``vmap``: a switch on a concrete scalar is a real branch on CPU and GPU). Compiling
  each of the 15,625 cells' own network instead would take hours, longer than measuring
  them. Measured against each cell's own compiled network on 40 cells
  (``benchmarks/latency.py``, with the switch program of Flax modules it replaced): 1.12x
  as long in the median, ranking the cells alike (Spearman 0.99 at batch 256; 0.84 at
  batch 1, where both are under a millisecond and timing noise shows). The present
  program against that one, 30 digits cells: 0.91x the time at batch 256, Spearman 0.93
  (that program against itself, run twice: 0.94).
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
import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.train.engine import platform_name, time_call
from nasbench.train.families import family_of, resolve_archs, resolve_trainable_space
from nasbench.train.model import switch_apply

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


def _check(batch_sizes: Sequence[int], repeats: int) -> tuple[tuple[int, ...], int]:
    if int(repeats) < 1 or not batch_sizes or min(int(b) for b in batch_sizes) < 1:
        raise ConfigError("latency needs repeats >= 1 and batch sizes >= 1")
    return tuple(int(b) for b in batch_sizes), int(repeats)


def nb201_switch_apply(
    variables: dict[str, Any], ops: jax.Array, x: jax.Array, recipe: Any, n_classes: int
) -> jax.Array:
    """Evaluation forward of the NB201 network whose cell is ``ops``, chosen at run time:
    :func:`nasbench.train.model.switch_apply` (the one NB201 forward pass with a
    ``lax.switch`` per edge). ``n_classes`` is read from the variables and kept for the
    callers of this name."""
    return switch_apply(variables, ops, x, recipe)


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
        space: a trainable space; its network family times it
            (:meth:`~nasbench.train.families.NetworkFamily.latency`).
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
    batch_sizes, repeats = _check(batch_sizes, repeats)
    family = family_of(space)
    idx = space.check_indices(arch_index)
    device = device or jax.local_devices()[0]
    ms = family.latency(
        idx, tuple(int(v) for v in image_shape), int(n_classes), recipe=recipe, batch_sizes=batch_sizes,
        repeats=repeats, seed=int(seed), device=device, report=progress or (lambda done, total: None),
    )  # fmt: skip
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
    from nasbench.train.data import load_dataset

    check_output_file(out)
    batch_sizes, repeats = _check(batch_sizes, repeats)
    sp = resolve_trainable_space(space)
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
