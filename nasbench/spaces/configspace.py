"""ConfigSpace import and export for declared spaces (the ``ConfigSpace`` package's JSON).

The JSON is read and written by ConfigSpace itself (``ConfigurationSpace.to_json`` /
``from_json``); this module only maps hyperparameters, conditions and forbidden clauses
to a :class:`~nasbench.spaces.declared.Declaration` and back:

=================================  =======================================================
declared                           ConfigSpace
=================================  =======================================================
categorical (one value)            ``CategoricalHyperparameter`` (``Constant`` on import)
ordinal                            ``OrdinalHyperparameter``
integer, float                     ``UniformInteger/FloatHyperparameter``; the grid's
                                   ``steps`` in ``meta["nasbench"]``
``==``, ``!=``, ``in``             ``EqualsCondition``, ``NotEqualsCondition``, ``InCondition``
``<``, ``<=``, ``>``, ``>=``       ``LessThanCondition`` / ``GreaterThanCondition`` against
                                   the neighbouring grid value (``InCondition`` when every
                                   value satisfies it)
several conditions on a child      ``AndConjunction``
forbidden table                    ``ForbiddenEqualsClause`` / ``ForbiddenInClause``, joined
                                   by ``ForbiddenAndConjunction``
=================================  =======================================================

ConfigSpace orders hyperparameters by depth and name, so each one's position in the
declaration travels in ``meta["nasbench"]["position"]`` and the round trip keeps the
index. A foreign ConfigSpace file (no such meta) keeps ConfigSpace's order; its continuous
floats need ``float_steps`` (a grid of that many values); its categorical weights are
ignored (a declared space samples its valid configurations uniformly) with a warning.
Normal and beta distributions, OR conjunctions and forbidden relations are refused.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.spaces.declared import Condition, DeclaredSpace

log = logging.getLogger(__name__)

_META = "nasbench"


def to_configspace(space: DeclaredSpace) -> Any:
    """The ``ConfigSpace.ConfigurationSpace`` of a declared space.

    Defaults are the values of the configuration at index 0 (a valid one, as ConfigSpace
    requires of its default configuration).
    """
    import ConfigSpace as CS

    first = space.arch(0).as_dict()
    hps = {}
    for i, d in enumerate(space.dims):
        meta: dict[str, Any] = {"position": i}
        default = first.get(d.name, d.grid[0])
        if d.type == "categorical":
            hp = CS.CategoricalHyperparameter(
                d.name, list(d.values), default_value=default, meta={_META: meta}
            )
        elif d.type == "ordinal":
            hp = CS.OrdinalHyperparameter(d.name, list(d.values), default_value=default, meta={_META: meta})
        else:
            if d.steps is not None:
                meta["steps"] = d.steps
            cls = CS.UniformIntegerHyperparameter if d.type == "integer" else CS.UniformFloatHyperparameter
            hp = cls(d.name, d.low, d.high, log=d.log, default_value=default, meta={_META: meta})
        hps[d.name] = hp
    cs = CS.ConfigurationSpace()
    cs.add(list(hps.values()))
    by_child: dict[str, list[Any]] = {}
    for c in space.declaration.conditions:
        by_child.setdefault(c.child, []).append(_export_condition(space, c, hps))
    conditions = [parts[0] if len(parts) == 1 else CS.AndConjunction(*parts) for parts in by_child.values()]
    forbiddens = []
    for clause in space.declaration.forbidden:
        parts = [
            CS.ForbiddenInClause(hps[k], list(v))
            if isinstance(v, tuple)
            else CS.ForbiddenEqualsClause(hps[k], v)
            for k, v in ((k, _grid_values(space, k, v)) for k, v in clause)
        ]
        forbiddens.append(parts[0] if len(parts) == 1 else CS.ForbiddenAndConjunction(*parts))
    cs.add(conditions, forbiddens)
    return cs


def _grid_values(space: DeclaredSpace, name: str, v: Any) -> Any:
    """``v`` (a value, its text, or a tuple of them) as the dimension's own grid values."""
    d = space.dims[space.names.index(name)]
    if isinstance(v, tuple):
        return tuple(d.grid[d.position(x)] for x in v)  # type: ignore[index]
    return d.grid[d.position(v)]  # type: ignore[index]


def _export_condition(space: DeclaredSpace, c: Condition, hps: Mapping[str, Any]) -> Any:
    import ConfigSpace as CS

    child, parent = hps[c.child], hps[c.parent]
    d = space.dims[space.names.index(c.parent)]
    if c.op in ("==", "!="):
        cls = CS.EqualsCondition if c.op == "==" else CS.NotEqualsCondition
        return cls(child, parent, _grid_values(space, c.parent, c.value))
    if c.op == "in":
        return CS.InCondition(child, parent, list(_grid_values(space, c.parent, tuple(c.value))))
    sat = np.flatnonzero(space._satisfying(c))  # an upper or lower run of the ordered grid
    if len(sat) == d.size:
        return CS.InCondition(child, parent, list(d.grid))
    if c.op in (">", ">="):
        return CS.GreaterThanCondition(child, parent, d.grid[int(sat[0]) - 1])
    return CS.LessThanCondition(child, parent, d.grid[int(sat[-1]) + 1])


def configspace_json(space: DeclaredSpace) -> str:
    """ConfigSpace's JSON text of a declared space (written by ConfigSpace)."""
    buf = io.StringIO()
    to_configspace(space).to_json(buf, indent=2)
    return buf.getvalue() + "\n"


