"""Domain events the StateKeeper publishes one way, with `tell`, to every actor that subscribed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from actors.messages.base import RiskState, Side, TradingState, _frozen
from actors.messages.views import BlockedCondition, Trade


@dataclass(**_frozen)
class OrderPlaced:
    client_order_id: str
    side: Side
    price: Decimal
    quantity: Decimal
    reason: str
    ts_ms: int


@dataclass(**_frozen)
class OrderDenied:
    """The risk gate refused a proposed order; nothing was sent."""

    side: Side
    price: Decimal
    quantity: Decimal
    code: str  # e.g. "halted", "below_min_notional", "exceeds_equity"
    detail: str
    proposed_by: str  # "model", "cache", "strategy NAME", "fallback NAME", "risk", "operator"
    ts_ms: int


@dataclass(**_frozen)
class OrderFilled:
    client_order_id: str
    side: Side
    fill_qty: Decimal
    fill_quote: Decimal
    cum_qty: Decimal
    ts_ms: int


@dataclass(**_frozen)
class TradeClosed:
    trade: Trade
    ts_ms: int


@dataclass(**_frozen)
class StateChanged:
    previous: TradingState
    state: TradingState
    reason: str
    ts_ms: int


@dataclass(**_frozen)
class RiskStateChanged:
    """The gate went ACTIVE, REDUCING or HALTED (a halt is also a `TradingHalted`)."""

    state: RiskState
    reason: str
    until_ms: int | None
    ts_ms: int


@dataclass(**_frozen)
class TradingHalted:
    reason: str
    ts_ms: int


@dataclass(**_frozen)
class TradingStopped:
    """No new orders from now on: a signal, the end of the data, the operator."""

    reason: str
    ts_ms: int


@dataclass(**_frozen)
class TradingBlocked:
    condition: BlockedCondition


@dataclass(**_frozen)
class TradingUnblocked:
    condition: BlockedCondition
    ts_ms: int


KeeperEvent = (OrderPlaced | OrderDenied | OrderFilled | TradeClosed | StateChanged | RiskStateChanged
               | TradingHalted | TradingStopped | TradingBlocked | TradingUnblocked)
