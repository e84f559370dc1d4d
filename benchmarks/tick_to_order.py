"""Tick-to-order latency: a MarketSnapshot told to the StateKeeper → the PlaceOrder it sends.

The measured case is the keeper holding a cached, still valid advice when the
snapshot arrives, so the snapshot alone decides the order. Method, one sample:

1. A NEW StateKeeperActor (fresh state, a fresh SQLite journal in a temp dir;
   every sample starts from the same clean state: READY_TO_BUY, nothing held),
   with probe actors as executor, consultant and market.
2. Snapshot 1 → the keeper asks the probe consultant. The feed goes stale
   (`FeedStatusChanged(stale=True)`), the buy advice arrives (so the keeper
   keeps it but may not act on it), the feed comes back. An `ask(GetStatus)`
   makes sure all of that is done. The keeper now holds a valid, unused advice.
3. `t0 = perf_counter_ns()`; snapshot 2 (1 s later, same prices) is told to the
   keeper; the probe executor stamps `perf_counter_ns()` first thing when the
   PlaceOrder reaches it. Latency = stamp - t0: the hop in, the decision, the
   journal commit of the intent (it is committed before the order leaves), the
   hop out. A thin subclass of the keeper also stamps when `on_receive` starts
   and a wrapper around the executor's ref when `tell(PlaceOrder)` returns, to
   split the figure into: hop in / inside the keeper / hop out.
4. The keeper is stopped and the next sample starts from scratch.

Also measured in the same run:
- the same without a journal (`tick_to_order_nojournal_*`);
- the path with no advice held, through a real AIConsultantActor whose cache
  holds the answer (`tick_to_order_via_ai_cache_*`: snapshot → AdviceRequest →
  cache hit → Advice → PlaceOrder, 4 hops), with the fake OpenRouter warming the cache;
- the pure core (`KeeperCore.on_snapshot`, no actor, no journal) decision time;
- baselines: one raw pykka hop (main thread → probe) and two hops through an
  empty relay actor (the least any actor in the middle can cost).
The first 5 % of each series is a warm-up and is dropped.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pykka
from _common import (
    FILTERS,
    advice_for,
    bench_settings,
    emit,
    hop_samples,
    parse_args,
    percentile,
    probe,
    quiet_logging,
    snapshot,
    stop_all_actors,
    summary_us,
)

from actors.messages import (
    AdviceRequest,
    FeedStatusChanged,
    GetStats,
    GetStatus,
    MarketSnapshot,
    PlaceOrder,
    TradingState,
)
from actors.state_keeper.actor import StateKeeperActor
from actors.state_keeper.core import CONSULTANT, EXECUTOR, KeeperCore
from actors.state_keeper.journal import Journal

D = Decimal


class StampedKeeper(StateKeeperActor):
    """The real keeper, plus a timestamp when a snapshot starts being handled."""

    def __init__(self, *args: Any, stamps: dict[int, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stamps = stamps  # snapshot seq -> when its handling started

    def on_receive(self, message: Any) -> Any:
        if type(message) is MarketSnapshot:
            self.stamps[message.seq] = time.perf_counter_ns()
        return super().on_receive(message)


class StampedRef:
    """Wraps the executor's ref: stamps when `tell(PlaceOrder)` has returned (the order has left)."""

    def __init__(self, ref: pykka.ActorRef[Any], stamps: list[int]) -> None:
        self.ref = ref
        self.stamps = stamps
        self.actor_urn = ref.actor_urn

    def tell(self, message: Any) -> None:
        self.ref.tell(message)
        if isinstance(message, PlaceOrder):
            self.stamps.append(time.perf_counter_ns())


def stale(flag: bool) -> FeedStatusChanged:
    return FeedStatusChanged(symbol="TRUMPUSDC", stale=flag, reason="benchmark", ts_ms=0)


def keeper_samples(n: int, tmp: Path | None) -> dict[str, list[int]]:
    total, hop_in, inside, hop_out = [], [], [], []
    market, _ = probe()
    executor, placed = probe()
    consultant, asked = probe()
    s1, s2 = snapshot(1), snapshot(2)
    for i in range(n):
        journal = Journal(tmp / f"j{i}.sqlite3") if tmp is not None else None
        entered: dict[int, int] = {}
        left: list[int] = []
        keeper = StampedKeeper.start(bench_settings(), market=market, executor=StampedRef(executor, left),
                                     consultant=consultant, journal=journal, filters=FILTERS, id_prefix=f"t{i}",
                                     stamps=entered)
        keeper.tell(s1)
        ((_t, req),) = asked.wait_for(AdviceRequest)
        keeper.tell(stale(True))
        keeper.tell(advice_for(req, "buy", req.snapshot.bid, valid_until_ms=s1.ts_snapshot_ms + 60_000))
        keeper.tell(stale(False))
        st = keeper.ask(GetStatus(recent_trades=0), timeout=10)
        assert st.state is TradingState.READY_TO_BUY and st.last_advice is not None
        assert not [m for _t, m in placed.got if isinstance(m, PlaceOrder)]
        t0 = time.perf_counter_ns()
        keeper.tell(s2)
        ((t1, cmd),) = placed.wait_for(PlaceOrder)
        assert cmd.price == s2.bid
        total.append(t1 - t0)
        hop_in.append(entered[2] - t0)
        inside.append(left[0] - entered[2])
        hop_out.append(t1 - left[0])
        keeper.stop()
        if journal is not None:
            journal.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{journal.path}{suffix}").unlink(missing_ok=True)
        placed.clear()
        asked.clear()
    stop_all_actors()
    return {"total": total, "hop_in": hop_in, "inside": inside, "hop_out": hop_out}


