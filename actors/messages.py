"""The protocol of the system: every message that crosses an actor boundary.

Messages are frozen, slotted dataclasses. Money, prices and quantities are
`Decimal`; times are integer milliseconds since the epoch, taken from the
market clock in replays, so that a backtest gives the same result every time.
Commands are named verb-noun (`PlaceOrder`), events in the past tense
(`OrderUpdated` is spelled `OrderUpdate` for the seed's sake, it is an event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pykka

Clock = Callable[[], int]
"""Milliseconds since the epoch; injected so that tests and replays own time."""

ZERO = Decimal(0)

_frozen = {"frozen": True, "slots": True, "kw_only": True}


class TradingState(str, Enum):
    """The seed's four states; the str mixin keeps `state == "buying"` working."""

    READY_TO_BUY = "ready_to_buy"
    BUYING = "buying"
    READY_TO_SELL = "ready_to_sell"
    SELLING = "selling"


class Side(str, Enum):
    BUY = "BUY"
    SELL = "SELL"


class OrderStatus(str, Enum):
    """Binance's order statuses, plus PENDING_NEW for an intent not yet acknowledged."""

    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    PENDING_CANCEL = "PENDING_CANCEL"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED,
        OrderStatus.EXPIRED_IN_MATCH,
    }
)


class AdviceAction(str, Enum):
    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"


class AdviceSource(str, Enum):
    MODEL = "model"
    CACHE = "cache"
    FALLBACK = "fallback"


def utc_from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


# -- exchange facts ---------------------------------------------------------


@dataclass(**_frozen)
class SymbolFilters:
    """The exchange rules an order must meet (Binance exchangeInfo, or the paper settings)."""

    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal
    max_notional: Decimal = ZERO  # 0 = no upper bound
    min_price: Decimal = ZERO
    max_price: Decimal = ZERO  # 0 = no upper bound
    status: str = "TRADING"


@dataclass(**_frozen)
class FiltersUpdated:
    """The executor read (or re-read) the symbol's rules."""

    filters: SymbolFilters


@dataclass(**_frozen)
class BalanceUpdated:
    """Free and locked balance of one asset, as the exchange reports it."""

    asset: str
    free: Decimal
    locked: Decimal
    ts_ms: int


# -- market data ------------------------------------------------------------


@dataclass(**_frozen)
class TradeTick:
    trade_id: int
    price: Decimal
    qty: Decimal
    ts_ms: int
    buyer_is_maker: bool  # True: the seller took liquidity (a sell-side aggressor)
    bar: Candle | None = None  # a kline replay's whole bar, on the one tick made at its close (candle fills)


@dataclass(**_frozen)
class Candle:
    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(**_frozen)
class MarketSnapshot:
    """The local view of the market at one moment.

    `trades` holds every trade since the previous snapshot sent to the same
    subscriber (bounded), so the paper exchange can match against them.
    """

    symbol: str
    seq: int
    ts_data_ms: int  # market time of the newest data included
    ts_snapshot_ms: int  # when the snapshot was made (market time in replays)
    bid: Decimal
    bid_qty: Decimal
    ask: Decimal
    ask_qty: Decimal
    mid: Decimal
    spread_bps: Decimal
    imbalance: Decimal  # top-N book imbalance in [-1, 1]; positive = more bids
    microprice: Decimal
    last_price: Decimal | None = None
    last_qty: Decimal | None = None
    vwap: Decimal | None = None
    volatility: Decimal | None = None  # realised, as a fraction over the window
    trade_flow_imbalance: Decimal = ZERO  # taker buy minus sell volume over total, [-1, 1]
    candles: tuple[Candle, ...] = ()
    trades: tuple[TradeTick, ...] = ()
    stale: bool = False
    trend_fast: Decimal | None = None  # EMA of the price over market.trend_fast_s (None while warming up)
    trend_slow: Decimal | None = None  # ...and over market.trend_slow_s
    vol_hourly: Decimal | None = None  # realised volatility per square root of an hour (a fraction)
    regime: str = ""  # "up", "down", "range" (features.regime_of), "" while warming up


