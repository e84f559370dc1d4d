"""Executor measurements (never part of the test run): `python -m benchmarks.executor` from the repo root.

1. Paper engine alone: snapshots per second with no resting order and with one
   (the 1M-trade replay case), and place-to-fill round trips per second.
2. Paper exchange through the actor: place -> NEW -> FILLED round trips per second,
   seen by a subscriber.
3. Binance mode against the local stand-in (tests/_support/fakes/binance_exchange.py):
   place-to-acknowledged latency (PlaceOrder told -> NEW received), p50/p99.
4. Kline bars, no threads: the actor's `on_receive` called on this thread for
   `next_bar` snapshots (one tick carrying its bar), with nothing resting and
   with one resting buy under every bar; the market's acknowledgement goes to a
   plain list. What the executor itself costs per bar in a kline backtest,
   without the pykka hop.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from decimal import Decimal
from typing import Any

import pykka

from actors.messages import (
    Candle,
    FiltersUpdated,
    GetStats,
    MarketSnapshot,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    Side,
    Subscribe,
    TradeTick,
)
from actors.order_executor.filters import paper_filters
from actors.order_executor.paper import PaperExchange
from actors.settings import ExchangeSettings, Settings

D = Decimal


def _snap(seq: int, trades: tuple[TradeTick, ...], bid: str = "10.50", ask: str = "10.60") -> MarketSnapshot:
    b, a = D(bid), D(ask)
    return MarketSnapshot(
        symbol="TRUMPUSDC", seq=seq, ts_data_ms=seq, ts_snapshot_ms=seq, bid=b, bid_qty=D(50), ask=a, ask_qty=D(50),
        mid=(a + b) / 2, spread_bps=D(0), imbalance=D(0), microprice=(a + b) / 2, trades=trades,
    )


def bench_engine(total_trades: int = 1_000_000, per_snapshot: int = 100) -> dict[str, float]:
    s = Settings()
    out: dict[str, float] = {}
    tape = [
        TradeTick(trade_id=i, price=D("10.55") + D(i % 7) / 100, qty=D("0.5"), ts_ms=i, buyer_is_maker=bool(i % 2))
        for i in range(per_snapshot)
    ]
    chunk = tuple(tape)
    snaps = [_snap(i, chunk) for i in range(total_trades // per_snapshot)]
    for label, resting in (("no resting order", False), ("one resting order", True)):
        ex = PaperExchange(paper_filters(s.symbol, s.exchange), D("0.001"), D("1000000"))
        if resting:  # far below the tape: checked against every trade, never filled
            ex.place(PlaceOrder(client_order_id="r", symbol="TRUMPUSDC", side=Side.BUY, price=D("1.00"),
                                quantity=D("1"), ts_ms=0))
        t0 = time.perf_counter()
        for sn in snaps:
            ex.on_snapshot(sn)
        dt = time.perf_counter() - t0
        out[f"engine, {label}: snapshots/s ({per_snapshot} trades each)"] = len(snaps) / dt
        out[f"engine, {label}: seconds for {total_trades} trades"] = dt
    # round trips: place a buy, a snapshot with one trade fills it
    ex = PaperExchange(paper_filters(s.symbol, s.exchange), D("0.001"), D("1e12"))
    fill_tape = (TradeTick(trade_id=1, price=D("9.99"), qty=D("5"), ts_ms=1, buyer_is_maker=True),)
    n = 100_000
    t0 = time.perf_counter()
    for i in range(n):
        ex.place(PlaceOrder(client_order_id=f"o{i}", symbol="TRUMPUSDC", side=Side.BUY, price=D("10.00"),
                            quantity=D("1"), ts_ms=0))
        ex.on_snapshot(_snap(i, fill_tape))
    out["engine: place+fill round trips/s"] = n / (time.perf_counter() - t0)
    return out


class _Counter(pykka.ThreadingActor):
    def __init__(self, target: int, done: threading.Event) -> None:
        super().__init__()
        self.filled = 0
        self.target = target
        self.done = done

    def on_receive(self, message: Any) -> None:
        if isinstance(message, OrderUpdate) and message.status is OrderStatus.FILLED:
            self.filled += 1
            if self.filled >= self.target:
                self.done.set()


def bench_actor(n: int = 20_000) -> dict[str, float]:
    from actors.order_executor.actor import OrderExecutorActor

    s = Settings(exchange=ExchangeSettings(paper_quote_balance=D("1e12")))
    ex = OrderExecutorActor.start(s)
    done = threading.Event()
    counter_ref = _Counter.start(n, done)
    ex.tell(Subscribe(subscriber=counter_ref))
    fill_tape = (TradeTick(trade_id=1, price=D("9.99"), qty=D("5"), ts_ms=1, buyer_is_maker=True),)
    snaps = [_snap(i, fill_tape) for i in range(n)]
    orders = [PlaceOrder(client_order_id=f"o{i}", symbol="TRUMPUSDC", side=Side.BUY, price=D("10.00"),
                         quantity=D("1"), ts_ms=0) for i in range(n)]
    t0 = time.perf_counter()
    for order, sn in zip(orders, snaps, strict=True):
        ex.tell(order)
        ex.tell(sn)
    if not done.wait(120):
        raise RuntimeError("the actor benchmark did not finish")
    dt = time.perf_counter() - t0
    # empty snapshots through the actor (the replay hot path)
    empty = [_snap(i, ()) for i in range(n)]
    t1 = time.perf_counter()
    for sn in empty:
        ex.tell(sn)
    ex.ask(GetStats(), timeout=60)
    dt_empty = time.perf_counter() - t1
    pykka.ActorRegistry.stop_all(timeout=10)
    return {
        "actor: place+fill round trips/s (told, FILLED seen by a subscriber)": n / dt,
        "actor: snapshots/s with nothing resting": n / dt_empty,
    }


class _Sink:
    actor_urn = "sink"

    def __init__(self) -> None:
        self.got: list[Any] = []

    def tell(self, message: Any) -> None:
        self.got.append(message)


def bench_bars(n: int = 20_000) -> dict[str, float]:
    from actors.order_executor.actor import OrderExecutorActor

    s = Settings(exchange=ExchangeSettings(paper_quote_balance=D("1e12")))
    bars = []
    for i in range(n):
        o = D("10.50") + D(i % 13) / 100
        bar = Candle(open_ms=i * 300_000, open=o, high=o + D("0.05"), low=o - D("0.05"), close=o, volume=D(1000))
        tick = TradeTick(trade_id=i, price=o, qty=D(1000), ts_ms=i * 300_000 + 299_999, buyer_is_maker=False, bar=bar)
        bars.append(_snap(i, (tick,), bid=str(o - D("0.01")), ask=str(o + D("0.01"))))
    out: dict[str, float] = {}
    for label, resting in (("nothing resting", False), ("one resting buy", True)):
        best = None
        for _ in range(5):
            ex = OrderExecutorActor(s, market=None)  # not started: on_receive runs on this thread
            ex.on_start()
            ex._market = _Sink()  # type: ignore[assignment]  # receives the SnapshotProcessed acks
            if resting:  # far under every bar: checked on each one, never filled
                ex.on_receive(PlaceOrder(client_order_id="r", symbol="TRUMPUSDC", side=Side.BUY, price=D("1.00"),
                                         quantity=D("1"), ts_ms=0))
            t0 = time.perf_counter_ns()
            for sn in bars:
                ex.on_receive(sn)
            dt = time.perf_counter_ns() - t0
            best = dt if best is None else min(best, dt)
            assert len(ex._market.got) == n  # type: ignore[attr-defined]
        assert best is not None
        out[f"bars, no threads, {label}: us per bar"] = best / n / 1000
    return out


def bench_latency(n: int = 200) -> dict[str, float]:
    from actors._lib.secrets import Secret
    from actors.binance.config import BinanceTuning
    from actors.order_executor.actor import OrderExecutorActor
    from tests._support.fakes.binance_exchange import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeBinance
    from tests._support.probes import ProbeHandle

    fake = FakeBinance(balances={"USDC": "1000000", "TRUMP": "0"})
    rest, ws = fake.start()
    try:
        s = Settings(exchange=ExchangeSettings(kind="binance", rest_url=rest, ws_api_url=ws))
        ex = OrderExecutorActor.start(s, api_key=Secret(DEFAULT_API_KEY), api_secret=Secret(DEFAULT_API_SECRET),
                                      tuning=BinanceTuning())
        probe = ProbeHandle()
        ex.tell(Subscribe(subscriber=probe.ref))
        probe.wait_for(FiltersUpdated, timeout=10)
        deadline = time.monotonic() + 10
        while ex.ask(GetStats(), timeout=5).as_dict()["stream_up"] != 1:
            if time.monotonic() > deadline:
                raise RuntimeError("the user-data stream never came up")
            time.sleep(0.01)
        lat = []
        for i in range(n):
            cid = f"lat{i}"
            t0 = time.perf_counter()
            ex.tell(PlaceOrder(client_order_id=cid, symbol="TRUMPUSDC", side=Side.BUY, price=D("10.00"),
                               quantity=D("1"), ts_ms=0))
            probe.wait_for(OrderUpdate, lambda u, c=cid: u.client_order_id == c, timeout=10)
            lat.append((time.perf_counter() - t0) * 1000)
        lat.sort()
        pykka.ActorRegistry.stop_all(timeout=10)
        return {
            "binance stand-in: place->NEW p50 ms": statistics.median(lat),
            "binance stand-in: place->NEW p99 ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
            "binance stand-in: place->NEW max ms": lat[-1],
        }
    finally:
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    results: dict[str, float] = {}
    results.update(bench_engine(args.trades))
    results.update(bench_actor())
    results.update(bench_latency(args.orders))
    results.update(bench_bars())
    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f"{k:<{width}}  {v:,.2f}")


if __name__ == "__main__":
    main()
