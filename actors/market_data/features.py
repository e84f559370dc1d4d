"""Rolling market features: the trade window and the candles a `MarketSnapshot` is built from.

Pure logic, fed trades in time order. Everything is incremental: trades are
folded into one-second buckets (sums of price×qty, qty, taker buy and sell
volume, the bucket's last price), the buckets of the last `window_s` seconds
sit in a deque with running sums beside it, so a snapshot costs the same
whatever the window holds. Candles are one minute long.

Prices (mid, microprice, vwap) are Decimal; the indicators that are not
prices are published as Decimal quantized to a fixed number of places, so a
replay gives identical snapshots every time. The snapshot itself is built in
`snapshot_builder.py`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from decimal import Decimal

from actors.market_data.construct import fast_constructor, make_candle, make_snapshot, make_tick
from actors.market_data.trend import Trend, q_vol, regime_of
from actors.messages import Candle, TradeTick

ZERO = Decimal(0)
ONE = Decimal(1)
TWO = Decimal(2)
BPS = Decimal(10000)

PRICE_Q = Decimal("1e-8")  # vwap, microprice
RATIO_Q = Decimal("1e-4")  # imbalance, trade-flow imbalance
BPS_Q = Decimal("1e-2")  # spread_bps
VOL_Q = Decimal("1e-6")  # realised volatility (a fraction)

MINUTE_MS = 60_000

# what a bookless snapshot's sizes are made of: (window buy qty, open bucket's buy qty, buy count,
# the same for sells, last trade qty)
SizeState = tuple[Decimal, Decimal, int, Decimal, Decimal, int, Decimal | None]


def q_ratio(x: float) -> Decimal:
    """A float indicator as a Decimal with 4 places (no negative zero)."""
    return Decimal(f"{x:.4f}") + 0


class Features:
    """VWAP, realised volatility and trade-flow imbalance over `window_s`, plus 1-minute candles.

    Also remembers what a bookless source needs to derive quotes: the last
    taker-buy and taker-sell prices and the average taker trade size per side.
    """

    def __init__(self, window_s: int, candles: int, trend_fast_s: int = 3600, trend_slow_s: int = 14400,
                 regime_band: Decimal = Decimal("0.5")) -> None:
        self.window_s = window_s
        self.trend = Trend(trend_fast_s, trend_slow_s, regime_band)
        self._bar_feed = False  # kline bars fold their own closes into the trend
        self._in_trend_ms = -1  # a candle (by open time) already in the trend: a warm start's last bar (warmup.py)
        self.max_candles = candles
        # closed one-second buckets: (sec, pq, q, buy_q, sell_q, buy_n, sell_n, r2)
        self._buckets: deque[tuple[int, Decimal, Decimal, Decimal, Decimal, int, int, float]] = deque()
        self._pq = ZERO
        self._q = ZERO
        self._buy_q = ZERO
        self._sell_q = ZERO
        self._buy_n = 0
        self._sell_n = 0
        self._r2 = 0.0
        self._prev_close: float | None = None  # the last closed bucket's last price
        # the open bucket
        self._sec = -1
        self._b_pq = ZERO
        self._b_q = ZERO
        self._b_buy = ZERO
        self._b_sell = ZERO
        self._b_buy_n = 0
        self._b_sell_n = 0
        # candles
        self._closed: deque[Candle] = deque(maxlen=max(candles - 1, 0))  # the forming one is the last
        self._c_open_ms = -1
        self._c_o = self._c_h = self._c_l = self._c_c = ZERO
        self._c_v = ZERO
        # last trade, quotes for bookless sources
        self.last_price: Decimal | None = None
        self.last_qty: Decimal | None = None
        self.last_ts = 0
        self.last_buy_px: Decimal | None = None  # taker buy: traded at the ask
        self.last_sell_px: Decimal | None = None  # taker sell: traded at the bid
        self.last_was_buy = True
        self.trades = 0
        # closed candles not yet told to the strategy (None: nobody asked), with their length in ms
        self.closed_out: list[tuple[Candle, int]] | None = None

    # -- feeding ------------------------------------------------------------------------

    def add_trades(self, trades: Sequence[TradeTick], start: int = 0, end: int | None = None, bars: bool = True) -> None:
        """Fold `trades[start:end]` (time-ordered) into the buckets and candles."""
        if end is None:
            end = len(trades)
        if start >= end:
            return
        if bars and trades[end - 1].bar is not None:
            self._add_bars(trades, start, end)
            return
        sl = trades[start:end]
        self.add_columns([t.price for t in sl], [t.qty for t in sl], [t.ts_ms for t in sl],
                         [t.buyer_is_maker for t in sl], 0, len(sl))

    def add_columns(self, prices: Sequence[Decimal], qtys: Sequence[Decimal], times: Sequence[int],
                    makers: Sequence[bool], start: int, end: int) -> None:
        """`add_trades` on columns (`TradeColumns`): the same folding, with no `TradeTick` per trade."""
        if start >= end:
            return
        sec = self._sec
        pq, vq, buy, sell, buy_n, sell_n = self._b_pq, self._b_q, self._b_buy, self._b_sell, self._b_buy_n, self._b_sell_n
        c_open, c_h, c_l, c_v = self._c_open_ms, self._c_h, self._c_l, self._c_v
        c_c = self._c_c
        last_buy = self.last_buy_px
        last_sell = self.last_sell_px
        minute = MINUTE_MS
        # Trades in [sec_lo, sec_hi) ms fall in the open bucket, and in the open candle: only a trade
        # outside it can close either. Empty when the candle is not this second's minute (a kline
        # bar moved it), so the first trade checks both, as a trade always did.
        sec_lo = sec * 1000
        sec_hi = sec_lo + 1000
        if sec < 0 or c_open != sec_lo - sec_lo % minute:
            sec_lo, sec_hi = 1, 0
        for k in range(start, end):
            ts = times[k]
            p = prices[k]
            q = qtys[k]
            if not sec_lo <= ts < sec_hi:
                s = ts // 1000
                if s != sec:
                    if sec >= 0:
                        self._close_bucket(sec, pq, vq, buy, sell, buy_n, sell_n, c_c)
                    sec = s
                    pq = vq = buy = sell = ZERO
                    buy_n = sell_n = 0
                sec_lo = s * 1000
                sec_hi = sec_lo + 1000
                m = ts - ts % minute
                if m != c_open:
                    if c_open >= 0:
                        closed = make_candle(c_open, self._c_o, c_h, c_l, c_c, c_v)
                        self._closed.append(closed)
                        if not self._bar_feed and c_open != self._in_trend_ms:  # a warm start's last bar is in
                            self.trend.fold(c_open + minute, c_c)
                            if self.closed_out is not None:
                                self.closed_out.append((closed, minute))
                    c_open = m
                    self._c_o = c_h = c_l = p
                    c_v = ZERO
                elif p > c_h:
                    c_h = p
                elif p < c_l:
                    c_l = p
            elif p > c_h:
                c_h = p
            elif p < c_l:
                c_l = p
            pq += p * q
            vq += q
            if makers[k]:
                sell += q
                sell_n += 1
                last_sell = p
            else:
                buy += q
                buy_n += 1
                last_buy = p
            c_c = p
            c_v += q
        self._sec = sec
        self._b_pq, self._b_q, self._b_buy, self._b_sell, self._b_buy_n, self._b_sell_n = pq, vq, buy, sell, buy_n, sell_n
        self._c_open_ms, self._c_h, self._c_l, self._c_c, self._c_v = c_open, c_h, c_l, c_c, c_v
        self.last_buy_px = last_buy
        self.last_sell_px = last_sell
        self.last_was_buy = not makers[end - 1]
        self.last_price = prices[end - 1]
        self.last_qty = qtys[end - 1]
        self.last_ts = times[end - 1]
        self.trades += end - start

    def _add_bars(self, trades: Sequence[TradeTick], start: int, end: int) -> None:
        """A kline replay's one trade per bar (at its close, carrying the bar): the buckets see the
        close, the candles are the bars themselves (opened at the bar's open, or merged when
        several bars fall in one minute), so the AI sees real highs and lows."""
        out = self.closed_out
        for k in range(start, end):
            b = trades[k].bar
            before = (self._c_open_ms, self._c_h, self._c_l, self._c_v)
            self._bar_feed = True
            self.add_trades(trades, k, k + 1, bars=False)
            self._bar_feed = False
            if b is None:
                continue
            ts = trades[k].ts_ms
            self.trend.fold(ts, b.close)
            if out is not None:  # a kline is closed when it is read: the bar is the candle
                out.append((b, ts - b.open_ms + 1))
            if self._c_open_ms == before[0]:  # the same minute as the bar before
                self._c_h, self._c_l, self._c_v = max(before[1], b.high), min(before[2], b.low), before[3] + b.volume
            else:
                self._c_open_ms = b.open_ms - b.open_ms % MINUTE_MS
                self._c_o, self._c_h, self._c_l, self._c_v = b.open, b.high, b.low, b.volume
            self._c_c = b.close

    def _close_bucket(
        self, sec: int, pq: Decimal, q: Decimal, buy: Decimal, sell: Decimal, buy_n: int, sell_n: int, close: Decimal
    ) -> None:
        c = float(close)
        prev = self._prev_close
        r2 = 0.0
        if prev is not None and prev > 0 and c > 0:
            r = math.log(c / prev)
            r2 = r * r
        self._prev_close = c
        self._buckets.append((sec, pq, q, buy, sell, buy_n, sell_n, r2))
        self._pq += pq
        self._q += q
        self._buy_q += buy
        self._sell_q += sell
        self._buy_n += buy_n
        self._sell_n += sell_n
        self._r2 += r2

    def _expire(self, now_ms: int) -> None:
        oldest = now_ms // 1000 - self.window_s  # keep seconds > oldest
        b = self._buckets
        while b and b[0][0] <= oldest:
            _, pq, q, buy, sell, buy_n, sell_n, r2 = b.popleft()
            self._pq -= pq
            self._q -= q
            self._buy_q -= buy
            self._sell_q -= sell
            self._buy_n -= buy_n
            self._sell_n -= sell_n
            self._r2 -= r2
        if not b:
            self._r2 = 0.0  # no drift left behind

    # -- reading ------------------------------------------------------------------------

    def window(self, now_ms: int) -> tuple[Decimal | None, Decimal | None, Decimal]:
        """(vwap, volatility, trade-flow imbalance) over the window ending at `now_ms`."""
        self._expire(now_ms)
        in_open = self._sec > now_ms // 1000 - self.window_s
        pq = self._pq + (self._b_pq if in_open else ZERO)
        q = self._q + (self._b_q if in_open else ZERO)
        buy = self._buy_q + (self._b_buy if in_open else ZERO)
        sell = self._sell_q + (self._b_sell if in_open else ZERO)
        vwap = (pq / q).quantize(PRICE_Q) if q > 0 else None
        r2 = self._r2
        if in_open and self._prev_close and self.last_price is not None and self._sec >= 0:
            c = float(self.last_price)
            if c > 0:
                r2 += math.log(c / self._prev_close) ** 2
        vol = q_vol(math.sqrt(max(r2, 0.0))) if self._buckets or in_open else None
        total = buy + sell
        tfi = ((buy - sell) / total).quantize(RATIO_Q) if total > 0 else ZERO
        return vwap, vol, tfi

    def avg_sizes(self) -> tuple[Decimal | None, Decimal | None]:
        """Average taker buy and taker sell trade size over the window (as last expired)."""
        return avg_sizes_of(self.size_state())

    def size_state(self) -> SizeState:
        """What `avg_sizes` and the last size are made of, now: kept by a cut, read if it is delivered."""
        return (self._buy_q, self._b_buy, self._buy_n + self._b_buy_n, self._sell_q, self._b_sell,
                self._sell_n + self._b_sell_n, self.last_qty)

    def candles(self) -> tuple[Candle, ...]:
        """The last `candles` one-minute candles, oldest first; the last one may still be forming."""
        if self._c_open_ms < 0:
            return ()
        current = make_candle(self._c_open_ms, self._c_o, self._c_h, self._c_l, self._c_c, self._c_v)
        closed = tuple(self._closed)
        out = (*closed, current)
        return out[-self.max_candles :]


def avg_sizes_of(st: SizeState) -> tuple[Decimal | None, Decimal | None]:
    buy_q, b_buy, buy_n, sell_q, b_sell, sell_n, _ = st
    buy = (buy_q + b_buy) / buy_n if buy_n else None
    sell = (sell_q + b_sell) / sell_n if sell_n else None
    return buy, sell


__all__ = ["BPS", "RATIO_Q", "Features", "SizeState", "Trend",
           "avg_sizes_of", "fast_constructor", "make_candle", "make_snapshot", "make_tick", "q_ratio",
           "q_vol", "regime_of"]
