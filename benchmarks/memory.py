"""Memory: bytes each closed trade keeps in the keeper's history, and the peak RSS of 100,000 trades.

Both drive the pure core (`KeeperCore`, no actors, no journal) through whole
trades, the way the keeper actor would (`_common.CoreDriver`): snapshot →
advice request → buy advice → PlaceOrder BUY → NEW → PARTIALLY_FILLED →
FILLED (fee in TRUMP) → snapshot → advice → PlaceOrder SELL → NEW → FILLED
(fee in USDC) → trade closed. The facts the core records are dropped after
each step, as the actor drops them once written to the journal. Market time
moves 2 s a snapshot (so the equity curve, one point a market minute, grows
too: it is part of what the keeper holds).

- `bytes_per_trade`: tracemalloc's traced size after `--trades` closed trades
  (after 200 warm-up trades and a `gc.collect()`), minus before, divided by
  the trades. This is what stays: the order records (two a trade), the trade
  record, the equity points. A finished trade and its orders are kept packed
  (`state_keeper/history.py`), all but the last one closed.
- `peak_rss_mb_100k_trades`: a fresh child process (this script with
  `--child`, no tracemalloc) runs 100,000 closed trades through the core and
  reports `ru_maxrss`; also its RSS after the imports, before any trade, and
  the time it took. The core, not the actor: the actor holds the same state
  plus its thread and mailbox, and through the actor the same run would be
  bound by the hops, not by memory.
"""

from __future__ import annotations

import gc
import json
import resource
import subprocess
import sys
import time
import tracemalloc

from _common import FILTERS, CoreDriver, bench_settings, emit, parse_args, quiet_logging

from actors.state_keeper.core import KeeperCore


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(trades: int) -> None:
    quiet_logging()
    gc.collect()
    base = rss_mb()
    core = KeeperCore(bench_settings(), FILTERS, "m")
    driver = CoreDriver(core)
    t0 = time.perf_counter()
    for _ in range(trades):
        driver.trade()
    dt = time.perf_counter() - t0
    closed = sum(1 for t in core.ledger.trades if t.status == "CLOSED")
    assert closed == trades, closed
    print(json.dumps({
        "rss_after_imports_mb": round(base, 1),
        "rss_end_mb": round(rss_mb(), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "trades": trades,
        "seconds": round(dt, 2),
        "orders": len(core.ledger.orders),
        "equity_points": len(core.equity),
    }), flush=True)


def main() -> None:
    args = parse_args(__doc__, lambda p: (
        p.add_argument("--child", type=int, default=0, help=argparse_hidden()),
        p.add_argument("--trades", type=int, default=None),
    ))
    if args.child:
        child(args.child)
        return
    quiet_logging()
    n = args.trades or (2_000 if args.quick else 20_000)
    peak_n = 10_000 if args.quick else 100_000

    core = KeeperCore(bench_settings(), FILTERS, "m")
    driver = CoreDriver(core)
    for _ in range(200):
        driver.trade()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(n):
        driver.trade()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    top = tracemalloc.take_snapshot().statistics("lineno")[:5]
    tracemalloc.stop()
    per_trade = (after - before) / n
    print("largest holders:\n  " + "\n  ".join(str(s) for s in top), file=sys.stderr, flush=True)

    proc = subprocess.run([sys.executable, __file__, "--child", str(peak_n)], capture_output=True, text=True,
                          timeout=900, check=True)
    peak = json.loads(proc.stdout.strip().splitlines()[-1])
    key = "peak_rss_mb_100k_trades" if peak_n == 100_000 else f"peak_rss_mb_{peak_n // 1000}k_trades"
    out = {
        "bytes_per_trade": round(per_trade),
        "bytes_per_trade_trades": n,
        "bytes_per_trade_method": "tracemalloc, KeeperCore, buy+sell per trade, facts dropped as written",
        key: peak["peak_rss_mb"],
        "peak_rss_trades": peak_n,
        "peak_rss_method": "fresh process, KeeperCore (no actors), ru_maxrss",
        "peak_rss_after_imports_mb": peak["rss_after_imports_mb"],
        "peak_rss_growth_mb": round(peak["peak_rss_mb"] - peak["rss_after_imports_mb"], 1),
        "peak_rss_run_s": peak["seconds"],
        "core_trades_per_s": round(peak_n / peak["seconds"]),
    }
    if peak_n != 100_000:
        out["peak_rss_mb_100k_trades"] = None  # quick run: not measured at 100k
    emit(out)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
