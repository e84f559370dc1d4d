"""What all the lockstep subscribers' wake conditions add up to: a test a cut can fail without being made.

In a backtest most cuts reach nobody: every subscriber said with a `WakeWhen`
it would do nothing with them. `WakeWhen.met_by` (actors/messages/flow.py) is
the definition; `Wanted` is the same test for every subscriber at once, on
the few numbers a cut has before it is a snapshot, so the cutter can pass
over such cuts (count them, move on) without making a `LazySnapshot` and
asking each subscriber. Any wake met by one of them is met by the union:

- at a time: the earliest; a mid outside a band: outside the narrowest
  bounds (below the highest low, above the lowest high); a bid below a
  level: the highest level;
- a resting buy fills when the ask or a trade is at or below its price: the
  highest such price; a resting sell, at or above: the lowest.

`tests/market_data/test_wake_union.py` checks it against `met_by`, and that
`WakeWhen` has no condition this does not know (with one, nothing is passed
over, which is slower but right): a new one must be added here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from decimal import Decimal
from typing import Protocol

from actors.messages import WakeWhen

KNOWN = ("at_ms", "mid_outside", "bid_below", "buy_fills_at", "sell_fills_at")
SAMPLING = ("sample_from_ms", "sample_every_ms")  # not conditions: marks noted on the cuts passed over
# A WakeWhen with a condition not in KNOWN is never passed over here (every cut is asked, as before).
COMPLETE = tuple(f.name for f in fields(WakeWhen)) == KNOWN + SAMPLING
_NEVER_MS = 2**62
_INF = Decimal("Infinity")
_NEG_INF = -_INF


class Sampler(Protocol):
    """A subscriber that asked for marks (`market_data.subscribers.Subscriber`)."""

    sample_due: int | None
    sample_every: int
    marks: list[tuple[int, Decimal, Decimal]]


def note_mark(sub: Sampler, ts_ms: int, bid: Decimal, mid: Decimal) -> None:
    """`sub` is skipped on this cut: note its bid and mid if a sample is due."""
    due = sub.sample_due
    if due is not None and ts_ms >= due:
        sub.marks.append((ts_ms, bid, mid))
        sub.sample_due = ts_ms + sub.sample_every if sub.sample_every > 0 else None


class Wanted:
    """Would any subscriber want a cut at `ts_snapshot_ms` with these quotes and trade prices?

    `samplers` are the subscribers that asked for marks: a cut passed over is noted for them."""

    __slots__ = ("at_ms", "bid_below", "buy_at", "mid_hi", "mid_lo", "samplers", "sell_at", "trades")

    def __init__(self, wakes: Sequence[WakeWhen], samplers: Sequence[Sampler] = ()) -> None:
        self.samplers = [s for s in samplers if s.sample_due is not None]
        at = [w.at_ms for w in wakes if w.at_ms is not None]
        bands = [w.mid_outside for w in wakes if w.mid_outside is not None]
        below = [w.bid_below for w in wakes if w.bid_below is not None]
        buys = [w.buy_fills_at for w in wakes if w.buy_fills_at is not None]
        sells = [w.sell_fills_at for w in wakes if w.sell_fills_at is not None]
        self.at_ms = min(at) if at else _NEVER_MS
        self.mid_lo = max(b[0] for b in bands) if bands else _NEG_INF
        self.mid_hi = min(b[1] for b in bands) if bands else _INF
        self.bid_below = max(below) if below else _NEG_INF
        self.buy_at = max(buys) if buys else _NEG_INF
        self.sell_at = min(sells) if sells else _INF
        self.trades = bool(buys or sells)  # the test needs the trades' lowest and highest prices

    @classmethod
    def of(cls, wakes: Sequence[WakeWhen | None], samplers: Sequence[Sampler] = ()) -> Wanted | None:
        """The union, or None when it cannot be had: someone wants every snapshot (no wake), or a
        wake has a condition this module does not know."""
        if not COMPLETE or not wakes or any(w is None or type(w) is not WakeWhen for w in wakes):
            return None
        return cls([w for w in wakes if w is not None], samplers)

    def passed(self, ts_ms: int, bid: Decimal, mid: Decimal) -> None:
        """A cut nobody wanted: note it for whoever asked for marks."""
        for sub in self.samplers:
            note_mark(sub, ts_ms, bid, mid)

    def met(self, ts_snapshot_ms: int, bid: Decimal, ask: Decimal, mid: Decimal, low: Decimal | None,
            high: Decimal | None) -> bool:
        """`low`, `high`: the lowest and highest price of the cut's trades (None without trades);
        read only if `self.trades`."""
        if ts_snapshot_ms >= self.at_ms or mid < self.mid_lo or mid > self.mid_hi or bid < self.bid_below:
            return True
        if ask <= self.buy_at or bid >= self.sell_at:
            return True
        if low is None or high is None:
            return False
        return low <= self.buy_at or high >= self.sell_at


