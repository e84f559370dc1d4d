"""`[ai] role = "confirm"`: the strategy decides, the model is a second opinion on its proposals.

The model is asked only when the strategy proposes an entry or an exit (a
hold costs nothing), with the proposal and its reasoning in the prompt. It
answers in the advisor's json shape: the same action confirms (at the
proposed price, or at its own price, which must pass the strategy's rules
and lie within `[ai] price_band_pct` of the proposal); "hold" vetoes, and the
proposal is dropped. No answer in time, or a broken one, is what
`[ai] confirm_default` says: "reject" (hold) or "accept" (the proposal as it was).

Pure: the actor calls these on its own thread.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from actors.ai_consultant.prompt import _dump, _num, market_facts
from actors.ai_consultant.reply import AdviceRejected, _number, clean_text
from actors.ai_consultant.rules import ReplyMeta, check_exit_plan, check_strategy_price, hold_advice
from actors.domain.rules import fmt
from actors.messages import Advice, AdviceAction, AdviceRequest, AdviceSource, AdvisedExits
from actors.settings import AISettings

CONFIRM_PROMPT = """You are the second opinion for a spot trading bot's strategy, which places one LIMIT order at a time.
The strategy proposes an order; you confirm it, adjust its price, or veto it.
Reply with ONE json object only: no prose, no code fences, no <think> text. Exactly this shape:
{"action": "buy"|"sell"|"hold", "base_price": number, "confidence": number from 0 to 1, "reasoning": "one short sentence"}
- the proposal's action confirms it; base_price may adjust its price (omit it to keep the proposed price);
- "hold" vetoes it: no order is placed;
- an adjusted price must be a multiple of tick_size, within price_band of the proposed price; a buy not above the best ask,
  a sell not below min_sell_price (it covers both fees and the minimum profit);
- regime is "up", "down" or "range" from the fast and slow price EMAs; volatility_hourly × sqrt(hours) is the typical move.
Veto when the proposal looks wrong for this market; confidence is your probability that the order fills profitably."""


def build_confirm_messages(request: AdviceRequest, proposal: Advice, ai: AISettings,
                           strategy: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """The proposal and the market, as the advisor's prompt shows it, for the model to judge."""
    facts = market_facts(request, ai, strategy)
    facts["proposal"] = {
        "strategy": proposal.strategy,
        "action": proposal.action.value,
        "price": _num(proposal.base_price),
        "reasoning": proposal.reasoning,
        "exit_plan": _plan(proposal.exit_plan),
    }
    user = f"The strategy's proposal and the market (json). Reply with the json verdict.\n{_dump(facts)}"
    return [{"role": "system", "content": CONFIRM_PROMPT}, {"role": "user", "content": user}]


def _plan(plan: AdvisedExits | None) -> Any:
    if plan is None:
        return None
    return {"target_price": _num(plan.target_price), "stop_price": _num(plan.stop_price),
            "time_limit_s": plan.time_limit_s, "invalidation": plan.invalidation}


def verdict(fields: dict[str, Any], request: AdviceRequest, proposal: Advice, ai: AISettings,
            meta: ReplyMeta) -> tuple[str, Advice]:
    """("confirmed" | "adjusted" | "vetoed", the advice) from the model's parsed answer;
    AdviceRejected when the answer breaks a rule (the caller applies `confirm_default`)."""
    action = fields.get("action")
    if not isinstance(action, str) or action.strip().lower() not in ("buy", "sell", "hold"):
        raise AdviceRejected(f"action {action!r} is not buy, sell or hold")
    act = AdviceAction(action.strip().lower())
    reason = clean_text(fields.get("reasoning", ""), ai.max_reasoning_chars)
    raw_conf = fields.get("confidence", Decimal(1))
    confidence = _number(raw_conf, "confidence", percent_ok=True)
    if confidence > 1:
        confidence /= 100
    if not 0 <= confidence <= 1:
        raise AdviceRejected(f"confidence {fmt(confidence)} is not in [0, 1]")
    if act is AdviceAction.HOLD:
        text = f"vetoed by the model: {reason} (the strategy proposed {proposal.action.value} @ {proposal.base_price})"
        held = hold_advice(request, ai, text, source=AdviceSource.MODEL, confidence=confidence, meta=meta)
        return "vetoed", replace(held, strategy=proposal.strategy, valid_until_ms=proposal.valid_until_ms,
                                 wake_on_move=proposal.wake_on_move)
    if act is not proposal.action:
        raise AdviceRejected(f"the model answered {act.value} to a {proposal.action.value} proposal")
    assert proposal.base_price is not None
    price, kind = proposal.base_price, "confirmed"
    if fields.get("base_price") is not None:
        asked = _number(fields["base_price"], "base_price")
        if asked != price:
            if abs(asked - price) > request.snapshot.mid * ai.price_band_pct:
                raise AdviceRejected(f"adjusted price {fmt(asked)} is more than {fmt(ai.price_band_pct * 100)}% of mid "
                                     f"from the proposed {fmt(price)}")
            check_strategy_price(act, asked, request, ai)
            price, kind = asked, "adjusted"
    plan = check_exit_plan(proposal.exit_plan, price, request) if act is AdviceAction.BUY else None
    low, high = proposal.price_range or (price, price)
    text = (f"{kind} by the model ({reason}); {proposal.reasoning}" if kind == "confirmed" else
            f"adjusted by the model to {fmt(price)} from {fmt(proposal.base_price)} ({reason}); {proposal.reasoning}")
    return kind, replace(proposal, base_price=price, price_range=(min(low, price), max(high, price)),
                         confidence=confidence, reasoning=clean_text(text, ai.max_reasoning_chars),
                         source=AdviceSource.MODEL, exit_plan=plan, model=meta.model, latency_ms=meta.latency_ms,
                         cost=meta.cost, prompt_tokens=meta.prompt_tokens, completion_tokens=meta.completion_tokens)


def by_default(request: AdviceRequest, proposal: Advice, ai: AISettings, why: str) -> Advice:
    """The model did not answer usefully: `[ai] confirm_default` decides (a FALLBACK either way)."""
    if ai.confirm_default == "accept":
        text = f"accepted without the model ({why}; ai.confirm_default = accept): {proposal.reasoning}"
        return replace(proposal, source=AdviceSource.FALLBACK, reasoning=clean_text(text, ai.max_reasoning_chars))
    text = (f"rejected without the model ({why}; ai.confirm_default = reject): the strategy proposed "
            f"{proposal.action.value} @ {proposal.base_price}")
    held = hold_advice(request, ai, text, source=AdviceSource.FALLBACK, rejected_reason=why)
    return replace(held, strategy=proposal.strategy, valid_until_ms=proposal.valid_until_ms,
                   wake_on_move=proposal.wake_on_move)
