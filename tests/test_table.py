from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from nasbench.core.errors import NasbenchError, TableFormatError
from nasbench.tables.table import ResultTable, read_metadata


def test_save_load_round_trip(small_table, tmp_path):
    path = tmp_path / "t.parquet"
    meta = small_table.save(path)
    loaded = ResultTable.load(path, verify=True)
    assert np.array_equal(loaded.values, small_table.values, equal_nan=True)
    assert np.array_equal(loaded.arch_index, small_table.arch_index)
    assert loaded.metrics == small_table.metrics
    assert loaded.space == small_table.space
    assert np.allclose(loaded.arch_columns["params"], small_table.arch_columns["params"])
    assert loaded.content_hash() == small_table.content_hash() == meta["content_hash"]
    assert loaded.metadata["dataset"] == "synthetic"
    for key in ("versions", "created"):
        assert key in read_metadata(path)


def test_rows_are_long_format_with_provenance(small_table, tmp_path):
    path = tmp_path / "t.parquet"
    small_table.save(path)
    tbl = pq.read_table(path)
    assert tbl.num_rows == 40 * 2 * 4
    for col in ("arch", "arch_index", "seed", "epoch", "valid_acc", "time_s", "diverged", "arch:params"):
        assert col in tbl.column_names
    meta = json.loads(tbl.schema.metadata[b"nasbench"])
    assert meta["space"] == {"name": "nb201", "config": {"iso_rule": "published"}}


def test_from_records_matches_dense(small_table):
    df = small_table.to_frame().sample(frac=1.0, random_state=0)  # any order
    rebuilt = ResultTable.from_records(
        small_table.space, df, metrics=small_table.metrics, arch_columns=["params"]
    )
    assert rebuilt.content_hash() == small_table.content_hash()
    with pytest.raises(TableFormatError, match="duplicate"):
        ResultTable.from_records(small_table.space, df.iloc[[0, 0]])


def test_subset_of_epochs_allowed(small_table, tmp_path):
    t = ResultTable(
        small_table.space,
        small_table.arch_index,
        small_table.seeds,
        [12, 200],
        ("valid_acc",),
        small_table.values[:, :, :2, :1],
        small_table.diverged,
    )
    t.save(tmp_path / "x.parquet")
    assert ResultTable.load(tmp_path / "x.parquet").epochs.tolist() == [12, 200]


def test_constructor_validation(small_table):
    with pytest.raises(TableFormatError, match="vocabulary"):
        ResultTable(small_table.space, [0], [0], [1], ("accuracy",), np.zeros((1, 1, 1, 1)), np.zeros((1, 1)))
    with pytest.raises(TableFormatError, match="increasing"):
        ResultTable(
            small_table.space, [0], [0], [2, 1], ("valid_acc",), np.zeros((1, 1, 2, 1)), np.zeros((1, 1))
        )
    with pytest.raises(TableFormatError, match="once"):
        ResultTable(
            small_table.space, [0, 0], [0], [1], ("valid_acc",), np.zeros((2, 1, 1, 1)), np.zeros((2, 1))
        )


def test_truncated_and_corrupt_files(small_table, tmp_path):
    path = tmp_path / "t.parquet"
    small_table.save(path)
    data = path.read_bytes()
    (tmp_path / "trunc.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(TableFormatError, match="not a readable parquet"):
        ResultTable.load(tmp_path / "trunc.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(TableFormatError):
        ResultTable.load(tmp_path / "junk.parquet")
    with pytest.raises(TableFormatError, match="not found"):
        ResultTable.load(tmp_path / "missing.parquet")


def test_plain_parquet_is_not_a_table(tmp_path):
    import pandas as pd

    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(TableFormatError, match="not a nasbench table"):
        ResultTable.load(tmp_path / "p.parquet")


def _rewrite(path, out, *, meta_update=None, table_fn=None):
    tbl = pq.read_table(path)
    meta = json.loads(tbl.schema.metadata[b"nasbench"])
    meta.update(meta_update or {})
    if table_fn:
        tbl = table_fn(tbl)
    tbl = tbl.replace_schema_metadata({b"nasbench": json.dumps(meta).encode()})
    pq.write_table(tbl, out)


def test_metadata_that_does_not_match_rows(small_table, tmp_path):
    path = tmp_path / "t.parquet"
    small_table.save(path)
    _rewrite(path, tmp_path / "a.parquet", meta_update={"n_archs": 41})
    with pytest.raises(TableFormatError, match="metadata describes"):
        ResultTable.load(tmp_path / "a.parquet")
    _rewrite(path, tmp_path / "b.parquet", meta_update={"epochs": [1, 2, 3, 5]})
    with pytest.raises(TableFormatError, match="grid"):
        ResultTable.load(tmp_path / "b.parquet")
    _rewrite(
        path,
        tmp_path / "c.parquet",
        meta_update={"metrics": ["valid_acc", "test_acc", "train_loss", "train_acc"]},
    )
    with pytest.raises(TableFormatError, match="lacks column"):
        ResultTable.load(tmp_path / "c.parquet")

    def bump(tbl):
        import pyarrow as pa

        col = tbl.column("valid_acc").to_numpy().copy()
        col[5] += 1.0
        return tbl.set_column(tbl.column_names.index("valid_acc"), "valid_acc", pa.array(col))

    _rewrite(path, tmp_path / "d.parquet", table_fn=bump)
    with pytest.raises(TableFormatError, match="content hash"):
        ResultTable.load(tmp_path / "d.parquet")
    _rewrite(path, tmp_path / "e.parquet", meta_update={"space": {"name": "nb999", "config": {}}})
    with pytest.raises(NasbenchError, match="unknown search space 'nb999'"):
        ResultTable.load(tmp_path / "e.parquet")


def test_unwritable_output(small_table, tmp_path):
    with pytest.raises(NasbenchError, match="does not exist"):
        small_table.save(tmp_path / "nope" / "t.parquet")


@pytest.mark.skipif(os.name != "posix", reason="uses fork/kill")
def test_crash_mid_write_leaves_previous_table(small_table, tmp_path):
    """A process killed while writing never leaves a half-written table behind."""
    path = tmp_path / "t.parquet"
    small_table.save(path)
    before = path.read_bytes()
    script = textwrap.dedent(
        f"""
        import os, pyarrow.parquet as pq
        from nasbench.tables.table import ResultTable
        t = ResultTable.load({str(path)!r})
        real = pq.write_table
        def dying(table, where, **kw):
            real(table, where, **kw)
            os._exit(9)  # crash after the bytes are written, before the rename
        pq.write_table = dying
        t.save({str(path)!r})
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == 9
    assert path.read_bytes() == before
    ResultTable.load(path, verify=True)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["t.parquet"]


def test_make_dirs_creates_parents_and_names_what_is_in_the_way(tmp_path: Path) -> None:
    from nasbench.core.io import make_dirs

    assert make_dirs(tmp_path / "a" / "b") == tmp_path / "a" / "b" and (tmp_path / "a" / "b").is_dir()
    assert make_dirs(tmp_path / "a" / "b").is_dir()  # already there: fine
    (tmp_path / "f").write_text("x")
    for path in (tmp_path / "f", tmp_path / "f" / "sub"):
        with pytest.raises(NasbenchError, match="a file is in the way"):
            make_dirs(path)
