"""Tabular datasets: csv, 2-D npz and scikit-learn's bundled sets; classification and regression."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasbench.core.errors import DatasetError
from nasbench.train.data import dataset_spec, infer_task, load_dataset, parse_dataset_spec
from nasbench.train.recipe import Recipe

R = Recipe(n_train=None, n_valid=None, n_test=None)


def _table(n: int = 100, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(5.0, 2.0, n)
    b = rng.integers(0, 1000, n)
    colour = rng.choice(["red", "green", "blue"], n)
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "colour": colour,
            "flag": rng.random(n) < 0.5,
            "const": np.full(n, 3.0),
            "y": 2 * a + (colour == "red") + rng.normal(0, 0.1, n),
            "label": np.where(a > 5, "big", "small"),
        }
    )


def _csv(tmp_path: Path, df: pd.DataFrame, name: str = "d.csv") -> str:
    p = tmp_path / name
    df.to_csv(p, index=False)
    return f"csv:{p}"


def _err(spec: str, message: str, recipe: Recipe = R) -> None:
    with pytest.raises(DatasetError, match=message) as err:
        load_dataset(spec, recipe)
    assert "\n" not in str(err.value)


# ---- spec options -----------------------------------------------------------------------


def test_spec_options_compose_and_parse_round_trip() -> None:
    assert dataset_spec("csv:d.csv") == "csv:d.csv"
    assert dataset_spec("csv:d.csv", task="regression", target="y") == "csv:d.csv?target=y&task=regression"
    odd = dataset_spec("csv:d.csv", target="sale price & tax=%")
    assert parse_dataset_spec(odd) == ("csv:d.csv", {"target": "sale price & tax=%"})
    spec = dataset_spec("csv:d.csv?task=classification", target="y")
    assert spec == "csv:d.csv?target=y&task=classification"
    assert parse_dataset_spec(spec) == ("csv:d.csv", {"target": "y", "task": "classification"})
    assert dataset_spec("csv:d.csv?target=y", target="y") == "csv:d.csv?target=y"
    assert parse_dataset_spec("digits") == ("digits", {})


@pytest.mark.parametrize(
    "spec, message",
    [
        ("csv:d.csv?colour=y", "unknown dataset option 'colour'"),
        ("csv:d.csv?target=y&target=z", "given twice"),
        ("csv:d.csv?target", "write KEY=VALUE"),
        ("csv:d.csv?target=", "write KEY=VALUE"),
        ("csv:d.csv?task=ranking", "bad task 'ranking'"),
    ],
)
def test_bad_spec_options(spec: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        parse_dataset_spec(spec)
    _err(spec, message)


def test_dataset_spec_refuses_conflicts_and_bad_tasks() -> None:
    with pytest.raises(DatasetError, match="sets target=y but target=z"):
        dataset_spec("csv:d.csv?target=y", target="z")
    with pytest.raises(DatasetError, match="bad task"):
        dataset_spec("csv:d.csv", task="clustering")


def test_image_datasets_refuse_tabular_options() -> None:
    _err("digits?task=regression", "regression needs tabular data")
    _err("digits?target=y", "target does not apply")
    assert load_dataset("sklearn:digits", Recipe(n_train=500, n_valid=650, n_test=647)).name == "digits"


# ---- task rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, task",
    [
        (np.arange(100) % 20, "classification"),
        (np.arange(100) % 21, "regression"),
        ((np.arange(100) % 3).astype(float), "classification"),
        (np.linspace(0, 1, 100), "regression"),
        (np.array(["a", "b"] * 50), "classification"),
        (np.arange(100) % 2 == 0, "classification"),
    ],
)
def test_task_rule(values: np.ndarray, task: str) -> None:
    assert infer_task(pd.Series(values)) == task


# ---- csv ----------------------------------------------------------------------------------


def test_csv_regression_scaling_is_fitted_on_train(tmp_path: Path) -> None:
    ds = load_dataset(_csv(tmp_path, _table().drop(columns="label")) + "?target=y", R)
    assert ds.task == "regression" and ds.n_classes == 0 and ds.n_outputs == 1 and ds.is_tabular
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == (60, 20, 20)
    # a, b, const, then colour (3) and flag (2) one-hot
    assert ds.x_train.shape == (60, 8) and ds.image_shape == (8,)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.float32
    num = ds.x_train[:, :3]
    assert np.allclose(num.mean(axis=0), 0, atol=1e-6)
    assert np.allclose(num[:, :2].std(axis=0), 1, atol=1e-5)
    assert np.all(ds.x_train[:, 2] == 0)  # the constant column: std 1, not a division by 0
    assert abs(float(ds.y_train.mean())) < 1e-6 and abs(float(ds.y_train.std()) - 1) < 1e-5
    assert abs(float(ds.x_valid[:, 0].mean())) > 1e-4  # valid is scaled with train's statistics
    raw = _table()["y"].to_numpy()
    assert ds.info["target_std"] > 0 and min(raw) < ds.info["target_mean"] < max(raw)
    assert ds.info["categories"] == {"colour": ["blue", "green", "red"], "flag": ["False", "True"]}
    assert ds.info["split"] == {
        "how": "shuffled with split_seed",
        "seed": 0,
        "n_train": 60,
        "n_valid": 20,
        "n_test": 20,
    }
    summary = ds.summary()
    assert summary["task"] == "regression" and summary["n_features"] == 8 and summary["target"] == "y"
    json.dumps(summary)


def test_csv_classification_of_string_labels(tmp_path: Path) -> None:
    ds = load_dataset(dataset_spec(_csv(tmp_path, _table()), target="label"), R.replace(n_train=50))
    assert ds.task == "classification" and ds.n_classes == 2 and ds.n_outputs == 2
    assert ds.info["classes"] == ["big", "small"] and ds.y_train.dtype == np.int32
    assert set(np.unique(ds.y_train)) == {0, 1}
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == (50, 20, 30)
    assert ds.name.endswith("?target=label")


def test_csv_task_option_overrides_the_rule(tmp_path: Path) -> None:
    df = pd.DataFrame({"x": np.arange(60.0), "y": np.arange(60) % 5})
    spec = _csv(tmp_path, df) + "?target=y"
    assert load_dataset(spec, R).task == "classification"
    ds = load_dataset(spec + "&task=regression", R)
    assert ds.task == "regression" and ds.y_train.dtype == np.float32


def test_csv_split_column_and_unseen_categories(tmp_path: Path) -> None:
    df = _table(60)
    df["split"] = ["train"] * 40 + ["valid"] * 10 + ["test"] * 10
    df.loc[55, "colour"] = "violet"  # only in test: encodes as zeros
    ds = load_dataset(_csv(tmp_path, df) + "?target=y", R)
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == (40, 10, 10)
    assert ds.info["split"]["how"] == "given" and "violet" not in ds.info["categories"]["colour"]
    assert np.all(ds.x_test[5, 3:6] == 0) and ds.x_test[4, 3:6].sum() == 1
    np.testing.assert_allclose(ds.x_train[:, 0].mean(), 0, atol=1e-6)
    # train and test only: valid is held out from train with the split seed
    df["split"] = ["train"] * 50 + ["test"] * 10
    ds = load_dataset(_csv(tmp_path, df) + "?target=y", R.replace(n_valid=5))
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == (45, 5, 10)
    assert ds.info["split"]["how"].startswith("given train/test")


def test_split_seed_reproduces_and_varies(tmp_path: Path) -> None:
    spec = _csv(tmp_path, _table()) + "?target=y"
    a, b = load_dataset(spec, R), load_dataset(spec, R)
    assert a.fingerprint == b.fingerprint and np.array_equal(a.x_valid, b.x_valid)
    c = load_dataset(spec, R.replace(split_seed=1))
    assert c.fingerprint != a.fingerprint and c.info["split"]["seed"] == 1


# ---- npz and bundled sets ---------------------------------------------------------------


def test_npz_tabular_regression_and_classification(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x, xt = rng.normal(size=(50, 4)), rng.normal(size=(20, 4)).astype(np.float32)
    p = tmp_path / "r.npz"
    np.savez(p, x_train=x, y_train=x @ [1.0, 2, 3, 4], x_test=xt, y_test=xt @ [1.0, 2, 3, 4])
    ds = load_dataset(f"npz:{p}", R.replace(n_valid=10))
    assert ds.task == "regression" and ds.x_train.shape == (40, 4) and len(ds.y_valid) == 10
    assert ds.info["split"]["how"].startswith("given train/test")
    q = tmp_path / "c.npz"
    np.savez(
        q,
        x_train=x,
        y_train=np.arange(50) % 3 + 7,
        x_valid=x[:6],
        y_valid=np.arange(6) % 3 + 7,
        x_test=xt,
        y_test=np.arange(20) % 3 + 7,
    )
    ds = load_dataset(f"npz:{q}", R)
    assert ds.task == "classification" and ds.info["classes"] == ["7", "8", "9"] and ds.n_classes == 3
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == (50, 6, 20)
    assert load_dataset(f"npz:{q}?task=regression", R).task == "regression"
    _err(f"npz:{q}?target=y", "target does not apply")


@pytest.mark.parametrize(
    "name, task, n_features, n_classes",
    [
        ("breast_cancer", "classification", 30, 2),
        ("wine", "classification", 13, 3),
        ("iris", "classification", 4, 3),
        ("diabetes", "regression", 10, 0),
    ],
)
def test_bundled_sets(name: str, task: str, n_features: int, n_classes: int) -> None:
    ds = load_dataset(f"sklearn:{name}", R)
    assert ds.task == task and ds.image_shape == (n_features,) and ds.n_classes == n_classes
    assert ds.info["source"].startswith("sklearn.datasets.load_")
    n = len(ds.y_train) + len(ds.y_valid) + len(ds.y_test)
    assert abs(len(ds.y_train) - 0.6 * n) <= 1 and abs(len(ds.y_valid) - 0.2 * n) <= 1


# ---- errors: one line each ----------------------------------------------------------------


@pytest.mark.parametrize(
    "change, target, message",
    [
        (lambda d: d.assign(a=d["a"].where(d.index % 10 != 0)), "y", r"missing values .* 'a' \(10\)"),
        (lambda d: d.assign(y=1.5), "y", "target 'y' is constant \\(1.5\\)"),
        (lambda d: d, "label&task=regression", "target 'label' is not numeric"),
        (lambda d: d, "y&task=classification", "target 'y' holds non-integer values"),
        (lambda d: d, "nope", "no target column 'nope'; columns: a, b, colour, flag, const, y, label"),
        (lambda d: d.assign(split=["train"] * 60 + ["test"] * 40), "label", None),
    ],
)
def test_csv_target_and_value_errors(tmp_path: Path, change, target: str, message: str | None) -> None:  # noqa: ANN001
    df = change(_table())
    if message is None:  # a class only outside the training split
        df["label"] = ["a", "b"] * 30 + ["c"] * 40
        message = r"class\(es\) \['c'\] of target 'label' do not appear in the training split"
    _err(_csv(tmp_path, df) + f"?target={target}", message)


def test_csv_empty_cells_are_missing_values(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text("a,b,y\n1,,0.5\n2,3,1.5\n,4,2.5\n5,,3.5\n")
    _err(f"csv:{p}?target=y", r"missing values \(NaN or empty cells\) in column\(s\) 'a' \(1\), 'b' \(2\)")


def test_too_many_classes(tmp_path: Path) -> None:
    df = pd.DataFrame({"x": np.arange(1200.0), "y": [f"c{i}" for i in range(1200)]})
    _err(_csv(tmp_path, df) + "?target=y", "1200 classes, more than 1000")


def test_csv_target_must_be_named(tmp_path: Path) -> None:
    _err(_csv(tmp_path, _table()), "name the target column .* columns: a, b, colour")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"a,b,y\n", "has a header but no data rows"),
        (b"a,y\n1,2\n3,4,5,6\n", "cannot parse .* as CSV: .*Expected 2 fields"),
        (b"\xff\xfe\x00\x81garbage\x00,\x9c\n\x80\x81,\x82\n", "cannot parse .* as CSV"),
    ],
)
def test_unreadable_csv(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    _err(f"csv:{p}?target=y", message)


def test_unknown_files_and_sets(tmp_path: Path) -> None:
    _err(f"csv:{tmp_path / 'missing.csv'}?target=y", "not found")
    _err("csv:?target=y", "needs a path")
    _err("sklearn:mnist", "unknown bundled dataset 'mnist'")
    _err("parquet:x.parquet", "unknown dataset 'parquet:x.parquet'")
    _err("sklearn:iris?target=petal", "no target column 'petal'")
