"""Moved to `actors.binance.user_stream` (event parsing in `actors.binance.parse`); this name stays for old imports."""
from actors.binance.parse import account_position as account_position_to_balances, execution_report as execution_report_to_update  # noqa: F401
from actors.binance.user_stream import SubscribeError, UserStream  # noqa: F401
