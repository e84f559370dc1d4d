"""The exchange's rules, by hand because they are the product: rounding to tick and lot, order checks.

Binance rejects `price % tickSize != 0` and `quantity % stepSize != 0`; a
passive buy rounds its price down, a sell up, a quantity always down, and
the minimum notional is checked after rounding. Pure: the keeper, the paper
exchange, the Binance venue and the AI's validation all apply these same rules.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from actors.messages import Side, SymbolFilters

__all__ = [
    "FilterError",
    "check_order",
    "fmt",
    "on_grid",
    "round_down",
    "round_price",
    "round_qty",
    "round_up",
    "sellable_qty",
]


class FilterError(ValueError):
    """An order that cannot be valid on the exchange; the message says why."""


def round_down(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def round_up(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def on_grid(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


def round_price(price: Decimal, side: Side, f: SymbolFilters) -> Decimal:
    """Passive rounding: a buy never pays more, a sell never takes less, than asked."""
    rounded = round_down(price, f.tick_size) if side is Side.BUY else round_up(price, f.tick_size)
    return rounded.quantize(f.tick_size)


def round_qty(qty: Decimal, f: SymbolFilters) -> Decimal:
    return round_down(qty, f.step_size).quantize(f.step_size)


def sellable_qty(held: Decimal, price: Decimal, f: SymbolFilters) -> Decimal:
    """What of `held` can be sold at `price`: rounded down to the lot, zero if below the minimums."""
    qty = round_qty(held, f)
    if qty < f.min_qty or qty * price < f.min_notional:
        return Decimal(0)
    return qty


def check_order(side: Side, price: Decimal, qty: Decimal, f: SymbolFilters) -> None:
    """Raise FilterError unless the (already rounded) order meets every rule."""
    if f.status != "TRADING":
        raise FilterError(f"{f.symbol} is not trading (status {f.status})")
    if not price.is_finite() or price <= 0:
        raise FilterError(f"price {price} must be positive")
    if not qty.is_finite() or qty <= 0:
        raise FilterError(f"quantity {qty} must be positive")
    if not on_grid(price, f.tick_size):
        raise FilterError(f"price {price} is not a multiple of the tick size {f.tick_size} (PRICE_FILTER)")
    if f.min_price and price < f.min_price:
        raise FilterError(f"price {price} is below the minimum price {f.min_price} (PRICE_FILTER)")
    if f.max_price and price > f.max_price:
        raise FilterError(f"price {price} is above the maximum price {f.max_price} (PRICE_FILTER)")
    if not on_grid(qty, f.step_size):
        raise FilterError(f"quantity {qty} is not a multiple of the step size {f.step_size} (LOT_SIZE)")
    if qty < f.min_qty:
        raise FilterError(f"quantity {qty} is below the minimum quantity {f.min_qty} (LOT_SIZE)")
    if f.max_qty and qty > f.max_qty:
        raise FilterError(f"quantity {qty} is above the maximum quantity {f.max_qty} (LOT_SIZE)")
    notional = price * qty
    if notional < f.min_notional:
        raise FilterError(f"notional {notional} is below the minimum notional {f.min_notional} (NOTIONAL)")
    if f.max_notional and notional > f.max_notional:
        raise FilterError(f"notional {notional} is above the maximum notional {f.max_notional} (NOTIONAL)")


def fmt(value: Decimal) -> str:
    """Plain decimal text for the wire: never scientific notation."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
