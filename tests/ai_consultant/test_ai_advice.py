"""The reply parser and the advice rules, without threads or sockets.

Every DeepSeek failure mode in reference/openrouter.md section 4 is fed through
the same path the actor uses (OpenRouter's `content_from_body` → `reply.parse_reply`
→ `rules.advice_from_fields`); whatever the text, the result is either a safe advice
or a HOLD that says why.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.ai_consultant.openrouter import content_from_body
from actors.ai_consultant.reply import ReplyError, clean_text, parse_reply
from actors.ai_consultant.rules import advice_from_content, advice_from_fields, advice_to_seed_dict, recheck
from actors.messages import AdviceAction, AdviceRequest, AdviceSource, TradingState
from actors.settings import AISettings
from tests._support.fakes.openrouter import QUIRKS, Reply, advice_text, completion, sample_request

AI = AISettings()
D = Decimal


def buy_request(**kw: object) -> AdviceRequest:
    return sample_request(state=TradingState.READY_TO_BUY, mid="10.005", **kw)  # bid 10.000, ask 10.010


def sell_request(**kw: object) -> AdviceRequest:
    return sample_request(state=TradingState.READY_TO_SELL, mid="10.005", entry_price="9.90", **kw)


def from_body(body: object, request: AdviceRequest) -> object:
    """The actor's path: envelope, then content; a ReplyError is returned, not raised."""
    try:
        content = content_from_body(body)
    except ReplyError as e:
        return e
    return advice_from_content(content, request, AI)


def assert_safe(advice: object, request: AdviceRequest) -> None:
    """What must hold for any advice that is not a hold."""
    if advice.action is AdviceAction.HOLD:  # type: ignore[attr-defined]
        assert advice.base_price is None  # type: ignore[attr-defined]
        return
    price = advice.base_price  # type: ignore[attr-defined]
    mid, band = request.snapshot.mid, request.snapshot.mid * AI.price_band_pct
    assert mid - band <= price <= mid + band
    assert price % request.filters.tick_size == 0
    low, high = advice.price_range  # type: ignore[attr-defined]
    assert low <= price <= high
    assert D(0) <= advice.confidence <= 1  # type: ignore[attr-defined]
    if advice.action is AdviceAction.BUY:  # type: ignore[attr-defined]
        assert request.state is TradingState.READY_TO_BUY
        assert price <= request.snapshot.ask
    else:
        assert request.state is TradingState.READY_TO_SELL
        assert request.min_sell_price is not None and price >= request.min_sell_price


# -- each DeepSeek quirk ------------------------------------------------------------

USABLE = {"valid", "think", "think_close_only", "fence", "prose", "bom_zero_width"}


@pytest.mark.parametrize("name", sorted(QUIRKS))
def test_every_quirk_gives_a_buy_or_a_clear_failure(name: str) -> None:
    req = buy_request()
    result = from_body(Reply.quirk(name, base_price="9.99", price_range=("9.98", "10.00")).body, req)
    if name in USABLE:
        assert result.action is AdviceAction.BUY, result  # type: ignore[union-attr]
        assert result.base_price == D("9.99")  # type: ignore[union-attr]
        assert result.source is AdviceSource.MODEL  # type: ignore[union-attr]
    elif isinstance(result, ReplyError):
        assert result.reason
    else:
        assert result.action is AdviceAction.HOLD and result.rejected_reason, result  # type: ignore[union-attr]


def test_the_reasoning_field_is_never_read_as_the_answer() -> None:
    body = Reply.quirk("reasoning_only").body
    with pytest.raises(ReplyError, match="reasoning field is never read") as err:
        content_from_body(body)
    assert err.value.retryable


def test_length_and_truncation_are_rejected_never_repaired() -> None:
    with pytest.raises(ReplyError, match="truncated"):
        content_from_body(Reply.quirk("length").body)
    with pytest.raises(ReplyError, match="invalid json"):
        parse_reply(advice_text()[:40])


@pytest.mark.parametrize("body", [
    {"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-day"}},
    {"id": "x"},
    {"choices": []},
    {"choices": [{"error": {"code": 502, "message": "x"}, "message": {"content": advice_text()}}]},
    {"choices": [{"finish_reason": "error", "message": {"content": advice_text()}}]},
    {"choices": [{"finish_reason": "stop", "message": {"content": None}}]},
    "not a dict",
])
def test_envelope_errors_are_caught_before_parsing(body: object) -> None:
    with pytest.raises(ReplyError):
        content_from_body(body)


