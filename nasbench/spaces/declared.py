"""Declared search spaces: a space written as data (TOML, JSON or a Python dict), no code.

A declaration lists **dimensions**, **conditions** and **forbidden** combinations::

    conditions = ["units_3 if layers >= 3"]          # or tables: child, parent, op, value
    forbidden = [{activation = "tanh", lr = 0.1}]    # dimension = value (or a list: any of)

    [[dimensions]]
    name = "layers"
    type = "integer"          # categorical | ordinal | integer | float
    low = 1
    high = 3

    [[dimensions]]
    name = "units_3"
    type = "integer"
    low = 16
    high = 256
    log = true
    steps = 5                 # 16, 32, 64, 128, 256

    [[dimensions]]
    name = "activation"
    type = "categorical"
    values = ["relu", "tanh"]

    [[dimensions]]
    name = "lr"
    type = "float"
    low = 0.001
    high = 0.1
    log = true
    steps = 3                 # 0.001, 0.01, 0.1

A short form is accepted too: ``dimensions`` as a table of ``name = [values]`` (all
numbers: ordinal; anything else: categorical) or ``name = {type = ..., ...}``. The space
stores (and :meth:`DeclaredSpace.config` returns) the explicit form above, as JSON.

Choices made here, since the :class:`~nasbench.spaces.base.SearchSpace` contract is a
finite, indexed set:

* **Finite grids.** Categorical and ordinal dimensions list their values. An integer
  dimension holds every integer ``low..high``, or ``steps`` of them spread evenly (in log
  space with ``log = true``), rounded and deduplicated. A float dimension *must* give
  ``steps``: it is that grid (geometric when ``log``), each value rounded to 12
  significant digits so that its string form reads back exactly. A continuous float
  is refused with a message naming ``steps`` (ConfigSpace's continuous floats are imported
  with ``float_steps``). Sampling is uniform over the valid configurations, so a log grid
  samples log-uniformly.
* **Conditions.** A dimension with conditions is active when its parents are active and
  every condition on it holds (they are ANDed). Operators: ``==``, ``!=``, ``in``
  (every type), ``<``, ``<=``, ``>``, ``>=`` (ordinal: by position in ``values``, the
  value must be one of them; integer and float: by number). A condition that no value of
  its parent satisfies, or a dimension that no valid configuration activates, is an error.
* **Forbidden combinations.** A forbidden table applies when all its dimensions are
  active and each holds the given value (or one of the listed values); such
  configurations are not in the space. Forbiddens that exclude everything are an error.
* **Canonical form.** Inactive dimensions are dropped: two configurations that differ
  only in inactive dimensions are one configuration, with one index and one string
  ``name=value,name=value`` (active dimensions in declaration order; :meth:`parse`
  accepts inactive ones and drops them).
* **Index.** Every valid canonical configuration is enumerated once (vectorised) and
  numbered densely ``0..size-1`` in the order of its mixed-radix code: dimensions in
  declaration order, the first most significant; an always-active dimension contributes
  its value's position, a conditional one 0 when inactive and 1 + position when active.
  Without conditions and forbiddens the index is the plain mixed-radix number. Spaces
  of more than :data:`MAX_SIZE` configurations are refused.
* **Neighbours and mutation.** A neighbour changes one active dimension by one step
  (categorical: any other value; ordinal, integer, float: the next value up or down),
  keeps every other value that stays active, drops what becomes inactive and takes every
  value of a dimension the change activates; forbidden results are skipped. The relation
  is symmetric. :meth:`mutate` picks a uniform neighbour.
* **Encodings.** ``onehot``: a column per (dimension, value), all zero for an inactive
  dimension. ``ordinal``: a column per dimension, the value's place in ``[0, 1]`` (integer
  and float: along ``low..high``, in log space where ``log``; ordinal and categorical:
  position / (n - 1)), and ``-1`` when inactive, outside every active value, so trees
  split it off and distances treat "absent" as unlike every value.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np

from nasbench.core.config import build_config, coerce_fields, parse_value
from nasbench.core.errors import ArchitectureError, ConfigError
from nasbench.spaces.base import SearchSpace

#: Spaces with more valid configurations are refused (their index is an enumeration).
MAX_SIZE = 2_000_000

DimType = Literal["categorical", "ordinal", "integer", "float"]
Op = Literal["==", "!=", "<", "<=", ">", ">=", "in"]
Scalar = str | int | float | bool

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_CONDITION = re.compile(r"^\s*(\S+)\s+if\s+(\S+?)\s*(==|!=|<=|>=|<|>|\sin\s)\s*(.+?)\s*$")
_ORDER_OPS = ("<", "<=", ">", ">=")


def format_value(value: Any) -> str:
    """The string form of one value: ``true``/``false``, ``16``, ``0.001``, ``relu``."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _round12(x: float) -> float:
    return float(f"{float(x):.12g}")


