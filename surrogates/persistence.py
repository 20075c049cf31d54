"""Saving and loading fitted surrogates safely (skops, never pickle).

A model file is a skops archive of one dict: ``format``, ``format_version``, ``meta``
(the table's content hash, the space's name, config and fingerprint, epochs, metric,
versions, and ``target``: the scale the model learnt on and how it treated diverged
runs, :mod:`surrogates.targets`) and ``model``. Loading first lists the file's types without constructing
anything; a type outside :data:`TRUSTED_TYPES` refuses the file, so a tampered or
foreign file is never executed. Only then is it loaded, with exactly those types trusted.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import zipfile
from importlib import metadata as _md
from pathlib import Path
from typing import Any

from nasbench.core.io import atomic_write_bytes, jsonable
from surrogates.errors import ModelFileError, SpaceMismatchError

FORMAT = "nasbench-surrogate"
FORMAT_VERSION = 1

#: Types a model file may hold beyond skops' built-in trusted set (numpy arrays,
#: scikit-learn estimators and builtins) and the registered search spaces
#: (:func:`trusted_types`). Listed explicitly: nothing else is loaded.
#: (Found by dumping every registered surrogate fitted on an nb201 and a catalog space.)
TRUSTED_TYPES: tuple[str, ...] = (
    # this package
    "surrogates.models.ArchSurrogate",
    "surrogates.models.StackedEnsemble",
    "surrogates.combined.CurveSurrogate",
    "surrogates.extrapolation.ParametricCurveSurrogate",
    "surrogates.encoders.ArchEncoder",
    "surrogates.encoders.CurveFeatures",
    "surrogates.targets.TargetTransform",
    # scikit-learn internals skops does not trust by default
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.gaussian_process.kernels.ConstantKernel",
    "sklearn.gaussian_process.kernels.Matern",
    "sklearn.gaussian_process.kernels.Product",
    "sklearn.gaussian_process.kernels.Sum",
    "sklearn.gaussian_process.kernels.WhiteKernel",
)


def trusted_types() -> tuple[str, ...]:
    """:data:`TRUSTED_TYPES` plus every registered search space class (plain attribute
    holders rebuilt from their ``__dict__``; a space is trusted by being registered)."""
    from nasbench.spaces import space_type_names

    return TRUSTED_TYPES + space_type_names()


def space_fingerprint(space: Any) -> str:
    """sha256 of what identifies a space: name, config, size and (catalogs) the ids."""
    h = hashlib.sha256()
    h.update(
        json.dumps([getattr(space, "name", ""), space.config(), int(space.size)], sort_keys=True).encode()
    )
    ids = getattr(space, "ids", None)
    if ids is not None:
        h.update("\n".join(ids).encode())
    return "sha256:" + h.hexdigest()


def table_meta(table: Any, *, metric: str | None = None) -> dict[str, Any]:
    """What a model records about the table it was fitted on.

    ``metric`` (default: the table's objective) is the target; ``direction`` says how it
    was signed: a model fitted on a table that minimises predicts minus the metric.
    """
    objective = table.objective
    return {
        "table_hash": table.content_hash(),
        "dataset": table.metadata.get("dataset"),
        "space": {
            "name": table.space.name,
            "config": table.space.config(),
            "size": int(table.space.size),
            "fingerprint": space_fingerprint(table.space),
        },
        "epochs": [int(e) for e in table.epochs],
        "metric": metric or objective.metric,
        "direction": objective.direction if metric in (None, objective.metric) else "max",
        "target_epoch": int(table.epochs[-1]),
        "n_archs": int(table.n_archs),
    }


def _versions() -> dict[str, str]:
    out = {}
    for name in ("nasbench-explorer", "scikit-learn", "skops", "numpy", "scipy"):
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            continue
    return out


def save_model(model: Any, path: str | os.PathLike[str], *, table_meta: dict[str, Any]) -> dict[str, Any]:
    """Write a fitted surrogate to ``path`` (skops archive, atomically).

    Args:
        model: a fitted surrogate of this package.
        path: output file (conventionally ``.skops``).
        table_meta: from :func:`table_meta` of the training table (must name its space).

    Returns:
        The metadata written.

    Raises:
        ModelFileError: not a surrogate of this package, unfitted, or bad metadata.
    """
    import skops.io as sio

    from surrogates.models import SurrogateBase

    if not isinstance(model, SurrogateBase):
        raise ModelFileError(f"only surrogates of this package can be saved, not {type(model).__name__}")
    if not any(k.endswith("_") and not k.startswith("_") for k in vars(model)):
        raise ModelFileError("the model is not fitted; fit it before saving")
    if "space" not in table_meta or "table_hash" not in table_meta:
        raise ModelFileError(
            "table_meta must record the table hash and space (use surrogates.table_meta(table))"
        )
    model_space = getattr(model, "space", None)
    if model_space is not None and space_fingerprint(model_space) != table_meta["space"].get("fingerprint"):
        raise SpaceMismatchError("the model's space is not the space of the table in table_meta")
    meta = dict(table_meta)
    meta.update(
        model_class=type(model).__name__,
        params={
            k: jsonable(v, finite=False) for k, v in model.get_params(deep=False).items() if k != "space"
        },
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        versions=_versions(),
    )
    meta["target"] = target_record(model, meta.get("direction", "max"))
    envelope = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "meta": json.dumps(meta, sort_keys=True),
        "model": model,
    }
    atomic_write_bytes(path, sio.dumps(envelope, compression=zipfile.ZIP_DEFLATED))
    return meta


def target_record(model: Any, direction: str = "max") -> dict[str, Any]:
    """What a model file says about its target scale and diverged runs.

    The diverged-run threshold is given in score units and, as ``threshold_metric``, in
    the metric's own units (a loss: minus the score).
    """
    tt = getattr(model, "target_transform_", None)
    if tt is None:
        return {"transform": "identity", "reason": "model without a target transform", "diverged": None}
    info = json.loads(json.dumps(tt.info, default=float))
    div = info.get("diverged") or {}
    if "threshold_score" in div:
        div["threshold_metric"] = -div["threshold_score"] if direction == "min" else div["threshold_score"]
        div["treatment"] = {
            "cap": "capped at the threshold before the fit (kept as very bad runs)",
            "drop": "left out of the fit",
            "keep": "fitted as they are (flagged only)",
        }[div["policy"]]
    return info


def load_model(
    path: str | os.PathLike[str], *, space: Any = None, table: Any = None, return_meta: bool = False
) -> Any:
    """Load a surrogate saved by :func:`save_model`, refusing anything else.

    Args:
        path: the model file.
        space: if given, the space it will predict for (checked against the model's).
        table: if given, a table whose space is checked likewise.
        return_meta: also return the recorded metadata.

    Returns:
        The fitted surrogate, or ``(model, meta)``.

    Raises:
        ModelFileError: missing, not a skops archive, corrupt, holding types outside
            the allow-list, or not a nasbench surrogate envelope.
        SpaceMismatchError: ``space``/``table`` differ from the model's space.
    """
    import skops.io as sio

    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"model file not found: {p}")
    data = p.read_bytes()
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ModelFileError(
            f"{p} is not a nasbench surrogate file (not a skops archive); refusing to load it"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            bad = zf.testzip()
        if bad is not None:
            raise ModelFileError(f"{p} is corrupt (member {bad} fails its checksum); refusing to load it")
        untrusted = sio.get_untrusted_types(data=data)
    except ModelFileError:
        raise
    except Exception as exc:  # skops and zipfile raise many types for malformed archives
        raise ModelFileError(
            f"{p} is not a readable skops archive ({type(exc).__name__}); refusing to load it"
        ) from None
    allowed = trusted_types()
    foreign = [t for t in untrusted if t not in allowed]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ModelFileError(f"refusing {p}: it holds types outside the allow-list ({shown})")
    try:
        obj = sio.loads(data, trusted=list(untrusted))
    except Exception as exc:
        raise ModelFileError(
            f"{p} could not be loaded as a surrogate ({type(exc).__name__}: {exc})".splitlines()[0]
        ) from None
    from surrogates.models import SurrogateBase

    if not (
        isinstance(obj, dict) and obj.get("format") == FORMAT and isinstance(obj.get("model"), SurrogateBase)
    ):
        raise ModelFileError(f"{p} is a skops file but not a nasbench surrogate; refusing it")
    if not isinstance(obj.get("format_version"), int) or obj["format_version"] > FORMAT_VERSION:
        raise ModelFileError(
            f"{p} has model format version {obj.get('format_version')!r}; this build reads <= {FORMAT_VERSION}"
        )
    try:
        meta = json.loads(obj["meta"])
    except (TypeError, ValueError):
        raise ModelFileError(f"{p} has unreadable metadata; refusing it") from None
    model = obj["model"]
    model_space = getattr(model, "space", None)
    if model_space is not None and space_fingerprint(model_space) != meta.get("space", {}).get("fingerprint"):
        raise ModelFileError(f"{p} is inconsistent: its model's space does not match its recorded space")
    for other in (space, getattr(table, "space", None)):
        if other is not None:
            check_space(meta, other)
    return (model, meta) if return_meta else model


def check_space(meta_or_model: Any, space: Any) -> None:
    """Raise unless ``space`` is the space a model (or its saved metadata) was fitted on.

    Raises:
        SpaceMismatchError: the spaces differ.
    """
    if isinstance(meta_or_model, dict):
        rec = meta_or_model.get("space", {})
        want, name = rec.get("fingerprint"), rec.get("name")
    else:
        ms = getattr(meta_or_model, "space", None)
        if ms is None:
            return
        want, name = space_fingerprint(ms), ms.name
    if space_fingerprint(space) != want:
        raise SpaceMismatchError(
            f"the model was fitted on space {name!r} ({want}); it cannot predict for space "
            f"{getattr(space, 'name', '?')!r} ({space_fingerprint(space)})"
        )
