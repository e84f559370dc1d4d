"""LockstepDelivery alone, without threads: the credit order, wake-skipping, forced deliveries, pacing, the end."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pykka

from actors.market_data.cutter import Chunk, SnapshotCutter
from actors.market_data.features import Features
from actors.market_data.lockstep_delivery import LockstepDelivery
from actors.market_data.snapshot_builder import SnapshotBuilder
from actors.market_data.subscribers import Subscribers
from actors.messages import FeedFinished, MarketSnapshot, MarksRecorded, TradeTick, WakeWhen


class Ref:
    def __init__(self, urn: str, dead: bool = False) -> None:
        self.actor_urn = urn
        self.dead = dead
        self.got: list[Any] = []

    def tell(self, message: Any) -> None:
        if self.dead:
            raise pykka.ActorDeadError(self.actor_urn)
        self.got.append(message)

    def seqs(self) -> list[int]:
        return [m.seq for m in self.got if isinstance(m, MarketSnapshot)]


def cutter(n: int) -> SnapshotCutter:
    """`n` book updates one second apart: one snapshot each."""
    chunks: Iterator[Chunk] = iter([((i * 1000, D("10.00"), D(1), D("10.02"), D(1), None), []) for i in range(n)])
    builder = SnapshotBuilder("TRUMPUSDC", D("0.01"), D("0.001"), Features(60, 0))
    return SnapshotCutter(chunks, builder, interval_ms=1000, significant_move_bps=D(50))


def rig(*refs: Ref, **kw: Any) -> LockstepDelivery:
    subs = Subscribers()
    for r in refs:
        subs.add(r)
    return LockstepDelivery(subs, symbol="TRUMPUSDC", source="replay", **kw)


def test_one_subscriber_at_a_time_in_order_and_the_next_snapshot_after_the_last_ack() -> None:
    a, b = Ref("a"), Ref("b")
    d = rig(a, b)
    d.start(cutter(3))
    assert (a.seqs(), b.seqs()) == ([1], [])
    d.on_ack(1, "b")  # not b's turn: ignored
    assert b.seqs() == []
    d.on_ack(1, "a")
    assert (a.seqs(), b.seqs()) == ([1], [1])
    assert d.subs.get("a").pending_ack is None and d.subs.get("b").pending_ack == 1  # type: ignore[union-attr]
    d.on_ack(1, "b")
    assert a.seqs() == [1, 2]


def run(d: LockstepDelivery, refs: tuple[Ref, ...], wakes: dict[str, WakeWhen | None], sent_at: int = 0) -> None:
    """Acknowledge whatever is awaited until the feed finishes."""
    while not d.finished:
        ref = next(r for r in refs if d.subs.get(r.actor_urn).pending_ack is not None)  # type: ignore[union-attr]
        seq = ref.seqs()[-1]
        d.on_ack(seq, ref.actor_urn, wakes[ref.actor_urn], sent_events=ref.actor_urn == "a" and seq == sent_at)


def test_a_sleeping_subscriber_is_skipped_unless_someone_after_it_wants_the_snapshot() -> None:
    a, b = Ref("a"), Ref("b")
    d = rig(a, b)
    d.start(cutter(5))
    run(d, (a, b), {"a": WakeWhen(), "b": WakeWhen()})
    assert a.seqs() == [1] and b.seqs() == [1] and d.skipped == 8
    a2, b2 = Ref("a"), Ref("b")
    d2 = rig(a2, b2)
    d2.start(cutter(5))
    run(d2, (a2, b2), {"a": WakeWhen(), "b": None})
    assert a2.seqs() == b2.seqs() == [1, 2, 3, 4, 5]  # b wants all, so a (before it) sees all too


def test_sent_events_force_the_rest_of_this_snapshot_and_the_next() -> None:
    a, b = Ref("a"), Ref("b")
    d = rig(a, b)
    d.start(cutter(6))
    run(d, (a, b), {"a": None, "b": WakeWhen()}, sent_at=3)
    assert b.seqs() == [1, 3, 4]


def test_speed_holds_a_snapshot_until_its_scaled_market_time() -> None:
    a = Ref("a")
    timers: list[tuple[float, int]] = []
    now = [100.0]
    d = rig(a, speed=D(2), schedule_release=lambda delay, seq: timers.append((delay, seq)), monotonic=lambda: now[0])
    d.start(cutter(3))
    assert a.seqs() == [1] and timers == []  # the first one goes at once
    d.on_ack(1, "a")
    assert a.seqs() == [1] and timers == [(0.5, 2)]  # 1 s of market time at speed 2
    d.on_release(1)  # a stale timer
    assert a.seqs() == [1]
    d.on_release(2)
    assert a.seqs() == [1, 2]


def test_the_awaited_subscriber_leaving_or_dying_does_not_stall_the_feed() -> None:
    a, b, c = Ref("a"), Ref("b"), Ref("c")
    d = rig(a, b, c)
    d.start(cutter(2))
    d.on_unsubscribed(d.subs.remove("a"))  # type: ignore[arg-type]
    assert b.seqs() == [1]
    c.dead = True
    d.on_ack(1, "b")  # c is gone: dropped, and the next snapshot goes out
    assert b.seqs() == [1, 2] and d.subs.get("c") is None and len(d.subs) == 1


def test_the_end_tells_everyone_with_the_last_snapshot_and_late_subscribers_too() -> None:
    a = Ref("a")
    d = rig(a)
    d.start(cutter(2))
    d.on_ack(1, "a")
    d.on_ack(2, "a")
    done = a.got[-1]
    assert isinstance(done, FeedFinished) and done.last is not None and done.last.seq == 2 and done.events == 2
    late = Ref("late")
    sub = d.subs.add(late)
    assert sub is not None
    d.on_subscribed(sub)
    assert isinstance(late.got[-1], FeedFinished) and late.seqs() == []


def test_the_cutter_passes_the_sources_trade_ticks_through_as_they_are() -> None:
    """A TradeTick may carry more than the cutter reads (e.g. a candle for fills): it must not be rebuilt."""
    trades = [TradeTick(trade_id=i, price=D("10.01"), qty=D(1), ts_ms=i * 400, buyer_is_maker=i % 2 == 0)
              for i in range(1, 11)]
    chunks: Iterator[Chunk] = iter([(None, trades)])
    builder = SnapshotBuilder("TRUMPUSDC", D("0.01"), D("0.001"), Features(60, 0))
    a = Ref("a")
    d = rig(a)
    d.start(SnapshotCutter(chunks, builder, interval_ms=1000, significant_move_bps=D(50)))
    while not d.finished:
        d.on_ack(a.seqs()[-1], "a")
    got = [t for m in a.got if isinstance(m, MarketSnapshot) for t in m.trades]
    assert len(got) == len(trades) and all(g is t for g, t in zip(got, trades, strict=True))


def test_a_skipped_subscriber_gets_its_marks_at_its_sample_times_before_its_next_snapshot() -> None:
    """Marks: the cuts a subscriber sleeps through at its sample times (every 3 s from 2 s), then the snapshot
    that wakes it (at 10 s), in that order; passed over in the cutter or skipped on delivery alike."""
    a, b = Ref("a"), Ref("b")
    d = rig(a, b)
    d.start(cutter(14))
    d.on_ack(1, "a", WakeWhen())  # a: only when forced
    d.on_ack(1, "b", WakeWhen(at_ms=10_000, sample_from_ms=2_000, sample_every_ms=3_000))
    assert a.seqs() == [1, 11]  # everyone before the one that wants it gets it too
    d.on_ack(11, "a", WakeWhen())
    assert b.seqs() == [1, 11]  # woken at 10 s
    marks = [m for m in b.got if isinstance(m, MarksRecorded)]
    assert [m.marks for m in marks] == [((2000, D("10.00"), D("10.01")), (5000, D("10.00"), D("10.01")),
                                         (8000, D("10.00"), D("10.01")))]
    assert b.got.index(marks[0]) == len(b.got) - 2  # just before the snapshot that woke it
    d.on_ack(11, "b", WakeWhen(sample_from_ms=12_500, sample_every_ms=1_000))
    fin = [m for m in b.got if isinstance(m, (MarksRecorded, FeedFinished))]
    assert [m.marks for m in fin if isinstance(m, MarksRecorded)][-1] == ((13000, D("10.00"), D("10.01")),)
    assert isinstance(fin[-1], FeedFinished)  # the last marks before the end
    assert not any(isinstance(m, MarksRecorded) for m in a.got)
