"""A pykka runtime for backtests: many actors, one thread, messages handled in arrival order.

In a lockstep backtest every snapshot is a chain of hops (market → executor →
market → keeper → consultant → keeper → market) and each hop between threads
costs a wake-up and a GIL hand-off, tens of µs, more than the work itself. On
one shared thread a hop is a deque append. The actors are the very same
classes: `SharedThread.start(cls, ...)` starts a subclass of `cls` whose
inbox feeds this thread instead of a thread of its own (pykka's documented
extension points: `_create_actor_inbox` and `_start_actor_loop`). Each
envelope is handled exactly as pykka's own loop handles it.

Only for runs with no network on the actors' threads (lockstep replays and
synthetic runs): there one actor that blocked would stall them all, and an
actor must never `ask` another (no actor here does; the rule is the same
with threads). Threads outside (the caller, timers, io loops) talk to these
actors as to any other, with `tell` and `ask`.
"""

from __future__ import annotations

import collections
import queue
import sys
import threading
from typing import Any, TypeVar

import pykka
from loguru import logger
from pykka._envelope import Envelope

A = TypeVar("A", bound=pykka.Actor)

_SETUP = object()  # runs the actor's on_start on the shared thread, before its first message


class _Inbox:
    """One actor's mailbox: its envelopes in a deque, its turn in the shared queue."""

    __slots__ = ("_items", "_owner", "_runtime")

    def __init__(self, runtime: SharedThread) -> None:
        self._items: collections.deque[Any] = collections.deque()
        self._runtime = runtime
        self._owner: pykka.Actor | None = None

    def put(self, envelope: Any, block: bool = True, timeout: float | None = None) -> None:
        self._items.append(envelope)
        self._runtime.queue.put(self._owner)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        return self._items.popleft()  # only ever called on the shared thread, for an item it was told of

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class SharedThread:
    """Start actors with `start`; the thread ends when the last of them has stopped."""

    def __init__(self, name: str = "SharedActors") -> None:
        self.name = name
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._classes: dict[type, type] = {}
        self._live = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ended = False
        self._actors: list[Any] = []

    def start(self, cls: type[A], *args: Any, **kwargs: Any) -> pykka.ActorRef[A]:
        """`cls.start(*args, **kwargs)`, but the actor runs on this shared thread."""
        if self._ended:
            raise RuntimeError(f"{self.name}: its actors have all stopped; start a new SharedThread")
        return self._subclass(cls).start(*args, **kwargs)

    def _subclass(self, cls: type[A]) -> type[A]:
        sub = self._classes.get(cls)
        if sub is None:
            runtime = self

            def _create_actor_inbox(self: Any) -> _Inbox:
                inbox = _Inbox(runtime)
                inbox._owner = self
                return inbox

            def _start_actor_loop(self: Any) -> None:
                runtime._attach(self)

            sub = type(cls.__name__, (cls,), {
                "_create_actor_inbox": _create_actor_inbox,
                "_start_actor_loop": _start_actor_loop,
                "__module__": cls.__module__,
                "__qualname__": cls.__qualname__,
            })
            self._classes[cls] = sub
        return sub

    def _attach(self, actor: pykka.Actor) -> None:
        with self._lock:
            if self._ended:
                raise RuntimeError(f"{self.name}: its actors have all stopped; start a new SharedThread")
            self._live += 1
            self._actors.append(actor)
            self.queue.put((actor, _SETUP))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # -- the loop ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException:  # a defect here must not leave every actor silently waiting for a dead thread
            logger.opt(exception=True).error("{}: the shared actor thread failed; stopping its actors", self.name)
            self._ended = True
            for actor in self._actors:
                if not actor.actor_stopped.is_set():
                    actor._stop()
                while not actor.actor_inbox.empty():
                    _refuse(actor, actor.actor_inbox.get())  # an ask waiting on it fails now, not at its timeout
            raise

    def _loop(self) -> None:
        get = self.queue.get
        while not self._ended:
            item = get()
            if type(item) is tuple:
                actor = item[0]
                actor._actor_loop_setup()
                if actor.actor_stopped.is_set():
                    self._detach(actor)
                continue
            self._handle(item)

    def _handle(self, actor: Any) -> None:
        if actor.actor_inbox.empty():
            return  # drained when it stopped
        envelope = actor.actor_inbox.get()
        if actor.actor_stopped.is_set():
            _refuse(actor, envelope)
            return
        try:  # as pykka's `_actor_loop_running` handles one envelope
            response = actor._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except Exception:  # noqa: BLE001 - as pykka: an ask gets the exception, a tell's failure stops the actor
            if envelope.reply_to is not None:
                logger.opt(exception=True).info("exception returned from {} to its caller", actor)
                envelope.reply_to.set_exception()
            else:
                actor._handle_failure(*sys.exc_info())
                try:
                    actor.on_failure(*sys.exc_info())
                except Exception:  # noqa: BLE001
                    actor._handle_failure(*sys.exc_info())
        except BaseException:  # noqa: BLE001 - as pykka: stop everyone, but never block this thread on itself
            actor._stop()
            pykka.ActorRegistry.stop_all(block=False)
        if actor.actor_stopped.is_set():
            self._detach(actor)

    def _detach(self, actor: Any) -> None:
        inbox = actor.actor_inbox
        while not inbox.empty():
            _refuse(actor, inbox.get())
        with self._lock:
            self._live -= 1
            self._ended = self._live == 0


def _refuse(actor: Any, envelope: Envelope[Any]) -> None:
    """A message for a stopped actor: as pykka's teardown, a stop is answered, an ask fails, a tell is dropped."""
    if envelope.reply_to is None:
        return
    if isinstance(envelope.message, pykka.messages._ActorStop):
        envelope.reply_to.set(None)
    else:
        err = pykka.ActorDeadError(f"{actor.actor_ref} stopped before handling the message")
        envelope.reply_to.set_exception(exc_info=(pykka.ActorDeadError, err, None))


__all__ = ["SharedThread"]
