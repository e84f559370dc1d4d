"""The seed's manual `transition(new_state, order)`: legal moves only, and consistent with the orders.

The facade (`actors/state_manager.py`) lets a caller move the machine by hand,
as the seed's `StateManager` did; a move to BUYING or SELLING needs its order,
which is recorded as an intent like any other, so the journal stays whole.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from loguru import logger

from actors.messages import Order, PlaceOrder, Side, TradingState
from actors.state_keeper import facts

if TYPE_CHECKING:
    from actors.state_keeper.core import KeeperCore

S = TradingState


def request_transition(core: KeeperCore, to: TradingState, order: Order | None) -> bool:
    """The seed's manual `transition()`: legal moves only, and consistent with the orders."""
    if not isinstance(to, TradingState) or not core.machine.can(to):
        core.machine.transition(to, "requested")  # logs and counts the refusal
        return False
    if to in (S.BUYING, S.SELLING):
        side = Side.BUY if to is S.BUYING else Side.SELL
        if order is None or order.side.upper() != side.value:
            logger.warning("refused transition to {}: it needs a {} order", to.name, side.value)
            core.machine.refused += 1
            return False
        if order.id not in core.ledger.orders:
            core.record(facts.IntentRecorded(PlaceOrder(
                client_order_id=order.id, symbol=core.symbol, side=side, price=Decimal(order.price),
                quantity=Decimal(order.quantity), ts_ms=int(order.timestamp.timestamp() * 1000),
                correlation_id="manual", reason="operator")))
        return bool(core.record(facts.TransitionRecorded(to=to, reason="requested", active=order.id)))
    active = core.ledger.orders.get(core.active_id or "")
    if active is not None and not active.status.is_terminal:
        logger.warning("refused transition to {}: order {} is still {}", to.name, active.client_order_id, active.status.value)
        core.machine.refused += 1
        return False
    return bool(core.record(facts.TransitionRecorded(to=to, reason="requested", active=None)))
