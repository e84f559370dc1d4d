"""A second AI provider needs no change in the actor: only the `ChatClient` protocol connects them.

The provider here is a few lines with no HTTP at all, handed to the actor as
`client_factory`; its own `classify` decides what a failure means.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pykka
import pytest

from actors._lib.secrets import Secret
from actors.ai_consultant import AIConsultantActor, ChatClient, ChatError, Completion, Usage, Verdict
from actors.ai_consultant.client import Messages
from actors.messages import Advice, AdviceAction, AdviceSource, GetStats, Stats
from actors.settings import AISettings, Settings
from tests._support.fakes.openrouter import advice_text, sample_request
from tests._support.probes import ProbeHandle

D = Decimal
TEAPOT = 418  # this provider's "your configuration is wrong"


class ScriptedClient:
    """Answers from a list: text becomes a Completion, a ChatError is raised."""

    name = "Scripted"

    def __init__(self, *answers: str | ChatError) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[Messages, tuple[str, ...]]] = []
        self.closed = False

    async def complete(self, messages: Messages, deadline_s: float, models: Sequence[str] | None = None) -> Completion:
        self.calls.append((messages, tuple(models or ())))
        item = self.answers.pop(0)
        if isinstance(item, ChatError):
            raise item
        return Completion(item, "scripted/model-1", Usage(10, 5, D("0.001")), 7, 1)

    async def list_models(self, deadline_s: float) -> frozenset[str]:
        return frozenset()

    def classify(self, error: ChatError) -> Verdict:
        return Verdict.FATAL if error.status == TEAPOT else Verdict.PAUSE

    def model_hint(self, ids: Sequence[str]) -> str:
        return f"Scripted serves no {', '.join(ids)}"

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def probe() -> Iterator[ProbeHandle]:
    yield ProbeHandle()
    pykka.ActorRegistry.stop_all()


def start(client: ScriptedClient) -> pykka.ActorRef[Any]:
    def factory(ai: AISettings, key: Secret) -> ChatClient:
        assert key.reveal() == "provider-key-0123456789"
        return client
    s = Settings()
    settings = dataclasses.replace(s, ai=dataclasses.replace(s.ai, check_models_at_start=False, timeout_s=D(5)))
    return AIConsultantActor.start(settings, Secret("provider-key-0123456789"), client_factory=factory)


def ask(ref: pykka.ActorRef[Any], probe: ProbeHandle, i: int) -> Advice:
    ref.tell(sample_request(f"r{i}", ts_ms=1_700_000_000_000 + i * 600_000, reply_to=probe.ref))
    (advice,) = probe.wait_for(Advice, lambda a: a.request_id == f"r{i}", timeout=10)
    return advice


def stats(ref: pykka.ActorRef[Any]) -> dict[str, Any]:
    reply = ref.ask(GetStats(), timeout=5)
    assert isinstance(reply, Stats)
    return reply.as_dict()


def test_the_actor_uses_whatever_client_the_factory_builds(probe: ProbeHandle) -> None:
    client = ScriptedClient(advice_text("buy", "9.99", ("9.98", "10.00")))
    ref = start(client)
    a = ask(ref, probe, 0)
    assert a.source is AdviceSource.MODEL and a.action is AdviceAction.BUY and a.base_price == D("9.99")
    assert a.model == "scripted/model-1" and a.cost == D("0.001")
    (messages, models), = client.calls
    assert messages[0]["role"] == "system" and models == (AISettings().model, *AISettings().fallback_models)
    s = stats(ref)
    assert s["cost"] == D("0.001") and s["prompt_tokens"] == 10 and s["http_attempts"] == 1
    ref.stop(timeout=10)
    assert client.closed


def test_the_clients_own_classify_decides_a_fatal_error(probe: ProbeHandle, logs: Any) -> None:
    client = ScriptedClient(ChatError("I'm a teapot", status=TEAPOT, hint="set [ai] model to a teapot id"))
    ref = start(client)
    assert ask(ref, probe, 0).source is AdviceSource.FALLBACK
    assert ask(ref, probe, 1).source is AdviceSource.FALLBACK
    assert len(client.calls) == 1 and stats(ref)["model_off"] == "set [ai] model to a teapot id"
    (error,) = logs.messages("ERROR")
    assert "teapot id" in error


def test_the_clients_pause_verdict_feeds_the_breaker(probe: ProbeHandle, logs: Any) -> None:
    client = ScriptedClient(*(ChatError("down", kind="network") for _ in range(3)))
    ref = start(client)
    for i in range(6):
        assert ask(ref, probe, i).source is AdviceSource.FALLBACK
    assert len(client.calls) == 3 and stats(ref)["breaker"] == "open"
    (opened,) = [m for m in logs.messages("WARNING") if "unreachable" in m]
    assert opened.startswith("AI consultant: Scripted unreachable")
