"""Small conversions shared by the summary, the chart and the text: exact strings, UTC times.

Money is written as an exact fixed-point string (never a float, never `1E-8`
notation); ratios are Decimals rounded half-even to 6 places, also as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from actors._lib.codec import plain

Q6 = Decimal("0.000001")
Q8 = Decimal("1e-8")


def dec_str(value: Decimal | None) -> str | None:
    """An exact fixed-point string: `Decimal("1E-8")` -> "0.00000001", None stays None."""
    if value is None:
        return None
    return format(value, "f")


def ratio_str(value: Decimal | None) -> str | None:
    return None if value is None else dec_str(value.quantize(Q6, rounding=ROUND_HALF_EVEN))


def ms_to_iso(ms: int | None) -> str | None:
    """Epoch milliseconds to an ISO 8601 string in UTC (millisecond precision)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def ms_to_utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def dt_to_iso(dt: datetime | None) -> str | None:
    """A datetime to ISO 8601 in UTC; a naive datetime is taken to be UTC already."""
    if dt is None:
        return None
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return dt.isoformat(timespec="milliseconds")


def dt_to_ms(dt: datetime | None) -> int | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def to_jsonable(obj: Any) -> Any:
    """Stats values and friends to JSON-ready values: Decimals as exact fixed-point strings."""
    if hasattr(obj, "as_dict") and not isinstance(obj, Mapping):  # a `Stats` passed where its dict was expected
        obj = obj.as_dict()
    return plain(obj)


def as_decimal(value: Any) -> Decimal | None:
    """A Decimal from a Decimal or a string written by `dec_str` (None if absent or bad)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