def via_ai_cache_samples(n: int) -> list[int]:
    from actors._lib.secrets import Secret
    from actors.ai_consultant.actor import AIConsultantActor
    from tests._support.fakes.openrouter import FakeOpenRouter

    fake = FakeOpenRouter()
    fake.start()
    try:
        s = bench_settings()
        s = dataclasses.replace(s, ai=dataclasses.replace(
            s.ai, base_url=fake.base_url, check_models_at_start=False, timeout_s=D(5)))
        ai = AIConsultantActor.start(s, Secret("-".join(("sk", "or", "v1", "fake", "benchmark", "key"))))
        market, _ = probe()
        executor, placed = probe()
        snap = snapshot(1)
        out = []
        for i in range(n + 1):
            keeper = StateKeeperActor.start(s, market=market, executor=executor, consultant=ai, filters=FILTERS,
                                            id_prefix=f"a{i}")
            keeper.ask(GetStatus(recent_trades=0), timeout=10)
            t0 = time.perf_counter_ns()
            keeper.tell(snap)
            ((t1, _cmd),) = placed.wait_for(PlaceOrder)
            if i > 0:  # the first one paid for the model call that filled the cache
                out.append(t1 - t0)
            keeper.stop()
            placed.clear()
        stats = ai.ask(GetStats(), timeout=5).as_dict()
        assert stats["model_calls"] == 1 and stats["cache_hits"] == n, stats
    finally:
        stop_all_actors()
        fake.stop()
    return out


def core_samples(n: int) -> list[int]:
    s = bench_settings()
    s1, s2 = snapshot(1), snapshot(2)
    out = []
    for _ in range(n):
        core = KeeperCore(s, FILTERS, "c")
        (_target, req), = [e for e in core.on_snapshot(s1) if e[0] == CONSULTANT]
        core.on_feed_status(stale(True))
        core.on_advice(advice_for(req, "buy", req.snapshot.bid, valid_until_ms=s1.ts_snapshot_ms + 60_000))
        core.on_feed_status(stale(False))
        core.journal.clear()
        t0 = time.perf_counter_ns()
        effects = core.on_snapshot(s2)
        t1 = time.perf_counter_ns()
        assert any(t == EXECUTOR and isinstance(m, PlaceOrder) for t, m in effects)
        out.append(t1 - t0)
    return out


def trim(xs: list[int]) -> list[int]:
    return xs[max(1, len(xs) // 20):]


def main() -> None:
    args = parse_args(__doc__)
    quiet_logging("ERROR")  # the stale/back feed of every sample would log a warning
    n = 100 if args.quick else 1000
    result: dict[str, Any] = {"tick_to_order_method": "new keeper per sample; cached advice held by the keeper; "
                              "send -> probe executor receives PlaceOrder; journal in a temp dir"}
    with tempfile.TemporaryDirectory(prefix="bench-t2o-") as tmp:
        parts = {k: trim(v) for k, v in keeper_samples(n, Path(tmp)).items()}
    result.update(summary_us(parts["total"], "tick_to_order"))
    for k in ("hop_in", "inside", "hop_out"):
        result.update({key: v for key, v in summary_us(parts[k], f"tick_to_order_{k}").items()
                       if key.endswith(("p50_us", "p99_us"))})
    print(f"tick to order (journal): p50 {result['tick_to_order_p50_us']} us, p99 {result['tick_to_order_p99_us']} us",
          file=sys.stderr, flush=True)
    nj = keeper_samples(max(50, n // 2), None)
    result.update(summary_us(trim(nj["total"]), "tick_to_order_nojournal"))
    result.update({k: v for k, v in summary_us(trim(nj["inside"]), "tick_to_order_nojournal_inside").items()
                   if k.endswith(("p50_us", "p99_us"))})
    result.update(summary_us(via_ai_cache_samples(max(50, n // 2)), "tick_to_order_via_ai_cache"))
    result.update(summary_us(trim(core_samples(n * 5)), "core_decision"))
    hop = trim(hop_samples(n * 2, relay=False))
    relay2 = trim(hop_samples(n * 2, relay=True))
    result.update(summary_us(hop, "raw_hop"))
    result.update(summary_us(relay2, "raw_relay_2hop"))
    result["tick_to_order_vs_2hop_p99_ratio"] = round(
        result["tick_to_order_p99_us"] / (percentile(relay2, 99) / 1000), 2)
    emit(result)


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all_actors()
