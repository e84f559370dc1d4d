"""Orders: the commands the keeper sends the executor, and the reports that come back."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from actors.messages.base import ZERO, OrderStatus, Side, _frozen


@dataclass(**_frozen)
class PlaceOrder:
    """A LIMIT order the StateKeeper has journaled as an intent before sending."""

    client_order_id: str
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    ts_ms: int
    correlation_id: str = ""
    time_in_force: str = "GTC"
    reason: str = ""  # why: "entry", "advice", or an exit ("stop_loss", "time_exit", ...); see OrderReason


@dataclass(**_frozen)
class CancelOrder:
    client_order_id: str
    symbol: str
    ts_ms: int
    reason: str = ""


@dataclass(**_frozen)
class QueryOrder:
    """Ask the exchange what became of an order (recovery, unknown outcomes)."""

    client_order_id: str
    symbol: str


@dataclass(**_frozen)
class OrderUpdate:
    """One normalised order report.

    Quantities are cumulative (`cum_qty`, `cum_quote`), so a repeated or late
    update can be recognised and applied once. `last_*` and `commission`
    describe only the fill this update reports, if any (`trade_id` >= 0).
    """

    symbol: str
    client_order_id: str
    status: OrderStatus
    side: Side | None = None
    exchange_order_id: str = ""
    price: Decimal | None = None  # the order's limit price
    orig_qty: Decimal | None = None
    cum_qty: Decimal = ZERO
    cum_quote: Decimal | None = None  # average price = cum_quote / cum_qty
    last_qty: Decimal = ZERO
    last_price: Decimal | None = None
    commission: Decimal | None = None  # None = not reported (the keeper estimates)
    commission_asset: str | None = None
    trade_id: int = -1
    ts_ms: int = 0
    reject_reason: str = ""


@dataclass(**_frozen)
class OrderOutcomeUnknown:
    """Placing or cancelling timed out or met a 5xx: the executor is finding out."""

    client_order_id: str
    symbol: str
    reason: str
    ts_ms: int
