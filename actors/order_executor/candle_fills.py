"""The candle fill model: what a resting order may fill on a bar it could not see inside.

A kline replay in `next_bar` mode hands the paper exchange one trade per bar,
at the bar's close, carrying the whole bar (`TradeTick.bar`). Nobody observed
the path inside a bar, so nothing here depends on it:

- An order fills only on a bar that opened at or after the order was placed
  (decided during bar k: bar k+1 or later).
- A resting BUY limit at P fills when the bar's low trades through P: at P,
  or at the bar's open when the bar opens below P. A SELL mirrors it (high,
  above). A limit exactly AT the low (high) is a touch: the queue ahead of it
  may have taken all there was, so it fills only with probability
  `touch_prob`, drawn from a hash of (seed, order id, bar), so a backtest
  gives the same fills every time, whatever else happened.
- A marketable SELL (priced at or below the bid when placed: a stop-loss at
  the bid, an exit that crossed) fills at the next bar's open, whatever its
  limit: a gap down is paid, not skipped. A marketable BUY fills at the open
  when the open is within its limit, else it rests like any buy limit (it
  cannot pay more than the quote it locked).
- A bar's volume caps what fills on it, shared by the orders in placement order.
- Fees: every fill of an order that was marketable when placed pays the taker
  rate (it took the open); a limit a bar traded through had rested: maker.

Pure functions, no state: `PaperExchange` calls `bar_fill` per order and bar.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from actors.messages import ZERO, Candle, Side
from actors.settings import Settings

_SCALE = Decimal(2**64)


@dataclass(frozen=True, slots=True)
class CandleFillModel:
    """`touch_prob`: chance that a limit exactly at a bar's low (buy) or high (sell) fills; 0 = never."""

    touch_prob: Decimal = ZERO
    seed: int = 0

    def touch_fills(self, client_order_id: str, bar_open_ms: int) -> bool:
        """A seeded, order-independent draw: the same order on the same bar always gets the same answer."""
        if self.touch_prob <= 0:
            return False
        if self.touch_prob >= 1:
            return True
        digest = hashlib.blake2b(f"{self.seed}:{client_order_id}:{bar_open_ms}".encode(), digest_size=8).digest()
        return Decimal(int.from_bytes(digest, "big")) / _SCALE < self.touch_prob

    def describe(self) -> str:
        touch = "never fills" if self.touch_prob <= 0 else f"fills with probability {self.touch_prob} (seed {self.seed})"
        return ("next_bar: an order fills only on bars after the one it was decided in; limits when a bar trades "
                f"through them (one exactly at the bar's low/high {touch}), marketable sells at the next open; "
                "a bar's volume caps the fills")


def candle_model_from(settings: Settings) -> CandleFillModel:
    return CandleFillModel(touch_prob=settings.market.touch_fill_prob, seed=settings.market.seed)


def bar_fill_price(
    model: CandleFillModel, side: Side, limit: Decimal, marketable: bool, bar: Candle, client_order_id: str
) -> Decimal | None:
    """The price an order fills at on `bar`, or None if it does not fill there (placement time aside)."""
    if side is Side.BUY:
        if marketable and bar.open <= limit:
            return bar.open
        if bar.low < limit:
            return min(bar.open, limit)
        if bar.low == limit and model.touch_fills(client_order_id, bar.open_ms):
            return limit
        return None
    if marketable:
        return bar.open
    if bar.high > limit:
        return max(bar.open, limit)
    if bar.high == limit and model.touch_fills(client_order_id, bar.open_ms):
        return limit
    return None


__all__ = ["CandleFillModel", "bar_fill_price", "candle_model_from"]
