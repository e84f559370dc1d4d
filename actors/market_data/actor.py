"""MarketDataActor: one source, snapshots to subscribers under a credit window of one.

Protocol (actors/messages.py):

- `Subscribe(ref)` / `Unsubscribe(ref)` at any time; publishing starts on `StartFeed()`.
- Every `MarketSnapshot` has an increasing `seq`; a subscriber answers each one
  with `SnapshotProcessed(seq, subscriber_urn=<its actor_urn>)`, and never has
  more than one unacknowledged snapshot.
- LOCKSTEP (sources `synthetic`, `replay`; `lockstep_delivery.py`): a snapshot goes
  to the subscribers one at a time, in subscription order, the next only after the
  previous one acknowledged. Nothing is dropped. At the end, `FeedFinished` goes
  to every subscriber. `speed` > 0 paces snapshots by market time on the loop's timer.
- LIVE (source `binance`; `live_delivery.py`): conflated snapshots; `FeedStatusChanged`
  tells subscribers when the feed goes stale or comes back, with the cause. The first
  snapshot waits for the warm start (`warmup.py`): the venue's history, read by
  `actors/binance/klines.py` on the same loop.
- `GetStats()` (ask) → `Stats(source="market", ...)`, including what is down and why.

This actor only routes: the two delivery classes hold the logic, the stream
(`actors/binance/market_stream.py`) the I/O, on this actor's `LoopThread`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import pykka
from loguru import logger

from actors._lib.aio import LoopThread
from actors.binance.klines import HistoryFailed, HistoryFetched, HistoryProgress, KlineHistory
from actors.binance.market_stream import (
    BinanceStream,
    DepthFailed,
    DepthSnapshot,
    StreamBatch,
    StreamConnected,
    StreamDown,
    wall_clock_ms,
)
from actors.market_data.cutter import TRADE_CAP, SnapshotCutter
from actors.market_data.features import Features
from actors.market_data.live_delivery import LiveDelivery
from actors.market_data.lockstep_delivery import LockstepDelivery
from actors.market_data.replay import ReplaySource
from actors.market_data.snapshot_builder import SnapshotBuilder
from actors.market_data.subscribers import Subscribers
from actors.market_data.synthetic import SyntheticMarket
from actors.market_data.warmup import history_needed_ms
from actors.messages import (
    CandlesClosed,
    Clock,
    GetStats,
    SnapshotProcessed,
    StartFeed,
    Stats,
    Subscribe,
    SubscribeCandles,
    Unsubscribe,
)
from actors.settings import Settings

IO_THREAD = "market-data-io"
_KEYS = ("events", "snapshots", "bad_events", "reconnects", "gaps", "stale", "last_data_ms", "resyncs", "book_rejected",
         "duplicates", "conflated", "skipped", "held", "trades_dropped", "subscribers", "seq", "finished", "source",
         "mode")  # the Stats order of both modes; the live-only keys follow


@dataclass(frozen=True, slots=True)
class _Release:
    """The pacing timer of a lockstep run with speed > 0 let snapshot `seq` out."""

    seq: int


@dataclass(frozen=True, slots=True)
class _Tick:
    """The live watchdog's heartbeat (staleness, snapshots that are due)."""


