"""The one typed configuration mechanism: frozen dataclasses, checked field by field.

Every configuration in the project (training recipes, strategy and modifier parameters,
ablation files) is a frozen dataclass whose annotations are the schema. Values arrive
from three places and go through the same checks:

* files: :func:`read_config_file` reads TOML or JSON into a mapping;
* the command line: :func:`parse_assignments` turns ``--set`` / ``-p KEY=VALUE`` words
  into a mapping (values read as JSON where they parse, else as text);
* ablation factors: the levels of a factor are values of a field.

:func:`build_config` makes the dataclass from such a mapping; :func:`coerce_fields`
checks an instance made directly in Python. An error is one line that names the key, the
expected type and, for a choice, the allowed values.

Supported annotations: ``int``, ``float`` (ints accepted, and kept as ints so that the
JSON of a config, and its hash, stay as the user wrote them), ``bool``, ``str``, ``None``,
``Literal[...]``, unions (``int | None``), ``tuple[T, ...]`` and fixed tuples
(``tuple[int, int, int]``; lists accepted), ``list[T]`` and ``dict[...]`` (a table). Other annotations are accepted as given.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import os
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nasbench.core.errors import ConfigError, NasbenchError

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


# ---- text -------------------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """A command-line value: JSON where it parses (``10``, ``0.5``, ``true``, ``[1, 2]``),
    ``True``/``False``/``None`` in Python's spelling, else the text itself."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"True": True, "False": False, "None": None}.get(text, text)


