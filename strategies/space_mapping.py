"""A search space as named parameters, for the bridges to other optimisers.

Optuna and syne-tune describe a search space as named parameters, each with a
distribution; nasbench numbers architectures ``0 .. size-1``. :class:`SpaceMapping` is
the one translation both bridges (:mod:`strategies.optuna_bridge`,
:mod:`strategies.synetune_bridge`) and the OptunaHub problem
(:mod:`nasbench.experiments.optuna_problem`) use, in three directions:

* :attr:`SpaceMapping.params` -- the parameters, each a :class:`Param` (library neutral:
  each bridge turns it into its own distribution), parents before the dimensions whose
  conditions read them;
* :meth:`SpaceMapping.decode` -- parameter values to an architecture index (``None`` when
  the values are no architecture of the space, e.g. a forbidden combination);
* :meth:`SpaceMapping.encode` -- an index to its parameter values (the active ones).

Spaces, by their registry name:

* ``nb201`` -- six categoricals ``e0`` .. ``e5`` (the edges in
  :data:`nasbench.spaces.nb201.EDGES` order), each of the five operation names;
* ``declared`` -- one parameter per dimension: categorical as categorical, ordinal as an
  ordered choice, integer and float as numbers with their ``low``, ``high`` and ``log``; a
  number off the dimension's grid (a ``steps`` grid) is snapped to its nearest grid value
  (in log space where ``log``). A conditional dimension is suggested only when its
  conditions hold (:meth:`SpaceMapping.active`);
* ``catalog`` -- one categorical ``arch`` of the catalog's ids.

Any other space raises :class:`StrategyConfigError` (one line).

:func:`config_from_signature` turns a foreign optimiser's constructor into a strategy's
``Config``: its arguments of a plain type become ``-p`` parameters, checked by the one
config mechanism (:mod:`nasbench.core.config`).
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from nasbench.core.errors import ArchitectureError
from nasbench.spaces.base import SearchSpace
from strategies.errors import StrategyConfigError

Kind = Literal["categorical", "ordinal", "int", "float"]


@dataclass(frozen=True)
class Param:
    """One named parameter of a space.

    Attributes:
        name: the parameter's name (a dimension's name, ``e0`` .. ``e5``, ``arch``).
        kind: ``categorical`` (unordered ``choices``), ``ordinal`` (ordered ``choices``),
            ``int`` or ``float`` (``low`` .. ``high``).
        choices: the values of a categorical or ordinal parameter.
        low, high: the bounds of a number.
        log: the number is spread evenly in log space.
        grid: the finite values a number may take (``None``: every integer in
            ``low..high``); a value off the grid is snapped to the nearest one.
        step: the integer step of an int grid that is ``low, low + step, ..., high``
            (``None`` otherwise).
        conditions: ``(parent, allowed parent values)`` pairs: the parameter is active
            only when every parent is active and holds one of its allowed values.
    """

    name: str
    kind: Kind
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    grid: tuple[Any, ...] | None = None
    step: int | None = None
    conditions: tuple[tuple[str, frozenset[Any]], ...] = ()


class SpaceMapping:
    """A space's architectures as named parameter values (see the module docstring).

    Args:
        space: the search space.
        who: how error messages name the caller (``"optuna:tpe"``).

    Raises:
        StrategyConfigError: a space with no mapping.
    """

    def __init__(self, space: SearchSpace, who: str = "this optimiser") -> None:
        build = _MAPPERS.get(space.name)
        if build is None:
            raise StrategyConfigError(
                f"{who} cannot express the {space.name or type(space).__name__!r} space as named "
                f"parameters; it maps the {', '.join(_MAPPERS)} spaces"
            )
        self.space = space
        self.params: tuple[Param, ...]
        self._decode: Callable[[Mapping[str, Any]], int | None]
        self._encode: Callable[[int], dict[str, Any]]
        self.params, self._decode, self._encode = build(space)
        self._by_name = {p.name: p for p in self.params}
        #: whether every combination of parameter values is an architecture (False: a
        #: declared space with forbidden combinations, which :meth:`decode` maps to None)
        self.complete = not getattr(getattr(space, "declaration", None), "forbidden", ())

    @property
    def conditional(self) -> bool:
        """Whether some parameter is active only under conditions."""
        return any(p.conditions for p in self.params)

    def active(self, param: Param, chosen: Mapping[str, Any]) -> bool:
        """Whether ``param`` is active given the values ``chosen`` so far (its parents')."""
        for parent, allowed in param.conditions:
            if parent not in chosen or self.snap(self._by_name[parent], chosen[parent]) not in allowed:
                return False
        return True

    def snap(self, param: Param, value: Any) -> Any:
        """``value`` of ``param`` as the space holds it: a number snapped to its grid."""
        if param.grid is None or param.kind not in ("int", "float"):
            return value
        grid = np.asarray(param.grid, dtype=np.float64)
        x = float(value)
        if param.log:
            at = int(np.argmin(np.abs(np.log(grid) - np.log(max(x, 1e-300)))))
        else:
            at = int(np.argmin(np.abs(grid - x)))
        return param.grid[at]

    def decode(self, values: Mapping[str, Any]) -> int | None:
        """The index of the architecture with these parameter values (values of inactive
        parameters are ignored; numbers are snapped to their grids), or ``None`` when they
        are no architecture of the space (a forbidden combination)."""
        return self._decode(
            {k: self.snap(self._by_name[k], v) for k, v in values.items() if k in self._by_name}
        )

    def encode(self, index: int) -> dict[str, Any]:
        """The active parameter values of architecture ``index``."""
        return self._encode(int(index))


# ---- the spaces ---------------------------------------------------------------------------
Built = tuple[tuple[Param, ...], Callable[[Mapping[str, Any]], int | None], Callable[[int], dict[str, Any]]]


def _nb201(space: Any) -> Built:
    from nasbench.spaces.nb201 import OPS, Cell

    names = tuple(f"e{k}" for k in range(len(space.edges)))
    op_id = {op: i for i, op in enumerate(OPS)}
    params = tuple(Param(n, "categorical", tuple(OPS)) for n in names)

    def decode(values: Mapping[str, Any]) -> int | None:
        return Cell(tuple(op_id[values[n]] for n in names)).index

    def encode(index: int) -> dict[str, Any]:
        return dict(zip(names, space.arch(index).op_names, strict=True))

    return params, decode, encode


def _catalog(space: Any) -> Built:
    params = (Param("arch", "categorical", tuple(space.ids)),)

    def decode(values: Mapping[str, Any]) -> int | None:
        return space.index(str(values["arch"]))

    def encode(index: int) -> dict[str, Any]:
        return {"arch": space.ids[index]}

    return params, decode, encode


_ORDER_OPS = ("<", "<=", ">", ">=")


def _allowed(parent: Any, cond: Any) -> frozenset[Any]:
    """The values of dimension ``parent`` under which condition ``cond`` holds (the same
    reading as :class:`nasbench.spaces.declared.DeclaredSpace`: ``in`` a list; ordered
    operators by number on integer and float dimensions, by position on ordinal ones)."""
    grid = parent.grid
    if cond.op == "in":
        at = {parent.position(v) for v in cond.value}
        return frozenset(grid[k] for k in at if k is not None)
    if cond.op in _ORDER_OPS and parent.type in ("integer", "float"):
        x, v = np.asarray(grid, dtype=np.float64), float(cond.value)
        ok = {"<": x < v, "<=": x <= v, ">": x > v, ">=": x >= v}[cond.op]
    else:
        k = parent.position(cond.value)
        at = np.arange(len(grid))
        ok = {"==": at == k, "!=": at != k, "<": at < k, "<=": at <= k, ">": at > k, ">=": at >= k}[cond.op]
    return frozenset(g for g, keep in zip(grid, ok.tolist(), strict=True) if keep)


def _declared(space: Any) -> Built:
    dims = {d.name: d for d in space.dims}
    conds: dict[str, list[tuple[str, frozenset[Any]]]] = {}
    for c in space.declaration.conditions:
        conds.setdefault(c.child, []).append((c.parent, _allowed(dims[c.parent], c)))
    # parents first: a dimension is placed once every parent of its conditions is
    order: list[str] = []
    while len(order) < len(dims):
        order.append(next(n for n in dims if n not in order and all(p in order for p, _ in conds.get(n, []))))
    params = []
    for name in order:
        d = dims[name]
        c = tuple(conds.get(name, ()))
        if d.type in ("categorical", "ordinal"):
            kind: Kind = "categorical" if d.type == "categorical" else "ordinal"
            params.append(Param(name, kind, tuple(d.grid), conditions=c))
            continue
        grid = tuple(d.grid)
        step = None
        if d.type == "integer":
            full = grid == tuple(range(int(d.low), int(d.high) + 1))
            diffs = {b - a for a, b in zip(grid, grid[1:], strict=False)}
            if len(diffs) == 1 and not d.log and grid[0] == d.low and grid[-1] == d.high:
                step = int(next(iter(diffs)))
            params.append(
                Param(name, "int", low=int(d.low), high=int(d.high), log=d.log,
                      grid=None if full else grid, step=None if full else step, conditions=c)
            )  # fmt: skip
        else:
            params.append(
                Param(name, "float", low=float(d.low), high=float(d.high), log=d.log, grid=grid, conditions=c)
            )

    def decode(values: Mapping[str, Any]) -> int | None:
        try:
            return space.from_values(values).index
        except ArchitectureError:  # a forbidden combination (or an active dimension left out)
            return None

    def encode(index: int) -> dict[str, Any]:
        return space.arch(index).as_dict()

    return tuple(params), decode, encode


#: space name -> the builder of its parameters, decoder and encoder
_MAPPERS: dict[str, Callable[[Any], Built]] = {"nb201": _nb201, "declared": _declared, "catalog": _catalog}


# ---- constructor arguments as a Config -------------------------------------------------------
#: the names an annotation may use to be a plain ``-p`` parameter
_PLAIN = {"int": int, "float": float, "bool": bool, "str": str, "None": None, "Literal": typing.Literal}


def _plain_type(annotation: Any) -> Any:
    """The annotation as a type :func:`nasbench.core.config.coerce` checks, or None when it is
    not plain (a callable, a distribution, a sampler, a dict)."""
    if isinstance(annotation, str):
        try:
            annotation = eval(annotation, {"__builtins__": {}}, _PLAIN)  # noqa: S307 - names of _PLAIN only
        except Exception:
            return None
    if annotation in (int, float, bool, str):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return annotation
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(annotation)
        if all(a is type(None) or _plain_type(a) is not None for a in args):
            return annotation
    return None


def config_from_signature(
    func: Callable[..., Any],
    *,
    exclude: Iterable[str] = (),
    extra: Iterable[tuple[str, Any, Any]] = (),
    doc: str = "",
) -> type:
    """A frozen dataclass ``Config`` of ``func``'s keyword arguments of a plain type (int,
    float, bool, str, a ``Literal``, unions of them with None), with ``func``'s defaults.

    Args:
        func: a constructor (``Sampler.__init__``).
        exclude: arguments the bridge sets itself (``seed``).
        extra: more fields ``(name, type, default)``, the bridge's own.
        doc: the dataclass's docstring.
    """
    skip = {"self", *exclude}
    fields: list[tuple[str, Any, Any]] = []
    for p in inspect.signature(func).parameters.values():
        if p.name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is p.empty:
            continue
        tp = _plain_type(p.annotation)
        if tp is not None:
            fields.append((p.name, tp, dataclasses.field(default=p.default)))
    fields += [(n, tp, dataclasses.field(default=d)) for n, tp, d in extra]
    cfg = dataclasses.make_dataclass("Config", fields, frozen=True)
    cfg.__doc__ = doc
    return cfg


__all__ = ["Param", "SpaceMapping", "config_from_signature"]
