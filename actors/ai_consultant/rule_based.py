"""The rule-based advisor, the bot's default strategy: it advises whenever the model does not.

That is every offline run (no key), and any request the model cannot answer
well in time (a failure, a timeout, the spend cap, the breaker open). Its
advice is journaled with `AdviceSource.FALLBACK` ("fallback"). Deterministic
and fee-aware, so a backtest gives the same result every time.

A trend follower with volatility-scaled exits, because the old passive
market maker bought into every fall and then held (issue 15):

- no buy until the trend is known (`regime` is "" while the slow EMA warms up);
- buy only in an up regime (fast EMA over the slow one by more than
  `market.regime_band` hourly volatilities, the price above the fast EMA);
- buy only when the expected move, `ai.rule_target_vol` volatilities over the
  holding horizon `ai.rule_horizon_s`, clears both fees plus `min_profit`
  `ai.rule_fee_margin` times over;
- each buy carries its exit plan (target, stop, time limit, invalidation),
  which the keeper bounds by `[risk]` and enforces;
- holding: offer at the plan's target (never under the break-even floor), or
  at the bid once the regime turns down while the bid still pays the floor.

Every advice's `reasoning` names the rule that fired, with its numbers.
`ai.rule_strategy = "maker"` keeps the old passive market maker (bid at or
under the best bid in any market, offer at the ask or the floor), for
comparison and for the tests of the fill models.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from decimal import Decimal

from actors.ai_consultant.rules import hold_advice, valid_until
from actors.domain.rules import fmt, round_price
from actors.messages import (
    Advice,
    AdviceAction,
    AdviceRequest,
    AdviceSource,
    AdvisedExits,
    MarketSnapshot,
    Side,
    TradingState,
)
from actors.settings import AISettings

RULE_BASED_CONFIDENCE = Decimal("0.8")  # above the default min_confidence (0.7), so the bot acts on it
VOL_FRACTION = Decimal("0.25")  # how much of the short-window volatility to stand back from mid (no plan known)
_PCT = Decimal("0.01")


@functools.lru_cache(maxsize=16)
def _sqrt_hours(horizon_s: int) -> Decimal:
    """√(hours) as the Decimal of its float's repr; one horizon per run, so computed once, not per bar."""
    return Decimal(str(math.sqrt(horizon_s / 3600)))


def horizon_vol(snap: MarketSnapshot, horizon_s: int) -> Decimal | None:
    """The volatility expected over the holding horizon: hourly volatility × √(hours)."""
    if snap.vol_hourly is None:
        return None
    return snap.vol_hourly * _sqrt_hours(horizon_s)


def _pct(x: Decimal) -> str:
    return f"{(x * 100).quantize(_PCT)}%"


def rule_based_advice(
    request: AdviceRequest, ai: AISettings, why: str, *, rejected_reason: str | None = None
) -> Advice:
    """The rule-based advice for `request`; `why` says why the model was not used (no key, timeout...)."""
    snap = request.snapshot
    label = f"rule-based fallback ({why})"

    def hold(detail: str) -> Advice:
        return hold_advice(
            request, ai, f"{label}: {detail}", source=AdviceSource.FALLBACK,
            confidence=RULE_BASED_CONFIDENCE, rejected_reason=rejected_reason,
        )

    if request.state not in (TradingState.READY_TO_BUY, TradingState.READY_TO_SELL):
        return hold(f"an order is working ({request.state.value})")
    if snap.stale:
        return hold("the market data is stale")
    if not (snap.bid > 0 and snap.ask > snap.bid and snap.mid > 0):
        return hold("the book is empty or crossed")
    if request.state is TradingState.READY_TO_BUY:
        if ai.rule_strategy == "maker":
            return _maker_bid(request, ai, label, hold, rejected_reason)
        return _entry(request, ai, label, hold, rejected_reason)
    return _exit(request, ai, label, hold, rejected_reason)


def _offset(snap: MarketSnapshot) -> Decimal:
    half_spread = (snap.ask - snap.bid) / 2
    return max(half_spread, snap.mid * snap.volatility * VOL_FRACTION if snap.volatility else Decimal(0))


def _maker_bid(request: AdviceRequest, ai: AISettings, label: str, hold: Callable[[str], Advice],
               rejected: str | None) -> Advice:
    snap, f = request.snapshot, request.filters
    offset = _offset(snap)
    price = round_price(min(snap.bid, snap.mid - offset), Side.BUY, f)
    if price <= 0:
        return hold("no positive bid price")
    low = max(round_price(price - offset, Side.BUY, f), f.tick_size)
    text = f"maker bid {fmt(price)} at or under the best bid {fmt(snap.bid)}"
    return _advice(request, ai, AdviceAction.BUY, price, (min(low, price), price), f"{label}: {text}", rejected)


