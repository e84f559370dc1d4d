"""The circuit breaker: an unreachable model costs a few connection attempts, not one per request.

The breaker alone (pure), the client's verdicts, then the actor against a
closed local port and against the stand-in OpenRouter going down and coming
back, with an injected clock (the breaker's time), and a whole run through
`bootstrap.py`. Nothing asserts a duration: the tests count connection
attempts and log lines.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pykka
import pytest

from actors._lib.backoff import Backoff
from actors._lib.secrets import Secret
from actors.ai_consultant import AIConsultantActor, ChatError, OpenRouterClient, Verdict
from actors.ai_consultant.breaker import CLOSED, HALF_OPEN, OPEN, Breaker, Recovered
from actors.ai_consultant.openrouter import classify_error
from actors.ai_consultant.prompt import build_messages
from actors.messages import Advice, AdviceSource, GetStats, Stats
from actors.settings import AISettings, Settings, SettingsError, StrategySettings, load_settings
from tests._support.fakes.openrouter import FakeOpenRouter, Reply, sample_request
from tests._support.paths import GOLDEN, ROOT
from tests._support.probes import ProbeHandle, eventually

KEY = "-".join(("sk", "or", "v1", "breakertest0123456789abcdef"))
D = Decimal
T0 = 1_700_000_000_000
TEN_MIN = 600_000  # market time between requests: past the per-failure pause (5 min at most)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ManualClock:
    """The breaker's clock, moved by the test (ms)."""

    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


# -- the breaker alone ----------------------------------------------------------------------


def breaker(failures: int = 3, cooldown_s: float = 30, cap_s: float = 120) -> Breaker:
    return Breaker(failures, Backoff(initial=cooldown_s, cap=cap_s, jitter=(1, 1)))


def test_it_opens_after_the_set_number_of_failures_in_a_row_and_holds_requests_back() -> None:
    b = breaker()
    assert [b.failed(0, "refused") for _ in range(3)] == [False, False, True]  # True once: log it once
    assert b.state == OPEN and b.trips == 1 and b.retry_at_ms == 30_000
    assert [b.allow(t) for t in (1, 10_000, 29_999)] == [False, False, False]
    assert b.answered == 3


def test_a_call_that_gets_through_resets_the_count() -> None:
    b = breaker()
    b.failed(0, "x")
    b.failed(0, "x")
    assert b.succeeded(0) is None  # it was closed: nothing to log
    assert not b.failed(0, "x") and b.state == CLOSED


def test_half_open_lets_exactly_one_call_through_and_a_failed_probe_waits_longer_up_to_the_cap() -> None:
    b = breaker(cooldown_s=30, cap_s=100)
    for _ in range(3):
        b.failed(0, "x")
    assert b.allow(30_000) and b.state == HALF_OPEN  # the probe
    assert not b.allow(30_001)  # while it flies, the others get the rule-based advice
    assert not b.failed(30_500, "x")  # still open: not a new opening
    assert b.state == OPEN and b.retry_at_ms == 30_500 + 60_000
    assert b.allow(90_500)
    b.failed(90_500, "x")
    assert b.retry_at_ms == 90_500 + 100_000  # capped
    assert b.trips == 1


def test_success_closes_it_once_with_what_it_held_back_and_the_cooldown_starts_small_again() -> None:
    b = breaker(cooldown_s=30)
    for _ in range(3):
        b.failed(1_000, "x")
    b.allow(2_000)
    b.allow(3_000)
    assert b.allow(31_000)
    b.failed(31_000, "x")  # cooldown now 60 s
    assert b.succeeded(40_000) == Recovered(open_ms=39_000, answered=2)
    assert b.state == CLOSED and b.succeeded(41_000) is None
    for _ in range(3):
        b.failed(50_000, "x")
    assert b.retry_at_ms == 50_000 + 30_000 and b.trips == 2


def test_zero_failures_turns_it_off() -> None:
    b = breaker(failures=0)
    for _ in range(10):
        assert not b.failed(0, "x")
    assert b.allow(0) and b.state == CLOSED