def test_blank_and_cold_start_replies_are_retryable_but_bad_requests_are_not() -> None:
    with pytest.raises(ReplyError) as blank:
        content_from_body(completion("  \n "))
    assert blank.value.retryable
    with pytest.raises(ReplyError) as bad:
        content_from_body({"error": {"code": 401, "message": "User not found"}})
    assert not bad.value.retryable and bad.value.code == 401


@pytest.mark.parametrize("text,why", [
    ('{"action": "buy", "base_price": NaN, "price_range": [1, 2], "confidence": 1}', "NaN"),
    ('{"action": "buy", "base_price": Infinity, "price_range": [1, 2], "confidence": 1}', "Infinity"),
    ('{"action": "buy", "base_price": -Infinity, "price_range": [1, 2], "confidence": 1}', "Infinity"),
    ('{"action": "buy", "action": "sell"}', "duplicate key"),
    ('{"a": {"b": 1, "b": 2}}', "duplicate key"),
    ("no json here at all", "no json object"),
    ("[1, 2, 3]", "no json object"),
    ("<think>{\"action\": \"buy\"} and still thinking", "unfinished <think>"),
])
def test_strict_json(text: str, why: str) -> None:
    with pytest.raises(ReplyError, match=why):
        parse_reply(text)


def test_numbers_never_become_floats() -> None:
    obj = parse_reply('{"action": "buy", "base_price": 9.99, "price_range": [9, 10], "confidence": 1}')
    assert obj["base_price"] == D("9.99") and isinstance(obj["base_price"], Decimal)
    assert isinstance(obj["price_range"][0], Decimal) and isinstance(obj["confidence"], Decimal)


# -- numbers that come as strings -----------------------------------------------------

@pytest.mark.parametrize("base,conf,ok", [
    ('"9.99"', '"0.85"', True),
    ("9.99", '"85%"', True),
    ('" 9.99 "', "0.85", True),
    ('"9,99"', "0.85", False),          # a decimal comma / thousands separator
    ('"9.98~10.00"', "0.85", False),     # a range in one field
    ('"９.９９"', "0.85", False),          # full-width digits
    ("9.99", '"high"', False),
    ("9.99", "85", False),               # 0..100 confidence is not 0..1
    ("9.99", "true", False),
    ('"1e1"', "0.85", False),            # exponents only as json numbers
    ("null", "0.85", False),
])
def test_numbers_as_strings_are_accepted_carefully(base: str, conf: str, ok: bool) -> None:
    text = f'{{"action": "buy", "base_price": {base}, "price_range": [9.98, 10.00], "confidence": {conf}}}'
    advice = advice_from_content(text, buy_request(), AI)
    if ok:
        assert advice.action is AdviceAction.BUY and advice.base_price == D("9.99")
        assert advice.confidence == D("0.85")
    else:
        assert advice.action is AdviceAction.HOLD and advice.rejected_reason


# -- the trading rules ----------------------------------------------------------------

@pytest.mark.parametrize("state", list(TradingState))
@pytest.mark.parametrize("action", ["buy", "sell"])
def test_action_must_fit_the_state(state: TradingState, action: str) -> None:
    req = sample_request(state=state, mid="10.005", entry_price="9.90")
    price = "10.00" if action == "buy" else "10.01"
    advice = advice_from_content(advice_text(action, price, (price, price)), req, AI)
    fits = (state, action) in {(TradingState.READY_TO_BUY, "buy"), (TradingState.READY_TO_SELL, "sell")}
    assert advice.action is (AdviceAction(action) if fits else AdviceAction.HOLD)
    if not fits:
        assert "does not fit state" in (advice.rejected_reason or "")


def test_hold_is_always_allowed_and_carries_no_price() -> None:
    for state in TradingState:
        advice = advice_from_content(advice_text("hold", "10", ("9", "11"), "0.9"), sample_request(state=state), AI)
        assert advice.action is AdviceAction.HOLD and advice.base_price is None and advice.rejected_reason is None


@pytest.mark.parametrize("price,ok", [("9.80", False), ("9.81", True), ("10.01", True), ("10.21", False), ("0", False), ("-1", False)])
def test_price_band_around_mid(price: str, ok: bool) -> None:
    # mid 10.005, band 2%: [9.8049, 10.2051]; a buy also must not be above the ask (10.010)
    advice = advice_from_content(advice_text("buy", price, (price, price)), buy_request(), AI)
    assert (advice.action is AdviceAction.BUY) is ok, advice.rejected_reason


