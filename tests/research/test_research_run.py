"""Research runs in process: the live bot's actors end to end, the end heard from the keeper, the combined report."""

from __future__ import annotations

import json
import threading
import zipfile
from pathlib import Path

import pytest

import bootstrap
from actors.messages import TradingStopped
from actors.research import engine, runs
from actors.research.paths import expand
from actors.research.runner import StopListener, run_backtest
from tests._support.paths import DATA
from tests.e2e.test_golden_trades import GOLDEN, _fingerprint

DAY = DATA / "klines" / "TRUMPUSDC-1m" / "TRUMPUSDC-1m-2025-01-29.csv"
PEPE = DATA / "klines" / "PEPEUSDT-5m" / "PEPEUSDT-5m-2025-01.csv"
SHORT_TREND = {"strategy.name": "trend", "market.trend_fast_s": 600, "market.trend_slow_s": 2400, "market.regime_band": "1"}  # as the golden day
needs_data = pytest.mark.skipif(not DAY.exists() or not PEPE.exists(), reason="../shared/data is not beside the checkout")


def test_the_listener_hears_trading_stopped() -> None:
    done = threading.Event()
    ref = StopListener.start(done)
    ref.tell(TradingStopped(reason="feed finished", ts_ms=1))
    assert done.wait(10)
    ref.stop()


@needs_data
def test_an_in_process_run_gives_the_live_bots_recorded_trades(tmp_path: Path) -> None:
    """The golden run (bootstrap.py on this day, in a subprocess) and research's in-process run trade alike."""
    spec = expand([DAY])[0]
    settings = runs.run_settings(runs.run_keys({}, spec, SHORT_TREND, tmp_path))
    summary = run_backtest(settings, tmp_path)
    want = json.loads((GOLDEN / "trumpusdc_1m_day.json").read_text())
    assert _fingerprint(summary) == want
    assert summary["stopped_reason"]
    assert (tmp_path / "summary.json").is_file() and not (tmp_path / "equity.png").exists()  # no chart unless asked


@needs_data
def test_runs_in_one_process_one_after_another_do_not_leak_into_each_other(tmp_path: Path) -> None:
    spec = expand([DAY])[0]
    jobs = [engine.make_job(i, spec, {}, tmp_path / str(i), params=SHORT_TREND) for i in range(2)]
    a, b = engine.execute(jobs)
    keep = ("return", "hold", "excess", "max_dd", "trades", "fees", "pnl", "time_in_position", "events")
    assert {k: a[k] for k in keep} == {k: b[k] for k in keep}
    assert a["trades"] > 0 and not a["error"]


def _month_sample(tmp_path: Path, rows: int = 1500) -> Path:
    """The first rows of a real 5m month, as Binance ships it: a zip in a symbol folder."""
    folder = tmp_path / "data" / "PEPEUSDT-5m"
    folder.mkdir(parents=True)
    head = "".join(PEPE.read_text().splitlines(keepends=True)[:rows])
    with zipfile.ZipFile(folder / "PEPEUSDT-5m-2025-01.zip", "w") as zf:
        zf.writestr("PEPEUSDT-5m-2025-01.csv", head)
    return folder


@needs_data
def test_backtest_command_runs_each_file_and_writes_one_combined_report(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    pepe = _month_sample(tmp_path)
    trump = tmp_path / "data" / "TRUMPUSDC-1m"
    trump.mkdir()
    (trump / "TRUMPUSDC-1m-2025-01-29.csv").write_text(DAY.read_text())
    bad = tmp_path / "data" / "BTCUSDT-1m"
    bad.mkdir()
    (bad / "BTCUSDT-1m-2020-01-01.csv").write_text("")  # an empty download: this run fails, the others go on
    out = tmp_path / "out"
    rc = bootstrap.main(["backtest", str(pepe), str(trump), str(bad), "--out", str(out), "--config",
                         str(Path(bootstrap.__file__).with_name("settings.toml"))])
    assert rc == 0
    data = json.loads((out / "backtest.json").read_text())
    labels = [r["label"] for r in data["runs"]]
    assert labels == ["PEPEUSDT-5m/PEPEUSDT-5m-2025-01", "TRUMPUSDC-1m/TRUMPUSDC-1m-2025-01-29",
                      "BTCUSDT-1m/BTCUSDT-1m-2020-01-01"]
    pepe_row, trump_row, bad_row = data["runs"]
    assert pepe_row["tick_size"] == "0.00000001" and pepe_row["grid_source"] == "inferred from the data"
    assert trump_row["tick_size"] == "0.01" and trump_row["grid_source"] == "settings"  # settings.toml gives it
    assert "ReplayRefused" in bad_row["error"] and not pepe_row["error"] and not trump_row["error"]  # one failed run, the rest went on
    assert data["totals"]["finished"] == 2 and data["totals"]["failed"] == 1
    for name in ("backtest.csv", "backtest.png", "runs/PEPEUSDT-5m/PEPEUSDT-5m-2025-01/summary.json",
                 "runs/TRUMPUSDC-1m/TRUMPUSDC-1m-2025-01-29/summary.json",
                 "runs/TRUMPUSDC-1m/TRUMPUSDC-1m-2025-01-29/journal.sqlite3", "runs/BTCUSDT-1m/BTCUSDT-1m-2020-01-01/error.txt"):
        assert (out / name).is_file(), name
    shown = capsys.readouterr().out
    assert "TRUMPUSDC-1m/TRUMPUSDC-1m-2025-01-29" in shown and "beat holding" in shown


def test_backtest_of_a_missing_path_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bootstrap.main(["backtest", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
