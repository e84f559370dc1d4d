"""`--testnet` end to end: the real order path against stand-ins on testnet-like (configured) addresses."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from actors.state_keeper.journal import fingerprint
from tests._support.e2e_harness import Stand, summary, wait_until
from tests._support.fakes.binance_exchange import DEFAULT_API_KEY, DEFAULT_API_SECRET
from tests._support.paths import ROOT

MAINNET_KEY = "mainnetKey0000000000000000000000000000000000000000000000000000"  # must never be sent


def test_testnet_trades_with_its_own_keys_banner_journal_and_checks(tmp_path: Path) -> None:
    stand = Stand(tmp_path)
    try:
        env = stand.env()
        env.update(BINANCE_TESTNET_API_KEY=DEFAULT_API_KEY, BINANCE_TESTNET_API_SECRET=DEFAULT_API_SECRET,
                   BINANCE_API_KEY=MAINNET_KEY, BINANCE_API_SECRET="mainnetSecret000000000000000000000000000")
        out, err = open(tmp_path / "bot.out", "w+"), open(tmp_path / "bot.err", "w+")  # noqa: SIM115
        proc = subprocess.Popen(  # no --yes-real-money: fake funds need no confirmation
            [sys.executable, str(ROOT / "bootstrap.py"), "--config", str(stand.config()), "--testnet",
             "--report-dir", str(tmp_path / "report")],
            cwd=tmp_path, env=env, stdout=out, stderr=err, text=True)
        try:
            wait_until(lambda: stand.exchange.trades, 90, "a fill on the testnet stand-in", proc)
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
        stdout, stderr = (tmp_path / "bot.out").read_text(), (tmp_path / "bot.err").read_text()
        assert code == 0, stderr[-3000:]
        assert "TESTNET: real orders on Binance's Spot Testnet with FAKE funds" in stderr
        assert "LIVE TRADING WITH REAL MONEY" not in stderr
        assert "start-up checks on the Spot Testnet (127.0.0.1:" in stderr
        assert f"key BINANCE_TESTNET_API_KEY {fingerprint(DEFAULT_API_KEY)}" in stderr
        assert "clock: this machine is" in stderr
        assert "(Spot Testnet)" in stdout
        for text in (stdout, stderr):
            assert DEFAULT_API_KEY not in text and DEFAULT_API_SECRET not in text and MAINNET_KEY not in text
        sent = {r.api_key_header for r in stand.exchange.requests if r.api_key_header}
        assert sent == {DEFAULT_API_KEY}  # the testnet's key, never the mainnet's
        assert stand.exchange.requests_to("POST", "/api/v3/order")  # the real order path
        journal = tmp_path / "journal.testnet.sqlite3"
        assert journal.exists() and not (tmp_path / "journal.real.sqlite3").exists()
        with sqlite3.connect(journal) as db:
            meta = dict(db.execute("SELECT key, value FROM meta"))
        assert (meta["mode"], meta["account"]) == ("testnet", fingerprint(DEFAULT_API_KEY))
        s = summary(tmp_path / "report")
        assert s["fee_rates"]["source"] == "account"  # the stand-in's commission, read at start
    finally:
        stand.stop()
