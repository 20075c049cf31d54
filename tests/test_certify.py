"""``nasbench surrogate certify``: the certificate's files and fields, where it is found, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nasbench.tables.table import ResultTable
from tests.conftest import assert_one_line_error, run_cli

REPO = Path(__file__).resolve().parents[1]
DIGITS = REPO / "data" / "digits.parquet"
# gbm: the quickest surrogate to fit on the whole table; tiny runs keep this under 30 s
TINY = ("--model", "gbm", "--seeds", "2", "--budget", "5", "--train-sizes", "40,80", "--repeats", "1")


@pytest.fixture(scope="module")
def certified(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("certify")
    table = root / "digits.parquet"
    shutil.copyfile(DIGITS, table)  # --attach writes beside the table: not into the repository
    out = root / "cert"
    proc = run_cli("surrogate", "certify", str(table), "--out", str(out), *TINY, "--processes", "1",
                   "--strategies", "re,optuna:tpe", "--attach", "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return table, out, json.loads(proc.stdout)


@pytest.mark.slow  # one certify run (about 30 s), shared by the module
def test_files_and_fields(certified: tuple[Path, Path, dict]) -> None:
    table, out, cert = certified
    for name in ("certificate.md", "certificate.json", "fit.png", "trajectories.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "table" / "summary.json").is_file() and (out / "surrogate" / "summary.json").is_file()
    assert json.loads((out / "certificate.json").read_text())["headline"] == cert["headline"]
    assert cert["kind"] == "nasbench-certificate" and cert["model"] == "gbm"
    # held-out fit at each training size, with every harness score
    held = cert["held_out"]["results"]
    assert [e["train_size"] for e in held] == [40, 80]
    for e in held:
        assert set(e["scores"]) >= {
            "kendall_tau",
            "spearman",
            "r2",
            "top1_precision",
            "top5_precision",
            "coverage90",
        }
        assert -1 <= e["scores"]["kendall_tau"]["mean"] <= 1
    # the noise ceiling: the digits table has 2 seeds; a single run has no coverage
    nc = cert["noise_ceiling"]
    assert nc["seeds"] == 2 and nc["scores"]["coverage90"]["mean"] is None
    assert 0 < nc["scores"]["kendall_tau"]["mean"] <= 1
    assert cert["beats_noise_ceiling"]["line"] in (out / "certificate.md").read_text()
    # optimisers: the defaults plus the user's (re once), on both backends
    opt = cert["optimisers"]
    assert list(opt["strategies"]) == ["rs", "re", "ls", "bananas", "optuna:tpe"]
    for r in opt["strategies"].values():
        assert r["table_final_regret"]["n"] == 2 and r["surrogate_final_regret"]["n"] == 2
        assert r["table_final_regret"]["mean"] >= 0 and r["surrogate_final_regret"]["mean"] >= -1e-9
    assert opt["order_kendall_tau"] is None or -1 <= opt["order_kendall_tau"] <= 1
    assert sorted(opt["order_table"]) == sorted(opt["order_surrogate"])
    assert "own optimum" in opt["regret_note"]
    # sanity checks
    s = cert["sanity"]
    assert s["range"]["ok"] and s["range"]["range"] == [0.0, 100.0]
    assert s["cost_monotone"]["ok"] and s["cost_monotone"]["measured_table"]["epochs"] == 6
    assert s["inactive_dimensions"]["applies"] is False  # NB201 cells have none
    assert 0 <= s["training_points"]["within_seed_spread"] <= 1
    assert isinstance(cert["weak"], list)


@pytest.mark.slow  # one certify run (about 30 s), shared by the module
def test_found_beside_the_table(certified: tuple[Path, Path, dict], tmp_path: Path) -> None:
    from nasbench.experiments.certificates import certificate_note, certificate_path

    table, _, cert = certified
    assert cert["attached"] == str(table.with_name("digits.gbm.certificate.json"))
    note = certificate_note("gbm", table)
    assert note["found"] and note["line"].startswith("certificate: ") and cert["headline"] in note["line"]
    missing = certificate_note("rf", table)
    assert not missing["found"] and missing["line"].startswith("warning: no fidelity certificate")
    assert "\n" not in missing["line"]
    # a model file's certificate is MODEL.certificate.json
    assert certificate_path(tmp_path / "m.skops") == tmp_path / "m.certificate.json"
    # a certificate of another table is no certificate for this one
    other = tmp_path / "other.parquet"
    t = ResultTable.load(DIGITS)
    frame = t.to_frame()
    ResultTable.from_records(t.space, frame[frame["arch_index"] % 2 == 0], metrics=t.metrics).save(other)
    shutil.copyfile(
        table.with_name("digits.gbm.certificate.json"), other.with_name("other.gbm.certificate.json")
    )
    stale = certificate_note("gbm", other)
    assert not stale["found"] and "another table" in stale["line"]


@pytest.mark.slow  # one certify run (about 30 s), shared by the module
def test_leaderboard_points_to_it(certified: tuple[Path, Path, dict], tmp_path: Path) -> None:
    table, _, _ = certified
    proc = run_cli("leaderboard", "--surrogate", "gbm", "--table", str(table), "--top", "3",
                   "--out", str(tmp_path / "lb.csv"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "certificate: " in proc.stderr and "digits.gbm.certificate.json" in proc.stderr


def test_inactive_dimensions_on_a_declared_space() -> None:
    """The MLP space's units_2..4 are inactive below 2..4 layers: values there change nothing."""
    from nasbench.experiments.certify import _inactive

    t = ResultTable.load(REPO / "data" / "mlp-digits.parquet")
    space = t.space
    reps = np.asarray(space.iso_representatives(), np.int64)

    class Lookup:  # predictions by index, as the surrogate backend answers them
        def final_values(self, archs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            a = np.asarray(archs, np.float64)
            return a * 0.5, a

    out = _inactive(space, Lookup(), reps, seed=0)
    assert out["applies"] and out["variants"] == 2 * out["sampled"] > 0
    assert out["ok"] and out["differ"] == 0


def _one_seed(tmp_path: Path) -> Path:
    t = ResultTable.load(DIGITS)
    frame = t.to_frame()
    path = tmp_path / "one-seed.parquet"
    ResultTable.from_records(t.space, frame[frame["seed"] == 0], metrics=t.metrics).save(path)
    return path


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (("--budget", "0"), "budget must be a positive"),
        (("--strategies", "nope"), "nope"),
        (("--model", "nope"), "unknown surrogate 'nope'"),
    ],
)
def test_bad_input(extra: tuple[str, ...], fragment: str, tmp_path: Path) -> None:
    proc = run_cli("surrogate", "certify", str(DIGITS), "--out", str(tmp_path / "c"), *extra)
    assert_one_line_error(proc, fragment)
    assert not (tmp_path / "c").exists()


def test_table_without_seeds(tmp_path: Path) -> None:
    proc = run_cli("surrogate", "certify", str(_one_seed(tmp_path)), "--out", str(tmp_path / "c"))
    assert_one_line_error(proc, "at least 2 seeds")
    assert not (tmp_path / "c").exists()