class MarketDataActor(pykka.ThreadingActor):
    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        *,
        trade_cap: int = TRADE_CAP,
        stream_options: dict[str, Any] | None = None,
        history_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        m = settings.market
        self.market = m
        self.symbol = settings.symbol
        self._clock: Clock = clock or wall_clock_ms
        self.source = m.source
        self.live = m.live
        self._stream_options = dict(stream_options or {})
        self._trade_cap = trade_cap
        self._io: LoopThread | None = None
        self._stream: BinanceStream | None = None
        self._history_options = dict(history_options or {})
        self._history: KlineHistory | None = None
        self._subs = Subscribers()
        self._candle_subs: list[Any] = []  # SubscribeCandles: the strategy's host
        features = Features(m.window_s, m.candles, m.trend_fast_s, m.trend_slow_s, m.regime_band)
        builder = SnapshotBuilder(settings.symbol, settings.exchange.tick_size, settings.exchange.step_size, features)
        self._builder = builder
        self._replay: ReplaySource | None = None
        self._synthetic: SyntheticMarket | None = None
        if m.source == "replay":
            # Read here, in the caller's thread, so a bad path fails `start()` itself.
            self._replay = ReplaySource(m.replay_path, candle_fills=m.candle_fills, wide_share=m.wide_bar_share)
        elif m.source == "synthetic":
            self._synthetic = SyntheticMarket(
                seed=m.seed,
                duration_s=m.duration_s,
                start_price=m.start_price,
                tick_size=settings.exchange.tick_size,
                step_size=settings.exchange.step_size,
            )
        self._lockstep: LockstepDelivery | None = None
        self._live: LiveDelivery | None = None
        if self.live:
            self._live = LiveDelivery(self._subs, builder, m, symbol=self.symbol, clock=self._clock,
                                      request_depth=self._request_depth, schedule_tick=self._schedule_tick,
                                      request_history=self._request_history, history_ms=history_needed_ms(settings))
        else:
            self._lockstep = LockstepDelivery(self._subs, symbol=self.symbol, source=self.source, speed=m.speed,
                                              schedule_release=self._schedule_release if m.speed > 0 else None,
                                              bad_rows=self._bad_rows)

    # -- lifecycle ---------------------------------------------------------------------------

    def on_start(self) -> None:
        if self._live is not None:
            self._live.started_ms = self._clock()
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
        live, lockstep = self._live, self._lockstep
        match message:
            case SnapshotProcessed(seq=seq, subscriber_urn=urn):
                if live is not None:
                    live.on_ack(seq, urn)
                elif lockstep is not None:
                    lockstep.on_ack(seq, urn, message.wake, message.sent_events)
            case StreamBatch() if live is not None:
                live.on_batch(message)
            case _Tick() if live is not None:
                live.on_tick()
            case _Release(seq=seq) if lockstep is not None:
                lockstep.on_release(seq)
            case Subscribe(subscriber=ref):
                sub = self._subs.add(ref)
                if sub is not None and lockstep is not None:
                    lockstep.on_subscribed(sub)
            case SubscribeCandles(subscriber=ref):
                if all(r.actor_urn != ref.actor_urn for r in self._candle_subs):
                    self._candle_subs.append(ref)
                    if self._builder.features.closed_out is None:
                        self._builder.features.closed_out = []
                    self._builder.on_candles = self._tell_candles
            case Unsubscribe(subscriber=ref):
                pos = self._subs.remove(ref.actor_urn)
                if pos is not None and lockstep is not None:
                    lockstep.on_unsubscribed(pos)
            case StartFeed():
                self._start_feed()
            case GetStats():
                return self._stats()
            case DepthSnapshot() if live is not None:
                live.on_depth(message)
            case DepthFailed() if live is not None:
                live.on_depth_failed(message)
            case HistoryProgress() | HistoryFetched() | HistoryFailed() if live is not None:
                live.on_history(message)
            case StreamConnected() if live is not None:
                live.on_connected(message)
            case StreamDown() if live is not None:
                live.on_down(message)
            case _:
                return super().on_receive(message)
        return None

    def _tell_candles(self, msg: CandlesClosed) -> None:
        for ref in list(self._candle_subs):
            try:
                ref.tell(msg)
            except pykka.ActorDeadError:
                logger.warning("market data: candle subscriber {} is gone; unsubscribed", ref.actor_urn)
                self._candle_subs.remove(ref)

    def _tell_self(self, msg: Any) -> None:
        """From the loop thread: tell this actor, quietly if it is gone."""
        with contextlib.suppress(pykka.ActorDeadError):
            self.actor_ref.tell(msg)

    def _start_feed(self) -> None:
        if self._live is not None:
            if not self._live.started:
                self._live.start()
                self._start_stream()
                self._live.begin_warm_start()
            return
        assert self._lockstep is not None
        if self._lockstep.started:
            return
        chunks = self._replay.chunks() if self._replay is not None else self._synthetic.chunks()  # type: ignore[union-attr]
        self._lockstep.start(SnapshotCutter(
            chunks,
            self._builder,
            interval_ms=self.market.snapshot_interval_ms,
            significant_move_bps=self.market.significant_move_bps,
            trade_cap=self._trade_cap,
        ))

    def _bad_rows(self) -> int:
        return sum(self._replay.bad_rows.values()) if self._replay is not None else 0

    # -- timers and the stream (the I/O loop) ----------------------------------------------------

    def _schedule_release(self, delay_s: float, seq: int) -> None:
        assert self._io is not None
        self._io.call_soon(lambda: self._io_later(delay_s, _Release(seq)))

    def _schedule_tick(self, delay_s: float) -> None:
        if self._io is not None:
            self._io.call_soon(lambda: self._io_later(delay_s, _Tick()))

    def _io_later(self, delay_s: float, msg: Any) -> None:  # loop thread
        assert self._io is not None
        self._io.loop.call_later(max(0.0, delay_s), self._tell_self, msg)

    def _request_depth(self, conn: int, delay_s: float) -> None:
        if self._stream is not None:
            self._stream.request_depth(conn, delay_s)

    def _request_history(self, job: int, start_ms: int, end_ms: int) -> None:
        if self._io is None or self._history is None:
            return

        def done(fut: Any) -> None:  # loop thread: a defect in the fetch still ends the job
            if not fut.cancelled() and fut.exception() is not None:
                self._tell_self(HistoryFailed(job, f"{fut.exception()!r}"[:300], refused=False))

        self._io.submit(self._history.fetch(job, start_ms, end_ms), on_done=done)

    def _start_stream(self) -> None:
        assert self._io is not None
        rest_url = self.market.rest_url or self.settings.exchange.rest_url
        self._history = KlineHistory(rest_url=rest_url, symbol=self.symbol, sink=self._tell_self,
                                     **self._history_options)
        opts: dict[str, Any] = {"silence_s": max(2.0 * self.market.stale_after_s, 1.0)}
        opts.update(self._stream_options)
        tick_s = opts.pop("tick_s", min(0.25, self.market.stale_after_s / 4))
        self._stream = BinanceStream(
            symbol=self.symbol,
            stream_url=self.market.stream_url,
            rest_url=rest_url,
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

    # -- stats ------------------------------------------------------------------------------------

    def _stats(self) -> Stats:
        if self._live is not None:
            counters: dict[str, Any] = self._live.counters()
        else:
            ls = self._lockstep
            assert ls is not None
            counters = {"events": ls.events, "snapshots": ls.snapshots, "bad_events": self._bad_rows(),
                        "last_data_ms": ls.ts_data, "skipped": ls.skipped, "seq": ls.seq,
                        "finished": 1 if ls.finished else 0}
        counters.update(subscribers=len(self._subs), source=self.source, mode="live" if self.live else "lockstep")
        values = [(k, counters.get(k, 0)) for k in _KEYS] + [(k, v) for k, v in counters.items() if k not in _KEYS]
        if self._replay is not None:
            values += list(self._replay.stats_items())
        return Stats(source="market", values=tuple(values))
