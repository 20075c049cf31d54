"""The search-space contract, checked over every implementation (as scikit-learn's
``parametrize_with_checks`` does for estimators): index and string round trips, valid
neighbours and mutations, isomorphism representatives and encodings of a fixed width."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from conftest import synthetic_catalog_table

from nasbench.spaces.base import SearchSpace
from nasbench.spaces.declared import DeclaredSpace
from nasbench.spaces.mlp import mlp_space
from nasbench.spaces.nb201 import NB201Space

#: a declaration with every dimension type, a log scale, a condition and a forbidden clause
MIXED = {
    "dimensions": [
        {"name": "optimizer", "type": "categorical", "values": ["sgd", "adam"]},
        {"name": "momentum", "type": "float", "low": 0.5, "high": 0.99, "steps": 4},
        {"name": "lr", "type": "float", "low": 1e-4, "high": 1e-1, "log": True, "steps": 5},
        {"name": "depth", "type": "integer", "low": 1, "high": 3},
        {"name": "width", "type": "ordinal", "values": [32, 64, 128]},
    ],
    "conditions": ["momentum if optimizer == sgd"],
    "forbidden": [{"depth": 3, "width": 128}],
}

SPACES: dict[str, Callable[[], SearchSpace]] = {
    "nb201": NB201Space,
    "mlp": mlp_space,
    "declared-mixed": lambda: DeclaredSpace(MIXED),
    "catalog": lambda: synthetic_catalog_table().space,
}


@pytest.fixture(params=sorted(SPACES), scope="module")
def space(request: pytest.FixtureRequest) -> Any:
    return SPACES[request.param]()


def _sample(space: SearchSpace, n: int = 60) -> np.ndarray:
    return np.unique(np.asarray(space.sample(np.random.default_rng(0), n), np.int64))


def test_index_and_string_round_trip(space: SearchSpace) -> None:
    for i in _sample(space):
        text = space.to_str(int(i))
        assert space.index(text) == i
        assert space.index(space.parse(text)) == i
        assert space.index(space.arch(int(i))) == i
        assert space.to_str(space.arch(int(i))) == text


def test_neighbours_and_mutations_are_valid(space: SearchSpace) -> None:
    rng = np.random.default_rng(1)
    for i in _sample(space, 25):
        nb = np.asarray(space.neighbours(int(i)))
        assert nb.dtype.kind == "i" and len(np.unique(nb)) == len(nb)
        assert ((nb >= 0) & (nb < space.size)).all() and int(i) not in nb.tolist()
        if len(nb):
            assert space.mutate(int(i), rng) in set(nb.tolist())


def test_iso_representatives_are_a_projection(space: SearchSpace) -> None:
    reps = np.asarray(space.iso_representatives(), np.int64)
    assert reps.shape == (space.size,)
    assert ((reps >= 0) & (reps < space.size)).all()
    assert np.array_equal(reps[reps], reps)
    idx = _sample(space, 30)
    keys = [space.iso_key(int(i)) for i in idx]
    rep_keys = [space.iso_key(int(r)) for r in reps[idx]]
    assert keys == rep_keys  # a representative is isomorphic to what it stands for


def test_encodings_have_one_declared_width(space: SearchSpace) -> None:
    idx = _sample(space, 20)
    assert set(space.default_encodings) <= set(space.encodings)
    for kind in space.encodings:
        width = space.encode(np.zeros(0, np.int64), kind).shape[1]
        x = space.encode(idx, kind)
        assert x.shape == (len(idx), width) and width > 0
        assert np.isfinite(x).all()
        assert np.array_equal(space.encode(idx[:3], kind), x[:3])  # an architecture's code is its own
