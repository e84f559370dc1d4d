"""The order executor: paper exchange or Binance spot, one protocol (see `actor.py`)."""

from actors.order_executor.actor import OrderExecutorActor
from actors.order_executor.binance_venue import BinanceTuning

__all__ = ["BinanceTuning", "OrderExecutorActor"]
