"""Shared fixtures and helpers of the test suite.

Fixtures: the team's real third-party data in ../shared/data, small tables, and a saved
synthetic table for the search-strategy tests. Plain helpers, imported by the test
modules with ``from conftest import ...`` (pytest puts tests/ on ``sys.path``):

- :func:`run_cli` and :func:`assert_one_line_error`: ``nasbench`` in a real process, and
  the check that bad input is refused with exit code 2 and one line on stderr;
- :func:`write_tiny_npz`: a tiny image dataset for the trainer and live-search tests;
- :func:`synthetic_search_table`: a smooth synthetic nb201 landscape for strategies;
- :func:`synthetic_nb201_table`, :func:`synthetic_catalog_table`, :func:`xy`,
  :func:`light`, :data:`LIGHT`, :data:`TEST_SENTINEL`: tables, design matrices and cheap
  surrogates for the surrogate tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Compile the tests' JAX programs at LLVM optimisation level 0.

    The suite compiles hundreds of small programs and runs each on a few tiny batches, so
    its time is mostly XLA:CPU compilation; level 0 halves it (measured on
    tests/test_train_population.py: 112 s -> 53 s) and the equality checks still hold.
    Set before any test imports JAX, and inherited by the ``nasbench`` processes the tests
    start (pytest-xdist workers too). The package itself is untouched: users compile at
    XLA's default level. An ``XLA_FLAGS`` that already sets the level wins.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_backend_optimization_level" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_backend_optimization_level=0".strip()


REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
NB201_CSV = SHARED_DATA / "nb201" / "nb201.csv"
METAQNN_CSV = SHARED_DATA / "curves" / "metaqnn_cifar10.csv"


@pytest.fixture()
def ray_lock(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Serialise the tests that start a local Ray instance: pytest-xdist runs tests in
    parallel processes, and a second local instance would attach to the first."""
    from filelock import FileLock

    # under xdist, the parent of a worker's base temp dir is shared by all workers
    with FileLock(str(tmp_path_factory.getbasetemp().parent / "nasbench-ray.lock")):
        yield


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


# ---- the CLI in a real process ---------------------------------------------------------


