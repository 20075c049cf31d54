"""The NAS-Bench-201 cell space (Dong & Yang, ICLR 2020).

A cell has 4 nodes; node ``j`` sums one operation applied to every node ``i < j``, so
there are 6 edges, each one of 5 operations: ``5**6 = 15,625`` cells. The string form
lists the edges node by node: ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.

Index: edge ops read as a base-5 number, first edge most significant, ops numbered in
the order of :data:`OPS`. This is stable and independent of any table (NAS-Bench-201's
own ``arch_index`` is a different, generation-order numbering).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from nasbench.core.errors import ArchitectureError
from nasbench.spaces.base import SearchSpace

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NONE, SKIP, CONV1, CONV3, POOL = range(5)
PARAM_OPS = frozenset({CONV1, CONV3})
#: (to_node, from_node) of each edge, in string order.
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
N_EDGES = len(EDGES)
N_OPS = len(OPS)
SIZE = N_OPS**N_EDGES
#: Input-to-output paths as tuples of edge positions.
PATHS: tuple[tuple[int, ...], ...] = ((3,), (0, 4), (1, 5), (0, 2, 5))
_OP_ID = {op: i for i, op in enumerate(OPS)}
_RADIX = np.array([N_OPS ** (N_EDGES - 1 - k) for k in range(N_EDGES)], dtype=np.int64)

IsoRule = Literal["published", "collapse_zero", "functional"]


@dataclass(frozen=True, slots=True)
class Cell:
    """An immutable NAS-Bench-201 cell: one op id (0..4) per edge, in :data:`EDGES` order."""

    ops: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.ops) != N_EDGES or any(
            not isinstance(o, int | np.integer) or not 0 <= o < N_OPS for o in self.ops
        ):
            raise ArchitectureError(f"a cell needs {N_EDGES} op ids in 0..{N_OPS - 1}, got {self.ops!r}")

    @classmethod
    def from_string(cls, text: str) -> Cell:
        """Parse ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.

        Raises:
            ArchitectureError: wrong node count, edge count, op name or node index.
        """
        if not isinstance(text, str):
            raise ArchitectureError(f"expected an NB201 string, got {type(text).__name__}")
        s = text.strip()
        nodes = s.split("+")
        if len(nodes) != 3:
            raise ArchitectureError(
                f"NB201 string must have 3 nodes separated by '+', found {len(nodes)}: {text!r}"
            )
        ops: list[int] = []
        for j, node in enumerate(nodes, start=1):
            if not (node.startswith("|") and node.endswith("|")) or len(node) < 2:
                raise ArchitectureError(f"node {j} must be written as |op~i|...|, got {node!r}")
            edges = node[1:-1].split("|")
            if len(edges) != j:
                raise ArchitectureError(
                    f"node {j} must have {j} incoming edge(s), found {len(edges)} in {node!r}"
                )
            for i, edge in enumerate(edges):
                op, sep, src = edge.partition("~")
                if not sep:
                    raise ArchitectureError(f"edge {edge!r} must be written as op~node")
                if op not in _OP_ID:
                    raise ArchitectureError(f"unknown op {op!r}; expected one of {', '.join(OPS)}")
                if src != str(i):
                    raise ArchitectureError(f"edge {edge!r} of node {j} must come from node {i}, not {src!r}")
                ops.append(_OP_ID[op])
        return cls(tuple(ops))

    @classmethod
    def from_index(cls, index: int) -> Cell:
        """The cell with this stable index (0 .. 15,624)."""
        if isinstance(index, bool) or not isinstance(index, int | np.integer) or not 0 <= index < SIZE:
            raise ArchitectureError(f"NB201 index must be an integer in 0..{SIZE - 1}, got {index!r}")
        return cls(tuple(int(d) for d in (int(index) // _RADIX) % N_OPS))

    @property
    def index(self) -> int:
        """Stable integer index."""
        return int(np.dot(np.asarray(self.ops, dtype=np.int64), _RADIX))

    @property
    def op_names(self) -> tuple[str, ...]:
        return tuple(OPS[o] for o in self.ops)

    def __str__(self) -> str:
        names = self.op_names
        parts, k = [], 0
        for j in range(1, 4):
            parts.append("|" + "|".join(f"{names[k + i]}~{i}" for i in range(j)) + "|")
            k += j
        return "+".join(parts)

    def iso_key(self, rule: IsoRule = "published") -> str:
        """Isomorphism-invariant key; see :func:`iso_key`."""
        return iso_key(self.ops, rule)


_ZERO = "#"


def iso_key(ops: Sequence[int], rule: IsoRule = "published") -> str:
    """Canonical expression of a cell's output; equal for equivalent cells.

    Each node's expression is built in order. Node 0 is the input ``x``. Node ``j`` is
    the sorted list of its incoming terms: ``none`` gives the zero term; so does an
    edge from a node that is exactly one zero term; ``skip_connect`` passes its input's
    expression unchanged; any other op gives ``op(input)``.

    Rules:
        ``published``: the zero term stays as a marker and a list of several zero terms
            is kept as is -- NAS-Bench-201's published 6,466 unique cells.
        ``collapse_zero``: a list made only of zero terms collapses to one zero term
            (6,285 classes).
        ``functional``: zero terms are dropped altogether, so cells computing the same
            function are one class (5,390 classes).
    """
    if rule not in ("published", "collapse_zero", "functional"):
        raise ArchitectureError(f"unknown isomorphism rule {rule!r}")
    return _node_expr(tuple(int(o) for o in ops), 3, rule)


# Edges into nodes 1..j are the first j*(j+1)/2 ops; node j's expression depends on those only.
_PREFIX = {0: 0, 1: 1, 2: 3, 3: 6}


@functools.cache
def _node_expr(ops: tuple[int, ...], j: int, rule: IsoRule) -> str:
    # Terms are joined with "+" and not bracketed, exactly as in NAS-Bench-201's
    # ``Structure.to_unique_str``: a skip passes its input's joined string through, so
    # lists partially flatten. This string-level behaviour is what gives 6,466.
    if j == 0:
        return "x"
    terms: list[str] = []
    first = _PREFIX[j - 1]
    for i in range(j):
        op = ops[first + i]
        src = _node_expr(ops[: _PREFIX[i]], i, rule)
        if op == NONE or src == _ZERO:
            terms.append(_ZERO)
        elif op == SKIP:
            terms.append(src)
        else:
            terms.append(f"({src})@{OPS[op]}")
    if rule == "functional":
        terms = [t for t in terms if t != _ZERO] or [_ZERO]
    elif rule == "collapse_zero" and all(t == _ZERO for t in terms):
        terms = [_ZERO]
    return "+".join(sorted(terms))


@functools.cache
def _all_ops() -> np.ndarray:
    """int8 array ``(15625, 6)``: ops of every cell, by index."""
    idx = np.arange(SIZE, dtype=np.int64)
    return ((idx[:, None] // _RADIX[None, :]) % N_OPS).astype(np.int8)


@functools.cache
def _iso_reps(rule: IsoRule) -> np.ndarray:
    ops = _all_ops()
    first: dict[str, int] = {}
    reps = np.empty(SIZE, dtype=np.int64)
    for i, row in enumerate(ops.tolist()):
        reps[i] = first.setdefault(_node_expr(tuple(row), 3, rule), i)
    reps.setflags(write=False)
    return reps


@functools.cache
def _neighbour_table() -> np.ndarray:
    """int64 array ``(15625, 24)``: every single-edge op change of every cell."""
    idx = np.arange(SIZE, dtype=np.int64)[:, None]
    ops = _all_ops().astype(np.int64)
    cols = []
    for k in range(N_EDGES):
        for delta in range(1, N_OPS):
            new = (ops[:, k] + delta) % N_OPS
            cols.append(idx[:, 0] + (new - ops[:, k]) * _RADIX[k])
    out = np.stack(cols, axis=1)
    out.setflags(write=False)
    return out


def _path_vocab() -> dict[tuple[int, ...], int]:
    live_ops = (SKIP, CONV1, CONV3, POOL)
    vocab: dict[tuple[int, ...], int] = {}
    for length in (1, 2, 3):
        for seq in itertools.product(live_ops, repeat=length):
            vocab[seq] = len(vocab)
    return vocab


FEATURE_NAMES: tuple[str, ...] = (
    "connected",
    "n_live_paths",
    "n_live_edges",
    "live_skip",
    "live_conv1x1",
    "live_conv3x3",
    "live_pool",
    "live_param_ops",
    "max_convs_on_path",
    "max_conv3x3_on_path",
    "longest_live_path",
    "param_paths",
    "direct_skip",
)


@functools.cache
def _encodings() -> dict[str, np.ndarray]:
    ops = _all_ops().astype(np.int64)
    n = SIZE
    onehot = np.zeros((n, N_EDGES * N_OPS), dtype=np.float32)
    onehot[np.arange(n)[:, None], np.arange(N_EDGES)[None, :] * N_OPS + ops] = 1.0

    # adjacency + ops: edges become nodes (input, 6 op nodes, output), as in NASLib.
    adj = np.zeros((8, 8), dtype=np.float32)
    for e, (to, frm) in enumerate(EDGES):
        op_node = 1 + e
        if frm == 0:
            adj[0, op_node] = 1
        for e2, (_, frm2) in enumerate(EDGES):
            if frm2 == to:
                adj[op_node, 1 + e2] = 1
        if to == 3:
            adj[op_node, 7] = 1
    live = (ops != NONE).astype(np.float32)
    adj_batch = np.broadcast_to(adj, (n, 8, 8)).copy()
    for e in range(N_EDGES):  # a none-op node carries nothing: drop its edges
        dead = live[:, e] == 0
        adj_batch[dead, 1 + e, :] = 0
        adj_batch[dead, :, 1 + e] = 0
    iu = np.triu_indices(8, k=1)
    adjacency = np.concatenate([adj_batch[:, iu[0], iu[1]], onehot], axis=1)

    vocab = _path_vocab()
    path = np.zeros((n, len(vocab)), dtype=np.float32)
    feats = np.zeros((n, len(FEATURE_NAMES)), dtype=np.float32)
    for i in range(n):
        o = ops[i]
        live_paths = [p for p in PATHS if all(o[e] != NONE for e in p)]
        live_edges = {e for p in live_paths for e in p}
        for p in live_paths:
            path[i, vocab[tuple(int(o[e]) for e in p)]] += 1
        convs = [sum(o[e] in PARAM_OPS for e in p) for p in live_paths]
        feats[i] = (
            float(bool(live_paths)),
            len(live_paths),
            len(live_edges),
            sum(o[e] == SKIP for e in live_edges),
            sum(o[e] == CONV1 for e in live_edges),
            sum(o[e] == CONV3 for e in live_edges),
            sum(o[e] == POOL for e in live_edges),
            sum(o[e] in PARAM_OPS for e in live_edges),
            max(convs, default=0),
            max((sum(o[e] == CONV3 for e in p) for p in live_paths), default=0),
            max((len(p) for p in live_paths), default=0),
            sum(c > 0 for c in convs),
            float(o[3] == SKIP),
        )
    # live one-hot: edges on no input-output path do not change the function a cell
    # computes, so they read as "none" (removes that noise from the one-hot)
    on_path = np.zeros_like(ops, dtype=bool)
    for p in PATHS:
        ok = np.all(ops[:, list(p)] != NONE, axis=1)
        for e in p:
            on_path[ok, e] = True
    pruned = np.where(on_path, ops, NONE)
    live_onehot = np.zeros((n, N_EDGES * N_OPS), dtype=np.float32)
    live_onehot[np.arange(n)[:, None], np.arange(N_EDGES)[None, :] * N_OPS + pruned] = 1.0
    out = {
        "onehot": onehot,
        "live_onehot": live_onehot,
        "adjacency": adjacency,
        "path": path,
        "features": feats,
    }
    for a in out.values():
        a.setflags(write=False)
    return out


class NB201Space(SearchSpace):
    """The 15,625-cell NAS-Bench-201 space.

    Args:
        iso_rule: which isomorphism rule :meth:`iso_key` uses (default: the published one).
    """

    name = "nb201"
    network_family = "nb201-cell"  # the trainer's network family (nasbench.train.families)
    ops = OPS
    edges = EDGES

    def __init__(self, iso_rule: IsoRule = "published") -> None:
        if iso_rule not in ("published", "collapse_zero", "functional"):
            raise ArchitectureError(f"unknown isomorphism rule {iso_rule!r}")
        self.iso_rule: IsoRule = iso_rule

    def __repr__(self) -> str:
        return f"NB201Space(iso_rule={self.iso_rule!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NB201Space) and other.iso_rule == self.iso_rule

    def __hash__(self) -> int:
        return hash((self.name, self.iso_rule))

    def config(self) -> dict[str, Any]:
        return {"iso_rule": self.iso_rule}

    @property
    def size(self) -> int:
        return SIZE

    def parse(self, text: str) -> Cell:
        return Cell.from_string(text)

    def arch(self, index: int) -> Cell:
        return Cell.from_index(index)

    def index(self, arch: Any) -> int:
        if isinstance(arch, Cell):
            return arch.index
        if isinstance(arch, str):
            s = arch.strip()
            if s.lstrip("-").isdigit():
                return Cell.from_index(int(s)).index
            return Cell.from_string(s).index
        if isinstance(arch, int | np.integer) and not isinstance(arch, bool):
            return Cell.from_index(int(arch)).index
        raise ArchitectureError(f"cannot interpret {arch!r} as an NB201 architecture")

    def iso_key(self, arch: Any) -> str:
        return iso_key(self.arch(self.index(arch)).ops, self.iso_rule)

    def iso_representatives(self) -> np.ndarray:
        return _iso_reps(self.iso_rule)

    def unique_indices(self) -> np.ndarray:
        """Sorted indices of one representative (the smallest index) per class."""
        reps = self.iso_representatives()
        return np.flatnonzero(reps == np.arange(SIZE))

    def is_connected(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """bool array: whether some input-to-output path avoids ``none``."""
        idx = self.check_indices(indices)
        return _encodings()["features"][idx, 0] > 0

    def neighbours(self, index: int) -> np.ndarray:
        return _neighbour_table()[self.check_indices([index])[0]]

    def op_matrix(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """int8 array ``(n, 6)``: op ids of each cell."""
        return _all_ops()[self.check_indices(indices)]

    @property
    def encodings(self) -> tuple[str, ...]:
        return ("onehot", "live_onehot", "adjacency", "path", "features")

    @property
    def default_encodings(self) -> tuple[str, ...]:
        """Live one-hot + path + the 13 live-path counts (``benchmarks/SURROGATES.md``)."""
        return ("live_onehot", "path", "features")

    def encoding_names(self, kind: str) -> list[str]:
        """Column names of an encoding."""
        if kind in ("onehot", "live_onehot"):
            return [f"e{e}_{op}" for e in range(N_EDGES) for op in OPS]
        if kind == "adjacency":
            iu = np.triu_indices(8, k=1)
            return [f"adj_{a}_{b}" for a, b in zip(*iu, strict=True)] + self.encoding_names("onehot")
        if kind == "path":
            return ["path_" + "-".join(OPS[o] for o in seq) for seq in _path_vocab()]
        if kind == "features":
            return list(FEATURE_NAMES)
        raise self._unknown_encoding(kind)

    def encode(self, indices: Sequence[int] | np.ndarray, kind: str) -> np.ndarray:
        enc = _encodings()
        if kind not in enc:
            raise self._unknown_encoding(kind)
        return enc[kind][self.check_indices(indices)]
