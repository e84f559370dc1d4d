"""Small market data files written by the tests, in Binance's public-data layouts."""

from __future__ import annotations

from pathlib import Path

T0_US = 1_735_689_600_000_000  # 2025-01-01 in µs, as in the public data files since then


def write_agg_trades(path: Path, n: int, *, start_us: int = T0_US, step_us: int = 150_000, seed: int = 7) -> Path:
    """An aggTrades CSV in the public-data column order (no header), µs timestamps."""
    import random

    rng = random.Random(seed)
    lines = []
    px = 1000
    for i in range(n):
        px = max(900, min(1100, px + rng.choice((-1, 0, 0, 1))))
        taker_sell = rng.random() < 0.5
        price = px if taker_sell else px + 1
        lines.append(
            f"{i + 1},{price / 100:.2f},{rng.randint(1, 9999) / 1000:.3f},{2 * i},{2 * i + 1},"
            f"{start_us + i * step_us},{taker_sell},True"
        )
    path.write_text("\n".join(lines) + "\n")
    return path
