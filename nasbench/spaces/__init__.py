"""Search spaces and their registry.

A new space is one subclass of :class:`~nasbench.spaces.base.SearchSpace` (identity,
neighbourhoods, encodings) and one :func:`register_space` call (or an entry in
:data:`SPACES`). Tables record the space's name and :meth:`config` and rebuild it by name
when loaded; surrogates, strategies, model files and leaderboards use it through the
``SearchSpace`` contract alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from nasbench.core.errors import UnknownSpaceError
from nasbench.spaces.base import SearchSpace


def _lazy(module: str, cls: str) -> Callable[[], type[SearchSpace]]:
    def load() -> type[SearchSpace]:
        return getattr(importlib.import_module(module), cls)

    return load


#: name -> loader of the space class (imported on first use).
SPACES: dict[str, Callable[[], type[SearchSpace]]] = {
    "nb201": _lazy("nasbench.spaces.nb201", "NB201Space"),
    "catalog": _lazy("nasbench.spaces.catalog", "CatalogSpace"),
    "declared": _lazy("nasbench.spaces.declared", "DeclaredSpace"),
}


def register_space(name: str, cls: type[SearchSpace]) -> None:
    """Register a space class under ``name`` (its :attr:`SearchSpace.name`).

    Raises:
        UnknownSpaceError: ``cls`` is not a SearchSpace, or its ``name`` differs.
    """
    if not (isinstance(cls, type) and issubclass(cls, SearchSpace)):
        raise UnknownSpaceError(f"a search space must subclass SearchSpace, got {cls!r}")
    if cls.name != name:
        raise UnknownSpaceError(f"space class {cls.__name__} is named {cls.name!r}, not {name!r}")
    SPACES[name] = lambda: cls


def space_type_names() -> tuple[str, ...]:
    """Fully qualified class names of every registered space (what model files may hold)."""
    return tuple(sorted({f"{c.__module__}.{c.__qualname__}" for c in (load() for load in SPACES.values())}))


def space_class(name: str) -> type[SearchSpace]:
    """The class registered under ``name``.

    Raises:
        UnknownSpaceError: no space of that name is registered.
    """
    try:
        loader = SPACES[name]
    except KeyError:
        raise UnknownSpaceError(
            f"unknown search space {name!r}; available: {', '.join(sorted(SPACES))}"
        ) from None
    return loader()


def make_space(name: str, **config: Any) -> SearchSpace:
    """Build a registered space by name with its config.

    Raises:
        UnknownSpaceError: no space of that name is registered.
    """
    return space_class(name)(**config)


__all__ = ["SPACES", "SearchSpace", "make_space", "register_space", "space_class", "space_type_names"]
