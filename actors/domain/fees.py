"""Fees as Binance charges them: a maker rate, a taker rate, and the BNB discount when fees are paid in BNB.

A resting limit that fills later pays the maker rate; an order marketable
when placed (a buy at or above the ask, a sell at or below the bid: a stop
sold at the bid) pays the taker rate. The rates here are the ones a fill
really pays: the BNB discount is already taken off. Pure, shared by the
paper exchange, the keeper's break-even and the consultant's request.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from actors.messages import ZERO, FeesUpdated

__all__ = ["FeeSchedule"]


class Rates(Protocol):
    """What `[trading]` says (`TradingSettings`): the domain reads it without importing the settings."""

    @property
    def maker_fee(self) -> Decimal: ...

    @property
    def taker_fee(self) -> Decimal: ...

    @property
    def bnb_discount(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Effective rates per side (the BNB discount applied), and where they came from."""

    maker: Decimal
    taker: Decimal
    bnb_discount: Decimal = ZERO  # already taken off maker and taker; kept to say so
    source: str = "settings"  # settings | account

    @classmethod
    def flat(cls, rate: Decimal) -> FeeSchedule:
        return cls(rate, rate)

    @classmethod
    def from_settings(cls, t: Rates) -> FeeSchedule:
        d = t.bnb_discount
        return cls(_discounted(t.maker_fee, d), _discounted(t.taker_fee, d), d)

    @classmethod
    def from_update(cls, u: FeesUpdated) -> FeeSchedule:
        return cls(u.maker, u.taker, u.bnb_discount, u.source)

    @property
    def most(self) -> Decimal:
        """The per-side rate no fill exceeds (what the single `fee_rate` always was)."""
        return max(self.maker, self.taker)

    def rate(self, taker: bool) -> Decimal:
        return self.taker if taker else self.maker

    def sell_rate(self, price: Decimal, bid: Decimal) -> Decimal:
        """A sell at or below the bid takes (taker); one above it rests until bought (maker)."""
        return self.taker if bid > 0 and price <= bid else self.maker

    def same_rates(self, other: FeeSchedule) -> bool:
        return (self.maker, self.taker) == (other.maker, other.taker)

    def describe(self) -> str:
        bnb = f", paid in BNB ({_pct(self.bnb_discount)} off)" if self.bnb_discount else ""
        return f"maker {_pct(self.maker)}, taker {_pct(self.taker)}{bnb}"

    def as_update(self, symbol: str, ts_ms: int = 0) -> FeesUpdated:
        return FeesUpdated(symbol=symbol, maker=self.maker, taker=self.taker, bnb_discount=self.bnb_discount,
                           source=self.source, ts_ms=ts_ms)


def _discounted(rate: Decimal, discount: Decimal) -> Decimal:
    return rate if not discount else rate * (1 - discount)  # untouched without a discount: the same digits as ever


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f} %" if rate else "0 %"

