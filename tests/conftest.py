"""Shared fixtures: the team's real third-party data in ../shared/data and small tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
NB201_CSV = SHARED_DATA / "nb201" / "nb201.csv"
METAQNN_CSV = SHARED_DATA / "curves" / "metaqnn_cifar10.csv"


@pytest.fixture(scope="session")
def nb201_csv() -> Path:
    if not NB201_CSV.is_file():
        pytest.skip(f"shared NAS-Bench-201 data not found at {NB201_CSV}")
    return NB201_CSV


@pytest.fixture(scope="session")
def metaqnn_csv() -> Path:
    if not METAQNN_CSV.is_file():
        pytest.skip(f"shared MetaQNN curves not found at {METAQNN_CSV}")
    return METAQNN_CSV


@pytest.fixture(scope="session")
def nb201_table(nb201_csv):  # type: ignore[no-untyped-def]
    from nasbench.tables.importers import import_nb201

    return import_nb201(nb201_csv, "cifar10")


@pytest.fixture()
def small_table():  # type: ignore[no-untyped-def]
    """A synthetic nb201 table over 40 unique cells, 2 seeds, epochs 1..4."""
    from nasbench.spaces.nb201 import NB201Space
    from nasbench.tables.table import ResultTable

    space = NB201Space()
    rng = np.random.default_rng(0)
    archs = space.unique_indices()[:40]
    a, s, e = len(archs), 2, 4
    values = np.empty((a, s, e, 4), dtype=np.float32)
    base = rng.uniform(30, 90, size=(a, 1, 1))
    values[..., 0] = np.clip(base + rng.normal(0, 1, (a, s, 1)) - 10 / np.arange(1, e + 1), 0, 100)
    values[..., 1] = np.clip(values[..., 0] - rng.normal(1, 1, (a, s, e)), 0, 100)
    values[..., 2] = rng.uniform(0.1, 2, (a, s, e))
    values[..., 3] = np.cumsum(rng.uniform(1, 2, (a, s, e)), axis=2)
    return ResultTable(
        space,
        archs,
        [0, 1],
        np.arange(1, e + 1),
        ("valid_acc", "test_acc", "train_loss", "time_s"),
        values,
        np.zeros((a, s), bool),
        {"params": rng.uniform(0.1, 1, a)},
        {"dataset": "synthetic"},
    )
