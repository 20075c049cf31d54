"""Every live-training option of ``search`` and ``compare`` reaches the ``train`` backend's
settings, each by its own name.

The settings used to be built from the command's ``locals()``: renaming an option (or
assigning a local of the same name before the call) dropped or changed a setting with no
error. Here each command runs in-process with a non-default value for every such option,
stopped right after the settings are built, and each value is checked where it lands.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import typer

import nasbench.cli.search_cmds as search_cmds
from nasbench.cli import main
from nasbench.train.recipe import PRESETS


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The live settings each command builds; the command stops right after building them."""
    configs: list[Any] = []
    real = search_cmds._live_config

    def record(*args: Any, **kwargs: Any) -> Any:
        configs.append(real(*args, **kwargs))
        raise typer.Exit(0)

    monkeypatch.setattr(search_cmds, "_live_config", record)
    return configs


def _live_options(tmp_path: Path) -> tuple[list[str], dict[str, Any]]:
    """Command-line options off every default, and the settings they must give."""
    scores = tmp_path / "scores.json"
    reference = tmp_path / "reference.parquet"
    argv = [
        "--evaluator", "train",
        "--dataset", "npz:" + str(tmp_path / "data.npz"),
        "--space", "mlp",
        "--recipe", "mlp-digits",
        "--workers", "3",
        "--inherit",
        "--inherit-epochs", "1",
        "--keep-checkpoints", "5",
        "--executor", "ray",
        "--ray-address", "127.0.0.1:6379",
        "--reference", str(reference),
        "--scores", str(scores),
        "--out", str(tmp_path / "run"),
    ]  # fmt: skip
    expected = {
        "dataset": "npz:" + str(tmp_path / "data.npz"),
        "out": tmp_path / "run",
        "space": "mlp",
        "recipe": PRESETS["mlp-digits"],
        "workers": 3,
        "inherit": True,
        "inherit_epochs": 1,
        "keep_checkpoints": 5,
        "executor": "ray",
        "ray_address": "127.0.0.1:6379",
        "reference": reference,
        "scores": (scores.resolve(),),
        "table": tmp_path / "reused.parquet",
    }
    return argv, expected


def _check(config: Any, expected: dict[str, Any]) -> None:
    fields = {f.name for f in dataclasses.fields(config)}
    assert set(expected) <= fields, (
        f"settings the CLI sets that the config no longer has: {set(expected) - fields}"
    )
    got = {name: getattr(config, name) for name in expected}
    assert got == expected


@pytest.mark.parametrize("command", ["search", "compare"])
def test_every_live_option_reaches_the_settings(command: str, tmp_path: Path, built: list[Any]) -> None:
    argv, expected = _live_options(tmp_path)
    specific = ["--strategy", "re"] if command == "search" else ["--strategies", "re", "--seeds", "1"]
    code = main([command, str(tmp_path / "reused.parquet"), "--budget", "4", *specific, *argv])
    assert code == 0 and len(built) == 1
    _check(built[0], expected)


def test_the_live_defaults_reach_the_settings(tmp_path: Path, built: list[Any]) -> None:
    code = main(
        ["search", "--evaluator", "train", "--strategy", "re", "--budget", "4", "--out", str(tmp_path)]
    )
    assert code == 0 and len(built) == 1
    _check(
        built[0],
        {
            "dataset": "digits",
            "recipe": PRESETS["digits"],
            "space": "nb201",
            "workers": 8,
            "inherit": False,
            "keep_checkpoints": 64,
            "executor": "local",
            "ray_address": None,
            "table": None,
            "reference": None,
            "scores": (),
        },
    )


def test_noise_mean_is_refused_for_live_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["search", "--evaluator", "train", "--strategy", "re", "--budget", "4", "--noise", "mean"]
        + ["--out", str(tmp_path)]
    )
    assert code == 2 and "--noise mean needs a table" in capsys.readouterr().err
