"""Cutting a finite source (synthetic, replay) into snapshots by market time (was `lockstep.py`).

The rule is the live one, played on the market clock: a snapshot goes out
when there is new data and `snapshot_interval_ms` has passed since the last
one (at the moment the interval ends, so the data that arrives later waits
for the next one), at once on a move of `significant_move_bps` of the mid,
and at once when `trade_cap` trades are waiting, so none is ever dropped.

The per-event path is a scan over a chunk of already-parsed trades (columns,
`TradeColumns`) that compares each trade's time with the next due time and
its price with a band around the last snapshot's mid; the features see the
trades in slices. A cut is a `LazySnapshot`: what a subscriber's `WakeWhen`
reads, and the `MarketSnapshot` (features, candles, `TradeTick`s) only if
someone is to receive it: in a backtest most cuts reach nobody.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

from actors.market_data.columns import TradeColumns
from actors.market_data.features import BPS, SizeState
from actors.market_data.snapshot_builder import MAX_DERIVED_SPREAD_BPS, SnapshotBuilder, derive_quotes
from actors.market_data.wake import Wanted
from actors.messages import MarketSnapshot, TradeTick

# (book, trades); book = (ts_ms, bid, bid_qty, ask, ask_qty, imbalance) or None for a bookless source
Book = tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal | None]
Chunk = tuple[Book | None, TradeColumns | Sequence[TradeTick]]
Segment = tuple[TradeColumns, int, int]  # trades start:end of one chunk
Bands = tuple[Decimal, Decimal, Decimal, Decimal]  # taker buys' low, high; taker sells' low, high
Quotes = tuple[Decimal, Decimal, Decimal, Bands | None]  # bid, ask, mid, and the bands around the mid (bookless)

TRADE_CAP = 500
MEMO_MAX = 4096  # remembered derived quotes (and bands), per cutter

_NEVER = -(2**62)
_NO_LOW = Decimal(0)
_NO_HIGH = Decimal("1e30")
_EMPTY = TradeColumns([], [], [], [], [])


class LazySnapshot:
    """A cut: a snapshot's cheap fields, enough to check a subscriber's `WakeWhen`; `snapshot()` builds
    the rest (rolling features, candles) once, and only if someone is to receive it. It must be
    called before the feed moves on, while the features still describe this moment. `trades` are
    made on first use."""

    __slots__ = ("_builder", "_segments", "_sizes", "_snap", "_trades", "ask", "ask_qty", "bid", "bid_qty",
                 "imbalance", "mid", "seq", "stale", "ts_data_ms", "ts_snapshot_ms")

    def __init__(self, builder: SnapshotBuilder, seq: int, ts_data_ms: int, ts_snapshot_ms: int, quotes: Quotes,
                 sizes: SizeState | None, book: tuple[Decimal, Decimal, Decimal | None] | None,
                 segments: list[Segment]) -> None:
        self._builder = builder
        self.seq, self.ts_data_ms, self.ts_snapshot_ms = seq, ts_data_ms, ts_snapshot_ms
        self.bid, self.ask, self.mid = quotes[0], quotes[1], quotes[2]
        self._sizes = sizes  # bookless: what bid_qty and ask_qty are made of, as of the cut
        self.bid_qty: Decimal | None = None  # a real book's: set here; bookless: made from `_sizes`
        self.ask_qty: Decimal | None = None
        self.imbalance: Decimal | None = None
        if book is not None:
            self.bid_qty, self.ask_qty, self.imbalance = book
        self._segments = segments
        self._trades: tuple[TradeTick, ...] | None = None
        self._snap: MarketSnapshot | None = None
        self.stale = False

    @property
    def trades(self) -> tuple[TradeTick, ...]:
        t = self._trades
        if t is None:
            segs = self._segments
            if len(segs) == 1:
                cols, a, b = segs[0]
                t = tuple(cols.ticks(a, b))
            else:
                t = tuple(x for cols, a, b in segs for x in cols.ticks(a, b))
            self._trades = t
        return t

    def snapshot(self) -> MarketSnapshot:
        if self._snap is None:
            if self._sizes is not None:
                bid_qty, ask_qty = self._builder.quantities(self._sizes)
            else:
                assert self.bid_qty is not None and self.ask_qty is not None
                bid_qty, ask_qty = self.bid_qty, self.ask_qty
            self._snap = self._builder.build(
                seq=self.seq, ts_data_ms=self.ts_data_ms, ts_snapshot_ms=self.ts_snapshot_ms, bid=self.bid,
                bid_qty=bid_qty, ask=self.ask, ask_qty=ask_qty, imbalance=self.imbalance, trades=self.trades)
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
        self.snapshots = 0  # cuts made, passed over or not
        self.last_passed: LazySnapshot | None = None
        self.last_ts_data = 0  # the newest cut's ts_data_ms
        self.exhausted = False
        self._cols = _EMPTY
        self._i = 0
        self._book: Book | None = None  # a book read but not yet applied
        self._segs: list[Segment] = []  # the trades of the coming snapshot
        self._buf_n = 0
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
        # Derived quotes by the identity of the last trade prices (the reader makes one Decimal per
        # spelling, so they repeat), and bands by the mid: a replay's quotes take few values.
        self._quote_memo: dict[tuple[int, int, bool], tuple[object, object, Quotes | None]] = {}

    # -- the cut ------------------------------------------------------------------------

    def next_snapshot(self, seq: int) -> MarketSnapshot | None:
        cut = self.next_cut(seq)
        return None if cut is None else cut.snapshot()

    def next_cut(self, seq: int, wanted: Wanted | None = None) -> LazySnapshot | None:
        """The next cut, numbered `seq`. With `wanted`, the cuts that fail it are passed over: made
        and counted (`snapshots`), each taking its number, but not returned; `last_passed` keeps the
        last of them when it may be the source's last cut."""
        while True:
            ts_cut = self._scan()
            if ts_cut is None:
                return None
            quotes = self._quotes_now()
            if wanted is None or self._wanted(wanted, ts_cut, quotes):
                self.last_passed = None
                snap = self._emit(seq, ts_cut, quotes, keep=True)
                assert snap is not None
                return snap
            if wanted.samplers:
                wanted.passed(ts_cut, quotes[0], quotes[2])
            self.last_passed = self._emit(seq, ts_cut, quotes, keep=False)
            seq += 1

    def _scan(self) -> int | None:
        """Pull the source until the next cut: its snapshot time, or None once the source is exhausted."""
        features = self.features
        while True:
            book = self._book
            if book is not None:
                ts = book[0]
                if self._pending and ts >= self._due:
                    return self._due
                self._book = None
                self.events += 1
                self._has_book = True
                _, self._bid, self._bid_qty, self._ask, self._ask_qty, self._imbalance = book
                self._ts_data = ts
                self._pending = True
                if ts >= self._due or self._significant():
                    return ts
                continue
            cols = self._cols
            times = cols.ts
            i = self._i
            n = len(times)
            if i >= n:
                chunk = next(self._chunks, None)
                if chunk is None:
                    self.exhausted = True
                    if self._pending:
                        return max(self._due, self._ts_data)
                    return None
                self._book, trades = chunk
                self._cols = trades if isinstance(trades, TradeColumns) else TradeColumns.of(trades)
                self._i = 0
                continue
            # The tight loop: nothing here but comparisons. Trades from `start` to `i`
            # are scanned but not yet handed to the features (that is done in one go).
            prices, makers = cols.prices, cols.makers
            due = self._due
            buy_lo, buy_hi, sell_lo, sell_hi = self._bands
            start = i
            end = min(n, i + self.trade_cap - self._buf_n)
            cut: int | None = None  # the snapshot time, once the scan decides on a cut
            while True:
                while i < end:
                    if times[i] >= due:
                        break
                    p = prices[i]
                    if makers[i]:
                        if p >= sell_hi or p <= sell_lo:
                            break
                    elif p >= buy_hi or p <= buy_lo:
                        break
                    i += 1
                if i >= end:
                    break
                ts = times[i]
                if ts >= due:
                    if self._pending or i > start:
                        cut = due  # the interval ended before this trade
                    else:
                        i += 1  # the first data after a quiet spell goes out at once
                        cut = ts
                    break
                i += 1
                if self._significant_with(cols, start, i - 1):
                    cut = ts
                    break
            if i > start:
                self._segs.append((cols, start, i))
                self._buf_n += i - start
                if cols.src is not None:
                    features.add_trades(cols.src, start, i)  # the source's own ticks (klines carry bars)
                else:
                    features.add_columns(prices, cols.qtys, times, makers, start, i)
                self.events += i - start
                self._ts_data = times[i - 1]
                self._pending = True
            self._i = i
            if cut is not None:
                return cut
            if self._buf_n >= self.trade_cap:
                return self._ts_data

    # -- helpers ------------------------------------------------------------------------

    def _quotes(self, last_buy: Decimal | None, last_sell: Decimal | None, last_was_buy: bool) -> Quotes | None:
        """`derive_quotes` and their mid, remembered (the memo holds the prices, so their ids stay theirs)."""
        key = (id(last_buy), id(last_sell), last_was_buy)
        hit = self._quote_memo.get(key)
        if hit is not None:
            return hit[2]
        q = derive_quotes(last_buy, last_sell, last_was_buy, self.builder.tick)
        if q is None:
            out = None
        else:
            mid = (q[0] + q[1]) / 2
            out = (q[0], q[1], mid, self._bands_of(mid))
        if len(self._quote_memo) >= MEMO_MAX:
            self._quote_memo.clear()
        self._quote_memo[key] = (last_buy, last_sell, out)
        return out

    def _mid(self) -> Decimal | None:
        if self._has_book:
            return (self._bid + self._ask) / 2
        f = self.features
        quotes = self._quotes(f.last_buy_px, f.last_sell_px, f.last_was_buy)
        return None if quotes is None else quotes[2]

    def _significant_with(self, cols: TradeColumns, start: int, i: int) -> bool:
        """Would trade `i` (after the unfolded trades `start:i`) move the mid by the threshold?"""
        ref = self._ref_mid
        if ref is None or self._has_book:
            return False
        makers, prices = cols.makers, cols.prices
        f = self.features
        taker_buy = not makers[i]
        other = None
        for k in range(i - 1, start - 1, -1):
            if makers[k] == taker_buy:  # the latest trade on the other side
                other = prices[k]
                break
        else:
            other = f.last_sell_px if taker_buy else f.last_buy_px
        if taker_buy:
            quotes = self._quotes(prices[i], other, True)
        else:
            quotes = self._quotes(other, prices[i], False)
        if quotes is None:
            return False
        return abs(quotes[2] - ref) * BPS >= self.move_bps * ref

    def _significant(self) -> bool:
        ref = self._ref_mid
        if ref is None:
            return False
        mid = self._mid()
        return mid is not None and abs(mid - ref) * BPS >= self.move_bps * ref

    def _bands_of(self, mid: Decimal) -> Bands:
        """A derived mid lies between half a tick and half the widest derived spread below a taker
        buy's price (it is the ask), above a taker sell's (the bid)."""
        threshold = mid * self.move_bps / BPS
        tick = self.builder.tick
        widest = max(tick, mid * (MAX_DERIVED_SPREAD_BPS + 1) / BPS)
        lo, hi = mid - threshold, mid + threshold
        half_tick, half_widest = tick / 2, widest / 2
        return lo + half_widest, hi + half_tick, lo - half_tick, hi - half_widest

    def _quotes_now(self) -> Quotes:
        if self._has_book:
            return self._bid, self._ask, (self._bid + self._ask) / 2, None
        f = self.features
        hit = self._quote_memo.get((id(f.last_buy_px), id(f.last_sell_px), f.last_was_buy))
        quotes = hit[2] if hit is not None else self._quotes(f.last_buy_px, f.last_sell_px, f.last_was_buy)
        assert quotes is not None, "a cut with no data"
        return quotes

    def _wanted(self, wanted: Wanted, ts_snapshot: int, quotes: Quotes) -> bool:
        low = high = None
        if wanted.trades and self._segs:
            low = min(min(cols.prices[a:b]) for cols, a, b in self._segs)
            high = max(max(cols.prices[a:b]) for cols, a, b in self._segs)
        return wanted.met(ts_snapshot, quotes[0], quotes[1], quotes[2], low, high)

    def _emit(self, seq: int, ts_snapshot: int, quotes: Quotes, keep: bool) -> LazySnapshot | None:
        """The cut: the window moves, the next one is due. `keep`: make its `LazySnapshot`; else only if
        it may be the last one (no data is left in hand), and before the window moves, as always."""
        f = self.features
        snap = None
        if keep or (self._book is None and self._i >= len(self._cols.ts)):
            if self._has_book:
                snap = LazySnapshot(self.builder, seq, self._ts_data, ts_snapshot, quotes, None,
                                    (self._bid_qty, self._ask_qty, self._imbalance), self._segs)
            else:  # the sizes as the window is before it moves, below
                snap = LazySnapshot(self.builder, seq, self._ts_data, ts_snapshot, quotes, f.size_state(), None,
                                    self._segs)
        # the window moves now, as it would if the snapshot were built now: what is read later is the same
        f._expire(self._ts_data)
        self.last_ts_data = self._ts_data
        self._segs = []
        self._buf_n = 0
        self._pending = False
        self._due = ts_snapshot + self.interval_ms
        self._ref_mid = quotes[2]
        bands = quotes[3]
        # Trades do not move a real book's mid: only a book update can be significant.
        self._bands = (_NO_LOW, _NO_HIGH, _NO_LOW, _NO_HIGH) if bands is None else bands
        self.snapshots += 1
        return snap
