"""``nasbench surrogate`` as a user runs it: real processes, JSON, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import assert_one_line_error, run_cli, synthetic_catalog_table, synthetic_nb201_table

LIGHT_PARAMS = json.dumps(
    {"member_params": {"extra_trees": {"n_estimators": 20}, "hist_gbm": {"max_iter": 20}}}
)


@pytest.fixture()
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """The same entry point in-process (fast): returns a CompletedProcess-like result."""
    from nasbench.cli import main

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        code = main(["surrogate", *args])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return call


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("sur_cli")
    nb, cat = d / "nb.parquet", d / "cat.parquet"
    synthetic_nb201_table(n_archs=60).save(nb)
    synthetic_catalog_table(n=60).save(cat)
    return nb, cat


@pytest.mark.parametrize("cmd", ["list", "fit", "predict", "eval"])
def test_every_command_has_help_and_json(cmd: str, cli) -> None:  # type: ignore[no-untyped-def]
    proc = cli(cmd, "--help")
    assert proc.returncode == 0 and "--json" in proc.stdout


def test_list(cli) -> None:  # type: ignore[no-untyped-def]
    out = json.loads(cli("list", "--json").stdout)
    assert out["default"] == "combined" and {"rf", "lc_svr"} <= {s["name"] for s in out["surrogates"]}


@pytest.mark.slow
def test_eval_fit_predict_round_trip(tables: tuple[Path, Path], tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    nb, cat = tables
    proc = cli(
        "eval",
        str(cat),
        "--model",
        "lc_param",
        "--train-sizes",
        "20,30",
        "--observed-fraction",
        "0.25",
        "--repeats",
        "2",
        "--seed",
        "1",
        "--json",
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert [e["train_size"] for e in res["results"]] == [20, 30]
    assert set(res["results"][0]["baselines"]) == {"last_value", "best_value", "pow3", "svr_observed"}
    model = tmp_path / "m.skops"
    proc = run_cli(
        "surrogate",
        "fit",
        str(nb),
        "--model",
        "combined",
        "--out",
        str(model),
        "--params",
        LIGHT_PARAMS,
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(proc.stdout)
    assert (
        meta["space"]["name"] == "nb201"
        and meta["n_train"] == 60
        and meta["table_hash"].startswith("sha256:")
    )
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    proc = run_cli(
        "surrogate", "predict", str(model), "--archs", arch, "--archs", "17", "--table", str(nb), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    preds = json.loads(proc.stdout)["predictions"]
    assert [p["arch"] for p in preds][0] == arch and preds[1]["index"] == 17
    assert all(p["interval"][0] <= p["mean"] <= p["interval"][1] for p in preds)
    assert_one_line_error(
        cli("predict", str(model), "--archs", "17", "--table", str(cat)), "cannot predict for space 'catalog'"
    )
    assert_one_line_error(cli("predict", str(model), "--archs", "|bogus~0|"), "NB201 string")
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"not a model")
    assert_one_line_error(cli("predict", str(bad), "--archs", "1"), "not a skops archive")


def test_bad_input_is_one_line(  # type: ignore[no-untyped-def]
    tables: tuple[Path, Path], cli, tmp_path: Path
) -> None:
    nb, cat = tables
    assert_one_line_error(
        run_cli("surrogate", "eval", str(cat), "--model", "nope"), "unknown surrogate 'nope'; available:"
    )  # a real process
    assert_one_line_error(cli("eval", str(cat), "--observed-fraction", "1.5"), "must lie in (0, 1)")
    assert_one_line_error(
        cli("eval", str(nb), "--observed-fraction", "0.1", "--train-sizes", "10"), "observes no epoch"
    )
    assert_one_line_error(cli("eval", str(cat), "--train-sizes", "10,x"), "comma-separated integers")
    assert_one_line_error(cli("eval", str(cat), "--train-sizes", "60"), "leaves nothing to test")
    model = str(tmp_path / "m.skops")
    assert_one_line_error(
        cli("fit", str(cat), "--model", "rf", "--out", model, "--train-size", "2"),
        "needs at least 3 training points",
    )
    # the output is checked before the fit, so a bad --out costs nothing
    assert_one_line_error(
        cli("fit", str(cat), "--model", "rf", "--out", "/nonexistent/m.skops"),
        "output directory does not exist",
    )
    assert_one_line_error(
        cli("fit", str(cat), "--model", "rf", "--out", str(tmp_path)), "output path is a directory"
    )
    assert_one_line_error(
        cli("eval", str(cat), "--train-sizes", "10", "--out", str(tmp_path)), "output path is a directory"
    )
    assert_one_line_error(
        cli("fit", str(cat), "--model", "rf", "--out", "m.skops", "--params", "[1]"), "JSON object"
    )
