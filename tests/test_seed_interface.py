"""The seed's StateManager calls keep working, on top of the actors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from actors import Order, StateManager, TradingState
from actors.messages import OrderStatus
from actors.state_keeper.ledger import UpdateError
from actors.state_keeper.updates import parse_order_update


def run(coro):
    return asyncio.run(coro)


def test_the_seed_example_as_written() -> None:
    async def main():
        state_manager = StateManager(symbol="TRUMPUSDC")
        await state_manager.handle_order_update({
            'orderId': "123",
            'status': 'FILLED',
            'quantity': "0.25",
            'price': "40.00"
        })
        pos = state_manager.current_position
        state = state_manager.current_state
        trades = state_manager.trades
        await state_manager.stop()
        return pos, state, trades

    pos, state, trades = run(main())
    assert pos.quantity == D("0.25") and pos.entry_price == D("40.00")
    assert state is TradingState.READY_TO_SELL
    assert len(trades) == 1 and trades[0].status == "OPEN" and trades[0].buy_order.id == "123"
    assert trades[0].fee_estimated  # no commission in the seed's dict: 0.1 % was assumed, and it says so


def test_transition_validates_and_records_orders() -> None:
    async def main():
        async with StateManager(symbol="TRUMPUSDC") as sm:
            assert await sm.transition(TradingState.SELLING) is False  # not from READY_TO_BUY
            assert await sm.transition(TradingState.BUYING) is False  # a buy needs its order
            order = Order(id="b-1", symbol="TRUMPUSDC", side="BUY", quantity=D("0.5"), price=D("20.00"),
                          status="NEW", timestamp=datetime.now(UTC))
            assert await sm.transition(TradingState.BUYING, order) is True
            assert sm.active_order is not None and sm.active_order.id == "b-1"
            assert await sm.transition(TradingState.READY_TO_SELL) is False  # the buy is still open
            await sm.handle_order_update({"orderId": "b-1", "status": "PARTIALLY_FILLED", "quantity": "0.2", "price": "20.00"})
            assert sm.current_state is TradingState.BUYING
            await sm.handle_order_update({"orderId": "b-1", "status": "CANCELED", "quantity": "0.2", "price": "20.00"})
            assert sm.current_state is TradingState.READY_TO_SELL  # 0.2 at 20 is sellable
            assert sm.current_position.quantity == D("0.2")
    run(main())


def test_bad_updates_are_logged_and_change_nothing(logs) -> None:
    async def main():
        async with StateManager(symbol="TRUMPUSDC") as sm:
            before = sm.status
            for bad in [
                {"status": "FILLED", "quantity": "1", "price": "1"},  # no id
                {"orderId": "1", "status": "DONE", "quantity": "1", "price": "1"},
                {"orderId": "1", "status": "FILLED", "quantity": "-1", "price": "1"},
                {"orderId": "1", "status": "FILLED", "quantity": "abc", "price": "1"},
                {"orderId": "1", "status": "FILLED", "quantity": 0.25, "price": "1"},  # a float is not money
                {"orderId": "1", "status": "FILLED", "quantity": "1", "price": "1", "symbol": "BTCUSDC"},
                "not a dict",
            ]:
                await sm.handle_order_update(bad)  # type: ignore[arg-type]
            after = sm.status
            assert after.state == before.state and after.position == before.position and after.trades == ()
    run(main())
    errors = " ".join(logs.messages("ERROR"))
    for fragment in ("no order id", "unknown order status", ">= 0", "not a number", "decimal string", "BTCUSDC"):
        assert fragment in errors


def test_execution_report_maps_to_the_same_update() -> None:
    report = {"e": "executionReport", "s": "TRUMPUSDC", "c": "cancel-9", "C": "tb-1-B", "S": "BUY", "X": "CANCELED",
              "x": "CANCELED", "i": 77, "p": "40.00", "q": "0.25", "z": "0.1", "Z": "4.0", "l": "0", "L": "0",
              "n": "0", "N": None, "t": -1, "T": 1700000000000, "r": "NONE"}
    u = parse_order_update(report, "TRUMPUSDC")
    assert u.client_order_id == "tb-1-B"  # on a cancel, C is the order and c the cancel request
    assert (u.cum_qty, u.cum_quote, u.exchange_order_id, u.trade_id) == (D("0.1"), D("4.0"), "77", -1)
    fill = dict(report, X="PARTIALLY_FILLED", x="TRADE", c="tb-1-B", C="", l="0.1", L="40.00", n="0.0001", N="TRUMP", t=5)
    u2 = parse_order_update(fill, "TRUMPUSDC")
    assert (u2.last_qty, u2.last_price, u2.commission, u2.commission_asset, u2.trade_id) == (
        D("0.1"), D("40.00"), D("0.0001"), "TRUMP", 5)
    with pytest.raises(UpdateError, match="'z'"):
        parse_order_update({k: v for k, v in report.items() if k != "z"}, "TRUMPUSDC")


def test_consult_ai_without_a_key_gives_the_fee_aware_fallback(monkeypatch) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)

    async def main():
        async with StateManager(symbol="TRUMPUSDC") as sm:
            return await sm.consult_ai({"bid": "39.99", "ask": "40.01", "ts_ms": 1_700_000_000_000})

    advice = run(main())
    assert set(advice) >= {"action", "base_price", "price_range", "confidence", "reasoning"}
    assert advice["source"] == "strategy"  # no key: the strategy decides in its own right
    assert advice["action"] in ("buy", "hold")
    if advice["action"] == "buy":
        assert isinstance(advice["base_price"], D) and advice["base_price"] <= D("40.01")


_REPORT = {"e": "executionReport", "E": 2, "s": "TRUMPUSDC", "c": "tb-1-B", "C": "", "S": "BUY", "X": "NEW",
           "x": "NEW", "i": 77, "p": "40.00000000", "q": "0.25000000", "z": "0.00000000", "Z": "0.00000000",
           "l": "0.00000000", "L": "0.00000000", "n": "0", "N": None, "t": -1, "T": 1700000000000, "r": "NONE"}


@pytest.mark.parametrize(
    ("change", "cid", "reason"),
    [
        ({}, "tb-1-B", ""),
        ({"X": "CANCELED", "x": "CANCELED", "c": "cancel-9", "C": "tb-1-B"}, "tb-1-B", ""),
        # C names the original order whenever it is set (not only when the status is CANCELED)
        ({"X": "EXPIRED", "x": "EXPIRED", "c": "cancel-9", "C": "tb-1-B", "eR": "EXCHANGE_CANCELED"}, "tb-1-B",
         "EXCHANGE_CANCELED"),
        ({"X": "REJECTED", "x": "REJECTED", "r": "INSUFFICIENT_BALANCES"}, "tb-1-B", "INSUFFICIENT_BALANCES"),
        ({"X": "REJECTED", "x": "REJECTED"}, "tb-1-B", "REJECTED"),  # a rejection always says so
        ({"X": "EXPIRED_IN_MATCH", "x": "TRADE_PREVENTION"}, "tb-1-B", "self-trade prevention"),
        ({"X": "PARTIALLY_FILLED", "x": "TRADE", "l": "0.1", "L": "40", "n": "0.0001", "N": "TRUMP", "t": 5,
          "z": "0.1", "Z": "4"}, "tb-1-B", ""),
    ],
)
def test_one_execution_report_parser_for_the_seed_and_the_executor(change: dict, cid: str, reason: str) -> None:
    from actors.binance.parse import execution_report

    report = {**_REPORT, **change}
    u = parse_order_update(report, "TRUMPUSDC")
    assert u == execution_report(report)  # the facade and the executor read it alike
    assert (u.client_order_id, u.reject_reason) == (cid, reason)
    assert str(u.cum_qty) in ("0", "0.1")  # tidy decimals, never 0E-8


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"z": None}, "'z'"),
        ({"X": "DONE"}, "unknown order status"),
        ({"c": "", "C": ""}, "client order id"),
        ({"s": None}, "symbol"),
        ({"z": 0.25}, "decimal string"),  # a float is not money
        ({"p": "-1"}, ">= 0"),
        ({"S": "HOLD"}, "BUY or SELL"),
    ],
)
def test_a_malformed_execution_report_names_the_field(change: dict, fragment: str) -> None:
    with pytest.raises(UpdateError, match=fragment.replace("(", r"\(")):
        parse_order_update({**_REPORT, **change}, "TRUMPUSDC")


def test_a_rest_cancel_answer_is_the_cancelled_order() -> None:
    answer = {"symbol": "TRUMPUSDC", "origClientOrderId": "tb-1-B", "clientOrderId": "cancel_1", "orderId": 77,
              "price": "40.00000000", "origQty": "0.25000000", "executedQty": "0.10000000",
              "cummulativeQuoteQty": "4.00000000", "status": "CANCELED", "side": "BUY", "transactTime": 5}
    u = parse_order_update(answer, "TRUMPUSDC")
    assert (u.client_order_id, u.status, u.cum_qty, u.cum_quote, u.exchange_order_id) == (
        "tb-1-B", OrderStatus.CANCELED, D("0.1"), D("4"), "77")
    seed_named = parse_order_update({"orderId": "123", "status": "FILLED", "executedQty": "0.25", "price": "40"},
                                    "TRUMPUSDC")
    assert seed_named.client_order_id == "123" and seed_named.cum_qty == D("0.25")
