from __future__ import annotations

import numpy as np
import pytest

from nasbench.core.errors import (
    EpochNotAvailableError,
    MetricNotAvailableError,
    SeedNotAvailableError,
    UnknownArchitectureError,
)
from nasbench.tables.benchmark import Benchmark, TestOracle


def test_query_semantics(small_table):
    b = Benchmark(small_table)
    arch = int(small_table.arch_index[3])
    v = small_table.values[3, :, :, 0]  # valid_acc
    assert b.query(arch, "valid_acc", 2, seed=0) == pytest.approx(v[0, 1])
    assert b.query(arch, "valid_acc", 2, seed=1) == pytest.approx(v[1, 1])
    assert b.query(arch, "valid_acc", 2) == pytest.approx(v[:, 1].mean(), rel=1e-6)
    assert b.query(arch, "valid_acc") == pytest.approx(v[:, -1].mean(), rel=1e-6)  # last epoch by default
    drawn = {b.query(arch, "valid_acc", 2, seed=np.random.default_rng(k)) for k in range(40)}
    assert sorted(drawn) == pytest.approx(sorted(map(float, v[:, 1])))
    epochs, curve = b.curve(arch, "valid_acc", seed=1)
    assert epochs.tolist() == [1, 2, 3, 4] and np.allclose(curve, v[1])
    assert b.cost(arch, 3, seed=0) == pytest.approx(small_table.values[3, 0, 2, 3])


def test_vectorised_equals_scalar(small_table):
    b = Benchmark(small_table)
    rng = np.random.default_rng(0)
    archs = rng.choice(small_table.arch_index, 200)
    epochs = rng.integers(1, 5, 200)
    batch = b.query_many(archs, "valid_acc", epochs, seed=1)
    single = [b.query(int(a), "valid_acc", int(e), seed=1) for a, e in zip(archs, epochs, strict=True)]
    assert np.allclose(batch, single)
    assert np.allclose(
        b.query_many(archs, "valid_acc", epochs),
        [b.query(int(a), "valid_acc", int(e)) for a, e in zip(archs, epochs, strict=True)],
    )
    noisy1 = b.query_many(archs, "valid_acc", 4, seed=np.random.default_rng(9))
    noisy2 = b.query_many(archs, "valid_acc", 4, seed=np.random.default_rng(9))
    assert np.array_equal(noisy1, noisy2)
    per_seed = np.stack([b.query_many(archs, "valid_acc", 4, seed=s) for s in (0, 1)], 1)
    assert np.all(np.isclose(noisy1[:, None], per_seed).any(1))
    assert b.curves(archs[:5], "valid_acc", seed=0).shape == (5, 4)
    assert np.allclose(b.cost_many(archs, epochs, seed=0), b.query_many(archs, "time_s", epochs, seed=0))


def test_random_seed_skips_missing_seeds(small_table):
    from nasbench.tables.table import ResultTable

    vals = small_table.values.copy()
    vals[0, 1] = np.nan  # seed 1 of arch 0 missing
    t = ResultTable(
        small_table.space,
        small_table.arch_index,
        small_table.seeds,
        small_table.epochs,
        small_table.metrics,
        vals,
        small_table.diverged,
    )
    b = Benchmark(t)
    arch = int(t.arch_index[0])
    got = b.query_many(np.full(100, arch), "valid_acc", 4, seed=np.random.default_rng(0))
    assert np.all(np.isclose(got, vals[0, 0, 3, 0]))
    assert b.query(arch, "valid_acc", 4) == pytest.approx(vals[0, 0, 3, 0])  # mean ignores the missing seed


def test_isomorphic_architectures_answer_alike(small_table):
    b = Benchmark(small_table)
    space = small_table.space
    reps = space.iso_representatives()
    stored = set(small_table.arch_index.tolist())
    members = [i for i in range(space.size) if reps[i] in stored and i not in stored][:20]
    assert members, "the synthetic table must have isomorphs outside it"
    for i in members:
        assert b.query(i, "valid_acc", 4, seed=0) == b.query(int(reps[i]), "valid_acc", 4, seed=0)
    assert np.array_equal(
        b.query_many(members, "valid_acc", 4, 0), b.query_many(reps[members], "valid_acc", 4, 0)
    )


def test_best_and_iteration(small_table):
    b = Benchmark(small_table)
    idx, val = b.best("valid_acc", 4)
    means = small_table.values[:, :, 3, 0].mean(1)
    assert val == pytest.approx(means.max(), rel=1e-6)
    assert idx == small_table.arch_index[int(np.argmax(means))]
    assert b.best("train_loss", 4)[1] == pytest.approx(small_table.values[:, :, 3, 2].mean(1).min(), rel=1e-6)
    assert len(list(b)) == len(b) == 40
    assert str(next(iter(b))) == small_table.space.to_str(int(small_table.arch_index[0]))


def test_named_errors_say_what_is_available(small_table):
    b = Benchmark(small_table)
    arch = int(small_table.arch_index[0])
    with pytest.raises(EpochNotAvailableError, match="available epochs: 1, 2, 3, 4"):
        b.query(arch, "valid_acc", 7)
    with pytest.raises(EpochNotAvailableError):
        b.query_many([arch], "valid_acc", [0])
    with pytest.raises(MetricNotAvailableError, match="available: valid_acc, train_loss, time_s"):
        b.query(arch, "train_acc")
    with pytest.raises(SeedNotAvailableError, match=r"available seeds: \[0, 1\]"):
        b.query(arch, "valid_acc", 1, seed=5)
    missing = next(i for i in range(small_table.space.size) if not b.covered()[i])
    with pytest.raises(UnknownArchitectureError, match="not in the table"):
        b.query(missing)


def test_test_metrics_only_through_oracle(small_table):
    b = Benchmark(small_table)
    arch = int(small_table.arch_index[0])
    with pytest.raises(MetricNotAvailableError, match="test metric"):
        b.query(arch, "test_acc")
    with pytest.raises(MetricNotAvailableError):
        b.query_many([arch], "test_acc")
    assert "test_acc" not in b.metrics
    oracle = TestOracle(small_table)
    assert oracle.query(arch, "test_acc", 4, seed=0) == pytest.approx(small_table.values[0, 0, 3, 1])


def test_real_nb201_best_matches_published_reference(nb201_table):
    b = Benchmark(nb201_table)
    idx, val = b.best("valid_acc", 200)
    assert val == pytest.approx(
        91.61, abs=0.01
    )  # shared/data/README: best CIFAR-10 valid mean 91.61 (index 6111)
    row = b.row(idx)
    assert nb201_table.arch_columns["nb201_index"][row] == 6111
