"""The paper matching engine on its own: scripted snapshots in, events out."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.messages import (
    BalanceUpdated,
    CancelOrder,
    MarketSnapshot,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    Side,
    SymbolFilters,
    TradeTick,
    WakeWhen,
)
from actors.order_executor.paper import UNKNOWN_ORDER, PaperExchange

D = Decimal
FEE = D("0.001")
FILTERS = SymbolFilters(
    symbol="TRUMPUSDC",
    base_asset="TRUMP",
    quote_asset="USDC",
    tick_size=D("0.01"),
    step_size=D("0.001"),
    min_qty=D("0.001"),
    max_qty=D("9000000"),
    min_notional=D("1"),
)


def snap(seq: int, bid: str, ask: str, *, trades: tuple[TradeTick, ...] = (), ts: int | None = None,
         bid_qty: str = "100", ask_qty: str = "100", stale: bool = False) -> MarketSnapshot:
    t = ts if ts is not None else seq * 1000
    b, a = D(bid), D(ask)
    return MarketSnapshot(
        symbol="TRUMPUSDC", seq=seq, ts_data_ms=t, ts_snapshot_ms=t, bid=b, bid_qty=D(bid_qty), ask=a,
        ask_qty=D(ask_qty), mid=(a + b) / 2, spread_bps=D(0), imbalance=D(0), microprice=(a + b) / 2,
        trades=trades, stale=stale,
    )


def trade(tid: int, price: str, qty: str, ts: int) -> TradeTick:
    return TradeTick(trade_id=tid, price=D(price), qty=D(qty), ts_ms=ts, buyer_is_maker=True)


def place(cid: str, side: Side, price: str, qty: str, ts: int = 1000) -> PlaceOrder:
    return PlaceOrder(client_order_id=cid, symbol="TRUMPUSDC", side=side, price=D(price), quantity=D(qty), ts_ms=ts)


def updates(events: list) -> list[OrderUpdate]:
    return [e for e in events if isinstance(e, OrderUpdate)]


def exchange(quote: str = "1000", base: str = "0") -> PaperExchange:
    return PaperExchange(FILTERS, FEE, D(quote), D(base))


def test_place_acks_new_and_locks_quote() -> None:
    ex = exchange()
    events = ex.place(place("b1", Side.BUY, "10.00", "1.000"))
    [new] = updates(events)
    assert new.status is OrderStatus.NEW
    assert new.exchange_order_id and new.cum_qty == 0 and new.ts_ms == 1000
    assert ex.balance("USDC") == (D("990.00000"), D("10.00000"))
    assert {b.asset for b in events if isinstance(b, BalanceUpdated)} == {"TRUMP", "USDC"}


def test_no_resting_order_costs_nothing() -> None:
    ex = exchange()
    assert ex.on_snapshot(snap(1, "9.99", "10.01", trades=(trade(1, "5", "100", 1000),))) == []


def test_trades_at_or_below_a_buy_fill_it_at_its_price_partially() -> None:
    ex = exchange()
    ex.on_snapshot(snap(1, "10.05", "10.06"))
    ex.place(place("b1", Side.BUY, "10.00", "1.000", ts=1500))
    trades = (
        trade(1, "9.99", "0.3", 1400),  # before the order was placed: ignored
        trade(2, "10.01", "5", 1600),  # above the bid: no fill
        trade(3, "10.00", "0.4", 1700),  # at the price: fills 0.4
        trade(4, "9.98", "0.25", 1800),  # below: fills 0.25 at 10.00 (maker, own price)
    )
    events = ex.on_snapshot(snap(2, "10.02", "10.03", trades=trades, ts=1900))
    fills = updates(events)
    assert [(u.last_qty, u.last_price, u.cum_qty, u.status) for u in fills] == [
        (D("0.4"), D("10.00"), D("0.4"), OrderStatus.PARTIALLY_FILLED),
        (D("0.25"), D("10.00"), D("0.65"), OrderStatus.PARTIALLY_FILLED),
    ]
    assert [u.ts_ms for u in fills] == [1700, 1800]
    assert [u.trade_id for u in fills] == [1, 2]
    assert fills[-1].cum_quote == D("6.5")
    # commission of a BUY is in the base asset: qty x fee
    assert [(u.commission, u.commission_asset) for u in fills] == [(D("0.0004"), "TRUMP"), (D("0.00025"), "TRUMP")]
    free, locked = ex.balance("TRUMP")
    assert free == D("0.65") - D("0.00065") and locked == 0
    assert ex.balance("USDC") == (D("990"), D("3.5"))


def test_sell_fee_is_in_quote_and_trades_at_or_above_fill() -> None:
    ex = exchange(quote="0", base="2")
    ex.on_snapshot(snap(1, "9.90", "9.95"))
    ex.place(place("s1", Side.SELL, "10.00", "1.500", ts=1000))
    events = ex.on_snapshot(snap(2, "9.95", "9.99", trades=(trade(1, "10.02", "1", 1100), trade(2, "10.00", "3", 1200))))
    fills = updates(events)
    assert [(u.last_qty, u.last_price) for u in fills] == [(D("1"), D("10.00")), (D("0.5"), D("10.00"))]
    assert fills[-1].status is OrderStatus.FILLED and fills[-1].cum_qty == D("1.5")
    assert [(u.commission, u.commission_asset) for u in fills] == [(D("0.01"), "USDC"), (D("0.005"), "USDC")]
    assert ex.balance("USDC") == (D("15") - D("0.015"), 0)
    assert ex.balance("TRUMP") == (D("0.5"), 0)
    assert ex.open_orders == ()
    # nothing more after FILLED
    assert ex.on_snapshot(snap(3, "11", "11.01", trades=(trade(3, "11", "9", 3000),))) == []


def test_book_crossing_a_resting_order_fills_up_to_displayed_size_at_its_price() -> None:
    ex = exchange()
    ex.on_snapshot(snap(1, "10.05", "10.06"))
    ex.place(place("b1", Side.BUY, "10.00", "2.000", ts=1000))
    fills = updates(ex.on_snapshot(snap(2, "9.97", "9.98", ask_qty="0.5", ts=2000)))
    assert [(u.last_qty, u.last_price, u.status, u.ts_ms) for u in fills] == [
        (D("0.5"), D("10.00"), OrderStatus.PARTIALLY_FILLED, 2000)
    ]
    # a stale snapshot does not match against the book
    assert updates(ex.on_snapshot(snap(3, "9.97", "9.98", ask_qty="5", stale=True))) == []
    fills = updates(ex.on_snapshot(snap(4, "9.97", "9.98", ask_qty="5")))
    assert fills[-1].status is OrderStatus.FILLED and fills[-1].cum_qty == D("2")
    # a resting order fills at its own limit price, so the whole lock is spent
    assert ex.balance("USDC") == (D("980"), 0)


def test_crossing_on_arrival_takes_the_book_at_the_book_price() -> None:
    ex = exchange()
    ex.on_snapshot(snap(1, "9.95", "9.97", ask_qty="0.6"))
    events = ex.place(place("b1", Side.BUY, "10.00", "1.000", ts=1500))
    new, fill = updates(events)
    assert new.status is OrderStatus.NEW
    assert (fill.last_qty, fill.last_price, fill.cum_qty, fill.status) == (
        D("0.6"), D("9.97"), D("0.6"), OrderStatus.PARTIALLY_FILLED
    )
    assert fill.ts_ms == 1500
    # the lock was at 10.00; the 0.03 saved on 0.6 comes back
    assert ex.balance("USDC") == (D("990") + D("0.018"), D("4.0"))
    # the rest rests at 10.00
    assert ex.order("b1").remaining == D("0.4")


def test_sell_crossing_on_arrival() -> None:
    ex = exchange(quote="0", base="1")
    ex.on_snapshot(snap(1, "10.10", "10.12", bid_qty="5"))
    new, fill = updates(ex.place(place("s1", Side.SELL, "10.00", "1.000")))
    assert (fill.last_price, fill.status, fill.commission) == (D("10.10"), OrderStatus.FILLED, D("0.0101"))


def test_two_orders_share_one_trade() -> None:
    ex = exchange()
    ex.on_snapshot(snap(1, "10.50", "10.60"))
    ex.place(place("b1", Side.BUY, "10.00", "1.000"))
    ex.place(place("b2", Side.BUY, "10.00", "1.000"))
    fills = updates(ex.on_snapshot(snap(2, "10.50", "10.60", trades=(trade(1, "9.99", "1.5", 2000),))))
    assert [(u.client_order_id, u.last_qty) for u in fills] == [("b1", D("1")), ("b2", D("0.5"))]


def test_cancel_releases_the_rest_and_reports_what_filled() -> None:
    ex = exchange()
    ex.on_snapshot(snap(1, "10.50", "10.60"))
    ex.place(place("b1", Side.BUY, "10.00", "1.000"))
    ex.on_snapshot(snap(2, "10.50", "10.60", trades=(trade(1, "10.00", "0.3", 2000),)))
    [canceled] = updates(ex.cancel(CancelOrder(client_order_id="b1", symbol="TRUMPUSDC", ts_ms=3000)))
    assert canceled.status is OrderStatus.CANCELED and canceled.cum_qty == D("0.3") and canceled.ts_ms == 3000
    assert ex.balance("USDC") == (D("997"), 0)
    # later trades do nothing
    assert ex.on_snapshot(snap(3, "9", "9.5", trades=(trade(2, "9", "5", 4000),))) == []


def test_cancel_race_reports_the_true_outcome_never_a_fake_cancel() -> None:
    ex = exchange()
    ex.on_snapshot(snap(1, "10.50", "10.60"))
    ex.place(place("b1", Side.BUY, "10.00", "1.000"))
    ex.on_snapshot(snap(2, "10.50", "10.60", trades=(trade(1, "10.00", "5", 2000),)))  # fills before the cancel
    [state] = updates(ex.cancel(CancelOrder(client_order_id="b1", symbol="TRUMPUSDC", ts_ms=3000)))
    assert state.status is OrderStatus.FILLED and state.cum_qty == D("1")
    # a second cancel after a real cancel repeats the cancel, nothing new
    ex.place(place("b2", Side.BUY, "10.00", "1.000"))
    ex.cancel(CancelOrder(client_order_id="b2", symbol="TRUMPUSDC", ts_ms=3000))
    [again] = updates(ex.cancel(CancelOrder(client_order_id="b2", symbol="TRUMPUSDC", ts_ms=4000)))
    assert again.status is OrderStatus.CANCELED
    assert ex.stats["cancels"] == 1


def test_unknown_cancel_and_query() -> None:
    ex = exchange()
    [u] = updates(ex.cancel(CancelOrder(client_order_id="nope", symbol="TRUMPUSDC", ts_ms=1)))
    assert u.status is OrderStatus.REJECTED and u.reject_reason == UNKNOWN_ORDER
    assert ex.query("nope").reject_reason == UNKNOWN_ORDER


def test_query_reports_the_current_state() -> None:
    ex = exchange()
    ex.on_snapshot(snap(1, "10.50", "10.60"))
    ex.place(place("b1", Side.BUY, "10.00", "1.000"))
    ex.on_snapshot(snap(2, "10.50", "10.60", trades=(trade(1, "10.00", "0.25", 2000),)))
    q = ex.query("b1")
    assert (q.status, q.cum_qty, q.last_qty, q.trade_id) == (OrderStatus.PARTIALLY_FILLED, D("0.25"), 0, -1)


def test_insufficient_balance_is_rejected_like_2010() -> None:
    ex = exchange(quote="5")
    [u] = updates(ex.place(place("b1", Side.BUY, "10.00", "1.000")))
    assert u.status is OrderStatus.REJECTED and "insufficient balance" in u.reject_reason
    ex2 = exchange(base="0.5")
    [u] = updates(ex2.place(place("s1", Side.SELL, "10.00", "1.000")))
    assert u.status is OrderStatus.REJECTED and "insufficient balance" in u.reject_reason
    assert ex.balance("USDC") == (D("5"), 0)


@pytest.mark.parametrize(
    ("price", "qty", "why"),
    [
        ("10.005", "1.000", "tick size"),
        ("10.00", "1.0005", "step size"),
        ("10.00", "0.05", "minimum notional"),
        ("0", "1", "positive"),
    ],
)
def test_filter_refusals(price: str, qty: str, why: str) -> None:
    ex = exchange()
    [u] = updates(ex.place(place("b1", Side.BUY, price, qty)))
    assert u.status is OrderStatus.REJECTED and why in u.reject_reason
    assert ex.balance("USDC") == (D("1000"), 0)
    assert ex.query("b1").reject_reason == UNKNOWN_ORDER  # a refused order never reached the book


def test_symbol_not_trading_is_refused() -> None:
    from dataclasses import replace

    ex = PaperExchange(replace(FILTERS, status="HALT"), FEE, D("1000"))
    [u] = updates(ex.place(place("b1", Side.BUY, "10.00", "1.000")))
    assert u.status is OrderStatus.REJECTED and "not trading" in u.reject_reason


def test_repeated_client_id_reports_the_existing_order() -> None:
    ex = exchange()
    ex.place(place("b1", Side.BUY, "10.00", "1.000"))
    [u] = updates(ex.place(place("b1", Side.BUY, "9.00", "2.000")))
    assert u.status is OrderStatus.NEW and u.price == D("10.00")
    assert len(ex.open_orders) == 1


def test_deterministic() -> None:
    def run() -> list:
        ex = exchange()
        out = ex.on_snapshot(snap(1, "10.50", "10.60"))
        out += ex.place(place("b1", Side.BUY, "10.00", "1.000"))
        for i in range(2, 20):
            out += ex.on_snapshot(snap(i, "10.50", "10.60", trades=(trade(i, "9.99", "0.07", i * 1000),)))
        return out

    assert run() == run()


@settings(max_examples=150, deadline=None)
@given(
    qty_steps=st.integers(min_value=100, max_value=5000),
    trades=st.lists(
        st.tuples(st.integers(min_value=990, max_value=1010), st.integers(min_value=1, max_value=3000)),
        max_size=30,
    ),
    side=st.sampled_from([Side.BUY, Side.SELL]),
)
def test_wallet_and_cumulatives_stay_consistent(qty_steps: int, trades: list, side: Side) -> None:
    """Whatever the tape: cumulatives only grow, never exceed the order, and the wallet adds up."""
    ex = exchange(quote="100000", base="100")
    ex.on_snapshot(snap(1, "9.00", "11.00"))
    qty = D(qty_steps) * D("0.001")
    ex.place(place("o1", side, "10.00", str(qty), ts=1000))
    tape = tuple(trade(i, str(D(p) / 100), str(D(q) * D("0.001")), 1000 + i) for i, (p, q) in enumerate(trades))
    fills = updates(ex.on_snapshot(snap(2, "9.00", "11.00", trades=tape)))
    cum = D(0)
    for u in fills:
        assert u.cum_qty == cum + u.last_qty
        cum = u.cum_qty
    assert cum <= qty
    base_free, base_locked = ex.balance("TRUMP")
    quote_free, quote_locked = ex.balance("USDC")
    if side is Side.BUY:
        assert base_free == D(100) + cum - cum * FEE and base_locked == 0
        assert quote_free + quote_locked == D(100000) - cum * 10
    else:
        assert base_free + base_locked == D(100) - cum
        assert quote_free == D(100000) + cum * 10 * (1 - FEE)


def reference_wake(ex: PaperExchange) -> WakeWhen:
    """What `wake` says on plain snapshots, worked out from the open orders every time."""
    buys = [o.price for o in ex.open_orders if o.side is Side.BUY]
    sells = [o.price for o in ex.open_orders if o.side is Side.SELL]
    return WakeWhen(buy_fills_at=max(buys) if buys else None, sell_fills_at=min(sells) if sells else None)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["buy", "sell", "cancel", "trade"]), st.integers(min_value=95, max_value=105),
                          st.integers(min_value=1, max_value=3)), max_size=25))
def test_wake_follows_the_open_orders_through_places_fills_and_cancels(steps: list) -> None:
    """`wake` is kept between snapshots (asked after every one): any change of the open orders renews it."""
    ex = exchange(quote="100000", base="100")
    ex.on_snapshot(snap(1, "9.00", "11.00"))
    assert ex.wake() == reference_wake(ex) == WakeWhen()
    for i, (kind, tenths, qty) in enumerate(steps, start=2):
        price, ts = str(D(tenths) / 10), i * 1000
        if kind == "buy":
            ex.place(place(f"b{i}", Side.BUY, price, str(qty), ts=ts))
        elif kind == "sell":
            ex.place(place(f"s{i}", Side.SELL, price, str(qty), ts=ts))
        elif kind == "cancel" and ex.open_orders:
            ex.cancel(CancelOrder(client_order_id=ex.open_orders[tenths % len(ex.open_orders)].client_order_id,
                                  symbol="TRUMPUSDC", ts_ms=ts))
        else:  # a trade at `price`: fills (partly) the buys at or above it and the sells at or below it
            ex.on_snapshot(snap(i, "9.00", "11.00", trades=(trade(i, price, str(qty), ts),)))
        assert ex.wake() == reference_wake(ex), (i, kind)
