"""MarketDataActor: one source, snapshots to subscribers under a credit window of one.

Protocol (actors/messages.py):

- `Subscribe(ref)` / `Unsubscribe(ref)` at any time; publishing starts on `StartFeed()`.
- Every `MarketSnapshot` has an increasing `seq`; a subscriber answers each one
  with `SnapshotProcessed(seq, subscriber_urn=<its actor_urn>)`, and never has
  more than one unacknowledged snapshot.
- LOCKSTEP (sources `synthetic`, `replay`): a snapshot goes to the subscribers
  one at a time, in subscription order, the next only after the previous one
  acknowledged; the next snapshot is made after the last acknowledgement.
  Nothing is dropped. At the end, `FeedFinished` goes to every subscriber.
  `speed` > 0 paces snapshots by market time on the loop's timer.
- LIVE (source `binance`): a snapshot at most every `snapshot_interval_ms`, or at
  once on a move of `significant_move_bps`; a subscriber that has not
  acknowledged gets the newest one when it does (conflation), with every trade
  since its last delivered snapshot (the last `MAX_HELD_TRADES`).
  `FeedStatusChanged` tells subscribers when the feed goes stale or comes back.
- `GetStats()` (ask) → `Stats(source="market", ...)`; `GetBook()` (ask) → `BookView`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pykka
from loguru import logger

from actors.aio import LoopThread
from actors.market_data.binance_stream import (
    BadFrame,
    BinanceStream,
    BookTicker,
    DepthFailed,
    DepthSnapshot,
    ServerShutdown,
    StreamBatch,
    StreamConnected,
    StreamDown,
    wall_clock_ms,
)
from actors.market_data.book import Action, BookSync, DepthDiff, Level
from actors.market_data.features import RATIO_Q, Features, SnapshotBuilder
from actors.market_data.lockstep import TRADE_CAP, Cut, LockstepFeed
from actors.market_data.replay import ReplaySource
from actors.market_data.synthetic import SyntheticMarket
from actors.messages import (
    Clock,
    FeedFinished,
    FeedStatusChanged,
    GetStats,
    MarketSnapshot,
    SnapshotProcessed,
    StartFeed,
    Stats,
    Subscribe,
    TradeTick,
    Unsubscribe,
    WakeWhen,
)
from actors.settings import Settings

MAX_HELD_TRADES = 1000  # per subscriber, live: the trades a slow subscriber gets at most
IO_THREAD = "market-data-io"


# -- messages of this actor only -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetBook:
    """Ask for the local depth book (live mode): answered with `BookView`."""

    levels: int = 20


@dataclass(frozen=True, slots=True)
class BookView:
    synced: bool
    book_id: int
    bids: tuple[Level, ...]  # best first
    asks: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class _Release:
    """The pacing timer of a lockstep run with speed > 0 let snapshot `seq` out."""

    seq: int


@dataclass(frozen=True, slots=True)
class _Tick:
    """The live watchdog's heartbeat (staleness, snapshots that are due)."""


@dataclass(frozen=True, slots=True)
class _FetchDepth:
    conn_id: int


class _Sub:
    __slots__ = ("held", "outstanding", "ref", "trades", "urn", "wake")

    def __init__(self, ref: pykka.ActorRef[Any]) -> None:
        self.ref = ref
        self.urn: str = ref.actor_urn
        self.outstanding: int | None = None  # seq of the unacknowledged snapshot
        self.held = False  # live: a newer snapshot waits for the acknowledgement
        self.trades: deque[TradeTick] = deque(maxlen=MAX_HELD_TRADES)
        self.wake: WakeWhen | None = None  # lockstep: the snapshots it asked for (None = all)


