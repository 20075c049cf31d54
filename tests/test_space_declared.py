"""Declared spaces: a space written as data goes through the same paths as any other space
(table, surrogate fit/save/load, strategies), its index is dense and stable, its strings
are canonical, and bad declarations or configurations are refused with one line."""

from __future__ import annotations

import copy
import io
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasbench.core.errors import ArchitectureError, ConfigError
from nasbench.experiments.search import search_table
from nasbench.spaces import make_space, space_class
from nasbench.spaces.configspace import configspace_json, from_configspace_json, to_configspace
from nasbench.spaces.declared import MAX_SIZE, DeclaredSpace
from nasbench.spaces.declared_files import convert_space, read_space, write_space
from nasbench.tables.table import ResultTable
from strategies.runner import Budget, RunConfig
from surrogates import load_model
from surrogates.api import fit_and_save

DECL: dict[str, Any] = {
    "dimensions": [
        {"name": "layers", "type": "integer", "low": 1, "high": 3},
        {"name": "units_1", "type": "ordinal", "values": [16, 32, 64]},
        {"name": "units_2", "type": "ordinal", "values": [16, 32, 64]},
        {"name": "units_3", "type": "integer", "low": 16, "high": 64, "log": True, "steps": 3},
        {"name": "act", "type": "categorical", "values": ["relu", "tanh"]},
        {"name": "lr", "type": "float", "low": 0.001, "high": 0.1, "log": True, "steps": 3},
    ],
    "conditions": [
        "units_2 if layers >= 2",
        {"child": "units_3", "parent": "layers", "op": ">=", "value": 3},
    ],
    "forbidden": [{"act": "tanh", "lr": 0.1}],
}

TOML = """
conditions = ["units_2 if layers >= 2", "units_3 if layers >= 3"]
forbidden = [{act = "tanh", lr = 0.1}]

[dimensions]
layers = {type = "integer", low = 1, high = 3}
units_1 = [16, 32, 64]
units_2 = [16, 32, 64]
units_3 = {type = "integer", low = 16, high = 64, log = true, steps = 3}
act = ["relu", "tanh"]
lr = {type = "float", low = 0.001, high = 0.1, log = true, steps = 3}
"""

GRIDS = {
    "layers": [1, 2, 3],
    "units_1": [16, 32, 64],
    "units_2": [16, 32, 64],
    "units_3": [16, 32, 64],
    "act": ["relu", "tanh"],
    "lr": [0.001, 0.01, 0.1],
}


@pytest.fixture(scope="module")
def space() -> DeclaredSpace:
    return DeclaredSpace(DECL)


def _brute_force() -> list[dict[str, Any]]:
    """Every valid canonical configuration, found without the space's own machinery."""
    seen, out = set(), []
    for combo in itertools.product(*GRIDS.values()):
        c = dict(zip(GRIDS, combo))
        if c["layers"] < 2:
            c.pop("units_2")
        if c["layers"] < 3:
            c.pop("units_3")
        if c["act"] == "tanh" and c["lr"] == 0.1:
            continue
        key = tuple(c.items())
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


# ---- identity -------------------------------------------------------------------------------
def test_the_index_is_dense_and_ordered_by_the_mixed_radix_code(space: DeclaredSpace) -> None:
    configs = _brute_force()
    assert space.size == len(configs) == 195

    def code(c: dict[str, Any]) -> tuple[int, ...]:  # inactive (absent) first, then by position
        return tuple(GRIDS[k].index(c[k]) + 1 if k in c else 0 for k in GRIDS)

    expected = sorted(configs, key=code)
    assert [space.arch(i).as_dict() for i in range(space.size)] == expected
    strings = space.strings(np.arange(space.size))
    assert len(set(strings)) == space.size
    assert all(space.index(s) == i == space.parse(s).index for i, s in enumerate(strings))
    assert strings[:2] == ["layers=1,units_1=16,act=relu,lr=0.001", "layers=1,units_1=16,act=relu,lr=0.01"]
    assert space.to_str(194) == str(space.arch(194)) == strings[194]


