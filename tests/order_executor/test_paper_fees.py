"""Maker and taker on the paper exchange: a resting limit that fills later pays maker, a marketable order taker."""

from __future__ import annotations

from decimal import Decimal

from actors.domain.fees import FeeSchedule
from actors.messages import OrderUpdate, Side
from actors.order_executor.paper import PaperExchange
from actors.settings import TradingSettings
from tests.order_executor.test_candle_fills import BAR, FILTERS, T0, bar_snap
from tests.order_executor.test_paper_exchange import place, snap, trade

D = Decimal
FEES = FeeSchedule(maker=D("0.0002"), taker=D("0.002"))  # ten times apart: a wrong choice cannot hide


def fills(events: list) -> list[OrderUpdate]:
    return [e for e in events if isinstance(e, OrderUpdate) and e.last_qty]


def paper(base: str = "0", fees: FeeSchedule = FEES) -> PaperExchange:
    return PaperExchange(FILTERS, fees, D(1000), D(base))


def test_a_resting_buy_filled_by_a_later_trade_pays_maker_in_the_base_asset() -> None:
    ex = paper()
    ex.on_snapshot(snap(1, "9.99", "10.01"))
    assert not fills(ex.place(place("b1", Side.BUY, "9.99", "2.000", ts=1000)))  # under the ask: it rests
    [f] = fills(ex.on_snapshot(snap(2, "9.98", "10.00", trades=(trade(1, "9.98", "5", 2000),))))
    assert (f.commission, f.commission_asset) == (D("2.000") * FEES.maker, "TRUMP")
    assert ex.balance("TRUMP")[0] == D("2.000") - D("2.000") * FEES.maker


def test_a_buy_that_crosses_pays_taker_on_what_it_takes_and_maker_on_the_rest_that_rested() -> None:
    ex = paper()
    ex.on_snapshot(snap(1, "9.99", "10.01", ask_qty="1"))
    [took] = fills(ex.place(place("b1", Side.BUY, "10.05", "3.000", ts=1000)))  # at or above the ask: takes 1
    assert (took.last_qty, took.last_price, took.commission) == (D(1), D("10.01"), D(1) * FEES.taker)
    [rested] = fills(ex.on_snapshot(snap(2, "9.99", "10.02", trades=(trade(1, "10.00", "5", 2000),))))
    assert (rested.last_qty, rested.commission) == (D(2), D(2) * FEES.maker)


def test_a_sell_at_the_bid_pays_taker_in_the_quote_asset_a_resting_offer_maker() -> None:
    ex = paper(base="4")
    ex.on_snapshot(snap(1, "9.99", "10.01", bid_qty="100"))
    [stop] = fills(ex.place(place("s1", Side.SELL, "9.99", "2.000", ts=1000)))  # a stop sold at the bid
    assert (stop.commission, stop.commission_asset) == (D("2.000") * D("9.99") * FEES.taker, "USDC")
    assert not fills(ex.place(place("s2", Side.SELL, "10.05", "2.000", ts=1000)))  # above the bid: it rests
    [offer] = fills(ex.on_snapshot(snap(2, "10.04", "10.06", trades=(trade(1, "10.06", "5", 2000),))))
    assert (offer.commission, offer.commission_asset) == (D("2.000") * D("10.05") * FEES.maker, "USDC")


def test_on_bars_a_marketable_sell_pays_taker_a_limit_traded_through_pays_maker() -> None:
    ex = paper(base="4")
    ex.on_snapshot(bar_snap(0, "10.00", "10.10", "9.90", "10.00"))  # bid 9.99 at the bar's close
    ex.place(place("stop", Side.SELL, "9.99", "1.000", ts=T0 + BAR - 1))  # at the bid: marketable
    ex.place(place("tp", Side.SELL, "10.20", "1.000", ts=T0 + BAR - 1))  # above it: rests
    [stop] = fills(ex.on_snapshot(bar_snap(1, "9.95", "10.00", "9.90", "9.95")))
    assert (stop.client_order_id, stop.last_price) == ("stop", D("9.95"))  # the next open
    assert stop.commission == D("9.95") * FEES.taker
    [tp] = fills(ex.on_snapshot(bar_snap(2, "10.00", "10.30", "9.95", "10.25")))
    assert (tp.client_order_id, tp.last_price, tp.commission) == ("tp", D("10.20"), D("10.20") * FEES.maker)


def test_on_bars_a_buy_at_the_ask_pays_taker_a_bid_under_it_maker() -> None:
    ex = paper()
    ex.on_snapshot(bar_snap(0, "10.00", "10.10", "9.90", "10.00"))  # ask 10.00
    ex.place(place("take", Side.BUY, "10.00", "1.000", ts=T0 + BAR - 1))
    ex.place(place("rest", Side.BUY, "9.80", "1.000", ts=T0 + BAR - 1))
    got = {f.client_order_id: f.commission for f in fills(ex.on_snapshot(bar_snap(1, "9.90", "9.95", "9.70", "9.80")))}
    assert got == {"take": D(1) * FEES.taker, "rest": D(1) * FEES.maker}


def test_the_bnb_discount_comes_off_both_rates_and_fee_rate_alone_charges_as_ever() -> None:
    t = TradingSettings(maker_fee=D("0.001"), taker_fee=D("0.001"), bnb_discount=D("0.25"))
    assert FeeSchedule.from_settings(t) == FeeSchedule(D("0.00075"), D("0.00075"), D("0.25"))
    ex = paper(fees=FeeSchedule.from_settings(t))
    ex.on_snapshot(snap(1, "9.99", "10.01"))
    [f] = fills(ex.place(place("b1", Side.BUY, "10.01", "1.000", ts=1000)))
    assert f.commission == D("0.00075")  # charged in TRUMP: the paper wallet holds no BNB
    # the defaults (maker = taker = fee_rate, no discount) keep the very digits the single rate gave
    one = FeeSchedule.from_settings(TradingSettings())
    assert (one.maker, one.taker) == (D("0.001"), D("0.001")) and str(one.maker) == "0.001"
