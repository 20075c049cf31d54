"""Member checkpoints and weight inheritance, as safe ``.npz`` files (never pickle).

A member's state is a flat ``{path: array}``, as ``PopulationTrainer.train(keep_state=True)`` returns it:
index ``[0]`` holds the parameters, ``[1]`` the batch-norm statistics and ``[2]`` the
optimiser state. Population members carry supernet-shaped trees, but an edge's
convolution weights are only read (and trained) when the cell uses that operation there.
A checkpoint therefore keeps only the leaves the cell uses. The rest are restored from
the member's fresh initialisation. That loses nothing: weight decay and momentum act
leaf by leaf, so unused leaves never touch the used ones, and a continued run is
bit-identical to one trained straight through.

Inheritance (:func:`inherited_state`) hands a child the parent's parameters and
batch-norm statistics for the stem, the reductions, the head and every edge whose
operation is unchanged. Edges whose operation changed keep the child's own
initialisation. The optimiser state is not inherited: the child starts with zero momentum
and its own learning-rate schedule. The parent's momentum points along the parent's
loss surface, and the parent's schedule has decayed to zero at its last epoch. A child
that kept either would barely move its new edges.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from nasbench.core.errors import TableFormatError
from nasbench.core.io import atomic_path
from nasbench.spaces.nb201 import CONV1, CONV3

_EDGE_OP = re.compile(r"\['e(\d)_conv([13])'\]")
_KERNEL_OP = {"1": CONV1, "3": CONV3}


def edge_op(path: str) -> tuple[int, int] | None:
    """``(edge, op)`` of a leaf path inside an edge's convolution, else ``None`` (a shared leaf)."""
    m = _EDGE_OP.search(path)
    return None if m is None else (int(m.group(1)), _KERNEL_OP[m.group(2)])


def used_leaves(state: Mapping[str, np.ndarray], ops: Sequence[int]) -> dict[str, np.ndarray]:
    """The leaves of ``state`` that a cell with ``ops`` reads: shared ones and its own edges' ops."""
    out = {}
    for path, leaf in state.items():
        eo = edge_op(path)
        if eo is None or int(ops[eo[0]]) == eo[1]:
            out[path] = leaf
    return out


def inherited_state(
    parent: Mapping[str, np.ndarray], parent_ops: Sequence[int], child_ops: Sequence[int]
) -> dict[str, np.ndarray]:
    """What a child takes from its parent: parameters and statistics of the shared parts and
    of every edge whose operation is the same in both cells; no optimiser state."""
    out = {}
    for path, leaf in parent.items():
        if not (path.startswith("[0]") or path.startswith("[1]")):
            continue
        eo = edge_op(path)
        if eo is None or (int(parent_ops[eo[0]]) == eo[1] == int(child_ops[eo[0]])):
            out[path] = leaf
    return out


def save_state(target: str | os.PathLike[str], state: Mapping[str, np.ndarray], ops: Sequence[int]) -> int:
    """Write the leaves the cell uses to ``target`` (``.npz``, atomic); return its size in bytes."""
    return save_arrays(target, used_leaves(state, ops))


def save_arrays(target: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> int:
    """Write a flat ``{path: array}`` to ``target`` (``.npz``, atomic); return its size in bytes."""
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            **{f"s{i}": np.asarray(v) for i, v in enumerate(arrays.values())},
            paths=np.array(list(arrays)),
        )
    return Path(target).stat().st_size


def load_state(source: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a checkpoint written by :func:`save_state` or :func:`save_arrays` (no pickle is
    ever loaded).

    Raises:
        TableFormatError: the file is missing, truncated or not a checkpoint.
    """
    try:
        with np.load(source, allow_pickle=False) as z:
            paths = [str(p) for p in z["paths"]]
            return {p: z[f"s{i}"] for i, p in enumerate(paths)}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise TableFormatError(f"cannot read checkpoint {source}: {exc}") from None
