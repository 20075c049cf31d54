"""Training datasets. Nothing is downloaded.

* ``digits``: scikit-learn's bundled 1,797 8x8 grey-scale digit images (10 classes).
* ``npz:PATH``: user arrays ``x_train, y_train, x_test, y_test`` and optionally
  ``x_valid, y_valid``; images NHWC or NCHW (or NHW for one channel), uint8 (scaled by
  1/255) or float. This is how CIFAR-10 or any other data set comes in.

Images are standardised per channel with the training split's mean and std.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import DatasetError
from nasbench.train.recipe import Recipe

_MAX_CLASSES = 100_000


@dataclass(frozen=True, eq=False)
class Dataset:
    """Standardised splits.

    Attributes:
        name: dataset spec as given (``digits`` or ``npz:PATH``).
        x_train, x_valid, x_test: float32 ``(N, H, W, C)``.
        y_train, y_valid, y_test: int32 ``(N,)`` labels in ``0 .. n_classes-1``.
        n_classes: number of classes.
        fingerprint: sha256 of the standardised arrays (what ``--resume`` compares).
        info: provenance recorded in the table metadata.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    fingerprint: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "image_shape": list(self.image_shape),
            "n_classes": self.n_classes,
            "n_train": len(self.y_train),
            "n_valid": len(self.y_valid),
            "n_test": len(self.y_test),
            "fingerprint": self.fingerprint,
            **self.info,
        }


def load_dataset(spec: str, recipe: Recipe) -> Dataset:
    """Load and split a dataset by spec.

    Raises:
        DatasetError: unknown spec, unreadable or malformed arrays, bad labels, or
            split sizes larger than the data.
    """
    if spec == "digits":
        return _digits(recipe)
    if spec.startswith("npz:"):
        return _npz(spec, recipe)
    raise DatasetError(f"unknown dataset {spec!r}; use 'digits' or 'npz:PATH'")


def _digits(recipe: Recipe) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[..., None]
    y = d.target.astype(np.int64)
    order = np.random.default_rng(recipe.split_seed).permutation(len(y))
    x, y = x[order], y[order]
    n_train = recipe.n_train or len(y) // 3
    n_valid = recipe.n_valid or max(len(y) - n_train, 0) // 2
    n_test = recipe.n_test or max(len(y) - n_train - n_valid, 0)
    if min(n_train, n_valid, n_test) < 1 or n_train + n_valid + n_test > len(y):
        raise DatasetError(f"digits has {len(y)} images; the recipe asks for {n_train}+{n_valid}+{n_test}")
    a, b = n_train, n_train + n_valid
    parts = {
        "train": (x[:a], y[:a]),
        "valid": (x[a:b], y[a:b]),
        "test": (x[b : b + n_test], y[b : b + n_test]),
    }
    return _finish("digits", parts, 10, {"source": "sklearn.datasets.load_digits"})


