"""Live delivery (source `binance`): conflated snapshots, the book-sync glue, the stale watchdog.

A snapshot at most every `snapshot_interval_ms`, or at once on a move of
`significant_move_bps`; a subscriber that has not acknowledged its last one
gets only the newest when it does (conflation), with every trade since its
last delivered snapshot (the last `MAX_HELD_TRADES`).

It also knows what is wrong with the feed, for the operator: whether it is
stale, why (the stream's last error, readable), since when, how many
connection attempts failed in a row and when the next one is. Subscribers get
a `FeedStatusChanged` only when the feed goes stale or comes back; the rest
is in `counters()` (the actor's `Stats`).

It warms up first (`warmup.py`, issue 26): with `request_history`, no
snapshot goes out and no live trade is folded until the venue's history is,
and after an outage that left whole minutes without data, the same again.

A plain class: the actor routes the stream's messages here and gives it
`request_depth`, `request_history` and `schedule_tick` (tell-only, to the I/O
loop); tests drive it without threads.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from loguru import logger

from actors.binance.klines import HistoryFailed, HistoryFetched, HistoryProgress
from actors.binance.market_stream import (
    BadFrame,
    BookTicker,
    DepthFailed,
    DepthSnapshot,
    ServerShutdown,
    StreamBatch,
    StreamConnected,
    StreamDown,
)
from actors.market_data.book import Action, BookSync, DepthDiff
from actors.market_data.features import RATIO_Q
from actors.market_data.snapshot_builder import SnapshotBuilder
from actors.market_data.subscribers import MAX_HELD_TRADES, Subscriber, Subscribers
from actors.market_data.warmup import WarmStart
from actors.messages import Clock, FeedStatusChanged, MarketSnapshot, TradeTick
from actors.settings import MarketSettings

Top = tuple[Decimal, Decimal, Decimal, Decimal, Decimal | None]  # bid, bid qty, ask, ask qty, imbalance


class LiveDelivery:
    def __init__(
        self,
        subscribers: Subscribers,
        builder: SnapshotBuilder,
        market: MarketSettings,
        *,
        symbol: str,
        clock: Clock,
        request_depth: Callable[[int, float], None] = lambda _conn, _delay: None,
        schedule_tick: Callable[[float], None] | None = None,
        request_history: Callable[[int, int, int], None] | None = None,
        history_ms: int = 0,
    ) -> None:
        self.subs = subscribers
        self.builder = builder
        self.features = builder.features
        self.market = market
        self.symbol = symbol
        self._clock = clock
        self._request_depth = request_depth
        self._schedule_tick = schedule_tick
        self.sync = BookSync()
        self.warm = None if request_history is None else WarmStart(builder, market, needed_ms=history_ms,
                                                                    request=request_history)
        self.started = False
        self.started_ms = clock()
        # the connection and its health
        self.conn = 0
        self.connected = False
        self.connects = 0  # connection attempts, made or failed
        self.failed_attempts = 0  # in a row, since the last connection made
        self.next_attempt_ms = 0  # when the stream tries again (0 = connected or no attempt planned)
        self.last_error = ""
        self.stale = False
        self.stale_reason = ""
        self.cause = ""  # why the feed is stale, readable ("" while live)
        self.since_ms = 0  # when it went stale or live again
        # the data
        self._last_u = -1
        self._last_trade_id = -1
        self._top: tuple[Decimal, Decimal, Decimal, Decimal] | None = None  # from bookTicker
        self.ts_data = 0
        self.last_data_ms = 0
        self._dirty = False
        self._new_trades: deque[TradeTick] = deque(maxlen=MAX_HELD_TRADES)
        self._depth_failures = 0
        self._bad_reasons: dict[str, int] = {}
        # the snapshots
        self.seq = 0
        self._last_snap_ms: int | None = None
        self._last_mid: Decimal | None = None
        self._last_snapshot: MarketSnapshot | None = None
        self._last_key: tuple[Any, ...] | None = None
        self._flush_at: int | None = None
        # counters
        self.events = self.snapshots = self.bad = self.duplicates = self.conflated = self.trades_dropped = 0

    @property
    def reconnects(self) -> int:
        """Connection attempts after the first one, made or failed."""
        return max(0, self.connects - 1)

    def start(self) -> None:
        self.started = True

    def begin_warm_start(self) -> None:
        """Read the venue's history before the first snapshot (no-op without `request_history`)."""
        if self.warm is not None:
            self.warm.begin(self._clock())

    @property
    def warming(self) -> bool:
        return self.warm is not None and self.warm.active

    # -- the connection ---------------------------------------------------------------------

    def on_connected(self, msg: StreamConnected) -> None:
        self.connects += 1
        self.failed_attempts = 0
        self.next_attempt_ms = 0
        self.conn = msg.conn_id
        self.connected = True
        self.sync.reset()  # a new connection: rebuild the book from a fresh snapshot
        self._depth_failures = 0
        self._top = None  # the old top is not trusted until this connection says it again
        logger.info("market data: connected ({})", msg.conn_id)

    def on_down(self, msg: StreamDown) -> None:
        now = self._clock()
        if msg.connect_failed:
            self.connects += 1
            self.failed_attempts += 1
        self.last_error = msg.reason
        self.next_attempt_ms = now + round(msg.retry_in_s * 1000) if msg.retry_in_s >= 0 else 0
        if msg.conn_id != self.conn and msg.conn_id != -1 and self.connected:
            return  # about an older connection
        self.connected = False
        self._set_stale(True, f"stream down: {msg.reason}", msg.reason, now)

    def _set_stale(self, stale: bool, reason: str, cause: str, now: int) -> None:
        if stale == self.stale:
            if stale:
                self.cause = cause  # still down, for a newer reason: the counters say it, no new event
            return
        self.stale = stale
        self.stale_reason = reason
        self.cause = cause if stale else ""
        self.since_ms = now
        if stale and self.warm is not None:
            self.warm.on_outage()
        if stale:
            logger.warning("market data: feed stale: {}", reason)
        else:
            logger.info("market data: feed live again")
        self.subs.tell_all(FeedStatusChanged(
            symbol=self.symbol, stale=stale, reason=reason, ts_ms=now, cause=self.cause, since_ms=now,
            attempts=self.failed_attempts, next_attempt_ms=0 if self.connected else self.next_attempt_ms))

    def on_tick(self) -> None:
        now = self._clock()
        since = now - (self.last_data_ms or self.started_ms)
        if self.started and not self.stale and since >= self.market.stale_after_s * 1000:
            why = f"no data for {since / 1000:.1f}s"
            self._set_stale(True, why, why, now)
        if self._flush_at is not None and now >= self._flush_at:
            self._flush_at = None
            self._maybe_snapshot(now)

    def on_batch(self, msg: StreamBatch) -> None:
        if msg.conn_id != self.conn:
            return  # left over from an older connection
        data = 0
        for ev in msg.events:
            kind = type(ev)
            if kind is TradeTick:
                if ev.trade_id <= self._last_trade_id:
                    self.duplicates += 1
                    continue
                self._last_trade_id = ev.trade_id
                if self.warm is not None:
                    self.warm.on_trade(ev)  # held while the history is read, dropped if it has it
                else:
                    self.features.add_trades((ev,))
                if len(self._new_trades) == MAX_HELD_TRADES:
                    self.trades_dropped += 1
                self._new_trades.append(ev)
                self.ts_data = max(self.ts_data, ev.ts_ms)
                data += 1
            elif kind is BookTicker:
                if ev.update_id <= self._last_u:
                    self.duplicates += 1
                    continue
                self._last_u = ev.update_id
                self._top = (ev.bid, ev.bid_qty, ev.ask, ev.ask_qty)
                self.ts_data = max(self.ts_data, ev.recv_ms)
                data += 1
            elif kind is DepthDiff:
                gaps = self.sync.gaps
                action = self.sync.on_diff(ev)
                if self.sync.gaps != gaps:
                    logger.warning("market data: depth gap (U {} > book id + 1); rebuilding the book", ev.first_id)
                if action is Action.FETCH_SNAPSHOT:
                    self._fetch_depth(self.conn)
                elif action is Action.APPLIED:
                    self.ts_data = max(self.ts_data, ev.event_ms)
                data += 1
            elif kind is BadFrame:
                self.bad += 1
                n = self._bad_reasons.get(ev.reason, 0) + 1
                self._bad_reasons[ev.reason] = n
                if n == 1 or n % 1000 == 0:
                    logger.warning("market data: malformed frame ({} so far): {} {!r}", n, ev.reason, ev.sample)
            elif kind is ServerShutdown:
                logger.info("market data: serverShutdown announced; reconnecting")
        if data:
            self.events += data
            self.last_data_ms = msg.recv_ms
            self._dirty = True
            if self.stale and self.connected and not self.warming:  # live again once the gap is read
                self._set_stale(False, "data flowing again", "", self._clock())
            self._maybe_snapshot(self._clock())

    # -- the REST book -------------------------------------------------------------------------

    def _fetch_depth(self, conn: int, delay_s: float = 0.0) -> None:
        if conn == self.conn:
            self._request_depth(conn, delay_s)

    def on_depth(self, msg: DepthSnapshot) -> None:
        if msg.conn_id != self.conn:
            return  # for an older connection; the current one asked for its own
        action = self.sync.on_snapshot(msg.last_update_id, msg.bids, msg.asks)
        if action is Action.FETCH_SNAPSHOT:
            self._depth_failures += 1
            self._fetch_depth(self.conn, min(5.0, 0.1 * 2**self._depth_failures))
        elif action is Action.APPLIED:
            self._depth_failures = 0
            logger.info("market data: book synced at update id {}", self.sync.book_id)
            self._dirty = True
            self._maybe_snapshot(self._clock())

    def on_depth_failed(self, msg: DepthFailed) -> None:
        logger.warning("market data: depth snapshot failed: {}", msg.reason)
        if msg.conn_id != self.conn:
            return
        if self.sync.on_snapshot_failed() is Action.FETCH_SNAPSHOT:
            self._depth_failures += 1
            delay = max(msg.retry_after_s, min(10.0, 0.2 * 2**self._depth_failures))
            self._fetch_depth(self.conn, delay)

    # -- the history (warm start, backfill) ------------------------------------------------------

    def on_history(self, msg: HistoryProgress | HistoryFetched | HistoryFailed) -> None:
        w = self.warm
        if w is None:
            return
        if isinstance(msg, HistoryProgress):
            w.on_progress(msg.job, msg.got_minutes, msg.total_minutes)
            return
        if isinstance(msg, HistoryFetched):
            done = w.on_history(msg.job, msg.rows)
        else:
            done = w.on_failed(msg.job, msg.reason, msg.refused)
        if not done:
            return
        now = self._clock()
        fresh = self.last_data_ms and now - self.last_data_ms < self.market.stale_after_s * 1000
        if self.stale and self.connected and fresh:
            self._set_stale(False, "data flowing again", "", now)
        self._dirty = True
        self._maybe_snapshot(now)

    # -- snapshots ------------------------------------------------------------------------------

    def _live_top(self) -> Top | None:
        book = self.sync.book if self.sync.synced else None
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
        if not self._dirty or not self.started or self.warming:
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
            self._emit(now, top)
        elif self._flush_at is None:
            self._flush_at = last + interval
            if self._schedule_tick is not None:
                self._schedule_tick((self._flush_at - now) / 1000.0)

    def _emit(self, now: int, top: Top) -> None:
        key = (top, self.ts_data, self.stale)
        if not self._new_trades and key == self._last_key:
            self._dirty = False  # nothing new for subscribers (e.g. a resync that changed nothing)
            self._flush_at = None
            return
        self._last_key = key
        self.seq += 1
        bid, bq, ask, aq, imbalance = top
        snap = self.builder.build(
            seq=self.seq,
            ts_data_ms=self.ts_data,
            ts_snapshot_ms=now,
            bid=bid,
            bid_qty=bq,
            ask=ask,
            ask_qty=aq,
            imbalance=imbalance,
            trades=(),
            stale=self.stale,
            window_end_ms=max(now, self.ts_data),
        )
        self.snapshots += 1
        self._dirty = False
        self._flush_at = None
        self._last_snap_ms = now
        self._last_mid = snap.mid
        self._last_snapshot = snap
        new = tuple(self._new_trades)
        self._new_trades.clear()
        for sub in list(self.subs.order):
            if new:
                room = MAX_HELD_TRADES - len(sub.trades)
                if len(new) > room:
                    self.trades_dropped += len(new) - room
                sub.trades.extend(new)
            if sub.pending_ack is None:
                self._send(sub, snap)
            else:
                if sub.newer_waiting:
                    self.conflated += 1  # the one waiting before is replaced by this one
                sub.newer_waiting = True

    def _send(self, sub: Subscriber, snap: MarketSnapshot) -> None:
        trades = tuple(sub.trades)
        sub.trades.clear()
        out = replace(snap, trades=trades) if trades else snap
        if not self.subs.tell(sub, out):
            return
        sub.pending_ack = snap.seq
        sub.newer_waiting = False

    def on_ack(self, seq: int, urn: str) -> None:
        sub = self.subs.get(urn)
        if sub is None or sub.pending_ack != seq:
            return
        sub.pending_ack = None
        if sub.newer_waiting and self._last_snapshot is not None:
            self._send(sub, self._last_snapshot)

    # -- counters ------------------------------------------------------------------------------

    def counters(self) -> dict[str, int | str]:
        return {
            "events": self.events, "snapshots": self.snapshots, "bad_events": self.bad,
            "reconnects": self.reconnects, "gaps": self.sync.gaps, "stale": 1 if self.stale else 0,
            "last_data_ms": self.last_data_ms, "resyncs": self.sync.resyncs, "book_rejected": self.sync.rejected,
            "duplicates": self.duplicates, "conflated": self.conflated,
            "held": sum(1 for s in self.subs.order if s.newer_waiting), "trades_dropped": self.trades_dropped,
            "seq": self.seq, "book_id": self.sync.book_id, "book_synced": 1 if self.sync.synced else 0,
            "stale_cause": self.cause, "stale_since_ms": self.since_ms if self.stale else 0,
            "failed_attempts": self.failed_attempts, "next_attempt_ms": 0 if self.connected else self.next_attempt_ms,
            "last_error": self.last_error,
        } | (self.warm.counters() if self.warm is not None else {})
