"""Dataset loading and validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasbench.core.errors import ConfigError, DatasetError
from nasbench.train.data import load_dataset
from nasbench.train.recipe import PRESETS, Recipe, resolve_recipe

R = Recipe(n_train=None, n_valid=None, n_test=None)


def _npz(tmp_path: Path, name: str = "d.npz", **arrays: np.ndarray) -> str:
    p = tmp_path / name
    np.savez(p, **arrays)
    return f"npz:{p}"


def _good(n: int = 40, shape: tuple[int, ...] = (6, 6, 3), classes: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (n, *shape), dtype=np.uint8),
        "y_train": np.arange(n) % classes,
        "x_test": rng.integers(0, 256, (n // 2, *shape), dtype=np.uint8),
        "y_test": np.arange(n // 2) % classes,
    }


def test_digits_split_sizes_and_standardisation() -> None:
    ds = load_dataset("digits", PRESETS["digits"])
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == (500, 650, 647)
    assert ds.image_shape == (8, 8, 1) and ds.n_classes == 10
    assert abs(float(ds.x_train.mean())) < 1e-4 and abs(float(ds.x_train.std()) - 1) < 1e-3
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    again = load_dataset("digits", PRESETS["digits"])
    assert again.fingerprint == ds.fingerprint
    other = load_dataset("digits", PRESETS["digits"].replace(split_seed=1))
    assert other.fingerprint != ds.fingerprint


def test_npz_nchw_uint8_with_heldout_validation(tmp_path: Path) -> None:
    arrays = _good()
    arrays["x_train"] = np.transpose(arrays["x_train"], (0, 3, 1, 2))
    arrays["x_test"] = np.transpose(arrays["x_test"], (0, 3, 1, 2))
    ds = load_dataset(_npz(tmp_path, **arrays), R.replace(n_valid=8))
    assert ds.image_shape == (6, 6, 3)
    assert (len(ds.y_train), len(ds.y_valid), len(ds.y_test)) == (32, 8, 20)
    assert ds.info["layout"] == "NCHW" and ds.n_classes == 4


def test_npz_explicit_validation_and_grey_images(tmp_path: Path) -> None:
    arrays = _good(shape=(5, 5))
    arrays["x_train"] = arrays["x_train"].astype(np.float32)
    arrays["x_valid"], arrays["y_valid"] = arrays["x_test"][:4], arrays["y_test"][:4]
    ds = load_dataset(_npz(tmp_path, **arrays), R)
    assert ds.image_shape == (5, 5, 1) and len(ds.y_valid) == 4


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.pop("y_test"), "lacks array"),
        (lambda a: a.__setitem__("y_train", a["y_train"][:-1]), "labels for"),
        (lambda a: a.__setitem__("y_train", a["y_train"] - 1), "class ids must be in 0..C-1"),
        (lambda a: a.__setitem__("y_test", np.full(20, 7)), "lacks class"),
        (lambda a: a.__setitem__("y_train", a["y_train"] + 0.5), "integer class ids"),
        (lambda a: a.__setitem__("x_train", np.full((40, 6, 6, 3), np.nan, np.float32)), "NaN"),
        (lambda a: a.__setitem__("x_train", np.zeros((40, 6), np.float32)), "must be (N,H,W,C)"),
        (lambda a: a.__setitem__("x_test", np.zeros((20, 7, 7, 3), np.uint8)), "shapes differ"),
        (lambda a: a.__setitem__("x_train", a["x_train"].astype(np.int32)), "must be uint8"),
        (lambda a: a.__setitem__("x_valid", a["x_test"]), "both x_valid and y_valid"),
        (lambda a: a.__setitem__("y_train", np.zeros(40, int)), "single class"),
    ],
)
def test_npz_validation_errors(tmp_path: Path, change, message: str) -> None:  # noqa: ANN001
    arrays = _good()
    change(arrays)
    if "y_train" in arrays and message == "single class":
        arrays["y_test"] = np.zeros(20, int)
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_dataset(_npz(tmp_path, **arrays), R)


def test_unreadable_and_unknown(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(DatasetError, match="cannot read .* not a zip archive"):
        load_dataset(f"npz:{bad}", R)
    single = tmp_path / "x.npy"  # one array, not an archive of named arrays
    np.save(single, np.zeros((4, 8, 8), np.float32))
    with pytest.raises(DatasetError, match="not a zip archive"):
        load_dataset(f"npz:{single}", R)
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(f"npz:{tmp_path / 'missing.npz'}", R)
    with pytest.raises(DatasetError, match="unknown dataset 'cifar10'"):
        load_dataset("cifar10", R)
    with pytest.raises(DatasetError, match="asks for"):
        load_dataset("digits", R.replace(n_train=2000))


@pytest.mark.parametrize(
    "data, message",
    [
        ({"epochs": "6"}, "'epochs' must be int, got '6'"),
        ({"epochs": 6.5}, "'epochs' must be int"),
        ({"epochs": True}, "'epochs' must be int"),
        ({"lr": "0.1"}, "'lr' must be float"),
        ({"nesterov": "yes"}, "'nesterov' must be bool"),
        ({"reduction": 1}, "'reduction' must be str"),
        ({"n_train": 1.5}, "'n_train' must be int or none"),
        ({"channels": [16, "a", 64]}, "'channels' must be int"),
        ({"channels": 16}, "'channels' must be a list of 3 int"),
        ([["epochs", 6]], "a recipe is a JSON object"),
    ],
)
def test_recipe_fields_of_the_wrong_type_are_config_errors(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Recipe.from_dict(data)


def test_recipe_file_of_the_wrong_type_is_one_line_and_ints_stay_ints(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"epochs": "x"}')
    with pytest.raises(ConfigError, match="'epochs' must be int") as err:
        resolve_recipe(str(bad))
    assert "\n" not in str(err.value)
    good = Recipe.from_dict({**R.to_dict(), "lr": 1, "n_train": None})
    assert good.lr == 1 and good.n_train is None
    assert good.content_hash() == Recipe.from_dict(good.to_dict()).content_hash()
