"""The live warm start alone, without threads (issue 26): LiveDelivery with its history requests captured.

What matters: after the warm start the features are those of a kline replay
of the same candles, to the digit; the seam with the live stream has no gap
and no double count; no snapshot (so no decision) goes out on a half-read
history; an outage that lost whole minutes is filled the same way; a short
history warms up on what exists; a failed one is said once and the run goes on.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from actors.binance.klines import HistoryFailed, HistoryFetched, HistoryProgress
from actors.binance.market_stream import BookTicker, StreamBatch, StreamConnected, StreamDown
from actors.console import feed_health
from actors.market_data.cutter import SnapshotCutter
from actors.market_data.features import MINUTE_MS, Features
from actors.market_data.feed_health import FeedHealth
from actors.market_data.live_delivery import LiveDelivery
from actors.market_data.replay import ReplaySource
from actors.market_data.snapshot_builder import SnapshotBuilder
from actors.market_data.subscribers import Subscribers
from actors.market_data.trend import Trend
from actors.market_data.warmup import history_needed_ms
from actors.messages import FeedStatusChanged, MarketSnapshot, TradeTick
from actors.settings import MarketSettings, Settings, StrategySettings
from tests._support.fakes.binance_klines import rising_klines

SEAM = 1_764_547_200_000  # 2025-12-01 00:00 UTC: the minute open when the run starts
T_START = SEAM + 20_000


class Ref:
    def __init__(self, urn: str) -> None:
        self.actor_urn = urn
        self.got: list[Any] = []

    def tell(self, message: Any) -> None:
        self.got.append(message)

    def of(self, kind: type) -> list[Any]:
        return [m for m in self.got if isinstance(m, kind)]

TREND = StrategySettings(name="trend")  # the built-in whose look-back is the trend's slow window



def market(**kw: Any) -> MarketSettings:
    return replace(MarketSettings(), source="binance", snapshot_interval_ms=0, **kw)


def features_of(m: MarketSettings) -> Features:
    return Features(m.window_s, m.candles, m.trend_fast_s, m.trend_slow_s, m.regime_band)


class Rig:
    def __init__(self, **kw: Any) -> None:
        self.now = T_START
        self.m = market(**kw)
        self.asked: list[tuple[int, int, int]] = []
        self.subs = Subscribers()
        self.sub = Ref("keeper")
        self.subs.add(self.sub)
        self.builder = SnapshotBuilder("TRUMPUSDC", D("0.01"), D("0.001"), features_of(self.m))
        self.live = LiveDelivery(self.subs, self.builder, self.m, symbol="TRUMPUSDC", clock=lambda: self.now,
                                 request_history=lambda *job: self.asked.append(job),
                                 history_ms=history_needed_ms(Settings(market=self.m, strategy=TREND)))
        self.live.start()
        self.live.on_connected(StreamConnected(1, "ws://x"))
        self.live.begin_warm_start()
        self.u = 0

    @property
    def features(self) -> Features:
        return self.builder.features

    def batch(self, *events: Any) -> None:
        self.now += 10
        self.live.on_batch(StreamBatch(1, events, self.now))

    def ticker(self, bid: str = "10.00", ask: str = "10.01") -> BookTicker:
        self.u += 1
        return BookTicker(self.u, D(bid), D(1), D(ask), D(1), self.now)

    def answer(self, rows: list[list[Any]], job: int | None = None) -> None:
        """The venue's answer to the last request, as `KlineHistory` hands it over."""
        j, start, end = self.asked[-1]
        got = tuple(tuple(str(x) for x in r) for r in rows if start <= r[0] < end)
        self.live.on_history(HistoryFetched(j if job is None else job, got, 1))

    def snaps(self) -> list[MarketSnapshot]:
        """What the keeper got; each one acknowledged, as the keeper does."""
        got = self.sub.of(MarketSnapshot)
        if got:
            self.live.on_ack(got[-1].seq, "keeper")
        return got


def trade(tid: int, ts: int, price: str = "10.00", qty: str = "1", maker: bool = False) -> TradeTick:
    return TradeTick(trade_id=tid, price=D(price), qty=D(qty), ts_ms=ts, buyer_is_maker=maker)


