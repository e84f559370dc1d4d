"""The run's console: plain lines off a terminal, a rich bar or live line on one, log lines above it."""

from __future__ import annotations

import io
import sys
import zipfile
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from loguru import logger

from actors.console import Console, feed_health, live_line, replay_span, run_span
from actors.market_data.synthetic import EPOCH_MS
from actors.messages import TradingState
from actors.settings import LoggingSettings, MarketSettings, Settings
from tests._support.paths import DATA

H = 3_600_000


def status(ts_ms: int | None, *, stopped: str | None = None, pnl: str = "0.25", closed: int = 3) -> Any:
    snap = None if ts_ms is None else SimpleNamespace(ts_snapshot_ms=ts_ms, mid=Decimal("10.1234"))
    return SimpleNamespace(last_snapshot=snap, trades=(), counters=(("trades_closed", closed),),
                           state=TradingState.READY_TO_BUY,
                           risk=None, halted_reason=None, realized_pnl=Decimal(pnl), stopped_reason=stopped)


def backtest_settings() -> Settings:
    return replace(Settings(), market=replace(MarketSettings(), source="synthetic", duration_s=10 * 3600))


def live_settings() -> Settings:
    return replace(Settings(), market=replace(MarketSettings(), source="binance"))


def test_off_a_terminal_it_prints_the_plain_line_as_before() -> None:
    out = io.StringIO()
    console = Console(backtest_settings(), lambda s: f"plain {s.realized_pnl}", stream=out)
    assert not console.interactive  # a StringIO is no terminal
    console.update(status(EPOCH_MS))
    console.update(status(EPOCH_MS + H, pnl="0.5"))
    console.close(status(EPOCH_MS + 2 * H))
    assert out.getvalue() == "plain 0.25\nplain 0.5\n"


def test_a_backtest_on_a_terminal_shows_a_bar_with_eta() -> None:
    out = io.StringIO()
    console = Console(backtest_settings(), str, stream=out, interactive=True)
    console.update(status(EPOCH_MS + 5 * H))
    text = out.getvalue()
    assert "backtest" in text and "50%" in text and "ETA" in text and "2025-01-01 05:00" in text
    assert "TRUMPUSDC READY_TO_BUY · trades 3 · P&L +0.2500" in text  # the line under the bar
    console.close(status(EPOCH_MS + 9 * H, stopped="end of data"))
    assert "100%" in out.getvalue()
    console.close()  # twice is fine


def test_the_span_comes_from_the_synthetic_market_or_the_files(tmp_path: Path) -> None:
    assert run_span(backtest_settings()) == (EPOCH_MS, EPOCH_MS + 10 * 3600 * 1000)
    klines = tmp_path / "XUSDT-1m-2025-01-01.csv"
    klines.write_text("open_time,open,high,low,close,volume,close_time,qv,n,tb,tq,ignore\n"
                      "1735689600000,1,1,1,1,1,1735689659999,0,0,0,0,0\n"
                      "1735689660000,1,1,1,1,1,1735689719999,0,0,0,0,0\n")
    assert replay_span(klines) == (1735689600000, 1735689719999)
    micros = tmp_path / "XUSDT-aggTrades-2025-02-01.csv"  # Binance spot files from 2025 on: microseconds
    micros.write_text("1,10.0,1.0,1,1,1738368000000000,True,True\n2,10.0,1.0,2,2,1738368060000000,False,True\n")
    with zipfile.ZipFile(tmp_path / "XUSDT-aggTrades-2025-02-02.zip", "w") as zf:
        zf.writestr("XUSDT-aggTrades-2025-02-02.csv", "3,10,1,3,3,1738454400000,True,True\n")
    assert replay_span(micros) == (1738368000000, 1738368060000)
    assert replay_span(tmp_path) == (1735689600000, 1738454400000)
    (tmp_path / "junk").mkdir()
    assert replay_span(tmp_path / "junk") is None and replay_span(tmp_path / "missing.csv") is None


@pytest.mark.skipif(not (DATA / "klines" / "TRUMPUSDC-1m").is_dir(), reason="no shared data")
def test_the_span_of_real_binance_files() -> None:
    from datetime import UTC, datetime

    first, last = replay_span(DATA / "klines" / "TRUMPUSDC-1m") or (0, 0)
    minute = [datetime.fromtimestamp(t // 60_000 * 60, UTC).strftime("%Y-%m-%d %H:%M") for t in (first, last)]
    assert minute == ["2025-01-28 21:53", "2025-01-31 13:37"]  # the README's span


def test_a_live_run_shows_one_line_with_feed_health() -> None:
    now = EPOCH_MS + 1_500
    line = live_line(live_settings(), status(EPOCH_MS), {"last_data_ms": EPOCH_MS, "stale": 0}, now)
    assert line.startswith("PAPER TRUMPUSDC  2025-01-01 00:00:00 UTC  mid 10.1234")
    assert "trades 3" in line and "P&L +0.2500" in line and "feed ok, data 1.5 s old" in line
    assert feed_health({"stale": 1, "stale_cause": "connection refused"}, now) == "feed STALE: connection refused"
    real = replace(live_settings(), exchange=replace(live_settings().exchange, kind="binance"))
    assert live_line(real, status(None), None, now).startswith("REAL TRUMPUSDC  waiting for data")
    out = io.StringIO()
    console = Console(live_settings(), str, stream=out, interactive=True, clock=lambda: now)
    console.update(status(EPOCH_MS), {"last_data_ms": EPOCH_MS, "stale": 0, "reconnects": 2})
    console.close(status(EPOCH_MS, closed=5))  # the last line keeps the last feed health it was given
    assert "feed ok, data 1.5 s old, 2 reconnects" in out.getvalue()
    assert "trades 5" in out.getvalue() and "feed ?" not in out.getvalue()


def test_warnings_print_above_the_live_line() -> None:
    from actors.logging_setup import configure_logging, remove_logging

    out = io.StringIO()
    configure_logging(LoggingSettings(console_level="WARNING"), json_file=None)  # the sink finds sys.stderr late
    try:
        console = Console(live_settings(), str, stream=out, interactive=True, clock=lambda: EPOCH_MS)
        console.update(status(EPOCH_MS))
        logger.warning("the disk is almost full")
        logger.info("an info line the console does not show")
        console.update(status(EPOCH_MS, closed=4))
        console.close()
    finally:
        remove_logging()
    text = out.getvalue()
    assert "the disk is almost full" in text and "an info line" not in text
    assert text.index("the disk is almost full") < text.rindex("trades 4")
    assert sys.stderr is not None and type(sys.stderr).__name__ != "FileProxy"  # given back
