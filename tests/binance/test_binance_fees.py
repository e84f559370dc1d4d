"""The account's own fees: read from the venue, told as `FeesUpdated`, and followed by the keeper's break-even."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from actors.binance import parse
from actors.domain import pricing
from actors.messages import (
    AdviceRequest,
    FeesUpdated,
    GetStatus,
    OrderStatus,
    OrderUpdate,
    SnapshotProcessed,
    Subscribe,
)
from actors.state_keeper.actor import StateKeeperActor
from tests._support.executor import start_executor
from tests._support.fakes.binance_exchange import FakeBinance
from tests._support.helpers import FILTERS, advice, settings, snap
from tests._support.probes import ProbeHandle, eventually

D = Decimal

# -- the wire --------------------------------------------------------------------------------------


def test_commission_adds_standard_tax_and_special_and_discounts_only_the_standard_part() -> None:
    answer = {
        "symbol": "TRUMPUSDC",
        "standardCommission": {"maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000",
                               "seller": "0.00010000"},
        "taxCommission": {"maker": "0.00000100", "taker": "0.00000200", "buyer": "0", "seller": "0"},
        "specialCommission": {"maker": "0", "taker": "0.00001000", "buyer": "0", "seller": "0"},
        "discount": {"enabledForAccount": True, "enabledForSymbol": True, "discountAsset": "BNB",
                     "discount": "0.75000000"},  # what is LEFT of the standard rate: a quarter off
    }
    f = parse.commission(answer, "TRUMPUSDC", ts_ms=7)
    assert f.maker == D("0.0011") * D("0.75") + D("0.000001")  # (maker + seller) x 0.75 + tax
    assert f.taker == D("0.0011") * D("0.75") + D("0.000002") + D("0.00001")
    assert (f.bnb_discount, f.source, f.ts_ms) == (D("0.25"), "account", 7)
    answer["discount"]["enabledForSymbol"] = False  # type: ignore[index]
    assert parse.commission(answer, "TRUMPUSDC").bnb_discount == 0


@pytest.mark.parametrize("bad", [
    {"symbol": "BTCUSDC", "standardCommission": {"maker": "0.001", "taker": "0.001"}},
    {"symbol": "TRUMPUSDC"},
    {"symbol": "TRUMPUSDC", "standardCommission": {"maker": 0.001, "taker": "0.001"}},  # a float is not money
    {"symbol": "TRUMPUSDC", "standardCommission": {"maker": "0.001", "taker": "0.001"},
     "discount": {"enabledForAccount": True, "enabledForSymbol": True, "discount": "1.5"}},
    [],
])
def test_a_malformed_commission_answer_is_a_parse_error(bad: Any) -> None:
    with pytest.raises(parse.ParseError):
        parse.commission(bad, "TRUMPUSDC")


def test_the_accounts_commission_rates_stand_in_without_a_discount() -> None:
    f = parse.account_commission({"commissionRates": {"maker": "0.00080000", "taker": "0.00090000", "buyer": "0",
                                                      "seller": "0"}, "updateTime": 5}, "TRUMPUSDC")
    assert f is not None and (f.maker, f.taker, f.bnb_discount) == (D("0.0008"), D("0.0009"), 0)
    assert parse.account_commission({"balances": []}, "TRUMPUSDC") is None


# -- the executor on the stand-in ------------------------------------------------------------------


def test_the_executor_tells_the_accounts_fees_and_says_once_where_they_differ(logs: Any) -> None:
    with FakeBinance(commission_rate="0.00075", taker_rate="0.001") as fake:
        ex, sub = start_executor(fake, wait_stream=False, exchange_info_refresh_s=1)
        [fees] = sub.wait_for(FeesUpdated)
        assert (fees.maker, fees.taker, fees.source) == (D("0.00075"), D("0.001"), "account")
        late = ProbeHandle()  # a subscriber that comes later (the keeper) is greeted with them
        ex.tell(Subscribe(subscriber=late.ref))
        late.wait_for(FeesUpdated, lambda f: f.maker == D("0.00075"))
        eventually(lambda: len(fake.requests_to("GET", "/api/v3/account/commission")) >= 3, timeout=10)
        assert len(sub.all(FeesUpdated)) == 1  # re-read with every exchangeInfo read: told once
        ex.stop(timeout=10)
    said = [m for m in logs.messages("WARNING") if m.startswith("fees:")]
    assert len(said) == 1
    assert "maker 0.075 %, taker 0.1 %" in said[0] and "the settings say maker 0.1 %, taker 0.1 %" in said[0]


def test_when_the_per_symbol_endpoint_refuses_the_accounts_commission_rates_stand_in(logs: Any) -> None:
    with FakeBinance(commission_rate="0.0009", commission_endpoint=False) as fake:
        _ex, sub = start_executor(fake, wait_stream=False)
        [fees] = sub.wait_for(FeesUpdated)
        assert (fees.maker, fees.taker) == (D("0.0009"), D("0.0009"))
        _ex.stop(timeout=10)
    assert any("commissionRates" in m for m in logs.messages("WARNING"))


# -- the keeper follows them: a venue charging 0.075 % -----------------------------------------------


def test_a_venue_charging_0_075_percent_moves_the_break_even() -> None:
    with FakeBinance(commission_rate="0.00075", tick_size="0.0001") as fake:  # fine enough to tell the rates apart
        ex, _sub = start_executor(fake, wait_stream=False)
        grid = dataclasses.replace(FILTERS, tick_size=D("0.0001"), min_price=D("0.0001"), max_price=D("1000000"),
                                   max_notional=D("9000000"))
        market = ProbeHandle()
        requests: list[AdviceRequest] = []

        def answer(req: Any) -> None:
            if isinstance(req, AdviceRequest) and req.reply_to is not None:
                requests.append(req)
                action, price = ("buy", "9.99") if req.state.name == "READY_TO_BUY" else ("hold", None)
                req.reply_to.tell(advice(req.request_id, action, price))

        consultant = ProbeHandle(answer)
        s = settings(quote_per_trade=D("10"))  # the settings say 0.1 %
        keeper = StateKeeperActor.start(s, market=market.ref, executor=ex, consultant=consultant.ref, id_prefix="k")
        eventually(lambda: keeper.ask(GetStatus(), timeout=5).fees.source == "account")
        seq = 0

        def tick() -> None:
            nonlocal seq
            seq += 1
            keeper.tell(snap(seq, bid="9.99", ask="10.01", ts_ms=1_000_000 + seq * 1000))
            market.wait_for(SnapshotProcessed, lambda m: m.seq == seq)

        tick()
        eventually(lambda: len(fake.orders) == 1)
        cid = fake.orders[0]["clientOrderId"]
        fake.fill(cid)  # a resting bid filled later: the venue takes 0.075 % in TRUMP
        _sub.wait_for(OrderUpdate, lambda u: u.status is OrderStatus.FILLED)
        eventually(lambda: keeper.ask(GetStatus(), timeout=5).state.name == "READY_TO_SELL")
        st = keeper.ask(GetStatus(), timeout=5)
        cost, qty = st.position.cost_quote, st.position.quantity
        assert qty == D("1.001") - D("1.001") * D("0.00075")  # the buy's fee as booked
        want = pricing.min_sell_price(cost, qty, D("0.00075"), s.trading.min_profit, grid)
        settings_floor = pricing.min_sell_price(cost, qty, D("0.001"), s.trading.min_profit, grid)
        assert want < settings_floor  # the test can tell the two apart
        assert st.exit_plan.break_even == want
        tick()
        eventually(lambda: any(r.state.name == "READY_TO_SELL" for r in requests))
        sell_req = next(r for r in requests if r.state.name == "READY_TO_SELL")
        assert (sell_req.min_sell_price, sell_req.maker_fee, sell_req.taker_fee) == (want, D("0.00075"), D("0.00075"))
        keeper.stop()
        ex.stop(timeout=10)
