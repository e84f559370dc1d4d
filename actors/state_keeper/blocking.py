"""Conditions that keep the keeper from trading, each logged once when it starts and once when it ends.

A condition that holds for hours (a stale feed, a closed market, a halt, a
trade size below the exchange minimum) must not write a line per snapshot:
`Blockers.set` reports only the edges, with how long it lasted and how many
snapshots it blocked, and the status page and the report read `current()`.
"""

from __future__ import annotations

from collections.abc import KeysView
from dataclasses import replace

from loguru import logger

from actors.messages import BlockedCondition, TradingBlocked, TradingUnblocked


class Blockers:
    __slots__ = ("_count", "_on", "ended")

    def __init__(self) -> None:
        self._on: dict[str, BlockedCondition] = {}  # as it started (count 1)
        self._count: dict[str, int] = {}  # how many snapshots each has blocked: not a new record each time
        self.ended = 0

    def set(self, condition: str, active: bool, detail: str, now_ms: int,
            loud: bool = True) -> TradingBlocked | TradingUnblocked | None:
        """Record whether `condition` holds now; returns the event when it starts or ends.

        `loud=False` for a condition its cause already logged (a halt or a pause of the risk gate).
        """
        cur = self._on.get(condition)
        if active:
            if cur is None:
                c = BlockedCondition(condition=condition, detail=detail, since_ms=now_ms, count=1)
                self._on[condition] = c
                self._count[condition] = 1
                (logger.warning if loud else logger.debug)("not trading: {} ({})", detail, condition)
                return TradingBlocked(condition=c)
            self._count[condition] += 1
            return None
        if cur is None:
            return None
        del self._on[condition]
        count = self._count.pop(condition)
        self.ended += 1
        minutes = max(0, now_ms - cur.since_ms) / 60_000
        (logger.info if loud else logger.debug)("trading again: {} cleared after {:.1f} min ({} snapshots blocked)", condition, minutes, count)
        return TradingUnblocked(condition=replace(cur, count=count), ts_ms=now_ms)

    def active(self, condition: str) -> bool:
        return condition in self._on

    def __contains__(self, condition: str) -> bool:
        return condition in self._on

    def names(self) -> KeysView[str]:
        """The conditions that hold now (a live view)."""
        return self._on.keys()

    def current(self) -> tuple[BlockedCondition, ...]:
        return tuple(replace(c, count=self._count[name]) for name, c in self._on.items())
