"""The stand-in for data.binance.vision, started per test; retries without the real backoff's pauses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from actors.download import fetch
from tests._support.fakes.binance_vision import FakeBinanceVision


@pytest.fixture
def vision() -> Iterator[FakeBinanceVision]:
    fake = FakeBinanceVision()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "RETRY_INITIAL_S", 0.01)