# ---- the declaration ----------------------------------------------------------------------
@dataclass(frozen=True)
class Dimension:
    """One dimension of a declared space.

    Attributes:
        name: identifier (letters, digits, ``_ . -``; not starting with a digit).
        type: ``categorical`` (unordered ``values``), ``ordinal`` (ordered ``values``),
            ``integer`` (``low..high``, optionally ``steps`` of them) or ``float``
            (``steps`` values spread over ``low..high``).
        values: the choices of a categorical or ordinal dimension.
        low: smallest value of an integer or float dimension.
        high: largest value of an integer or float dimension.
        log: spread the grid evenly in log space (integer and float; ``low > 0``).
        steps: number of grid values (float: required; integer: default every integer).
    """

    name: str
    type: DimType
    values: tuple[Scalar, ...] = ()
    low: int | float | None = None
    high: int | float | None = None
    log: bool = False
    steps: int | None = None

    def __post_init__(self) -> None:
        who = f"dimension {self.name!r}"
        coerce_fields(self, who=who)
        if not _NAME.match(self.name):
            raise ConfigError(
                f"dimension name {self.name!r} must be letters, digits, '_', '.' or '-' (not starting with a digit)"
            )
        if self.type in ("categorical", "ordinal"):
            extra = [f for f in ("low", "high", "steps") if getattr(self, f) is not None]
            if extra or self.log:
                raise ConfigError(f"{who} ({self.type}) takes 'values', not {', '.join(extra or ['log'])}")
            if not self.values:
                raise ConfigError(f"{who} has no values (empty choices)")
            for v in self.values:
                if isinstance(v, float) and not math.isfinite(v):
                    raise ConfigError(f"{who} has a non-finite value {v!r}")
                if isinstance(v, str) and (not v or v != v.strip() or any(c in v for c in ",=")):
                    raise ConfigError(
                        f"{who} value {v!r} must be non-empty, without ',' or '=' or surrounding spaces"
                    )
            forms = [format_value(v) for v in self.values]
            dup = next((f for i, f in enumerate(forms) if f in forms[:i]), None)
            if dup is not None:
                raise ConfigError(f"{who} lists the value {dup} twice")
            return
        if self.values:
            raise ConfigError(f"{who} ({self.type}) takes low, high and steps, not 'values'")
        if self.low is None or self.high is None:
            raise ConfigError(f"{who} ({self.type}) needs 'low' and 'high'")
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ConfigError(f"{who} needs finite low and high")
        if self.type == "integer":
            if not all(float(x).is_integer() for x in (self.low, self.high)):
                raise ConfigError(
                    f"{who} (integer) needs integer low and high, got {self.low!r}, {self.high!r}"
                )
            object.__setattr__(self, "low", int(self.low))
            object.__setattr__(self, "high", int(self.high))
        if self.low > self.high or (self.type == "float" and self.low == self.high):
            raise ConfigError(f"{who} needs low < high, got {self.low!r} and {self.high!r}")
        if self.log and self.low <= 0:
            raise ConfigError(f"{who} is log-scaled, so it needs low > 0, got {self.low!r}")
        if self.type == "float" and self.steps is None:
            raise ConfigError(
                f"{who} is a continuous float; give it 'steps' (a grid of that many values): "
                "a declared space is finite and indexed"
            )
        if self.steps is not None and self.steps < 2:
            raise ConfigError(f"{who} needs steps >= 2, got {self.steps}")
        if self.type == "integer" and self.steps is None and self.high - self.low + 1 > MAX_SIZE:
            raise ConfigError(f"{who} has {int(self.high - self.low + 1):,} integers; give it 'steps'")
        if self.type == "float" and len(set(self.grid)) < len(self.grid):
            raise ConfigError(f"{who} has {self.steps} steps too close to tell apart at 12 digits")

    @functools.cached_property
    def grid(self) -> tuple[Scalar, ...]:
        """Every value of the dimension, in order (the position is the value's digit)."""
        if self.type in ("categorical", "ordinal"):
            return tuple(self.values)
        low, high = cast(float, self.low), cast(float, self.high)  # both set (__post_init__)
        if self.type == "integer":
            if self.steps is None:
                return tuple(range(int(low), int(high) + 1))
            raw = np.geomspace(low, high, self.steps) if self.log else np.linspace(low, high, self.steps)
            return tuple(int(v) for v in np.unique(np.rint(raw).astype(np.int64)))
        raw = np.geomspace(low, high, self.steps) if self.log else np.linspace(low, high, self.steps)
        return tuple(_round12(v) for v in raw)

    @property
    def size(self) -> int:
        """Number of values."""
        return len(self.grid)

    @property
    def ordered(self) -> bool:
        """Whether values have an order (every type but categorical)."""
        return self.type != "categorical"

    @functools.cached_property
    def _lookup(self) -> dict[str, int]:
        return {format_value(v): k for k, v in enumerate(self.grid)}

    @functools.cached_property
    def _numeric(self) -> np.ndarray:
        """float ``(n,)``: the grid as numbers (NaN for a non-numeric value)."""
        return np.array([float(v) if _is_number(v) else np.nan for v in self.grid], dtype=np.float64)

    def position(self, value: Any) -> int | None:
        """The position of ``value`` (a value, or its text) in :attr:`grid`; None if absent.

        Numbers match within a relative 1e-9 (a float read from a CSV matches its grid value).
        """
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, str):
            k = self._lookup.get(value.strip())
            if k is not None:
                return k
            parsed = parse_value(value)
            if not _is_number(parsed):
                return None
            value = parsed
        if isinstance(value, bool):
            return self._lookup.get(format_value(value))
        if not _is_number(value):
            return None
        close = np.isclose(self._numeric, float(value), rtol=1e-9, atol=1e-12)
        if close.any():
            return int(np.argmax(close))
        return self._lookup.get(format_value(value))  # a number written as text: "3" for 3

    def positions(self, values: np.ndarray, *, snap: bool = False) -> np.ndarray:
        """int64 ``(n,)`` positions of numeric ``values`` (float ``(n,)``); -1 where absent,
        -2 where NaN (missing). With ``snap``, integer and float dimensions take the nearest
        grid value (in log space where ``log``) for any value within ``low..high``."""
        x = np.asarray(values, dtype=np.float64)
        out = np.full(x.shape, -1, dtype=np.int64)
        out[np.isnan(x)] = -2
        grid = self._numeric
        ok = ~np.isnan(x)
        if np.all(np.isnan(grid)):
            return out
        order = np.argsort(np.where(np.isnan(grid), np.inf, grid), kind="stable")
        g = grid[order]
        n = int((~np.isnan(g)).sum())
        g = g[:n]
        if snap and self.type in ("integer", "float"):
            near_ends = np.isclose(x, g[0], rtol=1e-9, atol=1e-12) | np.isclose(
                x, g[-1], rtol=1e-9, atol=1e-12
            )
            inside = ok & (((x >= g[0]) & (x <= g[-1])) | near_ends)
            t = np.log(np.maximum(x, 1e-300)) if self.log else x
            tg = np.log(g) if self.log else g
            j = np.clip(np.searchsorted(tg, t), 1, max(n - 1, 1))
            near = np.where(np.abs(t - tg[j - 1]) <= np.abs(tg[np.minimum(j, n - 1)] - t), j - 1, j)
            near = np.minimum(near, n - 1)
            out[inside] = order[near[inside]]
            return out
        j = np.clip(np.searchsorted(g, x), 0, n - 1)
        j_lo = np.maximum(j - 1, 0)
        pick = np.where(np.abs(g[j_lo] - x) < np.abs(g[j] - x), j_lo, j)
        hit = ok & np.isclose(g[pick], x, rtol=1e-9, atol=1e-12)
        out[hit] = order[pick[hit]]
        return out

    def transformed(self) -> np.ndarray:
        """float ``(n,)``: each value's place in ``[0, 1]`` (the ``ordinal`` encoding)."""
        n = self.size
        if self.type in ("integer", "float"):
            x = self._numeric
            t = np.log(x) if self.log else x
            span = t[-1] - t[0]
            return (t - t[0]) / span if span > 0 else np.zeros(n)
        return np.arange(n, dtype=np.float64) / max(n - 1, 1)

    def describe(self) -> str:
        """One line: ``integer 16..256 log, 5 values``, ``categorical relu|tanh``."""
        if self.type in ("categorical", "ordinal"):
            shown = "|".join(format_value(v) for v in self.values[:8]) + ("|..." if self.size > 8 else "")
            return f"{self.type} {shown}"
        text = f"{self.type} {format_value(self.low)}..{format_value(self.high)}"
        return text + (" log" if self.log else "") + f", {self.size} values"

    def to_dict(self) -> dict[str, Any]:
        """The explicit JSON form (only the fields this type uses)."""
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.type in ("categorical", "ordinal"):
            out["values"] = list(self.values)
            return out
        out.update(low=self.low, high=self.high)
        if self.log:
            out["log"] = True
        if self.steps is not None:
            out["steps"] = self.steps
        return out


