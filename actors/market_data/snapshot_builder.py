"""`MarketSnapshot`s from the top of book and the rolling `Features` (split out of `features.py`).

The features are fed every trade; a snapshot is built only when one is cut and delivered, so its
arithmetic (mid, spread, microprice, a bookless source's derived quotes and sizes) lives apart from
the per-trade folding and each file reads in one sitting.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import cast

from actors.market_data.construct import make_snapshot
from actors.market_data.features import BPS, BPS_Q, PRICE_Q, RATIO_Q, TWO, ZERO, Features, SizeState, avg_sizes_of
from actors.messages import CandlesClosed, MarketSnapshot, TradeTick

# Replay has no book: the side opposite the last trade is kept at most this far away.
MAX_DERIVED_SPREAD_BPS = Decimal(25)


def derive_quotes(
    last_buy: Decimal | None,
    last_sell: Decimal | None,
    last_was_buy: bool,
    tick: Decimal,
) -> tuple[Decimal, Decimal] | None:
    """Best bid and ask for a source without a book, from the last trade on each side.

    A taker sell (`buyer_is_maker`) hits the bid, a taker buy lifts the ask.
    The side of the newest trade is exact; the other side keeps its last trade
    price if that still leaves at least one tick of spread and at most
    MAX_DERIVED_SPREAD_BPS (else it is pulled to that bound, on the tick grid).
    """
    if last_buy is None and last_sell is None:
        return None
    if (last_was_buy and last_buy is not None) or last_sell is None:
        ask = last_buy
        assert ask is not None
        max_spread = max(tick, (ask * MAX_DERIVED_SPREAD_BPS / BPS).quantize(tick, rounding=ROUND_FLOOR))
        bid = last_sell if last_sell is not None else ask - tick
        if bid > ask - tick:
            bid = ask - tick
        elif bid < ask - max_spread:
            bid = ask - max_spread
        return bid, ask
    bid = last_sell
    max_spread = max(tick, (bid * MAX_DERIVED_SPREAD_BPS / BPS).quantize(tick, rounding=ROUND_FLOOR))
    ask = last_buy if last_buy is not None else bid + tick
    if ask < bid + tick:
        ask = bid + tick
    elif ask > bid + max_spread:
        ask = bid + max_spread
    return bid, ask


class SnapshotBuilder:
    """Turns the current top of book and the features into `MarketSnapshot`s.

    Before it builds one, it hands the candles closed since the last one to `on_candles` (the
    strategy's feed): whoever then gets the snapshot acts on a strategy that has seen them all.
    """

    def __init__(self, symbol: str, tick_size: Decimal, step_size: Decimal, features: Features) -> None:
        self.symbol = symbol
        self.tick = tick_size
        self.step = step_size
        self.features = features
        self.on_candles: Callable[[CandlesClosed], None] | None = None

    def flush_candles(self) -> None:
        """Tell `on_candles` every candle closed so far, in runs of one length each."""
        out = self.features.closed_out
        if not out or self.on_candles is None:
            return
        self.features.closed_out = []
        start = 0
        for i in range(1, len(out) + 1):
            if i == len(out) or out[i][1] != out[start][1]:
                self.on_candles(CandlesClosed(symbol=self.symbol, candles=tuple(c for c, _ in out[start:i]),
                                              interval_ms=out[start][1]))
                start = i

    def quantity(self, q: Decimal | None, fallback: Decimal | None) -> Decimal:
        x = q if q is not None else fallback
        if x is None or x <= 0:
            return self.step
        x = x.quantize(self.step, rounding=ROUND_DOWN)
        return x if x > 0 else self.step

    def derived_top(self) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
        """(bid, bid_qty, ask, ask_qty) from trades, for replays."""
        f = self.features
        quotes = derive_quotes(f.last_buy_px, f.last_sell_px, f.last_was_buy, self.tick)
        if quotes is None:
            return None
        bid_qty, ask_qty = self.quantities(f.size_state())
        return quotes[0], bid_qty, quotes[1], ask_qty

    def quantities(self, st: SizeState) -> tuple[Decimal, Decimal]:
        """(bid qty, ask qty) of a bookless source: the average taker sell and buy sizes, on the lot grid."""
        avg_buy, avg_sell = avg_sizes_of(st)
        return self.quantity(avg_sell, st[6]), self.quantity(avg_buy, st[6])

    def build(
        self,
        *,
        seq: int,
        ts_data_ms: int,
        ts_snapshot_ms: int,
        bid: Decimal,
        bid_qty: Decimal,
        ask: Decimal,
        ask_qty: Decimal,
        imbalance: Decimal | None,
        trades: tuple[TradeTick, ...],
        stale: bool = False,
        window_end_ms: int | None = None,
    ) -> MarketSnapshot:
        f = self.features
        if f.closed_out:
            self.flush_candles()
        mid = (bid + ask) / TWO
        spread_bps = ((ask - bid) * BPS / mid).quantize(BPS_Q) if mid > 0 else ZERO
        total = bid_qty + ask_qty
        if imbalance is None:
            imbalance = ((bid_qty - ask_qty) / total).quantize(RATIO_Q) if total > 0 else ZERO
        micro = ((bid * ask_qty + ask * bid_qty) / total).quantize(PRICE_Q) if total > 0 else mid
        vwap, vol, tfi = f.window(ts_data_ms if window_end_ms is None else window_end_ms)
        fast, slow, vol_h, regime = f.trend.read()
        return cast(MarketSnapshot, make_snapshot(
            symbol=self.symbol,
            seq=seq,
            ts_data_ms=ts_data_ms,
            ts_snapshot_ms=ts_snapshot_ms,
            bid=bid,
            bid_qty=bid_qty,
            ask=ask,
            ask_qty=ask_qty,
            mid=mid,
            spread_bps=spread_bps,
            imbalance=imbalance,
            microprice=micro,
            last_price=f.last_price,
            last_qty=f.last_qty,
            vwap=vwap,
            volatility=vol,
            trade_flow_imbalance=tfi,
            candles=f.candles(),
            trades=trades,
            stale=stale,
            trend_fast=fast,
            trend_slow=slow,
            vol_hourly=vol_h,
            regime=regime,
        ))


__all__ = ["MAX_DERIVED_SPREAD_BPS", "SnapshotBuilder", "derive_quotes"]
