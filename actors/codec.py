"""Protocol messages to and from JSON-able dicts, for the journal.

Decimals travel as strings (exact), enums as their values, nested messages
as dicts with a `_t` type tag. Decoders are built once per class.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from actors import messages

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
        out: dict[str, Any] = {"_t": type(obj).__name__} if tag else {}
        skip = ("reply_to", *omit.get(type(obj), ()))  # an actor reference is not a fact
        for f in dataclasses.fields(obj):
            if f.name not in skip:
                out[f.name] = _convert(getattr(obj, f.name), tag, omit)
        return out
    if isinstance(obj, Mapping):
        return {str(k): _convert(v, tag, omit) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_convert(v, tag, omit) for v in obj]
    return str(obj)


def dumps(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), separators=(",", ":"), sort_keys=False)


def loads(text: str) -> Any:
    return from_jsonable(json.loads(text))


def from_jsonable(data: Any) -> Any:
    if isinstance(data, dict) and "_t" in data:
        return _decode_dataclass(data)
    return data


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(messages))


def _decode_dataclass(data: dict[str, Any]) -> Any:
    cls = _TYPES.get(data["_t"])
    if cls is None:
        raise ValueError(f"unknown message type {data['_t']!r} in journal")
    hints = _hints(cls)
    kwargs = {k: _coerce(hints[k], v) for k, v in data.items() if k != "_t" and k in hints}
    return cls(**kwargs)


def _coerce(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        for arg in args:
            try:
                return _coerce(arg, value)
            except (TypeError, ValueError, ArithmeticError):
                continue
        return value
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v) for v in value)
        return tuple(_coerce(a, v) for a, v in zip(args, value, strict=False))
    if tp is Decimal:
        return Decimal(value)
    if tp is datetime:
        return datetime.fromisoformat(value)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _decode_dataclass(value)
    if tp is bool and not isinstance(value, bool):
        raise TypeError(f"expected a bool, got {value!r}")
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"expected an int, got {value!r}")
    if tp is str and not isinstance(value, str):
        raise TypeError(f"expected a str, got {value!r}")
    return value