# -- the client's verdicts --------------------------------------------------------------------


@pytest.mark.parametrize("error,verdict", [
    (ChatError("no", status=401), Verdict.FATAL),
    (ChatError("no such model", status=400), Verdict.FATAL),
    (ChatError("refused", kind="connect"), Verdict.PAUSE),
    (ChatError("no answer in time", kind="timeout"), Verdict.PAUSE),
    (ChatError("overloaded", status=503), Verdict.RETRY),
    (ChatError("disconnected", kind="network"), Verdict.RETRY),
    (ChatError("bad json", status=200, kind="reply"), Verdict.RETRY),
])
def test_classify(error: ChatError, verdict: Verdict) -> None:
    assert classify_error(error) is verdict
    assert OpenRouterClient("http://127.0.0.1:1", Secret(KEY)).classify(error) is verdict


def complete_once(base_url: str, deadline_s: float = 5.0) -> Any:
    async def go() -> Any:
        client = OpenRouterClient(base_url, Secret(KEY))
        try:
            return await client.complete(build_messages(sample_request(), AISettings()), deadline_s)
        except ChatError as e:
            return e
        finally:
            await client.close()
    return asyncio.run(go())


def test_a_host_that_refuses_the_connection_is_not_retried_inside_the_call() -> None:
    result = complete_once(f"http://127.0.0.1:{closed_port()}/api/v1")
    assert isinstance(result, ChatError) and result.kind == "connect" and result.attempts == 1
    assert classify_error(result) is Verdict.PAUSE


def test_a_dropped_connection_is_retried_inside_the_call() -> None:
    fake = FakeOpenRouter(api_key=KEY)
    fake.start()
    try:
        fake.push(Reply.drop_connection())
        result = complete_once(fake.base_url)
        assert not isinstance(result, ChatError), result
        assert result.attempts == 2 and len(fake.chat_requests()) == 2
    finally:
        fake.stop()


# -- the actor --------------------------------------------------------------------------------


@pytest.fixture
def probe() -> ProbeHandle:
    return ProbeHandle()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def actors_stopped() -> Iterator[None]:
    yield
    pykka.ActorRegistry.stop_all()


def start(base_url: str, clock: ManualClock, **ai: Any) -> pykka.ActorRef[Any]:
    s = Settings(strategy=StrategySettings(name="trend"))  # the fallback these tests expect: the trend's buy
    values: dict[str, Any] = {"base_url": base_url, "timeout_s": D(2), "check_models_at_start": False,
                              "breaker_failures": 3, "breaker_cooldown_s": 30, "breaker_cooldown_cap_s": 120}
    values.update(ai)
    return AIConsultantActor.start(dataclasses.replace(s, ai=dataclasses.replace(s.ai, **values)), Secret(KEY), clock)


def stats(ref: pykka.ActorRef[Any]) -> dict[str, Any]:
    reply = ref.ask(GetStats(), timeout=5)
    assert isinstance(reply, Stats)
    return reply.as_dict()


def ask(ref: pykka.ActorRef[Any], probe: ProbeHandle, i: int) -> Advice:
    """One request at a time, each ten minutes of market time after the last."""
    ref.tell(sample_request(f"r{i}", ts_ms=T0 + i * TEN_MIN, reply_to=probe.ref))
    (advice,) = probe.wait_for(Advice, lambda a: a.request_id == f"r{i}", timeout=10)
    return advice


