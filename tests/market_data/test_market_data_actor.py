"""MarketDataActor alone, with probe subscribers: lockstep delivery and the live stream.

Live tests run against `tests/_support/fakes/binance_market.py` on 127.0.0.1. Nothing
waits on a fixed sleep: every wait is for a message or a condition, with a
generous timeout.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pykka
import pytest

from actors.market_data.actor import MarketDataActor
from actors.messages import (
    FeedFinished,
    FeedStatusChanged,
    GetStats,
    MarketSnapshot,
    SnapshotProcessed,
    StartFeed,
    Subscribe,
    Unsubscribe,
)
from actors.settings import ExchangeSettings, MarketSettings, Settings
from tests._support.data import T0_US, write_agg_trades
from tests._support.fakes.binance_market import FakeBinanceMarket
from tests._support.probes import ProbeHandle, eventually


def settings_for(**market: Any) -> Settings:
    return Settings(market=replace(MarketSettings(), **market), exchange=ExchangeSettings())


class Subscriber:
    """A probe that acknowledges every snapshot (optionally not), recording into a shared log."""

    def __init__(self, market: pykka.ActorRef[Any], name: str, log: list | None = None, ack: bool = True) -> None:
        self.market = market
        self.name = name
        self.log = log
        self.ack = ack
        self._lock = threading.Lock()
        self.handle = ProbeHandle(self._respond)
        self.urn = self.handle.ref.actor_urn

    def _respond(self, msg: Any) -> None:
        if isinstance(msg, MarketSnapshot):
            if self.log is not None:
                self.log.append(("recv", self.name, msg.seq))
            if self.ack:
                if self.log is not None:
                    self.log.append(("ack", self.name, msg.seq))
                self.market.tell(SnapshotProcessed(seq=msg.seq, subscriber_urn=self.urn))

    def acknowledge(self, seq: int) -> None:
        self.market.tell(SnapshotProcessed(seq=seq, subscriber_urn=self.urn))

    def snapshots(self) -> list[MarketSnapshot]:
        return self.handle.all(MarketSnapshot)

    @property
    def ref(self) -> pykka.ActorRef[Any]:
        return self.handle.ref


def stats(market: pykka.ActorRef[Any]) -> dict[str, Any]:
    return market.ask(GetStats(), timeout=5).as_dict()


# -- lockstep ------------------------------------------------------------------------------------------


def run_replay(path: Path, **market: Any) -> tuple[list[MarketSnapshot], FeedFinished]:
    settings = settings_for(source="replay", replay_path=str(path), **market)
    md = MarketDataActor.start(settings)
    sub = Subscriber(md, "one")
    md.tell(Subscribe(subscriber=sub.ref))
    md.tell(StartFeed())
    done = sub.handle.wait_for(FeedFinished, timeout=30)[0]
    snaps = sub.snapshots()
    md.stop()
    sub.ref.stop()
    return snaps, done


def test_lockstep_delivers_one_subscriber_at_a_time_in_subscription_order(tmp_path: Path) -> None:
    path = write_agg_trades(tmp_path / "TRUMPUSDC-aggTrades-2025-01-01.csv", 400)
    md = MarketDataActor.start(settings_for(source="replay", replay_path=str(path)))
    log: list[tuple[str, str, int]] = []  # list.append is atomic: the probes' threads share it
    first = Subscriber(md, "first", log)
    second = Subscriber(md, "second", log)
    md.tell(Subscribe(subscriber=first.ref))
    md.tell(Subscribe(subscriber=second.ref))
    md.tell(StartFeed())
    done = second.handle.wait_for(FeedFinished, timeout=20)[0]
    first.handle.wait_for(FeedFinished, timeout=5)
    assert done.events == 400

    seqs = [m.seq for m in first.snapshots()]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 10
    assert [m.seq for m in second.snapshots()] == seqs
    # the causal order, snapshot by snapshot: first gets it, first acks, second gets it, second acks
    expected = []
    for s in seqs:
        expected += [("recv", "first", s), ("ack", "first", s), ("recv", "second", s), ("ack", "second", s)]
    assert log == expected
    # every trade exactly once, in order
    ids = [t.trade_id for m in first.snapshots() for t in m.trades]
    assert ids == list(range(1, 401))
    # FeedFinished came after the last acknowledgement
    assert first.handle.all()[-1] == done
    s = stats(md)
    assert s["events"] == 400 and s["snapshots"] == len(seqs) and s["finished"] == 1


def test_same_replay_gives_identical_snapshots(tmp_path: Path) -> None:
    path = write_agg_trades(tmp_path / "agg.csv", 3000, step_us=40_000)
    a, done_a = run_replay(path)
    b, done_b = run_replay(path)
    assert a == b and done_a == done_b
    assert len(a) > 50
    # market time only: the snapshot time is the data's time (at the interval's end at most)
    for s in a:
        assert s.ts_data_ms <= s.ts_snapshot_ms <= s.ts_data_ms + 1000
        assert T0_US // 1000 <= s.ts_data_ms < T0_US // 1000 + 3000 * 40
    assert sum(len(s.trades) for s in a) == 3000 == done_a.events


def test_trade_cap_cuts_a_busy_interval_and_loses_nothing(tmp_path: Path) -> None:
    path = write_agg_trades(tmp_path / "agg.csv", 1300, step_us=100)  # 1300 trades in 0.13 s
    snaps, done = run_replay(path)
    assert max(len(s.trades) for s in snaps) <= 500
    assert [t.trade_id for s in snaps for t in s.trades] == list(range(1, 1301))
    assert done.events == 1300


def test_subscriber_arriving_after_start_feed_gets_the_feed_from_the_start(tmp_path: Path) -> None:
    path = write_agg_trades(tmp_path / "agg.csv", 50)
    md = MarketDataActor.start(settings_for(source="replay", replay_path=str(path)))
    md.tell(StartFeed())
    assert stats(md)["snapshots"] == 0  # nobody to send to: it waits
    late = Subscriber(md, "late")
    md.tell(Subscribe(subscriber=late.ref))
    late.handle.wait_for(FeedFinished, timeout=10)
    assert late.snapshots()[0].seq == 1
    assert sum(len(s.trades) for s in late.snapshots()) == 50


def test_unsubscribing_the_awaited_subscriber_does_not_stall_lockstep(tmp_path: Path) -> None:
    path = write_agg_trades(tmp_path / "agg.csv", 200)
    md = MarketDataActor.start(settings_for(source="replay", replay_path=str(path)))
    silent = Subscriber(md, "silent", ack=False)
    other = Subscriber(md, "other")
    md.tell(Subscribe(subscriber=silent.ref))
    md.tell(Subscribe(subscriber=other.ref))
    md.tell(StartFeed())
    silent.handle.wait_for(MarketSnapshot, timeout=5)
    assert other.snapshots() == []  # held back until the first one acknowledges
    md.tell(Unsubscribe(subscriber=silent.ref))
    other.handle.wait_for(FeedFinished, timeout=10)
    assert len(silent.snapshots()) == 1


def test_synthetic_source_runs_in_lockstep_to_feed_finished() -> None:
    md = MarketDataActor.start(settings_for(source="synthetic", duration_s=600, seed=3))
    sub = Subscriber(md, "one")
    md.tell(Subscribe(subscriber=sub.ref))
    md.tell(StartFeed())
    done = sub.handle.wait_for(FeedFinished, timeout=20)[0]
    snaps = sub.snapshots()
    assert 550 <= len(snaps) <= 700
    assert all(s.bid < s.ask for s in snaps)
    assert done.events == stats(md)["events"] > 600


def test_speed_paces_by_market_time_on_the_loop(tmp_path: Path) -> None:
    # 2 s of market time at speed 10 takes at least 0.2 s of wall time
    path = write_agg_trades(tmp_path / "agg.csv", 21, step_us=100_000)
    md = MarketDataActor.start(settings_for(source="replay", replay_path=str(path), speed=Decimal(10)))
    sub = Subscriber(md, "one")
    md.tell(Subscribe(subscriber=sub.ref))
    t0 = time.monotonic()
    md.tell(StartFeed())
    sub.handle.wait_for(FeedFinished, timeout=10)
    assert time.monotonic() - t0 >= 0.18
    assert [t.trade_id for s in sub.snapshots() for t in s.trades] == list(range(1, 22))


def test_a_bad_replay_path_fails_start(tmp_path: Path) -> None:
    from actors.market_data.replay import ReplayError

    with pytest.raises(ReplayError):
        MarketDataActor.start(settings_for(source="replay", replay_path=str(tmp_path / "missing.csv")))


# -- live against the stand-in -------------------------------------------------------------------------


@pytest.fixture
def fake() -> Any:
    f = FakeBinanceMarket("TRUMPUSDC")
    f.set_book([("10.00", "5"), ("9.99", "7"), ("9.98", "9")], [("10.01", "4"), ("10.02", "6"), ("10.03", "8")])
    f.start()
    yield f
    f.stop()


def live_market(fake: FakeBinanceMarket, **market: Any) -> pykka.ActorRef[Any]:
    settings = Settings(
        market=replace(
            MarketSettings(),
            source="binance",
            stream_url=fake.stream_url,
            snapshot_interval_ms=market.pop("snapshot_interval_ms", 20),
            stale_after_s=market.pop("stale_after_s", 1),
            depth_limit=100,
            **market,
        ),
        exchange=replace(ExchangeSettings(), rest_url=fake.rest_url),
    )
    return MarketDataActor.start(settings, stream_options={"backoff_initial_s": 0.05, "backoff_max_s": 0.5})


def wait_book_synced(md: pykka.ActorRef[Any], fake: FakeBinanceMarket, timeout: float = 10.0) -> dict[str, Any]:
    """The local book is synced at the fake's latest update id (its content: tests/test_market_live_delivery.py)."""

    def check() -> dict[str, Any]:
        s = stats(md)
        assert s["book_synced"] == 1 and s["book_id"] == fake.update_id, s
        return s

    return eventually(check, timeout=timeout)


