"""The surrogate registry: names -> factories of unfitted scikit-learn estimators.

Every factory takes ``(space, *, epochs, random_state, **params)``; ``params`` are the
estimator's own constructor parameters and override the registered defaults.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from surrogates.errors import UnknownSurrogateError

Factory = Callable[..., Any]


def _arch(members: tuple[str, ...] | None = None) -> Factory:
    """An :class:`ArchSurrogate` factory; ``members=None``: the class's default ensemble."""

    def make(
        space: Any, *, epochs: Sequence[int] | None = None, random_state: int | None = None, **params: Any
    ) -> Any:
        from surrogates.models import ArchSurrogate

        if members is not None:
            params.setdefault("members", members)
        return ArchSurrogate(space=space, epochs=epochs, random_state=random_state, **params)

    return make


def _curve(members: str | tuple[str, ...], kinds: str | tuple[str, ...] = "auto") -> Factory:
    def make(
        space: Any, *, epochs: Sequence[int] | None = None, random_state: int | None = None, **params: Any
    ) -> Any:
        from surrogates.combined import CurveSurrogate

        params.setdefault("members", members)
        params.setdefault("kinds", kinds)
        return CurveSurrogate(space=space, epochs=epochs, random_state=random_state, **params)

    return make


def _lc_param(
    space: Any, *, epochs: Sequence[int] | None = None, random_state: int | None = None, **params: Any
) -> Any:
    from surrogates.extrapolation import ParametricCurveSurrogate

    return ParametricCurveSurrogate(epochs=epochs, random_state=random_state, space=space, **params)


#: name -> factory. Architecture-only: rf, gbm, gp, ensemble. Curve-aware: lc_param
#: (parametric extrapolation), lc_svr (Baker-style nu-SVR), combined (the default).
SURROGATES: dict[str, Factory] = {
    "rf": _arch(("random_forest",)),
    "gbm": _arch(("hist_gbm",)),
    "gp": _arch(("gp",)),
    "ensemble": _arch(),  # surrogates.models.ENSEMBLE_MEMBERS
    "lc_param": _lc_param,
    "lc_svr": _curve(("nu_svr",)),
    "combined": _curve("auto"),  # the default ensemble, plus the same on NB201's compact features
}

#: The surrogate strategies use by default: works at any t, including t = 0.
DEFAULT_SURROGATE = "combined"

#: One-line descriptions (CLI ``surrogate list``).
DESCRIPTIONS: dict[str, str] = {
    "rf": "architecture only: random forest (std: tree spread, conformally calibrated)",
    "gbm": "architecture only: histogram gradient boosting (std: conformal, constant)",
    "gp": "architecture only: Gaussian process, Matern 5/2 + white noise",
    "ensemble": "architecture only: stacked ridge + extra trees + gradient boosting",
    "lc_param": "learning curve only: weighted parametric families (Domhan et al. 2015), calibrated",
    "lc_svr": "architecture + curve features, nu-SVR per observed length (Baker et al. 2017)",
    "combined": "architecture + curve features, stacked ensemble per observed length; any t (default)",
}


def make_surrogate(
    name: str,
    space: Any,
    *,
    epochs: Sequence[int] | None = None,
    random_state: int | None = None,
    **params: Any,
) -> Any:
    """An unfitted surrogate by registry name.

    Args:
        name: a key of :data:`SURROGATES`.
        space: the search space of the architecture indices (``None``: plain numbers).
        epochs: the table's epochs, i.e. what the curve columns of ``X`` hold.
        random_state: seed.
        **params: constructor parameters of the estimator.

    Raises:
        UnknownSurrogateError: ``name`` is not registered.
    """
    try:
        factory = SURROGATES[name]
    except (KeyError, TypeError):
        raise UnknownSurrogateError(
            f"unknown surrogate {name!r}; available: {', '.join(sorted(SURROGATES))}"
        ) from None
    return factory(
        space,
        epochs=None if epochs is None else [int(e) for e in epochs],
        random_state=random_state,
        **params,
    )


@functools.cache
def available() -> tuple[str, ...]:
    """Registered names, sorted."""
    return tuple(sorted(SURROGATES))