@dataclass(frozen=True)
class Condition:
    """``child`` is active only when ``parent`` is active and ``parent op value`` holds.

    Attributes:
        child: the conditional dimension.
        parent: the dimension it depends on.
        op: ``==``, ``!=``, ``in``, ``<``, ``<=``, ``>``, ``>=``.
        value: a value of ``parent`` (``in``: a list of them; ordered operators on integer
            and float parents: any number).
    """

    child: str
    parent: str
    op: Op
    value: Any

    @classmethod
    def parse(cls, text: str) -> Condition:
        """``"units_3 if layers >= 3"``, ``"dropout if kind in [mlp, cnn]"``.

        Raises:
            ConfigError: not ``CHILD if PARENT OP VALUE``.
        """
        m = _CONDITION.match(text)
        if not m:
            raise ConfigError(
                f"a condition reads 'CHILD if PARENT OP VALUE' (OP one of ==, !=, <, <=, >, >=, in), got {text!r}"
            )
        child, parent, op, raw = m.group(1), m.group(2), m.group(3).strip(), m.group(4)
        value: Any = parse_value(raw)
        if op == "in" and not isinstance(value, list):
            value = [v.strip() for v in raw.strip().strip("[]").split(",") if v.strip()]
        return cls(child, parent, op, value)  # type: ignore[arg-type]

    def __str__(self) -> str:
        if self.op == "in" and isinstance(self.value, list | tuple):
            shown = "[" + ", ".join(format_value(v) for v in self.value) + "]"
        else:
            shown = format_value(self.value)
        return f"{self.child} if {self.parent} {self.op} {shown}"

    def to_dict(self) -> dict[str, Any]:
        """The explicit JSON form."""
        value = list(self.value) if self.op == "in" else self.value
        return {"child": self.child, "parent": self.parent, "op": self.op, "value": value}


