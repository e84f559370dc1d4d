"""Moved to `actors.binance.rest` (errors in `.errors`, wire parsing in `.parse`); this name stays for old imports."""

from actors.binance.errors import BinanceAPIError, OutcomeUnknownError
from actors.binance.parse import account_balances as account_to_balances
from actors.binance.parse import order as order_to_update
from actors.binance.parse import trades as trades_to_updates
from actors.binance.parse import wire_decimal
from actors.binance.rest import BinanceRest, wall_ms

__all__ = ["BinanceAPIError", "BinanceRest", "OutcomeUnknownError", "account_to_balances", "order_to_update",
           "trades_to_updates", "wall_ms", "wire_decimal"]
