"""Order updates per second through the StateKeeper actor, against pykka's raw `tell` rate.

Method (all in one process, one run):

- Baseline: an empty pykka actor; N tells of the very messages the keeper gets,
  then one `ask` as a barrier; rate = N / (time from the first tell to the
  answer). Messages are built before the clock starts, for both sides.
- Keeper: a fresh `StateKeeperActor` with probes for the executor and the
  consultant. One buy order is placed the real way (a snapshot, an advice
  request, a buy advice from the probe consultant, a `PlaceOrder` seen by the
  probe executor). Then the stream: NEW, then PARTIALLY_FILLED updates with
  cumulative quantity rising by 1e-6 TRUMP (so the 1.001 TRUMP order never
  fills), each with its own trade id, price and commission like the paper
  exchange's, and every 10th message a repeat of the one before (the ledger
  must recognise and skip it). N tells, then `ask(GetStatus)` as the barrier.
  Checked afterwards: the order's cumulative quantity and the fill count.
- Keeper + journal: the same with a real SQLite journal (WAL) in a temp dir;
  the keeper commits when its mailbox runs dry or every 512 facts.
- Core alone: the same stream through `KeeperCore.on_order_update`, no actor
  (what the keeper's logic costs, without the mailbox and the thread hand-off).
- Keeper + INFO logging: in memory, with the bot's JSON-lines file sink at INFO
  (`configure_logging(console=False)`): each fill writes one log line.
Elsewhere logging is at WARNING (the log calls still run, nothing is written).
Each figure is the median of `--repeats` runs.

Keys: pykka_raw_tell_per_s, keeper_updates_per_s, keeper_journaled_updates_per_s,
keeper_info_log_updates_per_s, keeper_core_updates_per_s, keeper_vs_raw_tell_ratio,
keeper_journaled_vs_raw_tell_ratio (journaled updates/s over raw tells/s, the medians of the same run),
keeper_journal_vs_memory_ratio.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import (
    FILTERS,
    EmptyActor,
    ack,
    advice_for,
    bench_settings,
    emit,
    fill,
    parse_args,
    probe,
    quiet_logging,
    snapshot,
    stop_all_actors,
)

from actors.messages import AdviceRequest, GetStatus, OrderStatus, OrderUpdate, PlaceOrder
from actors.state_keeper.actor import StateKeeperActor
from actors.state_keeper.journal import Journal

D = Decimal
STEP = D("0.000001")
PREFIX = "bench"


def start_keeper(journal: Journal | None) -> tuple[Any, PlaceOrder]:
    """A keeper in BUYING, its buy placed through a snapshot and a probe consultant's advice."""

    def answer(msg: Any) -> None:
        if isinstance(msg, AdviceRequest):
            assert msg.reply_to is not None
            msg.reply_to.tell(advice_for(msg, "buy", msg.snapshot.bid))

    executor, placed = probe()
    consultant, _ = probe(answer)
    keeper = StateKeeperActor.start(bench_settings(), executor=executor, consultant=consultant, journal=journal,
                                    filters=FILTERS, id_prefix=PREFIX)
    keeper.tell(snapshot(1))
    ((_t, cmd),) = placed.wait_for(PlaceOrder)
    keeper.ask(GetStatus(recent_trades=0), timeout=10)
    return keeper, cmd


def build_stream(cmd: PlaceOrder, n: int) -> tuple[list[OrderUpdate], Decimal, int]:
    """NEW, then partial fills of STEP each, every 10th message a repeat: (messages, final cum, fills)."""
    out: list[OrderUpdate] = [ack(cmd, cmd.ts_ms)]
    cum = D(0)
    fills = 0
    while len(out) < n:
        if len(out) % 10 == 9:
            out.append(out[-1])  # the same report again (a resend, or REST and the stream both)
            continue
        cum += STEP
        fills += 1
        out.append(fill(cmd, "PARTIALLY_FILLED", cum, last=STEP, trade_id=fills, ts_ms=cmd.ts_ms + fills))
    assert cum < cmd.quantity, "the stream must not fill the order"
    return out, cum, fills


def time_raw(msgs: list[Any]) -> float:
    ref = EmptyActor.start()
    ref.ask("warm-up", timeout=10)
    tell = ref.tell
    t0 = time.perf_counter()
    for m in msgs:
        tell(m)
    ref.ask("barrier", timeout=600)
    dt = time.perf_counter() - t0
    ref.stop()
    return len(msgs) / dt


