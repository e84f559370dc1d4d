"""Exchange rules, by hand because they are the product: rounding to tick and lot, notional checks.

Binance rejects `price % tickSize != 0` and `quantity % stepSize != 0`; a
passive buy rounds its price down, a sell up, a quantity always down, and
the minimum notional is checked after rounding.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from actors.messages import Side, SymbolFilters


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


def paper_filters(symbol: str, exchange: object) -> SymbolFilters:
    """The paper exchange's rules from `[exchange]` settings."""
    e = exchange
    return SymbolFilters(
        symbol=symbol,
        base_asset=e.base_asset,  # type: ignore[attr-defined]
        quote_asset=e.quote_asset,  # type: ignore[attr-defined]
        tick_size=e.tick_size,  # type: ignore[attr-defined]
        step_size=e.step_size,  # type: ignore[attr-defined]
        min_qty=e.min_qty,  # type: ignore[attr-defined]
        max_qty=e.max_qty,  # type: ignore[attr-defined]
        min_notional=e.min_notional,  # type: ignore[attr-defined]
    )


# -- Binance exchangeInfo -------------------------------------------------------

_MAX_PRECISION = Decimal("0.00000001")  # Binance quotes at most 8 decimals


def _wire_decimal(text: object) -> Decimal:
    """Binance's padded strings ("0.01000000") as a tidy Decimal (0.01), never in exponent form."""
    d = Decimal(str(text))
    n = d.normalize()
    return n if n.as_tuple().exponent <= 0 else d.quantize(Decimal(1))


def parse_symbol_filters(symbol_info: dict) -> SymbolFilters:
    """One entry of `exchangeInfo.symbols` as SymbolFilters.

    Reads PRICE_FILTER, LOT_SIZE and NOTIONAL (or the legacy MIN_NOTIONAL) and
    the symbol status. A filter value of 0 switches that rule off on Binance;
    a zero tick or step is kept on the 8-decimal grid so the checks stay defined.
    """
    by_type = {f.get("filterType"): f for f in symbol_info.get("filters", ())}
    price = by_type.get("PRICE_FILTER", {})
    lot = by_type.get("LOT_SIZE", {})
    notional = by_type.get("NOTIONAL") or by_type.get("MIN_NOTIONAL") or {}
    tick = _wire_decimal(price.get("tickSize", "0")) or _MAX_PRECISION
    step = _wire_decimal(lot.get("stepSize", "0")) or _MAX_PRECISION
    return SymbolFilters(
        symbol=str(symbol_info["symbol"]),
        base_asset=str(symbol_info.get("baseAsset", "")),
        quote_asset=str(symbol_info.get("quoteAsset", "")),
        tick_size=tick,
        step_size=step,
        min_qty=_wire_decimal(lot.get("minQty", "0")),
        max_qty=_wire_decimal(lot.get("maxQty", "0")),
        min_notional=_wire_decimal(notional.get("minNotional", "0")),
        max_notional=_wire_decimal(notional.get("maxNotional", "0")),
        min_price=_wire_decimal(price.get("minPrice", "0")),
        max_price=_wire_decimal(price.get("maxPrice", "0")),
        status=str(symbol_info.get("status", "TRADING")),
    )


def parse_exchange_info(payload: dict, symbol: str) -> SymbolFilters:
    """The `GET /api/v3/exchangeInfo?symbol=` answer for `symbol`; KeyError if it is not listed."""
    for info in payload.get("symbols", ()):
        if info.get("symbol") == symbol:
            return parse_symbol_filters(info)
    raise KeyError(f"symbol {symbol} is not in exchangeInfo")
