"""Read a model's reply defensively: the one json object in it, its five fields type-checked.

Pure functions, no I/O, no clock, no provider: the provider's envelope (HTTP
status, error bodies, `choices`) is unwrapped by its client first. This follows
reference/openrouter.md section 4 (every way DeepSeek output breaks). Numbers
are Decimal from the wire on; a float never exists on the way from a reply to
an order. What the bot then lets an answer become is `rules.py`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from typing import Any

from actors.messages import ZERO, AdviceAction, AdvisedExits

MAX_CONTENT_CHARS = 20_000  # a sane answer is ~300 chars; anything this long is not one

_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\u180e"), None)
_FENCE = re.compile(r"```[ \t]*(?:json)?[ \t]*\r?\n?(.*?)```", re.DOTALL | re.IGNORECASE)
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")  # ASCII digits; no 1,000 or 1~2


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
class Proposal:
    """The model's answer with types checked, before the trading rules are applied."""

    action: AdviceAction
    base_price: Decimal | None
    price_range: tuple[Decimal, Decimal] | None
    confidence: Decimal
    reasoning: str
    exit_plan: AdvisedExits | None = None  # a buy's exit plan, prices not yet checked against the market


MAX_TIME_LIMIT_S = 30 * 86400  # an exit plan's time limit longer than this is not a plan


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
    if value.isprintable():
        # Fast path, same result: a printable str holds no Cc, Cf, Cs, Co, Cn, Zl or Zp character
        # (str.isprintable is false for exactly those and for Zs other than the space), so the loop
        # below would keep every character as it is. The bot's own texts (every rule-based reason) are.
        text = " ".join(value.split())
    else:
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
    plan = exit_plan_from(obj.get("exit_plan"), max_reasoning_chars) if action is AdviceAction.BUY else None
    return Proposal(action, base, (low, high), confidence, reasoning, plan)


def exit_plan_from(value: Any, max_chars: int) -> AdvisedExits | None:
    """The optional `exit_plan` object of a buy: target_price, stop_price, time_limit_s, invalidation.

    Absent or null: no plan (the configured [risk] exits apply). Present, every
    field is optional but each one given must be well typed, or the advice is
    rejected: a plan the bot cannot read is not silently dropped.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise AdviceRejected(f"exit_plan is a {type(value).__name__}, not an object")
    target = value.get("target_price")
    stop = value.get("stop_price")
    limit = value.get("time_limit_s")
    t = _number(target, "exit_plan target_price") if target is not None else None
    s = _number(stop, "exit_plan stop_price") if stop is not None else None
    seconds: int | None = None
    if limit is not None:
        n = _number(limit, "exit_plan time_limit_s")
        if n != n.to_integral_value() or not 0 < n <= MAX_TIME_LIMIT_S:
            raise AdviceRejected(f"exit_plan time_limit_s {n} is not a whole number of seconds in 1..{MAX_TIME_LIMIT_S}")
        seconds = int(n)
    text = clean_text(value.get("invalidation"), min(max_chars, 200))
    if t is None and s is None and seconds is None and not text:
        return None
    return AdvisedExits(target_price=t, stop_price=s, time_limit_s=seconds, invalidation=text)
