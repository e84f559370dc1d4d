"""Protocol messages to and from JSON-able dicts, for the journal.

Decimals travel as strings (exact), enums as their values, nested messages
as dicts with a `_t` type tag. Decoders are built once per class.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from json.encoder import encode_basestring_ascii
from typing import Any

from actors import messages

__all__ = ["dumps", "from_jsonable", "loads", "plain", "to_jsonable"]

_TYPES: dict[str, type] = {
    name: obj
    for name, obj in vars(messages).items()
    if isinstance(obj, type) and dataclasses.is_dataclass(obj)
}


def to_jsonable(obj: Any) -> Any:
    """Tagged with `_t`, so that `from_jsonable` can rebuild the message (the journal's form)."""
    return _convert(obj, True, {})


def plain(obj: Any, omit: Mapping[type, tuple[str, ...]] | None = None) -> Any:
    """Untagged, for people and scripts (status page, report); `omit` drops fields per type."""
    return _convert(obj, False, omit or {})


def _convert(obj: Any, tag: bool, omit: Mapping[type, tuple[str, ...]]) -> Any:
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, Decimal):
        return format(obj, "f") if obj.is_finite() else str(obj)  # exact, never in exponent form
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, messages.Stats):
        return {k: _convert(v, tag, omit) for k, v in obj.values}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cls = type(obj)
        out: dict[str, Any] = {"_t": cls.__name__} if tag else {}
        skip = omit.get(cls, ())
        for name in _field_names(cls):
            if name not in skip:
                value = getattr(obj, name)
                kind = type(value)
                out[name] = value if kind is str or kind is int or value is None else _convert(value, tag, omit)
        return out
    if isinstance(obj, Mapping):
        return {str(k): _convert(v, tag, omit) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_convert(v, tag, omit) for v in obj]
    return str(obj)


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # built once: json.dumps would build one a call


_WRITERS: dict[type, Callable[[Any], str]] = {}  # by message class: a dict lookup per fact, not two calls


def dumps(obj: Any) -> str:
    """The journal's form: tagged, every field written, Decimals exact."""
    write = _WRITERS.get(type(obj))
    if write is not None:
        return write(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        write = _WRITERS[type(obj)] = _writer(type(obj))
        return write(obj)
    return _ENCODER.encode(to_jsonable(obj))


def _value(value: Any) -> str:
    """One field's JSON text when it is not of the type its hint names (the slow, general path)."""
    kind: type = type(value)
    if kind is Decimal:
        return '"' + str(value) + '"'  # exact; a Decimal's text never needs escaping
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _writer(kind)(value)
    if value is None or kind is str or kind is int or kind is bool:
        return _ENCODER.encode(value)
    return _ENCODER.encode(_convert(value, True, {}))


@cache
def _writer(cls: type) -> Callable[[Any], str]:
    """A JSON writer for one message class, generated once from its fields and their type hints.

    It writes what `to_jsonable` + `json` would (the same text, byte for byte: the journal
    stays readable both ways), without a dict per message: each field is tested first against
    the type its hint names (a Decimal as its exact string, a str-valued enum as its value, which
    is its text) and goes the general way (`_value`) when it is something else.
    """
    try:
        hints = _hints(cls)
    except (NameError, TypeError):  # a hint that does not resolve: every field the general way
        hints = {}
    names = _field_names(cls)
    env: dict[str, Any] = {"_v": _value, "_esc": encode_basestring_ascii, "_Decimal": Decimal}
    lines, parts, text = ["def write(o):"], [], '{"_t":' + json.dumps(cls.__name__)
    for i, name in enumerate(names):
        v = f"v{i}"
        lines.append(f"    {v} = o.{name}")
        parts.append(json.dumps(text + "," + json.dumps(name) + ":"))
        fast = _fast_test(hints.get(name), env, i, v)
        parts.append(f"({fast} else _v({v}))" if fast else f"_v({v})")
        text = ""
    parts.append(json.dumps(text + "}"))
    lines.append(f"    return ''.join(({', '.join(parts)}))")  # one join of a tuple: no list, no appends
    code = "\n".join(lines)
    exec(code, env)  # noqa: S102 - our own source, built from a dataclass's field names
    write: Callable[[Any], str] = env["write"]
    return write


def _fast_test(tp: Any, env: dict[str, Any], i: int, v: str) -> str:
    """`TEXT if TEST` for the value `v` of the type a field's hint names (and None if it allows it), or ""."""
    args = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
    optional = type(None) in args
    kinds = [a for a in args if a is not type(None)]
    if len(kinds) != 1:
        return ""
    kind = kinds[0]
    none = f"'null' if {v} is None else " if optional else ""
    if kind is Decimal:
        return f"{none}('\"' + str({v}) + '\"') if type({v}) is _Decimal"
    if kind is str:
        return f"{none}_esc({v}) if type({v}) is str"
    if kind is int:
        return f"{none}str({v}) if type({v}) is int"
    if kind is bool:
        return f"{none}('true' if {v} else 'false') if type({v}) is bool"
    if isinstance(kind, type) and issubclass(kind, Enum) and issubclass(kind, str):
        env[f"_E{i}"] = kind
        return f"{none}_esc({v}) if type({v}) is _E{i}"  # a str enum's text is its value
    return ""


def loads(text: str) -> Any:
    return from_jsonable(json.loads(text))


def from_jsonable(data: Any) -> Any:
    if isinstance(data, dict) and "_t" in data:
        return _decode_dataclass(data)
    return data


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    """A message's fields, but not an actor reference: that is not a fact."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.name != "reply_to")


@cache
def _hints(cls: type) -> dict[str, Any]:
    # its own module's names (Decimal, datetime...) and every message (forward references across modules)
    return typing.get_type_hints(cls, {**vars(sys.modules[cls.__module__]), **vars(messages)})


@cache
def _decoders(cls: type) -> dict[str, Callable[[Any], Any]]:
    """One converter per field, worked out once per class from its type hints."""
    hints = _hints(cls)
    return {name: _converter(hints[name]) for name in _field_names(cls)}


def _decode_dataclass(data: dict[str, Any]) -> Any:
    cls = _TYPES.get(data["_t"])
    if cls is None:
        raise ValueError(f"unknown message type {data['_t']!r} in journal")
    decoders = _decoders(cls)
    return cls(**{k: decoders[k](v) for k, v in data.items() if k in decoders})


def _converter(tp: Any) -> Callable[[Any], Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [_converter(a) for a in typing.get_args(tp) if a is not type(None)]

        def union(value: Any) -> Any:
            if value is None:
                return None
            for convert in options:
                try:
                    return convert(value)
                except (TypeError, ValueError, ArithmeticError):
                    continue
            return value

        return union
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _converter(args[0])
            return lambda value: tuple(item(v) for v in value)
        items = [_converter(a) for a in args]
        return lambda value: tuple(c(v) for c, v in zip(items, value, strict=False))
    if tp is Decimal:
        return _decimal
    if tp is datetime:
        return datetime.fromisoformat
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _decode_dataclass
    if tp in (bool, int, str):
        return _exact(tp)
    return lambda value: value


def _decimal(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise TypeError(f"expected a decimal string, got {value!r}")
    return Decimal(value)


def _exact(tp: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is not tp:
            raise TypeError(f"expected {tp.__name__}, got {value!r}")
        return value

    return check
