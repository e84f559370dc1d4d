"""The default run, as `make run` does it, in a subprocess: it trades, the books add up, the chart is an image."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from tests._support.paths import ROOT
from tests._support.run import png_size, run_bot

TREND = '[strategy]\nname = "trend"\n'  # short runs: the built-in that trades after 4 h (the default needs 4 days)


def test_default_run_trades_and_reports(tmp_path: Path) -> None:
    proc = run_bot(tmp_path, "--report-dir", "out")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    trades = summary["trades"]
    closed = [t for t in trades if t["status"] == "CLOSED"]
    assert len(closed) >= 2, "the offline default should complete round trips"
    for t in trades:
        for key in ("entry_price", "exit_price", "quantity", "fees", "pnl", "status", "client_order_ids"):
            assert key in t
        assert t["client_order_ids"] and all(isinstance(i, str) for i in t["client_order_ids"])
    assert D(summary["realized_pnl"]) == sum((D(t["pnl"]) for t in closed), D(0))  # to the last decimal
    assert D(summary["fees_paid"]) > 0
    for key in ("calls", "cache_hits", "fallbacks", "strategy_answers", "cost"):
        assert key in summary["ai"]
    # no key: the strategy decided, in its own right (a "fallback" is an answer for a model that failed)
    assert summary["ai"]["strategy_answers"] == summary["ai"]["calls"] > 0 and summary["ai"]["fallbacks"] == 0
    assert summary["ai"]["strategy"] == "breakout" and "strategy breakout" in proc.stdout
    w, h = png_size(tmp_path / "out" / "equity.png")
    assert w > 100 and h > 100
    assert "Run report" in proc.stdout and "realized P&L" in proc.stdout


@pytest.fixture
def short_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "short.toml"
    cfg.write_text(TREND + "[market]\nduration_s = 21600\nseed = 1\n")  # 6 h: the trend warms up in 4
    return cfg


def test_same_seed_same_trades(tmp_path: Path, short_config: Path) -> None:
    runs = []
    for name in ("a", "b"):
        proc = run_bot(tmp_path, "--config", str(short_config), "--report-dir", name)
        assert proc.returncode == 0, proc.stderr[-3000:]
        s = json.loads((tmp_path / name / "summary.json").read_text())
        runs.append([(t["entry_price"], t["exit_price"], t["quantity"], t["fees"], t["pnl"], t["status"],
                      t["opened_at_ms"], t["closed_at_ms"]) for t in s["trades"]])
    assert runs[0] == runs[1] and runs[0]


def test_inspect_commands_read_the_journal(tmp_path: Path, short_config: Path) -> None:
    assert run_bot(tmp_path, "--config", str(short_config), "--report-dir", "r").returncode == 0
    for cmd in ("trades", "status"):
        proc = run_bot(tmp_path, cmd, "--config", str(short_config), "--journal", "r/journal.sqlite3")
        assert proc.returncode == 0, proc.stderr
        assert "realized P&L" in proc.stdout and "facts" in proc.stdout


def test_bad_setting_stops_the_start_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[exchange]\nkind = "kraken"\n')
    proc = run_bot(tmp_path, "--config", str(cfg))
    assert proc.returncode == 2
    assert "exchange.kind" in proc.stderr and "paper, binance" in proc.stderr


def test_real_money_needs_keys_and_confirmation(tmp_path: Path) -> None:
    proc = run_bot(tmp_path, "--exchange", "binance", "--market", "binance")
    assert proc.returncode == 2 and "BINANCE_API_KEY" in proc.stderr
    env_keys = {"BINANCE_API_KEY": "k" * 64, "BINANCE_API_SECRET": "s" * 64}
    proc = subprocess.run([sys.executable, str(ROOT / "bootstrap.py"), "--exchange", "binance", "--market", "binance",
                           "--status-port", "0"],
                          cwd=tmp_path, env={**os.environ, **env_keys, "TRADER_NO_DOTENV": "1"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--yes-real-money" in proc.stderr
    assert "k" * 64 not in proc.stderr + proc.stdout and "s" * 64 not in proc.stderr + proc.stdout


def test_skipping_idle_snapshots_changes_no_trade(tmp_path: Path) -> None:
    """The wake protocol only saves messages: with and without it, the same trades to the last digit."""
    runs = []
    for skip in ("true", "false"):
        cfg = tmp_path / f"{skip}.toml"
        cfg.write_text(TREND + f"[market]\nduration_s = 21600\nseed = 11\nskip_idle_snapshots = {skip}\n")
        proc = run_bot(tmp_path, "--config", str(cfg), "--report-dir", skip)
        assert proc.returncode == 0, proc.stderr[-3000:]
        s = json.loads((tmp_path / skip / "summary.json").read_text())
        runs.append((s["realized_pnl"], s["max_drawdown"], [
            (t["entry_price"], t["exit_price"], t["quantity"], t["fees"], t["pnl"], t["opened_at_ms"], t["closed_at_ms"])
            for t in s["trades"]], s["market"]["skipped"]))
    (pnl_a, dd_a, trades_a, skipped), (pnl_b, dd_b, trades_b, none_skipped) = runs
    assert trades_a and trades_a == trades_b and pnl_a == pnl_b and dd_a == dd_b
    assert skipped > 0 and none_skipped == 0
