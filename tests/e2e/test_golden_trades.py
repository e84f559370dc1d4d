"""Refactors change no trade: fixed runs must give the recorded trades to the last digit.

A change that is meant to alter trading (a new fill model, a risk default)
regenerates the file with `TRADER_REGOLD=1 pytest tests/test_golden_trades.py`
and says so in its commit message; any other diff here is a regression.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests._support.paths import DATA, GOLDEN
from tests._support.run import run_bot

PINNED = '[strategy]\nname = "trend"\n[risk]\nmax_drawdown = "0.15"\n'  # the defaults these were recorded with

CASES = {
    # a day of the default market on a seed that trades (the trend needs market.trend_slow_s to warm up)
    "synthetic_seed1_1d": (PINNED + "[market]\nduration_s = 86400\nseed = 1\n", ()),
    # one replayed day, with trend windows short enough for the strategy to act within it
    "trumpusdc_1m_day": (PINNED + '[market]\nsource = "replay"\ntrend_fast_s = 600\ntrend_slow_s = 2400\nregime_band = "1"\n',
                         ("--replay-path", str(DATA / "klines/TRUMPUSDC-1m/TRUMPUSDC-1m-2025-01-29.csv"))),
}


def _fingerprint(summary: dict) -> dict:
    return {
        "realized_pnl": summary["realized_pnl"],
        "fees_paid": summary["fees_paid"],
        "trades": [[t["entry_price"], t["exit_price"], t["quantity"], t["fees"], t["pnl"], t["status"],
                    t["opened_at_ms"], t["closed_at_ms"]] for t in summary["trades"]],
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_recorded_runs_give_the_recorded_trades(tmp_path: Path, name: str) -> None:
    config, args = CASES[name]
    if args and not Path(args[1]).exists():
        pytest.skip(f"{args[1]} is not here (../shared/data beside the checkout)")
    cfg = tmp_path / "golden.toml"
    cfg.write_text(config)
    proc = run_bot(tmp_path, "--config", str(cfg), "--report-dir", "out", *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = _fingerprint(json.loads((tmp_path / "out" / "summary.json").read_text()))
    path = GOLDEN / f"{name}.json"
    if os.environ.get("TRADER_REGOLD"):
        path.write_text(json.dumps(got, indent=1) + "\n")
    want = json.loads(path.read_text())
    assert got["trades"], "a golden run that trades nothing proves nothing"
    assert got == want
