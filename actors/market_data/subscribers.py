"""The market's subscribers, in subscription order, with what each still owes or waits for.

Shared by both delivery modes. A subscriber that is gone (its actor stopped)
is dropped on the first message that cannot reach it, with one log line.
Refs are duck-typed (`actor_urn`, `tell`), so the delivery classes are tested
with plain objects and no threads.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Protocol

import pykka
from loguru import logger

from actors.messages import TradeTick, WakeWhen

MAX_HELD_TRADES = 1000  # per subscriber, live: the trades a slow subscriber gets at most


class Ref(Protocol):
    """What the market needs of a subscriber: a `pykka.ActorRef`, or a stand-in in tests."""

    @property
    def actor_urn(self) -> str: ...

    def tell(self, message: Any) -> None: ...


class Subscriber:
    __slots__ = ("marks", "newer_waiting", "pending_ack", "ref", "sample_due", "sample_every", "trades", "urn", "wake")

    def __init__(self, ref: Ref) -> None:
        self.ref = ref
        self.urn: str = ref.actor_urn
        self.pending_ack: int | None = None  # seq of the snapshot it has not acknowledged yet
        self.newer_waiting = False  # live: a newer snapshot waits for that acknowledgement
        self.trades: deque[TradeTick] = deque(maxlen=MAX_HELD_TRADES)  # live: trades not yet delivered to it
        self.wake: WakeWhen | None = None  # lockstep: the snapshots it asked for (None = all)
        self.sample_due: int | None = None  # lockstep: when the next mark is due (its wake's sample_*)
        self.sample_every = 0
        self.marks: list[tuple[int, Decimal, Decimal]] = []  # noted while skipped, told before its next snapshot


class Subscribers:
    """Subscription order matters in lockstep (the executor first: its fills precede snapshots)."""

    def __init__(self) -> None:
        self._by_urn: dict[str, Subscriber] = {}
        self.order: list[Subscriber] = []

    def add(self, ref: Ref) -> Subscriber | None:
        """The new subscriber, or None if it was subscribed already."""
        if ref.actor_urn in self._by_urn:
            return None
        sub = Subscriber(ref)
        self._by_urn[sub.urn] = sub
        self.order.append(sub)
        logger.debug("market data: {} subscribed", sub.urn)
        return sub

    def remove(self, urn: str) -> int | None:
        """Its position in the order before it was removed, or None if it was not subscribed."""
        sub = self._by_urn.pop(urn, None)
        if sub is None:
            return None
        pos = self.order.index(sub)
        self.order.pop(pos)
        return pos

    def get(self, urn: str) -> Subscriber | None:
        return self._by_urn.get(urn)

    def tell(self, sub: Subscriber, message: Any) -> bool:
        """Tell one; False (and it is unsubscribed) if it is gone."""
        try:
            sub.ref.tell(message)
        except pykka.ActorDeadError:
            logger.warning("market data: subscriber {} is gone; unsubscribed", sub.urn)
            self._by_urn.pop(sub.urn, None)
            if sub in self.order:
                self.order.remove(sub)
            return False
        return True

    def tell_all(self, message: Any) -> None:
        for sub in list(self.order):
            self.tell(sub, message)

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[Subscriber]:
        return iter(list(self.order))
