"""Pure trading arithmetic: break-even, the minimum sell price, order sizing.

Shared by the keeper's decisions and the seed facade's status, so both quote
the same prices to the tick.
"""

from __future__ import annotations

from decimal import Decimal

from actors.domain.rules import round_price, round_qty
from actors.messages import ZERO, Side, SymbolFilters

__all__ = ["break_even_price", "buy_quantity", "min_sell_price", "unit_cost"]


def unit_cost(cost: Decimal, qty: Decimal) -> Decimal | None:
    """Quote paid per unit held, buy fees included (a fee taken in the base asset raises it)."""
    return cost / qty if qty > 0 else None


def break_even_price(cost: Decimal, qty: Decimal, fee_rate: Decimal) -> Decimal | None:
    """The sell price whose proceeds, after the sell fee, give back exactly what was paid."""
    c = unit_cost(cost, qty)
    return None if c is None else c / (1 - fee_rate)


def min_sell_price(cost: Decimal, qty: Decimal, fee_rate: Decimal, min_profit: Decimal, f: SymbolFilters) -> Decimal | None:
    """The lowest sell price, on the tick grid, that nets `min_profit` after both fees."""
    c = unit_cost(cost, qty)
    if c is None:
        return None
    return round_price(c * (1 + min_profit) / (1 - fee_rate), Side.SELL, f)


def buy_quantity(quote: Decimal, price: Decimal, f: SymbolFilters) -> Decimal:
    """As much as `quote` buys at `price`, rounded down to the lot step."""
    if price <= 0:
        return ZERO
    return round_qty(quote / price, f)
