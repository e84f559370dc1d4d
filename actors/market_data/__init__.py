"""Market data: one source (synthetic, replay, Binance live) cut into snapshots for subscribers.

`MarketDataActor` routes to `LockstepDelivery` (backtests) or `LiveDelivery`
(live, which warms up from the venue's history first: `warmup.py`); `SnapshotCutter`
cuts a finite source by market time; `SnapshotBuilder` (`snapshot_builder.py`)
makes a snapshot from the top of book and the rolling `Features` (`features.py`);
`FeedHealth` reads a live feed's state back from the actor's `Stats`. Names load on first
use: `actors.binance.market_stream` imports `book.py` from here, so an eager
import of the actor would be circular.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "MarketDataActor": "actor",
    "LockstepDelivery": "lockstep_delivery",
    "LiveDelivery": "live_delivery",
    "Subscribers": "subscribers",
    "SnapshotCutter": "cutter",
    "LazySnapshot": "cutter",
    "FeedHealth": "feed_health",
}

__all__ = ["FeedHealth", "LazySnapshot", "LiveDelivery", "LockstepDelivery", "MarketDataActor", "SnapshotCutter",
           "Subscribers"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