@dataclass(**_frozen)
class FeedStatusChanged:
    """The feed went stale or down (`stale=True`) or came back (`stale=False`)."""

    symbol: str
    stale: bool
    reason: str
    ts_ms: int
    cause: str = ""  # what is wrong, readable (the stream's last error; "" when it came back)
    since_ms: int = 0  # when the feed went stale (or came back)
    attempts: int = 0  # connection attempts failed in a row so far
    next_attempt_ms: int = 0  # when the next connection attempt starts (0 = connected or none planned)


@dataclass(**_frozen)
class Subscribe:
    """Ask a publisher (market data, order executor) to send its events to `subscriber`."""

    subscriber: pykka.ActorRef[Any]


@dataclass(**_frozen)
class Unsubscribe:
    subscriber: pykka.ActorRef[Any]


@dataclass(**_frozen)
class WakeWhen:
    """The snapshots a lockstep subscriber needs next: the first that meets any condition.

    A subscriber that can act only at a time or a price says so, and the
    market skips it until then; `WakeWhen()` (no condition) means "only when
    forced". It must be conservative: a skipped snapshot is one on which the
    subscriber would have done nothing.
    """

    at_ms: int | None = None  # market time reached
    mid_outside: tuple[Decimal, Decimal] | None = None  # mid < low or mid > high
    bid_below: Decimal | None = None
    buy_fills_at: Decimal | None = None  # the ask, or a trade, at or below this price
    sell_fills_at: Decimal | None = None  # the bid, or a trade, at or above this price

    def met_by(self, s: MarketSnapshot) -> bool:
        if s.stale:
            return True
        if self.at_ms is not None and s.ts_snapshot_ms >= self.at_ms:
            return True
        if self.mid_outside is not None and not self.mid_outside[0] <= s.mid <= self.mid_outside[1]:
            return True
        if self.bid_below is not None and s.bid < self.bid_below:
            return True
        p = self.buy_fills_at
        if p is not None and (s.ask <= p or any(t.price <= p for t in s.trades)):
            return True
        p = self.sell_fills_at
        return p is not None and (s.bid >= p or any(t.price >= p for t in s.trades))


@dataclass(**_frozen)
class SnapshotProcessed:
    """A subscriber is done with snapshot `seq`: the credit that lets the next one out.

    In lockstep mode (synthetic, replay) the market does not move on until
    every subscriber has sent this, which makes backtests deterministic and
    bounds memory; live, a subscriber that has not acknowledged gets only
    the newest snapshot when it does (conflation).

    Lockstep only: `wake` says which snapshots the subscriber needs next
    (None = every one); `sent_events` says it told other actors something
    while handling this one, so every subscriber must see the rest of this
    snapshot and the next one, whatever their `wake` said.
    """

    seq: int
    subscriber_urn: str
    wake: WakeWhen | None = None
    sent_events: bool = False


@dataclass(**_frozen)
class StartFeed:
    """Start publishing; sent once every subscriber is wired."""


@dataclass(**_frozen)
class FeedFinished:
    """A finite source (synthetic, replay) has no more data; `last` is its final snapshot."""

    symbol: str
    ts_ms: int
    events: int
    last: MarketSnapshot | None = None


# -- AI advice ----------------------------------------------------------------


@dataclass(**_frozen)
class AdviceRequest:
    """Ask the consultant for prices; it answers exactly once with `Advice` to `reply_to`."""

    request_id: str
    symbol: str
    state: TradingState
    snapshot: MarketSnapshot
    filters: SymbolFilters
    position_qty: Decimal
    entry_price: Decimal | None
    fee_rate: Decimal  # per side
    min_profit: Decimal
    break_even_price: Decimal | None  # sell price that returns the cost after both fees
    min_sell_price: Decimal | None  # break-even plus min_profit, on the tick grid
    quote_per_trade: Decimal
    ts_ms: int
    reply_to: pykka.ActorRef[Any] | None = None
    exit_target: Decimal | None = None  # the open position's take-profit price (its exit plan), if any


