from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from nasbench.core.errors import ImportDataError
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
