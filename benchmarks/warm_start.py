"""A live start's first decision: wall seconds from `bootstrap.py --market binance` (paper) to its first buy.

Against stand-ins on 127.0.0.1 (tests/_support/fakes): a venue with five
days of rising one-minute history behind it (`GET /api/v3/klines`; the default
strategy's look-back is four days of 2 h bars, eight requests) and a live
stream going on from the history's last price, no OpenRouter key (the
rule-based strategy decides). The clock runs from the parent's `Popen` to the
"order placed: BUY" record in the bot's JSON log; a run that has not bought
after `--cap-s` is reported as not buying within that (`first_buy_s: null`).

    python benchmarks/warm_start.py                     this checkout
    python benchmarks/warm_start.py --root /tmp/main    another checkout (e.g. `git archive main`), same stand-ins

Median of `--repeats` runs (3; 1 with --quick). Issue 26's before and after.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, emit, parse_args

from tests._support.fakes.binance_klines import rising_klines
from tests._support.fakes.binance_market import FakeBinanceMarket

HISTORY_MIN = 5 * 24 * 60  # was 900 (15 h) while the default was the trend, whose look-back is 4 h


def one_run(root: Path, cap_s: float) -> tuple[float | None, int]:
    """(seconds to the first buy or None, history requests the venue saw)."""
    fake = FakeBinanceMarket()
    fake.start()
    try:
        fake.history.set(rising_klines(time.time_ns() // 1_000_000, minutes=HISTORY_MIN))
        fake.start_auto(20.0)
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "bot.jsonl"
            config = Path(tmp) / "paper.toml"
            config.write_text(f"""
[market]
source = "binance"
stream_url = "{fake.stream_url}"
rest_url = "{fake.rest_url}"
snapshot_interval_ms = 200
stale_after_s = 5
[storage]
path = "{Path(tmp) / 'journal.sqlite3'}"
[status]
port = 0
[logging]
file = "{log}"
""")
            env = {k: v for k, v in os.environ.items() if not k.endswith("API_KEY") and not k.endswith("API_SECRET")}
            env.update(TRADER_NO_DOTENV="1")
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, str(root / "bootstrap.py"), "--config", str(config), "--market",
                                     "binance", "--report-dir", str(Path(tmp) / "report")], cwd=tmp, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            first: float | None = None
            try:
                while time.perf_counter() - t0 < cap_s and proc.poll() is None:
                    if log.exists() and any(json.loads(x)["record"]["message"].startswith("order placed: BUY")
                                            for x in log.read_text().splitlines() if x.strip()):
                        first = time.perf_counter() - t0
                        break
                    time.sleep(0.05)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(30)
        return first, len(fake.history.requests)
    finally:
        fake.stop()


def main() -> None:
    args = parse_args(__doc__, lambda p: (p.add_argument("--root", default=str(ROOT)),
                                          p.add_argument("--cap-s", type=float, default=120.0),
                                          p.add_argument("--repeats", type=int, default=3)))
    repeats = 1 if args.quick else args.repeats
    runs = [one_run(Path(args.root), args.cap_s) for _ in range(repeats)]
    for n, (first, reqs) in enumerate(runs):
        print(f"run {n + 1}: first buy {'none' if first is None else f'{first:.2f} s'} "
              f"(cap {args.cap_s:.0f} s), {reqs} history request(s)", file=sys.stderr)
    bought = [f for f, _ in runs if f is not None]
    emit({"warm_start_first_buy_s": statistics.median(bought) if len(bought) == len(runs) else None,
          "warm_start_runs_s": [f for f, _ in runs], "warm_start_cap_s": args.cap_s,
          "warm_start_history_requests": [r for _, r in runs], "warm_start_root": args.root})


if __name__ == "__main__":
    main()
