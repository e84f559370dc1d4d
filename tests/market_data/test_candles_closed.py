"""`SubscribeCandles`: every closed candle reaches the strategy's host once, in order, never before it
closed, and before the snapshot that follows it (one probe is both subscribers: its inbox keeps the order)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pykka

from actors.market_data.actor import MarketDataActor
from actors.messages import (
    CandlesClosed,
    FeedFinished,
    MarketSnapshot,
    SnapshotProcessed,
    StartFeed,
    Subscribe,
    SubscribeCandles,
)
from actors.settings import ExchangeSettings, MarketSettings, Settings
from tests._support.data import write_agg_trades
from tests._support.probes import ProbeHandle

T0_MS = 1_735_689_600_000


def write_klines(path: Path, n: int, interval_ms: int = 300_000) -> Path:
    rows = []
    for i in range(n):
        o = 100 + (i % 7)
        c = 100 + ((i + 3) % 7)
        vol = "0" if i == 5 else "12.5"  # a bar without trades: never a candle, nothing to trade on
        rows.append(f"{T0_MS + i * interval_ms},{o},{max(o, c) + 1},{min(o, c) - 1},{c},{vol},"
                    f"{T0_MS + (i + 1) * interval_ms - 1},0,0,0,0,0")
    path.write_text("\n".join(rows) + "\n")
    return path


def run(path: Path) -> list[Any]:
    settings = Settings(market=MarketSettings(source="replay", replay_path=str(path)),
                        exchange=ExchangeSettings())
    md = MarketDataActor.start(settings)
    box: list[pykka.ActorRef[Any]] = []

    def respond(msg: Any) -> None:
        if isinstance(msg, MarketSnapshot):
            md.tell(SnapshotProcessed(seq=msg.seq, subscriber_urn=box[0].actor_urn))

    probe = ProbeHandle(respond)
    box.append(probe.ref)
    md.tell(SubscribeCandles(subscriber=probe.ref))
    md.tell(Subscribe(subscriber=probe.ref))
    md.tell(StartFeed())
    probe.wait_for(FeedFinished, timeout=30)
    got = probe.all()
    md.stop()
    probe.ref.stop()
    return got


def test_kline_bars_arrive_each_once_at_their_close_before_the_snapshot(tmp_path: Path) -> None:
    got = run(write_klines(tmp_path / "TRUMPUSDC-5m-2025-01-01.csv", 40))
    candles = [(c, m.interval_ms) for m in got if isinstance(m, CandlesClosed) for c in m.candles]
    assert [c.open_ms for c, _ in candles] == [T0_MS + i * 300_000 for i in range(40) if i != 5]
    assert {iv for _, iv in candles} == {300_000}
    seen_close = -1
    for m in got:  # the order one inbox received them in
        if isinstance(m, CandlesClosed):
            seen_close = max(c.open_ms + m.interval_ms - 1 for c in m.candles)
        elif isinstance(m, MarketSnapshot):
            assert seen_close <= m.ts_snapshot_ms  # nothing from the future...
            closed_by_now = [(c, iv) for c, iv in candles if c.open_ms + iv - 1 <= m.ts_snapshot_ms]
            assert seen_close == max(c.open_ms + iv - 1 for c, iv in closed_by_now)  # ...and nothing missing


def test_minute_candles_from_trades_close_with_the_next_minutes_first_trade(tmp_path: Path) -> None:
    got = run(write_agg_trades(tmp_path / "TRUMPUSDC-aggTrades-2025-01-01.csv", 2000, step_us=150_000))  # 5 min
    candles = [c for m in got if isinstance(m, CandlesClosed) for c in m.candles]
    assert [c.open_ms for c in candles] == [T0_MS + i * 60_000 for i in range(4)]  # the fifth is still open
    assert all(m.interval_ms == 60_000 for m in got if isinstance(m, CandlesClosed))
    last_trade_before: dict[int, int] = {}
    for m in got:
        if isinstance(m, MarketSnapshot) and m.trades:
            for t in m.trades:
                last_trade_before.setdefault(t.ts_ms // 60_000 * 60_000, t.ts_ms)
    for c in candles:  # no candle before the first trade of the minute after it
        first_after = last_trade_before[c.open_ms + 60_000]
        assert first_after >= c.open_ms + 60_000
