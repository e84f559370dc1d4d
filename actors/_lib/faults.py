"""Crash points for the kill -9 tests, off unless `TRADER_CRASH_AT` names one.

`crash_point("after_intent")` kills this process with SIGKILL (no clean-up,
as a power cut would) the `TRADER_CRASH_AFTER`-th time it is reached. The
names are the moments where losing the process is most dangerous.
"""

from __future__ import annotations

import os
import signal

__all__ = ["POINTS", "crash_point"]

POINTS = ("after_intent", "after_accept", "before_fill_journal")
_AT = os.environ.get("TRADER_CRASH_AT", "")
_AFTER = int(os.environ.get("TRADER_CRASH_AFTER", "1") or 1)
_seen = 0


def crash_point(name: str) -> None:
    global _seen  # noqa: PLW0603 - one counter per process is the point
    if name != _AT:
        return
    _seen += 1
    if _seen >= _AFTER:
        os.kill(os.getpid(), signal.SIGKILL)
