#!/usr/bin/env python3
"""Run every benchmark, merge their figures, judge the targets, write `benchmarks/results.json`.

    python benchmarks/run_all.py            full sizes (about 3 minutes on 2 cores)
    python benchmarks/run_all.py --quick    small sizes, a smoke run for CI (writes results-quick.json)
    python benchmarks/run_all.py --only replay nautilus_replay

Each script runs in its own process (`python benchmarks/X.py [--quick]`) and
prints one JSON object on its last stdout line; its stderr (progress) passes
through. A script that fails is recorded as `<name>_error` and its targets as
"not measured" (no number is ever made up), and the exit code is 1; a missed
target is a finding, not a failure (exit code 0). Ratios are computed here from
figures measured in the same run; the `targets` object says met / missed /
not measured for each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCRIPTS = ["keeper_throughput", "tick_to_order", "ai_consultant", "memory", "startup", "replay", "nautilus_replay",
           "research", "nautilus_bars", "sweep_memory"]
TIMEOUT_S = 900
TIMEOUTS_S = {"sweep_memory": 3600}  # 10,000 runs: a few minutes on quiet cores, far more on a loaded machine


def run_script(name: str, quick: bool) -> tuple[dict[str, Any], float]:
    cmd = [sys.executable, str(HERE / f"{name}.py"), *(["--quick"] if quick else [])]
    env = {**os.environ, "TRADER_NO_DOTENV": "1", "PYTHONUNBUFFERED": "1"}
    for secret in ("OPENROUTER_API_KEY", "BINANCE_API_KEY", "BINANCE_API_SECRET"):
        env.pop(secret, None)
    print(f"== {name} {'(quick)' if quick else ''}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=str(ROOT), env=env, stdout=subprocess.PIPE, stderr=None, text=True,
                              timeout=TIMEOUTS_S.get(name, TIMEOUT_S), check=False)
    except subprocess.TimeoutExpired:
        return {f"{name}_error": f"timed out after {TIMEOUTS_S.get(name, TIMEOUT_S)} s"}, time.perf_counter() - t0
    dt = time.perf_counter() - t0
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {f"{name}_error": f"exit code {proc.returncode}"}, dt
    try:
        data = json.loads(lines[-1])
    except ValueError:
        return {f"{name}_error": f"last stdout line is not JSON: {lines[-1][:200]!r}"}, dt
    if not isinstance(data, dict):
        return {f"{name}_error": "last stdout line is not a JSON object"}, dt
    return data, dt


def ratio(a: Any, b: Any, places: int = 3) -> float | None:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return None
    return round(a / b, places)


def judge(value: Any, ok: Any) -> str:
    if not isinstance(value, (int, float)):
        return "not measured"
    return "met" if ok(value) else "missed"


def targets(r: dict[str, Any]) -> dict[str, dict[str, Any]]:
    t: dict[str, dict[str, Any]] = {}

    def add(name: str, rule: str, key: str, ok: Any, **extra: Any) -> None:
        v = r.get(key)
        t[name] = {"target": rule, "key": key, "value": v, "status": judge(v, ok), **extra}

    add("keeper_throughput", "keeper_vs_raw_tell_ratio >= 0.5", "keeper_vs_raw_tell_ratio", lambda v: v >= 0.5,
        keeper_updates_per_s=r.get("keeper_updates_per_s"), pykka_raw_tell_per_s=r.get("pykka_raw_tell_per_s"))
    add("journal_cost", "keeper_journal_vs_memory_ratio >= 0.5 (issue 7: journaling at most halves throughput)",
        "keeper_journal_vs_memory_ratio", lambda v: v >= 0.5,
        keeper_journaled_updates_per_s=r.get("keeper_journaled_updates_per_s"))
    add("journaled_vs_raw_tell", "keeper_journaled_vs_raw_tell_ratio >= 0.25 (issue 18)",
        "keeper_journaled_vs_raw_tell_ratio", lambda v: v >= 0.25,
        keeper_journaled_updates_per_s=r.get("keeper_journaled_updates_per_s"),
        pykka_raw_tell_per_s=r.get("pykka_raw_tell_per_s"))
    add("bytes_per_trade", "bytes_per_trade <= 2048 (issue 18)", "bytes_per_trade", lambda v: v <= 2048,
        ratio_key="bytes_per_trade_vs_2048_ratio", ratio=r.get("bytes_per_trade_vs_2048_ratio"))
    add("tick_to_order", "tick_to_order_p99_us < 1000", "tick_to_order_p99_us", lambda v: v < 1000,
        ratio_key="tick_to_order_vs_1ms_ratio", ratio=r.get("tick_to_order_vs_1ms_ratio"),
        vs_2hop_p99_ratio=r.get("tick_to_order_vs_2hop_p99_ratio"))
    add("ai_cache_hit", "ai_cache_hit_p99_us < 200", "ai_cache_hit_p99_us", lambda v: v < 200,
        ratio_key="ai_cache_hit_vs_200us_ratio", ratio=r.get("ai_cache_hit_vs_200us_ratio"),
        vs_2hop_p99_ratio=r.get("ai_cache_hit_vs_2hop_p99_ratio"))
    threshold = r.get("ai_hang_noise_threshold_us")
    add("ai_hang", f"ai_hang_extra_delay_us <= max(20, 3 x idle noise) = {threshold} µs", "ai_hang_extra_delay_us",
        lambda v: isinstance(threshold, (int, float)) and v <= threshold,
        ratio_key="ai_hang_vs_idle_p50_ratio", ratio=r.get("ai_hang_vs_idle_p50_ratio"))
    add("replay_vs_nautilus", "replay_vs_nautilus_ratio >= 1.0", "replay_vs_nautilus_ratio", lambda v: v >= 1.0,
        replay_events_per_s=r.get("replay_events_per_s"), nautilus_events_per_s=r.get("nautilus_events_per_s"))
    add("replay_vs_nautilus_engine", "replay_vs_nautilus_engine_ratio >= 1.0 (stretch: NautilusTrader's engine "
        "alone, without reading the file and building its ticks)", "replay_vs_nautilus_engine_ratio",
        lambda v: v >= 1.0, nautilus_engine_events_per_s=r.get("nautilus_engine_events_per_s"))
    add("research_kline_vs_aggtrades", "research_kline_vs_aggtrades_ratio >= 1.0 (issue 14: a kline replay as fast "
        "per event as an aggTrades replay)", "research_kline_vs_aggtrades_ratio", lambda v: v >= 1.0,
        kline_events_per_s=r.get("research_kline_events_per_s"),
        aggtrades_events_per_s=r.get("research_aggtrades_events_per_s"))
    add("kline_month_vs_nautilus_bars", "kline_month_vs_nautilus_bars_ratio >= 1.0 (issue 24: research's 5m kline "
        "month, warm, at least NautilusTrader's bar engine on the same file, load included)",
        "kline_month_vs_nautilus_bars_ratio", lambda v: v >= 1.0,
        kline_events_per_s=r.get("research_kline_events_per_s"), nautilus_bars_per_s=r.get("nautilus_bars_per_s"),
        nautilus_skipped=r.get("nautilus_bars_skipped"))
    cores = r.get("research_cores") or 1
    add("research_sweep_scaling", f"research_sweep_speedup >= 0.7 x {cores} cores", "research_sweep_speedup",
        lambda v: v >= 0.7 * cores, one_core_s=r.get("research_sweep_one_core_s"),
        all_cores_s=r.get("research_sweep_all_cores_s"))
    add("research_warm_run", "research_warm_vs_cold_ratio <= 0.2 (a warm worker keeps its imports)",
        "research_warm_vs_cold_ratio", lambda v: v <= 0.2, warm_run_s=r.get("research_warm_run_s"),
        cold_run_s=r.get("research_cold_run_s"))
    add("research_run_overhead", "research_warm_run_vs_100ms_ratio <= 1.0 (issue 18: the fixed cost of one run in "
        "a warm worker, a 5-bar file start to summary, at most 0.1 s; no chart unless asked)",
        "research_warm_run_vs_100ms_ratio", lambda v: v <= 1.0, warm_run_s=r.get("research_warm_run_s"))
    add("sweep_memory_driver", "sweep_memory_driver_growth_ratio <= 1.1 (issue 24: the driver's RSS over a "
        "10,000-run sweep, mean of the last quarter of the runs / of the first)", "sweep_memory_driver_growth_ratio",
        lambda v: v <= 1.1, first_quarter_mb=r.get("sweep_memory_driver_first_quarter_mb"),
        last_quarter_mb=r.get("sweep_memory_driver_last_quarter_mb"), runs=r.get("sweep_memory_runs"))
    add("sweep_memory_store", "sweep_memory_store_growth_ratio <= 1.1 (issue 24: Ray's object store over the same "
        "sweep; 1.0 when it held nothing in either quarter)", "sweep_memory_store_growth_ratio", lambda v: v <= 1.1,
        first_quarter_mb=r.get("sweep_memory_store_first_quarter_mb"),
        last_quarter_mb=r.get("sweep_memory_store_last_quarter_mb"), peak_mb=r.get("sweep_memory_store_peak_mb"))
    sweep_cores = r.get("sweep_memory_cores") or 1
    add("sweep_memory_refs", f"sweep_memory_refs_peak <= 4 x {sweep_cores} cores (issue 24: the driver holds the "
        "refs of the tasks in flight, twice the CPUs, not one per run; all at once gave 1,000 for 1,000 runs)",
        "sweep_memory_refs_peak", lambda v: v <= 4 * sweep_cores, in_flight=r.get("sweep_memory_in_flight"))
    return t


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=str(ROOT), capture_output=True, text=True,
                             timeout=10, check=False)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "actors", "bootstrap.py"], cwd=str(ROOT),
                               capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "") if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


TABLE = [
    ("pykka raw tell", "pykka_raw_tell_per_s", "msg/s"),
    ("keeper, in memory", "keeper_updates_per_s", "updates/s"),
    ("keeper, SQLite journal", "keeper_journaled_updates_per_s", "updates/s"),
    ("tick to order p50", "tick_to_order_p50_us", "µs"),
    ("tick to order p99", "tick_to_order_p99_us", "µs"),
    ("AI cache hit p50", "ai_cache_hit_p50_us", "µs"),
    ("AI cache hit p99", "ai_cache_hit_p99_us", "µs"),
    ("extra delay while a model call hangs (p50)", "ai_hang_extra_delay_us", "µs"),
    ("replay, whole bot", "replay_events_per_s", "events/s"),
    ("NautilusTrader, same file", "nautilus_events_per_s", "events/s"),
    ("memory per closed trade", "bytes_per_trade", "bytes"),
    ("peak RSS, 100k trades (core)", "peak_rss_mb_100k_trades", "MB"),
    ("cold start to ready", "cold_start_s", "s"),
    ("restart with 100k-event journal", "restart_ready_s", "s"),
    ("research: 5m kline month", "research_kline_events_per_s", "events/s"),
    ("research: the same month, the old default (trend)", "research_kline_trend_events_per_s", "events/s"),
    ("research: aggTrades day", "research_aggtrades_events_per_s", "events/s"),
    ("NautilusTrader bar engine, same 5m month", "nautilus_bars_per_s", "bars/s"),
    ("research: sweep on one core", "research_sweep_one_core_s", "s"),
    ("research: sweep on all cores", "research_sweep_all_cores_s", "s"),
    ("research: run in a warm worker", "research_warm_run_s", "s"),
    ("research: the same run, cold process", "research_cold_run_s", "s"),
    ("sweep memory: runs", "sweep_memory_runs", "runs"),
    ("sweep memory: driver RSS, first quarter", "sweep_memory_driver_first_quarter_mb", "MB"),
    ("sweep memory: driver RSS, last quarter", "sweep_memory_driver_last_quarter_mb", "MB"),
    ("sweep memory: object store, peak", "sweep_memory_store_peak_mb", "MB"),
    ("sweep memory: Ray workers' RSS, last quarter", "sweep_memory_workers_last_quarter_mb", "MB"),
]


def markdown(r: dict[str, Any]) -> str:
    lines = ["| measure | value | unit |", "|---|---:|---|"]
    for label, key, unit in TABLE:
        v = r.get(key)
        text = "n/a" if v is None else f"{v:,}" if isinstance(v, int) else f"{v:,.3f}".rstrip("0").rstrip(".")
        lines.append(f"| {label} | {text} | {unit} |")
    lines += ["", "| target | rule | value | status |", "|---|---|---:|---|"]
    for name, t in r["targets"].items():
        lines.append(f"| {name} | {t['target']} | {t['value']} | {t['status']} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (a CI smoke run)")
    p.add_argument("--only", nargs="+", choices=SCRIPTS, help="run only these scripts")
    p.add_argument("--out", help="where to write the results (default benchmarks/results.json, "
                                 "or results-quick.json with --quick)")
    args = p.parse_args()
    out_path = Path(args.out) if args.out else HERE / ("results-quick.json" if args.quick else "results.json")

    t0 = time.perf_counter()
    merged: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for name in args.only or SCRIPTS:
        data, dt = run_script(name, args.quick)
        merged.update(data)
        seconds[name] = round(dt, 1)
        if f"{name}_error" in data:
            print(f"!! {name}: {data[f'{name}_error']}", file=sys.stderr, flush=True)

    r: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "cpu_count": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "machine": f"{platform.platform()} {platform.machine()} {platform.processor()}".strip(),
        "git_commit": git_commit(),
        **merged,
    }
    # ratios against baselines measured in the same run
    r["replay_vs_nautilus_ratio"] = ratio(r.get("replay_events_per_s"), r.get("nautilus_events_per_s"))
    r["replay_vs_nautilus_engine_ratio"] = ratio(r.get("replay_events_per_s"), r.get("nautilus_engine_events_per_s"))
    r["bytes_per_trade_vs_2048_ratio"] = ratio(r.get("bytes_per_trade"), 2048)
    r["research_warm_run_vs_100ms_ratio"] = ratio(r.get("research_warm_run_s"), 0.1)
    r["kline_month_vs_nautilus_bars_ratio"] = ratio(r.get("research_kline_events_per_s"), r.get("nautilus_bars_per_s"))
    r["kline_month_trend_vs_nautilus_bars_ratio"] = ratio(r.get("research_kline_trend_events_per_s"),  # a strategy
                                                          r.get("nautilus_bars_per_s"))  # asked on every bar
    if r.get("keeper_journaled_vs_raw_tell_ratio") is None:
        r["keeper_journaled_vs_raw_tell_ratio"] = ratio(r.get("keeper_journaled_updates_per_s"),
                                                        r.get("pykka_raw_tell_per_s"))
    r["tick_to_order_vs_1ms_ratio"] = ratio(r.get("tick_to_order_p99_us"), 1000)
    r["ai_cache_hit_vs_200us_ratio"] = ratio(r.get("ai_cache_hit_p99_us"), 200)
    if r.get("keeper_vs_raw_tell_ratio") is None:
        r["keeper_vs_raw_tell_ratio"] = ratio(r.get("keeper_updates_per_s"), r.get("pykka_raw_tell_per_s"))
    if r.get("keeper_journal_vs_memory_ratio") is None:
        r["keeper_journal_vs_memory_ratio"] = ratio(r.get("keeper_journaled_updates_per_s"), r.get("keeper_updates_per_s"))
    r["targets"] = targets(r)
    r["script_seconds"] = seconds
    r["total_seconds"] = round(time.perf_counter() - t0, 1)

    out_path.write_text(json.dumps(r, indent=1, sort_keys=False, ensure_ascii=False) + "\n")
    print(markdown(r))
    print(f"\nwritten: {out_path} ({r['total_seconds']} s)")
    failed = [k for k in r if k.endswith("_error")]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0  # a missed target is a finding, not a failure


if __name__ == "__main__":
    sys.exit(main())
