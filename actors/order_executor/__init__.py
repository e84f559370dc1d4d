"""The order executor: paper exchange or Binance spot, one protocol (see `actor.py`).

Exports load on first use, so `actors.order_executor.filters` or `.paper` can
be imported (by the Binance adapter, for one) without starting on the actor.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BinanceTuning", "OrderExecutorActor"]


def __getattr__(name: str) -> Any:
    if name == "OrderExecutorActor":
        from actors.order_executor.actor import OrderExecutorActor

        return OrderExecutorActor
    if name == "BinanceTuning":
        from actors.binance.config import BinanceTuning

        return BinanceTuning
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