def _npz(spec: str, recipe: Recipe) -> Dataset:
    path = Path(spec[4:])
    if not spec[4:]:
        raise DatasetError("npz dataset needs a path: npz:PATH")
    if not path.is_file():
        raise DatasetError(f"dataset file not found: {path}")
    # An .npz is a zip archive. np.load reads anything else another way: a text file fails
    # with advice about pickles, and a single-array .npy loads as a bare array.
    if not zipfile.is_zipfile(path):
        raise DatasetError(
            f"cannot read {path} as an .npz archive: not a zip archive (write one with numpy.savez)"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"cannot read {path} as an .npz archive: {str(exc).splitlines()[0]}") from None
    need = ["x_train", "y_train", "x_test", "y_test"]
    missing = [k for k in need if k not in arrays]
    if missing:
        raise DatasetError(f"{path} lacks array(s) {missing}; an npz dataset needs {', '.join(need)}")
    if ("x_valid" in arrays) != ("y_valid" in arrays):
        raise DatasetError(f"{path}: give both x_valid and y_valid, or neither")
    layout = None
    xs: dict[str, np.ndarray] = {}
    ys: dict[str, np.ndarray] = {}
    for split in ("train", "valid", "test"):
        if f"x_{split}" not in arrays:
            continue
        x, lay = _images(arrays[f"x_{split}"], f"x_{split}", path)
        if layout is not None and lay != layout and lay != "NHW":
            raise DatasetError(f"{path}: x_{split} is {lay} but x_train is {layout}")
        layout = layout or lay
        xs[split] = x
        ys[split] = _labels(arrays[f"y_{split}"], f"y_{split}", len(x), path)
    shapes = {s: x.shape[1:] for s, x in xs.items()}
    if len(set(shapes.values())) != 1:
        raise DatasetError(f"{path}: image shapes differ between splits: {shapes}")
    n_classes = int(max(int(y.max()) for y in ys.values())) + 1
    if n_classes < 2:
        raise DatasetError(f"{path}: labels hold a single class; need at least 2")
    train_classes = np.unique(ys["train"])
    if len(train_classes) != n_classes:
        absent = sorted(set(range(n_classes)) - set(train_classes.tolist()))[:5]
        raise DatasetError(
            f"{path}: labels use {n_classes} classes but y_train lacks class(es) {absent}; "
            "labels must be 0..C-1 and every class must appear in the training split"
        )
    rng = np.random.default_rng(recipe.split_seed)
    xt, yt = xs["train"], ys["train"]
    if "valid" not in xs:
        n_valid = recipe.n_valid or max(1, len(yt) // 10)
        if n_valid >= len(yt):
            raise DatasetError(
                f"{path}: cannot hold out {n_valid} validation images from {len(yt)} training images"
            )
        order = rng.permutation(len(yt))
        xs["valid"], ys["valid"] = xt[order[:n_valid]], yt[order[:n_valid]]
        xt, yt = xt[order[n_valid:]], yt[order[n_valid:]]
    parts = {}
    for split, x, y in (
        ("train", xt, yt),
        ("valid", xs["valid"], ys["valid"]),
        ("test", xs["test"], ys["test"]),
    ):
        n = getattr(recipe, f"n_{split}")
        if n is not None:
            if n > len(y):
                raise DatasetError(f"{path}: the recipe asks for {n} {split} images but there are {len(y)}")
            x, y = x[:n], y[:n]
        parts[split] = (x, y)
    info = {"source": str(path), "layout": layout, "sha256_file": _file_hash(path)}
    return _finish(f"npz:{path}", parts, n_classes, info)


def _images(x: np.ndarray, name: str, path: Path) -> tuple[np.ndarray, str]:
    if x.dtype.kind not in "uif":
        raise DatasetError(f"{path}: {name} must be uint8 or float images, got dtype {x.dtype}")
    if x.ndim == 3:
        x, layout = x[..., None], "NHW"
    elif x.ndim == 4:
        if x.shape[-1] in (1, 3, 4) or x.shape[1] not in (1, 3, 4):
            layout = "NHWC"
        else:
            layout = "NCHW"
            x = np.transpose(x, (0, 2, 3, 1))
    else:
        raise DatasetError(f"{path}: {name} must be (N,H,W,C), (N,C,H,W) or (N,H,W); got shape {x.shape}")
    if len(x) == 0:
        raise DatasetError(f"{path}: {name} is empty")
    if x.shape[1] < 2 or x.shape[2] < 2:
        raise DatasetError(f"{path}: {name} images are too small: {x.shape[1:]}")
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    elif x.dtype.kind in "iu":
        raise DatasetError(f"{path}: {name} integer images must be uint8, got {x.dtype}")
    else:
        x = x.astype(np.float32)
        if not np.all(np.isfinite(x)):
            raise DatasetError(f"{path}: {name} contains NaN or inf")
    return x, layout


def _labels(y: np.ndarray, name: str, n: int, path: Path) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DatasetError(f"{path}: {name} must be a vector of class ids, got shape {y.shape}")
    if len(y) != n:
        raise DatasetError(f"{path}: {name} has {len(y)} labels for {n} images")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise DatasetError(f"{path}: {name} must hold integer class ids")
    elif y.dtype.kind not in "iu":
        raise DatasetError(f"{path}: {name} must hold integer class ids, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.min() < 0 or y.max() >= _MAX_CLASSES:
        raise DatasetError(
            f"{path}: {name} class ids must be in 0..C-1, found {int(y.min())}..{int(y.max())}"
        )
    return y


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def _finish(
    name: str, parts: dict[str, tuple[np.ndarray, np.ndarray]], n_classes: int, info: dict[str, Any]
) -> Dataset:
    xt = parts["train"][0]
    mean = xt.mean(axis=(0, 1, 2), dtype=np.float64)
    std = xt.std(axis=(0, 1, 2), dtype=np.float64)
    std = np.where(std > 1e-8, std, 1.0)
    out: dict[str, np.ndarray] = {}
    h = hashlib.sha256()
    for split in ("train", "valid", "test"):
        x, y = parts[split]
        x = ((x - mean) / std).astype(np.float32)
        y = y.astype(np.int32)
        x.setflags(write=False)
        y.setflags(write=False)
        out[f"x_{split}"], out[f"y_{split}"] = x, y
        h.update(np.ascontiguousarray(x).tobytes())
        h.update(np.ascontiguousarray(y).tobytes())
    return Dataset(name=name, n_classes=n_classes, fingerprint="sha256:" + h.hexdigest(), info=info, **out)
