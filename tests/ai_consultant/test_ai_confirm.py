"""`[ai] role = "confirm"`: the strategy decides, the model is asked only about its proposals, and may
confirm, adjust or veto them; no usable answer in time is what `confirm_default` says. Also role "off"."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pykka
import pytest

from actors._lib.secrets import Secret
from actors.ai_consultant.actor import AIConsultantActor
from actors.messages import Advice, AdviceAction, AdviceSource, GetStats, Stats, TradingState
from actors.settings import Settings, StrategySettings
from tests._support.fakes.openrouter import FakeOpenRouter, Reply, sample_request
from tests._support.probes import ProbeHandle

KEY = "sk-or-v1-confirmtest0123456789abcdef"


@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    server = FakeOpenRouter(api_key=KEY)
    server.start()
    yield server
    server.stop()


def start(fake: FakeOpenRouter, strategy: str = "maker", **ai: Any) -> pykka.ActorRef[Any]:
    s = Settings(strategy=StrategySettings(name=strategy))
    values: dict[str, Any] = {"timeout_s": D("0.5"), "check_models_at_start": False, "base_url": fake.base_url,
                              "role": "confirm", **ai}
    return AIConsultantActor.start(dataclasses.replace(s, ai=dataclasses.replace(s.ai, **values)), Secret(KEY))


def answer(ref: pykka.ActorRef[Any], request_id: str = "r1", **kw: Any) -> Advice:
    probe = ProbeHandle()
    ref.tell(sample_request(request_id, reply_to=probe.ref, **kw))
    (advice,) = probe.wait_for(Advice, count=1, timeout=5)
    return advice


def stats(ref: pykka.ActorRef[Any]) -> dict[str, Any]:
    reply = ref.ask(GetStats(), timeout=2)
    assert isinstance(reply, Stats)
    return reply.as_dict()


def test_a_hold_costs_no_model_call(fake: FakeOpenRouter) -> None:
    ref = start(fake, strategy="trend")
    try:
        a = answer(ref, regime="down")  # trend never buys into a falling market
        assert a.action is AdviceAction.HOLD and a.source is AdviceSource.STRATEGY and a.strategy == "trend"
        assert fake.chat_requests() == [] and stats(ref)["model_calls"] == 0
    finally:
        ref.stop()


def test_a_proposal_asks_the_model_once_with_the_proposal_and_a_confirmation_keeps_it(fake: FakeOpenRouter) -> None:
    ref = start(fake)
    try:
        a = answer(ref)
        assert a.action is AdviceAction.BUY and a.source is AdviceSource.MODEL and a.strategy == "maker"
        assert a.base_price == D("10.00") and a.reasoning.startswith("confirmed by the model (fake model: agreed)")
        (req,) = fake.chat_requests()
        user = req.json["messages"][-1]["content"]
        proposal = json.loads(user[user.index("{"):])["proposal"]
        assert proposal["action"] == "buy" and proposal["strategy"] == "maker" and proposal["price"] == 10.0
        st = stats(ref)
        assert (st["proposals"], st["confirmed"], st["model_calls"]) == (1, 1, 1)
    finally:
        ref.stop()


def test_a_veto_drops_the_proposal(fake: FakeOpenRouter) -> None:
    fake.push(Reply.content('{"action": "hold", "confidence": 0.9, "reasoning": "falling knife"}'))
    ref = start(fake)
    try:
        a = answer(ref)
        assert a.action is AdviceAction.HOLD and a.base_price is None and a.source is AdviceSource.MODEL
        assert "vetoed by the model: falling knife" in a.reasoning and stats(ref)["vetoed"] == 1
    finally:
        ref.stop()


def test_an_adjustment_inside_the_band_is_taken_one_outside_is_not(fake: FakeOpenRouter) -> None:
    fake.push(Reply.content('{"action": "buy", "base_price": 9.98, "confidence": 0.9, "reasoning": "a tick lower"}'),
              Reply.content('{"action": "buy", "base_price": 9.0, "confidence": 0.9, "reasoning": "much lower"}'))
    ref = start(fake)
    try:
        a = answer(ref, "a")
        assert a.action is AdviceAction.BUY and a.base_price == D("9.98") and "adjusted by the model" in a.reasoning
        b = answer(ref, "b")
        assert b.action is AdviceAction.HOLD and b.source is AdviceSource.FALLBACK  # confirm_default = reject
        assert "more than 2% of mid" in (b.rejected_reason or "")
        st = stats(ref)
        assert st["adjusted"] == 1 and st["confirm_defaults"] == 1
    finally:
        ref.stop()


@pytest.mark.parametrize(("default", "action"), [("reject", AdviceAction.HOLD), ("accept", AdviceAction.BUY)])
def test_no_answer_in_time_is_what_confirm_default_says(fake: FakeOpenRouter, default: str,
                                                        action: AdviceAction) -> None:
    fake.push(Reply.hang_forever())
    ref = start(fake, confirm_default=default)
    try:
        a = answer(ref)
        assert a.action is action and a.source is AdviceSource.FALLBACK and f"confirm_default = {default}" in a.reasoning
    finally:
        ref.stop()


def test_a_sell_proposal_is_confirmed_too(fake: FakeOpenRouter) -> None:
    ref = start(fake)
    try:
        a = answer(ref, state=TradingState.READY_TO_SELL)
        assert a.action is AdviceAction.SELL and a.source is AdviceSource.MODEL
    finally:
        ref.stop()


def test_role_off_never_calls_the_model_even_with_a_key(fake: FakeOpenRouter) -> None:
    ref = start(fake, role="off")
    try:
        a = answer(ref)
        assert a.action is AdviceAction.BUY and a.source is AdviceSource.STRATEGY
        assert fake.requests() == [] and stats(ref)["role"] == "off"
    finally:
        ref.stop()


FEATURED = '''
from actors.strategy import Strategy, buy


class Featured(Strategy):
    def features(self):
        return {"rsi": 27.5, "ema": None}

    def decide(self, ctx):
        return buy(ctx.buy_price(ctx.bid), "featured")
'''


def test_the_prompt_carries_the_strategys_features_and_none_for_the_builtins(fake: FakeOpenRouter, tmp_path) -> None:
    (tmp_path / "featured.py").write_text(FEATURED)
    ref = start(fake, strategy=f"{tmp_path / 'featured.py'}:Featured", role="advisor")
    try:
        answer(ref)
        user = fake.chat_requests()[0].json["messages"][-1]["content"]
        facts = json.loads(user[user.index("{"):])
        assert facts["strategy"] == {"name": "featured.py:Featured", "timeframe": None,
                                     "features": {"rsi": 27.5, "ema": None}}
    finally:
        ref.stop()
    fake.clear()
    ref = start(fake, strategy="trend", role="advisor")
    try:
        answer(ref)
        user = fake.chat_requests()[0].json["messages"][-1]["content"]
        assert '"strategy"' not in user  # the built-in publishes none: its prompts are as they were
    finally:
        ref.stop()
