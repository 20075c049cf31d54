"""The informativeness figures on synthetic tables with known answers."""

from __future__ import annotations

import numpy as np

from nasbench.spaces.nb201 import NB201Space
from nasbench.tables.table import ResultTable
from nasbench.train.informativeness import informativeness


def _table(noise: float, spread: float, rng: np.random.Generator) -> ResultTable:
    space = NB201Space()
    archs = space.unique_indices()[:400]
    a, s, e = len(archs), 2, 8
    quality = rng.uniform(0, spread, size=(a, 1, 1))
    curve = np.linspace(0.5, 1.0, e)[None, None, :]  # still rising late
    valid = 50 + quality * curve + rng.normal(0, noise, (a, s, e))
    test = valid + rng.normal(0, noise / 4, (a, s, e))
    values = np.stack([valid, test], axis=-1).astype(np.float32)
    values[:, :, :-1, 1] = np.nan  # test at the final epoch only
    return ResultTable(
        space, archs, [0, 1], np.arange(1, e + 1), ("valid_acc", "test_acc"), values, np.zeros((a, s), bool)
    )


def test_informative_table_passes() -> None:
    info = informativeness(_table(noise=0.5, spread=40, rng=np.random.default_rng(0)))
    assert info["seed_spearman"] > 0.95 and info["valid_test_spearman"] > 0.95
    assert 25 < info["spread_p90_p10"] < 40
    assert info["late_gain"] > 5
    assert all(info["passes"].values())
    connected = NB201Space().is_connected(NB201Space().unique_indices()[:400]).sum()
    assert info["n_archs"] == connected < 400


def test_noisy_flat_table_fails() -> None:
    info = informativeness(_table(noise=5, spread=1, rng=np.random.default_rng(1)))
    assert info["seed_spearman"] < 0.5 and not info["passes"]["seed_spearman"]
    assert not info["passes"]["spread_p90_p10"]
