"""An actor-based spot trading bot: market data, AI consultant, order executor, state keeper.

`from actors import StateManager, TradingState, Order` gives the seed's interface.
"""

from __future__ import annotations

from typing import Any

from actors.messages import Order, Position, Trade, TradingState

__all__ = ["Order", "Position", "StateManager", "Trade", "TradingState"]


def __getattr__(name: str) -> Any:
    if name == "StateManager":  # imported on use: it pulls in the actor system
        from actors.state_manager import StateManager

        return StateManager
    raise AttributeError(name)
