"""Pure parts of the Binance side: merging racing order reports, parsing the wire formats, the stream's backoff."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors._lib.secrets import Secret
from actors.binance.parse import ParseError
from actors.binance.parse import account_balances as account_to_balances
from actors.binance.parse import account_position as account_position_to_balances
from actors.binance.parse import exchange_info as parse_exchange_info
from actors.binance.parse import execution_report as execution_report_to_update
from actors.binance.parse import order as order_to_update
from actors.binance.parse import trades as trades_to_updates
from actors.binance.signing import Signer
from actors.binance.user_stream import JITTER, UserStream
from actors.domain.rules import check_order
from actors.messages import OrderStatus, OrderUpdate, Side
from actors.order_executor.tracking import TrackedOrder, apply

D = Decimal


def track() -> TrackedOrder:
    return TrackedOrder(client_order_id="b1", symbol="TRUMPUSDC", side=Side.BUY, price=D("10"), orig_qty=D("3"))


def fill(cum: str, last: str, tid: int, status: OrderStatus = OrderStatus.PARTIALLY_FILLED) -> OrderUpdate:
    return OrderUpdate(
        symbol="TRUMPUSDC", client_order_id="b1", status=status, exchange_order_id="7", cum_qty=D(cum),
        cum_quote=D(cum) * 10, last_qty=D(last), last_price=D("10"), commission=D(last) / 1000,
        commission_asset="TRUMP", trade_id=tid, ts_ms=tid,
    )


def state(status: OrderStatus, cum: str = "0") -> OrderUpdate:
    return OrderUpdate(symbol="TRUMPUSDC", client_order_id="b1", status=status, exchange_order_id="7",
                       cum_qty=D(cum), cum_quote=D(cum) * 10, ts_ms=1)


def test_new_is_reported_once_and_first() -> None:
    t = track()
    out = apply(t, fill("1", "1", 1))  # the fill's event beat the ack
    assert [u.status for u in out] == [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED]
    assert out[0].cum_qty == 0 and out[0].exchange_order_id == "7"
    assert apply(t, state(OrderStatus.NEW)) == []


def test_duplicates_and_older_cumulatives_are_dropped() -> None:
    t = track()
    apply(t, state(OrderStatus.NEW))
    assert len(apply(t, fill("1", "1", 1))) == 1
    assert apply(t, fill("1", "1", 1)) == []  # the same trade again
    assert len(apply(t, fill("2", "1", 2))) == 1
    assert apply(t, state(OrderStatus.PARTIALLY_FILLED, "1")) == []  # an older REST view
    out = apply(t, fill("3", "1", 3, OrderStatus.FILLED))
    assert [u.status for u in out] == [OrderStatus.FILLED]
    assert apply(t, state(OrderStatus.FILLED, "3")) == []  # terminal once
    assert apply(t, state(OrderStatus.CANCELED, "3")) == []


def test_a_jump_without_trade_details_is_reported_as_one_fill() -> None:
    t = track()
    apply(t, state(OrderStatus.NEW))
    [u] = apply(t, state(OrderStatus.PARTIALLY_FILLED, "2"))
    assert (u.last_qty, u.last_price, u.trade_id, u.commission) == (D("2"), D("10"), -1, None)
    # the trades found later change nothing: the cumulative was reported already
    assert apply(t, fill("1", "1", 1)) == [] and apply(t, fill("2", "1", 2)) == []


def test_canceled_after_a_partial_fill_and_rejected() -> None:
    t = track()
    apply(t, state(OrderStatus.NEW))
    apply(t, fill("1", "1", 1))
    [c] = apply(t, state(OrderStatus.CANCELED, "1"))
    assert c.status is OrderStatus.CANCELED and c.cum_qty == D("1")
    r = TrackedOrder(client_order_id="r1", symbol="TRUMPUSDC")
    [u] = apply(r, OrderUpdate(symbol="TRUMPUSDC", client_order_id="r1", status=OrderStatus.REJECTED,
                               reject_reason="-2010 x"))
    assert u.status is OrderStatus.REJECTED and u.reject_reason == "-2010 x" and r.terminal


def test_canceled_with_unreported_fills_reports_the_fill_first() -> None:
    t = track()
    apply(t, state(OrderStatus.NEW))
    out = apply(t, state(OrderStatus.CANCELED, "1.5"))
    assert [(u.status, u.cum_qty) for u in out] == [
        (OrderStatus.PARTIALLY_FILLED, D("1.5")),
        (OrderStatus.CANCELED, D("1.5")),
    ]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_order_of_racing_reports_gives_a_sane_stream(data: st.DataObject) -> None:
    """Stream events, REST views and duplicates in any order: one NEW first, cumulatives rise, one terminal last."""
    qtys = data.draw(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=6))
    total = sum(qtys)
    cancel = data.draw(st.booleans())
    events: list[OrderUpdate] = [state(OrderStatus.NEW)]
    cum = 0
    for i, q in enumerate(qtys):
        cum += q
        last = cum == total and not cancel
        events.append(fill(str(cum), str(q), 100 + i, OrderStatus.FILLED if last else OrderStatus.PARTIALLY_FILLED))
        events.append(state(OrderStatus.PARTIALLY_FILLED, str(cum)))  # a REST view at that moment
    if cancel:
        events.append(state(OrderStatus.CANCELED, str(cum)))
    else:
        events.append(state(OrderStatus.FILLED, str(cum)))
    shuffled = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=5))))
    t = TrackedOrder(client_order_id="b1", symbol="TRUMPUSDC", side=Side.BUY, price=D("10"), orig_qty=D(total))
    out: list[OrderUpdate] = []
    for ev in shuffled:
        out.extend(apply(t, ev))
    assert out[0].status is OrderStatus.NEW
    assert sum(1 for u in out if u.status is OrderStatus.NEW) == 1
    cums = [u.cum_qty for u in out[1:] if u.last_qty > 0]
    assert cums == sorted(set(cums))  # strictly rising
    trade_ids = [u.trade_id for u in out if u.trade_id >= 0]
    assert len(trade_ids) == len(set(trade_ids))
    terminal = [u for u in out if u.status.is_terminal]
    # FILLED may come with the last fill; a CANCELED is its own update. Either way exactly one, and last.
    assert len(terminal) == 1 and out[-1] is terminal[0]
    assert terminal[0].cum_qty == (D(total) if not cancel else D(cum))


# -- wire parsing ---------------------------------------------------------------------------


def test_execution_report_for_a_cancel_is_matched_by_C() -> None:
    ev = {
        "e": "executionReport", "E": 2, "s": "TRUMPUSDC", "c": "cancel_9", "S": "BUY", "o": "LIMIT", "f": "GTC",
        "q": "3.00000000", "p": "10.00000000", "C": "b1", "x": "CANCELED", "X": "CANCELED", "r": "NONE",
        "i": 7, "l": "0.00000000", "z": "1.00000000", "L": "0.00000000", "n": "0", "N": None, "T": 5,
        "t": -1, "Z": "10.00000000",
    }
    u = execution_report_to_update(ev)
    assert (u.client_order_id, u.status, u.cum_qty, u.trade_id, u.exchange_order_id) == (
        "b1", OrderStatus.CANCELED, D("1"), -1, "7"
    )
    trade = {**ev, "c": "b1", "C": "", "x": "TRADE", "X": "PARTIALLY_FILLED", "l": "0.5", "L": "9.99",
             "n": "0.0005", "N": "TRUMP", "t": 42, "z": "1.5", "Z": "14.995"}
    u = execution_report_to_update(trade)
    assert (u.client_order_id, u.last_qty, u.last_price, u.commission, u.commission_asset, u.trade_id) == (
        "b1", D("0.5"), D("9.99"), D("0.0005"), "TRUMP", 42
    )


def test_rest_order_trades_and_balances() -> None:
    o = {"symbol": "TRUMPUSDC", "orderId": 7, "clientOrderId": "b1", "price": "10.00000000",
         "origQty": "3.00000000", "executedQty": "0.00000000", "cummulativeQuoteQty": "0.00000000",
         "status": "NEW", "side": "BUY", "updateTime": 9}
    u = order_to_update(o, "TRUMPUSDC")
    assert (u.client_order_id, u.exchange_order_id, u.price, u.orig_qty, u.cum_qty, u.ts_ms) == (
        "b1", "7", D("10"), D("3"), D(0), 9
    )
    assert str(u.cum_qty) == "0"  # never "0E-8"
    cancel_answer = {**o, "origClientOrderId": "b1", "clientOrderId": "cancel_1", "status": "CANCELED"}
    assert order_to_update(cancel_answer, "TRUMPUSDC").client_order_id == "b1"
    rows = [
        {"id": 12, "orderId": 7, "price": "10", "qty": "2", "quoteQty": "20", "commission": "0.002",
         "commissionAsset": "TRUMP", "time": 5},
        {"id": 11, "orderId": 7, "price": "9.9", "qty": "1", "quoteQty": "9.9", "commission": "0.001",
         "commissionAsset": "TRUMP", "time": 4},
        {"id": 13, "orderId": 8, "price": "1", "qty": "1", "quoteQty": "1", "commission": "0", "time": 6},
    ]
    ups = trades_to_updates(Side.BUY, D("3"), rows, "b1", "TRUMPUSDC", "7")
    assert [(u.trade_id, u.cum_qty, u.status) for u in ups] == [
        (11, D("1"), OrderStatus.PARTIALLY_FILLED),
        (12, D("3"), OrderStatus.FILLED),
    ]
    assert ups[-1].cum_quote == D("29.9")
    [trump, usdc] = account_to_balances(
        {"updateTime": 3, "balances": [{"asset": "USDC", "free": "5.50000000", "locked": "1.00000000"}]},
        ("TRUMP", "USDC"),
    )
    assert (trump.free, usdc.free, usdc.locked, usdc.ts_ms) == (0, D("5.5"), D("1"), 3)
    [b] = account_position_to_balances({"e": "outboundAccountPosition", "u": 8,
                                         "B": [{"a": "TRUMP", "f": "0.99900000", "l": "0"}]})
    assert (b.asset, b.free, b.ts_ms) == ("TRUMP", D("0.999"), 8)


def test_exchange_info_filters() -> None:
    info = {
        "symbols": [
            {"symbol": "OTHER", "filters": []},
            {
                "symbol": "TRUMPUSDC", "status": "TRADING", "baseAsset": "TRUMP", "quoteAsset": "USDC",
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.00100000", "maxPrice": "0.00000000",
                     "tickSize": "0.00100000"},
                    {"filterType": "LOT_SIZE", "minQty": "0.01000000", "maxQty": "92141578.00000000",
                     "stepSize": "0.01000000"},
                    {"filterType": "MIN_NOTIONAL", "minNotional": "5.00000000", "applyToMarket": True},
                ],
            },
        ]
    }
    f = parse_exchange_info(info, "TRUMPUSDC")
    assert (f.tick_size, f.step_size, f.min_qty, f.max_qty, f.min_notional, f.max_price) == (
        D("0.001"), D("0.01"), D("0.01"), D("92141578"), D("5"), D(0)
    )
    assert (f.base_asset, f.quote_asset, f.status) == ("TRUMP", "USDC", "TRADING")
    check_order(Side.BUY, D("10.001"), D("1.00"), f)  # max price 0 = no upper bound


def test_parsers_refuse_what_they_cannot_read() -> None:
    with pytest.raises(ParseError, match="client order id"):
        order_to_update({"symbol": "TRUMPUSDC", "orderId": 7, "status": "NEW"}, "TRUMPUSDC")
    with pytest.raises(ParseError, match="unknown order status"):
        order_to_update({"clientOrderId": "b1", "status": "LOST"}, "TRUMPUSDC")
    with pytest.raises(ParseError, match="'qty'"):
        trades_to_updates(Side.BUY, D("1"), [{"id": 1, "price": "10", "qty": 0.5}], "b1", "TRUMPUSDC", "7")  # a float
    with pytest.raises(ParseError, match="'f'"):
        account_position_to_balances({"e": "outboundAccountPosition", "u": 1, "B": [{"a": "USDC", "f": "x", "l": "0"}]})


def test_the_user_stream_keeps_its_backoff_and_jitter() -> None:
    class Top:  # the top of the jitter band every time
        def random(self) -> float:
            return 1.0

    s = UserStream(None, "ws://127.0.0.1:1", Secret("k"), Signer(Secret("s")), on_event=print, on_up=print,  # type: ignore[arg-type]
                   on_down=print, backoff_initial_s=0.5, backoff_max_s=3.0, rng=Top())  # type: ignore[arg-type]
    assert JITTER == (0.5, 1.0)
    b = s._backoff
    assert [b.next() for _ in range(4)] == [1.0, 2.0, 3.0, 3.0]  # never subscribed: doubling from 2 steps, capped
    b.reset()  # a session that subscribed, then dropped: back to one step
    assert b.next() == 0.5
    b.rand = lambda: 0.0
    assert b.next() == 0.5  # the bottom of the band: half the step (1.0)
