"""The consultant's other plain parts: rule-based advisor, cache, prompt, and the HTTP client.

The client runs against the stand-in on 127.0.0.1 in a fresh event loop per
test (no actor), so retries and deadlines are checked at the source.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from actors._lib.secrets import Secret
from actors.ai_consultant.cache import AdviceCache, Flights, cache_key
from actors.ai_consultant.openrouter import (
    MAX_ATTEMPTS,
    OpenRouterClient,
    OpenRouterError,
    Outcome,
    build_body,
    classify_response,
    model_hint,
    retry_backoff,
    retry_delay,
)
from actors.ai_consultant.prompt import SYSTEM_PROMPT, build_messages
from actors.messages import AdviceAction, AdviceSource, TradingState
from actors.settings import AISettings
from actors.strategy.builtin.trend import CONFIDENCE as RULE_BASED_CONFIDENCE
from tests._support.fakes.openrouter import FakeOpenRouter, Reply, completion, sample_request
from tests._support.strategy import strategy_advice

AI = AISettings()
D = Decimal
KEY = "sk-or-v1-parts0123456789abcdef"


# -- rule-based ---------------------------------------------------------------------------


def test_rule_based_bids_at_or_under_the_best_bid_on_the_grid() -> None:
    req = sample_request(state=TradingState.READY_TO_BUY, mid="10.005")  # bid 10.000, ask 10.010
    advice = strategy_advice(req, AI, "no key")
    assert advice.action is AdviceAction.BUY and advice.source is AdviceSource.FALLBACK
    assert advice.base_price == D("10.00") and advice.base_price <= req.snapshot.bid
    assert advice.confidence == RULE_BASED_CONFIDENCE > AI.min_confidence
    assert advice.reasoning.startswith("trend (no key): ") and advice.strategy == "trend"
    assert advice.valid_until_ms == req.ts_ms + AI.cache_ttl_s * 1000


def test_rule_based_buys_only_in_a_known_up_trend() -> None:
    """The trend rules themselves are in tests/test_strategy.py."""
    assert strategy_advice(sample_request(mid="10.005", regime=""), AI, "x").action is AdviceAction.HOLD
    assert strategy_advice(sample_request(mid="10.005", regime="down"), AI, "x").action is AdviceAction.HOLD


def test_rule_based_offers_at_the_ask_or_the_break_even_floor() -> None:
    cheap_entry = sample_request(state=TradingState.READY_TO_SELL, mid="10.005", entry_price="9.50")
    assert strategy_advice(cheap_entry, AI, "x").base_price == D("10.01")  # the ask
    dear_entry = sample_request(state=TradingState.READY_TO_SELL, mid="10.005", min_sell_price="10.37")
    advice = strategy_advice(dear_entry, AI, "x")
    assert advice.action is AdviceAction.SELL and advice.base_price == D("10.37")


@pytest.mark.parametrize("state", [TradingState.BUYING, TradingState.SELLING])
def test_rule_based_holds_while_an_order_works(state: TradingState) -> None:
    assert strategy_advice(sample_request(state=state), AI, "x").action is AdviceAction.HOLD


def test_rule_based_holds_without_a_break_even_or_a_book() -> None:
    no_floor = dataclasses.replace(
        sample_request(state=TradingState.READY_TO_SELL), min_sell_price=None, break_even_price=None
    )
    assert strategy_advice(no_floor, AI, "x").action is AdviceAction.HOLD
    crossed = sample_request(spread="-0.02")
    assert strategy_advice(crossed, AI, "x").action is AdviceAction.HOLD


def test_rule_based_holds_on_a_stale_snapshot() -> None:
    req = sample_request()
    stale = dataclasses.replace(req, snapshot=dataclasses.replace(req.snapshot, stale=True))
    advice = strategy_advice(stale, AI, "x")
    assert advice.action is AdviceAction.HOLD and "stale" in advice.reasoning


def test_rule_based_is_deterministic() -> None:
    req = sample_request(state=TradingState.READY_TO_SELL)
    assert strategy_advice(req, AI, "x") == strategy_advice(req, AI, "x")


# -- cache ------------------------------------------------------------------------------


def test_nearby_snapshots_share_a_key_and_different_situations_do_not() -> None:
    key = cache_key(sample_request(mid="10.005"))
    assert cache_key(sample_request(mid="10.005", seq=7, ts_ms=5)) == key
    assert cache_key(sample_request(mid="10.305")) != key
    assert cache_key(sample_request(state=TradingState.READY_TO_SELL)) != key
    assert cache_key(sample_request(mid="10.005", imbalance="0.9")) != key
    assert cache_key(sample_request(mid="10.005", volatility="0.02")) != key


def test_ttl_runs_on_market_time_and_a_clock_going_back_misses() -> None:
    cache = AdviceCache(size=4, ttl_ms=60_000)
    req = sample_request(ts_ms=1_000)
    advice = strategy_advice(req, AI, "x")
    cache.put(cache_key(req), advice, 1_000)
    assert cache.get(cache_key(req), 60_999) is advice
    assert cache.get(cache_key(req), 61_000) is None
    cache.put(cache_key(req), advice, 10_000)
    assert cache.get(cache_key(req), 9_999) is None


def test_cache_is_bounded_lru_and_ttl_zero_stores_nothing() -> None:
    cache = AdviceCache(size=2, ttl_ms=60_000)
    reqs = [sample_request(mid=str(10 + i)) for i in range(3)]
    for r in reqs[:2]:
        cache.put(cache_key(r), strategy_advice(r, AI, "x"), 0)
    assert cache.get(cache_key(reqs[0]), 1) is not None  # touch: reqs[1] is now the oldest
    cache.put(cache_key(reqs[2]), strategy_advice(reqs[2], AI, "x"), 0)
    assert len(cache) == 2 and cache.get(cache_key(reqs[1]), 1) is None
    off = AdviceCache(size=2, ttl_ms=0)
    off.put(cache_key(reqs[0]), strategy_advice(reqs[0], AI, "x"), 0)
    assert len(off) == 0


def test_single_flight_table() -> None:
    flights = Flights()
    req = sample_request()
    f = flights.start(cache_key(req), req)
    assert flights.for_key(cache_key(req)) is f
    assert flights.wait(req, f) == 1 and flights.wait(sample_request("r2"), f) == 2 and f.tickets == [1, 2]
    assert flights.finish(f.flight_id) is f and flights.for_key(cache_key(req)) is None and len(flights) == 0
    assert flights.finish(f.flight_id) is None


def test_each_waiting_requester_is_taken_once_by_its_answer_its_deadline_or_the_stop() -> None:
    flights = Flights()
    leader, joiner, other = sample_request("r1"), sample_request("r2"), sample_request("r3", mid="20")
    f, g = flights.start(cache_key(leader), leader), flights.start(cache_key(other), other)
    t1, t2, t3 = flights.wait(leader, f), flights.wait(joiner, f), flights.wait(other, g)
    expired = flights.expire(t1)
    assert expired is not None and expired.request is leader and f.tickets == [t2] and flights.waiting == 2
    assert flights.expire(t1) is None  # a second deadline for the same ticket finds nobody
    flights.finish(f.flight_id)
    assert [w.request for w in flights.take(f)] == [joiner] and flights.take(f) == []
    assert flights.expire(t2) is None
    assert [w.request for w in flights.drain()] == [other] and flights.waiting == 0 and g.tickets == [t3]


# -- prompt -----------------------------------------------------------------------------


def test_prompt_says_json_gives_the_shape_and_only_the_facts() -> None:
    req = sample_request(state=TradingState.READY_TO_SELL, entry_price="9.90")
    system, user = build_messages(req, AI)
    assert "json" in system["content"].lower() and '"price_range": [low, high]' in SYSTEM_PROMPT
    facts = json.loads(user["content"][user["content"].index("{"):], parse_float=D)
    assert facts["state"] == "ready_to_sell" and facts["min_sell_price"] == req.min_sell_price
    assert facts["best_bid"] == req.snapshot.bid and facts["tick_size"] == D("0.01")
    for needed in ("mid", "spread_bps", "book_imbalance", "vwap", "volatility", "trade_flow_imbalance",
                   "candles_ohlcv", "lot_step", "fee_rate_per_side", "break_even_sell_price", "quote_per_trade",
                   "position_qty", "entry_price", "last_trade_price"):
        assert needed in facts, needed
    assert len(facts["candles_ohlcv"]) == 5
    assert "request_id" not in user["content"] and "r1" not in user["content"]


def test_request_body() -> None:
    body = build_body(AI, [{"role": "user", "content": "x"}])
    assert body["model"] == "deepseek/deepseek-chat-v3.1" and body["models"] == ["deepseek/deepseek-v3.2"]
    assert body["temperature"] == 0 and body["max_tokens"] == AI.max_tokens
    assert body["response_format"] == {"type": "json_object"} and body["reasoning"] == {"enabled": False}


def test_model_hint_names_the_id_and_the_fix() -> None:
    text = model_hint(["deepseek-ai/deepseek-coder-33b-instruct"])
    assert "deepseek-ai/deepseek-coder-33b-instruct" in text and "deepseek/deepseek-chat-v3.1" in text
    assert "Hugging Face" in text


# -- classification and retry policy (pure) ---------------------------------------------


@pytest.mark.parametrize("status,retryable", [
    (400, False), (401, False), (402, False), (403, False), (404, False), (408, True), (429, True),
    (500, True), (502, True), (503, True), (524, True),
])
def test_status_classification(status: int, retryable: bool) -> None:
    out = classify_response(status, json.dumps({"error": {"code": status, "message": "m"}}), {})
    assert out.content is None and out.retryable is retryable and out.status == status


def test_html_edge_errors_and_usage() -> None:
    assert classify_response(524, "<html>timeout</html>", {}).retryable
    assert classify_response(200, "<html>hi</html>", {}).retryable
    ok = classify_response(200, json.dumps(completion("{}")), {})
    assert ok.content == "{}" and ok.usage.cost == D("0.00021") and ok.usage.prompt_tokens == 480


def test_retry_after_is_honoured_only_when_it_fits() -> None:
    limited = Outcome(reason="429", status=429, retryable=True, retry_after=1.5)
    half = retry_backoff(lambda: 0.5)
    assert retry_delay(1, limited, remaining_s=5, backoff=half) == 1.5
    assert retry_delay(1, limited, remaining_s=1.0, backoff=half) is None
    server = Outcome(reason="500", status=500, retryable=True)
    most = retry_backoff(lambda: 0.999)
    delays = [retry_delay(a, server, 100, backoff=most) for a in range(1, MAX_ATTEMPTS)]
    assert all(d is not None and d > 0 for d in delays) and delays == sorted(delays)
    assert retry_delay(MAX_ATTEMPTS, server, 100, backoff=half) is None
    assert retry_delay(1, Outcome(status=401), 100, backoff=half) is None


def test_retry_delays_are_todays_full_jitter_on_the_shared_backoff() -> None:
    """rand() x min(4 s, 0.25 s x 2^(attempt-1)): the same numbers as before `Backoff` took them over."""
    server = Outcome(reason="500", status=500, retryable=True)
    for r in (0.0, 0.3, 0.999):
        backoff = retry_backoff(lambda r=r: r)  # type: ignore[misc]
        got = [retry_delay(a, server, 100, backoff=backoff) for a in range(1, MAX_ATTEMPTS)]
        assert got == [r * min(4.0, 0.25 * 2 ** (a - 1)) for a in range(1, MAX_ATTEMPTS)]
    assert retry_backoff().jitter == (0.0, 1.0)


# -- the client against the stand-in ------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    server = FakeOpenRouter(api_key=KEY)
    server.start()
    yield server
    server.stop()


def call(fake: FakeOpenRouter, deadline_s: float = 3.0, key: str = KEY) -> object:
    """One `complete` in a fresh loop; returns the Completion or the OpenRouterError."""
    async def go() -> object:
        client = OpenRouterClient(fake.base_url, Secret(key))
        try:
            return await client.complete(build_messages(sample_request(), AI), deadline_s)
        except OpenRouterError as e:
            return e
        finally:
            await client.close()
    return asyncio.run(go())


def test_client_sends_the_key_only_in_the_header(fake: FakeOpenRouter) -> None:
    result = call(fake)
    assert not isinstance(result, OpenRouterError)
    (req,) = fake.chat_requests()
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    assert KEY not in req.text and KEY not in req.path + req.query
    assert req.json["response_format"] == {"type": "json_object"}


def test_429_retry_after_then_success(fake: FakeOpenRouter) -> None:
    fake.push(Reply.status_error(429, "slow down", retry_after=0.2))
    started = time.monotonic()
    result = call(fake)
    assert not isinstance(result, OpenRouterError) and result.attempts == 2  # type: ignore[union-attr]
    assert time.monotonic() - started >= 0.2
    assert len(fake.chat_requests()) == 2


def test_retry_after_longer_than_the_deadline_gives_up_at_once(fake: FakeOpenRouter) -> None:
    fake.push(Reply.status_error(429, "slow down", retry_after=30))
    result = call(fake, deadline_s=2.0)
    assert isinstance(result, OpenRouterError) and result.status == 429
    assert len(fake.chat_requests()) == 1


@pytest.mark.parametrize("quirk", ["html_502", "error_200", "choice_error", "no_choices", "blank"])
def test_transient_failures_are_retried(fake: FakeOpenRouter, quirk: str) -> None:
    fake.push(Reply.quirk(quirk))
    result = call(fake)
    assert not isinstance(result, OpenRouterError), result
    assert len(fake.chat_requests()) == 2


def test_500s_back_off_then_give_up_with_a_reason(fake: FakeOpenRouter) -> None:
    fake.push(*[Reply.status_error(500, "internal")] * MAX_ATTEMPTS)
    result = call(fake, deadline_s=10)
    assert isinstance(result, OpenRouterError) and result.status == 500 and "internal" in result.reason
    assert len(fake.chat_requests()) == MAX_ATTEMPTS


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404])
def test_client_errors_are_never_retried(fake: FakeOpenRouter, status: int) -> None:
    fake.push(Reply.status_error(status, "no"))
    result = call(fake)
    assert isinstance(result, OpenRouterError) and result.fatal and result.status == status
    assert len(fake.chat_requests()) == 1


def test_a_hung_server_ends_at_the_deadline(fake: FakeOpenRouter) -> None:
    fake.push(Reply.hang_forever())
    started = time.monotonic()
    result = call(fake, deadline_s=0.4)
    assert isinstance(result, OpenRouterError) and result.kind == "timeout"
    assert time.monotonic() - started < 0.4 + 2


def test_an_echoed_key_is_redacted_from_the_error(fake: FakeOpenRouter) -> None:
    fake.push(Reply(status=401, echo_auth=True))
    result = call(fake)
    assert isinstance(result, OpenRouterError)
    assert KEY not in str(result) and KEY not in repr(result) and "invalid credentials" in str(result)


def test_list_models(fake: FakeOpenRouter) -> None:
    async def go() -> frozenset[str]:
        client = OpenRouterClient(fake.base_url, Secret(KEY))
        try:
            return await client.list_models(2.0)
        finally:
            await client.close()
    assert "deepseek/deepseek-chat-v3.1" in asyncio.run(go())
    assert KEY not in repr(OpenRouterClient(fake.base_url, Secret(KEY)))
