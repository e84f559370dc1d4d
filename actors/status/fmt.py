"""Formatting for people: escaped text, readable times, human labels for internal counters.

Every piece of text that came from elsewhere (the model's reasoning, a halt
reason, an error) goes through `e`, which escapes quotes too, so it is safe
inside attributes.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

Q8 = Decimal("1e-8")
EPOCH_MS_MIN = 946_684_800_000  # 2000-01-01: smaller "_ms" values are durations or market clocks near 1970


def e(value: Any) -> str:
    """HTML-escape anything; None shows as a dash."""
    if value is None:
        return "—"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime):
        value = value.strftime("%Y-%m-%d %H:%M:%S")
    return html.escape(str(value), quote=True)


def dec(value: Decimal | None, places: Decimal = Q8) -> str | None:
    """An exact fixed-point string, rounded to 8 places only when it has more."""
    if value is None:
        return None
    if value.as_tuple().exponent < places.as_tuple().exponent:  # type: ignore[operator]
        value = value.quantize(places)
    return format(value, "f")


def signed(value: Decimal | None) -> str | None:
    s = dec(value)
    return None if s is None else s if s.startswith("-") or value == 0 else "+" + s


def pct(part: Decimal | None, whole: Decimal | None) -> str | None:
    if part is None or not whole:
        return None
    return f"{part / whole * 100:+.2f}%"


def when(ms: int | None, now_ms: int | None = None) -> str | None:
    """'2026-12-01 21:30:05 UTC (12 s ago)': readable, with the age when the clock is a wall clock."""
    if not ms:
        return None
    t = datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if now_ms is None or ms < EPOCH_MS_MIN:
        return t
    return f"{t} ({ago(now_ms - ms)})"


def ago(ms: int) -> str:
    s = ms / 1000
    future = s < 0
    s = abs(s)
    text = f"{s:.1f} s" if s < 60 else f"{s / 60:.1f} min" if s < 3600 else f"{s / 3600:.1f} h"
    return f"in {text}" if future else f"{text} ago"


_LABELS = {
    "calls": "advice requests answered", "cache_hits": "answered from the cache",
    "fallbacks": "answered by the strategy when the model failed", "strategy": "strategy",
    "strategy_answers": "answered by the strategy", "strategy_errors": "strategy misbehaved (held)",
    "strategy_last_error": "strategy's last error", "proposals": "proposals put to the model",
    "vetoed": "proposals the model vetoed", "role": "model's role",
    "cost": "model spend (USD)", "latency_ms_last": "last model call", "latency_ms_p50": "model call, median",
    "model": "model", "mode": "mode", "kind": "exchange", "orders_sent": "orders sent", "fills": "fills",
    "rejects": "orders rejected", "snapshots": "snapshots sent", "reconnects": "reconnects",
    "stale": "feed stale", "stale_cause": "why the feed is stale", "stale_since_ms": "stale since",
    "failed_attempts": "connection attempts failed", "next_attempt_ms": "next connection attempt",
    "orders": "orders placed", "orders_denied": "orders denied", "trades_closed": "round trips closed",
    "advice_requests": "advice asked for", "refused_transitions": "state changes refused",
    "stray_advice": "advice not asked for", "journal_facts": "facts recovered from the journal",
    "last_data_ms": "newest data", "paused_until_ms": "paused until",
}


def label(key: str) -> str:
    """A counter's name for people: known ones by hand, the rest with spaces and units spelled out."""
    if key in _LABELS:
        return _LABELS[key]
    text = key
    for suffix, unit in (("_ms", " (ms)"), ("_s", " (s)"), ("_bps", " (bps)")):
        if text.endswith(suffix):
            text = text[: -len(suffix)] + unit
            break
    return text.replace("_", " ")


def row(key: str, value: Any, now_ms: int | None) -> tuple[str, Any]:
    """(label, value) for one counter; a time drops the "(ms)" from its label."""
    shown = readable(key, value, now_ms)
    name = label(key)
    if isinstance(value, int) and not isinstance(value, bool) and key.endswith("_ms") and value >= EPOCH_MS_MIN:
        name = name.removesuffix(" (ms)")
    return name, shown


def readable(key: str, value: Any, now_ms: int | None) -> Any:
    """A counter's value for people: epoch milliseconds become times, latencies get their unit.

    `now_ms` None (a backtest, whose times are market times) shows no "ago".
    """
    if isinstance(value, bool) or value is None:
        return "yes" if value is True else "no" if value is False else value
    if isinstance(value, int) and key.endswith("_ms"):
        if value >= EPOCH_MS_MIN:
            return when(value, now_ms)
        if value == 0 and "latency" not in key:
            return "—"  # a time or a gap that has not happened
        return f"{value:,} ms"
    if isinstance(value, int) and "latency_ms" in key:
        return f"{value:,} ms"
    if isinstance(value, Decimal):
        return dec(value)
    if key == "wide_bar_list" and isinstance(value, str):
        return wide_bars(value)
    return value


def wide_bars(text: str, shown: int = 5) -> str:
    """The market's wide bars (JSON of [open ms, close ms, open, high, low, close]) as a short line."""
    try:
        bars = [b for b in json.loads(text) if isinstance(b, list) and len(b) == 6]
        parts = [f"{datetime.fromtimestamp(b[0] / 1000, tz=UTC):%Y-%m-%d %H:%M} o {b[2]} l {b[4]} h {b[3]}"
                 for b in bars[:shown]]
    except (ValueError, TypeError, OverflowError, OSError):
        return text[:200]
    more = f", and {len(bars) - shown} more (summary.json)" if len(bars) > shown else ""
    return "; ".join(parts) + more if parts else "—"