def test_live_book_is_correct_after_a_gap_and_a_rebuild(fake: FakeBinanceMarket) -> None:
    md = live_market(fake)
    sub = Subscriber(md, "one")
    md.tell(Subscribe(subscriber=sub.ref))
    md.tell(StartFeed())
    fake.wait_connected()
    assert fake.stream_paths[0] == "/stream?streams=trumpusdc@bookTicker/trumpusdc@depth@100ms/trumpusdc@aggTrade"
    fake.book_update(bids=[("9.97", "3")], asks=[("10.04", "2")], span=3)
    wait_book_synced(md, fake)
    requests_before = fake.depth_requests
    # a diff is lost: the next one starts past book id + 1
    fake.book_update(bids=[("10.00", "0"), ("9.99", "8")], send=False)
    fake.book_update(asks=[("10.01", "1.5"), ("10.05", "1")])
    wait_book_synced(md, fake)
    assert fake.depth_requests > requests_before
    s = stats(md)
    assert s["gaps"] == 1 and s["resyncs"] == 2
    # and it keeps following
    fake.book_update(bids=[("9.99", "0"), ("9.96", "2")], asks=[("10.01", "0")])
    wait_book_synced(md, fake)
    snap = sub.handle.wait_for(MarketSnapshot, lambda m: m.bid == Decimal("9.98") and m.ask == Decimal("10.02"))[-1]
    assert snap.mid == Decimal("10.00") and not snap.stale


