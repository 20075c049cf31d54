"""syne-tune's blackbox format both ways, driven by the real syne-tune (its serialize,
deserialize and simulator backend), and bad input (one line, exit 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, SHARED_DATA, assert_one_line_error, run_cli

pytest.importorskip("syne_tune")
pytest.importorskip("fastparquet", reason="syne-tune's serialize/deserialize need fastparquet")

from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular, deserialize, serialize  # noqa: E402
from syne_tune.config_space import choice, finrange, randint  # noqa: E402

from nasbench.tables.synetune import configuration, export_synetune, import_synetune  # noqa: E402
from nasbench.tables.table import ResultTable  # noqa: E402

DIGITS = REPO / "data" / "digits.parquet"
MLP = REPO / "data" / "mlp-digits.parquet"
SSS = SHARED_DATA / "nats" / "NATS-sss-v1_0-50262-simple"


@pytest.fixture(scope="module")
def digits() -> ResultTable:
    return ResultTable.load(DIGITS)


def test_digits_round_trip_keeps_every_value_and_syne_tune_reads_it(
    digits: ResultTable, tmp_path: Path
) -> None:
    folder, back = tmp_path / "bb", tmp_path / "back.parquet"
    proc = run_cli("export", "syne-tune", str(DIGITS), "--out", str(folder), "--json")
    assert proc.returncode == 0, proc.stderr
    bbs = deserialize(str(folder))  # syne-tune's own reader
    bb = bbs["digits"]
    assert isinstance(bb, BlackboxTabular)
    assert bb.objectives_evaluations.shape == (digits.n_archs, 2, 6, 7 + len(digits.arch_columns))
    np.testing.assert_array_equal(bb.fidelity_values, digits.epochs)
    # one syne-tune query against the nasbench table
    row = 123
    config = bb.hyperparameters.iloc[row].to_dict()
    got = bb.objective_function(config, fidelity={"epoch": 6}, seed=1)
    assert got["valid_acc"] == digits.values[row, 1, 5, digits.metric_position("valid_acc")]
    assert digits.arch_strings()[
        row
    ] == "|{edge_1_0}~0|+|{edge_2_0}~0|{edge_2_1}~1|+|{edge_3_0}~0|{edge_3_1}~1|{edge_3_2}~2|".format(
        **config
    )
    proc = run_cli("import", "syne-tune", str(folder), "--out", str(back))
    assert proc.returncode == 0, proc.stderr
    table = ResultTable.load(back)
    assert table.content_hash() == digits.content_hash()  # every value, seed, epoch and arch column
    assert table.metadata.get("dataset") == "digits"


def test_declared_tables_round_trip(tmp_path: Path) -> None:
    """The MLP table (a declared space with conditions) and a NATS size-space table."""
    tables = [ResultTable.load(MLP)]
    if SSS.is_dir():
        from nasbench.tables.nats import import_nats

        tables.append(import_nats(SSS, dataset="cifar100", epochs=12))
    for k, t in enumerate(tables):
        export_synetune(t, tmp_path / f"bb{k}")
        back = import_synetune(tmp_path / f"bb{k}")
        assert back.content_hash() == t.content_hash()
        assert back.space.config() == t.space.config()


def test_simulator_backend_gives_nasbench_values(digits: ResultTable, tmp_path: Path) -> None:
    """syne-tune's UserBlackboxBackend + RandomSearch on the exported table, replaying the
    configurations nasbench's rs evaluated (both driven by one list): the same values."""
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    from synetune_sim import compare

    out = compare(DIGITS, 12, 3, tmp_path)
    assert out["trials"] == 12
    assert out["valid_acc_equal"] == 12
    # syne-tune's simulator lifts each reported elapsed time to >= 0.01 s past the previous
    # one (simulated_tabular_backend.py): digits epochs can be shorter, so allow that floor
    assert out["time_s_max_abs_diff"] <= 0.01 * len(digits.epochs) + 1e-4


