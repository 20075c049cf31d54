"""Network families: found from the space itself, the contract's parts, one-line refusals."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench.core.errors import ConfigError
from nasbench.spaces.catalog import CatalogSpace
from nasbench.spaces.declared import DeclaredSpace
from nasbench.spaces.mlp import mlp_costs, mlp_shapes, mlp_space
from nasbench.spaces.nb201 import NB201Space
from nasbench.train.families import (
    FAMILIES,
    MLPFamily,
    NB201CellFamily,
    UnsupportedError,
    family_of,
    resolve_archs,
    resolve_trainable_space,
    unique_indices,
)
from nasbench.train.recipe import PRESETS


def test_each_trainable_space_names_its_family() -> None:
    assert isinstance(family_of(NB201Space()), NB201CellFamily)
    assert isinstance(family_of(mlp_space()), MLPFamily)
    assert set(FAMILIES) == {"nb201-cell", "mlp"}
    for name in ("nb201", "mlp"):
        assert family_of(resolve_trainable_space(name)).space == resolve_trainable_space(name)


@pytest.mark.parametrize(
    "space",
    [
        CatalogSpace(["a", "b"], np.zeros((2, 1)), ["x"]),
        DeclaredSpace({"dimensions": {"layers": {"type": "integer", "low": 1, "high": 2}}}),
    ],
)
def test_a_space_without_a_family_is_refused_in_one_line(space) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="has no trainable network family") as err:
        family_of(space)
    assert "\n" not in str(err.value)


def test_costs_recipes_and_splits() -> None:
    nb, mlp = family_of(NB201Space()), family_of(mlp_space())
    assert (nb.default_recipe("digits"), mlp.default_recipe("digits")) == ("digits", "mlp-digits")
    assert nb.default_recipe("npz:x.npz") == "nb201"
    assert mlp.default_recipe("npz:x.npz") == mlp.default_recipe("csv:d.csv?target=y") == "mlp-tabular"
    arch = np.array([0, 17, 5000])
    c = mlp.cost(PRESETS["mlp-digits"], arch, (8, 8, 1), 10)
    np.testing.assert_array_equal(c["params"], mlp_costs(mlp_shapes(mlp_space(), arch), 64, 10)["params"])
    c = nb.cost(PRESETS["digits"], arch, (8, 8, 1), 10)
    assert c["flops"].shape == (3,) and c["params"][0] < c["params"][2]
    # every member in exactly one population of at most K; NB201 also returns its slot capacities
    for fam, more in ((nb, True), (mlp, True)):  # MLP: 80 runs fill no bucket, so universal
        runs = np.repeat(np.arange(40) * 7, 2)
        groups, layout = fam.split(runs, 8)
        np.testing.assert_array_equal(np.sort(np.concatenate(groups)), np.arange(len(runs)))
        assert max(len(g) for g in groups) <= 8 and bool(layout) is more
    assert set(nb.fixed_layout(20).values()) == {9} and mlp.fixed_layout(20) == {"universal": 1}
    # MLP populations are buckets: one depth, activation and width classes per population
    runs = np.repeat(np.arange(0, 5100, 37), 2)
    keys = mlp._bucket_keys(runs, False)
    groups, layout = mlp.split(runs, 2)
    assert layout == {} and all(len({keys[i] for i in g}) == 1 for g in groups)
    assert len({keys[g[0]] for g in groups}) < len(set(runs.tolist())) * 0.7  # shared, not one per network
    # too few runs to fill a population per bucket: the universal layout (chunks of K)
    for lay in (None, {"universal": 1}):
        groups, layout = mlp.split(runs, 8, layout=lay)
        assert layout == {"universal": 1} and len(groups) == -(-len(runs) // 8)


def test_inheritance_is_nb201s_and_mlps_is_unsupported() -> None:
    nb = family_of(NB201Space())
    parent = {"[0]['cell0_0']['e0_conv1']['conv']['kernel']": np.ones(1), "[0]['stem']['w']": np.ones(1),
              "[2][0].count": np.zeros(())}  # fmt: skip
    child = nb.inherit(
        parent, NB201Space().index("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|none~2|"), 0
    )
    assert list(child) == ["[0]['stem']['w']"]  # the changed edge and the optimiser state stay behind
    with pytest.raises(UnsupportedError, match="no weight inheritance"):
        family_of(mlp_space()).inherit({}, 0, 1)
    with pytest.raises(UnsupportedError, match="NB201 cells"):
        family_of(mlp_space()).cell_ops([0], "the zero-cost proxies")


def test_unique_and_requested_architectures() -> None:
    assert len(unique_indices(NB201Space())) == 6466
    np.testing.assert_array_equal(unique_indices(mlp_space()), np.arange(mlp_space().size))
    assert len(resolve_archs(mlp_space(), "12")) == 12
    with pytest.raises(ConfigError, match="--archs"):
        resolve_archs(NB201Space(), "nothing-here")


def test_input_independent_architectures() -> None:
    space = NB201Space()
    empty, linked = space.index("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), 0
    assert family_of(space).input_independent([empty, 1234]).tolist() == [True, False]
    assert not family_of(mlp_space()).input_independent([linked, 5]).any()
