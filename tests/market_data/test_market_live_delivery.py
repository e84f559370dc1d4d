"""LiveDelivery alone, without threads: the book after a gap, conflation, and what it says when the feed is down."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from actors.binance.market_stream import BookTicker, DepthSnapshot, StreamBatch, StreamConnected, StreamDown
from actors.market_data.book import DepthDiff
from actors.market_data.features import Features
from actors.market_data.feed_health import FeedHealth
from actors.market_data.live_delivery import LiveDelivery
from actors.market_data.snapshot_builder import SnapshotBuilder
from actors.market_data.subscribers import Subscribers
from actors.messages import FeedStatusChanged, MarketSnapshot
from actors.settings import MarketSettings

T0 = 1_764_547_200_000  # 2025-12-01 in ms


class Ref:
    """Stands in for a subscriber's ActorRef: records what it is told."""

    def __init__(self, urn: str) -> None:
        self.actor_urn = urn
        self.got: list[Any] = []

    def tell(self, message: Any) -> None:
        self.got.append(message)

    def of(self, kind: type) -> list[Any]:
        return [m for m in self.got if isinstance(m, kind)]


class Rig:
    def __init__(self, **market: Any) -> None:
        self.now = T0
        self.depth_requests: list[tuple[int, float]] = []
        self.subs = Subscribers()
        m = MarketSettings(source="binance", snapshot_interval_ms=market.pop("snapshot_interval_ms", 0), **market)
        builder = SnapshotBuilder("TRUMPUSDC", D("0.01"), D("0.001"), Features(m.window_s, m.candles))
        self.live = LiveDelivery(self.subs, builder, m, symbol="TRUMPUSDC", clock=lambda: self.now,
                                 request_depth=lambda conn, delay: self.depth_requests.append((conn, delay)))
        self.live.start()

    def subscribe(self, urn: str) -> Ref:
        ref = Ref(urn)
        self.subs.add(ref)
        return ref

    def batch(self, *events: Any, conn: int = 1) -> None:
        self.now += 10
        self.live.on_batch(StreamBatch(conn, events, self.now))

    def stats(self) -> dict[str, Any]:
        return self.live.counters()


def lv(*pairs: tuple[str, str]) -> tuple[tuple[D, D], ...]:
    return tuple((D(p), D(q)) for p, q in pairs)


def diff(first: int, last: int, bids: tuple = (), asks: tuple = ()) -> DepthDiff:
    return DepthDiff(first_id=first, final_id=last, event_ms=T0, bids=bids, asks=asks)


def ticker(u: int, bid: str = "10.00", ask: str = "10.01") -> BookTicker:
    return BookTicker(update_id=u, bid=D(bid), bid_qty=D(1), ask=D(ask), ask_qty=D(1), recv_ms=T0)


def test_the_book_equals_the_exchanges_after_a_gap_and_a_rebuild() -> None:
    rig = Rig()
    rig.live.on_connected(StreamConnected(1, "ws://x"))
    rig.batch(diff(101, 102, bids=lv(("10.00", "5"))))
    assert rig.depth_requests == [(1, 0.0)]  # the first diff asks for a REST snapshot
    rig.live.on_depth(DepthSnapshot(1, 100, lv(("10.00", "4"), ("9.99", "7")), lv(("10.01", "4"))))
    assert rig.live.sync.book is not None
    assert rig.live.sync.book.top(20) == ([(D("10.00"), D("5")), (D("9.99"), D("7"))], [(D("10.01"), D("4"))])
    rig.batch(diff(105, 106, asks=lv(("10.02", "1"))))  # 103-104 were lost
    assert rig.stats()["gaps"] == 1 and rig.stats()["book_synced"] == 0 and len(rig.depth_requests) == 2
    rig.batch(diff(107, 107, bids=lv(("9.99", "0"))))  # buffered until the snapshot comes
    rig.live.on_depth(DepthSnapshot(1, 106, lv(("10.00", "3"), ("9.99", "2")), lv(("10.01", "4"), ("10.02", "1"))))
    assert rig.live.sync.book is not None
    assert rig.live.sync.book.top(20) == ([(D("10.00"), D("3"))], [(D("10.01"), D("4")), (D("10.02"), D("1"))])
    s = rig.stats()
    assert s["book_synced"] == 1 and s["book_id"] == 107 and s["resyncs"] == 2