def test_live_reconnects_after_a_drop_resyncs_and_repeats_nothing(fake: FakeBinanceMarket) -> None:
    md = live_market(fake)
    sub = Subscriber(md, "one")
    md.tell(Subscribe(subscriber=sub.ref))
    md.tell(StartFeed())
    fake.wait_connected()
    fake.book_update(bids=[("9.97", "3")])
    ids = [fake.trade("10.01", "1", False), fake.trade("10.00", "2", True)]
    sub.handle.wait_for(MarketSnapshot, lambda m: any(t.trade_id == ids[-1] for t in m.trades))
    wait_book_synced(md, fake)

    fake.drop()
    sub.handle.wait_for(FeedStatusChanged, lambda m: m.stale, timeout=10)
    fake.wait_connected(count=2)
    # the server repeats what was already seen (an old bookTicker, an old trade), then moves on
    fake.book_ticker(u=fake.ticker_u)
    fake.trade("10.00", "2", True, agg_id=ids[-1])
    fake.book_update(bids=[("10.00", "9")])
    new_id = fake.trade("10.01", "3", False)
    sub.handle.wait_for(MarketSnapshot, lambda m: any(t.trade_id == new_id for t in m.trades), timeout=10)
    sub.handle.wait_for(FeedStatusChanged, lambda m: not m.stale, timeout=10)
    wait_book_synced(md, fake)

    snaps = sub.snapshots()
    seqs = [m.seq for m in snaps]
    assert seqs == sorted(set(seqs))  # strictly increasing
    trade_ids = [t.trade_id for m in snaps for t in m.trades]
    assert trade_ids == [*ids, new_id]  # none lost, none repeated
    data = [replace(m, seq=0, ts_snapshot_ms=0, stale=False) for m in snaps]
    assert all(a != b for a, b in zip(data, data[1:], strict=False))  # no data snapshot repeated
    s = stats(md)
    assert s["reconnects"] == 1 and s["resyncs"] == 2 and s["duplicates"] >= 2


