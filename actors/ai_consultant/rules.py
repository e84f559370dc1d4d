"""What the bot lets a model's answer become: an Advice inside the rules, or a HOLD saying why not.

The model is never trusted with the state, the price band around mid, the
tick grid, the best ask for a buy or the break-even floor for a sell; this
module enforces them, rounds to the grid and builds the Advice. Pure
functions, no I/O, no clock; the actor and the tests call them directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from actors.ai_consultant.reply import (
    AdviceRejected,
    Proposal,
    ReplyError,
    clean_text,
    parse_reply,
    proposal_from_fields,
)
from actors.domain.rules import fmt, round_down, round_price, round_up
from actors.messages import (
    ZERO,
    Advice,
    AdviceAction,
    AdviceRequest,
    AdviceSource,
    AdvisedExits,
    Side,
    TradingState,
)
from actors.settings import AISettings

_ACTION_FOR_STATE = {TradingState.READY_TO_BUY: AdviceAction.BUY, TradingState.READY_TO_SELL: AdviceAction.SELL}


@dataclass(frozen=True, slots=True)
class ReplyMeta:
    """What one model call cost, carried on the Advice it produced."""

    model: str | None = None
    latency_ms: int = 0
    cost: Decimal = ZERO
    prompt_tokens: int = 0
    completion_tokens: int = 0


# -- the rules --------------------------------------------------------------------


def _sell_floor(request: AdviceRequest) -> Decimal | None:
    return request.min_sell_price if request.min_sell_price is not None else request.break_even_price


def _check_basics(action: AdviceAction, price: Decimal, request: AdviceRequest) -> Decimal:
    """What every price must pass, whoever proposed it: the action fits the state, the price is
    positive and the snapshot has a mid; returns the mid."""
    want = _ACTION_FOR_STATE.get(request.state)
    if action is not want:
        raise AdviceRejected(f"{action.value} does not fit state {request.state.value}")
    mid = request.snapshot.mid
    if not (mid.is_finite() and mid > 0):
        raise AdviceRejected("the snapshot has no usable mid price")
    if not price.is_finite() or price <= 0:
        raise AdviceRejected(f"price {price} is not positive")
    return mid


def check_price(action: AdviceAction, price: Decimal, request: AdviceRequest, ai: AISettings) -> None:
    """Raise AdviceRejected unless an on-grid `price` is safe for `action` in this request."""
    mid = _check_basics(action, price, request)
    snap, f = request.snapshot, request.filters
    band = mid * ai.price_band_pct
    if not mid - band <= price <= mid + band:
        raise AdviceRejected(f"price {fmt(price)} is outside ±{fmt(ai.price_band_pct * 100)}% of mid {fmt(mid)}")
    if price % f.tick_size != 0:
        raise AdviceRejected(f"price {fmt(price)} is not on the tick grid {fmt(f.tick_size)}")
    if (f.min_price and price < f.min_price) or (f.max_price and price > f.max_price):
        raise AdviceRejected(f"price {fmt(price)} is outside the exchange price filter")
    if action is AdviceAction.BUY and price > snap.ask:
        raise AdviceRejected(f"buy price {fmt(price)} is above the best ask {fmt(snap.ask)}")
    if action is AdviceAction.SELL:
        floor = _sell_floor(request)
        if floor is None:
            raise AdviceRejected("no break-even price known, so no sell price is safe")
        if price < floor:
            raise AdviceRejected(f"sell price {fmt(price)} is below min_sell_price {fmt(floor)} (break-even + min profit)")


SELL_BAND_FACTOR = Decimal(2)  # a strategy's resting sell may sit up to twice the mid (a take-profit), no further


def check_strategy_price(action: AdviceAction, price: Decimal, request: AdviceRequest, ai: AISettings) -> None:
    """Raise AdviceRejected unless a strategy's `price` is on the grid and safe for `action`.

    The band differs from a model's: a strategy's limits rest. A buy may sit below the
    market (down to the band under mid), never above the ask; a sell may rest above it (a
    take-profit, up to SELL_BAND_FACTOR times mid), never under the break-even floor.
    """
    mid = _check_basics(action, price, request)
    snap, f = request.snapshot, request.filters
    if price % f.tick_size != 0:
        raise AdviceRejected(f"price {fmt(price)} is not on the tick grid {fmt(f.tick_size)} "
                             f"(ctx.buy_price(x) / ctx.sell_price(x) round to it)")
    if (f.min_price and price < f.min_price) or (f.max_price and price > f.max_price):
        raise AdviceRejected(f"price {fmt(price)} is outside the exchange price filter")
    if action is AdviceAction.BUY:
        if price > snap.ask:
            raise AdviceRejected(f"buy price {fmt(price)} is above the best ask {fmt(snap.ask)}")
        if price < mid * (1 - ai.price_band_pct):
            raise AdviceRejected(f"buy price {fmt(price)} is more than {fmt(ai.price_band_pct * 100)}% under "
                                 f"mid {fmt(mid)} (ai.price_band_pct)")
        return
    floor = _sell_floor(request)
    if floor is None:
        raise AdviceRejected("no break-even price known, so no sell price is safe")
    if price < floor:
        raise AdviceRejected(f"sell price {fmt(price)} is below min_sell_price {fmt(floor)} (break-even + min profit)")
    if price > mid * SELL_BAND_FACTOR:
        raise AdviceRejected(f"sell price {fmt(price)} is more than {fmt(SELL_BAND_FACTOR)} times mid {fmt(mid)}")


def apply_rules(p: Proposal, request: AdviceRequest, ai: AISettings) -> tuple[Decimal, tuple[Decimal, Decimal]]:
    """Round to the tick (a buy down, a sell up), then check; the range is rounded outward."""
    assert p.base_price is not None and p.price_range is not None
    want = _ACTION_FOR_STATE.get(request.state)
    if p.action is not want:
        raise AdviceRejected(f"{p.action.value} does not fit state {request.state.value}")
    low, high = p.price_range
    if not low <= p.base_price <= high:
        raise AdviceRejected(f"price_range [{fmt(low)}, {fmt(high)}] does not contain base_price {fmt(p.base_price)}")
    mid, pct = request.snapshot.mid, ai.price_band_pct
    if mid > 0 and not mid * (1 - pct) <= p.base_price <= mid * (1 + pct):
        raise AdviceRejected(f"base_price {fmt(p.base_price)} is outside ±{fmt(pct * 100)}% of mid {fmt(mid)}")
    if mid > 0 and not (mid * (1 - pct) <= low and high <= mid * (1 + pct)):
        raise AdviceRejected(f"price_range [{fmt(low)}, {fmt(high)}] reaches outside ±{fmt(pct * 100)}% of mid {fmt(mid)}")
    side = Side.BUY if p.action is AdviceAction.BUY else Side.SELL
    f = request.filters
    price = round_price(p.base_price, side, f)
    check_price(p.action, price, request, ai)
    rng_low = min(round_down(low, f.tick_size).quantize(f.tick_size), price)
    rng_high = max(round_up(high, f.tick_size).quantize(f.tick_size), price)
    return price, (rng_low, rng_high)


MAX_PLAN_MOVE = Decimal("0.5")  # a stop or target further than 50 % from the buy price is no plan


def check_exit_plan(plan: AdvisedExits | None, price: Decimal, request: AdviceRequest) -> AdvisedExits | None:
    """A buy's exit plan on the tick grid, or AdviceRejected: the target above the buy price, the stop
    below it, both within MAX_PLAN_MOVE. The keeper then takes it only where it is tighter than [risk]."""
    if plan is None:
        return None
    f = request.filters
    target, stop = plan.target_price, plan.stop_price
    if target is not None:
        target = round_price(target, Side.SELL, f)
        if not price < target <= price * (1 + MAX_PLAN_MOVE):
            raise AdviceRejected(f"exit_plan target_price {fmt(target)} must lie above the buy price {fmt(price)}, "
                                 f"within {fmt(MAX_PLAN_MOVE * 100)}%")
    if stop is not None:
        stop = round_price(stop, Side.BUY, f)
        if not price * (1 - MAX_PLAN_MOVE) <= stop < price or stop <= 0:
            raise AdviceRejected(f"exit_plan stop_price {fmt(stop)} must lie below the buy price {fmt(price)}, "
                                 f"within {fmt(MAX_PLAN_MOVE * 100)}%")
    return AdvisedExits(target_price=target, stop_price=stop, time_limit_s=plan.time_limit_s,
                        invalidation=plan.invalidation)


# -- advice ---------------------------------------------------------------------

_NO_META = ReplyMeta()  # no model call behind the advice (rule-based); Advice's own defaults say the same


def valid_until(request: AdviceRequest, ai: AISettings) -> int:
    return request.ts_ms + ai.cache_ttl_s * 1000


def hold_advice(
    request: AdviceRequest,
    ai: AISettings,
    reasoning: str,
    *,
    source: AdviceSource,
    confidence: Decimal = ZERO,
    rejected_reason: str | None = None,
    meta: ReplyMeta = _NO_META,
) -> Advice:
    reasoning = clean_text(reasoning, ai.max_reasoning_chars)
    if meta is _NO_META:  # a rule-based hold, on most bars of a backtest: Advice's defaults are ReplyMeta's
        return Advice(
            request_id=request.request_id, action=AdviceAction.HOLD, base_price=None, price_range=None,
            confidence=confidence, reasoning=reasoning, source=source, ts_ms=request.ts_ms,
            valid_until_ms=valid_until(request, ai), rejected_reason=rejected_reason,
        )
    return Advice(
        request_id=request.request_id,
        action=AdviceAction.HOLD,
        base_price=None,
        price_range=None,
        confidence=confidence,
        reasoning=reasoning,
        source=source,
        ts_ms=request.ts_ms,
        valid_until_ms=valid_until(request, ai),
        rejected_reason=rejected_reason,
        **_meta_fields(meta),
    )


def _meta_fields(meta: ReplyMeta) -> dict[str, Any]:
    return {
        "model": meta.model,
        "latency_ms": meta.latency_ms,
        "cost": meta.cost,
        "prompt_tokens": meta.prompt_tokens,
        "completion_tokens": meta.completion_tokens,
    }


def advice_from_fields(
    obj: dict[str, Any], request: AdviceRequest, ai: AISettings, meta: ReplyMeta = ReplyMeta()
) -> Advice:
    """The model's parsed answer as MODEL advice; a rule it breaks makes it a HOLD saying why.

    The confidence is passed through as given: `min_confidence` is the StateKeeper's.
    """
    try:
        p = proposal_from_fields(obj, ai.max_reasoning_chars)
        if p.action is AdviceAction.HOLD:
            return hold_advice(request, ai, p.reasoning, source=AdviceSource.MODEL, confidence=p.confidence, meta=meta)
        price, rng = apply_rules(p, request, ai)
        plan = check_exit_plan(p.exit_plan, price, request) if p.action is AdviceAction.BUY else None
    except (AdviceRejected, ArithmeticError, ValueError, TypeError) as e:
        reason = clean_text(str(e) or type(e).__name__, 200)
        conf = obj.get("confidence") if isinstance(obj, dict) else None
        confidence = conf if isinstance(conf, Decimal) and conf.is_finite() and ZERO <= conf <= 1 else ZERO
        return hold_advice(
            request, ai, f"model advice rejected: {reason}",
            source=AdviceSource.MODEL, confidence=confidence, rejected_reason=reason, meta=meta,
        )
    return Advice(
        request_id=request.request_id,
        action=p.action,
        base_price=price,
        price_range=rng,
        confidence=p.confidence,
        reasoning=p.reasoning,
        source=AdviceSource.MODEL,
        ts_ms=request.ts_ms,
        valid_until_ms=valid_until(request, ai),
        exit_plan=plan,
        **_meta_fields(meta),
    )


def advice_from_content(
    content: str, request: AdviceRequest, ai: AISettings, meta: ReplyMeta = ReplyMeta()
) -> Advice:
    """Parse and validate in one go; any failure is a HOLD with `rejected_reason`."""
    try:
        obj = parse_reply(content)
    except ReplyError as e:
        return hold_advice(
            request, ai, f"model reply unusable: {e.reason}",
            source=AdviceSource.MODEL, rejected_reason=e.reason, meta=meta,
        )
    return advice_from_fields(obj, request, ai, meta)


def recheck(advice: Advice, request: AdviceRequest, ai: AISettings) -> str | None:
    """Why a cached advice must not be served for `request` (None: it still holds)."""
    if advice.action is AdviceAction.HOLD:
        return None
    if advice.base_price is None:
        return "cached advice has no price"
    try:
        check_price(advice.action, advice.base_price, request, ai)
    except (AdviceRejected, ArithmeticError) as e:
        return str(e)
    return None


def advice_to_seed_dict(advice: Advice) -> dict[str, Any]:
    """The seed's json shape with exact decimal strings, ready for `json.dumps`."""
    d = advice.as_seed_dict()
    d["base_price"] = fmt(advice.base_price) if advice.base_price is not None else None
    d["price_range"] = [fmt(x) for x in advice.price_range] if advice.price_range else None
    d["confidence"] = fmt(advice.confidence)
    if advice.exit_plan is not None:
        e = advice.exit_plan
        d["exit_plan"] = {"target_price": fmt(e.target_price) if e.target_price is not None else None,
                          "stop_price": fmt(e.stop_price) if e.stop_price is not None else None,
                          "time_limit_s": e.time_limit_s, "invalidation": e.invalidation}
    return d
