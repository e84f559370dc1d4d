"""The gate before every model call, alone: no actor, no thread, an injected clock.

What the actor tests see through requests and stats, checked at the source:
which reason wins, how the pause grows on market time, when the breaker holds,
and that each transition is logged once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from actors.ai_consultant.client import ChatClient, ChatError, Usage, Verdict
from actors.ai_consultant.gate import COOLDOWN_CAP_MS, MAX_IN_FLIGHT, Gate
from actors.ai_consultant.tally import Tally
from actors.settings import AISettings

AI = AISettings()
T0 = 1_700_000_000_000  # market time


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


class StubClient:
    """Only what the gate asks of a provider: its name and its hint for unknown ids."""

    name = "Stub"

    def model_hint(self, ids: Sequence[str]) -> str:
        return f"unknown {', '.join(ids)}"


def gate(ai: AISettings = AI, off: str | None = None) -> tuple[Gate, Clock, Tally]:
    clock, tally = Clock(), Tally()
    return Gate(ai, clock, tally, off), clock, tally


def test_the_first_reason_wins_and_none_means_a_call_may_go_out() -> None:
    g, clock, tally = gate()
    assert g.why_not(T0, 0) is None
    assert g.why_not(T0, MAX_IN_FLIGHT) == f"model busy ({MAX_IN_FLIGHT} calls in flight)"
    tally.account(Usage(cost=Decimal("1.5")), 1, None, clock.now)
    assert g.why_not(T0, 0) == "spend cap: 1.5 of 1.00 USD spent in the last hour"
    clock.now += 3_600_000  # the spend leaves the hour
    assert g.why_not(T0, 0) is None
    assert gate(dataclasses.replace(AI, spend_cap_per_hour=Decimal(0)))[0].why_not(T0, 0) == (
        "model calls are off (ai.spend_cap_per_hour = 0)")
    assert gate(off="ai.role = off")[0].why_not(T0, MAX_IN_FLIGHT) == "ai.role = off"


def test_the_pause_doubles_on_market_time_up_to_its_cap_and_an_answer_ends_it(logs: Any) -> None:
    g, _, _ = gate()
    g.pause(T0, "bad json")
    assert g.why_not(T0 + 4_999, 0) == "model paused after 1 failed call(s)"
    assert g.why_not(T0 + 5_000, 0) is None
    g.pause(T0, "bad json")
    assert g.paused_until_ms == T0 + 10_000
    for _ in range(20):
        g.pause(T0, "bad json", quiet=True)
    assert g.paused_until_ms == T0 + COOLDOWN_CAP_MS
    assert logs.messages("WARNING") == [
        "AI call failed (bad json); fallback advice for the next 5 s of market time",
        "AI call failed (bad json); fallback advice for the next 10 s of market time",
    ]
    g.answered()
    assert g.failures_in_row == 0 and g.why_not(T0, 0) is None


def test_unreachable_calls_open_the_breaker_once_and_a_reached_call_closes_it(logs: Any) -> None:
    g, clock, _ = gate(dataclasses.replace(AI, breaker_failures=2))
    down = ChatError("cannot connect", kind="connect")
    g.failed(Verdict.PAUSE, down, T0, "Stub")
    assert g.breaker_holds() is None and g.breaker.state == "closed"
    g.failed(Verdict.PAUSE, down, T0, "Stub")
    assert g.breaker_holds() == "model unreachable (2 failed calls in a row), next try in 30 s"
    assert g.breaker_holds() is not None and dict(g.values())["breaker_answered"] == 2
    clock.now += 30_000
    assert g.breaker_holds() is None and g.breaker.state == "half-open"  # the probe goes out
    g.reached("Stub")
    g.reached("Stub")
    assert g.breaker.state == "closed" and dict(g.values())["model_off"] is None
    opened = [m for m in logs.messages("WARNING") if "unreachable" in m]
    closed = [m for m in logs.messages("INFO") if "reachable again" in m]
    assert len(opened) == 1 and opened[0].startswith("AI consultant: Stub unreachable after 2 failed calls")
    assert closed == [("AI consultant: Stub reachable again after 30 s; the rule-based advisor answered 2 "
                       "request(s) meanwhile")]


def test_a_fatal_refusal_turns_calls_off_once_and_a_retry_verdict_only_pauses(logs: Any) -> None:
    g, _, _ = gate()
    g.failed(Verdict.RETRY, ChatError("HTTP 500"), T0, "Stub")
    assert g.off is None and g.failures_in_row == 1 and g.breaker.in_row == 0
    g.failed(Verdict.FATAL, ChatError("HTTP 401"), T0, "Stub")
    g.failed(Verdict.FATAL, ChatError("HTTP 403", hint="check the key"), T0, "Stub")
    assert g.why_not(T0 + COOLDOWN_CAP_MS, 0) == "Stub refused the call: HTTP 401"
    assert logs.messages("ERROR") == ["AI model calls are off for this run: Stub refused the call: HTTP 401"]


def test_the_model_check_drops_unknown_fallbacks_and_an_unknown_model_turns_calls_off(logs: Any) -> None:
    ai = dataclasses.replace(AI, model="m", fallback_models=("f1", "f2"))
    g, _, _ = gate(ai)
    client = cast(ChatClient, StubClient())
    g.models_checked(None, "timeout", None)
    g.models_checked(frozenset({"m", "f2"}), None, client)
    assert g.models == ("m", "f2") and g.off is None
    g.models_checked(frozenset({"f2"}), None, client)
    assert g.off == "unknown m" and g.why_not(T0, 0) == "unknown m"
    assert logs.messages("WARNING") == ["AI consultant: could not check the model ids at start: timeout"]
    assert logs.messages("ERROR") == ["unknown f1. Those fallback ids are left out of the requests.",
                                      "unknown m, f1. Model calls are off; the rule-based fallback advises."]
