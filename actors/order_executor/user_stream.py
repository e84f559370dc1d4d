"""Moved to `actors.binance.user_stream` (event parsing in `actors.binance.parse`); this name stays for old imports."""

from actors.binance.parse import account_position as account_position_to_balances
from actors.binance.parse import execution_report as execution_report_to_update
from actors.binance.user_stream import SubscribeError, UserStream

__all__ = ["SubscribeError", "UserStream", "account_position_to_balances", "execution_report_to_update"]
