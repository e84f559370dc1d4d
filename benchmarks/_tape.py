"""The benchmark tape: 1,000,000 TRUMP/USDC-like aggTrades in Binance's public-data CSV format.

Generated once (seeded, so every machine gets the same file) and cached under
`benchmarks/_data/` (git-ignored). Format, as data.binance.vision's spot
aggTrades files from 2025 on: no header; columns aggTradeId, price, qty,
firstTradeId, lastTradeId, timestamp (µs), isBuyerMaker, isBestMatch; prices
and quantities with 8 decimals; booleans spelled True/False.

The market it describes:
- time: starts 2025-06-01 00:00 UTC; gaps between trades are a mixture of
  bursts (70 %, exponential with mean 50 ms) and quiet (30 %, mean 0.9 s), so
  about 3.3 trades a second on average, in clusters, as a thinly traded pair
  does; 1M trades span about 3.5 days (the exact span is in the meta file and
  in the results);
- price: the log of the mid is a mean-reverting random walk (Ornstein-Uhlenbeck
  around 10.00, half-life 6 hours, 5 % daily volatility; per-trade steps from
  the mean trade rate), so the price wanders a few percent and comes back,
  the kind of market a buy-low-sell-a-little-higher bot trades in (a plain
  random walk drifted 12 % down in 3.5 days with this seed, and the bot sat on
  one unsold position all run long: a benchmark of nothing); a one-tick spread
  (0.01); a taker buy trades at the ask, a taker sell at the bid, 50/50;
- size: lognormal, median 3 TRUMP, rounded to the 0.001 lot (at least 0.001);
  each aggTrade aggregates 1 to 4 trades.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "_data"
VERSION = 2
START_US = 1_748_736_000_000_000  # 2025-06-01T00:00:00Z
FULL, QUICK = 1_000_000, 50_000


def tape_path(n: int) -> Path:
    return DATA_DIR / f"TRUMPUSDC-aggTrades-synthetic-v{VERSION}-{n}.csv"


def ensure_tape(n: int) -> tuple[Path, dict[str, Any]]:
    """The path of the n-trade tape and its meta data, generating both if they are missing."""
    path = tape_path(n)
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        return path, json.loads(meta_path.read_text())
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    meta = _generate(path, n)
    meta["generated_in_s"] = round(time.perf_counter() - t0, 2)
    meta_path.write_text(json.dumps(meta, indent=1))
    return path, meta


def _generate(path: Path, n: int, seed: int = 20250601) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    burst = rng.random(n) < 0.7
    gaps_s = np.where(burst, rng.exponential(0.05, n), rng.exponential(0.9, n))
    gaps_s[0] = 0.0
    ts_us = START_US + np.cumsum(np.maximum(gaps_s * 1e6, 1).astype(np.int64)) - 1
    mean_gap = float(gaps_s.mean())
    per_day = 86_400 / mean_gap
    sigma = 0.05 / math.sqrt(per_day)
    theta = math.log(2) / (6 * 3600 / mean_gap)  # per trade: a half-life of 6 hours
    steps = rng.normal(0.0, sigma, n).tolist()
    x, mu, logs = math.log(10.0), math.log(10.0), []
    for e in steps:
        x += theta * (mu - x) + e
        logs.append(x)
    mid = np.exp(np.array(logs))
    tick = 0.01
    bid = np.floor(mid / tick) * tick
    buyer_maker = rng.random(n) < 0.5  # True: the seller took liquidity, trade at the bid
    price = np.round(np.where(buyer_maker, bid, bid + tick), 2)
    qty = np.maximum(np.round(np.exp(rng.normal(math.log(3.0), 1.2, n)), 3), 0.001)
    agg_id = 100_000_000 + np.arange(n, dtype=np.int64)
    per = rng.integers(1, 5, n)
    last_id = 500_000_000 + np.cumsum(per)
    first_id = last_id - per + 1
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        chunk = 100_000
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            f.write("".join(
                f"{i},{p:.8f},{q:.8f},{fi},{la},{t},{'True' if m else 'False'},True\n"
                for i, p, q, fi, la, t, m in zip(
                    agg_id[a:b].tolist(), price[a:b].tolist(), qty[a:b].tolist(), first_id[a:b].tolist(),
                    last_id[a:b].tolist(), ts_us[a:b].tolist(), buyer_maker[a:b].tolist(), strict=True)
            ))
    tmp.replace(path)
    span_s = (int(ts_us[-1]) - int(ts_us[0])) / 1e6
    seconds_with_trades = int(np.unique(ts_us // 1_000_000).size)
    return {
        "trades": n,
        "version": VERSION,
        "seed": seed,
        "model": "OU log-mid around 10.00, half-life 6 h, 5 %/day volatility; bursty arrivals (70 % mean 50 ms, 30 % mean 0.9 s)",
        "first_ts_us": int(ts_us[0]),
        "last_ts_us": int(ts_us[-1]),
        "span_s": round(span_s, 1),
        "span_days": round(span_s / 86_400, 3),
        "trades_per_s": round(n / span_s, 3),
        "seconds_with_trades": seconds_with_trades,
        "price_first": float(price[0]),
        "price_min": float(price.min()),
        "price_max": float(price.max()),
        "price_last": float(price[-1]),
        "bytes": path.stat().st_size,
    }


if __name__ == "__main__":
    import sys

    size = QUICK if "--quick" in sys.argv else FULL
    p, m = ensure_tape(size)
    print(p, json.dumps(m))
