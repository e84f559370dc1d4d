"""The venue's account side on the stand-in: exchangeInfo, a symbol that is not trading, a market that reopens."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from actors.messages import FiltersUpdated, OrderStatus, OrderUpdate, PlaceOrder, Side
from tests._support.executor import SYMBOL, start_executor
from tests._support.fakes.binance_exchange import FakeBinance
from tests._support.probes import eventually

D = Decimal


def test_symbol_not_trading_is_refused_locally() -> None:
    with FakeBinance(status="BREAK") as fake:
        ex, sub = start_executor(fake, wait_stream=False)
        [f] = sub.wait_for(FiltersUpdated)
        assert f.filters.status == "BREAK"
        ex.tell(PlaceOrder(client_order_id="b1", symbol=SYMBOL, side=Side.BUY, price=D("10"), quantity=D("1"),
                           ts_ms=1))
        [u] = sub.wait_for(OrderUpdate)
        assert u.status is OrderStatus.REJECTED and "not trading" in u.reject_reason
        assert fake.requests_to("POST", "/api/v3/order") == []
        fake.set_symbol_status("TRADING")  # known closed at start: watched every minute, not every hour
        [_, reopened] = sub.wait_for(FiltersUpdated, count=2)
        assert reopened.filters.status == "TRADING"
        ex.stop(timeout=10)


def test_exchange_info_is_refreshed_and_rebroadcast() -> None:
    with FakeBinance() as fake:
        ex, sub = start_executor(fake, wait_stream=False, exchange_info_refresh_s=1)
        fake.set_symbol_status("HALT")
        [_, halted] = sub.wait_for(FiltersUpdated, count=2, timeout=5)
        assert halted.filters.status == "HALT"
        ex.stop(timeout=10)


def test_market_closed_rereads_the_rules_at_once_and_every_minute_until_it_reopens(logs: Any) -> None:
    """Issue 11.5: with the hourly refresh, a BREAK seen only by a -2010 must not block trading for an hour."""
    with FakeBinance() as fake:
        ex, sub = start_executor(fake, wait_stream=False)  # exchange_info_refresh_s: the default hour
        fake.set_symbol_status("BREAK")  # the executor still believes TRADING
        ex.tell(PlaceOrder(client_order_id="b1", symbol=SYMBOL, side=Side.BUY, price=D("10"), quantity=D("1"),
                           ts_ms=1))
        [rejected] = sub.wait_for(OrderUpdate, lambda u: u.client_order_id == "b1")
        assert rejected.status is OrderStatus.REJECTED and rejected.reject_reason == "-2010 Market is closed."
        [_, closed] = sub.wait_for(FiltersUpdated, count=2)  # read again at once, not in an hour
        assert closed.filters.status == "BREAK"
        ex.tell(PlaceOrder(client_order_id="b2", symbol=SYMBOL, side=Side.BUY, price=D("10"), quantity=D("1"),
                           ts_ms=2))
        [local] = sub.wait_for(OrderUpdate, lambda u: u.client_order_id == "b2")
        assert "not trading" in local.reject_reason  # refused locally now: no second POST
        assert len(fake.requests_to("POST", "/api/v3/order")) == 1
        eventually(lambda: len(fake.requests_to("GET", "/api/v3/exchangeInfo")) >= 4)  # polled while closed
        fake.set_symbol_status("TRADING")
        [*_, reopened] = sub.wait_for(FiltersUpdated, count=3)
        assert reopened.filters.status == "TRADING"
        ex.tell(PlaceOrder(client_order_id="b3", symbol=SYMBOL, side=Side.BUY, price=D("10"), quantity=D("1"),
                           ts_ms=3))
        sub.wait_for(OrderUpdate, lambda u: u.client_order_id == "b3" and u.status is OrderStatus.NEW)
        ex.stop(timeout=10)
    status_lines = [m for m in logs.messages("WARNING") if "status is BREAK" in m]
    assert len(status_lines) == 1  # logged when it starts, not once per read