def test_without_conditions_the_index_is_the_plain_mixed_radix_number() -> None:
    s = DeclaredSpace({"dimensions": {"a": [1, 2, 3], "b": ["x", "y"], "c": [0.5, 1.5, 2.5, 3.5]}})
    digits = s.digits(np.arange(s.size))
    assert s.size == 24
    assert np.array_equal(np.ravel_multi_index(digits.T.astype(np.int64), (3, 2, 4)), np.arange(24))


def test_inactive_dimensions_are_dropped_one_configuration_one_index(space: DeclaredSpace) -> None:
    a = space.parse("layers=1,units_1=32,units_2=16,units_3=64,act=relu,lr=0.01")
    b = space.parse("lr=0.01,act=relu,units_1=32,layers=1,units_2=64")  # any order, other inactive values
    assert a == b and hash(a) == hash(b)
    assert str(a) == "layers=1,units_1=32,act=relu,lr=0.01" and "units_2" not in a
    assert space.index({"layers": 1, "units_1": 32, "units_2": 64, "act": "relu", "lr": 0.01}) == a.index
    assert space.index(a) == a.index and space.index(str(a.index)) == a.index
    assert space.parse("layers=3,units_1=16,units_2=16,units_3=16,act=tanh,lr=1e-3")["lr"] == 0.001


def test_indices_of_maps_columns_vectorised(space: DeclaredSpace) -> None:
    cols = {
        "layers": np.array([1, 3, 2]),
        "units_1": np.array([32, 16, 64]),
        "units_2": np.array([np.nan, 32.0, 64.0]),  # inactive in the first row: empty
        "units_3": np.array([16.0, 40.0, np.nan]),  # 40 is off the grid (snap: 32)
        "act": np.array(["relu", "tanh", "relu"], dtype=object),
        "lr": np.array([0.01, 0.0011, 0.1]),
    }
    got = space.indices_of(cols, snap=True)
    want = [
        space.index("layers=1,units_1=32,act=relu,lr=0.01"),
        space.index("layers=3,units_1=16,units_2=32,units_3=32,act=tanh,lr=0.001"),
        space.index("layers=2,units_1=64,units_2=64,act=relu,lr=0.1"),
    ]
    assert got.tolist() == want
    with pytest.raises(ArchitectureError, match="row 1: 40.0 is not a value of units_3"):
        space.indices_of(cols)
    cols["lr"] = np.array([0.01, 0.1, 0.1])  # row 1: tanh with lr 0.1 is forbidden
    assert space.indices_of(cols, snap=True, on_invalid="mark").tolist() == [want[0], -1, want[2]]


# ---- generation -----------------------------------------------------------------------------
def test_neighbours_change_one_shared_dimension_and_are_symmetric(space: DeclaredSpace) -> None:
    nbrs = [set(space.neighbours(i).tolist()) for i in range(space.size)]
    for i, ns in enumerate(nbrs):
        a = space.arch(i).as_dict()
        assert ns and i not in ns
        for j in ns:
            assert i in nbrs[j]
            b = space.arch(j).as_dict()
            changed = [k for k in a if k in b and a[k] != b[k]]
            assert len(changed) == 1
            k = changed[0]
            if k != "act":  # ordered dimensions move one step
                assert abs(GRIDS[k].index(a[k]) - GRIDS[k].index(b[k])) == 1
    start = space.index("layers=2,units_1=16,units_2=16,act=relu,lr=0.01")
    grown = {space.to_str(j) for j in nbrs[start] if space.arch(j)["layers"] == 3}
    assert grown == {f"layers=3,units_1=16,units_2=16,units_3={u},act=relu,lr=0.01" for u in (16, 32, 64)}


def test_sampling_and_mutation_follow_the_seed(space: DeclaredSpace) -> None:
    a = space.sample(np.random.default_rng(3), 50)
    assert np.array_equal(a, space.sample(np.random.default_rng(3), 50))
    assert a.min() >= 0 and a.max() < space.size
    muts = [space.mutate(7, np.random.default_rng(s)) for s in range(20)]
    assert set(muts) <= set(space.neighbours(7).tolist()) and len(set(muts)) > 1


