"""Immutable views of the keeper's state: the seed's Order, Position and Trade, the risk view, the status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from actors.messages.base import ZERO, RiskState, TradingState, _frozen

if TYPE_CHECKING:
    from actors.messages.advice import Advice, AdviceRef
    from actors.messages.approval import EntryApproval
    from actors.messages.events import OrderDenied
    from actors.messages.market import FeesUpdated, MarketSnapshot


@dataclass(frozen=True, slots=True)
class Order:
    """The seed's Order, as an immutable view. `id` is the client order id."""

    id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    status: str
    timestamp: datetime
    filled_qty: Decimal = ZERO
    avg_price: Decimal | None = None
    fees_quote: Decimal = ZERO  # every fee, valued in the quote asset
    fee_estimated: bool = False
    exchange_order_id: str = ""


@dataclass(frozen=True, slots=True)
class Position:
    """The seed's Position: what is really held (net of fees taken in the base asset)."""

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    timestamp: datetime
    cost_quote: Decimal = ZERO  # quote spent on what is held, buy fees included
    dust: Decimal = ZERO  # held but below the lot step or minimum notional


@dataclass(frozen=True, slots=True)
class Trade:
    """The seed's Trade: one buy and the sell(s) that closed it."""

    buy_order: Order
    sell_order: Order | None
    profit_loss: Decimal | None
    status: str  # OPEN or CLOSED
    timestamp: datetime
    sell_orders: tuple[Order, ...] = ()
    quantity: Decimal = ZERO
    entry_price: Decimal | None = None
    exit_price: Decimal | None = None
    fees_quote: Decimal = ZERO
    fee_estimated: bool = False
    closed_at: datetime | None = None
    exit_reason: str = ""  # what closed it: "advice", "stop_loss", "take_profit", "trailing_stop", "time_exit", ...
    entry_reason: str = ""  # what opened it: the advice id or the rule that fired
    entry_advice: AdviceRef | None = None  # the advice (or rule) behind the buy, for attribution
    exit_advice: AdviceRef | None = None  # the advice (or rule) behind the sell that closed it


@dataclass(**_frozen)
class RiskView:
    """How much of each limit is used, for the status page and the report."""

    state: RiskState
    reason: str
    until_ms: int | None  # a REDUCING pause ends then (None: until resumed)
    capital: Decimal
    equity: Decimal
    peak_equity: Decimal
    drawdown: Decimal  # fraction of capital below the peak
    max_drawdown: Decimal  # the limit (0 = off)
    day_pnl: Decimal  # equity change since the UTC day began
    daily_loss_limit: Decimal  # fraction of capital (0 = off)
    consecutive_losses: int
    max_consecutive_losses: int
    exposure: Decimal  # cost of what is held
    max_exposure: Decimal  # quote (0 = off)


@dataclass(**_frozen)
class BlockedCondition:
    """Something that keeps the keeper from acting (logged once when it starts and when it ends)."""

    condition: str
    detail: str
    since_ms: int
    count: int = 0  # snapshots or proposals it blocked


@dataclass(**_frozen)
class StatusSnapshot:
    symbol: str
    state: TradingState
    active_order: Order | None
    position: Position
    trades: tuple[Trade, ...]
    realized_pnl: Decimal
    fees_paid: Decimal
    last_advice: Advice | None
    last_snapshot: MarketSnapshot | None
    feed_stale: bool
    halted_reason: str | None
    stopped_reason: str | None = None  # no new orders (signal, end of data)
    counters: tuple[tuple[str, int], ...] = field(default=())
    risk: RiskView | None = None
    blocked: tuple[BlockedCondition, ...] = ()
    denials: tuple[OrderDenied, ...] = ()  # the most recent, newest last
    exit_plan: ExitPlanView | None = None  # while holding: stop, target, trailing stop, break-even
    approvals: tuple[EntryApproval, ...] = ()  # entries that waited for the owner lately, newest last (pending too)
    fees: FeesUpdated | None = None  # the rates break-even uses: the settings', or the account's once read


@dataclass(**_frozen)
class ExitPlanView:
    """The open position's exit levels, for the dashboard's price chart (None = not set)."""

    stop_price: Decimal | None = None
    take_profit_price: Decimal | None = None
    trailing_stop_price: Decimal | None = None  # where the trailing stop stands now
    deadline_ms: int | None = None  # the time exit
    break_even: Decimal | None = None  # the lowest sell price the break-even rule allows
