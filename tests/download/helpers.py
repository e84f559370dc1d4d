"""What the download tests share: the stand-in's content, the command run in process with a pinned clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from actors.download import cli
from tests._support.fakes.binance_vision import FakeBinanceVision
from tests._support.paths import DATA, ROOT

TRUMP_DAYS = DATA / "klines" / "TRUMPUSDC-1m"
PEPE_ZIP = DATA / "orig" / "spot-PEPEUSDT-aggTrades-2024-10-27.zip"  # a daily zip as Binance published it
needs_data = pytest.mark.skipif(not TRUMP_DAYS.is_dir() or not PEPE_ZIP.is_file(),
                                reason="../shared/data is not beside the checkout")


def real_day(day: str) -> str:
    """A real TRUMPUSDC minute day, with µs times as Binance's spot files carry since 2025."""
    out = []
    for line in (TRUMP_DAYS / f"TRUMPUSDC-1m-{day}.csv").read_text().splitlines():
        c = line.split(",")
        c[0], c[6] = c[0] + "000", c[6] + "999"
        out.append(",".join(c))
    return "\n".join(out) + "\n"


def rest_bars(day: str) -> list[list[object]]:
    """The same day as the REST klines endpoint answers it: ms times, numbers as strings."""
    bars: list[list[object]] = []
    for line in (TRUMP_DAYS / f"TRUMPUSDC-1m-{day}.csv").read_text().splitlines():
        c = line.split(",")
        bars.append([int(c[0]), *c[1:6], int(c[6]), c[7], int(c[8]), *c[9:12]])
    return bars


def tiny_day(period: str, rows: int = 3) -> str:
    """A few valid kline rows (the stand-in's content where the prices do not matter)."""
    t0 = int(datetime.fromisoformat((period + "-01")[:10]).replace(tzinfo=UTC).timestamp()) * 1_000_000
    return "".join(f"{t0 + i * 60_000_000},10.0{i},10.10,9.90,10.05,5.5,{t0 + (i + 1) * 60_000_000 - 1},55,3,1,10,0\n"
                   for i in range(rows))


def pinned(iso: str) -> cli.Clock:
    at = datetime.fromisoformat(iso).replace(tzinfo=UTC)
    return lambda: at


def download(vision: FakeBinanceVision, out: Path, *args: str, today: str = "2025-02-03T12:00:00") -> int:
    """`bootstrap.py download ARGS` in process, against the stand-in, "now" pinned."""
    argv = [*args, "--base-url", vision.base_url, "--out", str(out), "--config", str(ROOT / "settings.toml")]
    return cli.main(argv, clock=pinned(today))


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