def _entry(request: AdviceRequest, ai: AISettings, label: str, hold: Callable[[str], Advice], rejected: str | None) -> Advice:
    snap, f = request.snapshot, request.filters
    fast, slow, sigma = snap.trend_fast, snap.trend_slow, horizon_vol(snap, ai.rule_horizon_s)
    if not snap.regime or fast is None or slow is None or sigma is None or slow <= 0:
        return hold("no trend yet (the slow EMA is still warming up): no buys")
    gap = fast / slow - 1
    trend = f"fast EMA {fmt(fast)} vs slow EMA {fmt(slow)} ({_pct(gap)}), price {fmt(snap.mid)}"
    if snap.regime != "up":
        return hold(f"regime {snap.regime}: {trend}; buys only in an up trend")
    hours = Decimal(ai.rule_horizon_s) / 3600
    target_move = ai.rule_target_vol * sigma
    hurdle = (2 * request.fee_rate + request.min_profit) * ai.rule_fee_margin
    if target_move < hurdle:
        return hold(f"regime up ({trend}) but the expected move {_pct(target_move)} over {fmt(hours)} h "
                    f"does not clear 2 fees + min_profit × {fmt(ai.rule_fee_margin)} = {_pct(hurdle)}")
    price = round_price(snap.bid, Side.BUY, f)
    if price <= 0:
        return hold("no positive bid price")
    stop_move = ai.rule_stop_vol * sigma
    target = round_price(price * (1 + target_move), Side.SELL, f)
    stop = round_price(price * (1 - stop_move), Side.BUY, f)
    plan = AdvisedExits(target_price=target, stop_price=stop, time_limit_s=ai.rule_horizon_s,
                        invalidation=f"the trend turns down (fast EMA under slow EMA {fmt(slow)})")
    text = (f"trend entry: regime up, {trend}; volatility over {fmt(hours)} h {_pct(sigma)}; bid {fmt(price)}, "
            f"target {fmt(target)} (+{_pct(target_move)}, clears {_pct(hurdle)}), "
            f"stop {fmt(stop)} (-{_pct(stop_move)}), time limit {fmt(hours)} h")
    return _advice(request, ai, AdviceAction.BUY, price, (price, price), f"{label}: {text}", rejected, plan)


def _exit(request: AdviceRequest, ai: AISettings, label: str, hold: Callable[[str], Advice], rejected: str | None) -> Advice:
    snap, f = request.snapshot, request.filters
    floor = request.min_sell_price if request.min_sell_price is not None else request.break_even_price
    if floor is None:
        return hold("no break-even price known, so no sell price is safe")
    if ai.rule_strategy != "maker" and snap.regime == "down" and snap.bid >= floor and snap.trend_fast is not None and snap.trend_slow is not None:
        price = round_price(max(floor, snap.bid), Side.SELL, f)
        text = (f"trend exit: the regime turned down (fast EMA {fmt(snap.trend_fast)} under slow EMA "
                f"{fmt(snap.trend_slow)}) while the bid {fmt(snap.bid)} still pays the floor {fmt(floor)}: sell")
        return _advice(request, ai, AdviceAction.SELL, price, (price, price), f"{label}: {text}", rejected)
    target = request.exit_target
    if target is not None:
        price = round_price(max(floor, target, snap.ask), Side.SELL, f)
        text = (f"target exit: offer {fmt(price)}, the plan's target {fmt(target)} "
                f"(or the floor {fmt(floor)} or the ask, whichever is higher)")
        return _advice(request, ai, AdviceAction.SELL, price, (price, price), f"{label}: {text}", rejected)
    offset = _offset(snap)
    price = round_price(max(floor, snap.ask, snap.mid + offset), Side.SELL, f)
    rng = (price, round_price(price + offset, Side.SELL, f))
    text = f"offer {fmt(price)}: the best ask {fmt(snap.ask)} or the break-even floor {fmt(floor)}, whichever is higher"
    return _advice(request, ai, AdviceAction.SELL, price, rng, f"{label}: {text}", rejected)


def _advice(request: AdviceRequest, ai: AISettings, action: AdviceAction, price: Decimal,
            rng: tuple[Decimal, Decimal], reasoning: str, rejected: str | None,
            plan: AdvisedExits | None = None) -> Advice:
    return Advice(
        request_id=request.request_id,
        action=action,
        base_price=price,
        price_range=rng,
        confidence=RULE_BASED_CONFIDENCE,
        reasoning=reasoning[: ai.max_reasoning_chars],
        source=AdviceSource.FALLBACK,
        ts_ms=request.ts_ms,
        valid_until_ms=valid_until(request, ai),
        rejected_reason=rejected,
        exit_plan=plan,
    )

