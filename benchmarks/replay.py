"""The whole bot replaying 1,000,000 aggTrades: events per second, end to end.

The tape (`_tape.py`): 1M TRUMP/USDC-like aggTrades in Binance's public-data
CSV format, about 3.5 days of market time at ~3.3 trades/s in bursts,
generated once into `benchmarks/_data/`.

The run is the bot's own: `app.start(settings, Keys(), report_dir,
status_port=0, shared=app.shared_thread_for(settings))` (as `bootstrap.py` runs a
lockstep backtest: the actors on one shared thread) with `[market] source = "replay"` on the tape, the paper
exchange, no OpenRouter key (the fallback advisor decides), the journal in a
temp report folder, logging at INFO into a JSON-lines file there (no console),
as `bootstrap.py` would log. The clock starts before `app.start` (so it counts
actor start-up and reading the file, which the market actor does as it goes)
and stops when the keeper's status has `stopped_reason` set (it is polled
every 20 ms): the feed has finished and the keeper has handled the last
snapshot. events/s = trades in the file / that wall time.

The result depends on how many events each snapshot carries: in lockstep every
delivered snapshot makes several hops (market → executor → market → keeper
→ market, plus consultant round trips when the keeper asks; on the shared
thread each is a deque append, not a thread hand-off), so the cost is mostly
per snapshot, not per event. `[market] snapshot_interval_ms` (default
1000, `--interval-ms`) sets it; both counts are reported.

Where the time goes, in the same run:

- `replay_cpu_<thread>_s`: CPU seconds of each actor's thread (and the main
  thread's: start-up, imports, the status polls) during the bot's run, read
  from /proc at the end of it (Linux; absent elsewhere). Python threads share
  one GIL, so the wall time is about their sum plus the hand-overs.
- without any actor: the CSV reader alone (`replay_parse_events_per_s`); the
  reader and the cutting, with the snapshots left lazy as the bot leaves the
  ones nobody receives (`replay_cut_events_per_s`); and the same with every
  snapshot built, features, candles and trades (`replay_feed_events_per_s`,
  what the bot would pay if every cut were delivered).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import emit, parse_args, quiet_logging, stop_all_actors
from _tape import FULL, QUICK, ensure_tape

from actors import app
from actors.messages import GetStatus
from actors.settings import LoggingSettings, Settings


def replay_settings(tape: Path, interval_ms: int, log_file: Path) -> Settings:
    s = Settings()
    return dataclasses.replace(
        s,
        market=dataclasses.replace(s.market, source="replay", replay_path=str(tape), snapshot_interval_ms=interval_ms),
        logging=LoggingSettings(level="INFO", file=str(log_file)),
    )


def feed_only(settings: Settings) -> dict[str, Any]:
    """The market actor's work without actors: parse the file; parse and cut (lazy); parse, cut and build all."""
    from actors.market_data.cutter import SnapshotCutter
    from actors.market_data.features import Features
    from actors.market_data.replay import ReplaySource
    from actors.market_data.snapshot_builder import SnapshotBuilder

    m = settings.market
    t0 = time.perf_counter()
    src = ReplaySource(m.replay_path)
    events = sum(len(trades) for _book, trades in src.chunks())
    parse_s = time.perf_counter() - t0

    def cut(build: bool) -> tuple[float, int, int]:
        t0 = time.perf_counter()
        builder = SnapshotBuilder(settings.symbol, settings.exchange.tick_size, settings.exchange.step_size,
                                  Features(m.window_s, m.candles, m.trend_fast_s, m.trend_slow_s, m.regime_band))
        feed = SnapshotCutter(ReplaySource(m.replay_path).chunks(), builder, interval_ms=m.snapshot_interval_ms,
                              significant_move_bps=m.significant_move_bps)
        seq = 0
        step = feed.next_snapshot if build else feed.next_cut
        while step(seq + 1) is not None:
            seq += 1
        return time.perf_counter() - t0, feed.events, seq

    cut_s, cut_events, _ = cut(build=False)
    feed_s, feed_events, seq = cut(build=True)
    return {
        "replay_parse_events_per_s": round(events / parse_s),
        "replay_cut_events_per_s": round(cut_events / cut_s),
        "replay_feed_events_per_s": round(feed_events / feed_s),
        "replay_feed_snapshots_per_s": round(seq / feed_s),
        "replay_feed_snapshots": seq,
    }


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds (user + system) of each live thread so far, by name without the actor's number (Linux)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    out: dict[str, float] = {}
    for t in threading.enumerate():
        try:
            stat = Path(f"/proc/self/task/{t.native_id}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (name)": state is field 3, utime 14, stime 15
        name = t.name.rsplit("-", 1)[0] if t.name != "MainThread" else "main"
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


_CPU_NAMES = {"MarketDataActor": "market", "StateKeeperActor": "keeper", "OrderExecutorActor": "executor",
              "AIConsultantActor": "consultant", "main": "main"}


def run_bot(settings: Settings, report_dir: Path) -> dict[str, Any]:
    from actors.logging_setup import configure_logging

    configure_logging(settings.logging, console=False)
    cpu0 = thread_cpu_s().get("main", 0.0)
    proc0 = time.process_time()
    t0 = time.perf_counter()
    run = app.start(settings, app.Keys(), report_dir, status_port=0, shared=app.shared_thread_for(settings))
    started = time.perf_counter() - t0
    try:
        keeper = run["keeper"]
        while True:
            st = keeper.ask(GetStatus(recent_trades=0), timeout=60)
            if st.stopped_reason:
                break
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        proc_s = time.process_time() - proc0
        cpu = thread_cpu_s()
        cpu["main"] = cpu.get("main", 0.0) - cpu0
        st = keeper.ask(GetStatus(recent_trades=None), timeout=60)
        market = run.stats("market") or {}
        executor = run.stats("executor") or {}
        ai = run.stats("ai") or {}
    finally:
        app.stop(run)
        quiet_logging()
    counters = dict(st.counters)
    closed = sum(1 for t in st.trades if t.status == "CLOSED")
    return {
        "wall_s": wall,
        "start_s": started,
        "events": market.get("events", 0),
        "snapshots": market.get("snapshots", 0),
        "bad_events": market.get("bad_events", 0),
        "skipped": market.get("skipped"),
        "executor_snapshots": executor.get("snapshots"),
        "trades_closed": closed,
        "orders": counters.get("orders", 0),
        "fills": executor.get("fills", 0),
        "advice_requests": counters.get("advice_requests", 0),
        "ai_calls": ai.get("calls", 0),
        "realized_pnl": str(st.realized_pnl),
        "stopped_reason": st.stopped_reason,
        "halted": st.halted_reason,
        "cpu": cpu,
        "process_cpu_s": proc_s,
    }


def main() -> None:
    args = parse_args(__doc__, lambda p: (
        p.add_argument("--interval-ms", type=int, default=1000, help="[market] snapshot_interval_ms (default 1000)"),
        p.add_argument("--no-feed-only", action="store_true", help="skip the actor-free reference runs"),
    ))
    quiet_logging()
    n = QUICK if args.quick else FULL
    tape, meta = ensure_tape(n)
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        settings = replay_settings(tape, args.interval_ms, Path(tmp) / "trader.jsonl")
        print(f"replaying {n:,} trades from {tape} ...", file=sys.stderr, flush=True)
        r = run_bot(settings, Path(tmp) / "report")
        log_lines = sum(1 for _ in (Path(tmp) / "trader.jsonl").open()) if (Path(tmp) / "trader.jsonl").exists() else 0
    assert r["events"] == n, f"the bot saw {r['events']} events of {n}"
    assert r["bad_events"] == 0
    out: dict[str, Any] = {
        "replay_trades_in_file": n,
        "replay_file_span_days": meta["span_days"],
        "replay_file_trades_per_s_market": meta["trades_per_s"],
        "replay_snapshot_interval_ms": args.interval_ms,
        "replay_wall_s": round(r["wall_s"], 2),
        "replay_start_s": round(r["start_s"], 3),
        "replay_events": r["events"],
        "replay_snapshots": r["snapshots"],
        "replay_events_per_snapshot": round(r["events"] / max(1, r["snapshots"]), 2),
        "replay_deliveries_skipped": r["skipped"],
        "replay_deliveries": (2 * r["snapshots"] - r["skipped"]) if isinstance(r["skipped"], int) else None,
        "replay_executor_snapshots": r["executor_snapshots"],
        "replay_events_per_s": round(n / r["wall_s"]),
        "replay_snapshots_per_s": round(r["snapshots"] / r["wall_s"]),
        "replay_us_per_snapshot": round(r["wall_s"] / max(1, r["snapshots"]) * 1e6, 1),
        "replay_trades_closed": r["trades_closed"],
        "replay_orders": r["orders"],
        "replay_fills": r["fills"],
        "replay_advice_requests": r["advice_requests"],
        "replay_realized_pnl": r["realized_pnl"],
        "replay_log_lines": log_lines,
        "replay_halted": r["halted"],
        "replay_cpu_process_s": round(r["process_cpu_s"], 2),
    }
    for name, secs in sorted(r["cpu"].items()):
        out[f"replay_cpu_{_CPU_NAMES.get(name, name)}_s"] = round(secs, 2)
    print(f"replay: {out['replay_events_per_s']:,} events/s, {r['snapshots']:,} snapshots in {r['wall_s']:.1f} s, "
          f"{r['trades_closed']} trades closed", file=sys.stderr, flush=True)
    if not args.no_feed_only:
        out.update(feed_only(settings))
    emit(out)


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all_actors()
