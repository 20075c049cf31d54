"""``import nasbench``: a light import and a small documented API over every layer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nasbench
from nasbench.evaluation import Evaluator, Trajectory


def test_import_is_light_and_every_name_resolves() -> None:
    code = (
        "import sys, nasbench; "
        "heavy = [m for m in ('jax', 'sklearn', 'flax', 'optax', 'pandas') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
    for name in nasbench.__all__:
        assert getattr(nasbench, name) is not None
    with pytest.raises(AttributeError):
        nasbench.no_such_thing  # noqa: B018


def test_search_through_the_front_door_is_reproducible() -> None:
    table = nasbench.load_table()
    ev = nasbench.open_evaluator(table)
    assert isinstance(ev, Evaluator)
    a = nasbench.search(ev, "re", seed=3, budget="40")
    b = nasbench.search(None, "re", seed=3, budget="40")  # the default table, by file
    assert isinstance(a, Trajectory) and len(a) == 40
    assert a.same_evaluations(b)
    assert a.final_regret >= 0


def test_constrained_multi_objective_evaluator_and_compare(tmp_path: Path) -> None:
    ev = nasbench.open_evaluator(objectives="valid_acc,params", maxima=["params=2e5"])
    assert ev.context.objective_names == ("params",)
    tr = nasbench.search(ev, "mo-re", seed=0, budget="20")
    params = ev.truth.objective_points(tr["arch"])[:, 1]
    assert (params <= 2e5).all()
    res = nasbench.compare(strategies=["rs", "re"], out=tmp_path / "cmp", seeds=2, budget="15", processes=1)
    assert set(res["strategies"]) == {"rs", "re"} and (tmp_path / "cmp" / "regret.png").is_file()


def test_fit_surrogate_predicts_with_uncertainty() -> None:
    from surrogates.inputs import design

    table = nasbench.load_table()
    est = nasbench.fit_surrogate(table, "rf")
    mean, std = est.predict(design(table.arch_index[:5], len(table.epochs)), return_std=True)
    assert mean.shape == std.shape == (5,) and np.isfinite(mean).all() and (std >= 0).all()