def parse_assignments(items: Iterable[str] | None, *, option: str = "--set") -> dict[str, Any]:
    """``["population_size=10", "es.confidence=0.9"]`` -> ``{"population_size": 10, ...}``.

    Raises:
        ConfigError: an item is not ``KEY=VALUE``.
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, eq, val = str(item).partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"{option} must look like KEY=VALUE, got {item!r}")
        out[key.strip()] = parse_value(val)
    return out


def read_config_file(
    path: str | os.PathLike[str],
    *,
    what: str = "config",
    error: type[NasbenchError] = ConfigError,
    default: typing.Literal["json", "toml"] = "json",
) -> dict[str, Any]:
    """A TOML or JSON file holding one table/object: ``.toml`` and ``.json`` files by their
    suffix, any other in the ``default`` syntax.

    Raises:
        ``error``: missing or unreadable file, invalid syntax, or not a table/object.
    """
    p = Path(path)
    if not p.is_file():
        raise error(f"{what} not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
        syntax = {".toml": "toml", ".json": "json"}.get(p.suffix.lower(), default)
        data = tomllib.loads(text) if syntax == "toml" else json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what} {p}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {p} is not valid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what} {p} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise error(f"{what} {p} must hold a JSON object of fields, got {type(data).__name__}")
    return data


# ---- types ------------------------------------------------------------------------------
def type_name(tp: Any) -> str:
    """A readable name of an annotation: ``int``, ``'a'|'b'``, ``int or none``, ``list of float``."""
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return "|".join(repr(a) for a in typing.get_args(tp))
    if origin in (types.UnionType, typing.Union):
        return " or ".join(type_name(a) for a in typing.get_args(tp))
    if origin is dict or tp is dict:
        return "table"
    if origin is list:
        return f"list of {type_name(typing.get_args(tp)[0])}"
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {type_name(args[0])}"
        return f"list of {len(args)} {' / '.join(sorted({type_name(a) for a in args}))}"
    if tp is type(None):
        return "none"
    return getattr(tp, "__name__", str(tp))


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def coerce(
    value: Any, tp: Any, what: str, *, text: bool = False, error: type[NasbenchError] = ConfigError
) -> Any:
    """``value`` checked against the annotation ``tp`` (ints pass as floats, lists become tuples).

    Args:
        value: the value.
        tp: the annotation.
        what: how the message names the value (``"recipe field 'lr'"``).
        text: the value came from the command line: also accept ``yes``/``no``/``1``/``0``
            for booleans, ``none`` for None and ``16,32,64`` for a tuple.
        error: the error class to raise.

    Raises:
        ``error``: the value does not fit the annotation.
    """
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        for arg in typing.get_args(tp):
            try:
                return coerce(value, arg, what, text=text, error=error)
            except NasbenchError:
                continue
        raise error(f"{what} must be {type_name(tp)}, got {value!r}")
    if origin is typing.Literal:
        if any(type(a) is type(value) and a == value for a in typing.get_args(tp)):  # 1 is not True here
            return value
        raise error(f"{what} must be one of {type_name(tp)}, got {value!r}")
    if origin is dict or tp is dict:
        if isinstance(value, Mapping):
            return dict(value)
        raise error(f"{what} must be a {type_name(tp)}, got {value!r}")
    if origin is list:
        if isinstance(value, list | tuple):
            return [coerce(v, typing.get_args(tp)[0], what, text=text, error=error) for v in value]
        raise error(f"{what} must be a {type_name(tp)}, got {value!r}")
    if origin is tuple:
        if text and isinstance(value, str):
            value = [parse_value(v) for v in value.replace("/", ",").split(",") if v.strip()]
        elif text and isinstance(value, int | float) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list | tuple):
            raise error(f"{what} must be a {type_name(tp)}, got {value!r}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(v, args[0], what, text=text, error=error) for v in value)
        if len(value) != len(args):
            raise error(f"{what} must be a {type_name(tp)}, got {value!r}")
        return tuple(coerce(v, a, what, text=text, error=error) for v, a in zip(value, args, strict=True))
    if tp is type(None):
        if value is None or (text and isinstance(value, str) and value.lower() in ("none", "null")):
            return None
    elif tp is bool:
        if isinstance(value, bool):
            return value
        if text and str(value).lower() in _TRUE + _FALSE:
            return str(value).lower() in _TRUE
    elif tp is int:
        if _is_int(value):
            return int(value)
    elif tp is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            if text or not isinstance(value, int | float):
                return float(value)  # "--set lr=1" means 1.0
            return value  # an int in a file stays an int, so the config's JSON and hash do
    elif tp is str:
        if isinstance(value, str):
            return value
    else:  # any other annotation (a mapping, a nested object): accepted as given
        return value
    raise error(f"{what} must be {type_name(tp)}, got {value!r}")


# ---- dataclasses --------------------------------------------------------------------------
def build_config(
    config_cls: type,
    data: Mapping[str, Any],
    *,
    who: str,
    noun: str = "parameter",
    error: type[NasbenchError] = ConfigError,
    text: bool = False,
) -> Any:
    """The frozen dataclass ``config_cls`` built from ``data``, every key and type checked.

    Args:
        config_cls: the dataclass (its annotations are the schema).
        data: field values (from a file, the command line or an ablation cell).
        who: how messages name the config (``"strategy re"``, ``"recipe"``).
        noun: how messages name a key (``"parameter"``, ``"field"``, ``"key"``).
        error: the error class to raise.
        text: values came from the command line (see :func:`coerce`).

    Raises:
        ``error``: not a mapping, an unknown key (the message lists the known ones), a
            missing required key, a wrong type, or a value the dataclass itself rejects.
    """
    if not isinstance(data, Mapping):
        raise error(f"{who} must be a table of KEY = VALUE, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(config_cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        allowed = ", ".join(sorted(fields)) or "none"
        raise error(f"{who} has no {noun}(s) {', '.join(map(str, unknown))}; {noun}s: {allowed}")
    missing = [
        k
        for k, f in fields.items()
        if k not in data and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise error(f"{who} needs {', '.join(repr(k) for k in missing)}")
    hints = typing.get_type_hints(config_cls)
    values = {k: coerce(v, hints[k], f"{who} {noun} {k!r}", text=text, error=error) for k, v in data.items()}
    try:
        return config_cls(**values)
    except NasbenchError:
        raise
    except (TypeError, ValueError) as exc:
        raise error(f"{who}: {exc}") from None


def coerce_fields(instance: Any, *, who: str, error: type[NasbenchError] = ConfigError) -> None:
    """Check (and turn lists into tuples) every field of a frozen dataclass
    instance in place; call it first in ``__post_init__``.

    Raises:
        ``error``: a field's value does not fit its annotation.
    """
    hints = typing.get_type_hints(type(instance))
    for f in dataclasses.fields(instance):
        value = getattr(instance, f.name)
        object.__setattr__(instance, f.name, coerce(value, hints[f.name], f"{who} {f.name!r}", error=error))
