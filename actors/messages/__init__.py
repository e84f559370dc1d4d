"""The protocol of the system: every message that crosses an actor boundary.

Messages are frozen, slotted dataclasses. Money, prices and quantities are
`Decimal`; times are integer milliseconds since the epoch, taken from the
market clock in replays, so that a backtest gives the same result every time.
Commands are named verb-noun (`PlaceOrder`), events in the past tense
(`OrderUpdated` is spelled `OrderUpdate` for the seed's sake, it is an event).
"""

from __future__ import annotations

from actors.messages.advice import (
    Advice,
    AdviceRef,
    AdviceRequest,
    AdvisedExits,
)
from actors.messages.base import (
    ZERO,
    AdviceAction,
    AdviceSource,
    Clock,
    OrderReason,
    OrderStatus,
    RiskState,
    Side,
    TradingState,
    utc_from_ms,
)
from actors.messages.events import (
    KeeperEvent,
    OrderDenied,
    OrderFilled,
    OrderPlaced,
    RiskStateChanged,
    StateChanged,
    TradeClosed,
    TradingBlocked,
    TradingHalted,
    TradingStopped,
    TradingUnblocked,
)
from actors.messages.flow import (
    SnapshotProcessed,
    StartFeed,
    Subscribe,
    Unsubscribe,
    WakeWhen,
)
from actors.messages.market import (
    BalanceUpdated,
    Candle,
    FeedFinished,
    FeedStatusChanged,
    FeesUpdated,
    FiltersUpdated,
    MarketSnapshot,
    SymbolFilters,
    TradeTick,
)
from actors.messages.orders import (
    CancelOrder,
    OrderOutcomeUnknown,
    OrderUpdate,
    PlaceOrder,
    QueryOrder,
)
from actors.messages.queries import (
    CancelOpenOrder,
    EquityPoint,
    GetEquityCurve,
    GetStats,
    GetStatus,
    HaltTrading,
    PauseBuying,
    RequestTransition,
    ResumeTrading,
    Stats,
    StopTrading,
)
from actors.messages.views import (
    BlockedCondition,
    ExitPlanView,
    Order,
    Position,
    RiskView,
    StatusSnapshot,
    Trade,
)

__all__ = [
    "ZERO",
    "Advice",
    "AdviceAction",
    "AdviceRef",
    "AdviceRequest",
    "AdviceSource",
    "AdvisedExits",
    "BalanceUpdated",
    "BlockedCondition",
    "CancelOpenOrder",
    "CancelOrder",
    "Candle",
    "Clock",
    "EquityPoint",
    "ExitPlanView",
    "FeedFinished",
    "FeedStatusChanged",
    "FeesUpdated",
    "FiltersUpdated",
    "GetEquityCurve",
    "GetStats",
    "GetStatus",
    "HaltTrading",
    "KeeperEvent",
    "MarketSnapshot",
    "Order",
    "OrderDenied",
    "OrderFilled",
    "OrderOutcomeUnknown",
    "OrderPlaced",
    "OrderReason",
    "OrderStatus",
    "OrderUpdate",
    "PauseBuying",
    "PlaceOrder",
    "Position",
    "QueryOrder",
    "RequestTransition",
    "ResumeTrading",
    "RiskState",
    "RiskStateChanged",
    "RiskView",
    "Side",
    "SnapshotProcessed",
    "StartFeed",
    "StateChanged",
    "Stats",
    "StatusSnapshot",
    "StopTrading",
    "Subscribe",
    "SymbolFilters",
    "Trade",
    "TradeClosed",
    "TradeTick",
    "TradingBlocked",
    "TradingHalted",
    "TradingState",
    "TradingStopped",
    "TradingUnblocked",
    "Unsubscribe",
    "WakeWhen",
    "utc_from_ms",
]
