"""The default strategy (issue 15): trend features, the rule-based advisor's rules, advised exit plans.

Pure tests, no threads: the features are fed prices, the advisor is given
requests, the keeper core is driven with snapshots, advice and fills.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal as D
from typing import Any

from actors.ai_consultant.prompt import market_facts
from actors.ai_consultant.rules import advice_from_content
from actors.market_data.features import Trend, regime_of
from actors.messages import (
    AdviceAction,
    AdviceRequest,
    AdvisedExits,
    PlaceOrder,
    Side,
    TradingState,
)
from actors.settings import AISettings, RiskSettings
from actors.state_keeper import exits
from actors.state_keeper.core import CONSULTANT, EXECUTOR, KeeperCore
from tests._support.fakes.openrouter import advice_text, sample_request
from tests._support.helpers import FILTERS, advice, settings, snap, update
from tests._support.strategy import strategy_advice

AI = AISettings()
HOUR_MS = 3_600_000


def trend_after(prices: list[float], step_ms: int = 300_000) -> Trend:
    t = Trend(3600, 14400, D("0.5"))
    for i, p in enumerate(prices):
        t.fold(i * step_ms, D(str(p)))
    return t


# -- features --------------------------------------------------------------------------


def test_the_trend_says_nothing_until_the_slow_window_has_passed() -> None:
    t = trend_after([10.0] * 40)  # 40 bars of 5 minutes: 3 h 15 min < 4 h
    assert t.read() == (None, None, None, "")
    t = trend_after([10.0] * 60)
    fast, slow, vol, regime = t.read()
    assert fast == slow == D(10) and vol == 0 and regime == "range"


def test_a_rising_market_is_up_a_falling_one_down() -> None:
    up = [10.0 * 1.002**i for i in range(100)]
    assert trend_after(up).read()[3] == "up"
    assert trend_after([10.0 * 0.998**i for i in range(100)]).read()[3] == "down"
    wiggle = [10.0 * (1.01 if i % 2 else 0.99) for i in range(100)]  # big swings, no direction
    assert trend_after(wiggle).read()[3] == "range"


def test_hourly_volatility_does_not_depend_on_the_sampling_interval() -> None:
    def vol(step_s: int) -> float:
        n = 3600 * 8 // step_s
        r = 0.01 * (step_s / 3600) ** 0.5  # 1 % per square root of an hour
        prices = [10.0 * (1 + r) ** (1 if i % 2 else 0) for i in range(n)]
        v = trend_after(prices, step_s * 1000).read()[2]
        assert v is not None
        return float(v)

    assert abs(vol(60) - 0.01) < 0.001 and abs(vol(300) - 0.01) < 0.001


def test_regime_needs_the_gap_and_the_price_on_the_right_side() -> None:
    assert regime_of(10.2, 10.0, 10.3, 0.01, 0.5) == "up"
    assert regime_of(10.2, 10.0, 10.1, 0.01, 0.5) == "range"  # the price fell back under the fast EMA
    assert regime_of(10.02, 10.0, 10.3, 0.01, 0.5) == "range"  # a gap inside half a volatility
    assert regime_of(9.8, 10.0, 9.7, 0.01, 0.5) == "down"


# -- the rule-based advisor ------------------------------------------------------------


def trending(req: AdviceRequest, fast: str, slow: str, vol: str, regime: str) -> AdviceRequest:
    s = dataclasses.replace(req.snapshot, trend_fast=D(fast), trend_slow=D(slow), vol_hourly=D(vol), regime=regime)
    return dataclasses.replace(req, snapshot=s)


def buy_request(regime: str = "up", vol: str = "0.02") -> AdviceRequest:
    return trending(sample_request(), "10.20", "10.00", vol, regime)


def test_no_buy_while_warming_up_or_outside_an_up_trend() -> None:
    a = strategy_advice(sample_request(regime=""), AI, "no key")
    assert a.action is AdviceAction.HOLD and "no trend yet" in a.reasoning
    for regime in ("down", "range"):
        a = strategy_advice(buy_request(regime), AI, "no key")
        assert a.action is AdviceAction.HOLD and f"regime {regime}" in a.reasoning and "10.2" in a.reasoning


def test_no_buy_when_the_expected_move_does_not_clear_fees_and_min_profit() -> None:
    # 0.05 %/√h × √4 h × 1.5 = 0.15 %, under (2 × 0.1 % + 0.2 %) × 2 = 0.8 %
    a = strategy_advice(buy_request(vol="0.0005"), AI, "no key")
    assert a.action is AdviceAction.HOLD and "does not clear" in a.reasoning and "0.80%" in a.reasoning


def test_an_up_trend_buys_at_the_bid_with_a_volatility_scaled_plan() -> None:
    req = buy_request(vol="0.02")  # sigma over 4 h = 4 %
    a = strategy_advice(req, AI, "no key")
    assert a.action is AdviceAction.BUY and a.base_price == req.snapshot.bid
    p = a.exit_plan
    assert p is not None and p.time_limit_s == AI.rule_horizon_s
    assert p.target_price is not None and p.stop_price is not None
    bid = req.snapshot.bid
    assert abs(p.target_price / bid - (1 + AI.rule_target_vol * D("0.04"))) < D("0.001")
    assert abs(p.stop_price / bid - (1 - AI.rule_stop_vol * D("0.04"))) < D("0.001")
    assert "trend entry" in a.reasoning and "target" in a.reasoning and "stop" in a.reasoning


def test_holding_offers_at_the_plan_target_and_leaves_on_a_down_trend_above_the_floor() -> None:
    req = dataclasses.replace(sample_request(state=TradingState.READY_TO_SELL, entry_price="9.80"),
                              exit_target=D("10.50"))
    a = strategy_advice(req, AI, "no key")
    assert a.action is AdviceAction.SELL and a.base_price == D("10.50") and "target exit" in a.reasoning
    down = trending(sample_request(state=TradingState.READY_TO_SELL, entry_price="9.80"), "9.9", "10.1", "0.01", "down")
    a = strategy_advice(down, AI, "no key")
    assert a.action is AdviceAction.SELL and a.base_price == down.snapshot.bid and "trend exit" in a.reasoning
    losing = trending(sample_request(state=TradingState.READY_TO_SELL, entry_price="10.40"), "9.9", "10.1", "0.01",
                      "down")
    a = strategy_advice(losing, AI, "no key")
    assert losing.min_sell_price is not None and losing.min_sell_price > losing.snapshot.bid
    assert a.action is AdviceAction.SELL and a.base_price is not None and a.base_price >= losing.min_sell_price


# -- the model's exit plan ---------------------------------------------------------------


def with_plan(plan: Any) -> str:
    obj = json.loads(advice_text(base_price="9.99", price_range=("9.98", "10.00")))
    obj["exit_plan"] = plan
    return json.dumps(obj)


def test_a_model_answer_without_an_exit_plan_still_works() -> None:
    a = advice_from_content(advice_text(base_price="9.99", price_range=("9.98", "10.00")), sample_request(), AI)
    assert a.action is AdviceAction.BUY and a.exit_plan is None


def test_a_model_exit_plan_is_parsed_and_put_on_the_grid() -> None:
    content = with_plan({"target_price": 10.3012, "stop_price": "9.7088", "time_limit_s": 7200,
                         "invalidation": "a close under 9.70"})
    a = advice_from_content(content, sample_request(), AI)
    assert a.action is AdviceAction.BUY
    assert a.exit_plan == AdvisedExits(target_price=D("10.31"), stop_price=D("9.70"), time_limit_s=7200,
                                       invalidation="a close under 9.70")


def test_a_bad_exit_plan_rejects_the_advice_with_a_reason() -> None:
    for plan, why in [({"stop_price": "10.50"}, "stop_price"), ({"target_price": "9.00"}, "target_price"),
                      ({"time_limit_s": -5}, "time_limit_s"), ({"time_limit_s": 1.5}, "time_limit_s"),
                      ("soon", "exit_plan"), ({"stop_price": "abc"}, "stop_price"), ({"target_price": 99}, "target")]:
        a = advice_from_content(with_plan(plan), sample_request(), AI)
        assert a.action is AdviceAction.HOLD and a.rejected_reason and why in a.rejected_reason, (plan, a)


def test_the_prompt_carries_the_trend_and_volatility() -> None:
    facts = market_facts(buy_request(), AI)
    assert facts["regime"] == "up" and facts["trend_slow_ema"] == "10" and facts["volatility_hourly"] == "0.02"


# -- the keeper bounds an advised plan by [risk] -----------------------------------------


def test_the_tighter_of_the_advice_and_the_risk_limits_wins() -> None:
    limits = RiskSettings(take_profit=D("0.10"), max_holding_s=3600)
    loose = AdvisedExits(target_price=D("12"), stop_price=D("5"), time_limit_s=86400)
    p = exits.plan(D(10), None, 0, D("0.05"), limits, loose)
    assert p is not None and p.stop_price == D("9.5") and p.take_profit_price == D("11") and p.deadline_ms == HOUR_MS
    tight = AdvisedExits(target_price=D("10.5"), stop_price=D("9.8"), time_limit_s=600)
    p = exits.plan(D(10), None, 0, D("0.05"), limits, tight)
    assert p is not None and (p.stop_price, p.take_profit_price, p.deadline_ms) == (D("9.8"), D("10.5"), 600_000)
    silly = AdvisedExits(target_price=D("9"), stop_price=D("10.2"))  # a stop over the cost would fire at once
    p = exits.plan(D(10), None, 0, D(0), RiskSettings(max_holding_s=0), silly)
    assert p is None


def test_the_keeper_takes_the_buy_advice_plan_when_the_position_opens() -> None:
    core = KeeperCore(settings(stop_loss=D("0.05")), FILTERS, "t")
    req, = [m for t, m in core.on_snapshot(snap(1)) if t == CONSULTANT]
    a = dataclasses.replace(advice(req.request_id, "buy", "40.00"),
                            exit_plan=AdvisedExits(target_price=D("41.00"), stop_price=D("39.00"), time_limit_s=600))
    cmd, = [m for t, m in core.on_advice(a) if t == EXECUTOR and isinstance(m, PlaceOrder)]
    core.on_order_update(update(cmd.client_order_id, "FILLED", "0.25", "10", side=Side.BUY, commission="0",
                                asset="USDC", trade_id=1, last="0.25", ts_ms=1000))
    plan = core.exit_plan
    assert plan is not None and plan.stop_price == D("39.00") and plan.take_profit_price == D("41.00")
    assert plan.deadline_ms == 1000 + 600_000
    out = core.on_snapshot(snap(2, bid="38.98", ask="39.00", ts_ms=2000))  # under the advised stop
    sell, = [m for t, m in out if t == EXECUTOR and isinstance(m, PlaceOrder)]
    assert sell.reason == "stop_loss"


def test_the_old_market_maker_stays_available_as_a_setting() -> None:
    maker = dataclasses.replace(AI, rule_strategy="maker")
    a = strategy_advice(sample_request(regime="down"), maker, "no key")  # it bids whatever the trend
    assert a.action is AdviceAction.BUY and a.exit_plan is None and "maker bid" in a.reasoning
