"""A new search space is one subclass: a toy space, defined only here, goes through the
table, a surrogate's fit, save and load, search strategies and the leaderboard with no
change to library code (the ``SearchSpace`` contract and ``register_space`` alone)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasbench import spaces
from nasbench.core.errors import ArchitectureError
from nasbench.experiments.leaderboard import LeaderboardConfig, leaderboard
from nasbench.experiments.search import search_table
from nasbench.spaces.base import SearchSpace
from nasbench.tables.table import ResultTable
from strategies.runner import Budget, RunConfig
from surrogates import load_model
from surrogates.api import fit_and_save

WIDTHS = (8, 16, 32, 64)
LAYERS = 3


@dataclass(frozen=True)
class Stack:
    """A toy architecture: a width per layer."""

    widths: tuple[int, ...]

    def __str__(self) -> str:
        return "-".join(map(str, self.widths))


class StackSpace(SearchSpace):
    """Every stack of 3 layers with 4 widths each: 64 architectures."""

    name = "toy_stacks"

    def __init__(self, layers: int = LAYERS) -> None:
        self.layers = int(layers)
        self._all = np.array(list(itertools.product(range(len(WIDTHS)), repeat=self.layers)), dtype=np.int64)

    def config(self) -> dict[str, Any]:
        return {"layers": self.layers}

    @property
    def size(self) -> int:
        return len(self._all)

    def parse(self, text: str) -> Stack:
        try:
            widths = tuple(int(w) for w in text.split("-"))
        except ValueError:
            raise ArchitectureError(f"a stack is written like 8-16-32, got {text!r}") from None
        if len(widths) != self.layers or any(w not in WIDTHS for w in widths):
            raise ArchitectureError(f"a stack has {self.layers} widths from {WIDTHS}, got {text!r}")
        return Stack(widths)

    def arch(self, index: int) -> Stack:
        i = int(self.check_indices([index])[0])
        return Stack(tuple(WIDTHS[k] for k in self._all[i]))

    def index(self, arch: Any) -> int:
        if isinstance(arch, str) and not arch.strip().isdigit():
            arch = self.parse(arch)
        if isinstance(arch, Stack):
            digits = [WIDTHS.index(w) for w in arch.widths]
            return int(np.ravel_multi_index(digits, (len(WIDTHS),) * self.layers))
        return int(self.check_indices([int(arch)])[0])

    def neighbours(self, index: int) -> np.ndarray:
        digits = self._all[int(self.check_indices([index])[0])]
        out = []
        for layer, k in itertools.product(range(self.layers), range(len(WIDTHS))):
            if k != digits[layer]:
                other = digits.copy()
                other[layer] = k
                out.append(np.ravel_multi_index(other, (len(WIDTHS),) * self.layers))
        return np.array(sorted(out), dtype=np.int64)

    @property
    def encodings(self) -> tuple[str, ...]:
        return ("onehot", "log_width")

    def encode(self, indices: Sequence[int] | np.ndarray, kind: str) -> np.ndarray:
        idx = self.check_indices(indices)
        digits = self._all[idx]
        if kind == "onehot":
            out = np.zeros((len(idx), self.layers * len(WIDTHS)), dtype=np.float32)
            out[np.arange(len(idx))[:, None], np.arange(self.layers) * len(WIDTHS) + digits] = 1.0
            return out
        if kind == "log_width":
            return np.log2(np.asarray(WIDTHS, dtype=np.float32)[digits])
        raise self._unknown_encoding(kind)


@pytest.fixture()
def toy_table_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A table over every toy stack: 2 seeds, epochs 1..4; accuracy grows with total width."""
    monkeypatch.setitem(spaces.SPACES, StackSpace.name, lambda: StackSpace)  # undone after the test
    spaces.register_space(StackSpace.name, StackSpace)
    space = StackSpace()
    rng = np.random.default_rng(0)
    archs = np.arange(space.size)
    quality = space.encode(archs, "log_width").sum(1)  # 9 .. 18
    final = 40 + 3 * quality + rng.normal(0, 0.5, space.size)
    epochs = np.arange(1, 5)
    values = np.empty((space.size, 2, 4, 2), dtype=np.float32)
    values[..., 0] = final[:, None, None] - 20 / epochs + rng.normal(0, 0.3, (space.size, 2, 4))
    values[..., 1] = np.cumsum(rng.uniform(1, 2, (space.size, 2, 4)), axis=2)
    table = ResultTable(
        space,
        archs,
        [0, 1],
        epochs,
        ("valid_acc", "time_s"),
        values,
        np.zeros((space.size, 2), bool),
        {},
        {"dataset": "toy"},
    )
    path = tmp_path / "toy.parquet"
    table.save(path)
    return path


def test_the_toy_space_round_trips_through_a_table(toy_table_file: Path) -> None:
    table = ResultTable.load(toy_table_file)
    assert isinstance(table.space, StackSpace) and table.space.layers == LAYERS
    assert table.space.to_str(table.space.index("8-64-16")) == "8-64-16"
    assert table.n_archs == 64


def test_fit_save_load_predict_on_the_toy_space(toy_table_file: Path, tmp_path: Path) -> None:
    model_file = tmp_path / "toy.skops"
    meta = fit_and_save(toy_table_file, "ensemble", model_file, random_state=0)
    assert meta["space"]["name"] == "toy_stacks"
    table = ResultTable.load(toy_table_file)
    model = load_model(model_file, table=table)  # the space's class is trusted because it is registered
    X = np.full((2, 5), np.nan)
    X[:, 0] = [table.space.index("8-8-8"), table.space.index("64-64-64")]
    small, large = model.predict(X)
    assert large > small + 10  # the true gap is 27 points: the encodings reach the surrogate


@pytest.mark.parametrize("strategy", ["rs", "re", "ls", "hb", "re+es", "bananas"])
def test_strategies_search_the_toy_space(toy_table_file: Path, strategy: str) -> None:
    config = RunConfig(Budget.parse("20"))
    traj, summary = search_table(toy_table_file, strategy, seed=1, config=config)
    again, _ = search_table(toy_table_file, strategy, seed=1, config=config)
    assert traj.same_evaluations(again)
    assert len(traj) > 0 and np.all((traj["arch"] >= 0) & (traj["arch"] < 64))
    assert summary["incumbent"] is not None


def test_leaderboard_on_the_toy_space(toy_table_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "board.json"
    result = leaderboard(LeaderboardConfig("ensemble", top=5, fmt="json"), out, table=toy_table_file)
    entries = json.loads(out.read_text())["entries"]
    assert len(entries) == 5 == len(result["entries"])
    quality = [sum(np.log2(int(w)) for w in e["arch"].split("-")) for e in entries]
    assert entries[0]["arch"] == "64-64-64"  # the best stack, 3 points clear of the next
    assert min(quality) >= 16  # the next four come from the 7 stacks 1-2 points behind it
