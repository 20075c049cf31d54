"""Training datasets. Nothing is downloaded.

Images:

* ``digits`` (alias ``sklearn:digits``): scikit-learn's bundled 1,797 8x8 grey-scale digit
  images (10 classes).
* ``npz:PATH`` with 3-D or 4-D ``x_*``: user arrays ``x_train, y_train, x_test, y_test`` and
  optionally ``x_valid, y_valid``; images NHWC or NCHW (or NHW for one channel), uint8
  (scaled by 1/255) or float. This is how CIFAR-10 or any other data set comes in.

Images are standardised per channel with the training split's mean and std.

Tables (features ``(N, D)`` and one target, classification or regression):

* ``csv:PATH?target=COLUMN``: a CSV with a header row. A column named ``split`` holding
  ``train``/``valid``/``test`` gives the splits.
* ``npz:PATH`` whose ``x_*`` arrays are all 2-D ``(N, D)``; ``y_*`` are class labels or
  float targets.
* ``sklearn:NAME``: scikit-learn's bundled ``breast_cancer``, ``wine``, ``iris``
  (classification) and ``diabetes`` (regression).

Options ride in the spec after ``?``, URL-query style, so a spec stays one string
(:func:`dataset_spec` composes one, :func:`parse_dataset_spec` reads one):
``target=COLUMN`` (required for CSV) and ``task=classification|regression``.

Task rule (when ``task`` is not given; bundled sets have their own): a target that is
non-numeric, bool, or integer-valued with at most 20 distinct values is classification;
any other numeric target is regression.

Splits: splits the file gives are used (the recipe's ``n_*`` keep the first rows of each);
if it gives train and test only, ``recipe.n_valid`` rows (default 10%) of train are held
out for validation with ``recipe.split_seed``; a single table is shuffled with
``numpy.random.default_rng(recipe.split_seed)`` and cut into ``n_train``/``n_valid``/
``n_test`` rows (default 60%/20%, the test split takes the rest).

Preprocessing is fitted on the training split only: numeric features are standardised
(constant columns get std 1); string, category and bool columns are one-hot encoded
(categories unseen in training encode as all zeros); regression targets are standardised
(losses are on the scaled target); class labels map from their sorted values to 0..C-1,
and every class must appear in the training split.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import numpy as np

from nasbench.core.errors import DatasetError
from nasbench.train.recipe import Recipe

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

_MAX_CLASSES = 100_000
TASKS = ("classification", "regression")
#: Spec options, in their canonical order.
_OPTIONS = ("target", "task")
#: Task rule: integer-valued numeric targets with at most this many values are classes.
_INFER_MAX_CLASSES = 20
#: Most classes a tabular target may hold.
_MAX_TABULAR_CLASSES = 1000
_SPLITS = ("train", "valid", "test")
#: ``sklearn:NAME`` -> (loader in ``sklearn.datasets``, task).
_SKLEARN_SETS: dict[str, tuple[str, str]] = {
    "breast_cancer": ("load_breast_cancer", "classification"),
    "wine": ("load_wine", "classification"),
    "iris": ("load_iris", "classification"),
    "diabetes": ("load_diabetes", "regression"),
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """Standardised splits.

    Attributes:
        name: dataset spec (``digits``, ``npz:PATH``, ``csv:PATH?target=y``, ...).
        x_train, x_valid, x_test: float32 ``(N, H, W, C)`` images or ``(N, D)`` features.
        y_train, y_valid, y_test: int32 ``(N,)`` labels in ``0 .. n_classes-1``
            (classification) or float32 ``(N,)`` standardised targets (regression).
        n_classes: number of classes (0 for regression).
        fingerprint: sha256 of the standardised arrays (what ``--resume`` compares).
        info: provenance recorded in the table metadata (JSON-serialisable).
        task: ``classification`` or ``regression``.
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
    task: str = "classification"

    @property
    def image_shape(self) -> tuple[int, ...]:
        """``x_train.shape[1:]``: ``(H, W, C)`` for images, ``(D,)`` for tables."""
        return tuple(self.x_train.shape[1:])

    @property
    def is_tabular(self) -> bool:
        """Features are ``(N, D)`` rows, not images."""
        return self.x_train.ndim == 2

    @property
    def n_outputs(self) -> int:
        """Width of the network's output: ``n_classes``, or 1 for regression."""
        return 1 if self.task == "regression" else self.n_classes

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "task": self.task,
            "image_shape": list(self.image_shape),
            "n_classes": self.n_classes,
            "n_train": len(self.y_train),
            "n_valid": len(self.y_valid),
            "n_test": len(self.y_test),
            "fingerprint": self.fingerprint,
        }
        if self.is_tabular:
            out["n_features"] = int(self.x_train.shape[1])
        return {**out, **self.info}