def test_a_buy_is_never_above_the_best_ask() -> None:
    advice = advice_from_content(advice_text("buy", "10.02", ("10.00", "10.05")), buy_request(), AI)
    assert advice.action is AdviceAction.HOLD and "above the best ask" in (advice.rejected_reason or "")


def test_tick_grid_buy_rounds_down_sell_rounds_up() -> None:
    buy = advice_from_content(advice_text("buy", "9.987", ("9.95", "9.999")), buy_request(), AI)
    assert buy.base_price == D("9.98") and buy.price_range == (D("9.95"), D("10.00"))
    sell = advice_from_content(advice_text("sell", "10.041", ("10.03", "10.05")), sell_request(), AI)
    assert sell.base_price == D("10.05") and sell.price_range == (D("10.03"), D("10.05"))


def test_the_rounded_price_is_checked_again() -> None:
    # mid 10.005, band 2%: [9.8049, 10.2051]; both raw prices are inside, the rounded ones are not
    buy = advice_from_content(advice_text("buy", "9.805", ("9.805", "9.81")), buy_request(), AI)
    assert buy.action is AdviceAction.HOLD and "outside" in (buy.rejected_reason or "")  # 9.80 after rounding down
    sell = advice_from_content(advice_text("sell", "10.205", ("10.20", "10.205")), sell_request(), AI)
    assert sell.action is AdviceAction.HOLD and "outside" in (sell.rejected_reason or "")  # 10.21 after rounding up
    at_ask = advice_from_content(advice_text("buy", "10.0101", ("10.00", "10.02")), buy_request(), AI)
    assert at_ask.action is AdviceAction.BUY and at_ask.base_price == D("10.01")  # rounds down onto the ask


def test_a_sell_is_never_below_min_sell_price() -> None:
    req = sell_request(min_sell_price="10.06")
    below = advice_from_content(advice_text("sell", "10.05", ("10.05", "10.06")), req, AI)
    assert below.action is AdviceAction.HOLD and "min_sell_price" in (below.rejected_reason or "")
    at = advice_from_content(advice_text("sell", "10.051", ("10.05", "10.06")), req, AI)  # rounds up to 10.06
    assert at.action is AdviceAction.SELL and at.base_price == D("10.06")


def test_a_sell_without_any_break_even_is_refused() -> None:
    req = dataclasses.replace(sell_request(), min_sell_price=None, break_even_price=None)
    advice = advice_from_content(advice_text("sell", "10.01", ("10.01", "10.02")), req, AI)
    assert advice.action is AdviceAction.HOLD and "break-even" in (advice.rejected_reason or "")


def test_price_range_must_be_ordered_and_contain_the_base_price() -> None:
    for rng in (("10.00", "9.98"), ("9.90", "9.95"), ("9.98",), ()):
        text = advice_text("buy", "9.99", rng)
        advice = advice_from_content(text, buy_request(), AI)
        assert advice.action is AdviceAction.HOLD, rng


def test_confidence_below_min_confidence_is_passed_through() -> None:
    advice = advice_from_content(advice_text("buy", "9.99", confidence="0.3"), buy_request(), AI)
    assert advice.action is AdviceAction.BUY and advice.confidence == D("0.3")
    out_of_range = advice_from_content(advice_text("buy", "9.99", confidence="1.2"), buy_request(), AI)
    assert out_of_range.action is AdviceAction.HOLD


def test_reasoning_is_plain_truncated_text() -> None:
    ai = dataclasses.replace(AI, max_reasoning_chars=20)
    text = advice_text("buy", "9.99", reasoning="line one\n\x1b[31mred\x1b[0m \u202eevil\u200b and a very long tail")
    advice = advice_from_content(text, buy_request(), ai)
    assert len(advice.reasoning) <= 20 and "\x1b" not in advice.reasoning and "\u202e" not in advice.reasoning
    assert "\n" not in advice.reasoning and advice.reasoning.endswith("…")
    assert clean_text(["not", "text"], 10) == ""


def test_valid_until_is_the_request_time_plus_the_ttl() -> None:
    req = buy_request(ts_ms=5_000)
    advice = advice_from_content(advice_text("buy", "9.99"), req, AI)
    assert advice.ts_ms == 5_000 and advice.valid_until_ms == 5_000 + AI.cache_ttl_s * 1000


