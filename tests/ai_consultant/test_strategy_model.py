"""The model's exit plan through the consultant actor and the OpenRouter stand-in (tests/fakes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal as D

import pytest

from actors.messages import Advice, AdviceAction, AdvisedExits
from tests._support.fakes.openrouter import FakeOpenRouter, Reply, advice_text, sample_request
from tests._support.probes import ProbeHandle
from tests.ai_consultant.test_ai_consultant_actor import KEY, advice_for, start


@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    server = FakeOpenRouter(api_key=KEY)
    server.start()
    yield server
    server.stop()


def test_a_model_exit_plan_reaches_the_advice_and_the_prompt_carries_the_trend(fake: FakeOpenRouter) -> None:
    obj = json.loads(advice_text(base_price="9.99", price_range=("9.98", "10.00")))
    obj["exit_plan"] = {"target_price": "10.25", "stop_price": "9.80", "time_limit_s": 3600, "invalidation": "x"}
    fake.push(Reply.content(json.dumps(obj)))
    probe = ProbeHandle()
    ref = start(fake)
    try:
        ref.tell(sample_request("plan", reply_to=probe.ref))
        a = advice_for(probe, "plan")
        assert a.action is AdviceAction.BUY
        assert a.exit_plan == AdvisedExits(target_price=D("10.25"), stop_price=D("9.80"), time_limit_s=3600,
                                           invalidation="x")
        user = fake.chat_requests()[0].json["messages"][1]["content"]
        assert '"regime":"up"' in user and '"volatility_hourly":0.01' in user
    finally:
        ref.stop()


def test_the_stand_ins_answer_without_a_plan_still_buys(fake: FakeOpenRouter) -> None:
    probe = ProbeHandle()
    ref = start(fake)
    try:
        ref.tell(sample_request("smart", reply_to=probe.ref))
        a: Advice = advice_for(probe, "smart")
        assert a.action is AdviceAction.BUY and a.exit_plan is None
    finally:
        ref.stop()
