"""The notifier actor: listens to the keeper's events and tells a person about the ones that matter.

It needs nothing from the keeper but `Subscribe`: the keeper publishes its
events to every subscriber with `tell`, so this actor was added without a
line changed there. ERROR log lines reach it through a loguru sink that only
`tell`s.

Threads:
- the actor thread owns all state: the `Composer` (what to say) and one
  `Outbox` per channel (rate limit, queue, retries while down);
- the `notify-io` loop thread delivers (`Channel.send`) and ticks; it holds
  no state and reports each delivery back with `tell`. The actor never
  waits on the loop (except once, bounded, at stop, to send what is left).
  With `[notify] telegram_commands`, the owner's chat (`telegram_bot.Operator`:
  long polling, commands, the Approve / Reject buttons) lives on the same
  loop with its own state, touched by nothing else; the actor hands it the
  keeper's approval events with `call_soon`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pykka
from loguru import logger

from actors._lib.aio import LoopThread
from actors._lib.secrets import redact
from actors.messages import (
    Clock,
    EntryApprovalRequested,
    EntryApprovalResolved,
    GetStats,
    OrderDenied,
    OrderFilled,
    OrderPlaced,
    RiskStateChanged,
    StateChanged,
    Stats,
    Subscribe,
    TradeClosed,
    TradingBlocked,
    TradingHalted,
    TradingStopped,
    TradingUnblocked,
    Unsubscribe,
)
from actors.notify import answers
from actors.notify.channels import Channel, ChannelError
from actors.notify.notes import Composer, Note
from actors.notify.outbox import Outbox
from actors.notify.telegram_bot import Operator, TelegramHealth
from actors.settings import Settings

LOOP_NAME = "notify-io"
DRAIN_TIMEOUT_S = 3.0  # at stop: how long the last notes may take
_EVENTS = (OrderPlaced, OrderDenied, OrderFilled, TradeClosed, StateChanged, RiskStateChanged, TradingHalted,
           TradingStopped, TradingBlocked, TradingUnblocked)


@dataclass(frozen=True, slots=True)
class Tick:
    """From the loop every `tick_s` (tests send it): close bursts, release held notes, roll the live day."""


@dataclass(frozen=True, slots=True)
class _Delivered:
    channel: str
    error: str | None
    retry_after_s: float = 0.0


@dataclass(frozen=True, slots=True)
class _ErrorLogged:
    text: str


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class NotifierActor(pykka.ThreadingActor):
    """Args:
    settings: `[notify]` (events, rate, burst) and the symbol.
    keeper: the StateKeeper, sent `Subscribe` at start and `Unsubscribe` at stop.
    channels: name -> channel (`actors.notify.channels`), built by `start_notifier` from the environment.
    market_time: True in a backtest: the daily summary follows the events' market time.
    clock: wall time in ms (rate limit, bursts, the live day); tests pass their own.
    tick_s: how often the loop ticks (0 = never: tests send `Tick()` themselves).
    operator: the owner's chat (commands, approval buttons), when `[notify] telegram_commands` is on.
    """

    def __init__(self, settings: Settings, keeper: pykka.ActorRef[Any] | None, channels: Mapping[str, Channel], *,
                 market_time: bool, clock: Clock | None = None, tick_s: float = 1.0,
                 operator: Operator | None = None) -> None:
        super().__init__()
        self._operator = operator
        self._poll_down = False  # the operator cannot reach Telegram (one warning for an outage, not two)
        n = settings.notify
        self._keeper = keeper
        self._channels = dict(channels)
        self._clock = clock or _wall_ms
        self._tick_s = tick_s
        self._symbol, self._quote = settings.symbol, settings.exchange.quote_asset
        self._composer = Composer(settings.symbol, settings.exchange.quote_asset, frozenset(n.events),
                                  n.burst_s * 1000, market_time=market_time)
        self._outboxes = {name: Outbox(n.rate_per_minute) for name in self._channels}
        testnet = settings.exchange.kind == "binance" and settings.exchange.network == "testnet"
        self._prefix = "[TESTNET] " if testnet else ""  # fake funds: never mistaken for the real account
        self._io: LoopThread | None = None
        self._sending: set[concurrent.futures.Future[Any]] = set()  # deliveries under way on the loop
        self._sink_id: int | None = None
        self._counts = {"events": 0, "notes": 0, "errors_seen": 0}

    # -- lifecycle (actor thread) ----------------------------------------------------

    def on_start(self) -> None:
        self._io = LoopThread(LOOP_NAME)
        self._io.start()
        if self._tick_s > 0:
            self._io.submit(_tick_forever(self.actor_ref, self._tick_s))
        if "errors" in self._composer.events:
            self._sink_id = logger.add(self._error_sink, level="ERROR", format="{message}",
                                       filter=lambda r: not (r["name"] or "").startswith("actors.notify"), catch=True)
        if self._operator is not None:
            self._io.submit(self._operator.start(self.actor_ref))
        if self._keeper is not None:
            self._keeper.tell(Subscribe(subscriber=self.actor_ref))
        logger.info("notifier: {} ({})", ", ".join(self._channels) or "no channel",
                    ", ".join(sorted(self._composer.events)))

    def _error_sink(self, message: Any) -> None:  # any thread, inside a log call: tell only
        try:
            self.actor_ref.tell(_ErrorLogged(str(message.record["message"])))
        except pykka.ActorDeadError:
            pass

    def on_stop(self) -> None:
        self._remove_sink()
        if self._keeper is not None:
            try:
                self._keeper.tell(Unsubscribe(subscriber=self.actor_ref))
            except pykka.ActorDeadError:
                pass
        self._queue(self._composer.flush(self._clock()))
        self._shutdown(drain=True)

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        logger.warning("notifier failed: {}", redact(f"{exception_type.__name__}: {exception_value}"))
        self._remove_sink()
        self._shutdown(drain=False)

    def _remove_sink(self) -> None:
        sink, self._sink_id = self._sink_id, None
        if sink is not None:
            try:
                logger.remove(sink)
            except ValueError:
                pass

    def _shutdown(self, drain: bool) -> None:
        io, self._io = self._io, None
        if io is None:
            return
        if io.alive and self._operator is not None:
            try:  # first: no command is answered once the channels are closing
                io.submit(self._operator.close()).result(timeout=DRAIN_TIMEOUT_S + 1)
            except Exception as exc:  # noqa: BLE001 - stopping anyway
                logger.warning("notifier: closing the Telegram commands: {}", redact(f"{type(exc).__name__}: {exc}"))
        if io.alive:
            work = {name: box.drain(self._clock()) for name, box in self._outboxes.items()} if drain else {}
            try:
                io.submit(_drain_and_close(self._channels, work, list(self._sending))).result(
                    timeout=DRAIN_TIMEOUT_S + 1)
            except Exception as exc:  # noqa: BLE001 - stopping anyway; one line says what was lost
                logger.warning("notifier: the last notifications did not all go out: {}",
                               redact(f"{type(exc).__name__}: {exc}"))
        io.stop()

    # -- messages (actor thread) -----------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        now = self._clock()
        match message:
            case Tick():
                self._queue(self._composer.on_tick(now))
            case _Delivered(channel=name, error=error, retry_after_s=wait):
                self._delivered(name, error, int(wait * 1000), now)
            case _ErrorLogged(text=text):
                self._counts["errors_seen"] += 1
                self._queue(self._composer.on_error(text, now))
            case GetStats():
                return self._stats()
            case TelegramHealth(down=down, error=error):
                self._on_poll_health(down, error)
            case EntryApprovalRequested() | EntryApprovalResolved():
                self._counts["events"] += 1
                self._on_approval(message, now)
            case _ if isinstance(message, _EVENTS):
                self._counts["events"] += 1
                self._queue(self._composer.on_event(message, now))
            case _:
                return super().on_receive(message)
        self._pump(now)
        return None

    def _queue(self, notes: list[Note], skip: str = "") -> None:
        for told in notes:
            note = replace(told, text=self._prefix + told.text) if self._prefix else told
            self._counts["notes"] += 1
            for name, box in self._outboxes.items():
                if name != skip:
                    box.put(note)

    def _on_approval(self, event: EntryApprovalRequested | EntryApprovalResolved, now: int) -> None:
        """An entry waits for the owner (or was answered): buttons on Telegram, a note everywhere else."""
        a = event.approval
        operator = self._operator if self._io is not None and self._io.alive else None
        if operator is not None:
            self._io.call_soon(operator.on_event, event)  # type: ignore[union-attr]
        if isinstance(event, EntryApprovalRequested):
            text = answers.prompt(a, self._symbol, self._quote) + ("" if operator else "\nAnswer it on the dashboard.")
        else:
            text = f"{self._symbol} entry {a.approval_id}: {answers.resolution(a)}"
        data = (("approval_id", a.approval_id), ("outcome", a.outcome), ("price", str(a.price)),
                ("quantity", str(a.quantity)), ("by", a.by))
        self._queue([Note("approval", text, event.ts_ms, data)], skip="telegram" if operator else "")

    def _on_poll_health(self, down: bool, error: str) -> None:
        was, self._poll_down = self._poll_down, down
        box = self._outboxes.get("telegram")
        if down and not was:
            if box is not None and box.down:  # the notes already said Telegram is down
                logger.info("notifier: telegram commands cannot reach Telegram either: {}", error)
            else:
                logger.warning("notifier: telegram commands cannot reach Telegram: {}; retrying quietly (trading "
                               "goes on; entries waiting for approval expire)", error)
        elif was and not down:
            logger.info("notifier: telegram commands reach Telegram again")

    def _pump(self, now: int) -> None:
        if self._io is None:
            return
        for name, box in self._outboxes.items():
            note = box.take(now)
            if note is not None:
                fut = self._io.submit(_deliver(self.actor_ref, self._channels[name], note))
                self._sending.add(fut)
                fut.add_done_callback(self._sending.discard)  # on the loop thread; a set's discard is atomic

    def _delivered(self, name: str, error: str | None, retry_after_ms: int, now: int) -> None:
        box = self._outboxes.get(name)
        if box is None:
            return
        change = box.done(now, error, retry_after_ms)
        if change is None:
            return
        if change.up:
            logger.info("notifier: {} delivers again (after {} failed attempts)", name, change.failures)
        elif name == "telegram" and self._poll_down:  # the commands already said Telegram is down: one warning
            logger.info("notifier: telegram failed too: {}; holding its notifications", change.error)
        else:
            logger.warning("notifier: {} failed: {}; holding its notifications and retrying, quietly until it "
                           "delivers again", name, change.error)

    def _stats(self) -> Stats:
        values: list[tuple[str, int | str | None]] = [(k, v) for k, v in self._counts.items()]
        for name, box in self._outboxes.items():
            values += [(f"{name}_attempts", box.attempts), (f"{name}_delivered", box.delivered), (f"{name}_queued", box.queued),
                       (f"{name}_dropped", box.dropped), (f"{name}_down", int(box.down)),
                       (f"{name}_in_flight", int(box.in_flight))]
        if self._operator is not None:  # ints the loop counts: a copy, read without a lock (they only grow)
            values += [(f"telegram_{k}", v) for k, v in dict(self._operator.counts).items()]
        return Stats(source="notify", values=tuple(values))


# -- the loop side (notify-io thread): no state, only `tell` -------------------------


async def _tick_forever(ref: pykka.ActorRef[Any], every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            ref.tell(Tick())
        except pykka.ActorDeadError:
            return


async def _deliver(ref: pykka.ActorRef[Any], channel: Channel, note: Note) -> None:
    error: str | None = None
    wait = 0.0
    try:
        await channel.send(note)
    except ChannelError as exc:
        error, wait = str(exc), exc.retry_after_s
    except Exception as exc:  # noqa: BLE001 - any failure is one delivery failed, never a dead notifier
        error = redact(f"{type(exc).__name__}: {exc}")
    try:
        ref.tell(_Delivered(channel.name, error, wait))
    except pykka.ActorDeadError:
        pass


async def _drain_and_close(channels: Mapping[str, Channel], work: Mapping[str, list[Note]],
                           sending: list[concurrent.futures.Future[Any]]) -> None:
    """Let the deliveries under way finish, send what is left, close the sessions: all within DRAIN_TIMEOUT_S."""
    under_way = [asyncio.wrap_future(f) for f in sending if not f.done()]

    async def one(channel: Channel, notes: list[Note]) -> None:
        try:
            if under_way:
                await asyncio.wait(under_way)
            for note in notes:
                await channel.send(note)
        finally:
            await channel.close()

    tasks = [asyncio.ensure_future(one(ch, list(work.get(name, ())))) for name, ch in channels.items()]
    if not tasks:
        return
    done, pending = await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    failed = sum(1 for t in done if not t.cancelled() and t.exception() is not None)
    if pending or failed:
        raise ChannelError(f"{len(pending)} channel(s) timed out, {failed} failed")
