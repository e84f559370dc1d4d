"""The symbol's rules from where they come: the paper settings, or Binance's exchangeInfo.

The rules themselves (rounding, order checks, sellable quantity) moved to
`actors.domain.rules`; they are re-exported here so existing imports keep working.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from actors.domain.rules import (
    FilterError,
    check_order,
    fmt,
    on_grid,
    round_down,
    round_price,
    round_qty,
    round_up,
    sellable_qty,
)
from actors.messages import SymbolFilters
from actors.settings import ExchangeSettings

__all__ = [
    "FilterError",
    "check_order",
    "fmt",
    "on_grid",
    "paper_filters",
    "parse_exchange_info",
    "parse_symbol_filters",
    "round_down",
    "round_price",
    "round_qty",
    "round_up",
    "sellable_qty",
]


def paper_filters(symbol: str, exchange: ExchangeSettings) -> SymbolFilters:
    """The paper exchange's rules from `[exchange]` settings."""
    e = exchange
    return SymbolFilters(
        symbol=symbol,
        base_asset=e.base_asset,
        quote_asset=e.quote_asset,
        tick_size=e.tick_size,
        step_size=e.step_size,
        min_qty=e.min_qty,
        max_qty=e.max_qty,
        min_notional=e.min_notional,
    )


# -- Binance exchangeInfo -------------------------------------------------------

_MAX_PRECISION = Decimal("0.00000001")  # Binance quotes at most 8 decimals


def _wire_decimal(text: object) -> Decimal:
    """Binance's padded strings ("0.01000000") as a tidy Decimal (0.01), never in exponent form."""
    d = Decimal(str(text))
    n = d.normalize()
    exponent = n.as_tuple().exponent
    if not isinstance(exponent, int):  # NaN or infinity: no filter value can be that
        raise ValueError(f"filter value {text!r} is not a finite number")
    return n if exponent <= 0 else d.quantize(Decimal(1))


def parse_symbol_filters(symbol_info: dict[str, Any]) -> SymbolFilters:
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


def parse_exchange_info(payload: dict[str, Any], symbol: str) -> SymbolFilters:
    """The `GET /api/v3/exchangeInfo?symbol=` answer for `symbol`; KeyError if it is not listed."""
    for info in payload.get("symbols", ()):
        if info.get("symbol") == symbol:
            return parse_symbol_filters(info)
    raise KeyError(f"symbol {symbol} is not in exchangeInfo")