def time_keeper(msgs: list[OrderUpdate], cum: Decimal, fills: int, journal_dir: Path | None) -> float:
    journal = Journal(journal_dir / "journal.sqlite3") if journal_dir is not None else None
    keeper, cmd = start_keeper(journal)
    assert cmd.client_order_id == msgs[0].client_order_id and cmd.quantity == msgs[-1].orig_qty
    tell = keeper.tell
    t0 = time.perf_counter()
    for m in msgs:
        tell(m)
    st = keeper.ask(GetStatus(recent_trades=0), timeout=600)
    dt = time.perf_counter() - t0
    assert st.active_order is not None and st.active_order.filled_qty == cum, st.active_order
    assert st.active_order.status == OrderStatus.PARTIALLY_FILLED.value
    assert dict(st.counters)["fills"] == fills, dict(st.counters)
    stop_all_actors()
    if journal is not None:
        n_rows = journal.count()
        journal.close()
        assert n_rows >= len(msgs), f"journal has {n_rows} rows for {len(msgs)} updates"
    return len(msgs) / dt


def time_core(msgs: list[OrderUpdate], cum: Decimal) -> float:
    """The same stream through `KeeperCore.on_order_update` alone: no actor, no journal (facts dropped)."""
    from actors.state_keeper.core import EXECUTOR, KeeperCore

    core = KeeperCore(bench_settings(), FILTERS, PREFIX)
    (_t, req), = core.on_snapshot(snapshot(1))
    effects = core.on_advice(advice_for(req, "buy", req.snapshot.bid))
    assert any(t == EXECUTOR and m.client_order_id == msgs[0].client_order_id for t, m in effects)
    core.journal.clear()
    on_update, facts = core.on_order_update, core.journal
    t0 = time.perf_counter()
    for m in msgs:
        on_update(m)
        facts.clear()
    dt = time.perf_counter() - t0
    assert core.ledger.orders[msgs[0].client_order_id].cum_qty == cum
    return len(msgs) / dt


def main() -> None:
    args = parse_args(__doc__, lambda p: (
        p.add_argument("--repeats", type=int, default=None),
        p.add_argument("--only", choices=("raw", "memory", "journal"),
                       help="time just this one (e.g. under py-spy) and print its rate"),
    ))
    quiet_logging()
    n = 10_000 if args.quick else 100_000
    repeats = args.repeats or (1 if args.quick else 3)

    # the stream is deterministic (fixed id prefix): build it once from a probe run
    _keeper, cmd = start_keeper(None)
    stop_all_actors()
    msgs, cum, fills = build_stream(cmd, n)

    if args.only:
        with tempfile.TemporaryDirectory(prefix="bench-keeper-") as tmp:
            rate = (time_raw(msgs) if args.only == "raw" else
                    time_keeper(msgs, cum, fills, Path(tmp) if args.only == "journal" else None))
        emit({f"{args.only}_per_s": round(rate)})
        return

    raw, mem, jour = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-keeper-") as tmp:
        for r in range(repeats):  # interleaved, so drift hits all three alike
            raw.append(time_raw(msgs))
            mem.append(time_keeper(msgs, cum, fills, None))
            jdir = Path(tmp) / f"r{r}"
            jdir.mkdir()
            jour.append(time_keeper(msgs, cum, fills, jdir))
            print(f"repeat {r + 1}/{repeats}: raw {raw[-1]:,.0f}/s  keeper {mem[-1]:,.0f}/s  "
                  f"journaled {jour[-1]:,.0f}/s", file=sys.stderr, flush=True)

        # the production logging: INFO to the rotating JSON-lines file, no console
        from loguru import logger

        from actors.logging_setup import configure_logging
        from actors.settings import LoggingSettings

        logger.remove()
        configure_logging(LoggingSettings(level="INFO", file=str(Path(tmp) / "trader.jsonl")), console=False)
        info = time_keeper(msgs, cum, fills, None)
        quiet_logging()

    core = statistics.median(time_core(msgs, cum) for _ in range(repeats))
    raw_s, mem_s, jour_s = statistics.median(raw), statistics.median(mem), statistics.median(jour)
    emit({
        "keeper_messages": n,
        "keeper_fills_in_stream": fills,
        "keeper_repeats": repeats,
        "pykka_raw_tell_per_s": round(raw_s),
        "pykka_raw_tell_runs": [round(x) for x in raw],
        "keeper_updates_per_s": round(mem_s),
        "keeper_updates_runs": [round(x) for x in mem],
        "keeper_journaled_updates_per_s": round(jour_s),
        "keeper_journaled_updates_runs": [round(x) for x in jour],
        "keeper_info_log_updates_per_s": round(info),
        "keeper_vs_raw_tell_ratio": round(mem_s / raw_s, 3),
        "keeper_journaled_vs_raw_tell_ratio": round(jour_s / raw_s, 3),
        "keeper_journal_vs_memory_ratio": round(jour_s / mem_s, 3),
        "keeper_us_per_update": round(1e6 / mem_s, 2),
        "keeper_core_updates_per_s": round(core),
        "keeper_core_us_per_update": round(1e6 / core, 2),
        "keeper_journaled_us_per_update": round(1e6 / jour_s, 2),
        "raw_tell_us_per_message": round(1e6 / raw_s, 2),
    })


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all_actors()
