"""``nasbench space`` (infer, show, convert) and the inference rules behind ``infer``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, assert_one_line_error, run_cli

from nasbench.spaces.declared_files import read_space
from nasbench.spaces.infer import infer_declaration, infer_space

FCNET_CSV = SHARED_DATA / "fcnet" / "naval_propulsion.csv"
FCNET_COLUMNS = (
    "activation_fn_1,activation_fn_2,batch_size,dropout_1,dropout_2,init_lr,lr_schedule,n_units_1,n_units_2"
)


@pytest.fixture()
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """``nasbench space ...`` in-process (fast): returns a CompletedProcess-like result."""
    from nasbench.cli import main

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        code = main(["space", *args])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return call


@pytest.fixture()
def configs_csv(tmp_path: Path) -> Path:
    """60 configurations: depth 1..3 (width_2 only when depth >= 2), an activation, a
    learning rate over four decades with many values, and a metric column."""
    rng = np.random.default_rng(0)
    rows = ["depth,width_1,width_2,act,lr,score"]
    for i in range(60):
        depth = 1 + i % 3
        width_2 = "" if depth < 2 else str([8, 16, 32][(i // 3) % 3])
        lr = 10 ** rng.uniform(-5, -1)
        rows.append(
            f"{depth},{[8, 16, 32][i % 3]},{width_2},{'relu' if i % 2 else 'tanh'},{lr},{rng.random()}"
        )
    path = tmp_path / "configs.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_inference_rules(configs_csv: Path) -> None:
    import pandas as pd

    decl = infer_declaration(pd.read_csv(configs_csv, usecols=["depth", "width_1", "width_2", "act", "lr"]))
    dims = {d["name"]: d for d in decl["dimensions"]}
    assert dims["depth"] == {"name": "depth", "type": "integer", "low": 1, "high": 3}
    assert dims["width_1"] == {
        "name": "width_1",
        "type": "integer",
        "low": 8,
        "high": 32,
        "log": True,
        "steps": 3,
    }
    assert dims["act"] == {"name": "act", "type": "categorical", "values": ["relu", "tanh"]}
    assert dims["lr"]["type"] == "float" and dims["lr"]["log"] is True and dims["lr"]["steps"] == 10
    assert decl["conditions"] == [{"child": "width_2", "parent": "depth", "op": ">=", "value": 2}]
    odd = infer_declaration(pd.DataFrame({"x": [1, 2, 7, 1], "y": [0.5, 0.25, 0.5, 0.75]}))
    assert [d["type"] for d in odd["dimensions"]] == ["ordinal", "ordinal"]


def test_infer_writes_a_space_that_holds_every_row(configs_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "space.json"
    summary = infer_space(configs_csv, ["depth", "width_1", "width_2", "act", "lr"], out)
    space = read_space(out)
    assert summary["size"] == space.size == (3 + 9 + 9) * 2 * 10
    assert summary["rows"] == 60 and summary["uncovered"] == 0  # lr rows snap onto the grid
    assert summary["conditions"] == ["width_2 if depth >= 2"]


@pytest.mark.skipif(not FCNET_CSV.is_file(), reason="shared FCNet data not found")
def test_infer_on_fcnet(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "fcnet.json"
    proc = cli("infer", str(FCNET_CSV), "--columns", FCNET_COLUMNS, "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["size"] == summary["distinct"] == summary["rows"] == 62208
    dims = {d["name"]: d for d in json.loads(out.read_text())["dimensions"]}
    assert dims["n_units_1"] == {
        "name": "n_units_1",
        "type": "integer",
        "low": 16,
        "high": 512,
        "log": True,
        "steps": 6,
    }
    assert dims["init_lr"]["values"] == [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1]


def test_show_and_convert(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "s.toml"
    src.write_text(
        'conditions = ["units_2 if layers == 2"]\n'
        "[dimensions]\nlayers = [1, 2]\nunits_1 = [16, 32]\nunits_2 = [16, 32]\n"
        'act = ["relu", "tanh"]\n'
    )
    shown = cli("show", str(src), "--json")
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["size"] == 12 and info["format"] == "declared"
    assert [d["active_in"] for d in info["dimensions"]] == [12, 12, 8, 12]
    human = cli("show", str(src))
    assert "12 configurations" in human.stdout and "units_2 if layers == 2" in human.stdout
    cs = tmp_path / "cs.json"
    conv = cli("convert", str(src), "--out", str(cs), "--json")
    assert conv.returncode == 0 and json.loads(conv.stdout)["to"] == "configspace"
    assert json.loads(cs.read_text())["hyperparameters"]
    back = cli("show", str(cs), "--json")
    assert json.loads(back.stdout)["size"] == 12 and json.loads(back.stdout)["format"] == "configspace"


@pytest.mark.parametrize("cmd", ["infer", "show", "convert"])
def test_every_command_has_help_and_json(cmd: str, cli) -> None:  # type: ignore[no-untyped-def]
    proc = cli(cmd, "--help")
    assert proc.returncode == 0 and "--json" in proc.stdout and "Exit codes" in proc.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["infer", "{csv}", "--columns", "depth,colour", "--out", "{tmp}/o.json"], "no column(s) colour"),
        (["infer", "{tmp}/none.csv", "--columns", "a", "--out", "{tmp}/o.json"], "CSV file not found"),
        (["infer", "{csv}", "--columns", "depth", "--out", "{tmp}/o.toml"], "written as JSON"),
        (["infer", "{csv}", "--columns", "width_2", "--out", "{tmp}/o.json"], "no other column"),
        (["infer", "{csv}", "--columns", "depth", "--steps", "1", "--out", "{tmp}/o.json"], "must be >= 2"),
        (["show", "{tmp}/bad.json"], "unknown dimension 'colour'"),
        (["show", "{tmp}/missing.json"], "space file not found"),
        (["convert", "{tmp}/bad.json", "--out", "{tmp}/o.json", "--to", "yaml"], "--to must be one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], fragment: str, configs_csv: Path, tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.json").write_text(
        json.dumps({"dimensions": {"a": [1, 2]}, "conditions": ["a if colour == 1"]})
    )
    argv = [a.format(csv=configs_csv, tmp=tmp_path) for a in args]
    proc = cli(*argv)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("nasbench: error:") and fragment in lines[0], proc.stderr


def test_a_real_process_refuses_a_bad_space_file_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"dimensions": {"a": {"type": "cat", "values": [1]}}}))
    assert_one_line_error(run_cli("space", "show", str(bad)), "must be one of 'categorical'")
