"""Time as the actors see it: a `Clock` is injected, so tests and replays own time.

Live actors default to `wall_clock_ms`; a backtest runs on market time, which
travels in the messages themselves (`ts_ms`), so no actor reads the wall
clock to decide anything a replay must repeat.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "wall_clock_ms"]

Clock = Callable[[], int]
"""Milliseconds since the epoch (the same alias as `actors.messages.Clock`)."""


def wall_clock_ms() -> int:
    """Now, in integer milliseconds since the epoch (exact: from `time_ns`, no float rounding)."""
    return time.time_ns() // 1_000_000