@dataclass(frozen=True)
class Declaration:
    """A whole declaration, checked for syntax (names, types, fields).

    Attributes:
        dimensions: the dimensions, in declaration order (this order defines the index).
        conditions: the conditions (several on one child are ANDed).
        forbidden: each a tuple of ``(dimension, value or tuple of values)``.
        network: the optional ``[network]`` table as ``(key, value)`` pairs: which network
            family trains the space (``family``, default ``mlp``) and which dimension plays
            which role in it (read by that family, e.g. :mod:`nasbench.spaces.mlp`).
    """

    dimensions: tuple[Dimension, ...]
    conditions: tuple[Condition, ...] = ()
    forbidden: tuple[tuple[tuple[str, Any], ...], ...] = ()
    network: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Declaration) -> Declaration:
        """Read a declaration (explicit or short form).

        Raises:
            ConfigError: unknown keys or types, missing fields, empty choices, duplicates.
        """
        if isinstance(data, Declaration):
            return data
        if not isinstance(data, Mapping):
            raise ConfigError(f"a space declaration must be a table/object, got {type(data).__name__}")
        unknown = sorted(set(data) - {"dimensions", "conditions", "forbidden", "network"})
        if unknown:
            raise ConfigError(
                f"a space declaration has no key(s) {', '.join(unknown)}; keys: conditions, dimensions, "
                "forbidden, network"
            )
        raw = data.get("dimensions")
        if not raw:
            raise ConfigError("a space declaration needs at least one dimension ('dimensions')")
        items: list[Any]
        if isinstance(raw, Mapping):
            items = [_short_dimension(name, spec) for name, spec in raw.items()]
        elif isinstance(raw, list | tuple):
            items = list(raw)
        else:
            raise ConfigError(f"'dimensions' must be a list of tables or a table, got {type(raw).__name__}")
        dims = []
        for item in items:
            if isinstance(item, Dimension):
                dims.append(item)
                continue
            if not isinstance(item, Mapping) or "name" not in item:
                raise ConfigError(f"each dimension must be a table with a 'name', got {item!r}")
            dims.append(build_config(Dimension, item, who=f"dimension {item['name']!r}", noun="field"))
        names = [d.name for d in dims]
        dup = next((n for i, n in enumerate(names) if n in names[:i]), None)
        if dup is not None:
            raise ConfigError(f"dimension {dup!r} is declared twice")
        conditions = []
        raw_conds = data.get("conditions") or []
        if not isinstance(raw_conds, list | tuple):
            raise ConfigError("'conditions' must be a list")
        for c in raw_conds:
            if isinstance(c, Condition):
                conditions.append(c)
            elif isinstance(c, str):
                conditions.append(Condition.parse(c))
            else:
                conditions.append(build_config(Condition, c, who="condition", noun="field"))
        forbidden = []
        raw_forb = data.get("forbidden") or []
        if not isinstance(raw_forb, list | tuple):
            raise ConfigError("'forbidden' must be a list of tables (dimension = value)")
        for f in raw_forb:
            if not isinstance(f, Mapping) or not f:
                raise ConfigError(
                    f"a forbidden combination is a non-empty table of dimension = value, got {f!r}"
                )
            forbidden.append(
                tuple((str(k), tuple(v) if isinstance(v, list | tuple) else v) for k, v in f.items())
            )
        raw_net = data.get("network") or {}
        if not isinstance(raw_net, Mapping):
            raise ConfigError("'network' must be a table (family = ..., and dimension roles)")
        network = []
        for k, v in raw_net.items():
            if isinstance(v, list | tuple | Mapping):
                raise ConfigError(f"network.{k} must be one value (a dimension name, a number or a word)")
            network.append((str(k), v))
        # sorted: one canonical form, whatever order the file wrote the roles in (the table's
        # content hash covers the declaration, and its metadata is written with sorted keys)
        return cls(tuple(dims), tuple(conditions), tuple(forbidden), tuple(sorted(network)))

    def to_dict(self) -> dict[str, Any]:
        """The explicit, JSON-serialisable form (what :meth:`DeclaredSpace.config` stores;
        ``network`` only when the declaration has one, so older declarations read the same)."""
        out = {
            "dimensions": [d.to_dict() for d in self.dimensions],
            "conditions": [c.to_dict() for c in self.conditions],
            "forbidden": [{k: list(v) if isinstance(v, tuple) else v for k, v in f} for f in self.forbidden],
        }
        if self.network:
            out["network"] = dict(self.network)
        return out


def _short_dimension(name: str, spec: Any) -> dict[str, Any]:
    if isinstance(spec, Mapping):
        return {"name": name, **spec}
    if isinstance(spec, list | tuple):
        kind = "ordinal" if spec and all(_is_number(v) for v in spec) else "categorical"
        return {"name": name, "type": kind, "values": list(spec)}
    raise ConfigError(f"dimension {name!r} must be a list of values or a table, got {spec!r}")


def _forbidden_text(clause: tuple[tuple[str, Any], ...]) -> str:
    parts = []
    for k, v in clause:
        shown = "[" + ", ".join(format_value(x) for x in v) + "]" if isinstance(v, tuple) else format_value(v)
        parts.append(f"{k} = {shown}")
    return "{" + ", ".join(parts) + "}"


# ---- architectures ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeclaredConfig:
    """One canonical configuration of a declared space: its active values and index.

    Attributes:
        items: ``(dimension, value)`` of every active dimension, in declaration order.
        index: the configuration's index in its space.
    """

    items: tuple[tuple[str, Scalar], ...]
    index: int

    def __str__(self) -> str:
        return ",".join(f"{k}={format_value(v)}" for k, v in self.items)

    def __getitem__(self, name: str) -> Scalar:
        for k, v in self.items:
            if k == name:
                return v
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(k == name for k, _ in self.items)

    def as_dict(self) -> dict[str, Scalar]:
        """The active values as a dict."""
        return dict(self.items)