@dataclass(**_frozen)
class Advice:
    request_id: str
    action: AdviceAction
    base_price: Decimal | None
    price_range: tuple[Decimal, Decimal] | None
    confidence: Decimal
    reasoning: str
    source: AdviceSource
    ts_ms: int
    valid_until_ms: int
    model: str | None = None
    rejected_reason: str | None = None  # why a model answer became a hold
    latency_ms: int = 0
    cost: Decimal = ZERO
    prompt_tokens: int = 0
    completion_tokens: int = 0
    exit_plan: AdvisedExits | None = None  # where a buy's position should be sold (bounded by [risk])

    def as_seed_dict(self) -> dict[str, Any]:
        """The seed's shape: action, base_price, price_range, confidence, reasoning."""
        return {
            "action": self.action.value,
            "base_price": self.base_price,
            "price_range": list(self.price_range) if self.price_range else None,
            "confidence": self.confidence,
            "reasoning": self.reasoning,
            "source": self.source.value,
        }


# -- orders ---------------------------------------------------------------------


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


# -- status ---------------------------------------------------------------------


@dataclass(**_frozen)
class GetStats:
    """Asked by the edges (report, status page, benchmarks); answered with `Stats`."""


@dataclass(**_frozen)
class Stats:
    """An actor's counters, e.g. `calls`, `cache_hits`, `cost` for the AI consultant."""

    source: str
    values: tuple[tuple[str, int | Decimal | str | None], ...]

    def as_dict(self) -> dict[str, int | Decimal | str | None]:
        return dict(self.values)


@dataclass(**_frozen)
class GetStatus:
    """Asked (not told) by the edges; answered with a `StatusSnapshot`.

    `recent_trades` bounds how many trades come back (None = all of them).
    """

    recent_trades: int | None = None


@dataclass(**_frozen)
class GetEquityCurve:
    """Asked by the report; answered with a tuple of `EquityPoint`s in market time."""


@dataclass(**_frozen)
class EquityPoint:
    ts_ms: int
    mid: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal  # what is held, valued at the bid, less its cost

    @property
    def equity(self) -> Decimal:
        return self.realized_pnl + self.unrealized_pnl


@dataclass(**_frozen)
class RequestTransition:
    """The seed's `transition(new_state, order)`: asked; answered True only if legal and done."""

    to: TradingState
    order: Order | None = None


@dataclass(**_frozen)
class StopTrading:
    """Place no new orders from now on (a signal, the end of a backtest, an operator).

    With `cancel_open_orders` the active order is cancelled too; by default it is left
    resting, and the journal lets the next start pick it up.
    """

    reason: str
    cancel_open_orders: bool = False


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


# -- keeper events (published one way to listeners; see state_keeper/events.py) --------------


class RiskState(str, Enum):
    """The risk gate's trading state (NautilusTrader's ACTIVE / REDUCING / HALTED).

    ACTIVE: every order the gate approves. REDUCING: no new buys (a pause with an end,
    such as a cooldown or the daily loss limit); exits go on. HALTED: no new buys until
    the operator resumes; exits go on, and the position is flattened if so configured.
    """

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class OrderReason(str, Enum):
    """Why an order was proposed; an exit other than ADVICE may sell below break-even."""

    ADVICE = "advice"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    TIME_EXIT = "time_exit"
    FLATTEN = "flatten"
    OPERATOR = "operator"

    @property
    def may_sell_below_break_even(self) -> bool:
        return self not in (OrderReason.ADVICE, OrderReason.TAKE_PROFIT)


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
    proposed_by: str  # "model", "cache", "rule_based", "risk", "operator"
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


@dataclass(**_frozen)
class ResumeTrading:
    """The operator lifts a halt (or a pause); journaled with who and why."""

    by: str
    reason: str = ""


@dataclass(**_frozen)
class PauseBuying:
    """The operator stops new buys (REDUCING) until resumed; exits go on."""

    by: str
    reason: str = ""


@dataclass(**_frozen)
class HaltTrading:
    """The operator halts trading, optionally selling what is held at the bid."""

    by: str
    reason: str = ""
    flatten: bool = False


KeeperEvent = (OrderPlaced | OrderDenied | OrderFilled | TradeClosed | StateChanged | RiskStateChanged
               | TradingHalted | TradingStopped | TradingBlocked | TradingUnblocked)


# -- strategy --


@dataclass(**_frozen)
class AdvisedExits:
    """An advice's exit plan for the position a buy opens: the keeper takes it, never looser than [risk]."""

    target_price: Decimal | None = None  # take profit at or above this
    stop_price: Decimal | None = None  # stop below this (must be under the buy price)
    time_limit_s: int | None = None  # leave after this long in the position
    invalidation: str = ""  # what would prove the idea wrong, in words (journaled, shown)
