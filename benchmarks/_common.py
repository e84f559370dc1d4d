"""Shared helpers for the benchmark scripts (never imported by the bot or the tests).

Every benchmark script is standalone (`python benchmarks/X.py [--quick]`) and
prints ONE JSON object on its last stdout line; `run_all.py` merges them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pykka  # noqa: E402
from loguru import logger  # noqa: E402

from actors.messages import (  # noqa: E402
    Advice,
    AdviceAction,
    AdviceRequest,
    AdviceSource,
    MarketSnapshot,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    Side,
)
from actors.settings import Settings, StatusSettings, StorageSettings, StrategySettings  # noqa: E402
from tests._support.helpers import FILTERS as FILTERS  # noqa: E402  (one FILTERS for the tests and the benchmarks)

D = Decimal


# -- running -----------------------------------------------------------------------------


def parse_args(doc: str | None = None, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    p.add_argument("--quick", action="store_true", help="small sizes (a CI smoke run)")
    if extra is not None:
        extra(p)
    return p.parse_args()


def quiet_logging(level: str = "WARNING") -> None:
    """The bot's own log calls still run (bind, level check); only records at `level` and up are written."""
    logger.remove()
    logger.add(sys.stderr, level=level)


def emit(result: dict[str, Any]) -> None:
    """The one JSON line `run_all.py` reads: the last line on stdout."""
    sys.stdout.flush()
    print(json.dumps(result, default=_jsonable, sort_keys=True), flush=True)