def test_live_staleness_is_reported_while_down_and_cleared_on_recovery(fake: FakeBinanceMarket) -> None:
    md = live_market(fake)
    sub = Subscriber(md, "one")
    md.tell(Subscribe(subscriber=sub.ref))
    md.tell(StartFeed())
    fake.wait_connected()
    fake.book_update(bids=[("9.97", "3")])
    sub.handle.wait_for(MarketSnapshot)

    # silence on an open socket: stale after stale_after_s
    stale = sub.handle.wait_for(FeedStatusChanged, lambda m: m.stale, timeout=10)[0]
    assert "no data" in stale.reason
    assert stats(md)["stale"] == 1
    fake.book_update(asks=[("10.04", "1")])
    sub.handle.wait_for(FeedStatusChanged, lambda m: not m.stale, timeout=10)

    # the socket goes down and new connections are refused for a while
    fake.refuse(True)
    made = fake.connections_made
    fake.drop()
    down = sub.handle.wait_for(FeedStatusChanged, lambda m: m.stale, count=2, timeout=10)[-1]
    assert "down" in down.reason
    assert stats(md)["stale"] == 1
    fake.refuse(False)
    fake.wait_connected(count=made + 1, timeout=15)
    fake.book_update(bids=[("9.96", "1")])
    sub.handle.wait_for(FeedStatusChanged, lambda m: not m.stale, count=2, timeout=10)
    assert stats(md)["stale"] == 0
    statuses = [m.stale for m in sub.handle.all(FeedStatusChanged)]
    assert statuses == [True, False, True, False]


