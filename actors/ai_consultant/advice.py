"""Turn a model reply into an Advice the bot may act on, or a HOLD that says why not.

Pure functions, no I/O, no clock: the actor and the tests call them directly.
The parser follows reference/openrouter.md section 4 (every way DeepSeek output
breaks); the validator enforces what the model is never trusted with: the
state, the price band around mid, the tick grid, the best ask for a buy and the
break-even floor for a sell. Numbers are Decimal from the wire on; a float never
exists on the way from a reply to an order.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from typing import Any

from actors.messages import ZERO, Advice, AdviceAction, AdviceRequest, AdviceSource, Side, TradingState
from actors.order_executor.filters import fmt, round_down, round_price, round_up
from actors.settings import AISettings

MAX_CONTENT_CHARS = 20_000  # a sane answer is ~300 chars; anything this long is not one
RETRYABLE_CODES = frozenset({408, 429, 500, 502, 503, 504, 520, 522, 524, 529})

_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u180e"), None)
_FENCE = re.compile(r"```[ \t]*(?:json)?[ \t]*\r?\n?(.*?)```", re.DOTALL | re.IGNORECASE)
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")  # ASCII digits; no 1,000 or 1~2
_ACTION_FOR_STATE = {TradingState.READY_TO_BUY: AdviceAction.BUY, TradingState.READY_TO_SELL: AdviceAction.SELL}


class ReplyError(ValueError):
    """The reply holds no usable answer: an error envelope, blank content, no strict json.

    `retryable` marks the failures that may go away on a second attempt
    (blank content, an upstream 5xx inside a 200, no choices on a cold start).
    """

    def __init__(self, reason: str, *, retryable: bool = False, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.code = code


class AdviceRejected(ValueError):
    """A well-formed answer that breaks a rule (state, band, tick, break-even)."""


@dataclass(frozen=True, slots=True)
class ReplyMeta:
    """What one model call cost, carried on the Advice it produced."""

    model: str | None = None
    latency_ms: int = 0
    cost: Decimal = ZERO
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Proposal:
    """The model's answer with types checked, before the trading rules are applied."""

    action: AdviceAction
    base_price: Decimal | None
    price_range: tuple[Decimal, Decimal] | None
    confidence: Decimal
    reasoning: str


# -- the envelope ---------------------------------------------------------------


def content_from_body(body: Any) -> str:
    """The answer text of a chat completion, after every error check OpenRouter needs.

    Errors can come with HTTP 200 (a top-level `error`, `choices[0].error`,
    `finish_reason == "error"`), so the status alone proves nothing.
    """
    if not isinstance(body, dict):
        raise ReplyError("reply is not a json object", retryable=True)
    if body.get("error"):
        raise _error_from(body["error"], "reply")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ReplyError("reply has no choices", retryable=True)
    choice = choices[0]
    if choice.get("error"):
        raise _error_from(choice["error"], "choice")
    finish = choice.get("finish_reason")
    if finish == "error":
        raise ReplyError("the model stopped with finish_reason error", retryable=True)
    if finish == "length":
        raise ReplyError("reply truncated at max_tokens (finish_reason length); never repaired")
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str) or not content.strip():
        where = " (the reasoning field is never read as the answer)" if _has_reasoning(message) else ""
        raise ReplyError(f"reply content is empty{where}", retryable=True)
    return content


def _has_reasoning(message: Any) -> bool:
    return isinstance(message, dict) and bool(message.get("reasoning") or message.get("reasoning_content"))


def _error_from(error: Any, where: str) -> ReplyError:
    code = error.get("code") if isinstance(error, dict) else None
    text = error.get("message") if isinstance(error, dict) else error
    code_int = code if isinstance(code, int) and not isinstance(code, bool) else None
    retryable = code_int is None or code_int in RETRYABLE_CODES
    return ReplyError(f"error in {where}: {code} {str(text)[:200]}", retryable=retryable, code=code_int)


# -- the content ------------------------------------------------------------------


class _Strict(ValueError):
    pass


def _no_constants(name: str) -> Any:
    raise _Strict(f"{name} is not a number this bot accepts")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Strict(f"duplicate key {key!r}")
        out[key] = value
    return out


_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_int=Decimal, parse_constant=_no_constants, object_pairs_hook=_no_duplicates
)