def _jsonable(o: Any) -> Any:
    if isinstance(o, Decimal):
        return float(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON: {type(o).__name__}")


def stop_all_actors() -> None:
    pykka.ActorRegistry.stop_all(timeout=10)


# -- statistics --------------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`."""
    v = sorted(values)
    if not v:
        return math.nan
    k = max(0, min(len(v) - 1, math.ceil(q / 100 * len(v)) - 1))
    return v[k]


def summary_us(ns: list[int], prefix: str) -> dict[str, float]:
    us = [x / 1000 for x in ns]
    return {
        f"{prefix}_p50_us": round(percentile(us, 50), 1),
        f"{prefix}_p90_us": round(percentile(us, 90), 1),
        f"{prefix}_p99_us": round(percentile(us, 99), 1),
        f"{prefix}_max_us": round(max(us), 1),
        f"{prefix}_samples": len(us),
    }


# -- probe actors ------------------------------------------------------------------------


class Recorder:
    """A probe actor's memory: (perf_counter_ns at receipt, message), thread-safe."""

    def __init__(self) -> None:
        self.got: list[tuple[int, Any]] = []
        self.cond = threading.Condition()

    def wait_for(self, kind: type, count: int = 1, timeout: float = 10.0,
                 predicate: Callable[[Any], bool] = lambda _m: True) -> list[tuple[int, Any]]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [(t, m) for t, m in self.got if isinstance(m, kind) and predicate(m)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"waited {timeout} s for {count} x {kind.__name__}; got "
                                       f"{[type(m).__name__ for _t, m in self.got][-10:]}")
                self.cond.wait(left)

    def clear(self) -> None:
        with self.cond:
            self.got.clear()


class ProbeActor(pykka.ThreadingActor):
    """Records every message with `time.perf_counter_ns()` first thing; `respond` may act on it.

    A deliberate near-copy of `tests.probes.Probe`: the timestamp must come before any other work.
    """

    def __init__(self, rec: Recorder, respond: Callable[[Any], Any] | None = None) -> None:
        super().__init__()
        self.rec = rec
        self.respond = respond

    def on_receive(self, message: Any) -> Any:
        t = time.perf_counter_ns()
        with self.rec.cond:
            self.rec.got.append((t, message))
            self.rec.cond.notify_all()
        if self.respond is not None:
            return self.respond(message)
        return None


def probe(respond: Callable[[Any], Any] | None = None) -> tuple[pykka.ActorRef[Any], Recorder]:
    rec = Recorder()
    return ProbeActor.start(rec, respond), rec


class EmptyActor(pykka.ThreadingActor):
    """The baseline: an actor that does nothing with what it is told."""

    def on_receive(self, message: Any) -> Any:
        return None


class Relay(pykka.ThreadingActor):
    """Passes every message on: the cost of one actor in the middle that does nothing."""

    def __init__(self, to: pykka.ActorRef[Any]) -> None:
        super().__init__()
        self.to = to

    def on_receive(self, message: Any) -> Any:
        self.to.tell(message)


def hop_samples(n: int, relay: bool) -> list[int]:
    """Latency of main thread -> probe (one hop), or -> relay -> probe (two hops), in ns."""
    target, rec = probe()
    first = Relay.start(target) if relay else target
    out = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        first.tell(i)
        ((t1, _m),) = rec.wait_for(int, predicate=lambda m, i=i: m == i)
        out.append(t1 - t0)
        rec.clear()
    first.stop()
    if relay:
        target.stop()
    return out


# -- builders ----------------------------------------------------------------------------


def bench_settings(**trading: Any) -> Settings:
    s = Settings(storage=StorageSettings(path=":memory:"), status=StatusSettings(port=0),
                 strategy=StrategySettings(name="trend"))  # the strategy these figures were first measured with
    if trading:
        s = dataclasses.replace(s, trading=dataclasses.replace(s.trading, **trading))
    return s


def snapshot(seq: int, bid: str | Decimal = "9.99", ask: str | Decimal = "10.01", ts_ms: int | None = None,
             **kw: Any) -> MarketSnapshot:
    b, a = D(bid), D(ask)
    mid = (b + a) / 2
    ts = ts_ms if ts_ms is not None else 1_748_736_000_000 + seq * 1000
    return MarketSnapshot(
        symbol="TRUMPUSDC", seq=seq, ts_data_ms=ts, ts_snapshot_ms=ts, bid=b, bid_qty=D(50), ask=a, ask_qty=D(40),
        mid=mid, spread_bps=(a - b) / mid * 10000, imbalance=D("0.1"), microprice=mid, last_price=mid,
        last_qty=D(1), vwap=mid, volatility=D("0.001"), **kw,
    )


def advice_for(req_or_id: AdviceRequest | str, action: str, price: Decimal | str | None, *,
               confidence: str = "0.9", valid_until_ms: int = 10**15) -> Advice:
    rid = req_or_id if isinstance(req_or_id, str) else req_or_id.request_id
    p = D(price) if price is not None else None
    return Advice(
        request_id=rid, action=AdviceAction(action), base_price=p, price_range=(p, p) if p is not None else None,
        confidence=D(confidence), reasoning="benchmark", source=AdviceSource.MODEL, ts_ms=0,
        valid_until_ms=valid_until_ms,
    )


FEE_RATE = D("0.001")


def fill(cmd: PlaceOrder, status: str, cum: Decimal, *, last: Decimal, trade_id: int, ts_ms: int,
         fee_rate: Decimal = FEE_RATE) -> OrderUpdate:
    """An OrderUpdate shaped like the paper exchange's: commission in the base asset on a buy, quote on a sell."""
    price = cmd.price
    buy = cmd.side is Side.BUY
    commission = (last * fee_rate) if buy else (last * price * fee_rate).quantize(D("1e-8"))
    return OrderUpdate(
        symbol=cmd.symbol, client_order_id=cmd.client_order_id, status=OrderStatus(status), side=cmd.side,
        exchange_order_id="x" + cmd.client_order_id, price=price, orig_qty=cmd.quantity, cum_qty=cum,
        cum_quote=cum * price, last_qty=last, last_price=price, commission=commission,
        commission_asset="TRUMP" if buy else "USDC", trade_id=trade_id, ts_ms=ts_ms,
    )


def ack(cmd: PlaceOrder, ts_ms: int) -> OrderUpdate:
    return OrderUpdate(
        symbol=cmd.symbol, client_order_id=cmd.client_order_id, status=OrderStatus.NEW, side=cmd.side,
        exchange_order_id="x" + cmd.client_order_id, price=cmd.price, orig_qty=cmd.quantity, ts_ms=ts_ms,
    )


# -- a realistic round trip through the pure core -------------------------------------------


class CoreDriver:
    """Drives a `KeeperCore` through whole trades the way the actors would.

    One trade: snapshot (READY_TO_BUY) → advice request → buy advice → PlaceOrder
    BUY → NEW → PARTIALLY_FILLED → FILLED (fee in TRUMP) → snapshot (READY_TO_SELL)
    → advice request → sell advice at the keeper's minimum → PlaceOrder SELL →
    NEW → FILLED (fee in USDC) → trade closed, READY_TO_BUY. Market time moves
    2 s per snapshot. `sink(kind, payload)` gets every fact the core recorded
    (the actor would write them to the journal); by default they are dropped.
    """

    def __init__(self, core: Any, sink: Callable[[str, Any], None] | None = None) -> None:
        from actors.state_keeper.core import CONSULTANT, EXECUTOR

        self.core = core
        self.sink = sink
        self.seq = 0
        self.ts = 1_748_736_000_000
        self.trade_id = 0
        self._consultant, self._executor = CONSULTANT, EXECUTOR

    def _drain(self) -> None:
        if self.sink is not None:
            for kind, payload in self.core.journal:
                self.sink(kind, payload)
        self.core.journal.clear()

    def _snap(self) -> Any:
        self.seq += 1
        self.ts += 2000
        wobble = D(self.seq % 7 - 3) / 100  # the market moves a few ticks around 10.00
        return snapshot(self.seq, D("9.99") + wobble, D("10.01") + wobble, ts_ms=self.ts)

    def _order(self, action: str) -> PlaceOrder:
        core = self.core
        effects = core.on_snapshot(self._snap())
        req = next(m for t, m in effects if t == self._consultant)
        price = req.snapshot.bid if action == "buy" else req.min_sell_price
        effects = core.on_advice(advice_for(req, action, price, valid_until_ms=self.ts + 60_000))
        cmd = next(m for t, m in effects if t == self._executor)
        self._drain()
        return cmd

    def trade(self) -> None:
        core = self.core
        buy = self._order("buy")
        half = (buy.quantity / 2).quantize(D("0.001"))
        self.trade_id += 1
        core.on_order_update(ack(buy, self.ts))
        core.on_order_update(fill(buy, "PARTIALLY_FILLED", half, last=half, trade_id=self.trade_id, ts_ms=self.ts + 1))
        self.trade_id += 1
        core.on_order_update(fill(buy, "FILLED", buy.quantity, last=buy.quantity - half, trade_id=self.trade_id,
                                  ts_ms=self.ts + 2))
        self._drain()
        sell = self._order("sell")
        self.trade_id += 1
        core.on_order_update(ack(sell, self.ts))
        core.on_order_update(fill(sell, "FILLED", sell.quantity, last=sell.quantity, trade_id=self.trade_id,
                                  ts_ms=self.ts + 3))
        self._drain()
