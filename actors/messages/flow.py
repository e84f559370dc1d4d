"""How market data reaches its subscribers: subscriptions, lockstep acknowledgements and wake-ups."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from actors.messages.base import _frozen

if TYPE_CHECKING:
    import pykka

    from actors.messages.market import MarketSnapshot


@dataclass(**_frozen)
class Subscribe:
    """Ask a publisher (market data, order executor) to send its events to `subscriber`."""

    subscriber: pykka.ActorRef[Any]


@dataclass(**_frozen)
class SubscribeCandles:
    """Ask the market data for `CandlesClosed`: every closed candle, never conflated, never skipped."""

    subscriber: pykka.ActorRef[Any]


@dataclass(**_frozen)
class Unsubscribe:
    subscriber: pykka.ActorRef[Any]


@dataclass(**_frozen)
class WakeWhen:
    """The snapshots a lockstep subscriber needs next: the first that meets any condition.

    A subscriber that can act only at a time or a price says so, and the
    market skips it until then; `WakeWhen()` (no condition) means "only when
    forced". It must be conservative: a skipped snapshot is one on which the
    subscriber would have done nothing.
    """

    at_ms: int | None = None  # market time reached
    mid_outside: tuple[Decimal, Decimal] | None = None  # mid < low or mid > high
    bid_below: Decimal | None = None
    buy_fills_at: Decimal | None = None  # the ask, or a trade, at or below this price
    sell_fills_at: Decimal | None = None  # the bid, or a trade, at or above this price
    # Not a condition: while the subscriber is skipped, the market notes the bid and mid of the first
    # cut at or after `sample_from_ms`, then of the first one `sample_every_ms` after each noted one,
    # and tells them (`MarksRecorded`) before the next snapshot it gets: equity samples without a wake.
    sample_from_ms: int | None = None
    sample_every_ms: int = 0

    def met_by(self, s: MarketSnapshot) -> bool:
        if s.stale:
            return True
        if self.at_ms is not None and s.ts_snapshot_ms >= self.at_ms:
            return True
        if self.mid_outside is not None and not self.mid_outside[0] <= s.mid <= self.mid_outside[1]:
            return True
        if self.bid_below is not None and s.bid < self.bid_below:
            return True
        p = self.buy_fills_at
        if p is not None and (s.ask <= p or any(t.price <= p for t in s.trades)):
            return True
        p = self.sell_fills_at
        return p is not None and (s.bid >= p or any(t.price >= p for t in s.trades))


@dataclass(**_frozen)
class SnapshotProcessed:
    """A subscriber is done with snapshot `seq`: the credit that lets the next one out.

    In lockstep mode (synthetic, replay) the market does not move on until
    every subscriber has sent this, which makes backtests deterministic and
    bounds memory; live, a subscriber that has not acknowledged gets only
    the newest snapshot when it does (conflation).

    Lockstep only: `wake` says which snapshots the subscriber needs next
    (None = every one); `sent_events` says it told other actors something
    while handling this one, so every subscriber must see the rest of this
    snapshot and the next one, whatever their `wake` said.
    """

    seq: int
    subscriber_urn: str
    wake: WakeWhen | None = None
    sent_events: bool = False


@dataclass(**_frozen)
class StartFeed:
    """Start publishing; sent once every subscriber is wired."""


@dataclass(**_frozen)
class MarksRecorded:
    """Lockstep: the cuts a subscriber was skipped on at its `WakeWhen.sample_*` times, oldest first,
    each (ts_snapshot_ms, bid, mid); told just before the next snapshot it receives (or FeedFinished)."""

    marks: tuple[tuple[int, Decimal, Decimal], ...]
