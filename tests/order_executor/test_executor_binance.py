"""The executor actor in Binance mode, alone, against the local stand-in (tests/_support/fakes/binance_exchange.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pykka
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from actors.binance.user_stream import UserEvent
from actors.messages import (
    BalanceUpdated,
    CancelOrder,
    GetStats,
    OrderOutcomeUnknown,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    QueryOrder,
    Side,
)
from actors.order_executor import OrderExecutorActor
from actors.order_executor.paper import UNKNOWN_ORDER
from actors.settings import ExchangeSettings, Settings
from tests._support.executor import SYMBOL, TUNING, start_executor
from tests._support.fakes.binance_exchange import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeBinance
from tests._support.probes import ProbeHandle, eventually

D = Decimal
@dataclass
class Rig:
    fake: FakeBinance
    ex: pykka.ActorRef[Any]
    sub: ProbeHandle

    def stats(self) -> dict[str, Any]:
        return self.ex.ask(GetStats(), timeout=5).as_dict()

    def place(self, cid: str, side: Side = Side.BUY, price: str = "10.00", qty: str = "1.000") -> None:
        self.ex.tell(
            PlaceOrder(client_order_id=cid, symbol=SYMBOL, side=side, price=D(price), quantity=D(qty), ts_ms=1)
        )

    def updates(self, cid: str) -> list[OrderUpdate]:
        return [u for u in self.sub.all(OrderUpdate) if u.client_order_id == cid]

    def wait_status(self, cid: str, status: OrderStatus, timeout: float = 5.0) -> OrderUpdate:
        return self.sub.wait_for(OrderUpdate, lambda u: u.client_order_id == cid and u.status is status,
                                 timeout=timeout)[-1]

    def posts(self) -> list[Any]:
        return self.fake.requests_to("POST", "/api/v3/order")


@pytest.fixture
def fake() -> Iterator[FakeBinance]:
    f = FakeBinance()
    f.start()
    yield f
    f.stop()


@pytest.fixture
def rig(fake: FakeBinance) -> Iterator[Rig]:
    ex, sub = start_executor(fake)
    yield Rig(fake, ex, sub)
    ex.stop(timeout=10)


def test_place_ack_partial_and_full_fill(rig: Rig) -> None:
    balances = {b.asset: b for b in rig.sub.wait_for(BalanceUpdated, count=2)}
    assert balances["USDC"].free == D("1000") and balances["TRUMP"].free == 0
    rig.place("b1")
    new = rig.wait_status("b1", OrderStatus.NEW)
    assert new.exchange_order_id and new.cum_qty == 0 and new.ts_ms > 0
    rig.fake.fill("b1", "0.4", "9.99")
    rig.fake.fill("b1")
    done = rig.wait_status("b1", OrderStatus.FILLED)
    ups = rig.updates("b1")
    assert [u.status for u in ups] == [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED]
    part = ups[1]
    assert (part.last_qty, part.last_price, part.cum_qty) == (D("0.4"), D("9.99"), D("0.4"))
    assert (part.commission, part.commission_asset) == (D("0.0004"), "TRUMP")
    assert part.trade_id >= 0 and done.trade_id > part.trade_id
    assert done.cum_qty == D("1") and done.cum_quote == D("3.996") + D("6")
    # the free TRUMP after the fee taken in TRUMP is what the StateKeeper sizes the sell with
    rig.sub.wait_for(BalanceUpdated, lambda b: b.asset == "TRUMP" and b.free == D("0.999"))
    [post] = rig.posts()
    assert "newClientOrderId=b1" in post.body and "type=LIMIT" in post.body and "timeInForce=GTC" in post.body
    assert "price=10&" in post.body and "quantity=1&" in post.body  # plain strings, no exponent
    stats = rig.stats()
    assert (stats["orders_sent"], stats["acks"], stats["fills"]) == (1, 1, 2)
    assert stats["used_weight_1m"] > 0 and stats["order_count_10s"] == 1


@pytest.mark.parametrize("fault", ["503_after_accept", "timeout_after_accept", "drop_after_accept"])
def test_unknown_outcome_is_looked_up_never_resent(rig: Rig, fault: str) -> None:
    rig.fake.hold_events()  # the stream is late: only the order query can tell
    rig.fake.fail_next(fault)
    rig.place("b1")
    [unknown] = rig.sub.wait_for(OrderOutcomeUnknown)
    assert unknown.client_order_id == "b1"
    new = rig.wait_status("b1", OrderStatus.NEW)
    assert new.exchange_order_id
    assert len(rig.fake.orders_for("b1")) == 1
    assert len(rig.posts()) == 1
    lookups = rig.fake.requests_to("GET", "/api/v3/order")
    assert lookups and all("origClientOrderId=b1" in r.query for r in lookups)
    rig.fake.release_events()  # the late NEW event changes nothing
    rig.fake.fill("b1")
    rig.wait_status("b1", OrderStatus.FILLED)
    assert [u.status for u in rig.updates("b1")] == [OrderStatus.NEW, OrderStatus.FILLED]
    assert len(rig.posts()) == 1 and len(rig.fake.orders_for("b1")) == 1
    stats = rig.stats()
    assert stats["unknown_outcomes"] == 1 and stats["orders_sent"] == 1 and stats["unknown_pending"] == 0


def test_unknown_outcome_resolved_by_the_stream_first(rig: Rig) -> None:
    rig.fake.fail_next("503_after_accept")
    rig.place("b1")
    rig.sub.wait_for(OrderOutcomeUnknown)
    rig.wait_status("b1", OrderStatus.NEW)
    rig.fake.fill("b1")
    rig.wait_status("b1", OrderStatus.FILLED)
    assert [u.status for u in rig.updates("b1")] == [OrderStatus.NEW, OrderStatus.FILLED]
    assert len(rig.posts()) == 1


def test_unknown_outcome_that_never_landed_becomes_rejected(rig: Rig) -> None:
    rig.fake.fail_next("503_before_accept")
    rig.place("b1")
    rig.sub.wait_for(OrderOutcomeUnknown)
    rejected = rig.wait_status("b1", OrderStatus.REJECTED, timeout=10)
    assert rejected.reject_reason == UNKNOWN_ORDER
    assert rig.fake.orders_for("b1") == []
    assert len(rig.posts()) == 1
    assert len(rig.fake.requests_to("GET", "/api/v3/order")) >= TUNING.min_not_found


def test_cancel_while_the_outcome_is_unknown_waits_for_it(rig: Rig) -> None:
    rig.fake.hold_events()
    rig.fake.fail_next("503_after_accept")
    rig.place("b1")
    rig.ex.tell(CancelOrder(client_order_id="b1", symbol=SYMBOL, ts_ms=2))
    rig.wait_status("b1", OrderStatus.CANCELED)
    assert [o["status"] for o in rig.fake.orders_for("b1")] == ["CANCELED"]
    assert len(rig.posts()) == 1


def test_fill_during_a_stream_gap_is_found_by_reconciliation(rig: Rig) -> None:
    rig.place("b1")
    rig.wait_status("b1", OrderStatus.NEW)
    first_subs = rig.fake.requests_to("WS", "userDataStream.subscribe.signature")
    rig.fake.drop_user_stream(block=True)
    eventually(lambda: rig.stats()["stream_up"] == 0)
    trade = rig.fake.fill("b1")  # nobody hears about this one
    rig.fake.allow_user_stream()
    filled = rig.wait_status("b1", OrderStatus.FILLED)
    assert filled.trade_id == trade["id"]
    assert (filled.commission, filled.commission_asset) == (D("0.001"), "TRUMP")
    assert filled.cum_qty == D("1") and filled.last_qty == D("1")
    assert rig.fake.requests_to("GET", "/api/v3/openOrders")
    assert rig.fake.requests_to("GET", "/api/v3/myTrades")
    subs = rig.fake.requests_to("WS", "userDataStream.subscribe.signature")
    assert len(subs) > len(first_subs)
    stamps = [r.body.split('"timestamp": ')[1].split(",")[0] for r in subs]
    assert len(set(stamps)) == len(stamps)  # a fresh timestamp every time
    stats = rig.stats()
    assert stats["reconciliations"] >= 1 and stats["stream_drops"] >= 1 and stats["fills"] == 1


def test_fills_are_polled_by_rest_while_the_stream_stays_down(rig: Rig) -> None:
    rig.fake.drop_user_stream(block=True)
    eventually(lambda: rig.stats()["stream_up"] == 0)
    rig.place("b1")  # placed and filled while no event can arrive
    rig.wait_status("b1", OrderStatus.NEW)
    rig.fake.fill("b1", "0.5")
    part = rig.wait_status("b1", OrderStatus.PARTIALLY_FILLED)
    assert part.cum_qty == D("0.5") and part.trade_id >= 0
    rig.fake.allow_user_stream()
    eventually(lambda: rig.stats()["stream_up"] == 1)
    rig.fake.fill("b1")
    rig.wait_status("b1", OrderStatus.FILLED)
    assert [u.cum_qty for u in rig.updates("b1")] == [0, D("0.5"), D("1")]


def test_events_of_a_cancel_are_matched_by_the_original_client_id(rig: Rig) -> None:
    rig.place("b1")
    rig.wait_status("b1", OrderStatus.NEW)
    rig.fake.fill("b1", "0.25")
    rig.wait_status("b1", OrderStatus.PARTIALLY_FILLED)
    rig.ex.tell(CancelOrder(client_order_id="b1", symbol=SYMBOL, ts_ms=2))
    canceled = rig.wait_status("b1", OrderStatus.CANCELED)
    assert canceled.cum_qty == D("0.25")
    eventually(lambda: rig.stats()["cancels"] == 1)
    assert [u.status for u in rig.updates("b1")] == [
        OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCELED
    ]
    # nothing was reported under the cancel request's own id
    assert all(u.client_order_id == "b1" for u in rig.sub.all(OrderUpdate))


def test_cancel_racing_a_fill_reports_filled(rig: Rig) -> None:
    rig.place("b1")
    rig.wait_status("b1", OrderStatus.NEW)
    rig.fake.hold_events()
    rig.fake.fill_on_cancel("b1")
    rig.ex.tell(CancelOrder(client_order_id="b1", symbol=SYMBOL, ts_ms=2))
    filled = rig.wait_status("b1", OrderStatus.FILLED)
    assert filled.trade_id >= 0 and filled.commission == D("0.001")
    [delete] = rig.fake.requests_to("DELETE", "/api/v3/order")
    assert delete.code == -2011
    rig.fake.release_events()
    rig.ex.tell(QueryOrder(client_order_id="b1", symbol=SYMBOL))  # a barrier: answered after the late events
    rig.sub.wait_for(OrderUpdate, lambda u: u.client_order_id == "b1", count=3)
    ups = rig.updates("b1")
    assert not any(u.status is OrderStatus.CANCELED for u in ups)
    assert sum(1 for u in ups if u.last_qty > 0) == 1  # the late executionReport was a duplicate


def test_exchange_2010_insufficient_balance_is_a_rejection(rig: Rig) -> None:
    rig.fake.set_balance("USDC", "5")  # the executor still believes 1000 free
    rig.place("b1")
    rejected = rig.wait_status("b1", OrderStatus.REJECTED)
    assert rejected.reject_reason == "-2010 Account has insufficient balance for requested action."
    assert rig.ex.is_alive()
    rig.fake.set_balance("USDC", "1000")
    rig.place("b2")
    rig.wait_status("b2", OrderStatus.NEW)


def test_local_refusals_never_reach_the_exchange(rig: Rig) -> None:
    rig.place("offgrid", price="10.005")
    rig.place("lot", qty="1.0005")
    rig.place("tiny", price="10.00", qty="0.050")
    rig.place("broke", price="10.00", qty="500")
    rig.place("bad id!")
    rejected = rig.sub.wait_for(OrderUpdate, lambda u: u.status is OrderStatus.REJECTED, count=5)
    reasons = {u.client_order_id: u.reject_reason for u in rejected}
    assert "tick size" in reasons["offgrid"]
    assert "step size" in reasons["lot"]
    assert "minimum notional" in reasons["tiny"]
    assert "insufficient balance" in reasons["broke"]
    assert "client order id" in reasons["bad id!"]
    assert rig.posts() == []
    stats = rig.stats()
    assert stats["orders_sent"] == 0 and stats["local_rejects"] == 5 and stats["rejects"] == 5


def test_a_malformed_user_event_is_one_log_line_and_changes_nothing(rig: Rig, logs: Any) -> None:
    rig.place("b1")
    rig.wait_status("b1", OrderStatus.NEW)
    bad = {"e": "executionReport", "s": SYMBOL, "c": "b1", "C": "", "x": "TRADE", "X": "FILLED", "i": 1,
           "l": "1", "L": "10", "t": 99}  # no cumulative quantity 'z'
    rig.ex.tell(UserEvent(bad))
    rig.ex.tell(QueryOrder(client_order_id="b1", symbol=SYMBOL))  # a barrier: answered after the bad event
    rig.sub.wait_for(OrderUpdate, lambda u: u.client_order_id == "b1", count=2)
    assert [u.status for u in rig.updates("b1")] == [OrderStatus.NEW, OrderStatus.NEW]
    lines = [m for m in logs.messages("WARNING") if "cannot be read" in m]
    assert len(lines) == 1 and "'z'" in lines[0]
    assert rig.stats()["handler_errors"] == 0


def test_clock_drift_gives_1021_then_resync_and_one_retry(rig: Rig) -> None:
    rig.fake.set_time_offset(30_000)  # the server clock jumps ahead: our timestamps are now stale
    rig.place("b1")
    new = rig.wait_status("b1", OrderStatus.NEW)
    assert new.exchange_order_id
    posts = rig.posts()
    assert [p.code for p in posts] == [-1021, None]
    assert len(rig.fake.orders_for("b1")) == 1
    assert len(rig.fake.requests_to("GET", "/api/v3/time")) >= 2
    assert rig.stats()["clock_offset_ms"] > 25_000


def test_1021_on_the_stream_subscription_resyncs(fake: FakeBinance) -> None:
    fake.fail_next("-1021", method="WS", path="userDataStream.subscribe.signature")
    ex, _sub = start_executor(fake)
    subs = fake.requests_to("WS", "userDataStream.subscribe.signature")
    assert [s.code for s in subs][:2] == [-1021, None]
    ex.stop(timeout=10)


def test_429_pauses_all_traffic_then_proceeds(rig: Rig) -> None:
    rig.fake.fail_next("429", retry_after=1)
    rig.place("b1")
    eventually(lambda: rig.stats()["paused_until_ms"] > 0)
    rig.place("b2")  # queued behind the pause, not dropped
    rig.ex.tell(QueryOrder(client_order_id="b1", symbol=SYMBOL))
    rig.wait_status("b1", OrderStatus.NEW)
    rig.wait_status("b2", OrderStatus.NEW)
    reqs = rig.fake.requests
    [limited] = [r for r in reqs if r.status == 429]
    after = [r for r in reqs if r.t > limited.t]
    assert after, "nothing was sent after the pause"
    assert min(r.t for r in after) >= limited.t + 1.0 - 0.01  # nothing at all during Retry-After
    assert len(rig.fake.orders_for("b1")) == 1 and len(rig.fake.orders_for("b2")) == 1
    assert rig.stats()["rate_limited"] == 1


def test_a_client_id_is_never_sent_twice(rig: Rig) -> None:
    rig.place("b1")
    rig.wait_status("b1", OrderStatus.NEW)
    rig.fake.fill("b1")
    rig.wait_status("b1", OrderStatus.FILLED)
    rig.place("b1")  # Binance would accept this as a SECOND order, since the first one is filled
    rig.sub.wait_for(OrderUpdate, lambda u: u.client_order_id == "b1" and u.status is OrderStatus.FILLED, count=2)
    assert len(rig.posts()) == 1 and len(rig.fake.orders_for("b1")) == 1


def test_query_after_a_restart_and_for_an_order_that_never_existed(fake: FakeBinance) -> None:
    ex, sub = start_executor(fake)
    ex.tell(PlaceOrder(client_order_id="b1", symbol=SYMBOL, side=Side.BUY, price=D("10"), quantity=D("1"), ts_ms=1))
    sub.wait_for(OrderUpdate, lambda u: u.status is OrderStatus.NEW)
    ex.stop(timeout=10)
    fake.fill("b1", "0.3")  # while the bot was down
    ex2, sub2 = start_executor(fake)
    ex2.tell(QueryOrder(client_order_id="b1", symbol=SYMBOL))
    ex2.tell(QueryOrder(client_order_id="ghost", symbol=SYMBOL))
    part = sub2.wait_for(OrderUpdate, lambda u: u.client_order_id == "b1" and u.status is OrderStatus.PARTIALLY_FILLED)
    assert part[-1].cum_qty == D("0.3") and part[-1].trade_id >= 0
    [ghost] = sub2.wait_for(OrderUpdate, lambda u: u.client_order_id == "ghost", timeout=10)
    assert ghost.status is OrderStatus.REJECTED and ghost.reject_reason == UNKNOWN_ORDER
    ex2.stop(timeout=10)


def test_secrets_stay_out_of_logs_and_off_the_wire(rig: Rig, logs: Any) -> None:
    rig.fake.fail_next("-1022")
    rig.place("b0")  # refused: bad signature
    rig.wait_status("b0", OrderStatus.REJECTED)
    rig.fake.fail_next("503_after_accept")
    rig.place("b1")
    rig.wait_status("b1", OrderStatus.NEW)
    rig.fake.set_balance("USDC", "1")
    rig.place("b2")
    rig.wait_status("b2", OrderStatus.REJECTED)
    rig.fake.drop_user_stream()
    eventually(lambda: rig.stats()["stream_connects"] >= 2)
    text = logs.text()
    assert "b1" in text  # the log did capture the executor
    for secret in (DEFAULT_API_KEY, DEFAULT_API_SECRET):
        assert secret not in text
        assert secret not in repr(rig.stats())
    assert "signature=" not in text.replace("signature=***", "")
    for r in rig.fake.requests:
        assert DEFAULT_API_SECRET not in r.query + r.body
        if r.method == "WS":
            continue  # the WS-API subscription carries apiKey as a parameter, as Binance requires
        assert DEFAULT_API_KEY not in r.query + r.body
    signed = [r for r in rig.fake.requests if r.method != "WS" and "signature=" in r.query + r.body]
    assert signed and all(r.api_key_header == DEFAULT_API_KEY for r in signed)


def test_ed25519_key(tmp_path: Any) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with FakeBinance(ed25519_public_key_pem=public) as fake:
        ex, sub = start_executor(fake, secret=pem)
        ex.tell(PlaceOrder(client_order_id="e1", symbol=SYMBOL, side=Side.BUY, price=D("10"), quantity=D("1"),
                           ts_ms=1))
        sub.wait_for(OrderUpdate, lambda u: u.status is OrderStatus.NEW)
        ex.stop(timeout=10)


def test_a_cancel_told_just_before_stop_still_reaches_the_exchange(fake: FakeBinance) -> None:
    ex, sub = start_executor(fake)
    ex.tell(PlaceOrder(client_order_id="b1", symbol=SYMBOL, side=Side.BUY, price=D("10"), quantity=D("1"), ts_ms=1))
    sub.wait_for(OrderUpdate, lambda u: u.status is OrderStatus.NEW)
    fake.fail_next("429", method="DELETE", retry_after=1)  # so the cancel is still pending at stop
    ex.tell(CancelOrder(client_order_id="b1", symbol=SYMBOL, ts_ms=2, reason="cancel_on_exit"))
    ex.stop(timeout=10)  # queued right behind the cancel, as the app does on exit
    assert [o["status"] for o in fake.orders_for("b1")] == ["CANCELED"]
    assert [r.status for r in fake.requests_to("DELETE", "/api/v3/order")] == [429, 200]


def test_a_cancel_waiting_for_its_post_at_stop_still_goes_out(fake: FakeBinance) -> None:
    ex, _sub = start_executor(fake)
    fake.fail_next("429", retry_after=1)  # the POST is still pending when the cancel and the stop arrive
    ex.tell(PlaceOrder(client_order_id="b1", symbol=SYMBOL, side=Side.BUY, price=D("10"), quantity=D("1"), ts_ms=1))
    ex.tell(CancelOrder(client_order_id="b1", symbol=SYMBOL, ts_ms=2, reason="cancel_on_exit"))
    ex.stop(timeout=15)
    assert [o["status"] for o in fake.orders_for("b1")] == ["CANCELED"]


def test_binance_mode_needs_keys() -> None:
    s = Settings(exchange=ExchangeSettings(kind="binance"))
    with pytest.raises(ValueError, match="BINANCE_API_KEY"):
        OrderExecutorActor.start(s)


def test_a_query_is_counted_in_lookups_pending_until_it_is_answered(rig: Rig) -> None:
    """What a clean stop waits on (commands/run.py): a look-up in flight shows, and is gone once answered."""
    rig.place("b1")
    rig.wait_status("b1", OrderStatus.NEW)
    assert rig.stats()["lookups_pending"] == 0
    before = len(rig.updates("b1"))
    rig.fake.fail_next("timeout_before_accept", method="GET")  # the first look-up hangs till the REST timeout
    rig.ex.tell(QueryOrder(client_order_id="b1", symbol=SYMBOL))
    assert rig.stats()["lookups_pending"] == 1
    eventually(lambda: rig.stats()["lookups_pending"] == 0)
    eventually(lambda: len(rig.updates("b1")) > before)  # and the answer was told
    assert len(rig.fake.requests_to("GET", "/api/v3/order")) >= 2
