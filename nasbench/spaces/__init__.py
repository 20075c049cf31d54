"""Search spaces and their registry.

Add a space by subclassing :class:`~nasbench.spaces.base.SearchSpace` in one module and
adding a factory here; tables record the space's name and :meth:`config`, and
:func:`make_space` rebuilds it when a table is loaded.
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
}


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


__all__ = ["SPACES", "SearchSpace", "make_space", "space_class"]
