"""Cutting a finite source (synthetic, replay) into snapshots by market time (was `lockstep.py`).

The rule is the live one, played on the market clock: a snapshot goes out
when there is new data and `snapshot_interval_ms` has passed since the last
one (at the moment the interval ends, so the data that arrives later waits
for the next one), at once on a move of `significant_move_bps` of the mid,
and at once when `trade_cap` trades are waiting, so none is ever dropped.

The per-event path is a scan over a chunk of already-parsed `TradeTick`s
that compares each trade's time with the next due time and its price with a
band around the last snapshot's mid; the features see the trades in slices,
and one `MarketSnapshot` is built per cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from actors.market_data.features import BPS, MAX_DERIVED_SPREAD_BPS, SnapshotBuilder, derive_quotes
from actors.messages import MarketSnapshot, TradeTick

# (book, trades); book = (ts_ms, bid, bid_qty, ask, ask_qty, imbalance) or None for a bookless source
Book = tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal | None]
Chunk = tuple[Book | None, list[TradeTick]]

TRADE_CAP = 500

_NEVER = -(2**62)
_NO_LOW = Decimal(0)
_NO_HIGH = Decimal("1e30")


class LazySnapshot:
    """A cut: a snapshot's cheap fields, enough to check a subscriber's `WakeWhen`; `snapshot()` builds
    the rest (rolling features, candles) once, and only if someone is to receive it. It must be
    called before the feed moves on, while the features still describe this moment."""

    __slots__ = ("_args", "_builder", "_snap", "ask", "bid", "mid", "seq", "stale", "trades", "ts_data_ms",
                 "ts_snapshot_ms")

    def __init__(self, builder: SnapshotBuilder, args: dict[str, Any]) -> None:
        self._builder, self._args = builder, args
        self._snap: MarketSnapshot | None = None
        self.seq, self.ts_data_ms, self.ts_snapshot_ms = args["seq"], args["ts_data_ms"], args["ts_snapshot_ms"]
        self.bid, self.ask, self.trades = args["bid"], args["ask"], args["trades"]
        self.mid = (self.bid + self.ask) / 2
        self.stale = False

    def snapshot(self) -> MarketSnapshot:
        if self._snap is None:
            self._snap = self._builder.build(**self._args)
        return self._snap


class SnapshotCutter:
    """`next_cut(seq)` pulls the source until the next cut; None once it is exhausted."""

    def __init__(
        self,
        chunks: Iterator[Chunk],
        builder: SnapshotBuilder,
        *,
        interval_ms: int,
        significant_move_bps: Decimal,
        trade_cap: int = TRADE_CAP,
    ) -> None:
        self._chunks = chunks
        self.builder = builder
        self.features = builder.features
        self.interval_ms = interval_ms
        self.move_bps = significant_move_bps
        self.trade_cap = max(1, trade_cap)
        self.events = 0
        self.snapshots = 0
        self.exhausted = False
        self._trades: list[TradeTick] = []
        self._i = 0
        self._book: Book | None = None  # a book read but not yet applied
        self._buf: list[TradeTick] = []
        self._pending = False
        self._due = _NEVER  # the last snapshot's time + interval
        self._ts_data = 0
        self._ref_mid: Decimal | None = None
        # Trade prices strictly inside these bands (taker buys, taker sells) cannot be a
        # significant move; they start empty, so the first trades take the slow path.
        self._bands = (_NO_HIGH, _NO_LOW, _NO_HIGH, _NO_LOW)
        # the top of book of a source that has one
        self._has_book = False
        self._bid = self._bid_qty = self._ask = self._ask_qty = Decimal(0)
        self._imbalance: Decimal | None = None

    # -- the cut ------------------------------------------------------------------------

    def next_snapshot(self, seq: int) -> MarketSnapshot | None:
        cut = self.next_cut(seq)
        return None if cut is None else cut.snapshot()

    def next_cut(self, seq: int) -> LazySnapshot | None:
        buf = self._buf
        features = self.features
        while True:
            book = self._book
            if book is not None:
                ts = book[0]
                if self._pending and ts >= self._due:
                    return self._emit(seq, self._due)
                self._book = None
                self.events += 1
                self._has_book = True
                _, self._bid, self._bid_qty, self._ask, self._ask_qty, self._imbalance = book
                self._ts_data = ts
                self._pending = True
                if ts >= self._due or self._significant():
                    return self._emit(seq, ts)
                continue
            trades = self._trades
            i = self._i
            n = len(trades)
            if i >= n:
                chunk = next(self._chunks, None)
                if chunk is None:
                    self.exhausted = True
                    if self._pending:
                        return self._emit(seq, max(self._due, self._ts_data))
                    return None
                self._book, self._trades = chunk
                self._i = 0
                continue
            # The tight loop: nothing here but comparisons. Trades from `start` to `i`
            # are scanned but not yet handed to the features (that is done in one go).
            due = self._due
            buy_lo, buy_hi, sell_lo, sell_hi = self._bands
            start = i
            end = min(n, i + self.trade_cap - len(buf))
            cut: int | None = None  # the snapshot time, once the scan decides on a cut
            while True:
                while i < end:
                    t = trades[i]
                    if t.ts_ms >= due:
                        break
                    p = t.price
                    if t.buyer_is_maker:
                        if p >= sell_hi or p <= sell_lo:
                            break
                    elif p >= buy_hi or p <= buy_lo:
                        break
                    i += 1
                if i >= end:
                    break
                t = trades[i]
                ts = t.ts_ms
                if ts >= due:
                    if self._pending or i > start:
                        cut = due  # the interval ended before this trade
                    else:
                        i += 1  # the first data after a quiet spell goes out at once
                        cut = ts
                    break
                i += 1
                if self._significant_with(trades, start, i - 1):
                    cut = ts
                    break
            if i > start:
                buf.extend(trades[start:i])
                features.add_trades(trades, start, i)
                self.events += i - start
                self._ts_data = trades[i - 1].ts_ms
                self._pending = True
            self._i = i
            if cut is not None:
                return self._emit(seq, cut)
            if len(buf) >= self.trade_cap:
                return self._emit(seq, self._ts_data)

    # -- helpers ------------------------------------------------------------------------

    def _top(self) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal | None] | None:
        if self._has_book:
            return self._bid, self._bid_qty, self._ask, self._ask_qty, self._imbalance
        top = self.builder.derived_top()
        if top is None:
            return None
        return top[0], top[1], top[2], top[3], None

    def _mid(self) -> Decimal | None:
        if self._has_book:
            return (self._bid + self._ask) / 2
        f = self.features
        quotes = derive_quotes(f.last_buy_px, f.last_sell_px, f.last_was_buy, self.builder.tick)
        return None if quotes is None else (quotes[0] + quotes[1]) / 2

    def _significant_with(self, trades: list[TradeTick], start: int, i: int) -> bool:
        """Would trade `i` (after the unfolded `trades[start:i]`) move the mid by the threshold?"""
        ref = self._ref_mid
        if ref is None or self._has_book:
            return False
        t = trades[i]
        f = self.features
        taker_buy = not t.buyer_is_maker
        other = None
        for k in range(i - 1, start - 1, -1):
            o = trades[k]
            if o.buyer_is_maker == taker_buy:  # the latest trade on the other side
                other = o.price
                break
        else:
            other = f.last_sell_px if taker_buy else f.last_buy_px
        if taker_buy:
            quotes = derive_quotes(t.price, other, True, self.builder.tick)
        else:
            quotes = derive_quotes(other, t.price, False, self.builder.tick)
        if quotes is None:
            return False
        mid = (quotes[0] + quotes[1]) / 2
        return abs(mid - ref) * BPS >= self.move_bps * ref

    def _significant(self) -> bool:
        ref = self._ref_mid
        if ref is None:
            return False
        mid = self._mid()
        return mid is not None and abs(mid - ref) * BPS >= self.move_bps * ref

    def _emit(self, seq: int, ts_snapshot: int) -> LazySnapshot:
        top = self._top()
        assert top is not None, "a cut with no data"
        bid, bid_qty, ask, ask_qty, imbalance = top
        # the window moves now, as it would if the snapshot were built now: what is read later is the same
        self.features._expire(self._ts_data)
        args = {"seq": seq, "ts_data_ms": self._ts_data, "ts_snapshot_ms": ts_snapshot, "bid": bid,
                "bid_qty": bid_qty, "ask": ask, "ask_qty": ask_qty, "imbalance": imbalance, "trades": tuple(self._buf)}
        snap = LazySnapshot(self.builder, args)
        self._buf.clear()
        self._pending = False
        self._due = ts_snapshot + self.interval_ms
        mid = snap.mid
        self._ref_mid = mid
        if self._has_book:
            # Trades do not move a real book's mid: only a book update can be significant.
            self._bands = (_NO_LOW, _NO_HIGH, _NO_LOW, _NO_HIGH)
        else:
            # A derived mid lies between half a tick and half the widest derived spread
            # below a taker buy's price (it is the ask), above a taker sell's (the bid).
            threshold = mid * self.move_bps / BPS
            tick = self.builder.tick
            widest = max(tick, mid * (MAX_DERIVED_SPREAD_BPS + 1) / BPS)
            lo, hi = mid - threshold, mid + threshold
            half_tick, half_widest = tick / 2, widest / 2
            self._bands = (lo + half_widest, hi + half_tick, lo - half_tick, hi - half_widest)
        self.snapshots += 1
        return snap