def test_foreign_blackbox_imports_with_a_metric_map(tmp_path: Path) -> None:
    """A blackbox written by syne-tune itself (not by nasbench), as its conversion scripts do."""
    rng = np.random.default_rng(7)
    acts, widths = ["relu", "tanh"], [16, 32, 64]
    hp = pd.DataFrame(
        [{"act": a, "width": w, "lr": lr} for a in acts for w in widths for lr in (0.001, 0.01)]
    )
    n = len(hp)
    err = rng.uniform(0.1, 0.9, size=(n, 2, 3, 1))
    elapsed = np.cumsum(rng.uniform(1, 2, size=(n, 2, 3, 1)), axis=2)
    size = np.broadcast_to(rng.integers(100, 1000, size=(n, 1, 1, 1)), (n, 2, 3, 1)).astype(float)
    bb = BlackboxTabular(
        hyperparameters=hp,
        configuration_space={"act": choice(acts), "width": randint(16, 64), "lr": finrange(0.001, 0.01, 2)},
        fidelity_space={"hp_epoch": randint(1, 3)},
        objectives_evaluations=np.concatenate([err, elapsed, size], axis=3),
        objectives_names=["metric_valid_error", "metric_elapsed_time", "metric_n_params"],
    )
    folder = tmp_path / "foreign"
    serialize(
        {"taskA": bb, "taskB": bb}, str(folder), metadata={"metric_elapsed_time": "metric_elapsed_time"}
    )
    out = tmp_path / "t.parquet"
    assert_one_line_error(run_cli("import", "syne-tune", str(folder), "--out", str(out)), "--task")
    assert_one_line_error(
        run_cli("import", "syne-tune", str(folder), "--task", "taskA", "--out", str(out)), "--metric"
    )
    proc = run_cli(
        "import", "syne-tune", str(folder), "--task", "taskA", "--metric", "valid_loss=metric_valid_error",
        "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    t = ResultTable.load(out)
    assert t.space.name == "declared" and t.space.size == n
    assert t.metrics == ("valid_loss", "time_s") and t.objective.metric == "valid_loss"
    assert t.objective.direction == "min" and t.epochs.tolist() == [1, 2, 3]
    # every value lands on its configuration
    for r in range(n):
        i = t.space.index({k: (v.item() if hasattr(v, "item") else v) for k, v in hp.iloc[r].items()})
        row = int(np.flatnonzero(t.arch_index == i)[0])
        np.testing.assert_allclose(t.values[row, :, :, 0], err[r, :, :, 0], rtol=1e-6)
        np.testing.assert_allclose(t.values[row, :, :, 1], elapsed[r, :, :, 0], rtol=1e-6)
        assert t.arch_columns["metric_n_params"][row] == size[r, 0, 0, 0]


def test_configuration_space_of_each_space_kind(digits: ResultTable) -> None:
    cs, hp, _ = configuration(digits)
    assert list(cs) == ["edge_1_0", "edge_2_0", "edge_2_1", "edge_3_0", "edge_3_1", "edge_3_2"]
    assert len(hp) == digits.n_archs and not hp.duplicated().any()


@pytest.mark.parametrize(
    "missing", ["objectives_evaluations.npy", "hyperparameters.parquet", "metadata.json"]
)
def test_blackbox_folder_with_missing_arrays_is_one_line_exit_2(tmp_path: Path, missing: str) -> None:
    t = ResultTable.load(MLP)
    folder = tmp_path / "bb"
    export_synetune(t, folder)
    (folder / missing).unlink()
    proc = run_cli("import", "syne-tune", str(folder), "--out", str(tmp_path / "t.parquet"))
    assert_one_line_error(proc, missing)


def test_truncated_array_and_export_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    folder = tmp_path / "bb"
    export_synetune(ResultTable.load(MLP), folder)
    arr = folder / "objectives_evaluations.npy"
    arr.write_bytes(arr.read_bytes()[:1000])
    assert_one_line_error(
        run_cli("import", "syne-tune", str(folder), "--out", str(tmp_path / "t.parquet")),
        "syne-tune cannot read",
    )
    assert_one_line_error(
        run_cli("export", "syne-tune", str(MLP), "--out", str(folder)), "already holds a blackbox"
    )
    assert_one_line_error(
        run_cli("export", "syne-tune", str(tmp_path / "none.parquet"), "--out", str(tmp_path / "x")),
        "not found",
    )
