"""Moved to `actors.binance.rest` (errors in `.errors`, wire parsing in `.parse`); this name stays for old imports."""
from actors.binance.errors import BinanceAPIError, OutcomeUnknownError  # noqa: F401
from actors.binance.parse import account_balances as account_to_balances, order as order_to_update, trades as trades_to_updates, wire_decimal  # noqa: F401
from actors.binance.rest import BinanceRest, wall_ms  # noqa: F401