def test_encodings(space: DeclaredSpace) -> None:
    idx = np.arange(space.size)
    onehot, ordinal = space.encode(idx, "onehot"), space.encode(idx, "ordinal")
    active = space.digits(idx) >= 0
    assert onehot.shape == (195, 17) and len(space.encoding_names("onehot")) == 17
    assert np.array_equal(onehot.sum(1), active.sum(1))
    assert ordinal.shape == (195, 6) and space.encoding_names("ordinal") == list(GRIDS)
    assert np.all(ordinal[~active] == -1) and np.all((ordinal[active] >= 0) & (ordinal[active] <= 1))
    lr = ordinal[:, 5]
    assert set(np.round(lr, 6)) == {0.0, 0.5, 1.0}  # log-even grid: evenly placed
    with pytest.raises(ArchitectureError, match="unknown encoding"):
        space.encode(idx, "path")


# ---- declarations and files ------------------------------------------------------------------
def test_toml_json_short_and_explicit_forms_are_one_space(space: DeclaredSpace, tmp_path: Path) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text(TOML)
    from_toml = read_space(toml)
    assert from_toml == space and from_toml.config() == space.config()
    out = tmp_path / "s.json"
    write_space(from_toml, out)
    assert read_space(out) == space
    assert make_space("declared", **space.config()) == space
    assert space_class("declared") is DeclaredSpace
    assert json.loads(json.dumps(space.config())) == space.config()


def test_configspace_round_trip_keeps_size_strings_and_indices(space: DeclaredSpace, tmp_path: Path) -> None:
    text = configspace_json(space)
    assert '"hyperparameters"' in text and '"uniform_float"' in text
    back = from_configspace_json(text)
    assert back.size == space.size
    assert back.strings(np.arange(back.size)) == space.strings(np.arange(space.size))
    assert np.array_equal(
        back.encode(np.arange(back.size), "ordinal"), space.encode(np.arange(space.size), "ordinal")
    )
    cs_file, decl_file = tmp_path / "cs.json", tmp_path / "decl.json"
    assert (
        convert_space(tmp_path / "x.toml" if False else _write(tmp_path, space), cs_file)["to"]
        == "configspace"
    )
    assert convert_space(cs_file, decl_file)["to"] == "declared"
    again = read_space(decl_file)
    assert again.strings(np.arange(again.size)) == space.strings(np.arange(space.size))
    # ConfigSpace itself reads what we wrote: same conditions and forbiddens
    cs = to_configspace(space)
    assert {c.child.name for c in cs.conditions} == {"units_2", "units_3"} and len(cs.forbidden_clauses) == 1


def test_configspace_round_trip_of_every_kind_of_dimension_condition_and_forbidden() -> None:
    rich = DeclaredSpace(
        {
            "dimensions": [
                {"name": "kind", "type": "categorical", "values": ["mlp"]},
                {"name": "flag", "type": "categorical", "values": [True, False]},
                {"name": "size", "type": "ordinal", "values": ["s", "m", "l"]},
                {"name": "drop", "type": "float", "low": 0.0, "high": 0.5, "steps": 6},
                {"name": "k", "type": "categorical", "values": [1, 3, 5]},
                {"name": "n", "type": "integer", "low": 1, "high": 6},
                {"name": "extra", "type": "integer", "low": 2, "high": 4},
            ],
            "conditions": [
                "drop if size != s",
                "extra if drop <= 0.3",
                "extra if flag == true",
                "n if k in [3, 5]",
                "k if size <= m",
            ],
            "forbidden": [{"drop": [0.1, 0.2], "k": 5}, {"n": 6}],
        }
    )
    back = from_configspace_json(configspace_json(rich))
    assert back.size == rich.size == 222
    assert back.strings(np.arange(back.size)) == rich.strings(np.arange(rich.size))
    assert [str(c) for c in back.declaration.conditions][:2] == ["drop if size != s", "k if size < l"]


