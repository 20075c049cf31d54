from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from nasbench.core.errors import ImportDataError, TableFormatError
from nasbench.tables.benchmark import Benchmark
from nasbench.tables.importers import import_curves, import_nb201
from nasbench.tables.table import ResultTable


def test_nb201_import_real_file(nb201_table, nb201_csv, tmp_path):
    t = nb201_table
    assert t.space.name == "nb201" and t.n_archs == 15625
    assert t.epochs.tolist() == [12, 200]
    src = pd.read_csv(nb201_csv)
    b = Benchmark(t)
    row = src.iloc[1]
    arch = row["arch_str"]
    seeds = [float(x) for x in row["e200_c10valid_validacc_seeds"].split(";")]
    for k, v in enumerate(seeds):
        assert b.query(arch, "valid_acc", 200, seed=k) == pytest.approx(v, abs=1e-3)
    assert b.query(arch, "valid_acc", 12, seed=0) == pytest.approx(row["hp12_cifar10_val"], abs=1e-3)
    assert b.cost(arch, 200, seed=0) == pytest.approx(row["e200_c10valid_train_time_s"], rel=1e-5)
    assert b.cost(arch, 12, seed=0) == pytest.approx(row["e200_c10valid_train_time_s"] * 12 / 200, rel=1e-5)
    # reference figures from shared/data/README.md
    v12, v200 = b.values_at("valid_acc", 12), b.values_at("valid_acc", 200)
    assert spearmanr(v12, v200)[0] == pytest.approx(0.82, abs=0.02)
    s0 = b.query_many(t.arch_index, "valid_acc", 200, seed=0)
    s1 = b.query_many(t.arch_index, "valid_acc", 200, seed=1)
    assert spearmanr(s0, s1)[0] == pytest.approx(0.99, abs=0.01)
    t.save(tmp_path / "nb.parquet")
    assert ResultTable.load(tmp_path / "nb.parquet").content_hash() == t.content_hash()


@pytest.mark.parametrize("dataset", ["cifar100", "imagenet16"])
def test_nb201_other_datasets(nb201_csv, dataset):
    t = import_nb201(nb201_csv, dataset)
    assert t.metadata["dataset"] == f"nb201-{dataset}"
    assert any("valtest" in n for n in t.metadata["notes"])
    assert np.isfinite(Benchmark(t).values_at("valid_acc", 200)).all()


def test_nb201_bad_inputs(tmp_path, nb201_csv):
    with pytest.raises(ImportDataError, match="unknown NB201 dataset"):
        import_nb201(nb201_csv, "mnist")
    pd.DataFrame({"arch_str": ["x"]}).to_csv(tmp_path / "few.csv", index=False)
    with pytest.raises(ImportDataError, match="lacks column"):
        import_nb201(tmp_path / "few.csv")
    src = pd.read_csv(nb201_csv, nrows=5)
    src.loc[2, "arch_str"] = "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    src.to_csv(tmp_path / "badarch.csv", index=False)
    with pytest.raises(ImportDataError, match="bad arch_str"):
        import_nb201(tmp_path / "badarch.csv")
    src = pd.read_csv(nb201_csv, nrows=5, dtype={"hp12_cifar10_val": str})
    src.loc[1, "hp12_cifar10_val"] = "abc"
    src.to_csv(tmp_path / "badnum.csv", index=False)
    with pytest.raises(ImportDataError, match="non-numeric"):
        import_nb201(tmp_path / "badnum.csv")
    with pytest.raises(ImportDataError, match="not found"):
        import_nb201(tmp_path / "absent.csv")


def test_curves_import_real_file(metaqnn_csv, tmp_path):
    t = import_curves(metaqnn_csv, "net", "acc_", feature_columns=["num_params", "depth", "lr"])
    assert t.space.name == "catalog" and t.n_archs == 1000
    assert t.epochs.tolist() == list(range(1, 21))
    src = pd.read_csv(metaqnn_csv)
    b = Benchmark(t)
    _, curve = b.curve(src["net"].iloc[7], "valid_acc", seed=0)
    assert np.allclose(curve, src[[f"acc_{i}" for i in range(1, 21)]].iloc[7].to_numpy() * 100, atol=1e-3)
    assert b.cost(src["net"].iloc[7], 20) == 20.0
    assert t.space.encode([0, 1], "features").shape == (2, 3)
    t.save(tmp_path / "c.parquet")
    loaded = ResultTable.load(tmp_path / "c.parquet")
    assert loaded.space.ids == t.space.ids and np.allclose(loaded.space.features, t.space.features)
    assert len(loaded.space.neighbours(0)) == 8


