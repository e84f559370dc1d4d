"""Coroutines on the I/O loop whose outcomes come back to the actor thread as messages.

The venue's state belongs to the actor thread; a coroutine never touches it.
`Tasks.spawn` runs a request on the loop and, when it ends, tells the actor
`Done(handler, result, error, ctx)`; the actor calls `handler` on its own
thread, so every decision about an order is made on one thread, in the order
the facts arrived. `critical` marks requests that change orders (place,
cancel): on stop they are given a grace period to reach the exchange.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import pykka

from actors._lib.aio import LoopThread

Handler = Callable[[Any, BaseException | None, Any], None]


@dataclass(frozen=True, slots=True)
class Done:
    """A coroutine finished: the actor runs `handler(result, error, ctx)` on its own thread."""

    handler: Handler
    result: Any
    error: BaseException | None
    ctx: Any = None


async def noop() -> None:
    """A request that does nothing: `spawn(noop, handler, delay=s)` is a timer."""


class Tasks:
    """One loop thread and the bookkeeping of what runs on it (used from the actor thread only)."""

    def __init__(self, actor_ref: pykka.ActorRef[Any], name: str) -> None:
        self._ref = actor_ref
        self._name = name
        self.io: LoopThread | None = None
        self.critical: set[concurrent.futures.Future[Any]] = set()
        self.stopping = False

    def start(self) -> None:
        self.io = LoopThread(self._name)
        self.io.start()

    def tell(self, msg: Any) -> None:
        """Tell the owning actor (from any thread); a stopped actor is not an error."""
        try:
            self._ref.tell(msg)
        except pykka.ActorDeadError:
            pass

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any] | None:
        """Run `coro` on the loop with no answer wanted (the user stream's run loop)."""
        if self.io is None:
            coro.close()
            return None
        return self.io.submit(coro)

    def spawn(
        self,
        factory: Callable[[], Coroutine[Any, Any, Any]],
        handler: Handler,
        ctx: Any = None,
        delay: float = 0.0,
        *,
        critical: bool = False,
    ) -> None:
        """Run `factory()` on the loop (after `delay` s); its outcome comes back as `Done`."""
        io = self.io
        if io is None or self.stopping:
            return

        async def job() -> None:
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                result, error = await factory(), None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - handed to the actor thread as data
                result, error = None, exc
            self.tell(Done(handler, result, error, ctx))

        fut = io.submit(job())
        if critical:
            self.critical.add(fut)
            fut.add_done_callback(self.critical.discard)

    def pending_critical(self) -> list[concurrent.futures.Future[Any]]:
        return [f for f in list(self.critical) if not f.done()]

    def take_io(self) -> LoopThread | None:
        """Mark stopping and hand over the loop (None if it never ran or has died)."""
        self.stopping = True
        io, self.io = self.io, None
        return io if io is not None and io.alive else None


async def cancel_all_but_me() -> None:
    """Cancel every other task on the running loop and wait for them to finish."""
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
