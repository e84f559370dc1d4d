"""Research speed: kline replays against aggTrades replays per event, a sweep on all cores against one, per-run overhead.

All runs go through research's own path (`actors.research.engine.run_job`:
the live actors in process, the end heard from the keeper's `TradingStopped`,
summary JSON, no chart), on the real dev data in ../shared/data.

- events/s of a 5m kline month (PEPEUSDT 2025-01, 8,928 bars) and of a full
  aggTrades day (PEPEUSDT 2024-10-27, 57,229 trades), both after a 5-bar warm-up
  run (imports paid, as in a warm worker): `research_kline_vs_aggtrades_ratio`;
  the month (the median of 5 runs, as `nautilus_bars.py` takes the median of 5)
  with the default strategy (a bar strategy, asked once per close) and
  with the old default, `trend`, which decides on every bar
  (`research_kline_trend_events_per_s`).
- a sweep (sets × TRUMPUSDC 1m days) as Ray tasks with `num_cpus=1` and with
  every core, each after one warm-up task per worker: `research_sweep_speedup`
  (one-core wall / all-cores wall).
- per-run overhead: a 5-bar file run again and again in this warm process
  (median) against the same run in a fresh interpreter (`research_warm_vs_cold_ratio`).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, emit, parse_args, quiet_logging, stop_all_actors

from actors.research import engine
from actors.research.paths import expand

DATA = ROOT.parent / "shared" / "data"
MONTH = DATA / "klines" / "PEPEUSDT-5m" / "PEPEUSDT-5m-2025-01.csv"
AGG = DATA / "aggTrades" / "PEPEUSDT-aggTrades-2024-10-27.csv"
DAYS = sorted((DATA / "klines" / "TRUMPUSDC-1m").glob("*.csv"))
COLD = ("import sys, time; t = time.perf_counter(); from pathlib import Path; from actors.research import engine; "
        "from actors.research.paths import expand; "
        "r = engine.run_job(engine.make_job(0, expand([sys.argv[1]])[0], {}, Path(sys.argv[2]))); "
        "assert not r['error'], r['error']; print(time.perf_counter() - t)")


def head(src: Path, rows: int, into: Path) -> Path:
    into.parent.mkdir(parents=True, exist_ok=True)
    with src.open() as fh:
        into.write_text("".join(line for _, line in zip(range(rows), fh, strict=False)))
    return into


def one(path: Path, out: Path, params: dict[str, Any] | None = None) -> dict[str, Any]:
    row = engine.run_job(engine.make_job(0, expand([path])[0], {}, out, params=params))
    assert not row["error"], row["error"]
    return row


def sweep(jobs: list[engine.Job], workers: int, tmp: Path) -> tuple[float, float]:
    """(ray start s, wall s of the jobs) on a fresh local Ray with `workers` CPUs and warm workers."""
    import ray

    t0 = time.perf_counter()
    engine.ray_init(workers, None)
    init_s = time.perf_counter() - t0
    try:
        tiny = head(DAYS[0], 5, tmp / "warm" / DAYS[0].name)
        engine.execute([engine.make_job(i, expand([tiny])[0], {}, tmp / "warm" / f"w{workers}-{i}")
                        for i in range(workers)], workers=workers)
        t0 = time.perf_counter()
        rows = engine.execute(jobs, workers=workers)
        wall = time.perf_counter() - t0
    finally:
        ray.shutdown()
    assert not any(r["error"] for r in rows), [r["error"] for r in rows if r["error"]]
    return init_s, wall


def main() -> None:
    args = parse_args(__doc__)
    quiet_logging()
    cores = os.cpu_count() or 1
    out: dict[str, Any] = {"research_cores": cores}
    with tempfile.TemporaryDirectory(prefix="bench-research-") as t:
        tmp = Path(t)
        month = head(MONTH, 2000, tmp / "q" / MONTH.name) if args.quick else MONTH
        agg = head(AGG, 15000, tmp / "q" / AGG.name) if args.quick else AGG
        tiny = head(DAYS[0], 5, tmp / "tiny" / DAYS[0].name)
        one(tiny, tmp / "warm")  # as in a warm research worker: the first run pays the imports, not the month
        months = [one(month, tmp / "k" / str(i)) for i in range(1 if args.quick else 5)]  # the median, as
        k = sorted(months, key=lambda r: r["wall_s"])[len(months) // 2]                 # nautilus_bars takes
        a = one(agg, tmp / "a")
        out.update({
            "research_kline_events": k["events"], "research_kline_wall_s": round(k["wall_s"], 3),
            "research_kline_wall_s_repeats": [round(r["wall_s"], 3) for r in months],
            "research_kline_events_per_s": round(k["events"] / k["wall_s"]),
            "research_aggtrades_events": a["events"], "research_aggtrades_wall_s": round(a["wall_s"], 3),
            "research_aggtrades_events_per_s": round(a["events"] / a["wall_s"]),
        })
        tr = one(month, tmp / "t", {"strategy.name": "trend"})  # the old default: decides on every bar
        out.update({"research_kline_trend_wall_s": round(tr["wall_s"], 3),
                    "research_kline_trend_events_per_s": round(tr["events"] / tr["wall_s"])})
        out["research_kline_vs_aggtrades_ratio"] = round(
            out["research_kline_events_per_s"] / out["research_aggtrades_events_per_s"], 3)
        print(f"research: 5m month {out['research_kline_events_per_s']:,} events/s, aggTrades day "
              f"{out['research_aggtrades_events_per_s']:,} events/s", file=sys.stderr, flush=True)

        walls = [one(tiny, tmp / "o" / str(i))["wall_s"] for i in range(3 if args.quick else 7)]
        proc = subprocess.run([sys.executable, "-c", COLD, str(tiny), str(tmp / "cold")], cwd=str(ROOT),
                              env={**os.environ, "PYTHONPATH": str(ROOT), "TRADER_NO_DOTENV": "1"},
                              capture_output=True, text=True, timeout=300, check=True)
        cold = float(proc.stdout.strip().splitlines()[-1])
        out.update({"research_warm_run_s": round(statistics.median(walls), 4), "research_cold_run_s": round(cold, 3)})
        out["research_warm_vs_cold_ratio"] = round(out["research_warm_run_s"] / cold, 3)

        sets = 4 if args.quick else 12
        days = DAYS[:2] if args.quick else DAYS
        jobs = [engine.make_job(len(days) * s + d, spec, {}, tmp / "sw" / f"{s}-{d}",
                                params={"trading.min_profit": f"{0.002 + 0.001 * s:.3f}"})
                for s in range(sets) for d, spec in enumerate(expand(days))]
        init1, wall1 = sweep(jobs, 1, tmp / "s1")
        initn, walln = sweep(jobs, cores, tmp / "sn")
        out.update({
            "research_sweep_runs": len(jobs), "research_sweep_one_core_s": round(wall1, 2),
            "research_sweep_all_cores_s": round(walln, 2), "research_sweep_speedup": round(wall1 / walln, 3),
            "research_ray_start_s": round(max(init1, initn), 2),
        })
        print(f"research: sweep of {len(jobs)} runs {wall1:.1f} s on 1 core, {walln:.1f} s on {cores}; "
              f"warm run {out['research_warm_run_s']:.3f} s against {cold:.2f} s cold", file=sys.stderr, flush=True)
    emit(out)


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all_actors()
