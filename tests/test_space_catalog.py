from __future__ import annotations

import numpy as np
import pytest

from nasbench.core.errors import ArchitectureError
from nasbench.spaces import make_space
from nasbench.spaces.catalog import CatalogArch, CatalogSpace


def test_catalog_basics():
    space = CatalogSpace(
        ["a", "b", "c", "d"], np.array([[1.0], [2.0], [10.0], [11.0]]), ["depth"], n_neighbours=1
    )
    assert space.size == 4
    assert space.index("c") == 2 and space.index(2) == 2 and space.index(CatalogArch("c", 2)) == 2
    assert str(space.arch(1)) == "b" and space.to_str(3) == "d"
    assert space.neighbours(0).tolist() == [1] and space.neighbours(3).tolist() == [2]
    assert space.encode([0, 3], "features").tolist() == [[1.0], [11.0]]
    rng = np.random.default_rng(0)
    assert space.mutate(2, rng) == 3
    assert np.array_equal(
        space.sample(np.random.default_rng(1), 5), space.sample(np.random.default_rng(1), 5)
    )
    assert make_space("catalog", ids=["x"]).size == 1


def test_catalog_without_features():
    space = CatalogSpace(["a", "b", "c"])
    assert space.encodings == ()
    with pytest.raises(ArchitectureError, match="no feature columns"):
        space.encode([0], "features")
    assert len(space.neighbours(0)) == 2


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"ids": []}, "at least one"),
        ({"ids": ["a", "a"]}, "unique"),
        ({"ids": ["a", "b"], "features": np.ones((3, 1)), "feature_names": ["f"]}, "shape"),
        ({"ids": ["a"], "features": np.array([[np.nan]]), "feature_names": ["f"]}, "finite"),
    ],
)
def test_catalog_bad_construction(kwargs, fragment):
    with pytest.raises(ArchitectureError, match=fragment):
        CatalogSpace(**kwargs)


def test_catalog_unknown_ids():
    space = CatalogSpace(["a", "b"])
    with pytest.raises(ArchitectureError, match="unknown catalog id"):
        space.index("zzz")
    with pytest.raises(ArchitectureError, match="out of range"):
        space.index(5)
