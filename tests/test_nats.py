"""NATS-Bench "simple" archives: the restricted unpickler, the import on the real sample
files in ../shared/data/nats, agreement with nb201.csv, cost conventions, resume, and bad
input (one line, exit 2)."""

from __future__ import annotations

import bz2
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import NB201_CSV, SHARED_DATA, assert_one_line_error, run_cli

from nasbench.core.errors import ConfigError, ImportDataError
from nasbench.tables.nats import (
    UnsafePickleError,
    import_nats,
    read_archive_file,
    sss_declaration,
)
from nasbench.tables.table import ResultTable

TSS = SHARED_DATA / "nats" / "NATS-tss-v1_0-3ffb9-simple"
SSS = SHARED_DATA / "nats" / "NATS-sss-v1_0-50262-simple"

pytestmark = pytest.mark.skipif(not TSS.is_dir() or not SSS.is_dir(), reason="shared NATS samples not found")


@pytest.fixture(scope="module")
def nb201_frame() -> pd.DataFrame:
    if not NB201_CSV.is_file():
        pytest.skip("shared nb201.csv not found")
    return pd.read_csv(NB201_CSV).set_index("arch_index")


def _copy_archive(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for p in src.iterdir():
        shutil.copyfile(p, dst / p.name)
    return dst


# ---- the unpickler ---------------------------------------------------------------------------
class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def test_unpickler_reads_the_samples_and_refuses_any_other_class(tmp_path: Path) -> None:
    data = read_archive_file(TSS / "000011.pickle.pbz2")
    assert set(data) == {"12", "200"}
    marker = tmp_path / "pwned"
    evil = tmp_path / "000000.pickle.pbz2"
    evil.write_bytes(bz2.compress(pickle.dumps({"200": _Evil(marker)})))
    with pytest.raises(UnsafePickleError, match=r"refused to unpickle (posix|os|nt)\.system"):
        read_archive_file(evil)
    assert not marker.exists()  # nothing ran
    # a class that is harmless but not on the list is refused too
    other = tmp_path / "other.pbz2"
    other.write_bytes(bz2.compress(pickle.dumps({"x": pd.Timestamp(0)})))
    with pytest.raises(UnsafePickleError, match="refused to unpickle pandas"):
        read_archive_file(other)


# ---- the topology archive -------------------------------------------------------------------
def test_tss_cells_agree_with_nb201_csv(nb201_frame: pd.DataFrame) -> None:
    t = import_nats(TSS, dataset="cifar10-valid", epochs=200)
    assert t.space.name == "nb201" and t.shape == (3, 3, 200, 7)
    assert t.seeds.tolist() == [777, 888, 999] and t.epochs.tolist() == list(range(1, 201))
    nats = t.arch_columns["nats_index"].astype(int)
    assert sorted(nats.tolist()) == [0, 11, 284]
    # the archive's arch strings are the csv's, mapped to the same space index
    assert t.arch_strings() == nb201_frame.loc[nats, "arch_str"].tolist()
    v = t.metric_position("valid_acc")
    mean200 = np.nanmean(t.values[:, :, -1, v], axis=1)
    np.testing.assert_allclose(mean200, nb201_frame.loc[nats, "e200_c10valid_validacc_mean"], atol=1e-3)
    row11 = int(np.flatnonzero(nats == 11)[0])
    assert round(float(mean200[row11]), 2) == 87.94
    per_seed = [
        [float(x) for x in s.split(";")] for s in nb201_frame.loc[nats, "e200_c10valid_validacc_seeds"]
    ]
    np.testing.assert_allclose(np.sort(t.values[:, :, -1, v], axis=1), np.sort(per_seed, axis=1), atol=1e-3)
    tm = t.metric_position("time_s")
    np.testing.assert_allclose(
        t.values[:, 0, -1, tm], nb201_frame.loc[nats, "e200_c10valid_train_time_s"], rtol=1e-5
    )
    np.testing.assert_allclose(
        t.arch_columns["params_m"], nb201_frame.loc[nats, "e200_c10valid_params_mb"], atol=1e-6
    )
    # full curves: every epoch has train and valid values, time grows
    assert np.isfinite(t.values[..., [0, 1, 2, 3, 6]]).all()
    assert (np.diff(t.values[..., tm], axis=2) > 0).all()
    # the archive keeps ori-test at the last epoch only for cifar10-valid at 200 epochs
    test = t.values[..., t.metric_position("test_acc")]
    assert np.isfinite(test[:, :, -1]).all() and np.isnan(test[:, :, :-1]).all()


@pytest.mark.parametrize(
    ("dataset", "split", "metric", "column"),
    [
        ("cifar10-valid", "ori-test", "valid_acc", "hp12_cifar10_val"),
        ("cifar10", "ori-test", "test_acc", "hp12_cifar10_test"),
        ("cifar100", "ori-test", "valid_acc", "hp12_cifar100_val"),
        ("cifar100", "x-test", "test_acc", "hp12_cifar100_test"),
        ("ImageNet16-120", "x-test", "test_acc", "hp12_imagenet_test"),
    ],
)
def test_tss_12_epochs_agree_with_nb201_csv(
    nb201_frame: pd.DataFrame, dataset: str, split: str, metric: str, column: str
) -> None:
    t = import_nats(TSS, dataset=dataset, epochs=12, test_split=split)
    assert t.epochs.tolist() == list(range(1, 13))
    nats = t.arch_columns["nats_index"].astype(int)
    got = np.nanmean(t.values[:, :, -1, t.metric_position(metric)], axis=1)
    np.testing.assert_allclose(got, nb201_frame.loc[nats, column], atol=1e-3)


def test_cifar100_ori_test_is_the_mean_of_the_halves_and_matches_valtest(nb201_frame: pd.DataFrame) -> None:
    ori = import_nats(TSS, dataset="cifar100", epochs=12)
    xt = import_nats(TSS, dataset="cifar100", epochs=12, test_split="x-test")
    va, te = ori.metric_position("valid_acc"), ori.metric_position("test_acc")
    np.testing.assert_allclose(ori.values[..., te], (ori.values[..., va] + xt.values[..., te]) / 2, atol=1e-3)
    t200 = import_nats(TSS, dataset="cifar100")
    nats = t200.arch_columns["nats_index"].astype(int)
    mean = np.nanmean(t200.values[:, :, -1, te], axis=1)
    np.testing.assert_allclose(mean, nb201_frame.loc[nats, "e200_c100_valtestacc_mean"], atol=1e-3)
    assert np.isfinite(t200.values[..., te]).all()  # ori-test is kept at every epoch


def test_cifar10_has_no_validation_metric() -> None:
    t = import_nats(TSS, dataset="cifar10")
    assert "valid_acc" not in t.metrics and "valid_loss" not in t.metrics
    assert "test_acc" in t.metrics


# ---- cost conventions -----------------------------------------------------------------------
def test_params_match_and_flops_are_multiply_adds() -> None:
    """NATS params equal nasbench's count; NATS 'flop' counts each multiply-add once (and
    the classifier's bias adds): nasbench's FLOPs (2 x multiply-adds) / 2 + classes."""
    from nasbench.train.model import arch_cost
    from nasbench.train.recipe import resolve_recipe

    recipe = resolve_recipe("nb201")
    for dataset, shape, classes in (
        ("cifar10", (32, 32, 3), 10),
        ("cifar100", (32, 32, 3), 100),
        ("ImageNet16-120", (16, 16, 3), 120),
    ):
        t = import_nats(TSS, dataset=dataset, epochs=12)
        for row, i in enumerate(t.arch_index):
            cost = arch_cost(recipe, t.space.arch(int(i)).ops, shape, classes)
            assert cost["params"] == round(t.arch_columns["params_m"][row] * 1e6)
            macs = t.arch_columns["flops_mac_m"][row] * 1e6
            assert abs(cost["flops"] / 2 + classes - macs) <= 10  # the file keeps 5 decimals of millions
            assert abs(cost["flops"] - macs) > 0.4 * cost["flops"]  # not the same convention


# ---- the size archive -----------------------------------------------------------------------
def test_sss_is_a_declared_space_whose_index_is_nats_index(tmp_path: Path) -> None:
    t = import_nats(SSS, dataset="cifar100", epochs=90)
    assert t.space.name == "declared" and t.space.size == 32768
    np.testing.assert_array_equal(t.arch_index, t.arch_columns["nats_index"].astype(int))
    assert t.arch_strings()[2] == "channels_1=8,channels_2=8,channels_3=40,channels_4=32,channels_5=40"
    assert t.shape == (3, 1, 90, 7)
    schedules = {e: import_nats(SSS, dataset="cifar100", epochs=e).epochs[-1] for e in (1, 12)}
    assert schedules == {1: 1, 12: 12}
    t.save(tmp_path / "sss.parquet")
    back = ResultTable.load(tmp_path / "sss.parquet")
    # the declaration travels with the table
    assert back.space.config()["declaration"] == {**sss_declaration(), "conditions": [], "forbidden": []}
    assert back.content_hash() == t.content_hash()


# ---- resume ---------------------------------------------------------------------------------
def test_an_interrupted_import_resumes(tmp_path: Path) -> None:
    parts = tmp_path / "out.parquet.parts"
    calls: list[tuple[float, str]] = []

    def stop_after_first(done: float, total: float | None, info: str) -> None:
        calls.append((done, info))
        if done >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_nats(TSS, parts=parts, chunk=1, progress=stop_after_first)
    assert sorted(p.name for p in parts.iterdir()) == ["manifest.json", "part-00000.npz"]
    with pytest.raises(ConfigError, match="--resume"):
        import_nats(TSS, parts=parts, chunk=1)
    with pytest.raises(ConfigError, match="different settings"):
        import_nats(TSS, parts=parts, chunk=1, dataset="cifar100", resume=True)
    seen: list[tuple[float, str]] = []
    resumed = import_nats(
        TSS, parts=parts, chunk=1, resume=True, progress=lambda d, t, i: seen.append((d, i))
    )
    assert seen[0][0] == 1 and "resumed" in seen[0][1]
    fresh = import_nats(TSS)
    assert resumed.content_hash() == fresh.content_hash()


def test_cli_import_writes_the_table_and_removes_its_parts(tmp_path: Path) -> None:
    out = tmp_path / "tss.parquet"
    proc = run_cli("import", "nats", str(TSS), "--dataset", "cifar10-valid", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    assert ResultTable.load(out).shape == (3, 3, 200, 7)
    assert not (tmp_path / "tss.parquet.parts").exists()


# ---- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda p: p.write_bytes(b"not bz2 at all"), "not a readable NATS archive file"),
        (lambda p: p.write_bytes(p.read_bytes()[:4000]), "not a readable NATS archive file"),
        (
            lambda p: p.write_bytes(bz2.compress(pickle.dumps([1, 2, 3]))),
            "expected a dict keyed by training schedule",
        ),
        (lambda p: p.write_bytes(bz2.compress(pickle.dumps({"200": {"x": 1}}))), "not a NATS cell file"),
    ],
    ids=["not-bz2", "truncated", "wrong-structure", "missing-keys"],
)
def test_malformed_archive_file_is_one_line_exit_2(tmp_path: Path, damage, fragment: str) -> None:  # type: ignore[no-untyped-def]
    archive = _copy_archive(TSS, tmp_path / "NATS-tss-v1_0-3ffb9-simple")
    damage(archive / "000011.pickle.pbz2")
    proc = run_cli("import", "nats", str(archive), "--quiet", "--out", str(tmp_path / "t.parquet"))
    assert_one_line_error(proc, fragment)
    assert "000011.pickle.pbz2" in proc.stderr


