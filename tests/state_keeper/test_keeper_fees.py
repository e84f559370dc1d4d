"""The keeper's break-even at the rates that will apply: the buy's fee as booked, the sell's maker or taker rate,
and the account's own rates once the venue gives them (`FeesUpdated`, journaled as `FeesChanged`)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from actors.domain import pricing
from actors.messages import AdviceRequest, FeesUpdated, OrderReason, PlaceOrder, Side
from actors.state_keeper import decide, risk
from actors.state_keeper.core import CONSULTANT, EXECUTOR, KeeperCore, replay
from tests._support.helpers import FILTERS, advice, settings, snap
from tests.state_keeper.test_keeper_risk import RISK_OFF, buy_filled, of

APART = {"maker_fee": D("0.0005"), "taker_fee": D("0.003"), "fee_rate": D("0.003")}  # as load_settings makes them


def holding(**trading: Any) -> KeeperCore:
    import dataclasses

    s = settings(stop_loss=D(0), **trading)
    s = dataclasses.replace(s, risk=dataclasses.replace(s.risk, **RISK_OFF))
    core = KeeperCore(s, FILTERS, "t")
    buy_filled(core)  # 0.25 at 40.00, the fee in USDC (0): cost 10.00
    return core


def test_one_rate_gives_the_break_even_it_always_gave() -> None:
    core = holding()
    want = pricing.min_sell_price(D("10.00"), D("0.25"), D("0.001"), D("0.002"), FILTERS)
    assert decide.min_sell_price(core) == want == decide.min_sell_price(core, D("39.00"), D("39.99"))


def test_a_resting_sell_is_floored_at_the_maker_rate_a_marketable_one_at_the_taker_rate() -> None:
    core = holding(**APART)
    maker = pricing.min_sell_price(D("10.00"), D("0.25"), D("0.0005"), D("0.002"), FILTERS)
    taker = pricing.min_sell_price(D("10.00"), D("0.25"), D("0.003"), D("0.002"), FILTERS)
    assert (maker, taker) == (D("40.11"), D("40.21"))
    assert decide.min_sell_price(core) == maker  # no price: a resting offer
    assert decide.min_sell_price(core, D("40.15"), bid=D("39.99")) == maker  # above the bid: it rests
    assert decide.min_sell_price(core, D("40.15"), bid=D("40.20")) == taker  # at or below it: it takes


def test_an_advised_sell_that_would_take_is_raised_to_the_taker_floor() -> None:
    core = holding(**APART)
    effects = core.on_snapshot(snap(5, bid="40.20", ask="40.22"))
    req, = of(effects, CONSULTANT, AdviceRequest)
    cmd, = of(core.on_advice(advice(req.request_id, "sell", "40.15")), EXECUTOR, PlaceOrder)
    assert cmd.price == D("40.21")  # 40.15 would take at the taker rate: below break-even + min_profit


def test_the_gate_checks_a_marketable_sell_against_the_taker_floor() -> None:
    core = holding(**APART)
    deep = decide.account(core, snap(5, bid="40.20", ask="40.22"))
    assert (deep.min_sell_price, deep.taker_min_sell_price) == (D("40.11"), D("40.21"))
    denied = risk.check(risk.Proposal(Side.SELL, D("40.15"), OrderReason.ADVICE, "model", D("0.25")), deep,
                        core.settings.risk, core.quote_per_trade)
    assert isinstance(denied, risk.Denial) and denied.code == "below_break_even" and "40.21" in denied.detail
    thin = decide.account(core, snap(6, bid="39.99", ask="40.01"))
    approved = risk.check(risk.Proposal(Side.SELL, D("40.15"), OrderReason.ADVICE, "model", D("0.25")), thin,
                          core.settings.risk, core.quote_per_trade)
    assert isinstance(approved, risk.Approved)  # it rests: the maker floor, 40.11, is met


def test_the_advice_request_carries_both_rates_and_fee_rate_keeps_its_meaning() -> None:
    core = holding(**APART)
    req, = of(core.on_snapshot(snap(5, bid="39.99", ask="40.01")), CONSULTANT, AdviceRequest)
    assert (req.maker_fee, req.taker_fee, req.fee_rate) == (D("0.0005"), D("0.003"), D("0.003"))
    assert req.min_sell_price == D("40.11")
    assert req.break_even_price == pricing.break_even_price(D("10.00"), D("0.25"), D("0.0005"))


def account(maker: str, taker: str | None = None, symbol: str = "TRUMPUSDC") -> FeesUpdated:
    return FeesUpdated(symbol=symbol, maker=D(maker), taker=D(taker or maker), source="account", ts_ms=1)


def test_the_accounts_fees_are_journaled_once_and_move_the_break_even_also_after_a_restart() -> None:
    core = holding()
    before = decide.min_sell_price(core)
    rows = len(core.journal)
    core.on_fees(account("0.00075"))
    assert [kind for kind, _ in core.journal[rows:]] == ["FeesChanged"]
    after = decide.min_sell_price(core)
    assert after == pricing.min_sell_price(D("10.00"), D("0.25"), D("0.00075"), D("0.002"), FILTERS) < before
    core.on_fees(account("0.00075"))  # the hourly re-read says the same: nothing new
    assert len(core.journal) == rows + 1
    restarted = KeeperCore(core.settings, FILTERS, "t")
    replay(restarted, ((i, kind, payload) for i, (kind, payload) in enumerate(core.journal)))
    assert decide.min_sell_price(restarted) == after and restarted.fees.source == "account"
    assert core.status().fees == FeesUpdated(symbol="TRUMPUSDC", maker=D("0.00075"), taker=D("0.00075"),
                                             source="account")  # what the report shows


def test_fees_for_another_symbol_or_not_rates_change_nothing(logs: Any) -> None:
    core = holding()
    rows, fees = len(core.journal), core.fees
    core.on_fees(account("0.0005", symbol="BTCUSDC"))
    core.on_fees(account("1.5"))
    core.on_fees(FeesUpdated(symbol="TRUMPUSDC", maker=D("NaN"), taker=D("0.001")))
    assert len(core.journal) == rows and core.fees == fees
    assert len(logs.messages("ERROR")) == 3
