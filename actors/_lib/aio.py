"""One asyncio loop on its own thread, owned by exactly one I/O actor.

The actor thread owns the state; the loop only does I/O and turns results
into messages with `tell`. Nothing on the loop ever waits on a pykka future,
and nothing on the actor thread ever waits on the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from loguru import logger

__all__ = ["LoopThread"]


class LoopThread:
    def __init__(self, name: str) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(self._on_loop_error)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            tasks = asyncio.all_tasks(self.loop)
            for task in tasks:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        logger.error("{}: unhandled error in the event loop: {}", self.name, context.get("message"))

    def start(self) -> None:
        self._thread.start()

    def submit(
        self,
        coro: Coroutine[Any, Any, Any],
        on_done: Callable[[concurrent.futures.Future[Any]], None] | None = None,
    ) -> concurrent.futures.Future[Any]:
        """Run `coro` on the loop; `on_done` runs on the loop thread and may only `tell`."""
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        if on_done is not None:
            fut.add_done_callback(on_done)
        return fut

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float = 5.0) -> None:
        if not self._thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
