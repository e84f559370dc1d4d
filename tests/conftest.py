from __future__ import annotations

import threading
from collections.abc import Iterator

import pykka
import pytest
from loguru import logger


@pytest.fixture(autouse=True)
def _stop_all() -> Iterator[None]:
    """No actor outlives its test, and no I/O loop thread is left behind."""
    yield
    pykka.ActorRegistry.stop_all(timeout=10)
    leftovers = [t.name for t in threading.enumerate() if t.name.endswith("-io") and t.is_alive()]
    assert not leftovers, f"I/O loop threads left running: {leftovers}"


class LogRecorder:
    def __init__(self) -> None:
        self.records: list[dict] = []
        self.lines: list[str] = []

    def __call__(self, message) -> None:  # loguru sink
        self.records.append(message.record)
        self.lines.append(str(message))

    def text(self) -> str:
        return "".join(self.lines)

    def messages(self, level: str | None = None) -> list[str]:
        return [r["message"] for r in self.records if level is None or r["level"].name == level]


@pytest.fixture
def logs() -> Iterator[LogRecorder]:
    rec = LogRecorder()
    sink_id = logger.add(rec, level="DEBUG", format="{level} {message} {extra}")
    yield rec
    logger.remove(sink_id)
