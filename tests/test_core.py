"""The core plumbing, tested once: JSON, resume manifests and the typed config mechanism."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from nasbench.core.config import build_config, coerce, parse_assignments, read_config_file
from nasbench.core.errors import ConfigError, NasbenchError
from nasbench.core.io import dumps_json, jsonable, write_json
from nasbench.core.manifest import check_manifest, write_manifest


def test_json_is_valid_and_numpy_aware(tmp_path: Path) -> None:
    obj = {
        "a": np.float32(1.5),
        "b": [math.nan, np.int64(3)],
        "c": (1, math.inf),
        "d": np.arange(2),
        "p": tmp_path,
    }
    assert json.loads(dumps_json(obj)) == {
        "a": 1.5,
        "b": [None, 3],
        "c": [1, None],
        "d": [0, 1],
        "p": str(tmp_path),
    }
    assert math.isnan(jsonable(math.nan, finite=False))
    write_json(tmp_path / "x.json", obj)
    assert (tmp_path / "x.json").read_text().endswith("}\n") and "NaN" not in (
        tmp_path / "x.json"
    ).read_text()


def test_manifest_resumes_equal_settings_and_names_what_differs(tmp_path: Path) -> None:
    path = tmp_path / "job.json"
    body = {"kind": "x", "run": {"budget": 10, "seeds": (1, 2)}, "hash": "h1"}
    assert check_manifest(path, body, what="a job") is False  # nothing stored: a new job
    write_manifest(path, body)
    assert check_manifest(path, body, what="a job") is True  # tuples read back as lists
    other = {"kind": "x", "run": {"budget": 20, "seeds": (1, 2)}, "hash": "h2"}
    with pytest.raises(
        ConfigError, match=r"holds a job with different settings \(run.budget: 10 -> 20\)"
    ) as err:
        check_manifest(path, other, what="a job", quiet=("hash",))
    assert "\n" not in str(err.value)
    path.write_text("[1, 2]")
    with pytest.raises(NasbenchError, match="not a JSON object"):
        check_manifest(path, body, what="a job")


@dataclass(frozen=True)
class _Config:
    size: int
    rate: float = 0.5
    mode: Literal["fast", "exact"] = "fast"
    sizes: tuple[int, ...] = (1, 2)
    limit: int | None = None
    on: bool = False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"size": 1, "colour": 2},
            r"cfg has no parameter\(s\) colour; parameters: limit, mode, on, rate, size, sizes",
        ),
        ({}, "cfg needs 'size'"),
        ({"size": "3"}, "cfg parameter 'size' must be int, got '3'"),
        ({"size": True}, "cfg parameter 'size' must be int, got True"),
        ({"size": 1, "mode": "slow"}, "cfg parameter 'mode' must be one of 'fast'|'exact', got 'slow'"),
        ({"size": 1, "sizes": [1, "a"]}, "cfg parameter 'sizes' must be int, got 'a'"),
        ({"size": 1, "limit": 1.5}, "cfg parameter 'limit' must be int or none, got 1.5"),
    ],
)
def test_config_errors_name_the_key_the_type_and_the_choices(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config(_Config, data, who="cfg")


def test_config_from_files_command_line_and_levels_alike(tmp_path: Path) -> None:
    assert build_config(_Config, {"size": 3, "sizes": [4, 5], "rate": 1}, who="cfg") == _Config(
        3, 1, sizes=(4, 5)
    )
    words = parse_assignments(["size=3", "rate=1", "on=yes", "limit=none", "sizes=4,5", "mode=exact"])
    assert build_config(_Config, words, who="cfg", text=True) == _Config(3, 1.0, "exact", (4, 5), None, True)
    (tmp_path / "c.toml").write_text('size = 3\nmode = "exact"\n')
    (tmp_path / "c.json").write_text('{"size": 3, "mode": "exact"}')
    assert read_config_file(tmp_path / "c.toml") == read_config_file(tmp_path / "c.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        read_config_file(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="must look like KEY=VALUE"):
        parse_assignments(["size"])
    assert coerce([1, 2], tuple[int, ...], "level") == (1, 2)  # an ablation factor's level


def test_atomic_writes_get_an_ordinary_files_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """mkstemp makes private files; a written table or JSON file is readable like any other."""
    import os
    import stat

    from nasbench.core.io import atomic_write_text

    path = tmp_path / "x.json"
    atomic_write_text(path, "{}")
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    path.chmod(0o600)  # a file the user made private stays private when rewritten
    atomic_write_text(path, "{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