def dataset_spec(base: str, *, target: str | None = None, task: str | None = None) -> str:
    """Compose a dataset spec with options: ``dataset_spec("csv:d.csv", target="y")`` is
    ``"csv:d.csv?target=y"`` (options in the order target, task; values URL-quoted).

    Args:
        base: a spec, possibly with options already (a repeated option must agree).
        target: target column.
        task: ``classification`` or ``regression``.

    Returns:
        ``base`` unchanged when both options are None, else the canonical spec.

    Raises:
        DatasetError: a bad option in ``base``, a conflicting or empty value, a bad task.
    """
    if target is None and task is None:
        return base
    root, options = parse_dataset_spec(base)
    for key, value in (("target", target), ("task", task)):
        if value is None:
            continue
        if key in options and options[key] != value:
            raise DatasetError(f"dataset {base!r} sets {key}={options[key]} but {key}={value} was also given")
        options[key] = value
    spec = root + "?" + "&".join(f"{k}={quote(options[k], safe='')}" for k in _OPTIONS if k in options)
    parse_dataset_spec(spec)  # validates the values
    return spec


def parse_dataset_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split a spec into its base and options: ``"csv:d.csv?target=y&task=regression"`` ->
    ``("csv:d.csv", {"target": "y", "task": "regression"})``.

    Raises:
        DatasetError: an option that is not ``KEY=VALUE``, unknown, repeated or empty, or a
            task other than classification/regression.
    """
    base, _, query = spec.partition("?")
    options: dict[str, str] = {}
    for item in query.split("&") if query else []:
        key, eq, value = item.partition("=")
        key, value = unquote(key), unquote(value)
        if not eq or not key or not value:
            raise DatasetError(
                f"bad dataset option {item!r} in {spec!r}: write KEY=VALUE, e.g. csv:data.csv?target=y"
            )
        if key not in _OPTIONS:
            raise DatasetError(f"unknown dataset option {key!r} in {spec!r}; options: {', '.join(_OPTIONS)}")
        if key in options:
            raise DatasetError(f"dataset option {key!r} is given twice in {spec!r}")
        options[key] = value
    if options.get("task", TASKS[0]) not in TASKS:
        raise DatasetError(f"bad task {options['task']!r} in {spec!r}; use classification or regression")
    return base, options


def load_dataset(spec: str, recipe: Recipe) -> Dataset:
    """Load and split a dataset by spec.

    Raises:
        DatasetError: unknown spec or option, unreadable or malformed data, bad labels or
            targets, missing values, or split sizes larger than the data.
    """
    base, options = parse_dataset_spec(spec)
    if base in ("digits", "sklearn:digits"):
        _image_options(options, "digits")
        return _digits(recipe)
    kind, colon, _ = base.partition(":")
    loader = _LOADERS.get(kind) if colon else None
    if loader is None:
        raise DatasetError(
            f"unknown dataset {spec!r}; use 'digits', 'npz:PATH', 'csv:PATH?target=COLUMN' or "
            f"'sklearn:NAME' ({', '.join(_SKLEARN_SETS)})"
        )
    return loader(base, options, recipe)


def _image_options(options: dict[str, str], what: str) -> None:
    if "target" in options:
        raise DatasetError(f"{what} is an image dataset: the option target does not apply")
    if options.get("task", "classification") != "classification":
        raise DatasetError(f"{what} is an image dataset: regression needs tabular data")


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


def _npz(spec: str, options: dict[str, str], recipe: Recipe) -> Dataset:
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
    if all(np.ndim(arrays[f"x_{s}"]) == 2 for s in _SPLITS if f"x_{s}" in arrays):
        return _npz_tabular(path, arrays, options, recipe)
    _image_options(options, str(path))
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
    return _finish(dataset_spec(f"npz:{path}", **options), parts, n_classes, info)


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
        raise DatasetError(
            f"{path}: {name} must be (N,H,W,C), (N,C,H,W) or (N,H,W); got shape {x.shape} "
            "(tabular data: (N,D) in every split)"
        )
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


# ---- tabular data -----------------------------------------------------------------------


def _csv(spec: str, options: dict[str, str], recipe: Recipe) -> Dataset:
    import pandas as pd

    if not spec[4:]:
        raise DatasetError("csv dataset needs a path: csv:PATH?target=COLUMN")
    path = Path(spec[4:])
    if not path.is_file():
        raise DatasetError(f"dataset file not found: {path}")
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{path} is empty: a CSV dataset needs a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DatasetError(f"cannot parse {path} as CSV: {str(exc).strip().splitlines()[0]}") from None
    if len(df) == 0:
        raise DatasetError(f"{path} has a header but no data rows")
    target = options.get("target")
    if target is None:
        raise DatasetError(
            f"{path}: name the target column (--target COLUMN, or csv:PATH?target=COLUMN); "
            f"columns: {_names(df.columns)}"
        )
    _check_target_column(df, target, path)
    given = None
    if "split" in df.columns and target != "split":
        if df["split"].isna().any():
            raise DatasetError(f"{path}: column 'split' has {int(df['split'].isna().sum())} missing value(s)")
        given = df["split"].astype(str).str.strip().to_numpy()
        bad = sorted(set(given) - set(_SPLITS))
        if bad:
            raise DatasetError(f"{path}: column 'split' holds {bad[:5]}; use train, valid and test")
        df = df.drop(columns="split")
    info = {"source": str(path), "sha256_file": _file_hash(path)}
    return _tabular(
        dataset_spec(f"csv:{path}", **options), str(path), df, target, given, options, None, recipe, info
    )


def _sklearn(spec: str, options: dict[str, str], recipe: Recipe) -> Dataset:
    import sklearn.datasets

    name = spec[len("sklearn:") :]
    if name not in _SKLEARN_SETS:
        raise DatasetError(
            f"unknown bundled dataset {name!r}; sklearn: offers digits, {', '.join(_SKLEARN_SETS)}"
        )
    loader, task = _SKLEARN_SETS[name]
    df = getattr(sklearn.datasets, loader)(as_frame=True).frame
    target = options.get("target", "target")
    _check_target_column(df, target, spec)
    info = {"source": f"sklearn.datasets.{loader}"}
    return _tabular(dataset_spec(spec, **options), spec, df, target, None, options, task, recipe, info)


def _npz_tabular(
    path: Path, arrays: dict[str, np.ndarray], options: dict[str, str], recipe: Recipe
) -> Dataset:
    import pandas as pd

    if "target" in options:
        raise DatasetError(f"{path}: the option target does not apply to npz (the targets are y_*)")
    frames, given = [], []
    width = None
    for split in _SPLITS:
        if f"x_{split}" not in arrays:
            continue
        x, y = arrays[f"x_{split}"], np.asarray(arrays[f"y_{split}"])
        if x.dtype.kind not in "biuf":
            raise DatasetError(f"{path}: x_{split} must hold numbers, got dtype {x.dtype}")
        if len(x) == 0 or x.shape[1] == 0:
            raise DatasetError(f"{path}: x_{split} is empty: shape {x.shape}")
        if width is not None and x.shape[1] != width:
            raise DatasetError(f"{path}: x_{split} has {x.shape[1]} features but x_train has {width}")
        width = x.shape[1]
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or len(y) != len(x):
            raise DatasetError(f"{path}: y_{split} must be a vector of {len(x)} targets, got shape {y.shape}")
        frame = pd.DataFrame(x.astype(np.float64), columns=[f"x{i}" for i in range(width)])
        frame["y"] = y
        frames.append(frame)
        given.append(np.full(len(x), split))
    df = pd.concat(frames, ignore_index=True)
    info = {"source": str(path), "sha256_file": _file_hash(path)}
    name = dataset_spec(f"npz:{path}", **options)
    return _tabular(name, str(path), df, "y", np.concatenate(given), options, None, recipe, info)


def _names(columns: Any, limit: int = 20) -> str:
    names = [str(c) for c in columns]
    more = f", ... ({len(names)} in all)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _check_target_column(df: pd.DataFrame, target: str, where: Any) -> None:
    if target not in df.columns:
        raise DatasetError(f"{where}: no target column {target!r}; columns: {_names(df.columns)}")
    if df.shape[1] < 2:
        raise DatasetError(f"{where}: no feature columns besides the target {target!r}")


def _tabular(
    name: str,
    where: str,
    df: pd.DataFrame,
    target: str,
    given: np.ndarray | None,
    options: dict[str, str],
    default_task: str | None,
    recipe: Recipe,
    info: dict[str, Any],
) -> Dataset:
    """Validate, split and preprocess one table of features and a target.

    Args:
        df: every row, features and ``target`` (and no split column).
        given: the split of each row (``train``/``valid``/``test``), or None to split by seed.
        default_task: the data's own task (bundled sets), else inferred from the target.
    """
    import pandas as pd

    missing = df.isna().sum()
    missing = missing[missing > 0]
    if len(missing):
        cols = ", ".join(f"{c!r} ({int(n)})" for c, n in missing.items())
        raise DatasetError(
            f"{where}: missing values (NaN or empty cells) in column(s) {cols}; fill or drop them"
        )
    y_raw = df[target]
    task = options.get("task") or default_task or infer_task(y_raw)
    if y_raw.nunique() < 2:
        first = y_raw.iloc[0]
        first = first.item() if isinstance(first, np.generic) else first  # 1.5, not np.float64(1.5)
        raise DatasetError(f"{where}: target {target!r} is constant ({first!r}); nothing to learn")
    numeric = pd.api.types.is_numeric_dtype(y_raw) and not pd.api.types.is_bool_dtype(y_raw)
    classes: np.ndarray | None = None
    if task == "regression":
        if not numeric:
            raise DatasetError(
                f"{where}: target {target!r} is not numeric (dtype {y_raw.dtype}, e.g. {y_raw.iloc[0]!r}); "
                "regression needs numbers (or use task=classification)"
            )
        y_all = y_raw.to_numpy(np.float64)
        if not np.all(np.isfinite(y_all)):
            raise DatasetError(f"{where}: target {target!r} holds infinite values")
    else:
        values = _class_values(y_raw, numeric, target, where)
        classes = np.unique(values)
        if len(classes) > _MAX_TABULAR_CLASSES:
            raise DatasetError(
                f"{where}: target {target!r} has {len(classes)} classes, more than {_MAX_TABULAR_CLASSES}; "
                "is it a regression target? (task=regression)"
            )
        y_all = np.searchsorted(classes, values)
    idx, split_info = _split_rows(len(df), given, recipe, where)
    train = idx["train"]

    features = [c for c in df.columns if c != target]
    is_num = {
        c: pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in features
    }
    num_cols = [c for c in features if is_num[c]]
    cat_cols = [c for c in features if not is_num[c]]
    blocks = []
    if num_cols:
        num = df[num_cols].to_numpy(np.float64)
        bad = ~np.isfinite(num).all(axis=0)
        if bad.any():
            raise DatasetError(f"{where}: column(s) {_names(np.array(num_cols)[bad])} hold infinite values")
        mean = num[train].mean(axis=0)
        std = num[train].std(axis=0)
        # Exactly constant columns only: a tiny but real spread is still standardised.
        std = np.where(np.ptp(num[train], axis=0) > 0, std, 1.0)
        blocks.append((num - mean) / std)
    categories: dict[str, list[str]] = {}
    if cat_cols:
        from sklearn.preprocessing import OneHotEncoder

        cat = df[cat_cols].astype(str)
        enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
        enc.fit(cat.iloc[train])
        categories = {str(c): [str(v) for v in cs] for c, cs in zip(cat_cols, enc.categories_, strict=True)}
        unseen = sum(int((~cat[c].isin(categories[str(c)])).sum()) for c in cat_cols)
        if unseen:
            logger.info("%s: %d categorical value(s) unseen in training encode as zeros", where, unseen)
        blocks.append(_one_hot(enc, cat))
    x_all = np.concatenate(blocks, axis=1).astype(np.float32)

    target_info: dict[str, Any]
    if task == "regression":
        t_mean, t_std = float(y_all[train].mean()), float(y_all[train].std())
        if not t_std > 0:
            raise DatasetError(
                f"{where}: target {target!r} is constant on the training split; nothing to learn"
            )
        y_all = ((y_all - t_mean) / t_std).astype(np.float32)
        target_info = {"target_mean": t_mean, "target_std": t_std}
        n_classes = 0
    else:
        assert classes is not None  # set above for classification
        absent = sorted(set(range(len(classes))) - set(np.unique(y_all[train]).tolist()))
        if absent:
            names = [str(classes[i]) for i in absent[:5]]
            raise DatasetError(
                f"{where}: class(es) {names} of target {target!r} do not appear in the training split; "
                "every class needs training rows"
            )
        y_all = y_all.astype(np.int32)
        target_info = {"classes": [str(c) for c in classes]}
        n_classes = len(classes)

    info = {
        **info,
        "target": str(target),
        "split": split_info,
        "columns": [str(c) for c in features],
        "categories": categories,
        **target_info,
    }
    out: dict[str, np.ndarray] = {}
    h = hashlib.sha256()
    for split in _SPLITS:
        x, y = np.ascontiguousarray(x_all[idx[split]]), np.ascontiguousarray(y_all[idx[split]])
        x.setflags(write=False)
        y.setflags(write=False)
        out[f"x_{split}"], out[f"y_{split}"] = x, y
        h.update(x.tobytes())
        h.update(y.tobytes())
    return Dataset(
        name=name, n_classes=n_classes, fingerprint="sha256:" + h.hexdigest(), info=info, task=task, **out
    )


def _one_hot(enc: Any, cat: pd.DataFrame) -> np.ndarray:
    import warnings

    # Categories unseen in training encode as zeros (handle_unknown="ignore"); sklearn warns
    # about each, which is expected here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Found unknown categories", category=UserWarning)
        return enc.transform(cat)


def infer_task(y: pd.Series) -> str:
    """The task a target implies: non-numeric, bool, or integer-valued with at most 20
    distinct values -> ``classification``; any other numeric target -> ``regression``."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    v = y.to_numpy(np.float64)
    finite = v[np.isfinite(v)]
    if np.all(finite == np.round(finite)) and len(np.unique(finite)) <= _INFER_MAX_CLASSES:
        return "classification"
    return "regression"


