"""The bot in a subprocess against stand-ins for Binance (market and exchange) and OpenRouter on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests._support.fakes.binance_exchange import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeBinance
from tests._support.fakes.binance_market import FakeBinanceMarket
from tests._support.fakes.openrouter import FakeOpenRouter
from tests._support.paths import ROOT

OPENROUTER_KEY = "sk-or-v1-" + "e2etestkey0123456789abcdef0123456789abcdef"


class Stand:
    """All three stand-ins, started for one test."""

    def __init__(self, tmp: Path, *, auto_fill: bool = True, market_rate_hz: float = 40.0) -> None:
        self.tmp = tmp
        self.market = FakeBinanceMarket()
        self.exchange = FakeBinance()
        self.openrouter = FakeOpenRouter()
        self.market_rest, self.stream_url = self.market.start()
        self.rest_url, self.ws_api_url = self.exchange.start()
        self.ai_url = self.openrouter.start()
        self.exchange.set_auto_fill(auto_fill)
        self.market.start_auto(market_rate_hz)

    @property
    def journal(self) -> Path:
        """Where a real-money run against these stand-ins journals: [storage] path with the mode in its name."""
        return self.tmp / "journal.real.sqlite3"

    def config(self, trading: str = "") -> Path:
        """The bot's settings file for these stand-ins; `trading` adds lines to [trading]."""
        storage = self.tmp / "journal.sqlite3"
        text = f"""
[exchange]
kind = "binance"
rest_url = "{self.rest_url}"
ws_api_url = "{self.ws_api_url}"
confirm_real_money = false
[market]
source = "binance"
stream_url = "{self.stream_url}"
rest_url = "{self.market_rest}"
snapshot_interval_ms = 200
stale_after_s = 5
[ai]
base_url = "{self.ai_url}"
timeout_s = 3
cache_ttl_s = 5
[trading]
order_timeout_s = 20
{trading}
[storage]
path = "{storage}"
[status]
port = 0
[logging]
file = "{self.tmp / 'logs' / 'bot.jsonl'}"
console_level = "INFO"
"""
        path = self.tmp / "e2e.toml"
        path.write_text(text)
        return path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.endswith("API_KEY") and not k.endswith("API_SECRET")}
        env.update(BINANCE_API_KEY=DEFAULT_API_KEY, BINANCE_API_SECRET=DEFAULT_API_SECRET,
                   OPENROUTER_API_KEY=OPENROUTER_KEY, TRADER_NO_DOTENV="1", PYTHONUNBUFFERED="1")
        return env

    def orders(self, side: str) -> list[dict[str, Any]]:
        """The orders the exchange stand-in accepted on one side ("BUY" or "SELL"), oldest first."""
        return [o for o in self.exchange.orders if o["side"] == side]

    def stop(self) -> None:
        for fake in (self.market, self.exchange, self.openrouter):
            try:
                fake.stop()
            except Exception:  # noqa: BLE001 - best effort in teardown
                pass


class Bot:
    """`python bootstrap.py` in a subprocess, output to files (a pipe nobody reads could block it)."""

    def __init__(self, stand: Stand, config: Path, report_dir: Path, env: dict[str, str] | None = None) -> None:
        self.out = open(stand.tmp / f"bot-{time.monotonic_ns()}.out", "w+")  # noqa: SIM115
        self.err = open(stand.tmp / f"bot-{time.monotonic_ns()}.err", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bootstrap.py"), "--config", str(config), "--yes-real-money",
             "--report-dir", str(report_dir)],
            cwd=stand.tmp, env=env or stand.env(), stdout=self.out, stderr=self.err, text=True)

    def __enter__(self) -> Bot:
        return self

    def __exit__(self, *exc: object) -> None:
        """A bot still running when the test leaves the block (a failed wait) is killed, not left behind."""
        if self.proc.poll() is None:
            self.kill()

    def stdout(self) -> str:
        self.out.flush()
        return Path(self.out.name).read_text()

    def stderr(self) -> str:
        self.err.flush()
        return Path(self.err.name).read_text()

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)


def wait_until(check: Any, timeout: float, what: str, proc: subprocess.Popen[str] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the bot exited ({proc.returncode}) before {what}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def summary(report_dir: Path) -> dict[str, Any]:
    return json.loads((report_dir / "summary.json").read_text())


def base_balance(stand: Stand) -> Decimal:
    free, locked = stand.exchange.balances["TRUMP"]
    return free + locked


def journal_view(config: Path, journal: Path) -> Any:
    """The bot's state as its journal has it (committed facts only), read the way recovery reads it."""
    from actors.settings import load_settings
    from actors.state_keeper.core import KeeperCore, replay
    from actors.state_keeper.journal import Journal

    j = Journal(journal)
    try:
        core = KeeperCore(load_settings(config))
        replay(core, j.facts())
    finally:
        j.db.close()
    return core
