"""Moved to `actors.binance.orders` (and its neighbours); this name stays for old imports."""
from actors.binance.config import BinanceTuning  # noqa: F401
from actors.binance.orders import BinanceVenue  # noqa: F401
from actors.binance.tasks import Done  # noqa: F401
from actors.binance.user_stream import StreamDown, StreamUp, UserEvent  # noqa: F401
