"""``nasbench leaderboard``: ranking, uncertainty, measured values, formats, provenance, determinism."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli

import surrogates
from nasbench.experiments.leaderboard import FIELDS, LeaderboardConfig, leaderboard
from nasbench.tables.benchmark import Benchmark
from strategies.errors import StrategyConfigError
from surrogates.inputs import design


@pytest.fixture(scope="module")
def fitted(search_table_file):
    """A real surrogate, kept cheap: the stacked ensemble with a ridge member only."""
    from nasbench.tables.table import ResultTable

    bench = Benchmark(ResultTable.load(search_table_file))
    y = bench.values_at("valid_acc", bench.max_epoch)
    est = surrogates.make_surrogate(
        "ensemble", bench.space, epochs=[int(e) for e in bench.epochs], random_state=0, members=["ridge"]
    )
    return est.fit(design(bench.archs(), len(bench.epochs)), y)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    text = path.read_text()
    header = [ln for ln in text.splitlines() if ln.startswith("#")]
    rows = list(
        csv.DictReader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))))
    )
    return header, rows


def test_ranks_whole_space_with_uncertainty_and_measurements(search_table_file, fitted, tmp_path):
    out = tmp_path / "lb.csv"
    res = leaderboard(
        LeaderboardConfig("ensemble", top=30, fmt="csv"), out, table=search_table_file, model=fitted
    )
    assert res["ranked"] == 6466  # one entry per isomorphism class of the NB201 space
    header, rows = read_csv(out)
    assert len(rows) == 30 and list(rows[0]) == list(FIELDS)
    pred = [float(r["predicted_valid_acc"]) for r in rows]
    assert pred == sorted(pred, reverse=True)
    assert all(float(r["predicted_std"]) > 0 for r in rows)
    assert [int(r["rank"]) for r in rows] == list(range(1, 31))
    # measured values and cost appear exactly for architectures the table holds
    for r in rows:
        assert (r["in_table"] == "True") == (r["measured_valid_acc"] != "") == (r["cost_s"] != "")
    everything = leaderboard(
        LeaderboardConfig("ensemble", top=10**6, fmt="csv"),
        tmp_path / "all.csv",
        table=search_table_file,
        model=fitted,
    )["entries"]
    assert len(everything) == 6466 and sum(e["in_table"] for e in everything) == 120
    assert all(e["measured_seeds"] == 2 for e in everything if e["in_table"])
    keys = {h.split(":")[0][2:] for h in header}
    assert {"model", "table", "table_hash", "space", "versions", "order"} <= keys
    # full-space mode ranks every index
    res_all = leaderboard(
        LeaderboardConfig("ensemble", top=5, fmt="json", unique=False),
        tmp_path / "a.json",
        table=search_table_file,
        model=fitted,
    )
    assert res_all["ranked"] == 15625


def test_formats_and_deterministic_bytes(search_table_file, fitted, tmp_path):
    blobs = {}
    for fmt in ("csv", "json", "md", "html"):
        a, b = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        for p in (a, b):
            leaderboard(
                LeaderboardConfig("ensemble", top=10, fmt=fmt), p, table=search_table_file, model=fitted
            )
        assert a.read_bytes() == b.read_bytes()
        blobs[fmt] = a.read_text()
    doc = json.loads(blobs["json"])
    assert set(doc) == {"provenance", "entries"} and len(doc["entries"]) == 10
    assert blobs["md"].startswith("# Architecture leaderboard") and "| rank |" in blobs["md"]
    assert blobs["html"].startswith("<!DOCTYPE html>") and blobs["html"].count("<tr>") == 11
    first = doc["entries"][0]["arch"]
    assert first in blobs["md"] and first.replace("|", "\\|") in blobs["md"] or first in blobs["html"]


def test_ties_break_by_index(search_table_file, tmp_path):
    class Flat:
        def predict(self, X, return_std=False):  # type: ignore[no-untyped-def]
            m = np.full(len(X), 50.0)
            return (m, np.ones(len(X))) if return_std else m

    res = leaderboard(
        LeaderboardConfig("flat", top=20, fmt="json"),
        tmp_path / "f.json",
        table=search_table_file,
        model=Flat(),
    )
    idx = [e["index"] for e in res["entries"]]
    assert idx == sorted(idx)


def test_bad_input(search_table_file, tmp_path):
    with pytest.raises(StrategyConfigError):
        LeaderboardConfig("rf", top=0)
    with pytest.raises(StrategyConfigError):
        LeaderboardConfig("rf", fmt="xlsx")  # type: ignore[arg-type]
    with pytest.raises(StrategyConfigError, match="not found"):
        leaderboard(LeaderboardConfig("models/missing.skops"), tmp_path / "x.csv", table=search_table_file)
    proc = run_cli(
        "leaderboard", "--surrogate", "rf", "--top", "5", "--format", "xml", "--out", str(tmp_path / "x")
    )
    assert_one_line_error(proc, "--format")


def test_cli_fits_a_named_surrogate(search_table_file, tmp_path):
    fmt = "md"
    out = tmp_path / f"lb.{fmt}"
    proc = run_cli(
        "leaderboard",
        "--surrogate",
        surrogates.DEFAULT_SURROGATE,
        "--table",
        str(search_table_file),
        "--top",
        "15",
        "--format",
        fmt,
        "--out",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert len(res["entries"]) == 15 and res["provenance"]["model"] == surrogates.DEFAULT_SURROGATE
    assert out.is_file()


@pytest.mark.slow
def test_saved_model_with_and_without_table(search_table_file, tmp_path):
    from nasbench.experiments.leaderboard import fit_on_table
    from nasbench.tables.table import ResultTable

    table = ResultTable.load(search_table_file)
    model = fit_on_table("gbm", Benchmark(table))
    path = tmp_path / "model.skops"
    surrogates.save_model(model, path, table_meta=surrogates.table_meta(table))
    args = ["leaderboard", "--surrogate", str(path), "--top", "8", "--format", "json"]
    with_table = run_cli(
        *args, "--table", str(search_table_file), "--out", str(tmp_path / "a.json"), "--json"
    )
    assert with_table.returncode == 0, with_table.stderr
    res = json.loads(with_table.stdout)
    assert res["provenance"]["model"] == "model.skops" and len(res["provenance"]["model_sha256"]) == 64
    assert res["provenance"]["model_trained_on"] == table.content_hash()
    alone = run_cli(*args, "--out", str(tmp_path / "b.json"), "--json")
    assert alone.returncode == 0, alone.stderr
    res2 = json.loads(alone.stdout)
    # same model, same ranking; without a table there are no measured values
    assert [e["index"] for e in res2["entries"]] == [e["index"] for e in res["entries"]]
    assert all(e["measured_valid_acc"] is None and not e["in_table"] for e in res2["entries"])
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"not a model")
    proc = run_cli("leaderboard", "--surrogate", str(bad), "--top", "3", "--out", str(tmp_path / "d.csv"))
    assert_one_line_error(proc, "refusing")
