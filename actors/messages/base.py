"""Shared pieces of the protocol: money's zero, the clock type, and the enums every message uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum

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
    """Who answered: the model, the cache (an earlier model answer), the strategy in its own right
    (no model configured, or `[ai] role` confirm/off), or the strategy as the FALLBACK for a model
    that was asked for and failed (timeout, broken reply, spend cap, breaker open)."""

    MODEL = "model"
    CACHE = "cache"
    FALLBACK = "fallback"
    STRATEGY = "strategy"


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


def utc_from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
