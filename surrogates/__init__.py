"""Surrogates: predictors of final accuracy from an architecture, its partial learning
curve, or both -- scikit-learn estimators with calibrated uncertainty.

Input convention: ``X`` is float ``(n, 1 + E)``; column 0 is the architecture's space
index, columns ``1..E`` the validation accuracy observed at the table's epochs (NaN
where not observed). ``fit(X, y)`` takes the final validation accuracy ``y (n,)``;
``predict(X, return_std=True)`` returns ``(mean, std)``.

Surrogates only learn from tables; they never import strategies or the trainer.
"""

from __future__ import annotations

from surrogates.errors import (
    EvaluationError,
    ModelFileError,
    SpaceMismatchError,
    SurrogateError,
    SurrogateInputError,
    TooFewPointsError,
    UnknownSurrogateError,
)
from surrogates.persistence import check_space, load_model, save_model, table_meta
from surrogates.registry import DEFAULT_SURROGATE, SURROGATES, make_surrogate

__all__ = [
    "DEFAULT_SURROGATE",
    "SURROGATES",
    "EvaluationError",
    "ModelFileError",
    "SpaceMismatchError",
    "SurrogateError",
    "SurrogateInputError",
    "TooFewPointsError",
    "UnknownSurrogateError",
    "check_space",
    "load_model",
    "make_surrogate",
    "save_model",
    "table_meta",
]