class MarketDataActor(pykka.ThreadingActor):
    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        *,
        trade_cap: int = TRADE_CAP,
        stream_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        m = settings.market
        self.market = m
        self.symbol = settings.symbol
        self._clock: Clock = clock or wall_clock_ms
        self.source = m.source
        self.live = m.source == "binance"
        self._stream_options = dict(stream_options or {})
        self._subs: dict[str, _Sub] = {}
        self._order: list[_Sub] = []  # subscription order
        self._started = False
        self._finished = False
        self._seq = 0
        self._io: LoopThread | None = None
        # counters
        self._events = 0
        self._snapshots = 0
        self._bad = 0
        self._reconnects = 0
        self._conflated = 0
        self._duplicates = 0
        self._trades_dropped = 0
        self._last_data_ms = 0
        self._features = Features(m.window_s, m.candles)
        self._builder = SnapshotBuilder(
            settings.symbol, settings.exchange.tick_size, settings.exchange.step_size, self._features
        )
        # lockstep
        self._feed: LockstepFeed | None = None
        self._replay: ReplaySource | None = None
        self._synthetic: SyntheticMarket | None = None
        self._current: Cut | None = None  # lockstep: the snapshot being delivered
        self._last_built: Cut | None = None
        self._force = False  # lockstep: deliver the current snapshot to all, whatever they asked
        self._force_next = False
        self._wanted_upto = -1
        self._skipped = 0
        self._idx = 0  # the subscriber (in order) that has the current snapshot
        self._released = True
        self._pace_wall: float | None = None
        self._pace_mkt = 0
        self._trade_cap = trade_cap
        if m.source == "replay":
            # Read here, in the caller's thread, so a bad path fails `start()` itself.
            self._replay = ReplaySource(m.replay_path, candle_fills=m.candle_fills)
        elif m.source == "synthetic":
            self._synthetic = SyntheticMarket(
                seed=m.seed,
                duration_s=m.duration_s,
                start_price=m.start_price,
                tick_size=settings.exchange.tick_size,
                step_size=settings.exchange.step_size,
            )
        # live
        self._stream: BinanceStream | None = None
        self._sync = BookSync()
        self._conn = 0
        self._connected = False
        self._ever_connected = False
        self._stale = False
        self._stale_reason = ""
        self._last_u = -1
        self._last_trade_id = -1
        self._top: tuple[Decimal, Decimal, Decimal, Decimal] | None = None  # from bookTicker
        self._ts_data = 0
        self._dirty = False
        self._new_trades: deque[TradeTick] = deque(maxlen=MAX_HELD_TRADES)
        self._last_snap_ms: int | None = None
        self._last_mid: Decimal | None = None
        self._last_snapshot: MarketSnapshot | None = None
        self._last_key: tuple[Any, ...] | None = None
        self._flush_at: int | None = None
        self._depth_failures = 0
        self._bad_reasons: dict[str, int] = {}
        self._started_ms = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def on_start(self) -> None:
        self._started_ms = self._clock()
        if self.live or self.market.speed > 0:
            self._io = LoopThread(IO_THREAD)
            self._io.start()  # last: an error before this skips on_stop
        logger.info("market data: {} source for {}, {} mode", self.source, self.symbol, "live" if self.live else "lockstep")

    def on_stop(self) -> None:
        self._shutdown()

    def on_failure(self, *exc_info: Any) -> None:
        self._shutdown()

    def _shutdown(self) -> None:
        if self._stream is not None:
            self._stream.close()
        if self._io is not None:
            self._io.stop()
            self._io = None

    # -- messages ------------------------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        match message:
            case SnapshotProcessed(seq=seq, subscriber_urn=urn):
                if self.live:
                    self._live_ack(seq, urn)
                else:
                    self._lockstep_ack(seq, urn, message.wake, message.sent_events)
            case StreamBatch():
                self._on_batch(message)
            case _Tick():
                self._on_tick()
            case _Release(seq=seq):
                if self._current is not None and self._current.seq == seq and not self._released:
                    self._released = True
                    self._deliver_next()
            case Subscribe(subscriber=ref):
                self._subscribe(ref)
            case Unsubscribe(subscriber=ref):
                self._unsubscribe(ref)
            case StartFeed():
                self._start_feed()
            case GetStats():
                return self._stats()
            case GetBook(levels=n):
                return self._book_view(n)
            case DepthSnapshot():
                self._on_depth(message)
            case DepthFailed():
                self._on_depth_failed(message)
            case _FetchDepth(conn_id=conn):
                self._request_depth(conn)
            case StreamConnected():
                self._on_connected(message)
            case StreamDown():
                self._on_down(message)
            case _:
                return super().on_receive(message)
        return None

    def _tell_self(self, msg: Any) -> None:
        """From the loop thread: tell this actor, quietly if it is gone."""
        with contextlib.suppress(pykka.ActorDeadError):
            self.actor_ref.tell(msg)

    # -- subscribers -----------------------------------------------------------------------------

    def _subscribe(self, ref: pykka.ActorRef[Any]) -> None:
        urn = ref.actor_urn
        if urn in self._subs:
            return
        sub = _Sub(ref)
        self._subs[urn] = sub
        self._order.append(sub)
        logger.debug("market data: {} subscribed", urn)
        if self.live or not self._started:
            return
        if self._finished:
            with contextlib.suppress(pykka.ActorDeadError):
                ref.tell(FeedFinished(symbol=self.symbol, ts_ms=self._ts_data, events=self._events))
        elif self._current is None:
            self._advance()  # the feed was waiting for a subscriber

    def _unsubscribe(self, ref: pykka.ActorRef[Any]) -> None:
        sub = self._subs.pop(ref.actor_urn, None)
        if sub is None:
            return
        pos = self._order.index(sub)
        self._order.pop(pos)
        if self.live or self._current is None:
            return
        if pos < self._idx:
            self._idx -= 1
        elif pos == self._idx and self._released:
            self._deliver_next()  # it held the current snapshot: move on

    def _drop_dead(self, sub: _Sub) -> None:
        logger.warning("market data: subscriber {} is gone; unsubscribed", sub.urn)
        self._subs.pop(sub.urn, None)
        if sub in self._order:
            self._order.remove(sub)

    def _start_feed(self) -> None:
        if self._started:
            return
        self._started = True
        if self.live:
            self._start_stream()
            return
        chunks = self._replay.chunks() if self._replay is not None else self._synthetic.chunks()  # type: ignore[union-attr]
        self._feed = LockstepFeed(
            chunks,
            self._builder,
            interval_ms=self.market.snapshot_interval_ms,
            significant_move_bps=self.market.significant_move_bps,
            trade_cap=self._trade_cap,
        )
        self._advance()

    # -- lockstep --------------------------------------------------------------------------------

    def _advance(self) -> None:
        """Make the next snapshot and hand it to the first subscriber (or finish)."""
        assert self._feed is not None
        if not self._order:
            self._current = None  # wait for a subscriber
            return
        snap = self._feed.next_cut(self._seq + 1)
        self._events = self._feed.events
        if snap is None:
            self._finish()
            return
        self._seq = snap.seq
        self._snapshots += 1
        self._ts_data = snap.ts_data_ms
        self._last_data_ms = snap.ts_data_ms
        self._current = snap
        self._last_built = snap
        self._force, self._force_next = self._force_next, False
        self._wanted_upto = self._last_wanting(snap)
        self._idx = 0
        speed = self.market.speed
        if speed > 0 and self._io is not None:
            now = time.monotonic()
            if self._pace_wall is None:
                self._pace_wall, self._pace_mkt = now, snap.ts_snapshot_ms
            due = self._pace_wall + (snap.ts_snapshot_ms - self._pace_mkt) / 1000.0 / float(speed)
            if due - now > 0.0005:
                self._released = False
                self._io.call_soon(self._schedule_release, due - now, snap.seq)
                return
        self._released = True
        self._deliver_next()

    def _schedule_release(self, delay: float, seq: int) -> None:  # loop thread
        assert self._io is not None
        self._io.loop.call_later(delay, self._tell_self, _Release(seq))

    def _deliver_next(self) -> None:
        snap = self._current
        assert snap is not None
        while self._idx < len(self._order):
            sub = self._order[self._idx]
            if not self._force and self._idx > self._wanted_upto and sub.wake is not None and not sub.wake.met_by(snap):
                self._skipped += 1
                self._idx += 1  # it said it would do nothing with this one
                continue
            try:
                sub.ref.tell(snap.snapshot())
            except pykka.ActorDeadError:
                self._drop_dead(sub)
                continue
            sub.outstanding = snap.seq
            return
        # every subscriber has acknowledged this one
        self._current = None
        self._advance()

    def _last_wanting(self, snap: Cut) -> int:
        """The last subscriber that wants `snap`: everyone before it gets it too, so that an
        order placed on a snapshot reaches an exchange that has seen the same snapshot."""
        for j in range(len(self._order) - 1, -1, -1):
            wake = self._order[j].wake
            if wake is None or wake.met_by(snap):
                return j
        return -1

    def _lockstep_ack(self, seq: int, urn: str, wake: WakeWhen | None = None, sent_events: bool = False) -> None:
        snap = self._current
        if snap is None or snap.seq != seq or self._idx >= len(self._order):
            return
        sub = self._order[self._idx]
        if sub.urn != urn:
            return  # not the one we wait for (a stray or repeated acknowledgement)
        sub.outstanding = None
        sub.wake = wake
        if sent_events:  # its messages may change what the others need: they all see this and the next
            self._force = True
            self._force_next = True
        self._idx += 1
        self._deliver_next()

    def _finish(self) -> None:
        self._finished = True
        self._current = None
        feed = self._feed
        assert feed is not None
        self._events = feed.events
        if self._replay is not None:
            self._bad = sum(self._replay.bad_rows.values())
        last = self._last_built.snapshot() if self._last_built is not None else None
        done = FeedFinished(symbol=self.symbol, ts_ms=self._ts_data, events=feed.events, last=last)
        logger.info(
            "market data: {} finished: {} events, {} snapshots, {} bad rows",
            self.source,
            feed.events,
            self._snapshots,
            self._bad,
        )
        for sub in list(self._order):
            try:
                sub.ref.tell(done)
            except pykka.ActorDeadError:
                self._drop_dead(sub)

    # -- live: the stream ------------------------------------------------------------------------

    def _start_stream(self) -> None:
        assert self._io is not None
        opts: dict[str, Any] = {"silence_s": max(2.0 * self.market.stale_after_s, 1.0)}
        opts.update(self._stream_options)
        tick_s = opts.pop("tick_s", min(0.25, self.market.stale_after_s / 4))
        self._stream = BinanceStream(
            symbol=self.symbol,
            stream_url=self.market.stream_url,
            rest_url=self.market.rest_url or self.settings.exchange.rest_url,
            depth_limit=self.market.depth_limit,
            sink=self._tell_self,
            clock=self._clock,
            loop=self._io.loop,
            **opts,
        )
        self._io.submit(self._stream.run(), on_done=self._on_stream_done)
        self._io.submit(self._ticker(tick_s))
        logger.warning("market data: LIVE stream {} (real market data)", self._stream.url)

    def _on_stream_done(self, fut: Any) -> None:  # loop thread
        if not fut.cancelled() and fut.exception() is not None:
            logger.error("market data: the stream loop failed: {!r}", fut.exception())
            self._tell_self(StreamDown(-1, f"stream loop failed: {fut.exception()!r}"))

    async def _ticker(self, every_s: float) -> None:  # loop thread
        while True:
            await asyncio.sleep(every_s)
            try:
                self.actor_ref.tell(_Tick())
            except pykka.ActorDeadError:
                return

    def _on_connected(self, msg: StreamConnected) -> None:
        if self._ever_connected:
            self._reconnects += 1
        self._ever_connected = True
        self._conn = msg.conn_id
        self._connected = True
        self._sync.reset()  # a new connection: rebuild the book from a fresh snapshot
        self._depth_failures = 0
        self._top = None  # the old top is not trusted until this connection says it again
        logger.info("market data: connected ({})", msg.conn_id)

    def _on_down(self, msg: StreamDown) -> None:
        if msg.conn_id != self._conn and msg.conn_id != -1 and self._connected:
            return  # about an older connection
        self._connected = False
        self._set_stale(True, f"stream down: {msg.reason}")

    def _set_stale(self, stale: bool, reason: str) -> None:
        if stale == self._stale:
            return
        self._stale = stale
        self._stale_reason = reason
        if stale:
            logger.warning("market data: feed stale: {}", reason)
        else:
            logger.info("market data: feed live again")
        msg = FeedStatusChanged(symbol=self.symbol, stale=stale, reason=reason, ts_ms=self._clock())
        for sub in list(self._order):
            try:
                sub.ref.tell(msg)
            except pykka.ActorDeadError:
                self._drop_dead(sub)

    def _on_tick(self) -> None:
        now = self._clock()
        since = now - (self._last_data_ms or self._started_ms)
        if self._started and not self._stale and since >= self.market.stale_after_s * 1000:
            self._set_stale(True, f"no data for {since / 1000:.1f}s")
        if self._flush_at is not None and now >= self._flush_at:
            self._flush_at = None
            self._maybe_snapshot(now)

    def _on_batch(self, msg: StreamBatch) -> None:
        if msg.conn_id != self._conn:
            return  # left over from an older connection
        data = 0
        for ev in msg.events:
            kind = type(ev)
            if kind is TradeTick:
                if ev.trade_id <= self._last_trade_id:
                    self._duplicates += 1
                    continue
                self._last_trade_id = ev.trade_id
                self._features.add_trades((ev,))
                if len(self._new_trades) == MAX_HELD_TRADES:
                    self._trades_dropped += 1
                self._new_trades.append(ev)
                self._ts_data = max(self._ts_data, ev.ts_ms)
                data += 1
            elif kind is BookTicker:
                if ev.update_id <= self._last_u:
                    self._duplicates += 1
                    continue
                self._last_u = ev.update_id
                self._top = (ev.bid, ev.bid_qty, ev.ask, ev.ask_qty)
                self._ts_data = max(self._ts_data, ev.recv_ms)
                data += 1
            elif kind is DepthDiff:
                gaps = self._sync.gaps
                action = self._sync.on_diff(ev)
                if self._sync.gaps != gaps:
                    logger.warning("market data: depth gap (U {} > book id + 1); rebuilding the book", ev.first_id)
                if action is Action.FETCH_SNAPSHOT:
                    self._request_depth(self._conn)
                elif action is Action.APPLIED:
                    self._ts_data = max(self._ts_data, ev.event_ms)
                data += 1
            elif kind is BadFrame:
                self._bad += 1
                n = self._bad_reasons.get(ev.reason, 0) + 1
                self._bad_reasons[ev.reason] = n
                if n == 1 or n % 1000 == 0:
                    logger.warning("market data: malformed frame ({} so far): {} {!r}", n, ev.reason, ev.sample)
            elif kind is ServerShutdown:
                logger.info("market data: serverShutdown announced; reconnecting")
        if data:
            self._events += data
            self._last_data_ms = msg.recv_ms
            self._dirty = True
            if self._stale and self._connected:
                self._set_stale(False, "data flowing again")
            self._maybe_snapshot(self._clock())

    # -- live: the REST book -------------------------------------------------------------------

    def _request_depth(self, conn: int, delay_s: float = 0.0) -> None:
        if self._stream is not None and conn == self._conn:
            self._stream.request_depth(conn, delay_s)

    def _on_depth(self, msg: DepthSnapshot) -> None:
        if msg.conn_id != self._conn:
            return  # for an older connection; the current one asked for its own
        action = self._sync.on_snapshot(msg.last_update_id, msg.bids, msg.asks)
        if action is Action.FETCH_SNAPSHOT:
            self._depth_failures += 1
            self._request_depth(self._conn, min(5.0, 0.1 * 2**self._depth_failures))
        elif action is Action.APPLIED:
            self._depth_failures = 0
            logger.info("market data: book synced at update id {}", self._sync.book_id)
            self._dirty = True
            self._maybe_snapshot(self._clock())

    def _on_depth_failed(self, msg: DepthFailed) -> None:
        logger.warning("market data: depth snapshot failed: {}", msg.reason)
        if msg.conn_id != self._conn:
            return
        if self._sync.on_snapshot_failed() is Action.FETCH_SNAPSHOT:
            self._depth_failures += 1
            delay = max(msg.retry_after_s, min(10.0, 0.2 * 2**self._depth_failures))
            self._request_depth(self._conn, delay)

    def _book_view(self, n: int) -> BookView:
        book = self._sync.book
        if book is None:
            return BookView(synced=False, book_id=0, bids=(), asks=())
        bids, asks = book.top(n)
        return BookView(synced=self._sync.synced, book_id=self._sync.book_id, bids=tuple(bids), asks=tuple(asks))

    # -- live: snapshots ------------------------------------------------------------------------

    def _live_top(self) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal | None] | None:
        book = self._sync.book if self._sync.synced else None
        imbalance = None
        if book is not None:
            imbalance = Decimal(f"{book.imbalance(self.market.book_levels):.4f}").quantize(RATIO_Q) + 0
        if self._top is not None:
            bid, bq, ask, aq = self._top
            return bid, bq, ask, aq, imbalance
        if book is not None:
            bb, ba = book.best_bid, book.best_ask
            if bb is not None and ba is not None:
                return bb[0], bb[1], ba[0], ba[1], imbalance
        return None

    def _maybe_snapshot(self, now: int) -> None:
        if not self._dirty or not self._started:
            return
        top = self._live_top()
        if top is None:
            return
        mid = (top[0] + top[2]) / 2
        interval = self.market.snapshot_interval_ms
        last = self._last_snap_ms
        significant = (
            self._last_mid is not None
            and abs(mid - self._last_mid) * 10000 >= self.market.significant_move_bps * self._last_mid
        )
        if last is None or now - last >= interval or significant:
            self._emit_live(now, top)
        elif self._flush_at is None:
            self._flush_at = last + interval
            if self._io is not None:
                delay = (self._flush_at - now) / 1000.0
                self._io.call_soon(self._schedule_tick, delay)

    def _schedule_tick(self, delay: float) -> None:  # loop thread
        assert self._io is not None
        self._io.loop.call_later(max(0.0, delay), self._tell_self, _Tick())

    def _emit_live(self, now: int, top: tuple[Decimal, Decimal, Decimal, Decimal, Decimal | None]) -> None:
        key = (top, self._ts_data, self._stale)
        if not self._new_trades and key == self._last_key:
            self._dirty = False  # nothing new for subscribers (e.g. a resync that changed nothing)
            self._flush_at = None
            return
        self._last_key = key
        self._seq += 1
        bid, bq, ask, aq, imbalance = top
        snap = self._builder.build(
            seq=self._seq,
            ts_data_ms=self._ts_data,
            ts_snapshot_ms=now,
            bid=bid,
            bid_qty=bq,
            ask=ask,
            ask_qty=aq,
            imbalance=imbalance,
            trades=(),
            stale=self._stale,
            window_end_ms=max(now, self._ts_data),
        )
        self._snapshots += 1
        self._dirty = False
        self._flush_at = None
        self._last_snap_ms = now
        self._last_mid = snap.mid
        self._last_snapshot = snap
        new = tuple(self._new_trades)
        self._new_trades.clear()
        for sub in list(self._order):
            if new:
                room = MAX_HELD_TRADES - len(sub.trades)
                if len(new) > room:
                    self._trades_dropped += len(new) - room
                sub.trades.extend(new)
            if sub.outstanding is None:
                self._send_live(sub, snap)
            else:
                if sub.held:
                    self._conflated += 1  # the one held before is replaced by this one
                sub.held = True

    def _send_live(self, sub: _Sub, snap: MarketSnapshot) -> None:
        trades = tuple(sub.trades)
        sub.trades.clear()
        out = replace(snap, trades=trades) if trades else snap
        try:
            sub.ref.tell(out)
        except pykka.ActorDeadError:
            self._drop_dead(sub)
            return
        sub.outstanding = snap.seq
        sub.held = False

    def _live_ack(self, seq: int, urn: str) -> None:
        sub = self._subs.get(urn)
        if sub is None or sub.outstanding != seq:
            return
        sub.outstanding = None
        if sub.held and self._last_snapshot is not None:
            self._send_live(sub, self._last_snapshot)

    # -- stats ------------------------------------------------------------------------------------

    def _stats(self) -> Stats:
        if self._feed is not None:
            self._events = self._feed.events
        if self._replay is not None:
            self._bad = sum(self._replay.bad_rows.values())
        held = sum(1 for s in self._order if s.held)
        return Stats(
            source="market",
            values=(
                ("events", self._events),
                ("snapshots", self._snapshots),
                ("bad_events", self._bad),
                ("reconnects", self._reconnects),
                ("gaps", self._sync.gaps),
                ("stale", 1 if self._stale else 0),
                ("last_data_ms", self._last_data_ms),
                ("resyncs", self._sync.resyncs),
                ("book_rejected", self._sync.rejected),
                ("duplicates", self._duplicates),
                ("conflated", self._conflated),
                ("skipped", self._skipped),
                ("held", held),
                ("trades_dropped", self._trades_dropped),
                ("subscribers", len(self._order)),
                ("seq", self._seq),
                ("finished", 1 if self._finished else 0),
                ("source", self.source),
                ("mode", "live" if self.live else "lockstep"),
                *(self._replay.stats_items() if self._replay is not None else ()),
            ),
        )
