"""The table commands as a user runs them: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json

import pytest
from conftest import assert_one_line_error, run_cli

EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


@pytest.fixture(scope="module")
def nb201_file(nb201_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "nb201.parquet"
    proc = run_cli("import", "nb201", str(nb201_csv), "--dataset", "cifar10", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["archs"] == 15625 and report["epochs"] == [12, 200]
    return out


def test_info_and_query(nb201_file):
    proc = run_cli("info", str(nb201_file), "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["space"]["name"] == "nb201" and info["best"]["valid_acc"] == pytest.approx(91.61, abs=0.01)
    human = run_cli("info", str(nb201_file))
    assert human.returncode == 0 and "nb201" in human.stdout and "best" in human.stdout
    q = run_cli("query", str(nb201_file), EXAMPLE, "--epoch", "12", "--json")
    assert q.returncode == 0, q.stderr
    data = json.loads(q.stdout)
    assert data["epoch"] == 12 and "test_acc" not in data["metrics"]
    q = run_cli("query", str(nb201_file), EXAMPLE, "--metric", "valid_acc", "--seed", "1", "--test", "--json")
    assert json.loads(q.stdout)["metrics"]["valid_acc"] == pytest.approx(90.716, abs=1e-3)


def test_curves_import(metaqnn_csv, tmp_path):
    out = tmp_path / "mq.parquet"
    proc = run_cli(
        "import",
        "curves",
        str(metaqnn_csv),
        "--id-column",
        "net",
        "--curve-prefix",
        "acc_",
        "--feature-columns",
        "num_params,depth",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(run_cli("info", str(out), "--json").stdout)
    assert info["space"]["name"] == "catalog" and info["epochs"] == list(range(1, 21))


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("query", "{t}", "|nor_conv_3x3~0|+|bogus~0|"), "3 nodes"),
        (("query", "{t}", EXAMPLE.replace("avg_pool_3x3", "max_pool")), "unknown op 'max_pool'"),
        (("query", "{t}", EXAMPLE.replace("skip_connect~2", "skip_connect~1")), "must come from node 2"),
        (("query", "{t}", EXAMPLE, "--epoch", "50"), "available epochs: 12, 200"),
        (("query", "{t}", EXAMPLE, "--metric", "test_acc"), "test metric"),
        (("query", "{t}", EXAMPLE, "--seed", "x"), "--seed"),
        (("info", "{missing}"), "table not found"),
        (("info", "--nope", "{t}"), "No such option"),
    ],
)
def test_bad_input_exits_2_with_one_line(nb201_file, tmp_path, args, fragment):
    proc = run_cli(*(a.format(t=nb201_file, missing=tmp_path / "none.parquet") for a in args))
    assert_one_line_error(proc, fragment)


def test_corrupt_table_and_csv(tmp_path, nb201_file):
    data = nb201_file.read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 3])
    assert_one_line_error(run_cli("info", str(tmp_path / "cut.parquet")), "not a readable parquet")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    assert_one_line_error(
        run_cli("import", "nb201", str(tmp_path / "x.csv"), "--out", str(tmp_path / "o.parquet")),
        "lacks column",
    )
    assert not (tmp_path / "o.parquet").exists()
    assert_one_line_error(
        run_cli(
            "import",
            "nb201",
            str(tmp_path / "x.csv"),
            "--dataset",
            "svhn",
            "--out",
            str(tmp_path / "o.parquet"),
        ),
        "unknown NB201 dataset",
    )


def test_unwritable_output(nb201_csv, tmp_path):
    proc = run_cli("import", "nb201", str(nb201_csv), "--out", str(tmp_path / "no" / "dir" / "t.parquet"))
    assert_one_line_error(proc, "does not exist")
    proc = run_cli("import", "nb201", str(nb201_csv), "--out", str(tmp_path))  # a folder, not a file
    assert_one_line_error(proc, "output path is a directory")


def test_help_everywhere():
    for args in ((), ("info",), ("query",), ("import",), ("import", "nb201"), ("import", "curves")):
        proc = run_cli(*args, "--help")
        assert proc.returncode == 0 and "Usage" in proc.stdout


def test_every_help_lists_the_exit_codes(capsys):
    """``--help`` of the app, every command and every sub-group ends with the exit codes."""
    from nasbench.cli import _register, app, main

    _register()
    paths = [()]
    for cmd in app.registered_commands:
        paths.append((cmd.name or cmd.callback.__name__,))
    for grp in app.registered_groups:
        paths.append((grp.name,))
        paths.extend(
            (grp.name, c.name or c.callback.__name__) for c in grp.typer_instance.registered_commands
        )
    assert len(paths) > 12
    for path in paths:
        assert main([*path, "--help"]) == 0, path
        out = " ".join(capsys.readouterr().out.split())
        assert "Exit codes: 0 success" in out and "2 bad input" in out and "130 interrupted" in out, path


def test_plain_progress_restarts_its_rate_and_eta_for_a_new_phase(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import nasbench.cli._common as common

    clock = iter([0.0, 0.0, 10.0, 10.0, 20.0])  # t0, then one reading per update
    monkeypatch.setattr(common.time, "perf_counter", lambda: next(clock))
    with common.progress_bar("build") as update:
        assert update is not None  # stderr is captured: the plain, line-per-update display
        update(0, 100, "runs")
        update(50, 100, "runs")  # 5 runs/s: 10 s left
        update(0, 10, "latency")  # a new phase: no rate yet
        update(5, 10, "latency")  # 0.5 networks/s since the phase began: 10 s left
    lines = capsys.readouterr().err.strip().splitlines()
    assert [ln.rsplit("ETA ", 1)[-1] if "ETA" in ln else None for ln in lines] == [
        None,
        "0.2 min",
        None,
        "0.2 min",
    ]