def run_cli(
    *args: str, timeout: float = 300, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m nasbench ARGS`` in a real process, as a user runs it.

    The repository is put on ``PYTHONPATH`` so that the package imports from any ``cwd``;
    ``env`` adds to (or overrides) the current environment.
    """
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "nasbench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": pythonpath, **(env or {})},
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], fragment: str, code: int = 2) -> None:
    """``proc`` exited with ``code`` and printed exactly one non-blank line on stderr, a
    ``nasbench: error:`` line containing ``fragment`` (so no traceback either)."""
    assert proc.returncode == code, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("nasbench: error:"), proc.stderr
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in proc.stderr


# ---- a tiny image dataset for the trainer ------------------------------------------------
def write_tiny_npz(path: Path) -> Path:
    """A 4-class dataset of 112 3x3 images as an ``npz:`` file (64 train, 24 valid, 24 test).

    Tiny images keep the trainer's compiles short; the class shows as a bright diagonal pixel.
    """
    rng = np.random.default_rng(0)
    y = np.arange(112) % 4
    x = (rng.normal(size=(112, 3, 3, 1)) + y[:, None, None, None] * np.eye(3)[None, :, :, None]).astype(
        np.float32
    )
    np.savez(
        path, x_train=x[:64], y_train=y[:64], x_valid=x[64:88], y_valid=y[64:88], x_test=x[88:], y_test=y[88:]
    )
    return path


# ---- a synthetic table for the search strategies ---------------------------------------


def synthetic_search_table(n_archs: int = 120, epochs=(1, 2, 3, 4), n_seeds: int = 2, seed: int = 0):  # type: ignore[no-untyped-def]
    """A synthetic nb201 table over the first ``n_archs`` unique cells with a smooth landscape:
    accuracy grows with 3x3 convolutions, curves rise with epochs, seeds add noise."""
    from nasbench.spaces.nb201 import NB201Space
    from nasbench.tables.table import ResultTable

    space = NB201Space()
    rng = np.random.default_rng(seed)
    archs = space.unique_indices()[:: max(1, 6466 // n_archs)][:n_archs]
    ops = space.op_matrix(archs)
    quality = (
        40
        + 6 * (ops == 3).sum(1)
        + 3 * (ops == 2).sum(1)
        - 4 * (ops == 0).sum(1)
        + rng.normal(0, 2, len(archs))
    )
    ep = np.asarray(epochs, dtype=np.float64)
    frac = ep / ep[-1]
    a, s, e = len(archs), n_seeds, len(epochs)
    v = np.empty((a, s, e, 3), np.float32)
    v[..., 0] = np.clip(quality[:, None, None] * (0.6 + 0.4 * frac) + rng.normal(0, 0.7, (a, s, e)), 0, 100)
    v[..., 1] = v[..., 0] - 1.0
    cost = 10 + 5 * (ops >= 2).sum(1)
    v[..., 2] = cost[:, None, None] * ep[None, None, :] * (1 + 0.01 * rng.random((a, s, 1)))
    return ResultTable(
        space,
        archs,
        np.arange(s),
        list(epochs),
        ("valid_acc", "test_acc", "time_s"),
        v,
        np.zeros((a, s), bool),
        {},
        {"dataset": "synthetic"},
    )


@pytest.fixture(scope="session")
def search_table_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:func:`synthetic_search_table` saved as parquet (read-only: tests must not change it)."""
    path = tmp_path_factory.mktemp("tables") / "synthetic.parquet"
    synthetic_search_table().save(path)
    return path


# ---- synthetic tables and cheap models for the surrogate tests ------------------------

#: Lighter members for contract tests (behaviour, not accuracy).
LIGHT = {
    "extra_trees": {"n_estimators": 20},
    "random_forest": {"n_estimators": 20},
    "hist_gbm": {"max_iter": 20},
}
TEST_SENTINEL = 1234.5  # test_acc value: must never reach a surrogate


def synthetic_nb201_table(n_archs: int = 150, epochs: tuple[int, ...] = (1, 2, 3, 4), seed: int = 0) -> Any:
    """An nb201 table whose final accuracy depends on the cell and whose curves rise as
    ``final - a * epoch**-alpha``; test_acc holds a sentinel that must stay unseen."""
    from nasbench.spaces.nb201 import NB201Space
    from nasbench.tables.table import ResultTable

    space = NB201Space()
    rng = np.random.default_rng(seed)
    archs = np.sort(rng.choice(space.unique_indices(), n_archs, replace=False))
    feats = space.encode(archs, "features")
    final = (
        50
        + 4 * feats[:, 5]
        + 2 * feats[:, 4]
        + 3 * feats[:, 1]
        - 8 * (feats[:, 0] == 0)
        + rng.normal(0, 1, n_archs)
    )
    ep = np.asarray(epochs, dtype=np.float64)
    gap = rng.uniform(5, 25, n_archs)
    alpha = rng.uniform(0.5, 1.5, n_archs)
    shape = (ep / ep[-1])[None, :] ** -alpha[:, None] - 1  # 0 at the last epoch
    curve = final[:, None] - gap[:, None] * shape / shape[:, :1]
    s = 2
    values = np.empty((n_archs, s, len(ep), 3), dtype=np.float32)
    values[..., 0] = np.clip(curve[:, None, :] + rng.normal(0, 0.3, (n_archs, s, len(ep))), 0, 100)
    values[..., 1] = TEST_SENTINEL
    values[..., 2] = ep[None, None, :] * 10.0
    return ResultTable(
        space,
        archs,
        [0, 1],
        ep.astype(int),
        ("valid_acc", "test_acc", "time_s"),
        values,
        np.zeros((n_archs, s), bool),
        {},
        {"dataset": "synthetic-nb201"},
    )


def synthetic_catalog_table(n: int = 120, n_epochs: int = 8, seed: int = 1) -> Any:
    """A catalog table of pow3-like curves with two feature columns (one log-scaled)."""
    from nasbench.spaces.catalog import CatalogSpace
    from nasbench.tables.table import ResultTable

    rng = np.random.default_rng(seed)
    params = 10 ** rng.uniform(3.5, 6.5, n)
    depth = rng.integers(2, 10, n).astype(float)
    final = 40 + 5 * np.log10(params) + 1.5 * depth + rng.normal(0, 1.5, n)
    ep = np.arange(1, n_epochs + 1, dtype=np.float64)
    a = rng.uniform(10, 30, n)
    curve = final[:, None] - a[:, None] * (ep[None, :] ** -0.8 - ep[-1] ** -0.8)
    space = CatalogSpace(
        [f"net{i}" for i in range(n)], np.column_stack([params, depth]), ["num_params", "depth"]
    )
    values = np.empty((n, 1, n_epochs, 2), dtype=np.float32)
    values[:, 0, :, 0] = np.clip(curve, 0, 100)
    values[:, 0, :, 1] = ep * 1.0
    return ResultTable(
        space,
        np.arange(n),
        [0],
        ep.astype(int),
        ("valid_acc", "time_s"),
        values,
        np.zeros((n, 1), bool),
        {"num_params": params, "depth": depth},
        {"dataset": "synthetic-curves"},
    )


def xy(table: Any, rows: np.ndarray | None = None, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Design matrix (curves observed for ``k`` epochs; all when None) and final values."""
    from nasbench.tables.benchmark import Benchmark
    from surrogates.inputs import design

    b = Benchmark(table)
    rows = np.arange(table.n_archs) if rows is None else rows
    archs = table.arch_index[rows]
    y = b.values_at("valid_acc", int(table.epochs[-1]))[rows].astype(float)
    return design(archs, len(table.epochs), b.curves(archs, seed="mean").astype(float), observed=k), y


def light(name: str, table: Any, random_state: int = 0, **params: Any) -> Any:
    """The registered surrogate ``name`` for ``table``, its ensemble members made cheap (:data:`LIGHT`)."""
    import surrogates as S
    from surrogates.models import ENSEMBLE_MEMBERS

    est = S.make_surrogate(
        name, table.space, epochs=table.epochs.tolist(), random_state=random_state, **params
    )
    if "member_params" in est.get_params(deep=False):
        members = est.get_params(deep=False)["members"]
        members = ENSEMBLE_MEMBERS if members == "auto" else members
        bases = {m.partition("@")[0] for m in members}  # a plain name also reaches its "@view" members
        est.set_params(member_params={m: p for m, p in LIGHT.items() if m in bases})
    return est