def _write(tmp_path: Path, space: DeclaredSpace) -> Path:
    p = tmp_path / "declared.json"
    write_space(space, p)
    return p


def test_a_foreign_configspace_file_is_read_in_its_order_and_floats_need_steps() -> None:
    from ConfigSpace import (
        Categorical,
        ConfigurationSpace,
        EqualsCondition,
        Float,
        ForbiddenEqualsClause,
        Integer,
    )

    cs = ConfigurationSpace()
    kind, depth, lr = (
        Categorical("kind", ["mlp", "cnn"]),
        Integer("depth", (1, 4)),
        Float("lr", (1e-4, 1e-1), log=True),
    )
    cs.add([kind, depth, lr])
    cs.add(EqualsCondition(depth, kind, "mlp"), ForbiddenEqualsClause(kind, "cnn"))
    buf = io.StringIO()
    cs.to_json(buf)
    with pytest.raises(ConfigError, match="'lr' is continuous.*float_steps"):
        from_configspace_json(buf.getvalue())
    s = from_configspace_json(buf.getvalue(), float_steps=4)
    assert s.names == ("kind", "lr", "depth")  # ConfigSpace's order: by depth, then name
    assert s.size == 4 * 4 and {s.arch(i)["kind"] for i in range(s.size)} == {"mlp"}
    assert s.arch(0)["lr"] == 0.0001 and s.arch(s.size - 1)["lr"] == 0.1 and s.arch(3)["depth"] == 4


# ---- bad input -------------------------------------------------------------------------------
def _with(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(DECL)
    for key, value in changes.items():
        if key.startswith("dim"):
            d["dimensions"][int(key[3:])] = value
        else:
            d[key] = value
    return d


@pytest.mark.parametrize(
    "decl, fragment",
    [
        (_with(dim4={"name": "act", "type": "cat", "values": ["a"]}), "must be one of 'categorical'"),
        (_with(dim4={"name": "act", "type": "categorical", "values": []}), "no values (empty choices)"),
        (_with(dim4={"name": "act", "type": "categorical", "values": ["a", "a"]}), "lists the value a twice"),
        (
            _with(dim4={"name": "act", "type": "categorical", "values": ["a"], "colour": 1}),
            "no field(s) colour",
        ),
        (
            _with(dim5={"name": "lr", "type": "float", "low": 0.001, "high": 0.1}),
            "continuous float; give it 'steps'",
        ),
        (
            _with(dim5={"name": "lr", "type": "float", "low": 0, "high": 1, "log": True, "steps": 3}),
            "needs low > 0",
        ),
        (_with(conditions=["units_3 if depth >= 3"]), "unknown dimension 'depth'"),
        (_with(conditions=["units_3 if layers > 7"]), "can never hold"),
        (_with(conditions=["units_3 if act >= relu"]), "only ==, != and in apply"),
        (_with(conditions=["units_3 layers 3"]), "CHILD if PARENT OP VALUE"),
        (_with(conditions=["units_3 if layers >= 3", "units_3 if layers < 2"]), "'units_3' is never active"),
        (_with(conditions=["units_3 if units_2 == 16", "units_2 if units_3 == 16"]), "form a cycle"),
        (_with(forbidden=[{"layers": [1, 2, 3]}]), "exclude every configuration"),
        (_with(forbidden=[{"act": "sigmoid"}]), "sigmoid is not a value of act"),
        (_with(forbidden=[{"colour": 1}]), "unknown dimension 'colour'"),
        (_with(shape="mlp"), "no key(s) shape"),
        ({"dimensions": []}, "at least one dimension"),
        (
            {"dimensions": {f"d{i}": list(range(10)) for i in range(7)}},
            f"more than {MAX_SIZE:,} configurations",
        ),
    ],
)
def test_bad_declarations_are_one_line_config_errors(decl: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        DeclaredSpace(decl)
    message = str(info.value)
    assert fragment in message and "\n" not in message


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("layers=2,units_1=16,act=relu,lr=0.01", "needs a value for 'units_2'"),
        ("layers=1,units_1=16,act=tanh,lr=0.1", "forbidden by {act = tanh, lr = 0.1}"),
        ("layers=1,units_1=24,act=relu,lr=0.01", "24 is not a value of units_1"),
        ("layers=1,units_1=16,act=relu,lr=0.01,depth=3", "unknown dimension 'depth'"),
        ("layers", "name=value"),
        ("195", "out of range"),
    ],
)
def test_configurations_outside_the_space_are_refused(space: DeclaredSpace, text: str, fragment: str) -> None:
    with pytest.raises(ArchitectureError) as info:
        space.index(text)
    assert fragment in str(info.value)


