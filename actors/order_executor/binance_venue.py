"""Moved to `actors.binance.orders` (and its neighbours); this name stays for old imports."""

from actors.binance.config import BinanceTuning
from actors.binance.orders import BinanceVenue
from actors.binance.tasks import Done
from actors.binance.user_stream import StreamDown, StreamUp, UserEvent

__all__ = ["BinanceTuning", "BinanceVenue", "Done", "StreamDown", "StreamUp", "UserEvent"]