# ---- the space ----------------------------------------------------------------------------
class DeclaredSpace(SearchSpace):
    """A finite space derived from a declaration alone (see the module docstring).

    Files (TOML, JSON, ConfigSpace JSON) are read and written by
    :mod:`nasbench.spaces.declared_files` (``read_space``, ``write_space``), which builds
    on this module: nothing here imports it back.

    Args:
        declaration: a :class:`Declaration`, or its dict (explicit or short form).

    Raises:
        ConfigError: a malformed or contradictory declaration, or more than
            :data:`MAX_SIZE` configurations.
    """

    name = "declared"

    @property
    def network_family(self) -> str | None:  # type: ignore[override]
        """The family that trains the space (``network.family``; default ``mlp``, an MLP over
        its dimensions, :mod:`nasbench.train.families`); ``none`` declares no network."""
        family = str(dict(self.declaration.network).get("family", "mlp"))
        return None if family == "none" else family

    def __init__(self, declaration: Mapping[str, Any] | Declaration) -> None:
        self._build(Declaration.from_dict(declaration))

    # skops (model files) and copies keep only the declaration; the rest is derived again.
    def __getstate__(self) -> dict[str, Any]:
        return {"declaration": self.declaration.to_dict()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._build(Declaration.from_dict(state["declaration"]))

    def __repr__(self) -> str:
        return f"DeclaredSpace(size={self.size}, dimensions={list(self.names)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeclaredSpace) and other.config() == self.config()

    def __hash__(self) -> int:
        return hash(json.dumps(self.config(), sort_keys=True))

    # ---- derived structure --------------------------------------------------------------
    def _build(self, decl: Declaration) -> None:
        self.declaration = decl
        dims = decl.dimensions
        self.dims: tuple[Dimension, ...] = dims
        self.names: tuple[str, ...] = tuple(d.name for d in dims)
        pos = {n: i for i, n in enumerate(self.names)}
        self._pos = pos
        self._radix = np.array([d.size for d in dims], dtype=np.int64)
        # conditions: child -> [(parent, sat)], sat bool (r_parent + 1,), last entry (inactive) False
        conds: dict[int, list[tuple[int, np.ndarray]]] = {}
        for c in decl.conditions:
            for end in (c.child, c.parent):
                if end not in pos:
                    raise ConfigError(
                        f"condition '{c}' names an unknown dimension {end!r}; dimensions: {', '.join(self.names)}"
                    )
            if c.child == c.parent:
                raise ConfigError(f"condition '{c}' makes a dimension depend on itself")
            sat = self._satisfying(c)
            if not sat.any():
                raise ConfigError(
                    f"condition '{c}' can never hold ({c.parent}: {dims[pos[c.parent]].describe()})"
                )
            conds.setdefault(pos[c.child], []).append((pos[c.parent], np.append(sat, False)))
        self._conds = conds
        self._order = self._topological(conds)
        self._conditional = np.array([i in conds for i in range(len(dims))], dtype=bool)
        forb: list[tuple[tuple[int, np.ndarray], ...]] = []
        for clause in decl.forbidden:
            parts = []
            for name, v in clause:
                if name not in pos:
                    raise ConfigError(
                        f"forbidden {_forbidden_text(clause)} names an unknown dimension {name!r}; "
                        f"dimensions: {', '.join(self.names)}"
                    )
                d = dims[pos[name]]
                mask = np.zeros(d.size + 1, dtype=bool)
                for x in v if isinstance(v, tuple) else (v,):
                    k = d.position(x)
                    if k is None:
                        raise ConfigError(
                            f"forbidden {_forbidden_text(clause)}: {format_value(x)} is not a value of {name} ({d.describe()})"
                        )
                    mask[k] = True
                parts.append((pos[name], mask))
            forb.append(tuple(parts))
        self._forbidden = forb
        # codes: conditional dims reserve digit 0 for "inactive"
        code_radix = self._radix + self._conditional
        total = 1
        for r in code_radix:
            total *= int(r)
        if total >= 2**62:
            raise ConfigError(
                f"the space has too many dimension values to index ({total:.3g} raw combinations)"
            )
        self._weights = np.array(
            [int(np.prod(code_radix[i + 1 :], dtype=object)) for i in range(len(dims))], dtype=np.int64
        )
        self._digit_dtype = (
            np.int8 if self._radix.max() < 127 else np.int16 if self._radix.max() < 32767 else np.int32
        )
        rows = self._enumerate()
        if len(rows) == 0:
            raise ConfigError("the forbidden combinations exclude every configuration: the space is empty")
        never = [self.names[i] for i in range(len(dims)) if not (rows[:, i] >= 0).any()]
        if never:
            raise ConfigError(
                f"dimension {never[0]!r} is never active: its conditions never hold together "
                "(or forbidden combinations exclude every configuration that activates it)"
            )
        codes = self._codes(rows)
        order = np.argsort(codes, kind="stable")
        self._digits = rows[order]
        self._digits.setflags(write=False)
        self._sorted_codes = codes[order]
        self._sorted_codes.setflags(write=False)
        self._parts = [
            np.array([f"{d.name}={format_value(v)}" for v in d.grid] + [""], dtype=object) for d in dims
        ]
        offsets = np.concatenate([[0], np.cumsum(self._radix)])
        self._onehot_offset = offsets[:-1]
        self._onehot_width = int(offsets[-1])
        self._ordinal_values = [np.append(d.transformed(), -1.0) for d in dims]

    def _satisfying(self, c: Condition) -> np.ndarray:
        """bool ``(r_parent,)``: which parent values satisfy condition ``c``."""
        d = self.dims[self._pos[c.parent]]
        if c.op in _ORDER_OPS and not d.ordered:
            raise ConfigError(f"condition '{c}': {c.parent} is categorical, so only ==, != and in apply")
        if c.op == "in":
            if not isinstance(c.value, list | tuple) or not c.value:
                raise ConfigError(f"condition '{c}': 'in' needs a non-empty list of values")
            ks = [d.position(v) for v in c.value]
            bad = next((v for v, k in zip(c.value, ks) if k is None), None)
            if bad is not None:
                raise ConfigError(
                    f"condition '{c}': {format_value(bad)} is not a value of {c.parent} ({d.describe()})"
                )
            sat = np.zeros(d.size, dtype=bool)
            sat[ks] = True
            return sat
        if c.op in _ORDER_OPS and d.type in ("integer", "float"):
            if not _is_number(c.value) and not (
                isinstance(c.value, str) and _is_number(parse_value(c.value))
            ):
                raise ConfigError(f"condition '{c}': {c.parent} {c.op} needs a number, got {c.value!r}")
            x, v = d._numeric, float(parse_value(c.value) if isinstance(c.value, str) else c.value)
            return {"<": x < v, "<=": x <= v, ">": x > v, ">=": x >= v}[c.op]
        k = d.position(c.value)
        if k is None:
            raise ConfigError(
                f"condition '{c}': {format_value(c.value)} is not a value of {c.parent} ({d.describe()})"
            )
        at = np.arange(d.size)
        return {"==": at == k, "!=": at != k, "<": at < k, "<=": at <= k, ">": at > k, ">=": at >= k}[c.op]

    def _topological(self, conds: dict[int, list[tuple[int, np.ndarray]]]) -> tuple[int, ...]:
        parents = {i: {p for p, _ in conds.get(i, [])} for i in range(len(self.dims))}
        order: list[int] = []
        done: set[int] = set()
        while len(order) < len(self.dims):
            ready = [i for i in range(len(self.dims)) if i not in done and parents[i] <= done]
            if not ready:
                cyc = [self.names[i] for i in range(len(self.dims)) if i not in done]
                raise ConfigError(f"the conditions form a cycle among {', '.join(cyc)}")
            order.append(ready[0])
            done.add(ready[0])
        return tuple(order)

    def _active(self, rows: np.ndarray, d: int) -> np.ndarray:
        """bool ``(n,)``: whether dimension ``d`` is active in ``rows`` (parents already set)."""
        act = np.ones(len(rows), dtype=bool)
        for p, sat in self._conds.get(d, []):
            act &= sat[rows[:, p]]  # -1 (inactive parent) reads sat's last entry: False
        return act

    def _enumerate(self) -> np.ndarray:
        """int ``(size, D)`` digits (-1: inactive) of every valid canonical configuration."""
        n_dims = len(self.dims)
        rows = np.full((1, n_dims), -1, dtype=self._digit_dtype)
        placed: set[int] = set()
        for d in self._order:
            act = self._active(rows, d)
            r = int(self._radix[d])
            n_new = int(len(rows) - act.sum() + act.sum() * r)
            if n_new > MAX_SIZE:
                raise ConfigError(
                    f"the space has more than {MAX_SIZE:,} configurations (at least {n_new:,} after "
                    f"{len(placed) + 1} of {n_dims} dimensions); declare coarser grids or more forbiddens"
                )
            grown = np.repeat(rows[act], r, axis=0)
            grown[:, d] = np.tile(np.arange(r, dtype=self._digit_dtype), int(act.sum()))
            rows = np.concatenate([rows[~act], grown])
            placed.add(d)
            for clause in self._forbidden:
                dims_of = {i for i, _ in clause}
                if d in dims_of and dims_of <= placed:
                    rows = rows[~self._hits(rows, clause)]
        return rows

    @staticmethod
    def _hits(rows: np.ndarray, clause: tuple[tuple[int, np.ndarray], ...]) -> np.ndarray:
        hit = np.ones(len(rows), dtype=bool)
        for i, mask in clause:
            hit &= mask[rows[:, i]]  # -1 reads the mask's last entry: False
        return hit

    def _codes(self, rows: np.ndarray) -> np.ndarray:
        r = rows.astype(np.int64) + self._conditional[None, :]
        return r @ self._weights

    def _lookup_rows(self, rows: np.ndarray) -> np.ndarray:
        """int64 ``(n,)`` indices of canonical digit ``rows``; -1 where not in the space."""
        codes = self._codes(rows)
        at = np.minimum(np.searchsorted(self._sorted_codes, codes), self.size - 1)
        return np.where(self._sorted_codes[at] == codes, at, -1).astype(np.int64)

    def _canonical(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Digit ``rows`` (-1: absent) with inactive dimensions dropped, and bool ``(n,)``:
        rows where an active dimension has no value."""
        rows = rows.copy()
        missing = np.zeros(len(rows), dtype=bool)
        for d in self._order:
            act = self._active(rows, d)
            rows[~act, d] = -1
            missing |= act & (rows[:, d] < 0)
        return rows, missing

    # ---- identity -----------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {"declaration": self.declaration.to_dict()}

    @property
    def size(self) -> int:
        return len(self._digits)

    def digits(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """int ``(n, D)``: each configuration's value positions, -1 for an inactive dimension."""
        return self._digits[self.check_indices(indices)]

    def op_matrix(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """int64 ``(n, D)``: :meth:`digits` with inactive dimensions as 0, one choice per
        dimension (the per-decision view a policy such as REINFORCE samples from)."""
        return np.maximum(self.digits(indices), 0).astype(np.int64)

    def _config_at(self, i: int) -> DeclaredConfig:
        row = self._digits[i]
        items = tuple((d.name, d.grid[k]) for d, k in zip(self.dims, row.tolist()) if k >= 0)
        return DeclaredConfig(items, int(i))

    def arch(self, index: int) -> DeclaredConfig:
        return self._config_at(int(self.check_indices([index])[0]))

    def to_str(self, arch: Any) -> str:
        i = self.index(arch)
        return ",".join(p for p in (parts[k] for parts, k in zip(self._parts, self._digits[i].tolist())) if p)

    def strings(self, indices: Sequence[int] | np.ndarray) -> list[str]:
        """The canonical string of each index."""
        dig = self.digits(indices)
        cols = [parts[dig[:, d]] for d, parts in enumerate(self._parts)]
        return [",".join(p for p in row if p) for row in zip(*cols)]

    def parse(self, text: str) -> DeclaredConfig:
        """Read ``name=value,...`` (any order; inactive dimensions are dropped).

        Raises:
            ArchitectureError: malformed text, unknown dimension or value, a missing active
                dimension, or a forbidden combination.
        """
        if not isinstance(text, str) or not text.strip():
            raise ArchitectureError(f"a configuration reads name=value,name=value; got {text!r}")
        values: dict[str, str] = {}
        for part in text.split(","):
            key, eq, val = part.partition("=")
            if not eq or not key.strip():
                raise ArchitectureError(f"a configuration reads name=value,name=value; got {text!r}")
            if key.strip() in values:
                raise ArchitectureError(f"configuration {text!r} gives {key.strip()!r} twice")
            values[key.strip()] = val.strip()
        return self.from_values(values)

    def from_values(self, values: Mapping[str, Any]) -> DeclaredConfig:
        """The configuration with these values (values or their text; inactive ones dropped).

        Raises:
            ArchitectureError: unknown dimension or value, a missing active dimension, or
                a forbidden combination.
        """
        row = np.full((1, len(self.dims)), -1, dtype=self._digit_dtype)
        for key, val in values.items():
            if key not in self._pos:
                raise ArchitectureError(
                    f"unknown dimension {key!r} in a configuration; dimensions: {', '.join(self.names)}"
                )
            d = self.dims[self._pos[key]]
            if val is None or (isinstance(val, float) and math.isnan(val)):
                continue
            k = d.position(val)
            if k is None:
                raise ArchitectureError(f"{format_value(val)} is not a value of {key} ({d.describe()})")
            row[0, self._pos[key]] = k
        row, missing = self._canonical(row)
        if missing[0]:
            raise ArchitectureError(self._missing_message(row))
        i = int(self._lookup_rows(row)[0])
        if i < 0:
            raise ArchitectureError(self._forbidden_message(row))
        return self._config_at(i)

    def index(self, arch: Any) -> int:
        if isinstance(arch, DeclaredConfig):
            return self.from_values(arch.as_dict()).index
        if isinstance(arch, str):
            s = arch.strip()
            if s.isdigit():
                return int(self.check_indices([int(s)])[0])
            return self.parse(s).index
        if isinstance(arch, Mapping):
            return self.from_values(arch).index
        if isinstance(arch, int | np.integer) and not isinstance(arch, bool):
            return int(self.check_indices([arch])[0])
        raise ArchitectureError(f"cannot interpret {arch!r} as a configuration of the declared space")

    def indices_of(
        self,
        columns: Mapping[str, Sequence[Any] | np.ndarray],
        *,
        snap: bool = False,
        on_invalid: Literal["raise", "mark"] = "raise",
    ) -> np.ndarray:
        """int64 ``(n,)`` indices of ``n`` configurations given column-wise (vectorised).

        Args:
            columns: one array per dimension (every dimension needed; values, their text,
                or None/NaN where inactive). Values of inactive dimensions are dropped.
            snap: integer and float dimensions take the nearest grid value of a number
                within ``low..high`` (for data sampled off the grid).
            on_invalid: ``raise`` on the first configuration not in the space, or ``mark``
                it with -1.

        Raises:
            ArchitectureError: a dimension's column is missing, or (``raise``) a value is
                not in its dimension, an active dimension has no value, or a configuration
                is forbidden.
        """
        absent = [n for n in self.names if n not in columns]
        if absent:
            raise ArchitectureError(f"no column for dimension(s) {', '.join(absent)}")
        import pandas as pd

        n = len(next(iter(columns.values()))) if columns else 0
        rows = np.full((n, len(self.dims)), -1, dtype=np.int64)
        bad = np.zeros(n, dtype=bool)
        for j, d in enumerate(self.dims):
            col = np.asarray(columns[d.name])
            if len(col) != n:
                raise ArchitectureError(f"column {d.name!r} has {len(col)} values, not {n}")
            codes, uniques = pd.factorize(pd.Series(col, dtype=object if col.dtype.kind in "OUSb" else None))
            uniq = np.asarray(uniques)
            if uniq.dtype.kind in "iuf":
                pos = d.positions(uniq.astype(np.float64), snap=snap)
            else:
                found = [d.position(u) for u in uniq.tolist()]
                pos = np.array([-1 if k is None else k for k in found], dtype=np.int64)
            digit = np.where(codes >= 0, pos[np.maximum(codes, 0)] if len(pos) else -2, -2)
            wrong = digit == -1
            if wrong.any() and on_invalid == "raise":
                r = int(np.flatnonzero(wrong)[0])
                raise ArchitectureError(
                    f"row {r}: {format_value(col[r])} is not a value of {d.name} ({d.describe()})"
                )
            bad |= wrong
            rows[:, j] = np.maximum(digit, -1)
        rows, missing = self._canonical(rows)
        if missing.any() and on_invalid == "raise":
            r = int(np.flatnonzero(missing)[0])
            raise ArchitectureError(f"row {r}: {self._missing_message(rows[r : r + 1])}")
        out = self._lookup_rows(rows)
        out[bad | missing] = -1
        if on_invalid == "raise" and (out < 0).any():
            r = int(np.flatnonzero(out < 0)[0])
            raise ArchitectureError(f"row {r}: {self._forbidden_message(rows[r : r + 1])}")
        return out

    def _missing_message(self, row: np.ndarray) -> str:
        d = next(d for d in self._order if self._active(row, d)[0] and row[0, d] < 0)
        return f"the configuration needs a value for {self.names[d]!r} (it is active)"

    def _forbidden_message(self, row: np.ndarray) -> str:
        clause = next(c for c, f in zip(self.declaration.forbidden, self._forbidden) if self._hits(row, f)[0])
        return f"the configuration is forbidden by {_forbidden_text(clause)}"

    # ---- generation ---------------------------------------------------------------------
    def neighbours(self, index: int) -> np.ndarray:
        i = int(self.check_indices([index])[0])
        base = self._digits[i].astype(np.int64)
        found = []
        for j in np.flatnonzero(base >= 0):
            k, r = int(base[j]), int(self._radix[j])
            if self.dims[j].ordered:
                steps = [s for s in (k - 1, k + 1) if 0 <= s < r]
            else:
                steps = [s for s in range(r) if s != k]
            if not steps:
                continue
            cand = np.repeat(base[None, :], len(steps), axis=0)
            cand[:, j] = steps
            found.append(self._lookup_rows(self._complete(cand)))
        if not found:
            return np.zeros(0, dtype=np.int64)
        out = np.unique(np.concatenate(found))
        return out[(out >= 0) & (out != i)]

    def _complete(self, rows: np.ndarray) -> np.ndarray:
        """Rows with inactive dimensions dropped and each newly active one expanded over
        its values (int64 ``(m, D)``, ``m >= len(rows)``)."""
        for d in self._order:
            act = self._active(rows, d)
            rows[~act, d] = -1
            need = act & (rows[:, d] < 0)
            if need.any():
                r = int(self._radix[d])
                grown = np.repeat(rows[need], r, axis=0)
                grown[:, d] = np.tile(np.arange(r), int(need.sum()))
                rows = np.concatenate([rows[~need], grown])
        return rows

    # ---- encodings ----------------------------------------------------------------------
    @property
    def encodings(self) -> tuple[str, ...]:
        return ("onehot", "ordinal")

    @property
    def default_encodings(self) -> tuple[str, ...]:
        """Both: the ordinal column carries order and distance, the one-hot block lets a
        model treat each categorical value on its own."""
        return ("ordinal", "onehot")

    def encoding_names(self, kind: str) -> list[str]:
        """Column names of an encoding (``name=value`` for one-hot, ``name`` for ordinal)."""
        if kind == "onehot":
            return [f"{d.name}={format_value(v)}" for d in self.dims for v in d.grid]
        if kind == "ordinal":
            return list(self.names)
        raise self._unknown_encoding(kind)

    def encode(self, indices: Sequence[int] | np.ndarray, kind: str) -> np.ndarray:
        dig = self.digits(indices).astype(np.int64)
        n = len(dig)
        if kind == "onehot":
            out = np.zeros((n, self._onehot_width), dtype=np.float32)
            rr, dd = np.nonzero(dig >= 0)
            out[rr, self._onehot_offset[dd] + dig[rr, dd]] = 1.0
            return out
        if kind == "ordinal":
            out = np.empty((n, len(self.dims)), dtype=np.float32)
            for d, vals in enumerate(self._ordinal_values):
                out[:, d] = vals[dig[:, d]]  # -1 (inactive) reads the last entry: -1.0
            return out
        raise self._unknown_encoding(kind)

    # ---- reports ------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Size, dimensions (with how often each is active), conditions and forbiddens."""
        active = (self._digits >= 0).sum(axis=0)
        return {
            "size": self.size,
            "dimensions": [
                {
                    "name": d.name,
                    "type": d.type,
                    "values": d.size,
                    "summary": d.describe(),
                    "active_in": int(active[i]),
                }
                for i, d in enumerate(self.dims)
            ],
            "conditions": [str(c) for c in self.declaration.conditions],
            "forbidden": [_forbidden_text(f) for f in self.declaration.forbidden],
            "encodings": {k: len(self.encoding_names(k)) for k in self.encodings},
            **({"network": dict(self.declaration.network)} if self.declaration.network else {}),
        }
