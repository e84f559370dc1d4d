"""The symbol's rules from where they come: the paper settings, or Binance's exchangeInfo.

The rules themselves (rounding, order checks, sellable quantity) moved to
`actors.domain.rules`; they are re-exported here so existing imports keep working.
"""

from __future__ import annotations

from actors.binance.parse import exchange_info, symbol_filters
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


# -- Binance exchangeInfo: read by the Binance adapter's one parser, named here for old imports --
parse_exchange_info = exchange_info
parse_symbol_filters = symbol_filters
