"""One contract, two venues: the same scenarios against the paper venue and the Binance venue on its stand-in.

Each venue sits behind the executor actor, as in the bot; a driver per venue
makes the market trade against a resting order (a tape trade for paper, a fill
on the stand-in for Binance). Both must tell their subscribers the same
normalised story: NEW once and first, fills with cumulative quantities and
commissions, one terminal status, the true outcome for a cancel that came too
late, no second order for a repeated client id, REJECTED for an unknown order,
and local refusals with a reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pykka
import pytest

from actors._lib.secrets import Secret
from actors.binance.config import BinanceTuning
from actors.messages import (
    BalanceUpdated,
    CancelOrder,
    FeedStatusChanged,
    FiltersUpdated,
    GetStats,
    MarketSnapshot,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    QueryOrder,
    Side,
    Subscribe,
    TradeTick,
)
from actors.order_executor import OrderExecutorActor
from actors.order_executor.paper import UNKNOWN_ORDER
from actors.settings import ExchangeSettings, Settings
from tests._support.fakes.binance_exchange import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeBinance
from tests._support.probes import ProbeHandle, eventually

D = Decimal
SYMBOL = "TRUMPUSDC"
PRICE = D("10.00")
TUNING = BinanceTuning(request_timeout_s=0.5, query_backoff_s=0.05, query_backoff_max_s=0.2, landing_grace_ms=100,
                       foreign_query_grace_s=0.3, reconnect_initial_s=0.05, reconnect_max_s=0.2,
                       account_refresh_delay_s=0.05, retry_s=0.2, poll_while_down_s=0.2, closed_poll_s=0.2)


class Venue:
    """The executor under test, its subscriber, and a way to make the market trade."""

    name = ""

    def __init__(self, ex: pykka.ActorRef[Any], sub: ProbeHandle) -> None:
        self.ex, self.sub = ex, sub

    def place(self, cid: str, price: Decimal = PRICE, qty: str = "1.000", side: Side = Side.BUY) -> None:
        self.ex.tell(PlaceOrder(client_order_id=cid, symbol=SYMBOL, side=side, price=price, quantity=D(qty),
                                ts_ms=1000))

    def trade(self, cid: str, qty: str) -> None:
        raise NotImplementedError

    def updates(self, cid: str) -> list[OrderUpdate]:
        return [u for u in self.sub.all(OrderUpdate) if u.client_order_id == cid]

    def wait(self, cid: str, status: OrderStatus, count: int = 1, timeout: float = 10.0) -> OrderUpdate:
        return self.sub.wait_for(OrderUpdate, lambda u: u.client_order_id == cid and u.status is status,
                                 count=count, timeout=timeout)[-1]

    def stats(self) -> dict[str, Any]:
        return self.ex.ask(GetStats(), timeout=5).as_dict()

    def reached_exchange(self, cid: str) -> int:
        """How many orders with this id the venue holds (the paper venue holds what it accepted)."""
        raise NotImplementedError


class Paper(Venue):
    name = "paper"
    seq = 0

    def trade(self, cid: str, qty: str) -> None:
        self.seq += 1
        ts = 2000 + self.seq
        tape = (TradeTick(trade_id=self.seq, price=PRICE, qty=D(qty), ts_ms=ts, buyer_is_maker=True),)
        bid, ask = D("9.50"), D("10.60")  # the book never reaches the order: only the tape fills it
        self.ex.tell(MarketSnapshot(symbol=SYMBOL, seq=self.seq, ts_data_ms=ts, ts_snapshot_ms=ts, bid=bid,
                                    bid_qty=D(50), ask=ask, ask_qty=D(50), mid=(bid + ask) / 2, spread_bps=D(0),
                                    imbalance=D(0), microprice=(bid + ask) / 2, trades=tape))

    def reached_exchange(self, cid: str) -> int:
        seen = len(self.updates(cid))
        self.ex.tell(QueryOrder(client_order_id=cid, symbol=SYMBOL))
        answer = self.sub.wait_for(OrderUpdate, lambda m: m.client_order_id == cid, count=seen + 1)[-1]
        return 0 if answer.reject_reason == UNKNOWN_ORDER else 1


class Binance(Venue):
    name = "binance"

    def __init__(self, ex: pykka.ActorRef[Any], sub: ProbeHandle, fake: FakeBinance) -> None:
        super().__init__(ex, sub)
        self.fake = fake

    def trade(self, cid: str, qty: str) -> None:
        self.fake.fill(cid, qty, str(PRICE))

    def reached_exchange(self, cid: str) -> int:
        return len(self.fake.orders_for(cid))


@pytest.fixture(params=["paper", "binance"])
def venue(request: pytest.FixtureRequest) -> Iterator[Venue]:
    sub = ProbeHandle()
    if request.param == "paper":
        ex = OrderExecutorActor.start(Settings())
        ex.tell(Subscribe(subscriber=sub.ref))
        sub.wait_for(FiltersUpdated)
        yield Paper(ex, sub)
        ex.stop(timeout=10)
        return
    with FakeBinance() as fake:
        s = Settings(exchange=ExchangeSettings(kind="binance", rest_url=fake.rest_url, ws_api_url=fake.ws_api_url,
                                               recv_window_ms=1000))
        ex = OrderExecutorActor.start(s, api_key=Secret(DEFAULT_API_KEY), api_secret=Secret(DEFAULT_API_SECRET),
                                      tuning=TUNING)
        ex.tell(Subscribe(subscriber=sub.ref))
        sub.wait_for(FiltersUpdated)
        sub.wait_for(BalanceUpdated, count=2)
        eventually(lambda: ex.ask(GetStats(), timeout=5).as_dict()["stream_up"] == 1)
        yield Binance(ex, sub, fake)
        ex.stop(timeout=10)


def _story(ups: list[OrderUpdate]) -> list[tuple[Any, ...]]:
    return [(u.status, u.cum_qty, u.last_qty, u.last_price, u.commission, u.commission_asset) for u in ups]


def test_place_new_partial_filled(venue: Venue) -> None:
    venue.place("b1")
    new = venue.wait("b1", OrderStatus.NEW)
    assert new.cum_qty == 0 and new.exchange_order_id and new.side is Side.BUY and new.price == PRICE
    venue.trade("b1", "0.4")
    venue.wait("b1", OrderStatus.PARTIALLY_FILLED)
    venue.trade("b1", "0.6")
    done = venue.wait("b1", OrderStatus.FILLED)
    assert _story(venue.updates("b1")) == [
        (OrderStatus.NEW, 0, 0, None, None, None),
        (OrderStatus.PARTIALLY_FILLED, D("0.4"), D("0.4"), PRICE, D("0.0004"), "TRUMP"),
        (OrderStatus.FILLED, D("1"), D("0.6"), PRICE, D("0.0006"), "TRUMP"),
    ]
    assert done.cum_quote == D("10") and done.trade_id >= 0
    ids = [u.trade_id for u in venue.updates("b1") if u.last_qty > 0]
    assert len(set(ids)) == 2 and all(i >= 0 for i in ids)
    venue.sub.wait_for(BalanceUpdated, lambda b: b.asset == "TRUMP" and b.free == D("0.999"))  # the fee in TRUMP
    assert (venue.stats()["fills"], venue.stats()["acks"]) == (2, 1)


def test_cancel_after_fill_reports_the_fill(venue: Venue) -> None:
    venue.place("b1")
    venue.wait("b1", OrderStatus.NEW)
    venue.trade("b1", "1")
    venue.wait("b1", OrderStatus.FILLED)
    venue.ex.tell(CancelOrder(client_order_id="b1", symbol=SYMBOL, ts_ms=3000))
    again = venue.wait("b1", OrderStatus.FILLED, count=2)  # the true outcome is the answer
    assert again.cum_qty == D("1") and again.last_qty == 0
    assert not any(u.status is OrderStatus.CANCELED for u in venue.updates("b1"))
    assert venue.stats()["cancels"] == 0


def test_cancel_after_a_partial_fill_keeps_the_fill(venue: Venue) -> None:
    venue.place("b1")
    venue.wait("b1", OrderStatus.NEW)
    venue.trade("b1", "0.25")
    venue.wait("b1", OrderStatus.PARTIALLY_FILLED)
    venue.ex.tell(CancelOrder(client_order_id="b1", symbol=SYMBOL, ts_ms=3000))
    canceled = venue.wait("b1", OrderStatus.CANCELED)
    assert canceled.cum_qty == D("0.25")
    assert [u.status for u in venue.updates("b1")] == [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED,
                                                         OrderStatus.CANCELED]


@pytest.mark.parametrize("filled", [True, False])
def test_a_repeated_client_id_is_not_a_second_order(venue: Venue, filled: bool) -> None:
    venue.place("b1")
    venue.wait("b1", OrderStatus.NEW)
    if filled:
        venue.trade("b1", "1")
        venue.wait("b1", OrderStatus.FILLED)
    status = OrderStatus.FILLED if filled else OrderStatus.NEW
    venue.place("b1", price=D("9.00"))  # a new price under the same id changes nothing
    again = venue.wait("b1", status, count=2)
    assert again.price == PRICE
    assert sum(1 for u in venue.updates("b1") if u.status is OrderStatus.NEW) == (1 if filled else 2)
    assert venue.stats()["orders_sent"] == 1 and venue.reached_exchange("b1") == 1


def test_query_for_an_unknown_order_is_rejected(venue: Venue) -> None:
    venue.ex.tell(QueryOrder(client_order_id="ghost", symbol=SYMBOL))
    ghost = venue.wait("ghost", OrderStatus.REJECTED)
    assert ghost.reject_reason == UNKNOWN_ORDER


@pytest.mark.parametrize(
    ("price", "qty", "fragment"),
    [
        (D("10.005"), "1.000", "tick size"),
        (PRICE, "1.0005", "step size"),
        (PRICE, "0.050", "minimum notional"),
        (PRICE, "500", "insufficient balance"),
    ],
)
def test_local_refusal_names_the_rule_and_sends_nothing(venue: Venue, price: Decimal, qty: str,
                                                         fragment: str) -> None:
    venue.place("r1", price=price, qty=qty)
    rejected = venue.wait("r1", OrderStatus.REJECTED)
    assert fragment in rejected.reject_reason
    assert rejected.side is Side.BUY and rejected.orig_qty == D(qty)
    assert venue.stats()["rejects"] == 1 and venue.stats()["acks"] == 0
    if isinstance(venue, Binance):
        assert venue.fake.requests_to("POST", "/api/v3/order") == []


def test_feed_status_changes_are_accepted_quietly(venue: Venue, logs: Any) -> None:
    venue.ex.tell(FeedStatusChanged(symbol=SYMBOL, stale=True, reason="no data for 5 s", ts_ms=1))
    venue.ex.tell(FeedStatusChanged(symbol=SYMBOL, stale=False, reason="", ts_ms=2))
    assert venue.stats()["handler_errors"] == 0  # a barrier: both were handled before this answer
    assert not [m for m in logs.messages("WARNING") if "unexpected message" in m]