def test_pickle_asking_for_another_class_is_one_line_exit_2(tmp_path: Path) -> None:
    archive = _copy_archive(TSS, tmp_path / "arch")
    marker = tmp_path / "pwned"
    (archive / "000000.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps({"200": _Evil(marker)})))
    proc = run_cli("import", "nats", str(archive), "--quiet", "--out", str(tmp_path / "t.parquet"))
    assert_one_line_error(proc, "refused to unpickle")
    assert not marker.exists()


def test_bad_options_are_one_line_exit_2(tmp_path: Path) -> None:
    out = str(tmp_path / "t.parquet")
    assert_one_line_error(
        run_cli("import", "nats", str(TSS), "--quiet", "--epochs", "90", "--out", out), "200"
    )
    assert_one_line_error(
        run_cli("import", "nats", str(TSS), "--quiet", "--test-split", "x-test", "--out", out),
        "no x-test split",
    )
    assert_one_line_error(
        run_cli("import", "nats", str(TSS), "--quiet", "--dataset", "mnist", "--out", out),
        "unknown NATS dataset",
    )
    assert_one_line_error(
        run_cli("import", "nats", str(tmp_path), "--quiet", "--out", out), "meta.pickle.pbz2"
    )
    with pytest.raises(ImportDataError):
        import_nats(tmp_path / "missing")