def test_a_closed_port_costs_three_connection_attempts_then_none(
    probe: ProbeHandle, clock: ManualClock, logs: Any, actors_stopped: None
) -> None:
    ref = start(f"http://127.0.0.1:{closed_port()}/api/v1", clock)
    answers = [ask(ref, probe, i) for i in range(20)]
    assert {a.source for a in answers} == {AdviceSource.FALLBACK}
    assert all(a.action.value == "buy" for a in answers)  # the rule-based advice, every time
    assert "model unreachable" in answers[-1].reasoning
    s = stats(ref)
    assert (s["http_attempts"], s["model_calls"]) == (3, 3)
    assert (s["breaker"], s["breaker_open"], s["breaker_trips"], s["breaker_answered"]) == ("open", 1, 1, 17)
    assert s["breaker_since_ms"] == clock.now and s["breaker_retry_at_ms"] == clock.now + 30_000
    assert "cannot connect" in s["breaker_reason"]
    opened = [m for m in logs.messages("WARNING") if "unreachable" in m]
    assert len(opened) == 1 and "3 failed calls in a row" in opened[0] and "30 s" in opened[0]

    clock.now += 30_000  # the cooldown is over: one probe, which fails, then twice as long
    more = [ask(ref, probe, i) for i in range(20, 30)]
    assert {a.source for a in more} == {AdviceSource.FALLBACK}
    s = stats(ref)
    assert s["http_attempts"] == 4 and s["breaker_trips"] == 1 and s["breaker_answered"] == 26
    assert s["breaker_retry_at_ms"] == clock.now + 60_000
    assert len([m for m in logs.messages("WARNING") if "unreachable" in m]) == 1  # still open: no new line


def test_a_request_that_cannot_be_sent_does_not_use_up_the_probe(
    probe: ProbeHandle, clock: ManualClock, logs: Any, actors_stopped: None
) -> None:
    ref = start(f"http://127.0.0.1:{closed_port()}/api/v1", clock)
    for i in range(4):
        ask(ref, probe, i)
    clock.now += 30_000
    bad = sample_request("bad", ts_ms=T0 + 4 * TEN_MIN, reply_to=probe.ref)
    ref.tell(dataclasses.replace(bad, entry_price="not a number"))  # type: ignore[arg-type]  # the prompt cannot hold it
    (hold,) = probe.wait_for(Advice, lambda a: a.request_id == "bad", timeout=10)
    assert hold.action.value == "hold" and len(logs.messages("ERROR")) == 1
    ask(ref, probe, 5)  # this one is the probe
    assert stats(ref)["http_attempts"] == 4


def test_the_model_coming_back_closes_it_once_with_the_count(
    probe: ProbeHandle, clock: ManualClock, logs: Any, actors_stopped: None
) -> None:
    fake = FakeOpenRouter(api_key=KEY)
    fake.start()
    port = fake.port
    ref = start(fake.base_url, clock)
    assert ask(ref, probe, 0).source is AdviceSource.MODEL
    fake.stop()  # the host goes away: its port is closed now
    for i in range(1, 9):
        assert ask(ref, probe, i).source is AdviceSource.FALLBACK
    assert stats(ref)["breaker"] == "open"
    back = FakeOpenRouter(api_key=KEY, port=port)
    back.start()
    try:
        assert ask(ref, probe, 9).source is AdviceSource.FALLBACK  # still inside the cooldown: not asked
        assert back.chat_requests() == []
        clock.now += 30_000
        assert ask(ref, probe, 10).source is AdviceSource.MODEL  # the probe gets through
        assert ask(ref, probe, 11).source in (AdviceSource.MODEL, AdviceSource.CACHE)
        s = stats(ref)
        assert (s["breaker"], s["breaker_open"], s["breaker_trips"]) == ("closed", 0, 1)
        assert s["breaker_reason"] is None
        closed = [m for m in logs.messages("INFO") if "reachable again" in m]
        assert len(closed) == 1 and "answered 6 request(s)" in closed[0]  # requests 4..9
        assert len([m for m in logs.messages("WARNING") if "unreachable" in m]) == 1
    finally:
        back.stop()


def test_answers_from_a_reachable_but_failing_model_do_not_open_it(
    probe: ProbeHandle, clock: ManualClock, actors_stopped: None
) -> None:
    fake = FakeOpenRouter(api_key=KEY)
    fake.start()
    try:
        fake.default = Reply.status_error(500, "internal")  # every attempt: reached, but no answer
        ref = start(fake.base_url, clock, timeout_s=D(5))
        for i in range(4):
            assert ask(ref, probe, i).source is AdviceSource.FALLBACK
        s = stats(ref)
        assert s["model_calls"] == 4 and s["breaker"] == "closed" and s["breaker_trips"] == 0
    finally:
        fake.stop()


