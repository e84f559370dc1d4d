"""Probe actors that stand in for a peer: they record what they are told and can reply."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pykka


class _Record:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.cond = threading.Condition()


class Probe(pykka.ThreadingActor):
    """Records every message; `respond(msg)` runs on the probe's thread and may tell others."""

    def __init__(self, record: _Record, respond: Callable[[Any], Any] | None = None) -> None:
        super().__init__()
        self._record = record
        self._respond = respond

    def on_receive(self, message: Any) -> Any:
        with self._record.cond:
            self._record.messages.append(message)
            self._record.cond.notify_all()
        if self._respond is not None:
            return self._respond(message)
        return None


class ProbeHandle:
    """Thread-safe view of a running probe, for the test thread."""

    def __init__(self, respond: Callable[[Any], Any] | None = None) -> None:
        self._rec = _Record()
        self.ref = Probe.start(self._rec, respond)

    def all(self, kind: type | None = None) -> list[Any]:
        with self._rec.cond:
            msgs = list(self._rec.messages)
        return [m for m in msgs if kind is None or isinstance(m, kind)]

    def wait_for(
        self, kind: type, predicate: Callable[[Any], bool] = lambda _m: True, timeout: float = 5.0, count: int = 1
    ) -> list[Any]:
        """Wait until `count` messages of `kind` matching `predicate` have arrived."""
        deadline = time.monotonic() + timeout
        with self._rec.cond:
            while True:
                found = [m for m in self._rec.messages if isinstance(m, kind) and predicate(m)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [type(m).__name__ for m in self._rec.messages]
                    raise AssertionError(f"timed out waiting for {count} x {kind.__name__}; got {got}")
                self._rec.cond.wait(left)

    def clear(self) -> None:
        with self._rec.cond:
            self._rec.messages.clear()


def eventually(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll `check` until it returns truthy (its value is returned) or stops raising AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError("condition never became true")
        time.sleep(interval)