def parse_reply(content: str) -> dict[str, Any]:
    """The one json object in `content`: think blocks, fences and prose around it are dropped."""
    if not isinstance(content, str) or not content.strip():
        raise ReplyError("reply content is empty", retryable=True)
    if len(content) > MAX_CONTENT_CHARS:
        raise ReplyError(f"reply is {len(content)} chars long; not an answer")
    text = content.translate(_INVISIBLE)
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    elif "<think>" in text:
        raise ReplyError("reply is an unfinished <think> block")
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start = text.find("{")
    if start < 0:
        raise ReplyError("no json object in reply")
    try:
        obj, _end = _DECODER.raw_decode(text, start)
    except _Strict as e:
        raise ReplyError(f"invalid json: {e}") from None
    except json.JSONDecodeError as e:
        raise ReplyError(f"invalid json: {e.msg} at char {e.pos}") from None
    except (RecursionError, ValueError, DecimalException) as e:
        raise ReplyError(f"invalid json: {type(e).__name__}") from None
    if not isinstance(obj, dict):
        raise ReplyError("reply json is not an object")
    return obj


# -- the fields -----------------------------------------------------------------


def _number(value: Any, what: str, *, percent_ok: bool = False) -> Decimal:
    """A finite Decimal from a json number, or from a plain numeric string ("39.45", "85%")."""
    if isinstance(value, bool) or value is None:
        raise AdviceRejected(f"{what} is {value!r}, not a number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        scale = Decimal(1)
        if percent_ok and text.endswith("%"):
            text, scale = text[:-1].strip(), Decimal(100)
        if not _PLAIN_NUMBER.fullmatch(text):
            raise AdviceRejected(f"{what} {value[:40]!r} is not a plain number")
        number = Decimal(text) / scale
    else:
        raise AdviceRejected(f"{what} is a {type(value).__name__}, not a number")
    if not number.is_finite():
        raise AdviceRejected(f"{what} is not finite")
    return number


def clean_text(value: Any, limit: int) -> str:
    """Plain one-line text: control and format characters gone, whitespace collapsed, truncated."""
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return ""
    kept = []
    for ch in value:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        elif cat not in ("Cf", "Cs", "Co", "Cn"):
            kept.append(ch)
    text = " ".join("".join(kept).split())
    if len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    return text


def proposal_from_fields(obj: dict[str, Any], max_reasoning_chars: int) -> Proposal:
    """Type-check the seed's five fields; unknown extra keys are ignored."""
    raw_action = obj.get("action")
    if not isinstance(raw_action, str):
        raise AdviceRejected(f"action is {type(raw_action).__name__}, not buy, sell or hold")
    try:
        action = AdviceAction(raw_action.strip().lower())
    except ValueError:
        raise AdviceRejected(f"action {raw_action[:20]!r} is not buy, sell or hold") from None
    confidence = _number(obj.get("confidence"), "confidence", percent_ok=True)
    if not ZERO <= confidence <= 1:
        raise AdviceRejected(f"confidence {confidence} is outside [0, 1]")
    reasoning = clean_text(obj.get("reasoning"), max_reasoning_chars)
    if action is AdviceAction.HOLD:
        return Proposal(action, None, None, confidence, reasoning)
    base = _number(obj.get("base_price"), "base_price")
    rng = obj.get("price_range")
    if not isinstance(rng, list) or len(rng) != 2:
        raise AdviceRejected("price_range must be a list [low, high]")
    low, high = _number(rng[0], "price_range low"), _number(rng[1], "price_range high")
    return Proposal(action, base, (low, high), confidence, reasoning)


# -- the rules --------------------------------------------------------------------


def _sell_floor(request: AdviceRequest) -> Decimal | None:
    return request.min_sell_price if request.min_sell_price is not None else request.break_even_price


def check_price(action: AdviceAction, price: Decimal, request: AdviceRequest, ai: AISettings) -> None:
    """Raise AdviceRejected unless an on-grid `price` is safe for `action` in this request."""
    want = _ACTION_FOR_STATE.get(request.state)
    if action is not want:
        raise AdviceRejected(f"{action.value} does not fit state {request.state.value}")
    snap, f = request.snapshot, request.filters
    mid = snap.mid
    if not (mid.is_finite() and mid > 0):
        raise AdviceRejected("the snapshot has no usable mid price")
    if not price.is_finite() or price <= 0:
        raise AdviceRejected(f"price {price} is not positive")
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


# -- advice ---------------------------------------------------------------------


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
    meta: ReplyMeta = ReplyMeta(),
) -> Advice:
    return Advice(
        request_id=request.request_id,
        action=AdviceAction.HOLD,
        base_price=None,
        price_range=None,
        confidence=confidence,
        reasoning=clean_text(reasoning, ai.max_reasoning_chars),
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
    return d
