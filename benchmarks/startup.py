"""Start-up: cold start to ready, and restart to ready with a journal of 100,000 events.

Cold start: a fresh Python process (this script with `--child-cold`) does
what `bootstrap.py` does before trading: imports the bot, reads the default
`settings.toml` (synthetic market, paper exchange; no keys, so the fallback
advisor), configures logging (console to the parent's pipe, JSON file in a
temp dir), `app.start(...)` (market data, AI consultant, order executor, state
keeper, status page on a free port, then StartFeed), and then waits until
every actor has answered a message (GetStats; the status actor GetBoundPort)
and the status page has answered `GET /status` over HTTP.
- `cold_start_s`: from the child's first line (interpreter up) to every actor
  answered: imports, settings, logging, start. Interpreter start excluded.
- `cold_start_with_interpreter_s`: from the parent's `Popen` to the same point.
Median of `--repeats` runs (5; 2 with --quick); the split is reported too.

Restart: a journal of 100,000 events is built by driving a `KeeperCore`
through whole trades (`_common.CoreDriver`) and writing every fact it records
with `Journal.append` (committed every 512, as the actor does). Then a fresh
child (`--child-restart`, imports done before the clock starts) times
`StateKeeperActor.start(settings, journal=Journal(path))` (opening the journal
and replaying every fact through the keeper's own recovery) until it answers
`GetStatus`, and checks the recovered trade count. `restart_ready_s`: median
of 3 children. The journal file was just written, so it is in the page cache.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

T_FIRST = time.perf_counter()  # the child's first line: the interpreter is up
W_FIRST = time.time()

from _common import FILTERS, ROOT, CoreDriver, bench_settings, emit, parse_args, quiet_logging  # noqa: E402

FULL_EVENTS, QUICK_EVENTS = 100_000, 10_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- children -------------------------------------------------------------------------------


def child_cold(tmp: str, port: int) -> None:
    import dataclasses
    import urllib.request

    from actors import app
    from actors.logging_setup import configure_logging
    from actors.messages import GetStats
    from actors.settings import load_settings
    from actors.status.actor import GetBoundPort

    t_imported = time.perf_counter()
    settings = load_settings(ROOT / "settings.toml", {"status.port": port})
    settings = dataclasses.replace(settings, logging=dataclasses.replace(
        settings.logging, file=str(Path(tmp) / "trader.jsonl")))
    configure_logging(settings.logging)
    t_configured = time.perf_counter()
    run = app.start(settings, app.Keys(), Path(tmp) / "report")
    t_started = time.perf_counter()
    for name, ref in run.actors.items():
        ref.ask(GetBoundPort() if name == "status" else GetStats(), timeout=30)
    t_ready = time.perf_counter()
    w_ready = time.time()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=10) as resp:
        assert resp.status == 200
        json.loads(resp.read())
    t_page = time.perf_counter()
    app.stop(run)
    print(json.dumps({
        "w_first": W_FIRST, "w_ready": w_ready, "imports_s": t_imported - T_FIRST,
        "settings_logging_s": t_configured - t_imported, "app_start_s": t_started - t_configured,
        "all_answered_s": t_ready - t_started, "ready_s": t_ready - T_FIRST, "status_page_s": t_page - T_FIRST,
        "actors": list(run.actors),
    }), flush=True)


def child_restart(path: str, trades: int) -> None:
    quiet_logging()
    from actors.messages import GetStatus
    from actors.state_keeper.actor import StateKeeperActor
    from actors.state_keeper.journal import Journal

    settings = bench_settings()
    t0 = time.perf_counter()
    keeper = StateKeeperActor.start(settings, journal=Journal(path), filters=FILTERS)
    st = keeper.ask(GetStatus(recent_trades=0), timeout=120)
    t1 = time.perf_counter()
    closed = dict(st.counters).get("trades_closed", 0)
    full = keeper.ask(GetStatus(), timeout=120)
    keeper.stop()
    assert len(full.trades) == trades, (len(full.trades), trades, closed)
    print(json.dumps({"ready_s": t1 - t0, "trades": len(full.trades), "state": st.state.value}), flush=True)


# -- the parent -----------------------------------------------------------------------------


def build_journal(path: Path, events: int) -> tuple[int, int]:
    from actors.state_keeper.actor import _cid, _ts
    from actors.state_keeper.core import KeeperCore
    from actors.state_keeper.journal import Journal

    journal = Journal(path)
    core = KeeperCore(bench_settings(), FILTERS, "r")
    journal.append("session", {"id_prefix": core.id_prefix})
    written = [1]

    def sink(kind: str, payload: object) -> None:
        journal.append(kind, payload, _ts(payload), _cid(payload))
        written[0] += 1
        if journal.pending >= 512:
            journal.commit()

    driver = CoreDriver(core, sink)
    trades = 0
    while written[0] < events:
        driver.trade()
        trades += 1
    journal.commit()
    n = journal.count()
    journal.close()
    return n, trades


def run_child(args: list[str], timeout: float = 300) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=str(ROOT), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parse_args(__doc__, lambda p: (
        p.add_argument("--child-cold", nargs=2, metavar=("TMP", "PORT")),
        p.add_argument("--child-restart", nargs=2, metavar=("JOURNAL", "TRADES")),
        p.add_argument("--repeats", type=int, default=None),
    ))
    if args.child_cold:
        child_cold(args.child_cold[0], int(args.child_cold[1]))
        return
    if args.child_restart:
        child_restart(args.child_restart[0], int(args.child_restart[1]))
        return
    quiet_logging()
    repeats = args.repeats or (2 if args.quick else 5)
    events = QUICK_EVENTS if args.quick else FULL_EVENTS

    colds = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
            w0 = time.time()
            r = run_child(["--child-cold", tmp, str(free_port())])
            r["with_interpreter_s"] = r["w_ready"] - w0
            r["interpreter_s"] = r["w_first"] - w0
            colds.append(r)
    med = {k: statistics.median(c[k] for c in colds) for k in (
        "ready_s", "with_interpreter_s", "interpreter_s", "imports_s", "settings_logging_s", "app_start_s",
        "all_answered_s", "status_page_s")}
    print(f"cold start: {med['ready_s']:.3f} s ({med['with_interpreter_s']:.3f} s with the interpreter)",
          file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-restart-") as tmp:
        path = Path(tmp) / "journal.sqlite3"
        t0 = time.perf_counter()
        n, trades = build_journal(path, events)
        build_s = time.perf_counter() - t0
        size = path.stat().st_size + sum(Path(f"{path}{s}").stat().st_size for s in ("-wal",) if Path(f"{path}{s}").exists())
        restarts = [run_child(["--child-restart", str(path), str(trades)]) for _ in range(3)]
    ready = statistics.median(r["ready_s"] for r in restarts)
    emit({
        "cold_start_s": round(med["ready_s"], 3),
        "cold_start_with_interpreter_s": round(med["with_interpreter_s"], 3),
        "cold_start_interpreter_s": round(med["interpreter_s"], 3),
        "cold_start_imports_s": round(med["imports_s"], 3),
        "cold_start_settings_logging_s": round(med["settings_logging_s"], 3),
        "cold_start_app_start_s": round(med["app_start_s"], 3),
        "cold_start_all_answered_s": round(med["all_answered_s"], 4),
        "cold_start_status_page_s": round(med["status_page_s"], 3),
        "cold_start_runs": [round(c["ready_s"], 3) for c in colds],
        "cold_start_actors": colds[0]["actors"],
        "restart_ready_s": round(ready, 3),
        "restart_runs": [round(r["ready_s"], 3) for r in restarts],
        "restart_journal_events": n,
        "restart_journal_trades": trades,
        "restart_journal_bytes": size,
        "restart_events_per_s": round(n / ready),
        "restart_journal_build_s": round(build_s, 2),
    })


if __name__ == "__main__":
    main()
