"""Replays that cannot trade are refused at the start; the grid is given or inferred; the report
shows what data was read, used and dropped (issue 11, items 4 and 6)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from actors.market_data.replay import ReplaySource
from actors.market_data.replay_check import data_facts, file_symbol, split_symbol
from actors.settings import load_settings
from tests._support.paths import DATA
from tests._support.run import run_bot

D = Decimal
T0 = 1_577_836_800_000  # 2020-01-01
BAR = 60_000


def klines(path: Path, prices: list[str], *, start: int = T0, skip: tuple[int, ...] = (), volume: str = "2.5") -> Path:
    rows = []
    for i, p in enumerate(prices):
        if i in skip:
            continue
        t = start + i * BAR
        rows.append(f"{t},{p},{p},{p},{p},{volume},{t + BAR - 1},0,0,0,0,0")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_binance_file_names_carry_the_symbol() -> None:
    assert file_symbol("BTCUSDT-1m-2020-01-01.csv") == "BTCUSDT"
    assert file_symbol("spot-PEPEUSDT-aggTrades-2024-10-27.zip:PEPEUSDT-aggTrades-2024-10-27.csv") == "PEPEUSDT"
    assert file_symbol("APEUSDT-UMFUTURES-aggTrades-2024-10-18.csv") == "APEUSDT"
    assert file_symbol("TRUMPUSDT-5m-2025-01.csv") == "TRUMPUSDT"
    assert file_symbol("my-data.csv") is None
    assert split_symbol("PEPEUSDT") == ("PEPE", "USDT") and split_symbol("TRUMPUSDC") == ("TRUMP", "USDC")


def test_the_data_grid_is_read_from_its_own_decimals(tmp_path: Path) -> None:
    path = klines(tmp_path / "X.csv", ["7195.24000000", "7200.10000000", "7190.00000000"], volume="12.34500000")
    facts = data_facts(ReplaySource(path))
    assert (facts.tick, facts.step, facts.low, facts.high) == (D("0.01"), D("0.001"), D("7190"), D("7200.1"))


def test_settings_know_which_keys_were_given(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('symbol = "TRUMPUSDC"\n[exchange]\ntick_size = "0.01"\n')
    s = load_settings(cfg, {"market.source": "replay", "market.replay_path": "x.csv", "status.port": None})
    assert s.given == {"symbol", "exchange.tick_size", "market.source", "market.replay_path"}
    assert load_settings().given == frozenset()


def test_another_symbols_file_is_refused_naming_the_setting(tmp_path: Path) -> None:
    data = klines(tmp_path / "BTCUSDT-1m-2020-01-01.csv", ["7195.24", "7200.10", "7190.01"])
    proc = run_bot(tmp_path, "--market", "replay", "--replay-path", str(data), "--report-dir", "out")
    assert proc.returncode == 2
    assert "holds BTCUSDT data, but symbol = 'TRUMPUSDC'" in proc.stderr
    assert 'set symbol = "BTCUSDT"' in proc.stderr and 'base_asset = "BTC"' in proc.stderr
    assert not (tmp_path / "out" / "summary.json").exists()


def test_prices_a_few_ticks_apart_are_refused_naming_the_tick_size(tmp_path: Path) -> None:
    data = klines(tmp_path / "PEPEUSDT-1m-2025-01-01.csv", ["0.00001996", "0.0000201", "0.00001994"], volume="1084802")
    cfg = tmp_path / "pepe.toml"
    cfg.write_text('symbol = "PEPEUSDT"\n[exchange]\nbase_asset = "PEPE"\nquote_asset = "USDT"\ntick_size = "0.01"\n'
                   '[market]\nsource = "replay"\n')
    proc = run_bot(tmp_path, "--config", str(cfg), "--replay-path", str(data), "--report-dir", "out")
    assert proc.returncode == 2
    assert "exchange.tick_size = 0.01 (settings) is too coarse" in proc.stderr
    assert 'tick_size = "0.00000001"' in proc.stderr


def test_a_pepe_month_with_default_grid_settings_trades_on_the_inferred_grid(tmp_path: Path) -> None:
    data = DATA / "klines" / "PEPEUSDT-5m" / "PEPEUSDT-5m-2025-01.csv"
    if not data.exists():
        pytest.skip(f"{data} is not here (../shared/data beside the checkout)")
    cfg = tmp_path / "pepe.toml"
    cfg.write_text('symbol = "PEPEUSDT"\n[exchange]\nbase_asset = "PEPE"\nquote_asset = "USDT"\n[market]\nsource = "replay"\n')
    proc = run_bot(tmp_path, "--config", str(cfg), "--replay-path", str(data), "--report-dir", "out")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    grid = summary["data"]["grid"]
    assert grid["tick_size"] == {"value": "0.00000001", "source": "inferred from the data"}
    assert grid["step_size"]["source"] == "inferred from the data"
    assert summary["closed_trades"] > 0
    assert "tick_size 0.00000001 (inferred from the data)" in proc.stdout


def test_the_report_lists_files_rows_dropped_and_gaps(tmp_path: Path) -> None:
    """A 1m-klines file and an aggTrades file of the same day: the trades are behind the klines' clock."""
    folder = tmp_path / "day"
    folder.mkdir()
    prices = [f"{10 + (i % 7) / 100:.2f}" for i in range(30)]
    klines(folder / "TRUMPUSDC-1m-2020-01-01.csv", prices, skip=(12, 13))  # two bars missing: one gap
    agg = [f"{i},10.01,1.5,{i},{i},{T0 + 5_000 + i * 1000},True,True" for i in range(50)]
    (folder / "TRUMPUSDC-aggTrades-2020-01-01.csv").write_text("\n".join(agg) + "\n")
    proc = run_bot(tmp_path, "--market", "replay", "--replay-path", str(folder), "--report-dir", "out")
    assert proc.returncode == 0, proc.stderr[-3000:]
    d = json.loads((tmp_path / "out" / "summary.json").read_text())["data"]
    assert d["files_read"] == 2 and "TRUMPUSDC-aggTrades-2020-01-01.csv: aggTrades, 0 rows used, 50 dropped" in d["files"]
    assert (d["rows_used"], d["rows_dropped"], d["dropped_why"]) == (28, 50, "time going backwards: 50")
    assert d["market_gaps"] == 1 and d["longest_gap"]["s"] == 120.001
    assert "50 dropped (time going backwards: 50)" in proc.stdout
    assert "WARNING: 50 rows of the data were not replayed" in proc.stdout
    assert "gaps       : 1 in market time" in proc.stdout
