"""Lockstep delivery (backtests): one snapshot at a time, one subscriber at a time, nothing dropped.

The credit scheduler. A snapshot goes to the subscribers in subscription
order, the next subscriber only after the previous one acknowledged; the next
snapshot is cut only after the last acknowledgement. A subscriber may say
with `WakeWhen` which snapshots it can act on, and is skipped on the others
(the "98 % skip" in the README), except that:

- everyone before the last subscriber that wants a snapshot gets it too, so an
  order placed on a snapshot reaches an exchange that has seen the same one;
- a subscriber that told others something (`sent_events`) makes everyone see
  the rest of this snapshot and the next one.

With `speed` > 0 a snapshot waits until its market time, scaled, has passed
on the wall clock (`schedule_release` arms a timer that answers `on_release`).
A plain class: the actor routes messages here; tests drive it without threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from loguru import logger

from actors.market_data.cutter import LazySnapshot, SnapshotCutter
from actors.market_data.subscribers import Subscriber, Subscribers
from actors.market_data.wake import Wanted, note_mark
from actors.messages import FeedFinished, MarksRecorded, WakeWhen


class LockstepDelivery:
    def __init__(
        self,
        subscribers: Subscribers,
        *,
        symbol: str,
        source: str,
        speed: Decimal = Decimal(0),
        schedule_release: Callable[[float, int], None] | None = None,
        bad_rows: Callable[[], int] = lambda: 0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.subs = subscribers
        self.symbol = symbol
        self.source = source
        self.speed = speed if schedule_release is not None else Decimal(0)  # no timer, no pacing
        self._schedule_release = schedule_release
        self._bad_rows = bad_rows
        self._monotonic = monotonic
        self.cutter: SnapshotCutter | None = None  # set by `start`
        self.started = False
        self.finished = False
        self.seq = 0
        self.snapshots = 0
        self.skipped = 0  # deliveries skipped because the subscriber's WakeWhen was not met
        self.ts_data = 0
        self.current: LazySnapshot | None = None  # the snapshot being delivered
        self._last_cut: LazySnapshot | None = None  # the newest snapshot cut (FeedFinished carries it)
        self._turn = 0  # position of the subscriber that has the current snapshot (or is next)
        self._last_wanting_pos = -1  # the last subscriber that wants the current snapshot
        self._deliver_to_all = False  # the current snapshot goes to everyone, whatever they asked
        self._deliver_next_to_all = False  # ... and so does the next one
        self._pacing_done = True  # the pacing timer let the current snapshot out (or there is none)
        self._pace_wall: float | None = None  # wall (monotonic) and market time of the first paced snapshot
        self._pace_mkt = 0

    @property
    def events(self) -> int:
        return self.cutter.events if self.cutter is not None else 0

    # -- what the actor routes here -------------------------------------------------------

    def start(self, cutter: SnapshotCutter) -> None:
        self.cutter = cutter
        self.started = True
        self._advance()

    def on_subscribed(self, sub: Subscriber) -> None:
        if not self.started:
            return
        if self.finished:
            self.subs.tell(sub, FeedFinished(symbol=self.symbol, ts_ms=self.ts_data, events=self.events))
        elif self.current is None:
            self._advance()  # the feed was waiting for a subscriber

    def on_unsubscribed(self, pos: int) -> None:
        if self.current is None:
            return
        if pos < self._turn:
            self._turn -= 1
        elif pos == self._turn and self._pacing_done:
            self._deliver_next()  # it held the current snapshot: move on

    def on_ack(self, seq: int, urn: str, wake: WakeWhen | None = None, sent_events: bool = False) -> None:
        snap = self.current
        order = self.subs.order
        if snap is None or snap.seq != seq or self._turn >= len(order):
            return
        sub = order[self._turn]
        if sub.urn != urn:
            return  # not the one we wait for (a stray or repeated acknowledgement)
        sub.pending_ack = None
        sub.wake = wake
        if wake is not None and wake.sample_from_ms is not None:
            sub.sample_due, sub.sample_every = wake.sample_from_ms, wake.sample_every_ms
        else:
            sub.sample_due = None
        if sent_events:  # its messages may change what the others need: they all see this and the next
            self._deliver_to_all = True
            self._deliver_next_to_all = True
        self._turn += 1
        self._deliver_next()

    def on_release(self, seq: int) -> None:
        if self.current is not None and self.current.seq == seq and not self._pacing_done:
            self._pacing_done = True
            self._deliver_next()

    # -- the scheduler --------------------------------------------------------------------

    def _advance(self) -> None:
        """Cut snapshots until one goes out to a subscriber (or the feed waits, is paced, or ends).

        A loop, not a recursion: in a quiet market thousands of snapshots in a row reach nobody."""
        assert self.cutter is not None
        cutter = self.cutter
        order = self.subs.order
        paced = self.speed > 0 and self._schedule_release is not None
        while True:
            if not order:
                self.current = None  # wait for a subscriber
                return
            # Cuts nobody wants are passed over in the cutter (each is paced on its own, though)
            wanted = None if paced or self._deliver_next_to_all else Wanted.of([s.wake for s in order], order)
            snap = cutter.next_cut(self.seq + 1, wanted)
            passed = cutter.snapshots - self.snapshots - (snap is not None)
            if passed:
                self.skipped += passed * len(order)
                self.snapshots += passed
                self.seq += passed
                self.ts_data = cutter.last_ts_data
                if cutter.last_passed is not None:
                    self._last_cut = cutter.last_passed
            if snap is None:
                self._finish()
                return
            self.seq = snap.seq
            self.snapshots += 1
            self.ts_data = snap.ts_data_ms
            self.current = snap
            self._last_cut = snap
            self._deliver_to_all, self._deliver_next_to_all = self._deliver_next_to_all, False
            self._last_wanting_pos = last = self._last_wanting(snap)
            self._turn = 0
            if self.speed > 0 and self._schedule_release is not None:
                now = self._monotonic()
                if self._pace_wall is None:
                    self._pace_wall, self._pace_mkt = now, snap.ts_snapshot_ms
                due = self._pace_wall + (snap.ts_snapshot_ms - self._pace_mkt) / 1000.0 / float(self.speed)
                if due - now > 0.0005:
                    self._pacing_done = False
                    self._schedule_release(due - now, snap.seq)
                    return
            self._pacing_done = True
            if last < 0 and not self._deliver_to_all:
                self.skipped += len(order)  # nobody wants it (each said so with a wake condition)
                for sub in order:
                    note_mark(sub, snap.ts_snapshot_ms, snap.bid, snap.mid)
                continue
            if self._deliver_from_turn():
                return
            # every subscriber has acknowledged this one (or is gone)

    def _deliver_next(self) -> None:
        if not self._deliver_from_turn():
            self.current = None
            self._advance()

    def _deliver_from_turn(self) -> bool:
        """Hand the current snapshot to the next subscriber that should get it: False if none is left."""
        snap = self.current
        assert snap is not None
        order = self.subs.order
        while self._turn < len(order):
            sub = order[self._turn]
            if (not self._deliver_to_all and self._turn > self._last_wanting_pos and sub.wake is not None
                    and not sub.wake.met_by(snap)):  # type: ignore[arg-type]  # a LazySnapshot has the fields it reads
                self.skipped += 1
                note_mark(sub, snap.ts_snapshot_ms, snap.bid, snap.mid)
                self._turn += 1  # it said it would do nothing with this one
                continue
            if sub.marks and not self._tell_marks(sub):
                continue  # gone
            if not self.subs.tell(sub, snap.snapshot()):
                continue  # gone: the next one moved up to this position
            sub.pending_ack = snap.seq
            return True
        return False

    def _tell_marks(self, sub: Subscriber) -> bool:
        marks, sub.marks = tuple(sub.marks), []
        return self.subs.tell(sub, MarksRecorded(marks=marks))

    def _last_wanting(self, snap: LazySnapshot) -> int:
        """The last subscriber that wants `snap`: everyone before it gets it too, so that an
        order placed on a snapshot reaches an exchange that has seen the same snapshot."""
        order = self.subs.order
        for j in range(len(order) - 1, -1, -1):
            wake = order[j].wake
            if wake is None or wake.met_by(snap):  # type: ignore[arg-type]
                return j
        return -1

    def _finish(self) -> None:
        self.finished = True
        self.current = None
        last = self._last_cut.snapshot() if self._last_cut is not None else None
        done = FeedFinished(symbol=self.symbol, ts_ms=self.ts_data, events=self.events, last=last)
        logger.info("market data: {} finished: {} events, {} snapshots, {} bad rows",
                    self.source, self.events, self.snapshots, self._bad_rows())
        for sub in list(self.subs.order):
            if sub.marks:
                self._tell_marks(sub)
        self.subs.tell_all(done)
