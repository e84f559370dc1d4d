"""The command line as a new user meets it (issue 11): refusals at start, quiet console, honest `status`.

Each test runs `bootstrap.py` in a subprocess from an empty folder; refusals
must exit 2 with one message that says why and what to type instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._support.run import ROOT, run_bot

TREND = '[strategy]\nname = "trend"\n'  # short runs: the built-in that trades after 4 h (the default needs 4 days)
KEYS = {"BINANCE_API_KEY": "cliTestKey" + "k" * 54, "BINANCE_API_SECRET": "cliTestSecret" + "s" * 51}


def write_klines(path: Path, minutes: int = 240, start: float = 10.0) -> Path:
    """A small TRUMPUSDC 1m klines file in the data.binance.vision layout (deterministic zig-zag)."""
    t0, rows, price = 1_735_689_600_000, [], start
    for i in range(minutes):
        step = 0.03 if (i // 20) % 2 == 0 else -0.03
        o, c = price, round(price + step, 2)
        hi, lo = max(o, c) + 0.01, min(o, c) - 0.01
        rows.append(f"{t0 + i * 60_000},{o:.2f},{hi:.2f},{lo:.2f},{c:.2f},100,{t0 + i * 60_000 + 59_999},"
                    f"{100 * c:.2f},10,50,{50 * c:.2f},0")
        price = c
    path.write_text("\n".join(rows) + "\n")
    return path


def run_with_keys(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **KEYS, "TRADER_NO_DOTENV": "1"}
    env.pop("OPENROUTER_API_KEY", None)
    return subprocess.run([sys.executable, str(ROOT / "bootstrap.py"), "--status-port", "0", *args], check=False,
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


# -- 1. real orders are only priced from the same venue's live data ---------------------------


@pytest.mark.parametrize("market", [None, "synthetic", "replay"])
def test_real_exchange_with_a_simulated_or_recorded_market_is_refused(tmp_path: Path, market: str | None) -> None:
    args = ["--exchange", "binance", "--yes-real-money"]  # the command the issue ran, keys and all
    if market == "replay":
        args += ["--replay-path", str(write_klines(tmp_path / "TRUMPUSDC-1m-2025-01-01.csv"))]
    elif market:
        args += ["--market", market]
    proc = run_with_keys(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "live data" in proc.stderr and "--market binance" in proc.stderr
    assert "LIVE TRADING" not in proc.stderr + proc.stdout  # refused before the banner
    assert not (tmp_path / "reports").exists() and not (tmp_path / "data").exists()
    assert KEYS["BINANCE_API_KEY"] not in proc.stderr + proc.stdout


# -- 3. a replay path implies replay; a contradiction is refused ------------------------------


def test_replay_path_alone_replays_it(tmp_path: Path) -> None:
    data = write_klines(tmp_path / "TRUMPUSDC-1m-2025-01-01.csv")
    proc = run_bot(tmp_path, "--replay-path", str(data), "--report-dir", "r")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["settings"]["market_source"] == "replay"
    assert summary["market_start_ms"] >= 1_735_689_600_000  # the file's day, not the synthetic one


@pytest.mark.parametrize("market", ["binance", "synthetic"])
def test_replay_path_with_another_market_is_refused(tmp_path: Path, market: str) -> None:
    data = write_klines(tmp_path / "TRUMPUSDC-1m-2025-01-01.csv")
    proc = run_bot(tmp_path, "--market", market, "--replay-path", str(data))
    assert proc.returncode == 2
    assert "--replay-path" in proc.stderr and f"--market {market}" in proc.stderr and "implies replay" in proc.stderr


def test_a_settings_file_with_a_replay_path_and_another_source_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[market]\nsource = "synthetic"\nreplay_path = "{tmp_path / "x.csv"}"\n')
    proc = run_bot(tmp_path, "--config", str(cfg))
    assert proc.returncode == 2 and "market.replay_path" in proc.stderr and "market.source" in proc.stderr


# -- 4. settings that could never trade do not start; backtests log beside their report ----------


def test_trade_below_the_minimum_notional_is_refused_with_a_value_that_works(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[trading]\nquote_per_trade = "0.5"\n')
    proc = run_bot(tmp_path, "--config", str(cfg))
    assert proc.returncode == 2
    assert "trading.quote_per_trade = 0.5" in proc.stderr and "exchange.min_notional = 1" in proc.stderr
    suggested = proc.stderr.split('Set trading.quote_per_trade = "')[1].split('"')[0]
    cfg.write_text(f'[trading]\nquote_per_trade = "{suggested}"\n[market]\nduration_s = 3600\n')
    assert run_bot(tmp_path, "--config", str(cfg)).returncode == 0  # the value it named does start


def test_trade_above_the_paper_wallet_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[trading]\nquote_per_trade = "5000"\n')
    proc = run_bot(tmp_path, "--config", str(cfg))
    assert proc.returncode == 2
    assert "exchange.paper_quote_balance = 1000" in proc.stderr and 'quote_per_trade = "1000" or less' in proc.stderr


def test_a_backtest_logs_into_its_report_folder_and_leaves_logs_alone(tmp_path: Path) -> None:
    live_log = tmp_path / "logs" / "trader.jsonl"
    live_log.parent.mkdir()
    live_log.write_text('{"text": "the live bot\'s log"}\n')
    cfg = tmp_path / "c.toml"
    cfg.write_text("[market]\nduration_s = 3600\n[logging]\nrotation = \"1 KB\"\n")  # would rotate at once
    assert run_bot(tmp_path, "--config", str(cfg), "--report-dir", "r").returncode == 0
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["trader.jsonl"]
    assert live_log.read_text() == '{"text": "the live bot\'s log"}\n'
    assert list((tmp_path / "r").glob("trader*.jsonl"))


# -- 7. status and trades give the run's own figures ------------------------------------------


def _totals(text: str) -> list[str]:
    keys = ("realized P&L", "unrealized P&L", "total return", "max drawdown", "fees paid")
    return [line.strip() for line in text.splitlines() if line.strip().startswith(keys)]


@pytest.mark.parametrize("command", ["status", "trades"])
def test_status_and_trades_match_the_runs_report(tmp_path: Path, command: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(TREND + "[market]\nduration_s = 21600\nseed = 1\n")  # ends holding a position below its cost
    run = run_bot(tmp_path, "--config", str(cfg), "--report-dir", "r")
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["unrealized_pnl"] != "0" and summary["max_drawdown"]["quote"] != "0"
    shown = run_bot(tmp_path, command, "--config", str(cfg), "--report-dir", "r")
    assert shown.returncode == 0, shown.stderr
    assert len(_totals(run.stdout)) == 5
    assert _totals(shown.stdout) == _totals(run.stdout)
    ai_line = [line.strip().split("; model calls")[0] for line in run.stdout.splitlines()
               if line.strip().startswith("advice ")]
    assert ai_line and ai_line[0] in shown.stdout  # the advice counts, from the journaled advice


def test_status_of_an_old_journal_says_what_it_cannot_know(tmp_path: Path) -> None:
    from actors.state_keeper.journal import Journal

    old = Journal(tmp_path / "old.sqlite3")  # no equity samples, no owner: as journals were before
    old.append("session", {"id_prefix": "tbold"})
    old.close()
    proc = run_bot(tmp_path, "status", "--journal", "old.sqlite3")
    assert proc.returncode == 0, proc.stderr
    assert "drawdown and buy-and-hold cannot be known" in proc.stdout


# -- 9. a quiet console, --speed, and subcommands with their own flags --------------------------


def test_console_shows_progress_and_warnings_while_the_file_keeps_info(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(TREND + "[market]\nduration_s = 7200\nseed = 3\n")
    proc = run_bot(tmp_path, "--config", str(cfg), "--report-dir", "r")
    assert proc.returncode == 0
    info_lines = [line for line in proc.stderr.splitlines() if "| INFO " in line]
    assert info_lines == []
    assert "Run report" in proc.stdout and "starting:" in proc.stdout
    records = [json.loads(line) for line in (tmp_path / "r" / "trader.jsonl").read_text().splitlines()]
    assert sum(r["record"]["level"]["name"] == "INFO" for r in records) > 10


def test_speed_flag_overrides_the_setting() -> None:
    sys.path.insert(0, str(ROOT))
    import bootstrap

    args = bootstrap.parse_args(["--speed", "120", "--status-port", "0"])
    assert str(bootstrap.settings_from(args).market.speed) == "120"
    assert args.command == "run"


def test_trades_help_shows_only_its_own_flags(tmp_path: Path) -> None:
    proc = run_bot(tmp_path, "trades", "--help")
    assert proc.returncode == 0
    assert "--journal" in proc.stdout
    for flag in ("--exchange", "--market", "--yes-real-money", "--status-port", "--speed", "--replay-path"):
        assert flag not in proc.stdout
    run_help = run_bot(tmp_path, "--help").stdout
    assert "--speed" in run_help and "--yes-real-money" in run_help


def test_old_style_command_after_options_still_works(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    import bootstrap

    assert bootstrap.parse_args(["--config", "x.toml", "trades"]).command == "trades"
    assert bootstrap.parse_args(["--report-dir", "status"]).command == "run"  # a value, not a command


def test_status_reads_the_journal_of_the_mode_asked_for(tmp_path: Path) -> None:
    from actors.state_keeper.journal import Journal, Owner

    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[storage]\npath = "{tmp_path / "live.sqlite3"}"\n')
    j = Journal(tmp_path / "live.paper.sqlite3", Owner("paper-live", "stream.binance.com:9443", "paper"))
    j.append("session", {"id_prefix": "tbp"})
    j.close()
    proc = run_bot(tmp_path, "status", "--config", str(cfg), "--mode", "paper-live")
    assert proc.returncode == 0, proc.stderr
    assert "live.paper.sqlite3: 1 facts, written by mode paper-live" in proc.stdout
    missing = run_bot(tmp_path, "status", "--config", str(cfg), "--mode", "real")
    assert missing.returncode == 2 and "live.real.sqlite3" in missing.stderr