def declaration_from_configspace(cs: Any, *, float_steps: int | None = None) -> dict[str, Any]:
    """The declaration (explicit dict form) of a ``ConfigurationSpace``.

    Args:
        cs: the configuration space.
        float_steps: grid size for continuous float hyperparameters (those without
            ``meta["nasbench"]["steps"]``); None refuses them.

    Raises:
        ConfigError: an unsupported hyperparameter, condition or forbidden type, or a
            continuous float without ``float_steps``.
    """
    import ConfigSpace as CS

    hps = list(cs.values())
    metas = [(hp.meta or {}).get(_META, {}) if isinstance(hp.meta, Mapping) else {} for hp in hps]
    if hps and all("position" in m for m in metas):
        order = sorted(range(len(hps)), key=lambda i: metas[i]["position"])
        hps, metas = [hps[i] for i in order], [metas[i] for i in order]
    dims = []
    for hp, meta in zip(hps, metas):
        if isinstance(hp, CS.Constant):
            dims.append({"name": hp.name, "type": "categorical", "values": [_plain(hp.value)]})
        elif isinstance(hp, CS.CategoricalHyperparameter):
            w = hp.weights
            if w is not None and len(set(np.round(np.asarray(w, float) / np.sum(w), 12))) > 1:
                log.warning(
                    "ConfigSpace weights of %r are ignored: a declared space samples uniformly", hp.name
                )
            dims.append({"name": hp.name, "type": "categorical", "values": [_plain(v) for v in hp.choices]})
        elif isinstance(hp, CS.OrdinalHyperparameter):
            dims.append({"name": hp.name, "type": "ordinal", "values": [_plain(v) for v in hp.sequence]})
        elif isinstance(hp, CS.UniformIntegerHyperparameter | CS.UniformFloatHyperparameter):
            is_int = isinstance(hp, CS.UniformIntegerHyperparameter)
            dim: dict[str, Any] = {
                "name": hp.name,
                "type": "integer" if is_int else "float",
                "low": _plain(hp.lower),
                "high": _plain(hp.upper),
            }
            if hp.log:
                dim["log"] = True
            steps = meta.get("steps")
            if steps is None and not is_int:
                if float_steps is None:
                    raise ConfigError(
                        f"ConfigSpace float {hp.name!r} is continuous; a declared space is a finite grid: "
                        "give float_steps (--float-steps N)"
                    )
                steps = float_steps
            if steps is not None:
                dim["steps"] = int(steps)
            dims.append(dim)
        else:
            raise ConfigError(
                f"ConfigSpace hyperparameter {hp.name!r} is a {type(hp).__name__}, which a declared space "
                "does not support (categorical, ordinal, constant, uniform integer and float)"
            )
    conditions: list[dict[str, Any]] = []
    for cond in cs.conditions:
        parts = cond.components if isinstance(cond, CS.AndConjunction) else [cond]
        for part in parts:
            conditions.append(_import_condition(part))
    forbidden = []
    for clause in cs.forbidden_clauses:
        parts = clause.components if isinstance(clause, CS.ForbiddenAndConjunction) else [clause]
        table: dict[str, Any] = {}
        for part in parts:
            if isinstance(part, CS.ForbiddenEqualsClause):
                table[part.hyperparameter.name] = _plain(part.value)
            elif isinstance(part, CS.ForbiddenInClause):
                table[part.hyperparameter.name] = [_plain(v) for v in part.values]
            else:
                raise ConfigError(
                    f"ConfigSpace forbidden clause {part} ({type(part).__name__}) is not supported; "
                    "use equals and in clauses, joined by and"
                )
        forbidden.append(table)
    return {"dimensions": dims, "conditions": conditions, "forbidden": forbidden}


def _import_condition(cond: Any) -> dict[str, Any]:
    import ConfigSpace as CS

    ops = {
        CS.EqualsCondition: "==",
        CS.NotEqualsCondition: "!=",
        CS.LessThanCondition: "<",
        CS.GreaterThanCondition: ">",
        CS.InCondition: "in",
    }
    op = ops.get(type(cond))
    if op is None:
        raise ConfigError(
            f"ConfigSpace condition {cond} ({type(cond).__name__}) is not supported; "
            "use equals, not-equals, less-than, greater-than and in conditions, joined by and"
        )
    value = [_plain(v) for v in cond.values] if op == "in" else _plain(cond.value)
    return {"child": cond.child.name, "parent": cond.parent.name, "op": op, "value": value}


def _plain(value: Any) -> Any:
    """A JSON scalar (numpy scalars become Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value


def from_configspace_json(data: str | Mapping[str, Any], *, float_steps: int | None = None) -> DeclaredSpace:
    """A declared space from ConfigSpace JSON (text or the parsed dict), read by ConfigSpace.

    Raises:
        ConfigError: ConfigSpace cannot read it, or it holds something a declared space
            does not support.
    """
    import json

    from ConfigSpace import ConfigurationSpace

    text = data if isinstance(data, str) else json.dumps(dict(data))
    try:
        cs = ConfigurationSpace.from_json(io.StringIO(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"ConfigSpace cannot read this JSON: {exc}") from None
    return DeclaredSpace(declaration_from_configspace(cs, float_steps=float_steps))


__all__ = [
    "configspace_json",
    "declaration_from_configspace",
    "from_configspace_json",
    "to_configspace",
]
