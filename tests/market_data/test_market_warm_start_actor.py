"""The market data actor's warm start against the stand-in venue on 127.0.0.1 (issue 26), by messages.

The history is read on the actor's I/O loop and reported back by message; no
snapshot (so no decision) goes out before it is folded, while the status page
and the console say how far it has come; a refusing venue is named once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pykka
import pytest

from actors.binance.market_stream import wall_clock_ms
from actors.console import feed_health
from actors.market_data.actor import MarketDataActor
from actors.messages import (
    CandlesClosed,
    GetStats,
    MarketSnapshot,
    Position,
    SnapshotProcessed,
    StartFeed,
    StatusSnapshot,
    Subscribe,
    SubscribeCandles,
    TradingState,
)
from actors.settings import ExchangeSettings, MarketSettings, Settings, StrategySettings
from actors.status.render import View, render_html
from tests._support.fakes.binance_klines import rising_klines
from tests._support.fakes.binance_market import FakeBinanceMarket
from tests._support.probes import ProbeHandle, eventually
from tests.market_data.test_warm_start import replay_features


@pytest.fixture
def fake() -> Any:
    f = FakeBinanceMarket("TRUMPUSDC")
    f.set_book([("10.00", "5")], [("10.01", "4")])
    f.start()
    yield f
    f.stop()


def start(fake: FakeBinanceMarket) -> tuple[pykka.ActorRef[Any], ProbeHandle, Settings]:
    market = replace(MarketSettings(), source="binance", stream_url=fake.stream_url, snapshot_interval_ms=20,
                     stale_after_s=5, depth_limit=100)
    settings = Settings(market=market, exchange=replace(ExchangeSettings(), rest_url=fake.rest_url),
                        strategy=StrategySettings(name="trend"))  # its 4 h look-back: the trend's EMAs alone
    md = MarketDataActor.start(settings, stream_options={"backoff_initial_s": 0.05, "backoff_max_s": 0.5},
                               history_options={"backoff_initial_s": 0.01, "backoff_max_s": 0.05})

    def ack(msg: Any) -> None:
        if isinstance(msg, MarketSnapshot):
            md.tell(SnapshotProcessed(seq=msg.seq, subscriber_urn=sub.ref.actor_urn))

    sub = ProbeHandle(ack)
    md.tell(SubscribeCandles(subscriber=sub.ref))  # the probe is the strategy's host too
    md.tell(Subscribe(subscriber=sub.ref))
    md.tell(StartFeed())
    fake.wait_connected()
    return md, sub, settings


def stats(md: pykka.ActorRef[Any]) -> dict[str, Any]:
    return md.ask(GetStats(), timeout=5).as_dict()


def page(md: pykka.ActorRef[Any]) -> str:
    status = StatusSnapshot(
        symbol="TRUMPUSDC", state=TradingState.READY_TO_BUY, active_order=None,
        position=Position(symbol="TRUMPUSDC", quantity=D(0), entry_price=D(0), timestamp=datetime.now(tz=UTC)),
        trades=(), realized_pnl=D(0), fees_paid=D(0), last_advice=None, last_snapshot=None, feed_stale=False,
        halted_reason=None)
    return render_html(View(status=status, stats={"market": md.ask(GetStats(), timeout=5)}), 0.0, wall_clock_ms())


def test_the_first_snapshot_waits_for_the_history_and_carries_the_replays_trend(
        fake: FakeBinanceMarket, tmp_path: Path) -> None:
    rows = rising_klines(wall_clock_ms(), minutes=300)
    fake.history.set(rows)
    fake.history.holding = True  # the venue is slow to answer
    md, sub, settings = start(fake)
    fake.book_update(bids=[("10.00", "6")])
    fake.trade("10.01", "1", buyer_is_maker=False)
    s = eventually(lambda: (st := stats(md))["warming"] == 1 and st["warm_of"] > 0 and st, timeout=10)
    assert s["warm_of"] == 242 and s["warm_minutes"] == 0 and s["warm_kind"] == "warm start"
    assert "Warming up: 0 of 242 minutes of the venue's history: no decisions until they are read" in page(md)
    assert feed_health(s, wall_clock_ms()) == "warming up: 0 of 242 minutes"
    assert sub.all(MarketSnapshot) == []  # the book and a trade are in, but nothing to decide on yet

    fake.history.holding = False
    snap = sub.wait_for(MarketSnapshot, timeout=10)[0]
    q = fake.history.requests[0]
    start_ms, end_ms = int(q["startTime"]), int(q["endTime"]) + 1
    replayed = replay_features(tmp_path, [r for r in rows if start_ms <= r[0] < end_ms], settings.market)
    fast, slow, vol_h, regime = replayed.features.trend.read()
    assert (snap.trend_fast, snap.trend_slow, snap.vol_hourly, snap.regime) == (fast, slow, vol_h, "up")
    assert str(snap.trend_fast) == str(fast) and str(snap.vol_hourly) == str(vol_h)
    assert snap.candles[:-1] == replayed.features.candles()[-len(snap.candles) + 1:]  # the closed ones: the venue's
    # the strategy got every history candle, each once, closed, before the first snapshot
    got = sub.all()
    first_snap = next(i for i, m in enumerate(got) if isinstance(m, MarketSnapshot))
    told = [c for m in got[:first_snap] if isinstance(m, CandlesClosed) for c in m.candles]
    assert [c.open_ms for c in told] == [r[0] for r in rows if start_ms <= r[0] < end_ms]
    assert all(m.interval_ms == 60_000 for m in got if isinstance(m, CandlesClosed))
    s = stats(md)
    assert s["warming"] == 0 and s["history_candles"] == 242 and s["history_failed"] == ""
    assert "Warming up" not in page(md) and feed_health(s, wall_clock_ms()).startswith("feed ok")
    assert len(fake.history.requests) == 1


def test_a_failing_history_is_retried_then_named_once_and_the_run_goes_on_live(fake: FakeBinanceMarket,
                                                                                logs: Any) -> None:
    fake.history.set(rising_klines(wall_clock_ms(), minutes=300))
    fake.history.fail(500, 400)
    md, sub, _ = start(fake)
    fake.book_update(bids=[("10.00", "6")])
    snap = sub.wait_for(MarketSnapshot, timeout=10)[0]
    assert snap.trend_fast is None and snap.regime == ""  # warming up on live data, as before
    assert len(fake.history.requests) == 2  # the 500 was retried, the 400 was not
    named = [m for m in logs.messages("WARNING") if "history" in m]
    assert named == [('market data: no warm start: the venue refused the history request: HTTP 400: {"code": -1121, '
                      '"msg": "Invalid symbol."}; warming up on live data, as without one')]
    assert stats(md)["history_failed"].startswith("HTTP 400")


def test_after_an_outage_that_lost_whole_minutes_they_are_read_before_the_next_snapshot(
        fake: FakeBinanceMarket) -> None:
    now = wall_clock_ms()
    seam = now - now % 60_000
    fake.history.set(rising_klines(now + 10 * 60_000, minutes=300))  # the venue's history runs on past now
    md, sub, _ = start(fake)
    fake.book_update(bids=[("10.00", "6")])
    fake.trade("10.00", "1", buyer_is_maker=False, ts_ms=seam + 1_000)
    sub.wait_for(MarketSnapshot, lambda s: s.candles[-1].open_ms == seam, timeout=10)
    fake.drop()
    eventually(lambda: stats(md)["stale"] == 1, timeout=10)
    fake.wait_connected(count=2)
    # the first trade after the outage is three and a half minutes later (its time, not the wall's)
    fake.trade("10.05", "2", buyer_is_maker=False, ts_ms=seam + 3 * 60_000 + 30_000)
    fake.book_update(bids=[("10.00", "3")])  # a new connection has no top of book until the venue says one
    snap = sub.wait_for(MarketSnapshot, lambda s: s.candles[-1].open_ms == seam + 3 * 60_000, timeout=10)[-1]
    backfill = fake.history.requests[1]
    assert (int(backfill["startTime"]), int(backfill["endTime"]) + 1) == (seam + 60_000, seam + 3 * 60_000)
    assert [(c.open_ms - seam) // 60_000 for c in snap.candles] == [-1, 0, 1, 2, 3]  # no gap
    assert stats(md)["backfills"] == 1 and stats(md)["history_candles"] == 244 and not snap.stale