def test_a_depth_snapshot_for_an_older_connection_is_ignored() -> None:
    rig = Rig()
    rig.live.on_connected(StreamConnected(1, "ws://x"))
    rig.batch(diff(101, 102))
    rig.live.on_connected(StreamConnected(2, "ws://x"))
    rig.live.on_depth(DepthSnapshot(1, 100, lv(("10.00", "4")), lv(("10.01", "4"))))
    assert rig.stats()["book_synced"] == 0


def test_a_subscriber_that_has_not_acknowledged_gets_only_the_newest_snapshot() -> None:
    rig = Rig()
    slow = rig.subscribe("slow")
    rig.live.on_connected(StreamConnected(1, "ws://x"))
    rig.batch(ticker(1))
    first = slow.of(MarketSnapshot)
    assert len(first) == 1 and rig.subs.get("slow").pending_ack == first[0].seq  # type: ignore[union-attr]
    rig.batch(ticker(2, bid="10.01", ask="10.02"))
    rig.batch(ticker(3, bid="10.02", ask="10.03"))
    assert len(slow.of(MarketSnapshot)) == 1  # the newer ones wait
    assert rig.stats()["held"] == 1 and rig.stats()["conflated"] == 1
    rig.live.on_ack(first[0].seq, "slow")
    newest = slow.of(MarketSnapshot)[-1]
    assert len(slow.of(MarketSnapshot)) == 2 and newest.bid == D("10.02") and newest.seq == rig.stats()["seq"]
    assert rig.stats()["held"] == 0


def test_no_network_says_what_is_down_why_since_when_and_when_it_tries_again() -> None:
    rig = Rig()
    sub = rig.subscribe("keeper")
    why = "connect failed: name not resolved: nonexistent.invalid"
    rig.live.on_down(StreamDown(0, why, retry_in_s=0.3, connect_failed=True))
    down = sub.of(FeedStatusChanged)
    assert len(down) == 1
    assert down[0].stale and down[0].cause == why and why in down[0].reason
    assert down[0].since_ms == T0 and down[0].attempts == 1 and down[0].next_attempt_ms == T0 + 300
    rig.now += 300
    rig.live.on_down(StreamDown(0, why, retry_in_s=0.6, connect_failed=True))
    rig.now += 600
    rig.live.on_down(StreamDown(0, why, retry_in_s=1.2, connect_failed=True))
    assert len(sub.of(FeedStatusChanged)) == 1  # one event per outage, not one per attempt
    s = rig.stats()
    assert s["stale"] == 1 and s["stale_cause"] == why and s["stale_since_ms"] == T0
    assert s["failed_attempts"] == 3 and s["next_attempt_ms"] == rig.now + 1200
    assert s["reconnects"] == 2  # three attempts: the first and two more
    health = FeedHealth.from_stats({**s, "mode": "live"})
    assert health is not None
    assert health.summary(rig.now) == f"feed down 0 s: {why}; 3 attempts failed, next in 1.2 s"

    rig.live.on_connected(StreamConnected(1, "ws://x"))
    s = rig.stats()
    assert s["failed_attempts"] == 0 and s["next_attempt_ms"] == 0 and s["reconnects"] == 3 and s["stale"] == 1
    rig.batch(ticker(1))
    back = sub.of(FeedStatusChanged)[-1]
    assert not back.stale and back.cause == "" and back.attempts == 0 and back.next_attempt_ms == 0
    s = rig.stats()
    assert s["stale"] == 0 and s["stale_cause"] == "" and s["stale_since_ms"] == 0
    assert s["last_error"] == why  # the last error stays readable after recovery


def test_a_drop_after_silence_updates_the_cause_without_a_second_event() -> None:
    rig = Rig(stale_after_s=1)
    sub = rig.subscribe("keeper")
    rig.live.on_connected(StreamConnected(1, "ws://x"))
    rig.batch(ticker(1))
    rig.now += 1500
    rig.live.on_tick()
    assert [m.cause for m in sub.of(FeedStatusChanged)] == ["no data for 1.5s"]
    rig.live.on_down(StreamDown(1, "silent for 2.0s", retry_in_s=0.25))
    assert len(sub.of(FeedStatusChanged)) == 1
    s = rig.stats()
    assert s["stale_cause"] == "silent for 2.0s" and s["failed_attempts"] == 0 and s["next_attempt_ms"] == rig.now + 250
