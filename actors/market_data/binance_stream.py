"""Old path of `actors.binance.market_stream` (the stream is Binance I/O, so it lives with the adapter)."""
from actors.binance.market_stream import (  # noqa: F401
    BadFrame,
    BinanceStream,
    BookTicker,
    DepthFailed,
    DepthSnapshot,
    ServerShutdown,
    StreamBatch,
    StreamConnected,
    StreamDown,
    describe_connect_error,
    parse_frame,
    stream_path,
    wall_clock_ms,
)
