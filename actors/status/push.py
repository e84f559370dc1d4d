"""Server-sent events: one bounded queue per open page, the newest update always wins.

Runs on the status loop only. A page that reads slowly loses intermediate
updates, never the latest one, and never holds up the others or the loop.
`describe` turns a keeper event into the line the page lists.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from actors.messages import (
    EntryApprovalRequested,
    EntryApprovalResolved,
    OrderDenied,
    OrderFilled,
    OrderPlaced,
    RiskStateChanged,
    StateChanged,
    TradeClosed,
    TradingBlocked,
    TradingHalted,
    TradingStopped,
    TradingUnblocked,
)
from actors.status.fmt import dec, when

KEEP_EVENTS = 12


class Hub:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[str | None]] = set()
        self.sent = 0

    @property
    def clients(self) -> int:
        return len(self._queues)

    def join(self) -> asyncio.Queue[str | None]:
        q: asyncio.Queue[str | None] = asyncio.Queue(maxsize=2)
        self._queues.add(q)
        return q

    def leave(self, q: asyncio.Queue[str | None]) -> None:
        self._queues.discard(q)

    def publish(self, frame: str) -> None:
        for q in self._queues:
            put(q, frame)
        self.sent += 1

    def close(self) -> None:
        for q in self._queues:
            put(q, None)


def frame(doc: dict[str, Any]) -> str:
    """One `update` event; JSON has no raw newline, so it is one `data:` line."""
    return f"event: update\ndata: {json.dumps(doc, separators=(',', ':'))}\n\n"


def put(q: asyncio.Queue[str | None], item: str | None) -> None:
    while q.full():
        q.get_nowait()  # drop the oldest: only the newest update matters
    q.put_nowait(item)


def describe(ev: Any) -> str | None:
    """A keeper event as one readable line (market time first), or None for events not listed."""
    match ev:
        case OrderPlaced():
            text = f"order placed: {ev.side.value.lower()} {dec(ev.quantity)} @ {dec(ev.price)} ({ev.reason})"
        case OrderFilled():
            text = f"filled: {ev.side.value.lower()} {dec(ev.fill_qty)} ({dec(ev.cum_qty)} in all)"
        case OrderDenied():
            text = f"denied {ev.side.value.lower()} ({ev.code}): {ev.detail}"
        case TradeClosed():
            text = f"trade closed: P&L {dec(ev.trade.profit_loss)} ({ev.trade.exit_reason or 'advice'})"
        case StateChanged():
            text = f"{ev.previous.value} → {ev.state.value}: {ev.reason}"
        case RiskStateChanged():
            text = f"trading {ev.state.value.upper()}: {ev.reason}"
        case TradingHalted():
            text = f"HALTED: {ev.reason}"
        case TradingStopped():
            text = f"stopped: {ev.reason}"
        case TradingBlocked():
            text = f"blocked ({ev.condition.condition}): {ev.condition.detail}"
        case TradingUnblocked():
            text = f"unblocked ({ev.condition.condition})"
        case EntryApprovalRequested(approval=a):
            text = f"entry {a.approval_id} waits for approval: buy {dec(a.quantity)} @ {dec(a.price)}"
        case EntryApprovalResolved(approval=a):
            text = f"entry {a.approval_id} {a.outcome}{' by ' + a.by if a.by not in ('keeper', '') else ''}"
        case _:
            return None
    ts = getattr(ev, "ts_ms", None) or getattr(getattr(ev, "condition", None), "since_ms", 0)
    stamp = when(ts)
    return f"{stamp[11:19]} {text}" if stamp else text