def test_breaker_failures_zero_never_opens(probe: ProbeHandle, clock: ManualClock, actors_stopped: None) -> None:
    ref = start(f"http://127.0.0.1:{closed_port()}/api/v1", clock, breaker_failures=0)
    for i in range(6):
        ask(ref, probe, i)
    s = stats(ref)
    assert s["http_attempts"] == 6 and s["breaker_trips"] == 0


def test_hung_calls_count_as_unreachable(probe: ProbeHandle, clock: ManualClock, actors_stopped: None) -> None:
    fake = FakeOpenRouter(api_key=KEY)
    fake.start()
    try:
        fake.default = Reply.hang_forever()
        ref = start(fake.base_url, clock, timeout_s=D("0.2"))
        for i in range(3):
            assert ask(ref, probe, i).source is AdviceSource.FALLBACK
            eventually(lambda i=i: stats(ref)["errors"] == i + 1, timeout=10)  # type: ignore[misc]
        assert stats(ref)["breaker"] == "open"
        for i in range(3, 6):
            ask(ref, probe, i)
        assert len(fake.chat_requests()) == 3
    finally:
        fake.stop()


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text,error", [
    ("[ai]\nbreaker_failures = -1\n", "ai.breaker_failures must be >= 0"),
    ("[ai]\nbreaker_cooldown_s = 0\n", "ai.breaker_cooldown_s must be > 0"),
    ("[ai]\nbreaker_cooldown_s = 60\nbreaker_cooldown_cap_s = 30\n", "ai.breaker_cooldown_cap_s must be >= "),
])
def test_bad_breaker_settings_are_refused(tmp_path: Path, text: str, error: str) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text(text)
    with pytest.raises(SettingsError, match=error):
        load_settings(cfg)


def test_the_shipped_settings_name_the_breaker_keys() -> None:
    ai = load_settings(ROOT / "settings.toml").ai
    assert (ai.breaker_failures, ai.breaker_cooldown_s, ai.breaker_cooldown_cap_s) == (3, 30, 600)


# -- a whole run --------------------------------------------------------------------------------


def test_a_run_with_a_key_and_no_reachable_model_trades_as_without_a_key(tmp_path: Path) -> None:
    """The golden seed with OpenRouter on a closed port: the recorded trades, three failed calls, one line."""
    cfg = tmp_path / "s.toml"
    # a cooldown longer than any run, so a slow (loaded) machine never lets a fourth call out
    cfg.write_text(f'[strategy]\nname = "trend"\n[market]\nduration_s = 86400\nseed = 1\n\n[ai]\nbase_url = "http://127.0.0.1:{closed_port()}/api/v1"\n'
                   'breaker_cooldown_s = 3600\nbreaker_cooldown_cap_s = 3600\n')
    env = {k: v for k, v in os.environ.items() if k not in ("BINANCE_API_KEY", "BINANCE_API_SECRET")}
    env.update(TRADER_NO_DOTENV="1", OPENROUTER_API_KEY=KEY)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bootstrap.py"), "--status-port", "0", "--config", str(cfg), "--report-dir", "out"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "AI: OpenRouter" in proc.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    got = [[t["entry_price"], t["exit_price"], t["quantity"], t["fees"], t["pnl"], t["status"], t["opened_at_ms"],
            t["closed_at_ms"]] for t in summary["trades"]]
    assert got == json.loads((GOLDEN / "synthetic_seed1_1d.json").read_text())["trades"]
    ai = summary["ai"]
    assert (ai["http_attempts"], ai["model_calls"], ai["breaker_trips"], ai["breaker"]) == (3, 3, 1, "open")
    assert ai["fallbacks"] == ai["calls"] > 3
    failed = [line for line in proc.stderr.splitlines() if "AI call failed" in line]
    opened = [line for line in proc.stderr.splitlines() if "unreachable after" in line]
    assert len(failed) == 2 and len(opened) == 1 and "3 failed calls in a row" in opened[0]
    assert KEY not in proc.stderr and KEY not in proc.stdout
