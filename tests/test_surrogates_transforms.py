"""Target transforms (issue 30): the automatic choice, the way back to metric units,
diverged runs and what the model file says about them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import surrogates as S
from surrogates.errors import SurrogateInputError
from surrogates.models import ArchSurrogate
from surrogates.targets import fit_target

LIGHT = {"random_forest": {"n_estimators": 20}}


def heavy_losses(n: int = 200, seed: int = 0, diverged: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``(X, scores)``: a loss that spans orders of magnitude in column 0, a few diverged runs."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 5.0, n)
    loss = np.exp(x - 6.0 + rng.normal(0.0, 0.2, n))
    loss[:diverged] = 1e5 * (1.0 + rng.uniform(size=diverged))
    X = np.column_stack([x, np.full(n, np.nan)])
    return X, -loss


def accuracies(n: int = 200, seed: int = 0) -> np.ndarray:
    """Accuracy-like scores: a bulk near 88% and a few failed runs at 10%."""
    rng = np.random.default_rng(seed)
    acc = 88.0 + rng.normal(0.0, 2.0, n)
    acc[:10] = 10.0
    return acc


def light_arch(**kw: Any) -> ArchSurrogate:
    return ArchSurrogate(members=("random_forest",), cv=3, member_params=LIGHT, random_state=0, **kw)


def test_auto_picks_a_log_scale_for_heavy_tailed_losses_and_identity_otherwise() -> None:
    X, y = heavy_losses()
    tt, keep = fit_target(y, "auto", "cap", lambda: X[:, :1], random_state=0)
    assert tt.kind in ("log", "quantile") and tt.sign == -1 and keep.all()
    assert set(tt.info["candidates_oof_tau"]) == {"log", "quantile"}
    for y2 in (accuracies(), np.random.default_rng(1).normal(size=100)):  # left tail; both signs
        tt2, _ = fit_target(y2, "auto", "cap")
        assert tt2.kind == "identity" and tt2.info["diverged"]["flagged"] == 0
    with pytest.raises(SurrogateInputError, match="one strict sign"):
        fit_target(np.array([-1.0, 0.5, 2.0]), "log", "cap")
    with pytest.raises(SurrogateInputError, match="target must be"):
        fit_target(y, "sqrt", "cap")


@pytest.mark.parametrize("kind", ["log", "quantile"])
def test_transform_round_trips_to_metric_units(kind: str) -> None:
    X, y = heavy_losses(diverged=0)
    tt, _ = fit_target(y, kind, "cap")
    np.testing.assert_allclose(tt.inverse(tt.transform(y)), y, rtol=1e-6)
    model = light_arch(target=kind).fit(X, y)
    mean, std = model.predict(X, return_std=True)
    lo, hi = model.predict_interval(X)
    # score units: minus a loss, within the training range; intervals around the mean
    assert np.all(mean < 0) and mean.min() >= y.min() - 1e-9 and mean.max() <= y.max() + 1e-9
    assert np.all(lo <= mean + 1e-12) and np.all(mean <= hi + 1e-12) and np.all(std > 0)
    assert np.corrcoef(np.log(-mean), np.log(-y))[0, 1] > 0.9


def test_diverged_runs_are_capped_dropped_or_kept_as_asked() -> None:
    X, y = heavy_losses(diverged=4)
    cap, keep = fit_target(y, "log", "cap")
    assert cap.info["diverged"]["flagged"] == 4 and keep.all()
    assert cap.transform(y)[:4].max() == pytest.approx(cap.cap)  # at the fence, still the worst
    assert cap.transform(y)[:4].max() <= cap.transform(y)[4:].min()
    _, keep = fit_target(y, "log", "drop")
    assert keep.sum() == len(y) - 4 and not keep[:4].any()
    kept, keep = fit_target(y, "log", "keep")
    assert keep.all() and kept.info["diverged"]["flagged"] == 4 and kept.cap == -np.inf
    with pytest.raises(SurrogateInputError, match="diverged must be"):
        fit_target(y, "log", "ignore")


@pytest.mark.parametrize("target", ["auto", "quantile"])  # quantile: a scikit-learn transformer inside
def test_model_file_records_the_transform_and_diverged_runs(target: str, tmp_path: Path) -> None:
    X, y = heavy_losses(diverged=4)
    model = light_arch(target=target).fit(X, y)
    meta = {"table_hash": "sha256:test", "space": {"name": None}, "direction": "min"}
    written = S.save_model(model, tmp_path / "m.skops", table_meta=meta)
    back, saved = S.load_model(tmp_path / "m.skops", return_meta=True)
    rec = saved["target"]
    assert rec == json.loads(json.dumps(written["target"]))
    assert rec["transform"] == model.target_transform_.kind != "identity"
    div = rec["diverged"]
    assert div["policy"] == "cap" and div["flagged"] == 4 and "capped" in div["treatment"]
    assert div["threshold_metric"] == pytest.approx(-div["threshold_score"]) and div["threshold_metric"] > 0
    for a, b in zip(model.predict(X, return_std=True), back.predict(X, return_std=True), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_model_saved_before_target_transforms_loads_and_keeps_its_scale(tmp_path: Path) -> None:
    import skops.io as sio

    X, y = heavy_losses(diverged=0)
    model = light_arch(target="identity").fit(X, y)
    expected = model.predict(X, return_std=True)
    old = model.__dict__
    for k in ("target", "diverged", "target_transform_"):
        old.pop(k)  # what the old code's __init__ and fit left on the model
    envelope = {
        "format": "nasbench-surrogate",
        "format_version": 1,
        "meta": json.dumps({"space": {}}),
        "model": model,
    }
    (tmp_path / "old.skops").write_bytes(sio.dumps(envelope))
    back = S.load_model(tmp_path / "old.skops")
    assert back.get_params()["target"] == "identity" and back.get_params()["diverged"] == "keep"
    for a, b in zip(expected, back.predict(X, return_std=True), strict=True):
        np.testing.assert_array_equal(a, b)
