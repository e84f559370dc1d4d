"""How a kline row becomes trades: the one code a kline replay and a live warm start share.

A replay reads rows from Binance's public CSVs, a warm start reads the same
twelve columns from `GET /api/v3/klines`; both pass them through
`parse_kline` and `KlineTrades`, so the features a warm start leaves equal
those of a replay of the same candles (issue 26). How a bar becomes trades
depends on the candle fill model (`[market] candle_fills`, see `replay.py`):
`next_bar` makes ONE trade at the bar's close carrying the whole bar,
`path` four trades along a guessed path inside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from actors.market_data.construct import make_candle, make_tick
from actors.messages import TradeTick

BIG = Decimal("1e15")  # anything above is not a price or a size
ZERO = Decimal(0)
FOUR = Decimal(4)
NEXT_BAR = "next_bar"
PATH = "path"
CANDLE_FILLS = (NEXT_BAR, PATH)

# (open ms, close ms, open, high, low, close, volume)
Bar = tuple[int, int, Decimal, Decimal, Decimal, Decimal, Decimal]


def parse_kline(c: Sequence[str], div: int = 1) -> Bar | None:
    """The bar of one row's cells (times divided by `div`: 1000 for µs files), or None when it is
    inconsistent (a negative or zero price, a high under the close...). Raises ValueError or
    ArithmeticError when a cell is not a number."""
    t_open = int(c[0]) // div
    t_close = int(c[6]) // div
    o, h, lo, cl, v = (Decimal(x) for x in c[1:6])
    ok = ZERO < lo <= min(o, cl) and max(o, cl) <= h < BIG and ZERO <= v < BIG and t_close >= t_open
    return (t_open, t_close, o, h, lo, cl, v) if ok else None


class KlineTrades:
    """Bars in, trades out, in time order. Remembers the last close (a flat bar's side) and numbers
    the trades it makes from 1, so two readers of the same bars make the same trades."""

    __slots__ = ("next_bar", "prev_price", "synth_id")

    def __init__(self, candle_fills: str = NEXT_BAR) -> None:
        if candle_fills not in CANDLE_FILLS:
            raise ValueError(f"candle_fills = {candle_fills!r}; choose one of: {', '.join(CANDLE_FILLS)}")
        self.next_bar = candle_fills == NEXT_BAR
        self.prev_price: Decimal | None = None
        self.synth_id = 0

    def add(self, bar: Bar, out: list[TradeTick]) -> int:
        """Append the bar's trades to `out`; returns how many (none for a bar without volume)."""
        t_open, t_close, o, h, lo, cl, v = bar
        if v == 0:
            self.prev_price = cl
            return 0
        prev = self.prev_price if self.prev_price is not None else o
        if self.next_bar:
            # one trade at the close, for the whole bar: an up bar ends on a taker buy
            taker_sell = cl < o or (cl == o and cl < prev)
            self.synth_id += 1
            out.append(make_tick(self.synth_id, cl, v, t_close, taker_sell, make_candle(t_open, o, h, lo, cl, v)))
            self.prev_price = cl
            return 1
        path = (o, lo, h, cl) if cl >= o else (o, h, lo, cl)
        step = (t_close - t_open + 1) // 4
        part = v / FOUR
        up_candle = cl >= o
        for i, px in enumerate(path):
            qty = part if i < 3 else v - part * 3
            if px > prev:
                taker_sell = False
            elif px < prev:
                taker_sell = True
            else:
                taker_sell = not up_candle
            prev = px
            self.synth_id += 1
            out.append(make_tick(self.synth_id, px, qty, t_open + i * step, taker_sell))
        self.prev_price = cl
        return 4


__all__ = ["BIG", "CANDLE_FILLS", "NEXT_BAR", "PATH", "Bar", "KlineTrades", "parse_kline"]
