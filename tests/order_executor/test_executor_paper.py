"""The executor actor in paper mode, with probes for the market and the subscriber."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from actors.messages import (
    BalanceUpdated,
    CancelOrder,
    Candle,
    FeedFinished,
    FiltersUpdated,
    GetStats,
    MarketSnapshot,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    QueryOrder,
    Side,
    SnapshotProcessed,
    Stats,
    Subscribe,
    TradeTick,
)
from actors.order_executor import OrderExecutorActor
from actors.order_executor.paper import UNKNOWN_ORDER
from actors.settings import ExchangeSettings, Settings
from tests._support.probes import ProbeHandle

D = Decimal
SYMBOL = "TRUMPUSDC"


def settings(**exchange: object) -> Settings:
    return Settings(exchange=ExchangeSettings(**exchange))  # type: ignore[arg-type]


def snap(seq: int, bid: str = "10.50", ask: str = "10.60", trades: tuple[TradeTick, ...] = ()) -> MarketSnapshot:
    b, a = D(bid), D(ask)
    return MarketSnapshot(
        symbol=SYMBOL, seq=seq, ts_data_ms=seq * 1000, ts_snapshot_ms=seq * 1000, bid=b, bid_qty=D(50), ask=a,
        ask_qty=D(50), mid=(a + b) / 2, spread_bps=D(0), imbalance=D(0), microprice=(a + b) / 2, trades=trades,
    )


def tick(tid: int, price: str, qty: str, ts: int) -> TradeTick:
    return TradeTick(trade_id=tid, price=D(price), qty=D(qty), ts_ms=ts, buyer_is_maker=True)


def buy(cid: str, price: str = "10.00", qty: str = "1.000", ts: int = 1000) -> PlaceOrder:
    return PlaceOrder(client_order_id=cid, symbol=SYMBOL, side=Side.BUY, price=D(price), quantity=D(qty), ts_ms=ts)


def order_updates(probe: ProbeHandle, cid: str) -> list[OrderUpdate]:
    return [u for u in probe.all(OrderUpdate) if u.client_order_id == cid]


@pytest.fixture
def wired() -> tuple[ProbeHandle, ProbeHandle, object]:
    market, sub = ProbeHandle(), ProbeHandle()
    ex = OrderExecutorActor.start(settings(), market=market.ref)
    ex.tell(Subscribe(subscriber=sub.ref))
    sub.wait_for(FiltersUpdated)
    return market, sub, ex


def test_subscribes_to_the_market_and_greets_subscribers(wired) -> None:
    market, sub, ex = wired
    [s] = market.wait_for(Subscribe)
    assert s.subscriber == ex
    [f] = sub.wait_for(FiltersUpdated)
    assert f.filters.tick_size == D("0.01") and f.filters.symbol == SYMBOL
    balances = {b.asset: b for b in sub.wait_for(BalanceUpdated, count=2)}
    assert balances["USDC"].free == D("1000") and balances["TRUMP"].free == 0


def test_place_fill_and_ack_after_the_fills() -> None:
    """One probe plays market and subscriber: its inbox order shows the fills come before the ack."""
    both = ProbeHandle()
    ex = OrderExecutorActor.start(settings(), market=both.ref)
    ex.tell(Subscribe(subscriber=both.ref))
    ex.tell(snap(1))
    both.wait_for(SnapshotProcessed, lambda m: m.seq == 1)
    ex.tell(buy("b1", ts=1000))
    both.wait_for(OrderUpdate, lambda u: u.status is OrderStatus.NEW)
    ex.tell(snap(2, trades=(tick(1, "10.00", "0.4", 1500), tick(2, "9.99", "2", 1600))))
    [ack] = both.wait_for(SnapshotProcessed, lambda m: m.seq == 2)
    assert ack.subscriber_urn == ex.actor_urn
    msgs = both.all()
    i_ack = msgs.index(ack)
    fills = [m for m in msgs if isinstance(m, OrderUpdate) and m.last_qty > 0]
    assert [f.cum_qty for f in fills] == [D("0.4"), D("1")]
    assert fills[-1].status is OrderStatus.FILLED
    assert all(msgs.index(f) < i_ack for f in fills)
    # the balances after the fills come before the ack too
    trump = [m for m in msgs[:i_ack] if isinstance(m, BalanceUpdated) and m.asset == "TRUMP"]
    assert trump[-1].free == D("1") - D("0.001")


def test_every_snapshot_is_acked_even_with_nothing_to_match(wired) -> None:
    market, _sub, ex = wired
    for seq in range(1, 21):
        ex.tell(snap(seq))
    acks = market.wait_for(SnapshotProcessed, count=20)
    assert [a.seq for a in acks] == list(range(1, 21))


def test_cancel_and_cancel_after_fill(wired) -> None:
    market, sub, ex = wired
    ex.tell(snap(1))
    ex.tell(buy("b1"))
    ex.tell(buy("b2"))
    sub.wait_for(OrderUpdate, lambda u: u.status is OrderStatus.NEW, count=2)
    ex.tell(snap(2, trades=(tick(1, "10.00", "1.5", 1500),)))  # b1 fills, b2 half
    market.wait_for(SnapshotProcessed, lambda m: m.seq == 2)
    ex.tell(CancelOrder(client_order_id="b1", symbol=SYMBOL, ts_ms=3000))
    ex.tell(CancelOrder(client_order_id="b2", symbol=SYMBOL, ts_ms=3000))
    sub.wait_for(OrderUpdate, lambda u: u.client_order_id == "b2" and u.status is OrderStatus.CANCELED)
    b1 = order_updates(sub, "b1")
    assert b1[-1].status is OrderStatus.FILLED  # the true outcome, not a fake CANCELED
    assert not any(u.status is OrderStatus.CANCELED for u in b1)
    b2 = order_updates(sub, "b2")
    assert b2[-1].cum_qty == D("0.5")
    stats = ex.ask(GetStats(), timeout=5).as_dict()
    assert stats["cancels"] == 1 and stats["fills"] == 2 and stats["acks"] == 2


def test_refusals_and_queries(wired) -> None:
    _market, sub, ex = wired
    ex.tell(buy("tiny", price="10.00", qty="0.05"))  # 0.5 USDC < min notional 1
    ex.tell(buy("offgrid", price="10.005"))
    ex.tell(buy("huge", price="10.00", qty="500"))  # 5000 USDC > 1000
    rejected = sub.wait_for(OrderUpdate, lambda u: u.status is OrderStatus.REJECTED, count=3)
    reasons = {u.client_order_id: u.reject_reason for u in rejected}
    assert "minimum notional" in reasons["tiny"]
    assert "tick size" in reasons["offgrid"]
    assert "insufficient balance" in reasons["huge"]
    ex.tell(QueryOrder(client_order_id="never", symbol=SYMBOL))
    [q] = sub.wait_for(OrderUpdate, lambda u: u.client_order_id == "never")
    assert q.status is OrderStatus.REJECTED and q.reject_reason == UNKNOWN_ORDER
    ex.tell(buy("b1"))
    ex.tell(QueryOrder(client_order_id="b1", symbol=SYMBOL))
    found = sub.wait_for(OrderUpdate, lambda u: u.client_order_id == "b1", count=2)
    assert [u.status for u in found] == [OrderStatus.NEW, OrderStatus.NEW]
    stats = ex.ask(GetStats(), timeout=5)
    assert isinstance(stats, Stats) and stats.source == "executor"
    values = stats.as_dict()
    assert values["rejects"] == 3 and values["acks"] == 1 and values["orders_sent"] == 4
    for key in ("orders_sent", "acks", "fills", "rejects", "cancels", "unknown_outcomes", "used_weight_1m",
                "order_count_10s", "paused_until_ms"):
        assert key in values


def test_fee_rate_and_balance_come_from_settings() -> None:
    # built as load_settings does: fee_rate sets maker_fee and taker_fee both (settings_links.resolve_fees)
    s = replace(settings(paper_quote_balance=D("50")),
                trading=replace(Settings().trading, fee_rate=D("0.002"), maker_fee=D("0.002"), taker_fee=D("0.002")))
    sub = ProbeHandle()
    ex = OrderExecutorActor.start(s)  # no market: snapshots are still matched, nothing to ack
    ex.tell(Subscribe(subscriber=sub.ref))
    [usdc] = sub.wait_for(BalanceUpdated, lambda b: b.asset == "USDC")
    assert usdc.free == D("50")
    ex.tell(snap(1))
    ex.tell(buy("b1", price="10.00", qty="2.000"))
    ex.tell(snap(2, trades=(tick(1, "9.90", "5", 2000),)))
    [fill] = sub.wait_for(OrderUpdate, lambda u: u.last_qty > 0)
    assert (fill.commission, fill.commission_asset) == (D("0.004"), "TRUMP")
    sub.wait_for(BalanceUpdated, lambda b: b.asset == "TRUMP" and b.free == D("1.996"))


def test_feed_finished_is_harmless(wired) -> None:
    _market, _sub, ex = wired
    ex.tell(FeedFinished(symbol=SYMBOL, ts_ms=1, events=0))
    assert ex.ask(GetStats(), timeout=5).as_dict()["feed_finished"] == 1


def test_on_bars_a_resting_order_wakes_the_executor_on_every_snapshot_and_fills_next_bar() -> None:
    """A bar's low can reach a buy whose price the bar's close (the snapshot's trade price) never did."""
    def bar_snap(seq: int, o: str, h: str, lo: str, c: str) -> MarketSnapshot:
        b = Candle(open_ms=seq * 60_000, open=D(o), high=D(h), low=D(lo), close=D(c), volume=D(10))
        t = TradeTick(trade_id=seq, price=b.close, qty=b.volume, ts_ms=b.open_ms + 59_999, buyer_is_maker=False, bar=b)
        return replace(snap(seq, bid=str(b.close - D("0.01")), ask=c, trades=(t,)), ts_snapshot_ms=t.ts_ms,
                       ts_data_ms=t.ts_ms)

    both = ProbeHandle()
    ex = OrderExecutorActor.start(settings(), market=both.ref)
    ex.tell(Subscribe(subscriber=both.ref))
    first = bar_snap(1, "10.50", "10.60", "9.90", "10.50")
    ex.tell(first)
    both.wait_for(SnapshotProcessed, lambda m: m.seq == 1)
    ex.tell(buy("b1", price="10.00", ts=first.ts_snapshot_ms))  # at or above bar 1's low: bar 1 does not count
    both.wait_for(OrderUpdate, lambda u: u.status is OrderStatus.NEW)
    ex.tell(bar_snap(2, "10.50", "10.60", "10.40", "10.50"))
    [ack] = both.wait_for(SnapshotProcessed, lambda m: m.seq == 2)
    assert ack.wake is None and not [u for u in both.all(OrderUpdate) if u.last_qty]
    ex.tell(bar_snap(3, "10.50", "10.60", "9.95", "10.50"))  # the low trades through; the close does not
    both.wait_for(SnapshotProcessed, lambda m: m.seq == 3)
    [fill] = [u for u in both.all(OrderUpdate) if u.last_qty]
    assert (fill.last_price, fill.last_qty, fill.status) == (D("10.00"), D("1.000"), OrderStatus.FILLED)
    ex.stop()


def test_the_paper_executor_loads_nothing_of_binance_mode() -> None:
    """Binance mode's modules (and aiohttp) load only when it runs (in a fresh interpreter)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, actors.order_executor.actor; "
            "print(sorted(m for m in sys.modules if m == 'aiohttp' or m.startswith('actors.binance')))")
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
                         cwd=root, env={**os.environ, "PYTHONPATH": root})
    assert out.stdout.strip() == "[]"
