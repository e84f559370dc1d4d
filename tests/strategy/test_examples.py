"""The example strategies in strategies/: each backtests a real dev month, trades, and its books add up;
a bar strategy's skipped bars change no trade; check-strategy passes them and catches one that peeks."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from tests._support.paths import DATA, ROOT
from tests._support.run import run_bot

MONTH = DATA / "klines" / "PEPEUSDT-5m" / "PEPEUSDT-5m-2025-01.csv"
PEPE = 'symbol = "PEPEUSDT"\n[exchange]\nbase_asset = "PEPE"\nquote_asset = "USDT"\n'
EXAMPLES = {"rsi_dip": "RSIDip", "donchian_breakout": "DonchianBreakout", "ema_trend": "EMATrend"}

pytestmark = pytest.mark.skipif(not MONTH.exists(), reason=f"{MONTH} is not here (../shared/data beside the checkout)")


def config(tmp_path: Path, name: str, extra: str = "") -> Path:
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(PEPE + f'[strategy]\nname = "{ROOT / "strategies" / name}.py:{EXAMPLES[name]}"\n' + extra)
    return cfg


def backtest(tmp_path: Path, cfg: Path, data: Path, out: str) -> dict:
    proc = run_bot(tmp_path, "--config", str(cfg), "--replay-path", str(data), "--report-dir", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / out / "summary.json").read_text())
    summary["_stdout"] = proc.stdout
    return summary


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_example_trades_a_dev_month_and_its_books_add_up(tmp_path: Path, name: str) -> None:
    s = backtest(tmp_path, config(tmp_path, name), MONTH, "out")
    closed = [t for t in s["trades"] if t["status"] == "CLOSED"]
    assert closed, "an example that never trades shows nothing"
    assert D(s["realized_pnl"]) == sum((D(t["pnl"]) for t in closed), D(0))  # to the last decimal
    assert D(s["fees_paid"]) == sum((D(t["fees"]) for t in s["trades"]), D(0))
    ai = s["ai"]
    assert ai["strategy"] == f"{name}.py:{EXAMPLES[name]}" and ai["strategy_answers"] == ai["calls"] > 0
    assert ai["strategy_errors"] == 0 and ai["model_calls"] == 0


def head(src: Path, rows: int, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    with src.open() as fh:
        (into / src.name).write_text("".join(line for _, line in zip(range(rows), fh, strict=False)))
    return into / src.name


def test_skipping_the_bars_a_bar_strategy_cannot_use_changes_no_trade(tmp_path: Path) -> None:
    """A 1h strategy on 5m bars holds until its next close: the market skips the bars in between."""
    runs = []
    for skip in ("true", "false"):
        cfg = config(tmp_path, "donchian_breakout", f"[market]\nskip_idle_snapshots = {skip}\n")
        s = backtest(tmp_path, cfg, MONTH, skip)
        journal = tmp_path / skip / "journal.sqlite3"
        runs.append(([(t["entry_price"], t["exit_price"], t["quantity"], t["pnl"], t["opened_at_ms"], t["closed_at_ms"])
                      for t in s["trades"]], s["realized_pnl"], s["max_drawdown"], s["risk"], equity(journal),
                     s["market"]["skipped"]))
    (trades, pnl, dd, risk, curve, skipped), (trades_b, pnl_b, dd_b, risk_b, curve_b, none) = runs
    assert trades and trades == trades_b and pnl == pnl_b
    for r in (risk, risk_b):  # how many snapshots a condition was seen on is what skipping changes
        for b in r.get("blocked_now") or []:
            b.pop("count", None)
    assert dd == dd_b and risk == risk_b  # the equity samples the market noted as marks are the same samples
    assert curve == curve_b and len(curve) > 1000
    assert skipped > 0 and none == 0


def equity(journal: Path) -> list[tuple]:
    """Every equity sample the keeper journaled: (time, mid, realised, unrealised)."""
    from actors.state_keeper.journal import Journal

    j = Journal(journal)
    try:
        return [(p.ts_ms, p.mid, p.realized_pnl, p.unrealized_pnl)
                for _s, kind, p in j.facts() if kind in ("equity", "EquitySampled")]
    finally:
        j.close()


PEEK = '''
import sys

from actors.strategy import Strategy, buy, hold


ROWS = []


def next_close(ts_ms):
    """Cheats: reads the data file the bot was started on (--replay-path) for the bar after this one."""
    if not ROWS:
        with open(sys.argv[sys.argv.index("--replay-path") + 1]) as fh:
            ROWS.extend((int(line.split(",")[0]), float(line.split(",")[4])) for line in fh)
    return next((close for t, close in ROWS if t > ts_ms), None)


class Peek(Strategy):
    timeframe = "5m"

    def decide(self, ctx):
        nxt = next_close(ctx.ts_ms)
        if nxt is None or not ctx.flat:  # only the future says when to bid
            return hold("no bar after this one")
        return buy(ctx.buy_price(min(nxt, float(ctx.bid)) * 0.99), "a low bid, priced off the next close")
'''


def test_check_strategy_passes_the_examples_and_catches_a_strategy_that_peeks(tmp_path: Path) -> None:
    data = head(MONTH, 800, tmp_path / "data")
    fast = "[strategy.params]\ntrend_period = 24\n"  # a shorter warm-up: decisions within 800 bars
    proc = run_bot(tmp_path, "check-strategy", "--config", str(config(tmp_path, "rsi_dip", fast)), "--cuts", "2",
                   str(data))
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "no look-ahead found" in proc.stdout
    (tmp_path / "peek.py").write_text(PEEK)
    cfg = tmp_path / "peek.toml"
    cfg.write_text(PEPE + f'[strategy]\nname = "{tmp_path / "peek.py"}:Peek"\n')
    proc = run_bot(tmp_path, "check-strategy", "--config", str(cfg), "--cuts", "4", str(data))
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]
    assert "LOOK-AHEAD" in proc.stdout and "with all the data buy @" in proc.stdout and "hold" in proc.stdout
