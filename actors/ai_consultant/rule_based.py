"""The rule-based advisor, the bot's default strategy: it advises whenever the model does not.

That is every offline run (no key), and any request the model cannot answer
well in time (a failure, a timeout, the spend cap, the breaker open). Its
advice is journaled with `AdviceSource.FALLBACK` ("fallback"), the value
journals already hold. Deterministic and fee-aware, so that the default
offline run trades and a backtest gives the same result every time.

It is a passive market maker of one order at a time: bid at the best bid (a
little lower when the market is volatile) and offer at the best ask, but never
below the break-even floor the StateKeeper computed (break-even after both
fees plus the minimum profit).
"""

from __future__ import annotations

from decimal import Decimal

from actors.ai_consultant.rules import hold_advice, valid_until
from actors.messages import Advice, AdviceAction, AdviceRequest, AdviceSource, Side, TradingState
from actors.order_executor.filters import fmt, round_price
from actors.settings import AISettings

RULE_BASED_CONFIDENCE = Decimal("0.8")  # above the default min_confidence (0.7), so the bot acts on it
VOL_FRACTION = Decimal("0.25")  # how much of the realised volatility to stand back from mid


def rule_based_advice(
    request: AdviceRequest, ai: AISettings, why: str, *, rejected_reason: str | None = None
) -> Advice:
    """The rule-based advice for `request`; `why` says why the model was not used (no key, timeout...)."""
    snap, f = request.snapshot, request.filters
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
    half_spread = (snap.ask - snap.bid) / 2
    vol_offset = snap.mid * snap.volatility * VOL_FRACTION if snap.volatility else Decimal(0)
    offset = max(half_spread, vol_offset)
    if request.state is TradingState.READY_TO_BUY:
        price = round_price(min(snap.bid, snap.mid - offset), Side.BUY, f)
        if price <= 0:
            return hold("no positive bid price")
        low = max(round_price(price - offset, Side.BUY, f), f.tick_size)
        rng = (min(low, price), price)
        action, text = AdviceAction.BUY, f"bid {fmt(price)} at or under the best bid {fmt(snap.bid)}"
    else:
        floor = request.min_sell_price if request.min_sell_price is not None else request.break_even_price
        if floor is None:
            return hold("no break-even price known, so no sell price is safe")
        price = round_price(max(floor, snap.ask, snap.mid + offset), Side.SELL, f)
        rng = (price, round_price(price + offset, Side.SELL, f))
        action = AdviceAction.SELL
        text = f"offer {fmt(price)}: the best ask {fmt(snap.ask)} or the break-even floor {fmt(floor)}, whichever is higher"
    return Advice(
        request_id=request.request_id,
        action=action,
        base_price=price,
        price_range=rng,
        confidence=RULE_BASED_CONFIDENCE,
        reasoning=f"{label}: {text}"[: ai.max_reasoning_chars],
        source=AdviceSource.FALLBACK,
        ts_ms=request.ts_ms,
        valid_until_ms=valid_until(request, ai),
        rejected_reason=rejected_reason,
    )
