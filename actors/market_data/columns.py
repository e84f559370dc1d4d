"""A chunk of trades as parallel columns: what the replay reader makes and the cutter scans.

A replay of a million trades used to make a million `TradeTick`s, each a
garbage-collected object, although a snapshot reaches a subscriber only for
one cut in twenty and only its trades are ever looked at. The columns hold
the parsed values (prices and sizes are the Decimals the file spells; one
object per distinct spelling), and `ticks(start, end)` makes the `TradeTick`s
of a stretch when a snapshot needs them. A source that already has ticks
(synthetic, klines) keeps them, and they are handed out as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

from actors.market_data.construct import make_tick
from actors.messages import TradeTick


class TradeColumns:
    __slots__ = ("ids", "makers", "prices", "qtys", "src", "ts")

    def __init__(self, ids: list[int], prices: list[Decimal], qtys: list[Decimal], ts: list[int], makers: list[bool],
                 src: Sequence[TradeTick] | None = None) -> None:
        self.ids, self.prices, self.qtys, self.ts, self.makers = ids, prices, qtys, ts, makers
        self.src = src  # the ticks these columns were made from, if any

    @classmethod
    def of(cls, ticks: Sequence[TradeTick]) -> TradeColumns:
        return cls([t.trade_id for t in ticks], [t.price for t in ticks], [t.qty for t in ticks],
                   [t.ts_ms for t in ticks], [t.buyer_is_maker for t in ticks], ticks)

    def __len__(self) -> int:
        return len(self.ts)

    def __iter__(self) -> Iterator[TradeTick]:
        return iter(self.ticks(0, len(self.ts)))

    def ticks(self, start: int, end: int) -> list[TradeTick]:
        """The trades `start:end` as `TradeTick`s (made now, unless the columns came from ticks)."""
        if self.src is not None:
            return list(self.src[start:end])
        return list(map(make_tick, self.ids[start:end], self.prices[start:end], self.qtys[start:end],
                        self.ts[start:end], self.makers[start:end]))