def _class_values(y: pd.Series, numeric: bool, target: str, where: str) -> np.ndarray:
    """Class labels as one sortable numpy dtype (ints, bools or strings)."""
    if numeric and y.dtype.kind == "f":
        v = y.to_numpy(np.float64)
        bad = ~np.isfinite(v) | (v != np.round(v))
        if bad.any():
            raise DatasetError(
                f"{where}: target {target!r} holds non-integer values (e.g. {float(v[bad][0])!r}); "
                "classification needs class labels (or use task=regression)"
            )
        return v.astype(np.int64)
    if numeric or y.dtype.kind == "b":
        return y.to_numpy()
    return y.astype(str).to_numpy().astype(str)


def _split_rows(
    n: int, given: np.ndarray | None, recipe: Recipe, where: str
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Row indices of each split, and how they were chosen (for ``info``)."""
    rng = np.random.default_rng(recipe.split_seed)
    if given is None:
        n_train = recipe.n_train or round(0.6 * n)
        n_valid = recipe.n_valid or round(0.2 * n)
        n_test = recipe.n_test or n - n_train - n_valid
        if min(n_train, n_valid, n_test) < 1 or n_train + n_valid + n_test > n:
            raise DatasetError(f"{where} has {n} rows; the split asks for {n_train}+{n_valid}+{n_test}")
        order = rng.permutation(n)
        a, b = n_train, n_train + n_valid
        idx = {"train": order[:a], "valid": order[a:b], "test": order[b : b + n_test]}
        how = "shuffled with split_seed"
    else:
        idx = {s: np.flatnonzero(given == s) for s in _SPLITS}
        lacking = [s for s in ("train", "test") if len(idx[s]) == 0]
        if lacking:
            raise DatasetError(f"{where}: the given splits have no {' or '.join(lacking)} rows")
        how = "given"
        if len(idx["valid"]) == 0:
            train = idx["train"]
            n_valid = recipe.n_valid or max(1, len(train) // 10)
            if n_valid >= len(train):
                raise DatasetError(
                    f"{where}: cannot hold out {n_valid} validation rows from {len(train)} training rows"
                )
            order = rng.permutation(len(train))
            idx["valid"], idx["train"] = train[order[:n_valid]], train[order[n_valid:]]
            how = "given train/test, valid held out from train with split_seed"
        for s in _SPLITS:
            want = getattr(recipe, f"n_{s}")
            if want is not None:
                if want > len(idx[s]):
                    raise DatasetError(
                        f"{where}: the recipe asks for {want} {s} rows but there are {len(idx[s])}"
                    )
                idx[s] = idx[s][:want]
    sizes = {f"n_{s}": int(len(idx[s])) for s in _SPLITS}
    return idx, {"how": how, "seed": int(recipe.split_seed), **sizes}


_LOADERS = {"npz": _npz, "csv": _csv, "sklearn": _sklearn}
