from __future__ import annotations

import numpy as np
import pytest

from nasbench.core.errors import ArchitectureError, UnknownSpaceError
from nasbench.spaces import make_space
from nasbench.spaces.nb201 import OPS, SIZE, Cell, NB201Space, iso_key

EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def test_parse_print_round_trip_for_every_cell():
    space = NB201Space()
    for i in range(0, SIZE, 7):
        cell = space.arch(i)
        text = str(cell)
        assert Cell.from_string(text) == cell
        assert space.index(text) == i


def test_example_string_and_value_semantics():
    cell = Cell.from_string(EXAMPLE)
    assert str(cell) == EXAMPLE
    assert cell.op_names == (
        "nor_conv_3x3",
        "nor_conv_3x3",
        "avg_pool_3x3",
        "skip_connect",
        "nor_conv_3x3",
        "skip_connect",
    )
    assert hash(cell) == hash(Cell.from_string(EXAMPLE))
    assert len({cell, Cell.from_string(EXAMPLE)}) == 1
    with pytest.raises(AttributeError):
        cell.ops = (0,) * 6  # type: ignore[misc]


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "3 nodes"),
        (
            "|conv_5x5~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
            "unknown op",
        ),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "2 incoming"),
        (
            "|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
            "from node 0",
        ),
        (
            "|nor_conv_3x3|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
            "op~node",
        ),
        ("", "3 nodes"),
    ],
)
def test_malformed_strings_raise_named_error(bad, fragment):
    with pytest.raises(ArchitectureError, match=fragment):
        Cell.from_string(bad)


@pytest.mark.parametrize("bad", [-1, SIZE, 3.5, True, None])
def test_bad_indices(bad):
    with pytest.raises(ArchitectureError):
        NB201Space().index(bad)


@pytest.mark.parametrize("rule, count", [("published", 6466), ("collapse_zero", 6285), ("functional", 5390)])
def test_unique_cell_counts(rule, count):
    assert len(NB201Space(rule).unique_indices()) == count


def test_iso_key_examples():
    # skip + conv vs conv + skip into the same node are the same cell
    a = Cell.from_string("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|")
    b = Cell.from_string("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|")
    assert a.iso_key() == b.iso_key()
    # an op from a dead node is a zero term: the op on edge 1<-0 does not matter if node 1 is unused
    c1 = Cell.from_string("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|")
    c2 = Cell.from_string("|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|")
    assert c1.iso_key() == c2.iso_key()
    # but different ops on a live path differ
    d = Cell.from_string("|nor_conv_1x1~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_3x3~2|")
    assert d.iso_key() != c1.iso_key()
    space = NB201Space()
    reps = space.iso_representatives()
    assert reps[c1.index] == reps[c2.index] <= min(c1.index, c2.index)
    assert iso_key(space.op_matrix([reps[c1.index]])[0]) == c1.iso_key()


def test_neighbours_and_mutation():
    space = NB201Space()
    rng = np.random.default_rng(1)
    i = space.index(EXAMPLE)
    nbrs = space.neighbours(i)
    assert len(nbrs) == 24 and len(set(nbrs.tolist())) == 24 and i not in nbrs
    ops = space.op_matrix([i])[0]
    for n in nbrs:
        assert (space.op_matrix([n])[0] != ops).sum() == 1
    m = space.mutate(i, rng)
    assert m in set(nbrs.tolist())
    a = [space.mutate(i, np.random.default_rng(5)) for _ in range(3)]
    assert len(set(a)) == 1  # same seed, same mutation


def test_sampling_is_seeded_and_in_range():
    space = NB201Space()
    x = space.sample(np.random.default_rng(3), 1000)
    y = space.sample(np.random.default_rng(3), 1000)
    z = space.sample(np.random.default_rng(4), 1000)
    assert np.array_equal(x, y) and not np.array_equal(x, z)
    assert x.min() >= 0 and x.max() < SIZE


def test_encodings_shapes_and_content():
    space = NB201Space()
    idx = [space.index(EXAMPLE), 0, SIZE - 1]
    onehot = space.encode(idx, "onehot")
    assert onehot.shape == (3, 30) and np.all(onehot.sum(1) == 6)
    assert len(space.encoding_names("onehot")) == 30
    adj = space.encode(idx, "adjacency")
    assert adj.shape == (3, 28 + 30)
    path = space.encode(idx, "path")
    assert path.shape == (3, 84)
    feats = dict(zip(space.encoding_names("features"), space.encode(idx, "features")[0], strict=True))
    # EXAMPLE: live paths 0-3 (skip), 0-1-3 (conv3,conv3), 0-2-3 (conv3, skip), 0-1-2-3 (conv3,pool,skip)
    assert feats["connected"] == 1 and feats["n_live_paths"] == 4
    assert feats["max_convs_on_path"] == 2 and feats["longest_live_path"] == 3
    assert path[0].sum() == 4
    # index 0 is all-none: disconnected, no live paths
    assert space.encode([0], "features")[0, 0] == 0 and space.encode([0], "path").sum() == 0
    with pytest.raises(ArchitectureError, match="unknown encoding"):
        space.encode(idx, "graph")


def test_registry():
    assert isinstance(make_space("nb201"), NB201Space)
    with pytest.raises(UnknownSpaceError, match="available: catalog, declared, nb201"):
        make_space("nb101")


def test_iso_key_function_matches_ops():
    assert iso_key((0,) * 6) == "#+#+#"
    assert len(OPS) == 5
