"""`bootstrap.py download` as a user runs it (a subprocess): killed mid-file and resumed; its folders backtested as they are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from actors.research.paths import expand
from tests._support.fakes.binance_vision import FakeBinanceVision
from tests._support.run import ROOT, run_bot
from tests.download.helpers import PEPE_ZIP, download, files, needs_data, real_day

DAYS = ("2025-01-29", "2025-01-30", "2025-01-31")


@needs_data
def test_an_interrupted_download_resumes_where_it_stopped_and_fetches_nothing_twice(
        vision: FakeBinanceVision, tmp_path: Path) -> None:
    zips = {d: vision.publish("daily", "klines", "TRUMPUSDC", "1m", d, real_day(d)) for d in DAYS}
    last = "TRUMPUSDC-1m-2025-01-31.zip"
    half = len(zips["2025-01-31"]) // 2
    vision.stall(last, after=half)  # the connection hangs half-way through the last file
    out = tmp_path / "data"
    folder = out / "klines" / "TRUMPUSDC-1m"
    part = folder / (last + ".part")
    args = ["TRUMPUSDC", "--interval", "1m", "--from", DAYS[0], "--to", DAYS[-1], "--parallel", "1"]
    env = {**os.environ, "TRADER_NO_DOTENV": "1"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "bootstrap.py"), "download", *args, "--base-url",
                             vision.base_url, "--out", str(out)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (part.exists() and part.stat().st_size >= half):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the download never reached half of its last file"
            time.sleep(0.05)
    finally:
        proc.kill()  # as a power cut would: no clean-up runs
        proc.communicate()
    assert files(folder) == ["TRUMPUSDC-1m-2025-01-29.zip", "TRUMPUSDC-1m-2025-01-29.zip.CHECKSUM",
                             "TRUMPUSDC-1m-2025-01-30.zip", "TRUMPUSDC-1m-2025-01-30.zip.CHECKSUM", last + ".part"]
    assert [s.period for s in expand([folder])] == ["2025-01-29", "2025-01-30"]  # a part is never read as data
    vision.unstall()
    assert download(vision, out, *args) == 0  # the same command again
    assert [h.range for h in vision.zip_gets(last)] == ["", f"bytes={half}-"]  # resumed at the byte it stopped
    for d, body in zips.items():
        name = f"TRUMPUSDC-1m-{d}.zip"
        assert vision.sent_bytes(name) == len(body), name  # every byte of every file sent exactly once
        assert (folder / name).read_bytes() == body
    assert not part.exists()


@needs_data
def test_the_downloaded_folders_backtest_as_they_are(vision: FakeBinanceVision, tmp_path: Path) -> None:
    days = DAYS[1:]
    for d in days:
        vision.publish("daily", "klines", "TRUMPUSDC", "1m", d, real_day(d))
    vision.publish("daily", "aggTrades", "PEPEUSDT", "", "2024-10-27", "", body=PEPE_ZIP.read_bytes())  # Binance's own zip
    got = run_bot(tmp_path, "download", "TRUMPUSDC", "--interval", "1m", "--from", days[0], "--to", days[-1],
                  "--base-url", vision.base_url)
    assert got.returncode == 0, got.stdout + got.stderr
    assert "backtest: python bootstrap.py backtest data/klines/TRUMPUSDC-1m" in got.stdout
    assert "[2/2] fetched" in got.stderr  # piped: plain lines, no redrawn bar
    assert download(vision, tmp_path / "data", "PEPEUSDT", "--kind", "aggTrades", "--from", "2024-10-27",
                    "--to", "2024-10-27") == 0
    bt = run_bot(tmp_path, "backtest", "data/klines/TRUMPUSDC-1m", "data/aggTrades/PEPEUSDT", "--out", "bt")
    assert bt.returncode == 0, bt.stderr[-3000:]
    report = json.loads((tmp_path / "bt" / "backtest.json").read_text())
    assert [r["label"] for r in report["runs"]] == [f"TRUMPUSDC-1m/TRUMPUSDC-1m-{d}" for d in days] + [
        "PEPEUSDT/PEPEUSDT-aggTrades-2024-10-27"]
    assert not [r["error"] for r in report["runs"] if r["error"]]
    assert report["totals"]["finished"] == 3 and report["totals"]["failed"] == 0
    assert all(r["events"] > 0 for r in report["runs"])
