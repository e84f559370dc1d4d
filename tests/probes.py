"""Probe actors that stand in for a peer: they record what they are told and can reply."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pykka


class Probe(pykka.ThreadingActor):
    """Records every message; `respond(msg)` may return messages to tell back to `reply_to`."""

    def __init__(self, respond: Callable[[Any], Any] | None = None) -> None:
        super().__init__()
        self.messages: list[Any] = []
        self._cond = threading.Condition()
        self._respond = respond

    def on_receive(self, message: Any) -> Any:
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()
        if self._respond is not None:
            return self._respond(message)
        return None


class ProbeHandle:
    """Thread-safe view of a running probe, for the test thread."""

    def __init__(self, respond: Callable[[Any], Any] | None = None) -> None:
        self.ref = Probe.start(respond)
        self._actor: Probe = self.ref._actor  # noqa: SLF001 - a test needs to read what it recorded

    def all(self, kind: type | None = None) -> list[Any]:
        with self._actor._cond:  # noqa: SLF001
            msgs = list(self._actor.messages)
        return [m for m in msgs if kind is None or isinstance(m, kind)]

    def wait_for(
        self, kind: type, predicate: Callable[[Any], bool] = lambda _m: True, timeout: float = 5.0, count: int = 1
    ) -> list[Any]:
        """Wait until `count` messages of `kind` matching `predicate` have arrived."""
        deadline = time.monotonic() + timeout
        with self._actor._cond:  # noqa: SLF001
            while True:
                found = [m for m in self._actor.messages if isinstance(m, kind) and predicate(m)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [type(m).__name__ for m in self._actor.messages]
                    raise AssertionError(f"timed out waiting for {count} x {kind.__name__}; got {got}")
                self._actor._cond.wait(left)  # noqa: SLF001

    def clear(self) -> None:
        with self._actor._cond:  # noqa: SLF001
            self._actor.messages.clear()


def eventually(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll `check` until it returns truthy or stops raising AssertionError (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result or result is None:
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError("condition never became true")
        time.sleep(interval)
