"""The two chat messages sent to the model: the rules and the exact json shape, then the facts.

Only what a price decision needs goes out: market numbers, the state, the
position, the exchange grid and the fee floor. No keys, no account ids, no
order ids. Numbers are written exactly from their Decimals (never through a
float), and the user message is one json object so it is also easy to read
back in a test stand-in.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from actors.domain.rules import fmt
from actors.messages import AdviceRequest, TradingState
from actors.settings import AISettings

CANDLES_SENT = 5
_PLACES = Decimal("0.000001")

_ALLOWED = {
    TradingState.READY_TO_BUY: '"buy" or "hold"',
    TradingState.READY_TO_SELL: '"sell" or "hold"',
    TradingState.BUYING: '"hold" (an order is working)',
    TradingState.SELLING: '"hold" (an order is working)',
}

SYSTEM_PROMPT = """You advise a spot trading bot that places one LIMIT order at a time.
Reply with ONE json object only: no prose, no code fences, no <think> text. Exactly this shape:
{"action": "buy"|"sell"|"hold", "base_price": number, "price_range": [low, high], "confidence": number from 0 to 1, "reasoning": "one short sentence"}
A buy may add its exit plan (every field optional; the bot's risk limits still apply and may be tighter):
"exit_plan": {"target_price": number, "stop_price": number, "time_limit_s": integer, "invalidation": "what proves the idea wrong"}
Rules:
- action "buy" only when state is ready_to_buy, "sell" only when state is ready_to_sell, otherwise "hold".
- base_price is the limit price; it must be a multiple of tick_size and within price_band of mid.
- a buy price must not be above the best ask; a sell price must not be below min_sell_price (it covers both fees and the minimum profit).
- price_range is [low, high] with low <= base_price <= high.
- an exit_plan's target_price is above base_price, its stop_price below it, both within 50 %.
- regime is "up", "down" or "range" from the fast and slow price EMAs; do not buy into a "down" regime.
- a buy must expect to clear both fees plus min_profit over its time limit: volatility_hourly × sqrt(hours) is the typical move.
- write numbers as plain json numbers: no quotes, no %, no thousands separators.
Answer "hold" when unsure; confidence is your probability that the order fills profitably."""


def _num(value: Decimal | None) -> Any:
    """Decimal → a json number token (exact, 6 places at most); None stays None."""
    if value is None:
        return None
    if not value.is_finite():
        return None
    if value.as_tuple().exponent < -6:  # type: ignore[operator]
        value = value.quantize(_PLACES)
    return _Raw(fmt(value))


class _Raw(str):
    """A string that `_dump` writes without quotes: a number kept exact."""


def _dump(obj: Any) -> str:
    """Compact json for dicts, lists, str, int, None and exact numbers (`_Raw`)."""
    if obj is None:
        return "null"
    if isinstance(obj, _Raw):
        return str(obj)
    if isinstance(obj, Decimal):
        return str(_num(obj))
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=True)
    if isinstance(obj, dict):
        return "{" + ",".join(f"{_dump(str(k))}:{_dump(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(_dump(v) for v in obj) + "]"
    raise TypeError(f"cannot write {type(obj).__name__} into the prompt")


def market_facts(request: AdviceRequest, ai: AISettings, strategy: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the model is told, as a json-ready dict (see the module doc for what is left out)."""
    snap, f = request.snapshot, request.filters
    band = snap.mid * ai.price_band_pct
    candles = [
        [_num(c.open), _num(c.high), _num(c.low), _num(c.close), _num(c.volume)]
        for c in snap.candles[-CANDLES_SENT:]
    ]
    facts: dict[str, Any] = {
        "symbol": request.symbol,
        "state": request.state.value,
        "allowed_actions": _ALLOWED[request.state],
        "position_qty": _num(request.position_qty),
        "entry_price": _num(request.entry_price),
        "best_bid": _num(snap.bid),
        "best_ask": _num(snap.ask),
        "mid": _num(snap.mid),
        "spread_bps": _num(snap.spread_bps),
        "book_imbalance": _num(snap.imbalance),
        "last_trade_price": _num(snap.last_price),
        "vwap": _num(snap.vwap),
        "volatility": _num(snap.volatility),
        "trade_flow_imbalance": _num(snap.trade_flow_imbalance),
        "regime": snap.regime or None,
        "trend_fast_ema": _num(snap.trend_fast),
        "trend_slow_ema": _num(snap.trend_slow),
        "volatility_hourly": _num(snap.vol_hourly),
        "min_profit": _num(request.min_profit),
        "exit_target": _num(request.exit_target),
        "candles_ohlcv": candles,
        "tick_size": _num(f.tick_size),
        "lot_step": _num(f.step_size),
        "fee_rate_per_side": _num(request.fee_rate),
        "break_even_sell_price": _num(request.break_even_price),
        "min_sell_price": _num(request.min_sell_price),
        "quote_per_trade": _num(request.quote_per_trade),
        "price_band": [_num(snap.mid - band), _num(snap.mid + band)],
        **({"strategy": strategy} if strategy else {}),  # the strategy's own indicators, when it publishes them
    }
    if request.maker_rate != request.taker_rate:  # only then: a recorded prompt with one rate stays the same
        facts["maker_fee"] = _num(request.maker_rate)  # a resting limit (a bid under the ask, an offer over the bid)
        facts["taker_fee"] = _num(request.taker_rate)  # an order that crosses the book when placed
    return facts


def build_messages(request: AdviceRequest, ai: AISettings, strategy: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """System rules plus one user message holding the facts as json."""
    facts = _dump(market_facts(request, ai, strategy))
    user = f"Market snapshot and position (json). Reply with the json advice object.\n{facts}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
