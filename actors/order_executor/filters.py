"""The paper exchange's symbol rules, from the `[exchange]` settings (Binance's come from exchangeInfo).

The rules themselves (rounding, order checks, sellable quantity) live in
`actors.domain.rules`; Binance's exchangeInfo is read by `actors.binance.parse`.
"""

from __future__ import annotations

from actors.messages import SymbolFilters
from actors.settings import ExchangeSettings

__all__ = ["paper_filters"]


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
