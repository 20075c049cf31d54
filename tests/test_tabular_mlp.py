"""Declared MLP spaces on tabular data (issue 28): roles, hyperparameter dimensions, the
three commands end to end on CSV, bundled and npz data, regression and classification,
and bad input as one line with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from nasbench.cli import main
from nasbench.core.errors import ConfigError
from nasbench.spaces.declared import DeclaredSpace
from nasbench.spaces.mlp import mlp_roles, mlp_shapes
from nasbench.tables.table import ResultTable
from nasbench.train.families import family_of, resolve_trainable_space

FCNET_CSV = SHARED_DATA / "fcnet" / "protein_structure.csv"
FCNET_COLUMNS = [
    "activation_fn_1", "activation_fn_2", "batch_size", "dropout_1", "dropout_2", "init_lr",
    "lr_schedule", "n_units_1", "n_units_2",
]  # fmt: skip

SPACE = """
# a small MLP space with hyperparameters: two learning rates, two batch sizes
[dimensions]
layers = [1, 2]
units = [8, 32]
activation = ["relu", "tanh"]
lr = [0.01, 0.1]
batch_size = [16, 32]

[network]  # roles in no particular order: the table's content hash must not depend on it
shape = "funnel"
depth = "layers"
activation = "activation"
"""
#: a short recipe for the commands below
FAST = ["--epochs", "2", "--set", "eval_batch_size=256"]


@pytest.fixture(scope="module")
def space_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("space") / "space.toml"
    path.write_text(SPACE)
    return path


@pytest.fixture(scope="module")
def recipe_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``mlp-tabular`` recipe, two epochs (search and compare take a recipe file)."""
    from nasbench.train.recipe import PRESETS

    path = tmp_path_factory.mktemp("recipe") / "recipe.json"
    path.write_text(json.dumps(PRESETS["mlp-tabular"].replace(epochs=2).to_dict()))
    return path


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A regression CSV with a categorical column (y depends on both)."""
    rng = np.random.default_rng(0)
    n = 240
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], n)
    y = 2 * x1 - x2**2 + (colour == "red") * 1.5 + 0.1 * rng.normal(size=n)
    path = tmp_path_factory.mktemp("csv") / "data.csv"
    lines = ["x1,x2,colour,y"] + [f"{a:.5f},{b:.5f},{c},{t:.5f}" for a, b, c, t in zip(x1, x2, colour, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


# ---- roles ----------------------------------------------------------------------------------
def test_roles_from_names_and_from_the_network_table(space_file: Path) -> None:
    space = resolve_trainable_space(str(space_file))
    roles = mlp_roles(space)
    assert (roles.depth, roles.width, roles.shape, roles.activation) == (
        "layers",
        "units",
        "funnel",
        "activation",
    )
    assert roles.hyperparameters == ("learning_rate", "batch_size")
    shapes = mlp_shapes(space, np.arange(space.size))
    # funnel: the second of two layers is half as wide
    two = shapes.layers == 2
    assert (shapes.units[two, 1] * 2 == shapes.units[two, 0]).all() and (shapes.units[~two, 1] == 0).all()
    assert set(shapes.lr) == {0.01, 0.1} and set(shapes.batch_size) == {16, 32}
    # the [network] table names roles whatever the dimensions are called
    named = DeclaredSpace(
        {
            "dimensions": {"n": [1, 3], "w": [4, 16], "rate": [0.001, 0.1], "act_1": ["elu"], "act_2": ["gelu"],
                           "act_3": ["silu"], "norm": ["on", "off"]},
            "network": {"depth": "n", "width": "w", "learning_rate": "rate", "activation": "act_{k}", "batch_norm": "norm"},
        }
    )  # fmt: skip
    s = mlp_shapes(named, np.arange(named.size))
    assert set(s.batch_norm) == {True, False} and s.activation[s.layers == 3][0].tolist() == [4, 1, 3]


@pytest.mark.skipif(not FCNET_CSV.is_file(), reason="shared FCNet data not present")
def test_the_fcnet_space_trains_as_declared(tmp_path: Path) -> None:
    """The FCNet declaration, inferred from the shared table with no edits, is a trainable
    MLP space: two layers, per-layer activation and dropout, lr, schedule and batch size."""
    from nasbench.spaces.infer import infer_space

    infer_space(FCNET_CSV, FCNET_COLUMNS, tmp_path / "fcnet.json")
    space = resolve_trainable_space(str(tmp_path / "fcnet.json"))
    family_of(space)
    roles = mlp_roles(space)
    assert roles.depth == 2 and roles.width == ("n_units_1", "n_units_2")
    assert roles.activation == ("activation_fn_1", "activation_fn_2")
    assert set(roles.hyperparameters) == {"learning_rate", "schedule", "batch_size"}
    cfg = space.parse(
        "activation_fn_1=tanh,activation_fn_2=relu,batch_size=8,dropout_1=0.3,dropout_2=0.0,"
        "init_lr=0.01,lr_schedule=const,n_units_1=512,n_units_2=16"
    )
    s = mlp_shapes(space, [cfg.index])
    assert s.units[0].tolist() == [512, 16] and s.activation[0].tolist() == [2, 0]
    assert s.dropout[0].tolist() == [0.3, 0.0] and s.schedule[0] == 0 and s.batch_size[0] == 8


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        (
            {"dimensions": {"layers": [1, 2], "units": [8], "colour": ["red"]}},
            "dimension 'colour' plays no role",
        ),
        (
            {"dimensions": {"layers": [1, 2], "units": [8, 0]}},
            "dimension 'units' .width.: 0 is not a positive",
        ),
        (
            {"dimensions": {"layers": [1], "units": [8], "lr": [0.1, -1.0]}},
            "dimension 'lr' .learning_rate.: -1.0",
        ),
        ({"dimensions": {"units": [8]}}, "needs a depth"),
        ({"dimensions": {"layers": [1, 2]}}, "needs widths"),
        ({"dimensions": {"layers": [1], "units": [8]}, "network": {"dropout": 1.5}}, "network.dropout"),
        (
            {"dimensions": {"layers": [1], "units": [8]}, "network": {"colour": "x"}},
            "network.colour is not a role",
        ),
        (
            {"dimensions": {"layers": [1], "units": [8]}, "network": {"width": "u_{k}"}},
            "names no dimension 'u_1'",
        ),
    ],
)
def test_a_declaration_the_family_cannot_train_names_the_dimension(declaration, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message) as err:
        family_of(DeclaredSpace(declaration))
    assert "\n" not in str(err.value)


# ---- the three commands ----------------------------------------------------------------------
def test_build_a_regression_table_from_csv(tmp_path: Path, space_file: Path, csv_file: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "t.parquet"
    args = ["build", "--space", str(space_file), "--dataset", f"csv:{csv_file}", "--target", "y",
            "--seeds", "2", "--archs", "all", *FAST, "--out", str(out), "--json", "--quiet"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trained_runs"] == 2 * 32 and summary["diverged_runs"] == 0
    table = ResultTable.load(out)
    assert table.objective.metric == "valid_loss" and table.objective.direction == "min"
    assert (
        set(table.metrics) >= {"valid_loss", "test_loss", "valid_r2", "test_r2"}
        and "valid_acc" not in table.metrics
    )
    info = table.metadata["dataset_info"]
    assert info["task"] == "regression" and info["categories"] == {"colour": ["blue", "green", "red"]}
    # two batch sizes never share a population; each member its own learning rate
    assert table.metadata["build"]["n_shards"] >= 2
    final = table.values[:, :, -1, :]
    loss, r2 = final[..., table.metric_position("valid_loss")], final[..., table.metric_position("valid_r2")]
    assert np.isfinite(loss).all() and (r2 <= 1).all() and r2.max() > 0.3  # some networks learn y
    # R^2 is 1 - MSE / variance of the split's (standardised) target
    assert np.corrcoef(loss.ravel(), r2.ravel())[0, 1] < -0.99
    # the search and report layers honour the direction: compare minimises the loss (regret
    # >= 0 against the smallest seed-mean loss), the leaderboard ranks the smallest first
    cmp = tmp_path / "cmp"
    assert (
        main(
            ["compare", str(out), "--strategies", "rs,re", "--seeds", "2", "--budget", "8", "--out", str(cmp)]
        )
        == 0
    )
    s = json.loads((cmp / "summary.json").read_text())
    mean_loss = np.nanmean(table.values[:, :, -1, table.metric_position("valid_loss")], axis=1)
    assert s["objective"]["direction"] == "min" and s["optimum"] == pytest.approx(mean_loss.min(), rel=1e-5)
    for row in s["strategies"].values():
        assert row["final_regret"]["mean"] >= 0
    lb = tmp_path / "lb.json"
    assert main(["leaderboard", "--surrogate", "rf", "--table", str(out), "--out", str(lb), "--format", "json",
                 "--top", "32"]) == 0  # fmt: skip
    predicted = [e["predicted_valid_loss"] for e in json.loads(lb.read_text())["entries"]]
    assert predicted == sorted(predicted) and predicted[0] < np.median(mean_loss)


def test_live_search_on_a_bundled_classification_set(
    tmp_path: Path, space_file: Path, recipe_file: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    args = ["search", "--evaluator", "train", "--space", str(space_file), "--dataset", "sklearn:breast_cancer",
            "--strategy", "re", "--budget", "6", "--recipe", str(recipe_file), "--out", str(out), "--json"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["objective"]["metric"] == "valid_acc" and summary["evaluations"] >= 6
    table = ResultTable.load(next(out.glob("**/*.parquet")))
    assert table.metadata["dataset_info"]["task"] == "classification" and "valid_acc" in table.metrics


def test_compare_trains_for_real_on_npz_features(tmp_path: Path, space_file: Path, recipe_file: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] ** 2).astype(np.float32)
    np.savez(tmp_path / "d.npz", x_train=x[:150], y_train=y[:150], x_test=x[150:], y_test=y[150:])
    out = tmp_path / "cmp"
    args = ["compare", "--evaluator", "train", "--space", str(space_file), "--dataset", f"npz:{tmp_path / 'd.npz'}",
            "--task", "regression", "--strategies", "rs,re", "--seeds", "2", "--budget", "4", "--recipe", str(recipe_file),
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["objective"] == {"metric": "valid_loss", "direction": "min"} and s["runs"] == 4


@pytest.mark.parametrize(
    ("dataset", "extra", "message"),
    [
        ("csv:{csv}", ["--target", "nope"], "no target column 'nope'"),
        ("csv:{csv}", [], "target"),
        ("csv:{csv}", ["--target", "colour", "--task", "regression"], "not numeric"),
        ("csv:{csv}", ["--target", "y", "--task", "sorting"], "task"),
        ("sklearn:nope", [], "nope"),
    ],
)
def test_bad_tabular_input_is_one_line_and_exit_2(  # type: ignore[no-untyped-def]
    tmp_path: Path, space_file: Path, csv_file: Path, capsys, dataset: str, extra: list[str], message: str
) -> None:
    args = ["build", "--space", str(space_file), "--dataset", dataset.format(csv=csv_file), *extra, *FAST,
            "--out", str(tmp_path / "x.parquet"), "--quiet"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err


def test_nb201_refuses_tabular_data_and_a_bad_space_file_is_one_line(
    tmp_path: Path, csv_file: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    args = ["build", "--space", "nb201", "--dataset", f"csv:{csv_file}", "--target", "y", *FAST,
            "--out", str(tmp_path / "x.parquet"), "--quiet"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "image classifiers" in err, err
    bad = tmp_path / "bad.toml"
    bad.write_text('[dimensions]\nlayers = [1, 2]\nunits = [8]\nfoo = ["a", "b"]\n')
    args[2] = str(bad)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "dimension 'foo' plays no role" in err and str(bad) in err, err


# ---- hyperparameters per member -------------------------------------------------------------
def test_each_member_trains_with_its_own_learning_rate_and_weight_decay() -> None:
    """Members with different learning rates and weight decays in one population train as
    each would with the plain recipe optimiser (``optax.chain``) set to its own values."""
    from nasbench.train.data import load_dataset
    from nasbench.train.mlp import MLPTrainer
    from nasbench.train.recipe import PRESETS

    space = DeclaredSpace(
        {"dimensions": {"layers": [1, 2], "units": [8, 16], "lr": [0.01, 0.2], "weight_decay": [0.0, 0.01]}}
    )
    recipe = PRESETS["mlp-tabular"].replace(epochs=2, batch_size=32)
    data = load_dataset("sklearn:diabetes", recipe)
    cfgs = ["layers=2,units=16,lr=0.2,weight_decay=0.0", "layers=2,units=8,lr=0.01,weight_decay=0.01"]
    arch = np.array([space.index(c) for c in cfgs])
    together = MLPTrainer(recipe, data, 4, space=space, universal=True).train(arch, [0, 0])
    curves = together.metrics["valid_loss"]
    assert not np.allclose(curves[0], curves[1])
    for i, (lr, wd) in enumerate([(0.2, 0.0), (0.01, 0.01)]):
        plain = MLPTrainer(recipe.replace(lr=lr, weight_decay=wd), data, 4, space=space, universal=True)
        plain.member_hparams = False  # the recipe's optax.chain, not the injected hyperparameters
        alone = plain.train(arch[i : i + 1], [0])
        for m in ("train_loss", "valid_loss", "test_loss", "valid_r2"):
            np.testing.assert_allclose(
                alone.metrics[m][0], together.metrics[m][i], rtol=2e-5, atol=1e-6, err_msg=m
            )
