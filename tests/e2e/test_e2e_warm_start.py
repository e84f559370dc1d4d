"""A paper run on live data (`bootstrap.py --market binance`) against a stand-in venue with fifteen hours of
rising one-minute history (issue 26): it reads the history first and buys at once, where it used to wait
four hours for its trend."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests._support.e2e_harness import Bot, Stand, wait_until
from tests._support.fakes.binance_klines import rising_klines
from tests._support.fakes.binance_market import FakeBinanceMarket
from tests._support.paths import ROOT


@pytest.fixture
def venue() -> Iterator[FakeBinanceMarket]:
    fake = FakeBinanceMarket()
    fake.start()
    fake.history.set(rising_klines(time.time_ns() // 1_000_000, minutes=900))  # 15 h, rising, up to now
    fake.start_auto(20.0)  # the live market goes on from the history's last price (10.00)
    yield fake
    fake.stop()


def paper_config(tmp: Path, fake: FakeBinanceMarket, extra: str = "") -> Path:
    path = tmp / "paper.toml"
    path.write_text(extra + f"""
[market]
source = "binance"
stream_url = "{fake.stream_url}"
rest_url = "{fake.rest_url}"
snapshot_interval_ms = 200
stale_after_s = 5
[storage]
path = "{tmp / 'journal.sqlite3'}"
[status]
port = 0
[logging]
file = "{tmp / 'logs' / 'bot.jsonl'}"
console_level = "INFO"
""")
    return path


def log_records(tmp: Path) -> list[dict[str, Any]]:
    path = tmp / "logs" / "bot.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line being written
    return out


def message(rec: dict[str, Any]) -> str:
    return str(rec["record"]["message"])  # loguru's serialized lines


def run_until(tmp: Path, fake: FakeBinanceMarket, what: str, extra: str = "") -> list[str]:
    """The paper run until a log message contains `what`; then SIGTERM. Every log message, in order."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("API_KEY") and not k.endswith("API_SECRET")}
    env.update(TRADER_NO_DOTENV="1", PYTHONUNBUFFERED="1")  # no OpenRouter key: the rule-based strategy decides
    with open(tmp / "bot.out", "w") as out, open(tmp / "bot.err", "w") as err:
        proc = subprocess.Popen([sys.executable, str(ROOT / "bootstrap.py"), "--config", str(paper_config(tmp, fake, extra)),
                                 "--market", "binance", "--report-dir", str(tmp / "report")],
                                cwd=tmp, env=env, stdout=out, stderr=err, text=True)
        try:
            wait_until(lambda: any(what in message(r) for r in log_records(tmp)), 120, what, proc)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
    assert code == 0, (tmp / "bot.err").read_text()[-3000:]
    return [message(r) for r in log_records(tmp)]


TREND = '[strategy]\nname = "trend"\n'  # the built-in whose 4 h warm-up the issue measured


def test_a_paper_run_reads_the_venues_history_and_its_first_decision_is_a_buy(
        venue: FakeBinanceMarket, tmp_path: Path) -> None:
    msgs = run_until(tmp_path, venue, "order placed", TREND)
    placed = [m for m in msgs if m.startswith("order placed")]
    assert placed[0].startswith("order placed: BUY")  # the first decision: a buy, on the history's up trend
    done = next(i for i, m in enumerate(msgs) if m.startswith("market data: warm start done: 242 candles"))
    assert "(trend up)" in msgs[done] and done < msgs.index(placed[0])
    first = venue.history.requests[0]
    assert (first["interval"], first["limit"]) == ("1m", "1000")
    end = int(first["endTime"]) + 1  # the minute open at the start, not read
    assert end - int(first["startTime"]) == 242 * 60_000 and end % 60_000 == 0


def test_without_the_history_the_same_run_holds_as_it_did_before(venue: FakeBinanceMarket, tmp_path: Path) -> None:
    """The venue fails (500, retried) then refuses (400): named once, and the run goes on warming up live,
    as every live start did before the warm start: its first advice is a hold for want of a trend."""
    venue.history.fail(500, 400)
    msgs = run_until(tmp_path, venue, "advice adv-", TREND)
    named = [m for m in msgs if "history request" in m]
    assert named == [('market data: no warm start: the venue refused the history request: HTTP 400: {"code": -1121, '
                      '"msg": "Invalid symbol."}; warming up on live data, as without one')]
    advice = next(m for m in msgs if m.startswith("advice adv-"))
    assert " hold " in advice and "no trend yet" in advice
    assert not any(m.startswith("order placed") for m in msgs) and len(venue.history.requests) == 2


BARS = '''
from actors.strategy import Strategy, buy, hold


class Rising(Strategy):
    timeframe = "15m"
    lookback = 20  # 20 closed quarter-hours: more history than the trend needs

    def decide(self, ctx):
        if ctx.flat and len(ctx.bars) >= 20 and ctx.bars[-1].close > ctx.bars[-20].close:
            return buy(ctx.buy_price(ctx.bid), f"{len(ctx.bars)} bars, rising")
        return hold(f"{len(ctx.bars)} bars")
'''


def test_a_bar_strategy_gets_its_look_back_from_the_venue_and_buys_at_once(
        venue: FakeBinanceMarket, tmp_path: Path) -> None:
    (tmp_path / "rising.py").write_text(BARS)
    msgs = run_until(tmp_path, venue, "order placed", f'[strategy]\nname = "{tmp_path / "rising.py"}:Rising"\n')
    first = venue.history.requests[0]
    end = int(first["endTime"]) + 1
    assert end - int(first["startTime"]) == 21 * 15 * 60_000  # its 20 bars and the one forming: 315 minutes
    advice = next(m for m in msgs if m.startswith("advice adv-"))
    assert " buy " in advice and "rising.py:Rising: 2" in advice and "bars, rising" in advice


def test_a_real_money_run_reads_the_history_and_its_first_order_is_a_buy(tmp_path: Path) -> None:
    """The same on the real order path (`--yes-real-money` against the exchange stand-in), with the default
    strategy alone: five days of rising history cover the default's look-back (four days of 2 h bars), so its
    first order is a buy priced from the venue's own book, placed without waiting for live candles."""
    stand = Stand(tmp_path)
    try:
        stand.market.history.set(rising_klines(time.time_ns() // 1_000_000, minutes=5 * 24 * 60))
        cfg = stand.config()
        cfg.write_text(cfg.read_text().replace("[ai]\n", '[ai]\nrole = "off"\n'))
        with Bot(stand, cfg, tmp_path / "report") as bot:
            wait_until(lambda: stand.exchange.orders, 120, "a real order", bot.proc)
            bid, _ask = stand.market.best()  # the book walks a tick at a time, about 20 times a second
            first = stand.exchange.orders[0]
            assert bot.terminate() == 0, bot.stderr()[-3000:]
        # priced from the live book as it was (a few ticks ago at most), however long the start took
        assert first["side"] == "BUY" and abs(Decimal(first["price"]) - bid) <= Decimal("0.10"), (first["price"], bid)
        assert stand.market.history.requests  # the history was read...
        assert "warm start done" in bot.stderr()  # ...before the first decision
    finally:
        stand.stop()
