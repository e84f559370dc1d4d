"""What the status page knows: the `View` the server swaps whole, and its JSON.

Pure: nothing here does I/O or touches an actor. Times come in as arguments
(`now_mono`, `now_ms`): the page reports how old its data is, and the caller
owns the clock. Money and quantities stay `Decimal` and travel as exact
strings in the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from actors._lib.codec import plain
from actors.messages import MarketSnapshot, Stats, StatusSnapshot
from actors.status.history import Sample


@dataclass(frozen=True, slots=True)
class View:
    """What the server last learnt from the keeper and the peers (immutable, swapped whole)."""

    status: StatusSnapshot | None = None
    status_mono: float | None = None  # monotonic time the keeper's answer arrived
    status_ms: int | None = None  # wall time of the same, for display
    stats: Mapping[str, Stats] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)  # source -> why its last ask failed
    refreshes: int = 0
    peers: tuple[str, ...] = ()
    snapshot_seen_ms: int | None = None  # wall time the page first saw the keeper's current snapshot
    mode: str = ""  # PAPER, LIVE, TESTNET or BACKTEST
    history: tuple[Sample, ...] = ()  # oldest first, for the charts
    events: tuple[str, ...] = ()  # what the keeper told the page lately, newest last, readable
    notices: tuple[tuple[str, str], ...] = ()  # the start-up checks: (warning | note, text)


# -- JSON ----------------------------------------------------------------------------


def jsonable(obj: Any) -> Any:
    """Decimals as exact strings, enums as values; a snapshot's raw ticks are noise on a status page."""
    return plain(obj, {MarketSnapshot: ("trades",)})


def status_json(st: StatusSnapshot) -> dict[str, Any]:
    """The keeper's StatusSnapshot as JSON: the same fields, counters as an object."""
    out: dict[str, Any] = jsonable(st)
    out["counters"] = dict(st.counters)
    return out


def page_json(view: View, now_mono: float, now_ms: int) -> dict[str, Any]:
    """The `/status` document: the keeper's snapshot plus the peers' stats and the data's age."""
    st = view.status
    doc: dict[str, Any] = {
        "ok": st is not None and not view.errors.get("keeper"),
        "mode": view.mode,
        "data_age_s": age_s(view, now_mono),
        "refreshed_at": iso(view.status_ms),
        "refreshes": view.refreshes,
        "feed_age_s": feed_age_s(view, now_ms),
        "market_time": iso(st.last_snapshot.ts_data_ms) if st is not None and st.last_snapshot else None,
        "halted": bool(st is not None and st.halted_reason),
        "stopped": bool(st is not None and st.stopped_reason),
        "status": status_json(st) if st is not None else None,
        "stats": {name: jsonable(s) for name, s in sorted(view.stats.items())},
        "errors": dict(sorted(view.errors.items())),
        "startup_checks": [{"level": level, "text": text} for level, text in view.notices],
    }
    return doc


def age_s(view: View, now_mono: float) -> float | None:
    if view.status_mono is None:
        return None
    return round(max(0.0, now_mono - view.status_mono), 3)


LIVE_SKEW_MS = 60_000


def feed_age_s(view: View, now_ms: int) -> float | None:
    """Wall-clock seconds since the newest market data the keeper has.

    Live, the data's own timestamp is a wall-clock time and is used as is. A
    replay or a synthetic market runs on the market clock, so a timestamp
    that was already older than `LIVE_SKEW_MS` when the page first saw it is
    not a wall time: the age is then counted from when the page saw it.
    """
    st = view.status
    if st is None or st.last_snapshot is None:
        return None
    data_ms = st.last_snapshot.ts_data_ms
    seen = view.snapshot_seen_ms
    if seen is not None and not -LIVE_SKEW_MS <= seen - data_ms <= LIVE_SKEW_MS:
        data_ms = seen
    return round(max(0, now_ms - data_ms) / 1000, 3)


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