def test_curves_bad_inputs(tmp_path):
    pd.DataFrame({"id": ["a", "b"], "acc_1": [0.1, 0.2]}).to_csv(tmp_path / "ok.csv", index=False)
    with pytest.raises(ImportDataError, match="lacks column"):
        import_curves(tmp_path / "ok.csv", "name", "acc_")
    with pytest.raises(ImportDataError, match="no columns named"):
        import_curves(tmp_path / "ok.csv", "id", "loss_")
    with pytest.raises(ImportDataError, match="lacks column"):
        import_curves(tmp_path / "ok.csv", "id", "acc_", feature_columns=["depth"])
    pd.DataFrame({"id": ["a", "a"], "acc_1": [0.1, 0.2]}).to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(ImportDataError, match="not unique"):
        import_curves(tmp_path / "dup.csv", "id", "acc_")
    pd.DataFrame({"id": ["a", "b"], "acc_1": [10, 200]}).to_csv(tmp_path / "range.csv", index=False)
    with pytest.raises(ImportDataError, match=r"\[0, 100\]"):
        import_curves(tmp_path / "range.csv", "id", "acc_")
    (tmp_path / "broken.csv").write_text('id,acc_1\n"a,0.5\n')
    with pytest.raises(ImportDataError):
        import_curves(tmp_path / "broken.csv", "id", "acc_")


def write_curves_from_zero(path, n: int = 20) -> pd.DataFrame:
    """A small curve CSV with acc_0 (before training) .. acc_3, as some published sets have."""
    rng = np.random.default_rng(0)
    start = rng.uniform(0.1, 0.4, n)
    df = pd.DataFrame({"net": [f"net{i}" for i in range(n)], "depth": rng.integers(1, 9, n)})
    for e in range(4):
        df[f"acc_{e}"] = np.clip(start + 0.15 * e + rng.normal(0, 0.01, n), 0, 1)
    df.to_csv(path, index=False)
    return df


def test_curves_epoch_zero_is_refused_or_skipped(tmp_path):
    src = write_curves_from_zero(tmp_path / "z.csv")
    with pytest.raises(ImportDataError, match="'acc_0' is epoch 0.*pass --skip-epoch-zero") as exc:
        import_curves(tmp_path / "z.csv", "net", "acc_")
    assert "\n" not in str(exc.value)
    t = import_curves(tmp_path / "z.csv", "net", "acc_", skip_epoch_zero=True)
    assert t.epochs.tolist() == [1, 2, 3]
    b = Benchmark(t)
    _, curve = b.curve("net4", "valid_acc", seed=0)
    assert np.allclose(curve, src[["acc_1", "acc_2", "acc_3"]].iloc[4].to_numpy() * 100, atol=1e-3)
    assert b.cost("net4", 1) == 1.0  # time_s is cumulative training: one epoch costs one epoch
    assert t.metadata["source"]["skipped_columns"] == ["acc_0"]
    assert any("acc_0" in n for n in t.metadata["notes"])
    # without an epoch-0 column the option changes nothing
    src.drop(columns="acc_0").to_csv(tmp_path / "one.csv", index=False)
    plain = import_curves(tmp_path / "one.csv", "net", "acc_")
    assert import_curves(tmp_path / "one.csv", "net", "acc_", skip_epoch_zero=True).content_hash() == (
        plain.content_hash()
    )
    assert "skipped_columns" not in plain.metadata["source"]


def test_curves_negative_or_only_zero_epochs_are_refused(tmp_path):
    pd.DataFrame({"id": ["a", "b"], "acc_-1": [0.1, 0.2], "acc_1": [0.3, 0.4]}).to_csv(
        tmp_path / "neg.csv", index=False
    )
    for skip in (False, True):
        with pytest.raises(ImportDataError, match="'acc_-1' has a negative epoch"):
            import_curves(tmp_path / "neg.csv", "id", "acc_", skip_epoch_zero=skip)
    pd.DataFrame({"id": ["a", "b"], "acc_0": [0.1, 0.2]}).to_csv(tmp_path / "zero.csv", index=False)
    with pytest.raises(ImportDataError, match="the only curve column 'acc_0' is epoch 0"):
        import_curves(tmp_path / "zero.csv", "id", "acc_", skip_epoch_zero=True)


def test_tables_start_at_epoch_one(tmp_path):
    pd.DataFrame({"id": ["a", "b"], "acc_1": [0.1, 0.2]}).to_csv(tmp_path / "ok.csv", index=False)
    space = import_curves(tmp_path / "ok.csv", "id", "acc_").space
    for epochs in ([0, 1], [-1, 1]):
        with pytest.raises(TableFormatError, match=r"start at epoch 1.*got -?\d, 1$"):
            ResultTable(space, [0], [0], epochs, ("valid_acc",), np.zeros((1, 1, 2, 1)), np.zeros((1, 1)))


def test_cli_import_curves_epoch_zero(tmp_path):
    from surrogates.evaluate import EvalConfig, evaluate

    write_curves_from_zero(tmp_path / "z.csv")
    out = tmp_path / "z.parquet"
    cmd = [sys.executable, "-m", "nasbench", "import", "curves", str(tmp_path / "z.csv")]
    cmd += ["--id-column", "net", "--curve-prefix", "acc_", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("nasbench: error:"), proc.stderr
    assert "'acc_0' is epoch 0" in lines[0] and "--skip-epoch-zero" in lines[0]
    assert not out.exists()
    proc = subprocess.run([*cmd, "--skip-epoch-zero", "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["epochs"] == [1, 2, 3]
    # the curve-aware surrogates used to fail here with "epochs must be positive and strictly increasing"
    res = evaluate(
        ResultTable.load(out),
        EvalConfig(model="lc_param", train_sizes=(10,), observed_fraction=0.5, repeats=1),
    )
    assert res["results"][0]["train_size"] == 10
