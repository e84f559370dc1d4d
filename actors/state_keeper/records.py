"""What the ledger keeps, apart from how it keeps it: an order, a trade, what one update changed, who proposed it.

Plain records with no book-keeping, so the packed history (`history.py`), the fold
(`changes.py`) and the decisions read them without the ledger, and without the import
cycle `history.py` had with it. `q8` is the one rounding of quote amounts: half-even
to 1e-8, USDC's precision on Binance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import NamedTuple

from actors.messages import ZERO, Advice, AdviceRef, AdviceSource, Order, OrderStatus, Side, utc_from_ms

Q8 = Decimal("1e-8")


def q8(value: Decimal) -> Decimal:
    return value.quantize(Q8, ROUND_HALF_EVEN)  # rounding passed by position: by keyword it costs twice as much


class UpdateError(ValueError):
    """An order update that is malformed or contradicts what is known; nothing was changed."""


@dataclass(slots=True)
class OrderRecord:
    client_order_id: str
    side: Side
    price: Decimal
    quantity: Decimal
    created_ms: int
    correlation_id: str = ""
    reason: str = ""  # OrderReason value: why it was placed
    status: OrderStatus = OrderStatus.PENDING_NEW
    exchange_order_id: str = ""
    cum_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    fee_base: Decimal = ZERO  # commission taken in the base asset
    fee_quote: Decimal = ZERO  # commission taken in (or estimated in) the quote asset
    fee_value: Decimal = ZERO  # every commission valued in quote, for reports
    fee_estimated: bool = False
    trade_ids: set[int] | None = None  # the fills' trade ids, to tell a repeat; None before one, and once terminal
    updated_ms: int = 0
    cancel_requested: bool = False
    reject_reason: str = ""
    advice: AdviceRef | None = None  # who proposed it (attribution)

    @property
    def avg_price(self) -> Decimal | None:
        return q8(self.cum_quote / self.cum_qty) if self.cum_qty else None

    def view(self, symbol: str) -> Order:
        return Order(
            id=self.client_order_id,
            symbol=symbol,
            side=self.side.value,
            quantity=self.quantity,
            price=self.price,
            status=self.status.value,
            timestamp=utc_from_ms(self.created_ms),
            filled_qty=self.cum_qty,
            avg_price=self.avg_price,
            fees_quote=self.fee_value,
            fee_estimated=self.fee_estimated,
            exchange_order_id=self.exchange_order_id,
        )


@dataclass(slots=True)
class TradeRecord:
    buy_id: str
    opened_ms: int
    status: str = "OPEN"  # OPEN, CLOSED, or DUST (a buy too small to sell, kept in the position)
    sell_ids: list[str] = field(default_factory=list)
    qty_held: Decimal = ZERO  # bought minus base-asset fees
    buy_quote: Decimal = ZERO
    sold_qty: Decimal = ZERO
    sell_quote: Decimal = ZERO
    fees: Decimal = ZERO  # both sides, valued in quote
    cost_released: Decimal = ZERO
    pnl: Decimal = ZERO  # proceeds - sell fees - cost of what was sold (buy fees included)
    fee_estimated: bool = False
    closed_ms: int | None = None
    exit_reason: str = ""  # the closing sell's reason (advice, stop_loss, time_exit, ...)


class Applied(NamedTuple):
    """What one update changed: nothing (duplicate/stale), a status, and/or a fill (a tuple: made per update)."""

    record: OrderRecord
    fill_qty: Decimal = ZERO
    fill_quote: Decimal = ZERO
    status_changed: bool = False
    became_terminal: bool = False


_REF_SOURCES = {AdviceSource.MODEL: "model", AdviceSource.CACHE: "cache", AdviceSource.FALLBACK: "fallback",
                AdviceSource.STRATEGY: "strategy"}


def decided_by(a: Advice) -> str:
    """Who decided, for the gate, the journal and attribution: "model", "cache", "strategy trend",
    "fallback trend" (the strategy answering for a model that failed)."""
    source = _REF_SOURCES.get(a.source, a.source.value)
    if a.strategy and a.source in (AdviceSource.STRATEGY, AdviceSource.FALLBACK):
        return f"{source} {a.strategy}"
    return source


def advice_ref(correlation_id: str, reason: str, last: Advice | None) -> AdviceRef:
    """The advice an order was placed on (the keeper's last advice, when the ids match), or the rule that did."""
    if last is not None and correlation_id == last.request_id:
        return AdviceRef(advice_id=last.request_id, source=decided_by(last),
                         model=last.model, confidence=last.confidence, cost=last.cost)
    return AdviceRef(advice_id=correlation_id or reason, source="operator" if reason == "operator" else "risk")
