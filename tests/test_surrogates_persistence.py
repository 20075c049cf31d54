"""Saving and loading models: round trips, recorded provenance, refusal of foreign files."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import light, synthetic_catalog_table, synthetic_nb201_table, xy

import surrogates as S


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Path]:
    table = synthetic_nb201_table(n_archs=80)
    X, y = xy(table)
    model = light("combined", table).fit(X[:60], y[:60])
    path = tmp_path_factory.mktemp("models") / "combined.skops"
    S.save_model(model, path, table_meta=S.table_meta(table))
    return table, model, path


@pytest.mark.parametrize("name", ["rf", "gp", "lc_param", "lc_svr"])
def test_round_trip_predicts_identically(name: str, tmp_path: Path) -> None:
    table = synthetic_catalog_table(n=60) if name == "lc_param" else synthetic_nb201_table(n_archs=60)
    X, y = xy(table, k=None)
    Xp = xy(table, k=2)[0]
    model = light(name, table).fit(X[:40], y[:40])
    S.save_model(model, tmp_path / "m.skops", table_meta=S.table_meta(table))
    back = S.load_model(tmp_path / "m.skops")
    for a, b in zip(
        model.predict(Xp[40:], return_std=True), back.predict(Xp[40:], return_std=True), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_model_records_table_and_space(fitted: tuple[Any, Any, Path]) -> None:
    table, model, path = fitted
    back, meta = S.load_model(path, return_meta=True, table=table)
    assert meta["table_hash"] == table.content_hash()
    assert meta["space"]["name"] == "nb201" and meta["epochs"] == [1, 2, 3, 4]
    assert meta["model_class"] == "CurveSurrogate"
    X = xy(table, k=2)[0]
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    assert zipfile.ZipFile(path).namelist() != []  # a skops archive, not a pickle
    with pytest.raises((pickle.UnpicklingError, ValueError, EOFError)):
        pickle.loads(path.read_bytes())


def test_predicting_for_another_space_is_refused(fitted: tuple[Any, Any, Path]) -> None:
    _, model, path = fitted
    other = synthetic_catalog_table(n=30)
    with pytest.raises(
        S.SpaceMismatchError, match="fitted on space 'nb201'.*cannot predict for space 'catalog'"
    ):
        S.load_model(path, table=other)
    with pytest.raises(S.SpaceMismatchError):
        S.check_space(model, other.space)
    with pytest.raises(S.SpaceMismatchError, match="not the space of the table"):
        S.save_model(model, path.with_name("x.skops"), table_meta=S.table_meta(other))


def _rewrite(path: Path, out: Path, edit) -> None:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["schema.json"] = edit(members["schema.json"])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    out.write_bytes(buf.getvalue())


def test_tampered_file_with_a_foreign_type_is_refused_not_executed(
    fitted: tuple[Any, Any, Path], tmp_path: Path
) -> None:
    _, _, path = fitted

    def inject(raw: bytes) -> bytes:
        schema = json.loads(raw)
        stack = [schema]
        while stack:  # retarget the first class node to os.system
            node = stack.pop()
            if isinstance(node, dict):
                if node.get("__class__") == "ArchEncoder":
                    node["__module__"], node["__class__"] = "os", "system"
                    break
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
        return json.dumps(schema).encode()

    bad = tmp_path / "tampered.skops"
    _rewrite(path, bad, inject)
    with pytest.raises(S.ModelFileError, match=r"outside the allow-list \(os.system\)"):
        S.load_model(bad)


def test_corrupt_foreign_and_missing_files_are_refused(fitted: tuple[Any, Any, Path], tmp_path: Path) -> None:
    _, _, path = fitted
    pkl = tmp_path / "model.pkl"
    pkl.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(S.ModelFileError, match="not a skops archive"):
        S.load_model(pkl)
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(64)
    broken = tmp_path / "broken.skops"
    broken.write_bytes(bytes(data))
    with pytest.raises(S.ModelFileError, match="refusing|corrupt"):
        S.load_model(broken)
    import skops.io as sio
    from sklearn.linear_model import Ridge

    plain = tmp_path / "plain.skops"
    sio.dump(Ridge().fit(np.ones((3, 1)), [1, 2, 3]), plain)
    with pytest.raises(S.ModelFileError, match="not a nasbench surrogate"):
        S.load_model(plain)
    with pytest.raises(S.ModelFileError, match="not found"):
        S.load_model(tmp_path / "absent.skops")


def test_unfitted_or_foreign_models_are_not_saved(tmp_path: Path) -> None:
    table = synthetic_nb201_table(n_archs=30)
    with pytest.raises(S.ModelFileError, match="not fitted"):
        S.save_model(
            S.make_surrogate("rf", table.space), tmp_path / "m.skops", table_meta=S.table_meta(table)
        )
    from sklearn.linear_model import Ridge

    with pytest.raises(S.ModelFileError, match="only surrogates of this package"):
        S.save_model(Ridge(), tmp_path / "m.skops", table_meta=S.table_meta(table))
