"""The AI consultant actor alone: a probe as the requester, the stand-in OpenRouter on 127.0.0.1.

No sleeps as assertions: tests wait for messages (`ProbeHandle.wait_for`) or
for a counter (`eventually`), and timing is only ever bounded generously.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pykka
import pytest

from actors._lib.secrets import Secret
from actors.ai_consultant.actor import LOOP_NAME, AIConsultantActor
from actors.messages import Advice, AdviceAction, AdviceSource, GetStats, Stats, TradingState
from actors.settings import Settings, StrategySettings
from tests._support.fakes.openrouter import FakeOpenRouter, Reply, sample_request
from tests._support.probes import ProbeHandle, eventually

KEY = "sk-or-v1-actortest0123456789abcdef"
TIMEOUT_S = 0.5
D = Decimal


@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    server = FakeOpenRouter(api_key=KEY)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def probe() -> ProbeHandle:
    return ProbeHandle()


def make_settings(fake: FakeOpenRouter | None, **ai: Any) -> Settings:
    s = Settings(strategy=StrategySettings(name="trend"))  # the fallback these tests expect: the trend's buy
    values: dict[str, Any] = {"timeout_s": D(str(TIMEOUT_S)), "check_models_at_start": False}
    if fake is not None:
        values["base_url"] = fake.base_url
    values.update(ai)
    return dataclasses.replace(s, ai=dataclasses.replace(s.ai, **values))


def start(fake: FakeOpenRouter | None, key: str | None = KEY, **ai: Any) -> pykka.ActorRef[Any]:
    return AIConsultantActor.start(make_settings(fake, **ai), Secret(key) if key else None)


def stats(ref: pykka.ActorRef[Any]) -> dict[str, Any]:
    reply = ref.ask(GetStats(), timeout=2)
    assert isinstance(reply, Stats) and reply.source == "ai"
    return reply.as_dict()


def advice_for(probe: ProbeHandle, request_id: str, timeout: float = TIMEOUT_S + 2) -> Advice:
    (advice,) = probe.wait_for(Advice, lambda a: a.request_id == request_id, timeout=timeout)
    return advice


# -- cache and single flight ------------------------------------------------------------------


def test_identical_requests_cost_one_model_call(fake: FakeOpenRouter, probe: ProbeHandle) -> None:
    fake.push(Reply.advice(delay_s=0.2, base_price="9.99"))  # slow enough that the next ones join the flight
    ref = start(fake)
    for i in range(5):
        ref.tell(sample_request(f"in-flight-{i}", ts_ms=1_000 + i, reply_to=probe.ref))
    probe.wait_for(Advice, count=5)
    for i in range(5):  # later, still inside the TTL
        ref.tell(sample_request(f"cached-{i}", ts_ms=10_000 + i, reply_to=probe.ref))
    got = probe.wait_for(Advice, count=10)
    assert len(fake.chat_requests()) == 1
    assert sorted(a.request_id for a in got) == sorted([f"in-flight-{i}" for i in range(5)] + [f"cached-{i}" for i in range(5)])
    assert all(a.action is AdviceAction.BUY and a.base_price == D("9.99") for a in got)
    assert {a.source for a in got if a.request_id.startswith("in-flight")} == {AdviceSource.MODEL}
    assert {a.source for a in got if a.request_id.startswith("cached")} == {AdviceSource.CACHE}
    s = stats(ref)
    assert (s["calls"], s["model_calls"], s["cache_hits"], s["shared"]) == (10, 1, 5, 4)
    assert s["cost"] == D("0.00021") and s["prompt_tokens"] == 480


def test_after_the_ttl_the_model_is_asked_again(fake: FakeOpenRouter, probe: ProbeHandle) -> None:
    ref = start(fake, cache_ttl_s=60)
    ref.tell(sample_request("a", ts_ms=0, reply_to=probe.ref))
    advice_for(probe, "a")
    ref.tell(sample_request("b", ts_ms=60_000, reply_to=probe.ref))
    assert advice_for(probe, "b").source is AdviceSource.MODEL
    assert len(fake.chat_requests()) == 2


def test_a_cached_advice_that_no_longer_fits_is_a_miss(fake: FakeOpenRouter, probe: ProbeHandle) -> None:
    ref = start(fake)
    sell = {"state": TradingState.READY_TO_SELL, "entry_price": "9.90"}
    fake.push(Reply.advice(action="sell", base_price="10.07", price_range=("10.07", "10.08")))
    ref.tell(sample_request("a", reply_to=probe.ref, **sell))
    assert advice_for(probe, "a").base_price == D("10.07")
    # same situation, but this position needs at least 10.10 now: the cached 10.07 must not be served
    ref.tell(sample_request("b", reply_to=probe.ref, min_sell_price="10.10", **sell))
    b = advice_for(probe, "b")
    assert b.source is AdviceSource.MODEL and len(fake.chat_requests()) == 2
    assert b.action is AdviceAction.SELL and b.base_price is not None and b.base_price >= D("10.10")


# -- a hung model delays nothing ------------------------------------------------------------


def test_hung_server_gives_the_fallback_while_other_messages_flow(fake: FakeOpenRouter, probe: ProbeHandle) -> None:
    ref = start(fake, timeout_s=D("1.0"))
    ref.tell(sample_request("warm", mid="10.005", reply_to=probe.ref))
    assert advice_for(probe, "warm").source is AdviceSource.MODEL
    fake.push(Reply.hang_forever())
    sent = time.monotonic()
    ref.tell(sample_request("hung", mid="11.005", reply_to=probe.ref))
    ref.tell(sample_request("hit", mid="10.005", reply_to=probe.ref))
    hit = advice_for(probe, "hit")
    s = stats(ref)
    assert hit.source is AdviceSource.CACHE
    assert s["in_flight"] == 1 and s["waiting"] == 1  # answered while the model call hangs
    hung = advice_for(probe, "hung", timeout=1.0 + 2)
    assert time.monotonic() - sent < 1.0 + 2
    assert hung.source is AdviceSource.FALLBACK and "timeout" in hung.reasoning
    assert hung.action is AdviceAction.BUY  # the fallback still trades
    ids = [a.request_id for a in probe.all(Advice)]
    assert ids.index("hit") < ids.index("hung") and ids.count("hung") == 1


def test_late_reply_after_the_timeout_is_dropped_then_cached(fake: FakeOpenRouter, probe: ProbeHandle) -> None:
    # the requester's deadline is 1 s; the call itself may run to 2 s so a late answer can be kept
    fake.push(Reply.advice(delay_s=1.5, base_price="9.99"))
    ref = start(fake, timeout_s=D("1"))
    ref.tell(sample_request("slow", reply_to=probe.ref))
    assert advice_for(probe, "slow", timeout=1 + 2).source is AdviceSource.FALLBACK
    eventually(lambda: stats(ref)["late_replies"] == 1, timeout=5)
    assert [a.request_id for a in probe.all(Advice)] == ["slow"]  # exactly one answer
    ref.tell(sample_request("next", reply_to=probe.ref))
    nxt = advice_for(probe, "next")
    assert nxt.source is AdviceSource.CACHE and nxt.base_price == D("9.99")
    assert len(fake.chat_requests()) == 1


def test_after_a_failed_call_the_model_pauses(fake: FakeOpenRouter, probe: ProbeHandle) -> None:
    fake.push(*[Reply.status_error(500, "down")] * 8)
    ref = start(fake, timeout_s=D("0.3"))
    ref.tell(sample_request("a", ts_ms=0, reply_to=probe.ref))
    assert advice_for(probe, "a").source is AdviceSource.FALLBACK
    eventually(lambda: stats(ref)["errors"] == 1, timeout=5)
    calls = len(fake.chat_requests())
    ref.tell(sample_request("b", ts_ms=1_000, mid="11.005", reply_to=probe.ref))
    b = advice_for(probe, "b")
    assert b.source is AdviceSource.FALLBACK and "paused" in b.reasoning
    assert len(fake.chat_requests()) == calls


# -- retries --------------------------------------------------------------------------------


def test_429_with_retry_after_is_honoured_then_succeeds(fake: FakeOpenRouter, probe: ProbeHandle) -> None:
    fake.push(Reply.status_error(429, "rate limited", retry_after=0.2), Reply.advice(base_price="9.98"))
    ref = start(fake, timeout_s=D("2"))
    ref.tell(sample_request("a", reply_to=probe.ref))
    a = advice_for(probe, "a", timeout=4)
    assert a.source is AdviceSource.MODEL and a.base_price == D("9.98")
    assert len(fake.chat_requests()) == 2


@pytest.mark.parametrize("status", [400, 401])
def test_client_errors_are_not_retried_and_stop_model_calls(
    fake: FakeOpenRouter, probe: ProbeHandle, logs: Any, status: int
) -> None:
    fake.push(Reply.status_error(status, "nope"))
    ref = start(fake)
    ref.tell(sample_request("a", reply_to=probe.ref))
    assert advice_for(probe, "a").source is AdviceSource.FALLBACK
    ref.tell(sample_request("b", mid="12.005", reply_to=probe.ref))
    assert advice_for(probe, "b").source is AdviceSource.FALLBACK
    assert len(fake.chat_requests()) == 1
    assert len(logs.messages("ERROR")) == 1


def test_unknown_model_at_start_is_one_clear_error(fake: FakeOpenRouter, probe: ProbeHandle, logs: Any) -> None:
    ref = start(fake, model="deepseek-ai/deepseek-coder-33b-instruct", check_models_at_start=True)
    eventually(lambda: stats(ref)["model_off"] is not None, timeout=5)
    (error,) = logs.messages("ERROR")
    assert "deepseek-ai/deepseek-coder-33b-instruct" in error and "deepseek/deepseek-chat-v3.1" in error
    assert "Hugging Face" in error
    ref.tell(sample_request("a", reply_to=probe.ref))
    assert advice_for(probe, "a").source is AdviceSource.FALLBACK
    assert fake.chat_requests() == []


def test_unknown_model_without_the_start_check_is_one_clear_error(fake: FakeOpenRouter, probe: ProbeHandle, logs: Any) -> None:
    ref = start(fake, model="deepseek-ai/deepseek-coder-33b-instruct")
    for i in range(3):  # one after another: three different situations at once would be three calls
        ref.tell(sample_request(f"r{i}", mid=f"1{i}.005", reply_to=probe.ref))
        assert advice_for(probe, f"r{i}").source is AdviceSource.FALLBACK
    (error,) = logs.messages("ERROR")
    assert "deepseek-ai/deepseek-coder-33b-instruct" in error and "deepseek/deepseek-chat-v3.1" in error
    assert len(fake.chat_requests()) == 1


# -- offline, spend, invalid replies --------------------------------------------------------


def test_no_key_means_no_network_and_the_strategy_decides(fake: FakeOpenRouter, probe: ProbeHandle) -> None:
    ref = start(fake, key=None, check_models_at_start=True)
    for state in (TradingState.READY_TO_BUY, TradingState.READY_TO_SELL, TradingState.BUYING):
        ref.tell(sample_request(state.value, state=state, reply_to=probe.ref))
    got = probe.wait_for(Advice, count=3)
    # the strategy in its own right, named: "fallback" is for a model that failed, and none was asked
    assert {a.source for a in got} == {AdviceSource.STRATEGY}
    assert {a.strategy for a in got} == {"trend"}
    assert [a.action for a in sorted(got, key=lambda a: a.request_id)] == [
        AdviceAction.HOLD, AdviceAction.BUY, AdviceAction.SELL]  # buying, ready_to_buy, ready_to_sell
    assert all(a.reasoning.startswith("trend: ") for a in got)
    assert fake.requests() == []
    assert not any(t.name == LOOP_NAME for t in threading.enumerate())
    st = stats(ref)
    assert st["strategy_answers"] == 3 and st["fallbacks"] == 0 and st["strategy"] == "trend"


def test_spend_cap_switches_to_the_fallback(fake: FakeOpenRouter, probe: ProbeHandle) -> None:
    ref = start(fake, spend_cap_per_hour=D("0.0002"))  # one call costs 0.00021
    ref.tell(sample_request("a", reply_to=probe.ref))
    assert advice_for(probe, "a").source is AdviceSource.MODEL
    ref.tell(sample_request("b", mid="11.005", reply_to=probe.ref))
    b = advice_for(probe, "b")
    assert b.source is AdviceSource.FALLBACK and "spend cap" in b.reasoning
    assert len(fake.chat_requests()) == 1 and stats(ref)["spend_last_hour"] == D("0.00021")


def test_a_stale_snapshot_is_never_sent_to_the_model(fake: FakeOpenRouter, probe: ProbeHandle) -> None:
    ref = start(fake)
    req = sample_request("stale", reply_to=probe.ref)
    ref.tell(dataclasses.replace(req, snapshot=dataclasses.replace(req.snapshot, stale=True)))
    a = advice_for(probe, "stale")
    assert a.action is AdviceAction.HOLD and a.source is AdviceSource.STRATEGY and "stale" in a.reasoning
    assert fake.chat_requests() == []


def test_spend_cap_zero_means_no_model_calls(fake: FakeOpenRouter, probe: ProbeHandle) -> None:
    ref = start(fake, spend_cap_per_hour=D(0))
    ref.tell(sample_request("a", reply_to=probe.ref))
    assert advice_for(probe, "a").source is AdviceSource.FALLBACK
    assert fake.chat_requests() == []


@pytest.mark.parametrize("quirk", ["prose", "think", "fence", "bom_zero_width"])
def test_quirky_but_readable_replies_are_used(fake: FakeOpenRouter, probe: ProbeHandle, quirk: str) -> None:
    fake.push(Reply.quirk(quirk, base_price="9.99"))
    ref = start(fake)
    ref.tell(sample_request("a", reply_to=probe.ref))
    a = advice_for(probe, "a")
    assert a.source is AdviceSource.MODEL and a.action is AdviceAction.BUY and a.base_price == D("9.99")


@pytest.mark.parametrize("quirk", ["nan", "duplicate_keys", "truncated_stop", "length"])
def test_unusable_replies_become_the_fallback_with_the_reason(fake: FakeOpenRouter, probe: ProbeHandle, quirk: str) -> None:
    fake.push(Reply.quirk(quirk), *([Reply.quirk(quirk)] * 3))
    ref = start(fake)
    ref.tell(sample_request("a", reply_to=probe.ref))
    a = advice_for(probe, "a")
    assert a.source is AdviceSource.FALLBACK and a.rejected_reason and "invalid reply" in a.reasoning
    assert a.action is AdviceAction.BUY  # the rule-based advice, not the broken one


@pytest.mark.parametrize("state,fields", [
    (TradingState.READY_TO_BUY, {"action": "buy", "base_price": "9.50", "price_range": ("9.40", "9.60")}),  # 5% under mid
    (TradingState.READY_TO_BUY, {"action": "buy", "base_price": "10.50", "price_range": ("10.40", "10.60")}),
    (TradingState.READY_TO_SELL, {"action": "sell", "base_price": "10.01", "price_range": ("10.01", "10.02")}),  # < floor
    (TradingState.READY_TO_SELL, {"action": "buy", "base_price": "10.00", "price_range": ("9.99", "10.01")}),  # wrong state
])
def test_bad_prices_never_come_out_as_orders(
    fake: FakeOpenRouter, probe: ProbeHandle, state: TradingState, fields: dict[str, Any]
) -> None:
    fake.push(Reply.advice(**fields))
    ref = start(fake)
    ref.tell(sample_request("a", state=state, min_sell_price="10.08", reply_to=probe.ref))
    a = advice_for(probe, "a")
    assert a.action is AdviceAction.HOLD and a.source is AdviceSource.MODEL and a.rejected_reason
    assert stats(ref)["rejected"] == 1


# -- secrets ------------------------------------------------------------------------------


def test_the_key_never_leaks(probe: ProbeHandle, logs: Any) -> None:
    server = FakeOpenRouter()  # accepts any key, so the error path below is the scripted one
    server.start()
    try:
        server.push(Reply(status=401, echo_auth=True))  # an edge that echoes the Authorization header
        ref = start(server, check_models_at_start=True)
        ref.tell(sample_request("a", reply_to=probe.ref))
        a = advice_for(probe, "a")
        eventually(lambda: stats(ref)["model_off"] is not None, timeout=5)
        recorded = server.requests()
    finally:
        server.stop()
    assert recorded and all(r.headers.get("Authorization") == f"Bearer {KEY}" for r in recorded)
    for r in recorded:
        assert KEY not in r.text and KEY not in r.path and KEY not in r.query
        assert all(KEY not in v for k, v in r.headers.items() if k != "Authorization")
    assert "invalid credentials" in logs.text()  # the echo did reach the log path...
    assert KEY not in logs.text()  # ...redacted
    assert KEY not in repr(a) and KEY not in repr(stats(ref))
    actor = ref._actor_weakref()
    assert actor is not None and KEY not in repr(vars(actor)) and KEY not in repr(actor)


# -- lifecycle ------------------------------------------------------------------------------


def test_stop_answers_the_waiting_requester_and_leaves_no_loop(fake: FakeOpenRouter, probe: ProbeHandle) -> None:
    fake.push(Reply.hang_forever())
    ref = start(fake, timeout_s=D("30"))
    ref.tell(sample_request("pending", reply_to=probe.ref))
    eventually(lambda: len(fake.chat_requests()) == 1, timeout=5)
    assert any(t.name == LOOP_NAME for t in threading.enumerate())
    ref.stop(timeout=10)
    a = advice_for(probe, "pending")
    assert a.source is AdviceSource.FALLBACK and "stopping" in a.reasoning
    eventually(lambda: not any(t.name == LOOP_NAME and t.is_alive() for t in threading.enumerate()), timeout=5)


class _Exploding(AIConsultantActor):
    """Fails on "boom", to reach `on_failure` the way a bug would."""

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise RuntimeError("boom")
        return super().on_receive(message)


def test_a_crash_still_answers_the_waiting_requester_and_stops_the_loop(fake: FakeOpenRouter, probe: ProbeHandle) -> None:
    fake.push(Reply.hang_forever())
    ref = _Exploding.start(make_settings(fake, timeout_s=D("30")), Secret(KEY))
    ref.tell(sample_request("pending", reply_to=probe.ref))
    eventually(lambda: len(fake.chat_requests()) == 1, timeout=5)
    ref.tell("boom")
    a = advice_for(probe, "pending")
    assert a.source is AdviceSource.FALLBACK and "failed" in a.reasoning
    eventually(lambda: not ref.is_alive(), timeout=5)
    eventually(lambda: not any(t.name == LOOP_NAME and t.is_alive() for t in threading.enumerate()), timeout=5)


def test_a_malformed_request_gets_a_hold_and_the_actor_lives_on(probe: ProbeHandle, logs: Any) -> None:
    ref = start(None, key=None)
    bad = sample_request("bad", reply_to=probe.ref)
    bad = dataclasses.replace(bad, filters=dataclasses.replace(bad.filters, tick_size=D(0)))
    ref.tell(bad)
    assert advice_for(probe, "bad").action is AdviceAction.HOLD
    ref.tell(sample_request("good", reply_to=probe.ref))
    assert advice_for(probe, "good").action is AdviceAction.BUY
    assert len(logs.messages("ERROR")) == 1


def test_stats_keys(fake: FakeOpenRouter) -> None:
    s = stats(start(fake))
    for key in ("calls", "model_calls", "cache_hits", "fallbacks", "errors", "cost", "prompt_tokens",
                "completion_tokens", "latency_ms_last", "latency_ms_p50", "spend_last_hour"):
        assert key in s, key
    assert isinstance(s["cost"], Decimal) and isinstance(s["spend_last_hour"], Decimal)
