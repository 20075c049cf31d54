"""Parametric curve families: recovery of known curves, vectorised speed, fallbacks, bad input."""

from __future__ import annotations

import time

import numpy as np
import pytest

from surrogates.curves import FAMILIES, extrapolate, fit_curves
from surrogates.errors import SurrogateInputError

EPOCHS = np.arange(1, 21, dtype=np.float64)


def test_every_family_is_linear_given_its_shape_parameters() -> None:
    s = EPOCHS / EPOCHS[-1]
    for name, fam in FAMILIES.items():
        phi = fam.basis(s, EPOCHS, fam.grid)
        assert phi.shape == (len(fam.grid), len(s), fam.n_linear), name


@pytest.mark.parametrize(
    ("family", "curve"),
    [
        ("pow3", lambda t: 80 - 30 * (t / 20) ** -0.7 + 30),
        ("exp3", lambda t: 75 - 40 * np.exp(-3.0 * t / 20)),
        ("janoschek", lambda t: 90 - (90 - 20) * np.exp(-2.0 * (t / 20) ** 0.8)),
        ("ilog2", lambda t: 70 - 25 / np.log(t + 1)),
    ],
)
def test_a_family_extrapolates_its_own_curves(family: str, curve) -> None:  # type: ignore[no-untyped-def]
    y = curve(EPOCHS)
    Y = np.where(EPOCHS[None, :] <= 8, y[None, :], np.nan)  # first 8 of 20 epochs observed
    pred = extrapolate(family, EPOCHS, Y)
    assert pred[0] == pytest.approx(y[-1], abs=1.5)  # 12 epochs beyond the data


def test_combined_fit_is_a_weighted_mean_and_near_the_truth() -> None:
    rng = np.random.default_rng(0)
    n = 200
    final = rng.uniform(50, 90, n)
    a, alpha = rng.uniform(10, 30, n), rng.uniform(0.4, 1.2, n)
    Y = (
        final[:, None]
        - a[:, None] * ((EPOCHS / 20)[None, :] ** -alpha[:, None] - 1)
        + rng.normal(0, 0.2, (n, 20))
    )
    truth = Y[:, -1].copy()
    Y[:, 10:] = np.nan
    fit = fit_curves(EPOCHS, Y)
    assert fit.finals.shape == fit.weights.shape == (n, len(FAMILIES))
    np.testing.assert_allclose(fit.weights.sum(1), 1.0)
    assert np.all(fit.weights >= 0)
    assert np.median(np.abs(fit.mean - truth)) < 2.0
    assert np.all(np.isfinite(fit.std))


def test_thousands_of_curves_fit_in_seconds() -> None:
    rng = np.random.default_rng(1)
    Y = (
        80
        - rng.uniform(5, 30, (2000, 1)) * ((EPOCHS[None, :] / 20) ** -0.5 - 1) / 4
        + rng.normal(0, 0.3, (2000, 20))
    )
    Y[:, 5:] = np.nan
    t0 = time.perf_counter()
    fit = fit_curves(EPOCHS, Y)
    elapsed = time.perf_counter() - t0
    assert fit.n_fits == 2000 * len(FAMILIES)
    assert elapsed < 20.0  # ~2 s on a busy 2-core machine; the benchmark reports the rate


def test_short_curves_fall_back_to_the_last_value_and_empty_to_nan() -> None:
    Y = np.full((3, 20), np.nan)
    Y[0, :2] = [30.0, 40.0]  # too short for any family (needs > n_params points)
    Y[1, :1] = [25.0]
    fit = fit_curves(EPOCHS, Y)
    assert fit.mean[0] == 40.0 and fit.mean[1] == 25.0 and np.isnan(fit.mean[2])
    assert np.all(fit.weights[:2] == 0)


def test_extrapolations_are_clipped_to_the_accuracy_range() -> None:
    Y = np.full((1, 20), np.nan)
    Y[0, :6] = [10, 30, 50, 70, 90, 99]  # a steep line extrapolates far above 100
    fit = fit_curves(EPOCHS, Y)
    assert np.nanmax(fit.finals) <= 100.0 and fit.mean[0] <= 100.0


def test_bad_curve_input_is_refused() -> None:
    with pytest.raises(SurrogateInputError, match="strictly increasing"):
        fit_curves([1, 3, 2], np.ones((1, 3)))
    with pytest.raises(SurrogateInputError, match="shape"):
        fit_curves([1, 2, 3], np.ones((1, 4)))
    with pytest.raises(SurrogateInputError, match="infinite"):
        fit_curves([1, 2, 3], np.array([[1.0, np.inf, 2.0]]))
    with pytest.raises(SurrogateInputError, match="unknown curve family"):
        fit_curves([1, 2, 3], np.ones((1, 3)), families=("pow9",))
