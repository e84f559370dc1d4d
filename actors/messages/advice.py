"""Asking the AI consultant for prices, and its answer."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from actors.messages.base import ZERO, AdviceAction, AdviceSource, TradingState, _frozen

if TYPE_CHECKING:
    import pykka

    from actors.messages.market import MarketSnapshot, SymbolFilters


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
    fee_rate: Decimal  # per side, the most any fill pays (maker_fee and taker_fee below tell them apart)
    min_profit: Decimal
    break_even_price: Decimal | None  # sell price that returns the cost after both fees (a resting sell: maker)
    min_sell_price: Decimal | None  # break-even plus min_profit, on the tick grid (a resting sell: maker)
    quote_per_trade: Decimal
    ts_ms: int
    reply_to: pykka.ActorRef[Any] | None = None
    exit_target: Decimal | None = None  # the open position's take-profit price (its exit plan), if any
    # the rates a fill will pay, the BNB discount taken off: a resting limit (maker), a marketable one (taker);
    # None = fee_rate (a request made without them)
    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None

    @property
    def maker_rate(self) -> Decimal:
        return self.fee_rate if self.maker_fee is None else self.maker_fee

    @property
    def taker_rate(self) -> Decimal:
        return self.fee_rate if self.taker_fee is None else self.taker_fee


@dataclass(**_frozen)
class AdvisedExits:
    """An advice's exit plan for the position a buy opens: the keeper takes it, never looser than [risk]."""

    target_price: Decimal | None = None  # take profit at or above this
    stop_price: Decimal | None = None  # stop below this (must be under the buy price)
    time_limit_s: int | None = None  # leave after this long in the position
    invalidation: str = ""  # what would prove the idea wrong, in words (journaled, shown)


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
    strategy: str = ""  # the strategy that decided, or whose proposal the model confirmed ("" = the model alone)
    wake_on_move: bool = True  # False: a hold stands until valid_until_ms whatever the price does (a bar strategy)

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


# -- aieval --


@dataclass(**_frozen)
class AdviceRef:
    """Who proposed an order: an advice (model, cache, rule-based) or a rule (risk exit, operator)."""

    advice_id: str  # the advice's request id, or the rule ("stop_loss", "manual")
    source: str  # "model", "cache", "strategy", "fallback", "risk", "operator"
    model: str | None = None
    confidence: Decimal | None = None
    cost: Decimal = ZERO  # what the model call behind it cost (0 for cache, rules)
