"""Worked P&L examples by hand, to the last of USDC's 8 decimals."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from actors.messages import OrderStatus, Side
from actors.state_keeper.ledger import Ledger, OrderRecord, UpdateError
from tests._support.helpers import update


def ledger() -> Ledger:
    return Ledger("TRUMPUSDC", "TRUMP", "USDC", D("0.001"))


def buy(l: Ledger, cid: str = "b1", qty: str = "0.25", price: str = "40.00") -> None:
    l.add_order(OrderRecord(cid, Side.BUY, D(price), D(qty), 0))


def sell(l: Ledger, cid: str = "s1", qty: str = "0.25", price: str = "41.00") -> None:
    l.add_order(OrderRecord(cid, Side.SELL, D(price), D(qty), 0))


def test_round_trip_with_fees_in_usdc() -> None:
    """Buy 0.25 at 40.00, sell at 41.00, 0.1 % each side: 10.25 - 0.01025 - (10.00 + 0.01) = 0.22975."""
    l = ledger()
    buy(l)
    l.apply_update(update("b1", "FILLED", "0.25", "10.00", commission="0.01", asset="USDC", last="0.25", trade_id=1))
    assert l.qty == D("0.25") and l.cost == D("10.01")
    sell(l)
    l.apply_update(update("s1", "FILLED", "0.25", "10.25", commission="0.01025", asset="USDC", last="0.25", trade_id=2))
    trade = l.close_trade(0)
    assert trade is not None and trade.pnl == D("0.22975")
    assert l.realized_pnl == D("0.22975")
    assert l.fees_paid == D("0.02025")
    assert l.qty == 0 and l.cost == 0


def test_missing_commission_is_estimated_and_marked() -> None:
    l = ledger()
    buy(l)
    l.apply_update(update("b1", "FILLED", "0.25", "10.00"))
    assert l.qty == D("0.25")  # an estimated fee is charged in quote, not guessed out of the position
    assert l.cost == D("10.01")
    assert l.orders["b1"].fee_estimated and l.trades[0].fee_estimated


def test_buy_fee_paid_in_trump() -> None:
    """0.00025 TRUMP fee: 0.24975 held; sell 0.249 (lot 0.001) at 41.00; 0.00075 stays as dust."""
    l = ledger()
    buy(l)
    l.apply_update(update("b1", "FILLED", "0.25", "10.00", commission="0.00025", asset="TRUMP", last="0.25", trade_id=1))
    assert l.qty == D("0.24975")
    assert l.cost == D("10.00")  # the TRUMP fee shows as fewer TRUMP, not as more USDC
    assert l.position(D("0.249")).entry_price == D("40.04004004")
    sell(l, qty="0.249")
    l.apply_update(update("s1", "FILLED", "0.249", "10.209", commission="0.010209", asset="USDC", last="0.249", trade_id=2))
    # cost of what was sold: 10.00 * 0.249 / 0.24975 = 9.96996997 (to 8 decimals)
    trade = l.close_trade(0)
    assert trade is not None
    assert trade.pnl == D("10.209") - D("0.010209") - D("9.96996997") == D("0.22882103")
    assert l.qty == D("0.00075") and l.cost == D("0.03003003")  # the dust keeps its share of the cost
    assert trade.fees == D("0.01") + D("0.010209")


def test_sell_in_two_partial_fills() -> None:
    l = ledger()
    buy(l)
    l.apply_update(update("b1", "FILLED", "0.25", "10.00", commission="0.01", asset="USDC", last="0.25", trade_id=1))
    sell(l)
    l.apply_update(update("s1", "PARTIALLY_FILLED", "0.1", "4.1", commission="0.0041", asset="USDC", last="0.1", trade_id=2))
    assert l.qty == D("0.15")
    assert l.trades[0].pnl == D("4.1") - D("0.0041") - D("4.004")
    l.apply_update(update("s1", "FILLED", "0.25", "10.25", commission="0.00615", asset="USDC", last="0.15", trade_id=3))
    trade = l.close_trade(0)
    assert trade is not None and trade.pnl == D("0.22975")  # the same as one fill
    assert l.orders["s1"].avg_price == D("41.00")


def test_repeated_and_out_of_order_updates_apply_once() -> None:
    l = ledger()
    buy(l)
    first = update("b1", "PARTIALLY_FILLED", "0.1", "4.00", commission="0.0001", asset="TRUMP", last="0.1", trade_id=1)
    second = update("b1", "PARTIALLY_FILLED", "0.2", "8.00", commission="0.0001", asset="TRUMP", last="0.1", trade_id=2)
    l.apply_update(first)
    l.apply_update(second)
    before = (l.qty, l.cost, l.fees_paid)
    l.apply_update(first)  # late
    l.apply_update(second)  # repeated
    assert (l.qty, l.cost, l.fees_paid) == before == (D("0.1998"), D("8.00"), D("0.008"))


def test_missed_fill_commission_is_estimated() -> None:
    """cum jumps by 0.2 but the report's own fill is 0.1: the missing 0.1 gets the configured rate."""
    l = ledger()
    buy(l)
    l.apply_update(update("b1", "PARTIALLY_FILLED", "0.2", "8.00", commission="0.0001", asset="TRUMP", last="0.1", trade_id=7))
    assert l.qty == D("0.1999")
    assert l.orders["b1"].fee_quote == D("0.004")  # 0.1 * 40 * 0.001, estimated in quote
    assert l.orders["b1"].fee_estimated


def test_terminal_status_is_final() -> None:
    l = ledger()
    buy(l)
    l.apply_update(update("b1", "CANCELED", "0.1", "4.00"))
    l.apply_update(update("b1", "NEW"))
    assert l.orders["b1"].status is OrderStatus.CANCELED


@pytest.mark.parametrize(
    ("u", "why"),
    [
        (update("nope", "FILLED", "0.25", "10"), "unknown order"),
        (update("b1", "FILLED", "0.25", "10", symbol="BTCUSDC"), "BTCUSDC"),
        (update("b1", "PARTIALLY_FILLED", "-0.1", "10"), "cum_qty"),
        (update("b1", "PARTIALLY_FILLED", "0.3", "12"), "exceeds"),
        (update("b1", "FILLED", "0.1", "4"), "FILLED reports"),
        (update("b1", "FILLED", "0.25", "10", side=Side.SELL), "BUY"),
    ],
)
def test_bad_updates_change_nothing(u, why: str) -> None:
    l = ledger()
    buy(l)
    with pytest.raises(UpdateError, match=why):
        l.apply_update(u)
    assert l.qty == 0 and l.cost == 0 and l.orders["b1"].status is OrderStatus.PENDING_NEW and not l.trades


def test_sell_fill_beyond_holdings_is_refused() -> None:
    l = ledger()
    sell(l)
    with pytest.raises(UpdateError, match="exceeds the 0 held"):
        l.apply_update(update("s1", "FILLED", "0.25", "10.25"))
    assert l.orders["s1"].cum_qty == 0
