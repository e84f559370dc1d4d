"""The one gate and the protections, as pure tables: no threads, no actors."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from actors.messages import OrderReason, RiskState, Side
from actors.settings import RiskSettings
from actors.state_keeper import exits, risk
from actors.state_keeper.facts import RiskStateSet
from actors.state_keeper.protections import DAY_MS, RiskBook, losing_streak
from tests._support.helpers import FILTERS


def acct(**kw: object) -> risk.Account:
    base = {"state": RiskState.ACTIVE, "state_reason": "", "equity": D(100), "exposure": D(0), "free_quote": None,
            "filters": FILTERS, "min_sell_price": D("40.10")}
    return risk.Account(**{**base, **kw})  # type: ignore[arg-type]


def buy(price: str = "40", by: str = "model", confidence: str = "1") -> risk.Proposal:
    return risk.Proposal(Side.BUY, D(price), OrderReason.ADVICE, by, None, D(confidence))


def sell(price: str, reason: OrderReason = OrderReason.ADVICE, qty: str = "0.25") -> risk.Proposal:
    return risk.Proposal(Side.SELL, D(price), reason, "risk", D(qty))


LIMITS = RiskSettings(capital=D(100))


@pytest.mark.parametrize(("proposal", "account", "limits", "qpt", "expect"), [
    # buys are sized by the gate: fixed quote_per_trade...
    (buy(), acct(), LIMITS, D(10), D("0.25")),
    # ...never beyond equity, the free balance, or the exposure cap
    (buy(), acct(equity=D(8)), LIMITS, D(10), D("0.2")),
    (buy(), acct(free_quote=D(4)), LIMITS, D(10), D("0.1")),
    (buy(), acct(), dataclasses.replace(LIMITS, max_exposure=D(6)), D(10), D("0.15")),
    # a fraction of equity, optionally scaled by confidence between a minimum and a maximum
    (buy(), acct(), dataclasses.replace(LIMITS, sizing="equity", equity_fraction=D("0.5")), D(10), D("1.25")),
    (buy(confidence="0"), acct(), dataclasses.replace(LIMITS, confidence_sizing=True), D(10), D("0.125")),
    (buy(confidence="1"), acct(), dataclasses.replace(LIMITS, confidence_sizing=True), D(10), D("0.25")),
    # the model cannot ask for more: a hostile confidence above 1 is clamped
    (buy(confidence="50"), acct(), dataclasses.replace(LIMITS, confidence_sizing=True), D(10), D("0.25")),
    # denials, each with its reason
    (buy(), acct(state=RiskState.HALTED, state_reason="drawdown"), LIMITS, D(10), "halted"),
    (buy(), acct(state=RiskState.REDUCING, state_reason="cooldown"), LIMITS, D(10), "reducing"),
    (buy(), acct(equity=D(0)), LIMITS, D(10), "no_equity"),
    (buy(), acct(), LIMITS, D("0.5"), "below_min_notional"),
    (buy(), acct(free_quote=D("0.5")), LIMITS, D(10), "below_min_notional"),
    (buy(price="0"), acct(), LIMITS, D(10), "bad_price"),
    (buy(price="-1"), acct(), LIMITS, D(10), "bad_price"),
    # sells: what is held, never below break-even unless an exit says so
    (sell("40.20"), acct(), LIMITS, D(10), D("0.25")),
    (sell("40.00"), acct(), LIMITS, D(10), "below_break_even"),
    (sell("39.00", OrderReason.STOP_LOSS), acct(), LIMITS, D(10), D("0.25")),
    (sell("39.00", OrderReason.TIME_EXIT), acct(), LIMITS, D(10), D("0.25")),
    (sell("39.00", OrderReason.TAKE_PROFIT), acct(), LIMITS, D(10), "below_break_even"),
    (sell("40.20", qty="0"), acct(), LIMITS, D(10), "nothing_to_sell"),
    # a price collar: a limit far through the touch is a fat finger or a stale answer
    (buy("40.80"), acct(ask=D("40.01"), bid=D("39.99"), price_band=D("0.02")), LIMITS, D(10), D("0.245")),
    (buy("40.90"), acct(ask=D("40.00"), bid=D("39.98"), price_band=D("0.02")), LIMITS, D(10), "price_collar"),
    (sell("39.50", OrderReason.STOP_LOSS), acct(bid=D("39.99"), ask=D("40.01"), price_band=D("0.02")), LIMITS, D(10),
     D("0.25")),
    (sell("39.00", OrderReason.STOP_LOSS), acct(bid=D("40.00"), ask=D("40.02"), price_band=D("0.02")), LIMITS, D(10),
     "price_collar"),
    # a sell reduces risk: allowed while halted or reducing
    (sell("40.20"), acct(state=RiskState.HALTED), LIMITS, D(10), D("0.25")),
    (sell("39.00", OrderReason.FLATTEN), acct(state=RiskState.HALTED), LIMITS, D(10), D("0.25")),
])
def test_gate(proposal: risk.Proposal, account: risk.Account, limits: RiskSettings, qpt: D, expect: object) -> None:
    verdict = risk.check(proposal, account, limits, qpt)
    if isinstance(expect, D):
        assert verdict == risk.Approved(expect)
    else:
        assert isinstance(verdict, risk.Denial) and verdict.code == expect, verdict
        assert verdict.detail


def test_a_denial_names_what_to_change() -> None:
    verdict = risk.check(buy(), acct(), LIMITS, D("0.5"))
    assert isinstance(verdict, risk.Denial) and "trading.quote_per_trade = 0.5" in verdict.detail


# the protections the defaults turn on, off
RISK_OFF = {"max_drawdown": D(0), "flatten_on_halt": False, "daily_loss_limit": D(0), "cooldown_after_stop_s": 0,
            "max_consecutive_losses": 0, "loss_pause_s": 0, "max_holding_s": 0}


def limits(**kw: object) -> RiskSettings:
    return dataclasses.replace(RiskSettings(capital=D(100)), **{**RISK_OFF, **kw})  # type: ignore[arg-type]


def test_max_drawdown_halts_and_stays_halted() -> None:
    book = RiskBook(limits(max_drawdown=D("0.1")))
    assert book.on_equity(D(120), 0) is None  # a new peak
    assert book.on_equity(D("110.01"), 1) is None  # 9.99 % of capital below the peak
    f = book.on_equity(D(110), 2)
    assert f is not None and f.state is RiskState.HALTED and "max_drawdown" in f.reason
    book.apply(f)
    assert book.on_equity(D(50), 3) is None  # already halted: nothing new
    assert book.lapse(10**15) is None  # a halt does not lapse: the operator resumes it


def test_daily_loss_pauses_until_the_next_utc_day() -> None:
    book = RiskBook(limits(daily_loss_limit=D("0.05")))
    day2 = 2 * DAY_MS
    assert book.on_equity(D(100), day2 + 1) is None
    f = book.on_equity(D(95), day2 + 5)
    assert f is not None and f.state is RiskState.REDUCING and f.until_ms == 3 * DAY_MS
    book.apply(f)
    assert book.lapse(3 * DAY_MS - 1) is None
    resumed = book.lapse(3 * DAY_MS)
    assert resumed is not None and resumed.state is RiskState.ACTIVE


def test_cooldown_after_a_stop_and_a_pause_after_a_losing_streak() -> None:
    book = RiskBook(limits(cooldown_after_stop_s=600, max_consecutive_losses=3, loss_pause_s=3600))
    assert book.on_trade_closed([D(1)], "stop_loss", 0) is None  # a win: no cooldown
    f = book.on_trade_closed([D(1), D(-1)], "stop_loss", 1000)
    assert f is not None and f.until_ms == 601_000
    assert book.on_trade_closed([D(-1), D(-1)], "advice", 1000) is None  # two losses, no stop
    f = book.on_trade_closed([D(-1), D(-1), D(-1)], "stop_loss", 1000)
    assert f is not None and f.until_ms == 3_601_000  # the longer pause wins
    assert losing_streak([D(-1), D(1), D(-1), D(-2)]) == 2


def test_operator_state_outranks_nothing_but_a_resume_lifts_it() -> None:
    book = RiskBook(limits())
    book.apply(RiskStateSet(state=RiskState.HALTED, reason="x"))
    assert not book.stronger(RiskStateSet(state=RiskState.REDUCING, reason="y"))
    assert book.stronger(RiskStateSet(state=RiskState.ACTIVE, reason="resume"))


@pytest.mark.parametrize(("bid", "high", "now", "expect"), [
    ("9.49", "10", 0, OrderReason.STOP_LOSS),
    ("9.51", "10", 0, None),
    ("10.5", "11", 0, None),  # the trail is 11 * 0.95 = 10.45
    ("10.4", "11", 0, OrderReason.TRAILING_STOP),
    ("11.0", "11", 0, OrderReason.TAKE_PROFIT),
    ("10.0", "10", 3_600_000, OrderReason.TIME_EXIT),
])
def test_exits(bid: str, high: str, now: int, expect: OrderReason | None) -> None:
    plan = exits.plan(D(10), D("0.01"), 0, D("0.05"),
                      limits(take_profit=D("0.1"), trailing_stop=D("0.05"), max_holding_s=3600))
    assert plan is not None
    assert exits.due(plan, D(bid), D(high), now) is expect


def test_the_nearer_stop_wins_and_no_plan_without_exits() -> None:
    plan = exits.plan(D(10), D("0.01"), 0, D("0.10"), limits(stop_loss_vol=D(3)))
    assert plan is not None and plan.stop_price == D("9.70")  # 3 volatilities (3 %) is nearer than 10 %
    assert exits.plan(D(10), D("0.01"), 0, D(0), limits()) is None


def test_a_protection_never_shortens_the_operators_pause() -> None:
    book = RiskBook(limits(cooldown_after_stop_s=600))
    book.apply(RiskStateSet(state=RiskState.REDUCING, reason="buying paused by ops", by="ops"))
    assert book.on_trade_closed([D(-1)], "stop_loss", 1000) is None  # else it would lapse in 600 s
    assert book.lapse(10**15) is None
