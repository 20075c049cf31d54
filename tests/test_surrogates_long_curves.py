"""Long learning curves (issue 30): the fit's cost stops growing with the curve's length."""

from __future__ import annotations

import numpy as np

from surrogates.combined import CurveSurrogate
from surrogates.encoders import CurveFeatures


def curves(n: int, epochs: int, seed: int = 0) -> np.ndarray:
    """``X (n, 1 + epochs)``: index, then saturating noisy accuracy curves."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, epochs + 1)
    C = 80 * (1 - np.exp(-t[None, :] / rng.uniform(3, 0.3 * epochs, (n, 1)))) + rng.normal(
        0, 0.5, (n, epochs)
    )
    return np.column_stack([np.arange(n), C])


def test_short_curves_keep_every_cut_and_long_ones_a_logarithmic_grid() -> None:
    model = CurveSurrogate()
    for e in (1, 6, 20):
        assert model._cut_list(e) == list(range(e))
    counts = {e: len(model._cut_list(e)) for e in (35, 70, 140, 1000)}
    assert counts[140] <= 25 and counts[1000] <= 36 and counts[35] <= counts[70] <= counts[140]
    for e in (35, 140, 1000):
        cuts = np.asarray(model._cut_list(e))
        assert cuts[0] == 0 and cuts[-1] < e
        # a row observed to L epochs uses a cut of at least L / 1.2 (rounding aside)
        for length in range(8, e):
            used = cuts[cuts <= length].max()
            assert used >= length / 1.2 - 1


def test_curve_features_of_a_long_prefix_have_a_bounded_width() -> None:
    X = curves(30, 140)
    widths = {}
    for k in (5, 20, 35, 139):
        F = CurveFeatures(list(range(1, 141)), k, bounds=None).fit(X).transform(X)
        assert np.all(np.isfinite(F))
        widths[k] = F.shape[1]
    assert widths[35] == widths[139] <= 2 * 20 + 4  # 20 bin means, 19 differences, last value, fits
    assert widths[5] < widths[20]
    # the last observed value is a column of its own once the prefix is binned
    F = CurveFeatures(list(range(1, 141)), 35, bounds=None).fit(X).transform(X)
    assert np.any(np.all(np.isclose(F, X[:, 35:36]), axis=0))
    # max_points=None: every epoch, as models saved before the bins
    assert CurveFeatures(list(range(1, 141)), 35, max_points=None).fit(X).transform(X).shape[1] > widths[35]


def test_a_long_curve_model_predicts_from_every_observed_length() -> None:
    X = curves(40, 60)
    model = CurveSurrogate(cv=2, random_state=0, members=("ridge",), target="identity", cuts="long").fit(
        X, X[:, -1]
    )
    assert len(model.cuts_) < 60
    for k in (0, 9, 30, 59):
        Xk = X.copy()
        Xk[:, 1 + k :] = np.nan
        mean, std = model.predict(Xk, return_std=True)
        assert np.all(np.isfinite(mean)) and np.all(std >= 0)
