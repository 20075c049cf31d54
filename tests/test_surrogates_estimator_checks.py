"""Every registered surrogate through scikit-learn's estimator checks.

The checks feed generic numeric data, so the surrogates run with ``space=None`` (column
0 is used as a plain number instead of an architecture index) and with lighter members
(fewer trees and boosting rounds, two folds) to keep the suite fast; the code paths are
the registered ones. Expected failures are listed with their reasons below, as strict
expected failures: one that starts passing fails the run.
"""

from __future__ import annotations

from typing import Any

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from surrogates import SURROGATES, make_surrogate
from surrogates.models import ENSEMBLE_MEMBERS

LIGHT_MEMBERS = {
    "extra_trees": {"n_estimators": 10},
    "random_forest": {"n_estimators": 10},
    "hist_gbm": {"max_iter": 30},
}

NAN_IN_INDEX = (
    "the surrogate allows NaN (unobserved epochs) only in the curve columns; this check also "
    "puts NaN in column 0, the architecture index, which must be finite"
)
CURVE_NOT_REGRESSION = (
    "columns 1..E are read as a learning curve and a fully observed row is predicted by its "
    "last value; the check's generic regression features are not a curve"
)


def _light(name: str) -> Any:
    est = make_surrogate(name, None, random_state=0)
    params = est.get_params(deep=False)
    if "members" in params:
        members = ENSEMBLE_MEMBERS if params["members"] == "auto" else params["members"]
        est.set_params(cv=2, member_params={m: p for m, p in LIGHT_MEMBERS.items() if m in members})
    if "cuts" in params:
        est.set_params(cuts=(0, 2))
    return est


ESTIMATORS = [_light(name) for name in sorted(SURROGATES)]


#: Architecture-only surrogates whose member cannot fit the check's data from column 0 alone.
#: With ``space=None`` an architecture-only model regresses on column 0 only; the tree
#: ensembles memorise it (training R^2 0.75 for the forest, 0.96 for the default ensemble)
#: and pass, while these stay under the check's R^2 > 0.5 (light boosting 0.48, GP 0.22).
UNDERFIT_ON_COLUMN_0 = {("hist_gbm",), ("gp",)}


def expected_failures(est: Any) -> dict[str, str]:
    """The checks ``est`` fails, each with its reason.

    The marks are strict (``xfail_strict=True``): a listed check that passes fails the
    test, so this list cannot go stale.
    """
    name = type(est).__name__
    out: dict[str, str] = {}
    out["check_estimators_pickle"] = NAN_IN_INDEX  # every surrogate: column 0 is the index
    if name in ("CurveSurrogate", "ParametricCurveSurrogate"):
        out["check_regressors_train"] = CURVE_NOT_REGRESSION
    if name == "ArchSurrogate" and tuple(est.get_params(deep=False)["members"]) in UNDERFIT_ON_COLUMN_0:
        out["check_regressors_train"] = (
            "with space=None an architecture-only model regresses on column 0 alone; this member "
            "stays under the check's training R^2 > 0.5 on 10-feature data"
        )
    return out


@pytest.mark.filterwarnings("ignore::UserWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures, xfail_strict=True)
def test_sklearn_estimator_checks(estimator: Any, check: Any) -> None:
    check(estimator)