def test_a_space_file_error_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_with(forbidden=[{"act": "sigmoid"}])))
    with pytest.raises(ConfigError, match=r"space file .*bad.json: forbidden"):
        read_space(bad)
    with pytest.raises(ConfigError, match="neither a declaration"):
        (tmp_path / "x.json").write_text("{}")
        read_space(tmp_path / "x.json")


# ---- the same paths as every other space ----------------------------------------------------
@pytest.fixture(scope="module")
def table_file(space: DeclaredSpace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every configuration, 2 seeds, epochs 1..4; accuracy grows with width, relu beats tanh."""
    rng = np.random.default_rng(0)
    archs = np.arange(space.size)
    enc = space.encode(archs, "ordinal")
    quality = np.clip(enc[:, 1:4], 0, None).sum(1) * 10 - 5 * enc[:, 4] - 3 * np.abs(enc[:, 5] - 0.5)
    final = 60 + quality + rng.normal(0, 0.3, space.size)
    epochs = np.arange(1, 5)
    values = np.empty((space.size, 2, 4, 2), dtype=np.float32)
    values[..., 0] = final[:, None, None] - 20 / epochs + rng.normal(0, 0.3, (space.size, 2, 4))
    values[..., 1] = np.cumsum(rng.uniform(1, 2, (space.size, 2, 4)), axis=2)
    table = ResultTable(
        space, archs, [0, 1], epochs, ("valid_acc", "time_s"), values, np.zeros((space.size, 2), bool), {}, {}
    )
    path = tmp_path_factory.mktemp("declared") / "declared.parquet"
    table.save(path)
    return path


def test_the_space_round_trips_through_a_table(table_file: Path, space: DeclaredSpace) -> None:
    table = ResultTable.load(table_file)
    assert isinstance(table.space, DeclaredSpace) and table.space == space
    assert table.arch_strings() == space.strings(np.arange(space.size))


def test_fit_save_load_predict(table_file: Path, tmp_path: Path) -> None:
    model_file = tmp_path / "declared.skops"
    meta = fit_and_save(table_file, "gp", model_file, random_state=0)
    assert meta["space"]["name"] == "declared"
    table = ResultTable.load(table_file)
    model = load_model(model_file, table=table)  # the class is trusted because it is registered
    X = np.full((2, 5), np.nan)
    X[:, 0] = [
        table.space.index("layers=1,units_1=16,act=tanh,lr=0.001"),
        table.space.index("layers=3,units_1=64,units_2=64,units_3=64,act=relu,lr=0.01"),
    ]
    small, large = model.predict(X)
    assert large > small + 15  # the true gap is about 38 points


@pytest.mark.parametrize("strategy", ["rs", "re", "ls", "bananas", "reinforce", "hb"])
def test_strategies_search_the_declared_space(table_file: Path, strategy: str) -> None:
    config = RunConfig(Budget.parse("20"))
    params = {"surrogate": "gp", "fit_every": 4} if strategy == "bananas" else None
    traj, summary = search_table(table_file, strategy, seed=1, config=config, params=params)
    again, _ = search_table(table_file, strategy, seed=1, config=config, params=params)
    assert traj.same_evaluations(again)
    assert len(traj) > 0 and np.all((traj["arch"] >= 0) & (traj["arch"] < 195))
    assert summary["incumbent"] is not None
