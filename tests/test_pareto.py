"""Pareto ranks, fronts and the hypervolume against brute force on small random sets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nasbench.core.errors import ConfigError
from nasbench.core.pareto import (
    Constraint,
    Criterion,
    hypervolume,
    hypervolume_curve,
    pareto_front,
    pareto_ranks,
    parse_constraints,
    parse_objectives,
)


def _dominates(a: np.ndarray, b: np.ndarray) -> bool:  # minimising
    return bool((a <= b).all() and (a < b).any())


def _brute_ranks(q: np.ndarray) -> np.ndarray:
    left = set(range(len(q)))
    ranks = np.zeros(len(q), dtype=np.int64)
    r = 1
    while left:
        front = {i for i in left if not any(_dominates(q[j], q[i]) for j in left if j != i)}
        for i in front:
            ranks[i] = r
        left -= front
        r += 1
    return ranks


def _brute_hv(q: np.ndarray, ref: np.ndarray) -> float:
    """Exact HV (minimising) on the grid the points' coordinates make."""
    q = q[(q < ref).all(axis=1)]
    if not len(q):
        return 0.0
    axes = [np.unique(np.concatenate([q[:, d], [ref[d]]])) for d in range(q.shape[1])]
    total = 0.0
    for cell in itertools.product(*[range(len(a) - 1) for a in axes]):
        lo = np.array([axes[d][c] for d, c in enumerate(cell)])
        hi = np.array([axes[d][c + 1] for d, c in enumerate(cell)])
        if (q <= lo).all(axis=1).any():
            total += float(np.prod(hi - lo))
    return total


@pytest.mark.parametrize("k", [2, 3])
def test_ranks_front_and_hypervolume_match_brute_force(k: int) -> None:
    rng = np.random.default_rng(k)
    for trial in range(15):
        n = int(rng.integers(1, 14))
        # coarse values so that ties and equal points occur
        pts = rng.integers(0, 6, size=(n, k)).astype(float)
        maximize = rng.random(k) < 0.5
        q = np.where(maximize, -pts, pts)
        ranks = pareto_ranks(pts, maximize)
        np.testing.assert_array_equal(ranks, _brute_ranks(q), err_msg=f"trial {trial}")
        np.testing.assert_array_equal(pareto_front(pts, maximize), ranks == 1)
        ref = np.where(maximize, -1.0, 6.0)
        assert hypervolume(pts, ref, maximize) == pytest.approx(_brute_hv(q, np.where(maximize, -ref, ref)))
        curve = hypervolume_curve(pts, ref, maximize)
        expect = [hypervolume(pts[: i + 1], ref, maximize) for i in range(n)]
        np.testing.assert_allclose(curve, expect)
        assert np.all(np.diff(curve) >= -1e-12)


def test_nan_points_are_unranked_and_add_no_volume() -> None:
    pts = np.array([[1.0, 1.0], [np.nan, 0.0], [2.0, 2.0]])
    mx = [True, False]
    np.testing.assert_array_equal(pareto_ranks(pts, mx), [1, 0, 1])
    assert hypervolume(pts, [0.0, 3.0], mx) == pytest.approx(1 * 2 + 1 * 1)
    assert hypervolume(np.zeros((0, 2)), [0.0, 3.0], mx) == 0.0


def test_spelling_defaults_and_errors() -> None:
    objs = parse_objectives("valid_acc,params,arch:flops,valid_loss:max")
    assert objs == (
        Criterion("valid_acc", "max"),
        Criterion("params", "min"),
        Criterion("flops", "min"),
        Criterion("valid_loss", "max"),
    )
    assert parse_objectives("latency_ms,synflow")[1].direction == "max"
    for bad in ("valid_acc", "valid_acc,valid_acc", "valid_acc,params:up", "valid_acc,"):
        with pytest.raises(ConfigError):
            parse_objectives(bad)
    cons = parse_constraints(["params=2e5", "arch:latency_ms=3"], ["valid_acc=90"])
    assert cons == (
        Constraint("params", 2e5, "max"),
        Constraint("latency_ms", 3.0, "max"),
        Constraint("valid_acc", 90.0, "min"),
    )
    np.testing.assert_array_equal(
        cons[0].holds(np.array([1e5, 2e5, 3e5, np.nan])), [True, True, False, False]
    )
    for bad in ("params", "params=x", "=3", "params=inf"):
        with pytest.raises(ConfigError):
            parse_constraints([bad])