def replay_features(tmp_path: Path, rows: list[list[Any]], m: MarketSettings) -> SnapshotBuilder:
    """The same candles as a kline replay: a public-data CSV through ReplaySource and the cutter."""
    path = tmp_path / "TRUMPUSDC-1m-2025-11-30.csv"
    path.write_text("".join(",".join(str(x) for x in r) + "\n" for r in rows))
    builder = SnapshotBuilder("TRUMPUSDC", D("0.01"), D("0.001"), features_of(m))
    cutter = SnapshotCutter(ReplaySource(path, candle_fills=m.candle_fills).chunks(), builder,
                            interval_ms=m.snapshot_interval_ms, significant_move_bps=m.significant_move_bps)
    seq = 0
    while cutter.next_cut(seq) is not None:
        seq += 1
    return builder


def test_the_look_back_is_the_trends_slow_window_and_two_minutes_in_one_place() -> None:
    assert history_needed_ms(Settings(strategy=TREND)) == 14_400_000 + 2 * MINUTE_MS
    assert history_needed_ms(Settings()) == 50 * 7_200_000  # the default's 48-bar channel, its +1 and the open bar
    long_window = Settings(market=replace(MarketSettings(), trend_slow_s=600, window_s=3600), strategy=TREND)
    assert history_needed_ms(long_window) == 3_600_000 + MINUTE_MS  # the short window, when it is the longest
    odd = Settings(market=replace(MarketSettings(), trend_slow_s=14_430), strategy=TREND)
    assert history_needed_ms(odd) % MINUTE_MS == 0 and history_needed_ms(odd) >= 14_430_000 + 2 * MINUTE_MS


def test_a_strategy_that_looks_further_back_sets_the_look_back(tmp_path: Path) -> None:
    from actors.settings import load_settings

    (tmp_path / "far.py").write_text(
        "from actors.strategy import Strategy, hold\n\n"
        "class Far(Strategy):\n    timeframe = '1h'\n    lookback = 48\n\n    def decide(self, ctx):\n"
        "        return hold()\n")
    cfg = tmp_path / "s.toml"
    cfg.write_text(f'[strategy]\nname = "{tmp_path / "far.py"}:Far"\n')
    assert history_needed_ms(load_settings(cfg)) == 49 * 3_600_000  # 48 closed hours and the one forming


@pytest.mark.parametrize("fills", ["next_bar", "path"])
def test_the_features_after_a_warm_start_equal_a_replay_of_the_same_candles_to_the_digit(
        tmp_path: Path, fills: str) -> None:
    rig = Rig(candle_fills=fills)
    job, start, end = rig.asked[0]
    assert (job, end) == (1, SEAM) and end - start == history_needed_ms(Settings(market=rig.m, strategy=TREND))
    rows = rising_klines(T_START, minutes=400)  # more than asked, and the open candle: only [start, end) is used
    rig.answer(rows)
    replayed = replay_features(tmp_path, [r for r in rows if start <= r[0] < end], rig.m)

    warm, ref = rig.features, replayed.features
    assert warm.trend.read()[0] is not None and warm.trend.read()[3] == "up"  # a trend, at once
    for when in (SEAM, T_START):
        a = rig.builder.build(seq=7, ts_data_ms=when, ts_snapshot_ms=when, bid=D("10.00"), bid_qty=D(1),
                              ask=D("10.01"), ask_qty=D(1), imbalance=None, trades=())
        b = replayed.build(seq=7, ts_data_ms=when, ts_snapshot_ms=when, bid=D("10.00"), bid_qty=D(1),
                           ask=D("10.01"), ask_qty=D(1), imbalance=None, trades=())
        assert repr(a) == repr(b)  # every field, every digit: trend EMAs, vol_hourly, regime, candles, window
    assert (warm.trend.fast, warm.trend.slow, warm.trend.var_rate) == (ref.trend.fast, ref.trend.slow,
                                                                       ref.trend.var_rate)
    assert len(a.candles) == rig.m.candles and a.candles[-1].open_ms == SEAM - MINUTE_MS