def test_live_malformed_frames_are_counted_and_never_reach_subscribers(fake: FakeBinanceMarket) -> None:
    md = live_market(fake)
    sub = Subscriber(md, "one")
    md.tell(Subscribe(subscriber=sub.ref))
    md.tell(StartFeed())
    fake.wait_connected()
    fake.book_update(bids=[("9.97", "3")])
    sub.handle.wait_for(MarketSnapshot)
    fake.send_raw("this is not json")
    fake.send_raw(b"\x00\x01binary")
    fake.send_raw('{"stream":"trumpusdc@aggTrade","data":{"e":"aggTrade","a":77,"p":"abc","q":"1","T":1,"m":true}}')
    fake.send_raw('{"stream":"trumpusdc@aggTrade","data":{"e":"aggTrade","a":78,"p":"10.00","q":"-1","T":1,"m":true}}')
    fake.send_raw('{"stream":"trumpusdc@bookTicker","data":{"u":999999,"s":"TRUMPUSDC","b":"11","B":"1","a":"10","A":"1"}}')
    fake.send_raw('{"stream":"trumpusdc@depth@100ms","data":{"e":"depthUpdate","E":1,"U":5,"u":6,"b":[["x","1"]],"a":[]}}')
    fake.send_raw("[1, 2, 3]")
    good = fake.trade("10.01", "1", False)
    sub.handle.wait_for(MarketSnapshot, lambda m: any(t.trade_id == good for t in m.trades), timeout=10)
    eventually(lambda: stats(md)["bad_events"] == 7)
    kinds = {type(m) for m in sub.handle.all()}
    assert kinds <= {MarketSnapshot, FeedStatusChanged}
    for snap in sub.snapshots():
        assert all(t.trade_id not in (77, 78) for t in snap.trades)
        assert snap.bid < snap.ask
    assert md.is_alive()


def test_live_slow_subscriber_gets_only_the_newest_snapshot_with_merged_trades(fake: FakeBinanceMarket) -> None:
    md = live_market(fake, snapshot_interval_ms=1)
    fast = Subscriber(md, "fast")
    slow = Subscriber(md, "slow", ack=False)
    md.tell(Subscribe(subscriber=slow.ref))
    md.tell(Subscribe(subscriber=fast.ref))
    md.tell(StartFeed())
    fake.wait_connected()
    fake.book_update(bids=[("9.97", "3")])
    slow.handle.wait_for(MarketSnapshot)
    ids = []
    for i in range(1500):
        ids.append(fake.trade("10.01" if i % 2 else "10.00", "0.5", bool(i % 2 == 0)))
        if i % 100 == 0:
            fake.book_update(bids=[("9.9" + str(i % 7), "1")])
    fast.handle.wait_for(MarketSnapshot, lambda m: any(t.trade_id == ids[-1] for t in m.trades), timeout=20)
    # the slow one still holds exactly one snapshot: nothing piled up for it
    assert len(slow.snapshots()) == 1
    s = stats(md)
    assert s["held"] == 1 and s["conflated"] > 0
    assert len(fast.snapshots()) > 1
    # when it acknowledges, it gets the newest snapshot with the trades since its last one (bounded)
    slow.acknowledge(slow.snapshots()[0].seq)
    snap = slow.handle.wait_for(MarketSnapshot, count=2, timeout=10)[-1]
    assert snap.seq == stats(md)["seq"] or snap.seq > slow.snapshots()[0].seq
    trade_ids = [t.trade_id for t in snap.trades]
    assert len(trade_ids) == 1000 and trade_ids == ids[-1000:]
    fast_ids = [t.trade_id for m in fast.snapshots() for t in m.trades]
    assert fast_ids == ids  # the fast one got every trade once


def test_live_server_shutdown_reconnects_at_once_and_pings_are_answered(fake: FakeBinanceMarket) -> None:
    md = live_market(fake)
    sub = Subscriber(md, "one")
    md.tell(Subscribe(subscriber=sub.ref))
    md.tell(StartFeed())
    fake.wait_connected()
    assert fake.ping() == 1  # the client answers pings by itself
    fake.server_shutdown()
    fake.wait_connected(count=2, timeout=10)
    fake.book_update(bids=[("9.97", "3")])
    wait_book_synced(md, fake)
    assert stats(md)["reconnects"] == 1
    assert fake.ping() == 1
