"""Named errors of the surrogates package.

All derive from :class:`nasbench.core.errors.NasbenchError`, so the CLI prints one line and
exits with code 2. Input errors also derive from :class:`ValueError`, as scikit-learn's
estimator checks expect.
"""

from __future__ import annotations

from nasbench.core.errors import NasbenchError


class SurrogateError(NasbenchError):
    """Base class of surrogate errors."""


class UnknownSurrogateError(SurrogateError, KeyError):
    """A surrogate name is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SurrogateInputError(SurrogateError, ValueError):
    """``X`` or ``y`` is malformed: wrong shape, non-finite values, bad indices, wrong curve length."""


class TooFewPointsError(SurrogateInputError):
    """Too few training points for the model."""


class SpaceMismatchError(SurrogateError, ValueError):
    """A model is used with a table or space other than the one it was fitted on."""


class ModelFileError(SurrogateError):
    """A model file is missing, foreign, tampered with, or holds untrusted types."""


class EvaluationError(SurrogateError, ValueError):
    """An evaluation setting is invalid (observed fraction, train sizes, repeats)."""