def test_no_snapshot_goes_out_until_the_history_is_folded_and_the_seam_has_no_gap_and_no_double_count() -> None:
    rig = Rig()
    _, start, end = rig.asked[0]
    rows = rising_klines(T_START, minutes=300)
    rig.batch(rig.ticker(), trade(1, SEAM - 400, "9.99"), trade(2, SEAM + 5_000, "10.01", "2"),
              trade(3, SEAM + 9_000, "10.02", "3", maker=True))
    rig.live.on_history(HistoryProgress(1, 0, (end - start) // MINUTE_MS))
    assert rig.snaps() == [] and rig.live.counters()["warming"] == 1  # no decision on a half-read history
    health = FeedHealth.from_stats({**rig.live.counters(), "mode": "live"})
    assert health is not None and health.summary(rig.now) == "warming up: 0 of 242 minutes"
    assert rig.sub.of(FeedStatusChanged) == []

    rig.answer(rows)
    snap = rig.snaps()[-1]
    assert snap.trend_fast is not None and not snap.stale
    c = rig.live.counters()
    assert c["warming"] == 0 and c["history_candles"] == 242 and c["history_covered"] == 1
    # the minute before the seam is the venue's candle alone (trade 1 is in it already); the open one is live
    last_bar = next(r for r in rows if r[0] == SEAM - MINUTE_MS)
    closed, forming = snap.candles[-2], snap.candles[-1]
    assert (closed.open_ms, closed.close, closed.volume) == (SEAM - MINUTE_MS, D(last_bar[4]), D(last_bar[5]))
    assert (forming.open_ms, forming.open, forming.high, forming.low, forming.close, forming.volume) == (
        SEAM, D("10.01"), D("10.02"), D("10.01"), D("10.02"), D(5))
    assert [x.open_ms for x in snap.candles] == [SEAM - k * MINUTE_MS for k in range(4, -1, -1)]  # no gap
    assert snap.trades == (trade(1, SEAM - 400, "9.99"), trade(2, SEAM + 5_000, "10.01", "2"),
                           trade(3, SEAM + 9_000, "10.02", "3", maker=True))  # the paper exchange still sees them

    rig.batch(trade(4, SEAM + MINUTE_MS + 1_000, "10.03"))  # closes the seam's candle
    # every candle is in the trend exactly once: the bars at their closes, the live one at its end
    expect = Trend(rig.m.trend_fast_s, rig.m.trend_slow_s, rig.m.regime_band)
    for r in rows:
        if start <= r[0] < end:
            expect.fold(r[6], D(r[4]))
    expect.fold(SEAM + MINUTE_MS, D("10.02"))
    t = rig.features.trend
    assert (t.fast, t.slow, t.var_rate, t.last_ms) == (expect.fast, expect.slow, expect.var_rate, expect.last_ms)


def test_an_outage_that_lost_whole_minutes_is_filled_from_the_history_before_the_next_snapshot() -> None:
    rig = Rig()
    rows = rising_klines(SEAM + 10 * MINUTE_MS, minutes=300)  # the venue's history runs on past the start
    rig.answer(rows)
    rig.batch(rig.ticker(), trade(1, SEAM + 30_000, "10.00"))
    rig.live.on_down(StreamDown(1, "connection lost"))
    assert rig.sub.of(FeedStatusChanged)[-1].stale
    n_snaps = len(rig.snaps())
    rig.now = SEAM + 3 * MINUTE_MS + 40_000
    rig.live.on_connected(StreamConnected(2, "ws://x"))
    rig.live.on_batch(StreamBatch(2, (rig.ticker("10.04", "10.05"), trade(9, SEAM + 3 * MINUTE_MS + 35_000, "10.05")),
                                  rig.now))
    job, start, end = rig.asked[-1]
    assert (job, start, end) == (2, SEAM + MINUTE_MS, SEAM + 3 * MINUTE_MS)  # the two minutes nobody saw
    assert len(rig.snaps()) == n_snaps and rig.sub.of(FeedStatusChanged)[-1].stale  # no decision yet
    assert rig.live.counters()["warm_kind"] == "backfill"

    rig.answer(rows)
    assert not rig.sub.of(FeedStatusChanged)[-1].stale and len(rig.sub.of(FeedStatusChanged)) == 2
    snap = rig.snaps()[-1]
    assert [(x.open_ms - SEAM) // MINUTE_MS for x in snap.candles] == [-1, 0, 1, 2, 3]  # no gap
    assert snap.candles[-1].close == D("10.05") and rig.live.counters()["backfills"] == 1
    # the live candle before the outage went into the trend once, the two bars once each
    t = rig.features.trend
    assert t.last_ms == SEAM + 3 * MINUTE_MS - 1
    bars = {r[0]: r for r in rows}
    expect = Trend(rig.m.trend_fast_s, rig.m.trend_slow_s, rig.m.regime_band)
    for r in rows:
        if rig.asked[0][1] <= r[0] < SEAM:
            expect.fold(r[6], D(r[4]))
    expect.fold(SEAM + MINUTE_MS, D("10.00"))
    for k in (1, 2):
        expect.fold(bars[SEAM + k * MINUTE_MS][6], D(bars[SEAM + k * MINUTE_MS][4]))
    assert (t.fast, t.slow, t.var_rate) == (expect.fast, expect.slow, expect.var_rate)


def test_a_short_outage_reads_nothing() -> None:
    rig = Rig()
    rig.answer(rising_klines(T_START, minutes=300))
    rig.batch(rig.ticker(), trade(1, SEAM + 50_000))
    rig.live.on_down(StreamDown(1, "connection lost"))
    rig.now = SEAM + MINUTE_MS + 30_000
    rig.live.on_connected(StreamConnected(2, "ws://x"))
    rig.live.on_batch(StreamBatch(2, (rig.ticker(), trade(2, SEAM + MINUTE_MS + 20_000)), rig.now))
    assert len(rig.asked) == 1 and not rig.sub.of(FeedStatusChanged)[-1].stale


def test_a_symbol_listed_since_warms_up_on_what_exists() -> None:
    rig = Rig()
    rig.answer(rising_klines(T_START, minutes=90))  # listed an hour and a half ago
    rig.batch(rig.ticker(), trade(1, SEAM + 21_000))
    snap = rig.snaps()[-1]
    assert rig.live.counters()["history_candles"] == 90 and len(snap.candles) == rig.m.candles
    assert snap.trend_fast is None and snap.regime == ""  # not a made-up trend: it comes with time, as before
    assert rig.features.trend.first_ms == SEAM - 90 * MINUTE_MS + MINUTE_MS - 1


def test_a_failed_history_is_said_once_and_the_run_warms_up_live(logs: Any) -> None:
    rig = Rig()
    rig.batch(rig.ticker(), trade(1, SEAM + 21_000, "10.00"), trade(2, SEAM + 22_000, "10.01"))
    assert rig.snaps() == []
    rig.live.on_history(HistoryFailed(1, "HTTP 400: {\"code\":-1121,\"msg\":\"Invalid symbol.\"}", refused=True))
    rig.live.on_history(HistoryFailed(1, "again", refused=True))  # a stale answer changes nothing
    warnings = [w for w in logs.messages("WARNING") if "history" in w]
    assert warnings == [("market data: no warm start: the venue refused the history request: HTTP 400: "
                         "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}; warming up on live data, as without one")]
    snap = rig.snaps()[-1]
    assert snap.trend_fast is None and snap.candles[-1].volume == D(2)  # the held trades are folded
    assert rig.live.counters()["history_failed"].startswith("HTTP 400")
    rig.answer(rising_klines(T_START, minutes=300), job=1)  # too late: ignored
    assert rig.live.counters()["history_candles"] == 0


def test_the_edges_say_warming_up_and_keep_saying_what_is_down() -> None:
    base = {"mode": "live", "warming": 1, "warm_minutes": 12, "warm_of": 242, "warm_kind": "warm start"}
    h = FeedHealth.from_stats(base)
    assert h is not None and h.summary(T_START) == "warming up: 12 of 242 minutes"
    down = {**base, "stale": 1, "stale_cause": "connect failed: connection refused by x:1", "stale_since_ms": T_START}
    h = FeedHealth.from_stats(down)
    assert h is not None and h.summary(T_START + 3_000) == ("feed down 3 s: connect failed: connection refused by "
                                                            "x:1; warming up: 12 of 242 minutes")
    back = {**down, "warm_kind": "backfill", "warm_minutes": 0, "warm_of": 3}  # the stream is back, the gap is read
    h = FeedHealth.from_stats(back)
    assert h is not None and h.summary(T_START) == ("warming up: 0 of 3 minutes (the minutes missed while the "
                                                    "feed was down)")
    assert feed_health(base, T_START) == "warming up: 12 of 242 minutes"
    assert feed_health(down, T_START) == ("feed STALE: connect failed: connection refused by x:1; "
                                          "warming up: 12 of 242 minutes")
    assert feed_health({**base, "warming": 0, "last_data_ms": T_START}, T_START).startswith("feed ok")