def test_recheck_a_cached_advice_against_a_moved_market() -> None:
    advice = advice_from_content(advice_text("buy", "9.99"), buy_request(), AI)
    assert recheck(advice, buy_request(), AI) is None
    assert recheck(advice, sample_request(mid="10.505"), AI) is not None  # 9.99 is now 4.9% under mid
    sell = advice_from_content(advice_text("sell", "10.07", ("10.07", "10.08")), sell_request(), AI)
    assert sell.action is AdviceAction.SELL
    assert recheck(sell, sell_request(min_sell_price="10.10"), AI) is not None


def test_seed_dict_shape_is_json_ready() -> None:
    advice = advice_from_content(advice_text("buy", "9.99"), buy_request(), AI)
    d = advice_to_seed_dict(advice)
    assert json.loads(json.dumps(d)) == {
        "action": "buy", "base_price": "9.99", "price_range": ["9.98", "10"], "confidence": "0.85",
        "reasoning": "bids lean on the book", "source": "model",
    }


# -- properties -------------------------------------------------------------------------

REQUESTS = [buy_request(), sell_request(), sell_request(min_sell_price="10.12"), sample_request(state=TradingState.BUYING)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=400), which=st.integers(0, len(REQUESTS) - 1))
def test_arbitrary_text_never_raises_and_is_never_unsafe(text: str, which: int) -> None:
    req = REQUESTS[which]
    assert_safe(advice_from_content(text, req, AI), req)


_numberish = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True, places=4).map(str),
    st.decimals(min_value=D("9.5"), max_value=D("10.5"), places=3).map(str),
    st.floats(allow_nan=True).map(repr),
    st.sampled_from(['"9.99"', '"85%"', '"1,000"', '"9~10"', "true", "null", '"high"', "1e999", "-0", "10.01"]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    action=st.sampled_from(["buy", "sell", "hold", "BUY", " Sell ", "short", ""]),
    base=_numberish, low=_numberish, high=_numberish, conf=_numberish,
    which=st.integers(0, len(REQUESTS) - 1),
    wrap=st.sampled_from(["{}", "```json\n{}\n```", "<think>x</think>{}", "Sure! {} Bye."]),
)
def test_structured_garbage_never_yields_an_unsafe_order(
    action: str, base: str, low: str, high: str, conf: str, which: int, wrap: str
) -> None:
    req = REQUESTS[which]
    obj = f'{{"action": "{action}", "base_price": {base}, "price_range": [{low}, {high}], "confidence": {conf}}}'
    advice = advice_from_content(wrap.replace("{}", obj), req, AI)
    assert_safe(advice, req)


@settings(max_examples=200, deadline=None)
@given(obj=st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
))
def test_any_json_value_as_fields_is_handled(obj: object) -> None:
    req = buy_request()
    fields = obj if isinstance(obj, dict) else {"action": obj}
    assert_safe(advice_from_fields(fields, req, AI), req)


@st.composite
def near_valid(draw: st.DrawFn) -> tuple[str, int]:
    """Answers that are mostly well-formed, with prices straddling every edge (band, ask, floor, tick)."""
    which = draw(st.integers(0, len(REQUESTS) - 1))
    mid = REQUESTS[which].snapshot.mid
    base = mid * (1 + draw(st.decimals(min_value=D("-0.03"), max_value=D("0.03"), places=4)))
    base = base.quantize(D(10) ** -draw(st.integers(1, 4)))
    below = draw(st.decimals(min_value=D("-0.01"), max_value=D("0.05"), places=3))
    above = draw(st.decimals(min_value=D("-0.01"), max_value=D("0.05"), places=3))
    conf = draw(st.decimals(min_value=D("-0.1"), max_value=D("1.1"), places=2))
    action = draw(st.sampled_from(["buy", "sell", "hold"]))
    as_str = draw(st.booleans())
    q = (lambda x: f'"{x}"') if as_str else str
    text = (f'{{"action": "{action}", "base_price": {q(base)}, "price_range": [{base - below}, {base + above}], '
            f'"confidence": {conf}, "reasoning": "r"}}')
    return text, which


@settings(max_examples=500, deadline=None)
@given(case=near_valid())
def test_near_valid_answers_are_only_ever_safe(case: tuple[str, int]) -> None:
    text, which = case
    req = REQUESTS[which]
    assert_safe(advice_from_content(text, req, AI), req)
