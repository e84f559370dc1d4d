"""`--recent`: the hours the archive lacks from a REST klines stand-in, one CSV beside the zips, each bar once."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from actors.download import recent
from actors.market_data.replay_check import file_symbol
from actors.research.paths import expand, period_of
from tests._support.fakes.binance_vision import FakeBinanceVision
from tests._support.run import run_bot
from tests.download.helpers import download, files, needs_data, real_day, rest_bars, tiny_day

NOW = "2025-01-31T13:38:30"  # the last real minute of the dev set's TRUMPUSDC days opened at 13:37


def _rest(vision: FakeBinanceVision) -> None:
    bars = rest_bars("2025-01-30") + rest_bars("2025-01-31")
    still_open = [bars[-1][0] + 60_000, "26.17", "26.20", "26.15", "26.18", "10", bars[-1][6] + 60_000, "261", 4,
                  "0", "0", "0"]  # the minute trading at NOW: not closed, not written
    vision.rest_bars["TRUMPUSDC"] = [*bars, still_open]


def _rest_starts(vision: FakeBinanceVision) -> list[int]:
    return [int(h.path.split("startTime=")[1].split("&")[0]) for h in vision.hits if h.path.startswith("/api/v3/klines")]


@needs_data
def test_recent_covers_the_days_not_yet_archived_and_the_folder_replays_each_bar_once(
        vision: FakeBinanceVision, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recent, "REST_LIMIT", 300)  # page more often than Binance's 1000, to see the paging
    vision.rest_limit = 300
    vision.publish("daily", "klines", "TRUMPUSDC", "1m", "2025-01-29", real_day("2025-01-29"))  # 01-30: not out yet
    _rest(vision)
    out = tmp_path / "data"
    assert download(vision, out, "TRUMPUSDC", "--interval", "1m", "--from", "2025-01-29", "--recent",
                    "--rest-url", vision.base_url, today=NOW) == 0  # yesterday's file is late, the REST has it
    folder = out / "klines" / "TRUMPUSDC-1m"
    assert files(folder) == ["TRUMPUSDC-1m-2025-01-29.zip", "TRUMPUSDC-1m-2025-01-29.zip.CHECKSUM",
                             "TRUMPUSDC-1m-2025-01-30.recent.csv"]
    rows = (folder / "TRUMPUSDC-1m-2025-01-30.recent.csv").read_text().splitlines()
    want = [",".join(map(str, b)) for b in rest_bars("2025-01-30") + rest_bars("2025-01-31")]
    assert rows == want  # 12 columns, ms, every closed bar from 01-30 00:00, the open minute left out
    starts = _rest_starts(vision)
    assert starts[0] == recent.day_ms(date(2025, 1, 30)) and len(starts) == 8  # 2,259 bars, 300 a page
    assert starts == sorted(set(starts))  # paged forward by startTime, never the same page twice
    shown = capsys.readouterr().out
    assert "recent: TRUMPUSDC-1m-2025-01-30.recent.csv, 2258 closed bars" in shown and "missing" not in shown
    # the name carries the symbol and the first day, as the replay checks and the research commands read them
    assert file_symbol("TRUMPUSDC-1m-2025-01-30.recent.csv") == "TRUMPUSDC"
    assert period_of("TRUMPUSDC-1m-2025-01-30.recent.csv") == "2025-01-30"
    assert [s.period for s in expand([folder])] == ["2025-01-29", "2025-01-30"]
    # the folder as it is: the zip (µs) and the top-up (ms), each bar once, nothing dropped, no gap
    proc = run_bot(tmp_path, "--replay-path", str(folder), "--report-dir", "r")
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "r" / "summary.json").read_text())["data"]
    assert data["files_read"] == 2 and data["rows_used"] == 1440 + 1440 + 818
    assert data["rows_dropped"] == 0 and data["market_gaps"] == 0


@needs_data
def test_a_later_run_trims_the_days_the_archive_caught_up_with(vision: FakeBinanceVision, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    vision.publish("daily", "klines", "TRUMPUSDC", "1m", "2025-01-29", real_day("2025-01-29"))
    _rest(vision)
    out = tmp_path / "data"
    args = ("TRUMPUSDC", "--interval", "1m", "--from", "2025-01-29")
    assert download(vision, out, *args, "--recent", "--rest-url", vision.base_url, today=NOW) == 0
    vision.publish("daily", "klines", "TRUMPUSDC", "1m", "2025-01-30", real_day("2025-01-30"))  # now it is out
    assert download(vision, out, *args, "--to", "2025-01-30", today=NOW) == 0  # no --recent this time
    folder = out / "klines" / "TRUMPUSDC-1m"
    assert [n for n in files(folder) if n.endswith(".csv")] == ["TRUMPUSDC-1m-2025-01-31.recent.csv"]
    assert (folder / "TRUMPUSDC-1m-2025-01-31.recent.csv").read_text().splitlines() == \
        [",".join(map(str, b)) for b in rest_bars("2025-01-31")]
    assert ("TRUMPUSDC-1m-2025-01-30.recent.csv: the archive now holds its days to 2025-01-30; the 818 bars after "
            "are in TRUMPUSDC-1m-2025-01-31.recent.csv") in capsys.readouterr().out
    vision.publish("daily", "klines", "TRUMPUSDC", "1m", "2025-01-31", real_day("2025-01-31"))
    assert download(vision, out, *args, today="2025-02-01T09:00:00") == 0
    assert not [n for n in files(folder) if n.endswith(".csv")]
    assert "removed TRUMPUSDC-1m-2025-01-31.recent.csv: the archive now holds all its days" in capsys.readouterr().out


def test_recent_for_a_symbol_binance_does_not_know_says_so(vision: FakeBinanceVision, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert download(vision, tmp_path / "data", "TRUMPUSDX", "--interval", "1m", "--from", "2025-01-30", "--recent",
                    "--rest-url", vision.base_url, today=NOW) == 1
    shown = capsys.readouterr().out
    assert "recent: FAILED: HTTP 400" in shown and "Invalid symbol." in shown
    assert "TRUMPUSDX: nothing exists for this symbol" in shown
    assert not (tmp_path / "data" / "klines" / "TRUMPUSDX-1m").exists()


def test_recent_with_no_closed_bar_yet_writes_nothing_and_a_bad_answer_is_refused(
        vision: FakeBinanceVision, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vision.publish("daily", "klines", "TRUMPUSDC", "1m", "2025-01-30", tiny_day("2025-01-30"))
    t0 = recent.day_ms(date(2025, 1, 31))
    vision.rest_bars["TRUMPUSDC"] = [[t0, "10", "10.1", "9.9", "10", "5", t0 + 59_999, "50", 3, "1", "10", "0"]]
    out = tmp_path / "data"
    args = ("TRUMPUSDC", "--interval", "1m", "--from", "2025-01-30", "--recent", "--rest-url", vision.base_url)
    assert download(vision, out, *args, today="2025-01-31T00:00:30") == 0  # the first minute is still open
    assert "recent: nothing to add: no closed 1m bar since 2025-01-31 00:00 UTC yet" in capsys.readouterr().out
    assert not [n for n in files(out / "klines" / "TRUMPUSDC-1m") if n.endswith(".csv")]
    vision.rest_bars["TRUMPUSDC"] = [[t0, "ten"]]
    assert download(vision, out, *args, today="2025-01-31T12:00:00") == 1
    shown = capsys.readouterr().out
    assert "recent: FAILED:" in shown and "answered a row that is not a kline" in shown
