"""The live feed's health read back from the market's `Stats`, in words for the edges.

One reading for every edge that shows the feed (the status page's feed card,
the console's progress line), so they say the same thing: what is down, why,
since when, how many attempts failed and when the next one is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class FeedHealth:
    stale: bool
    cause: str  # "" while live
    since_ms: int  # when it went stale (0 while live)
    failed_attempts: int  # connection attempts failed in a row
    next_attempt_ms: int  # 0 = connected, or no attempt planned
    reconnects: int
    warming: bool = False  # reading the venue's history: no snapshot, so no decision, until done (warmup.py)
    warm_minutes: int = 0
    warm_of: int = 0
    warm_kind: str = ""  # "warm start" (at the start) or "backfill" (after an outage)

    @classmethod
    def from_stats(cls, values: Mapping[str, Any]) -> FeedHealth | None:
        """None unless the stats are a live market's (a backtest's feed is never down)."""
        if values.get("mode") != "live":
            return None
        return cls(stale=bool(values.get("stale")), cause=str(values.get("stale_cause") or ""),
                   since_ms=int(values.get("stale_since_ms") or 0), failed_attempts=int(values.get("failed_attempts") or 0),
                   next_attempt_ms=int(values.get("next_attempt_ms") or 0), reconnects=int(values.get("reconnects") or 0),
                   warming=bool(values.get("warming")), warm_minutes=int(values.get("warm_minutes") or 0),
                   warm_of=int(values.get("warm_of") or 0), warm_kind=str(values.get("warm_kind") or ""))

    @property
    def warming_text(self) -> str:
        """"warming up: 12 of 242 minutes" while the history is read ("" once done)."""
        if not self.warming:
            return ""
        after = " (the minutes missed while the feed was down)" if self.warm_kind == "backfill" else ""
        return f"warming up: {self.warm_minutes} of {self.warm_of} minutes{after}"

    def down_for_s(self, now_ms: int) -> int | None:
        return max(0, now_ms - self.since_ms) // 1000 if self.stale and self.since_ms else None

    def next_in_s(self, now_ms: int) -> float | None:
        return round(max(0, self.next_attempt_ms - now_ms) / 1000, 1) if self.next_attempt_ms else None

    def fields(self, now_ms: int) -> list[tuple[str, str, Any]]:
        """(label, slug, value) rows for a page: the reconnects, and while stale why and until when."""
        rows: list[tuple[str, str, Any]] = [("reconnects", "reconnects", self.reconnects)]
        if self.stale:
            down, nxt = self.down_for_s(now_ms), self.next_in_s(now_ms)
            since = datetime.fromtimestamp(self.since_ms / 1000, tz=UTC).isoformat(timespec="seconds")
            rows += [("cause", "cause", self.cause or None),
                     ("down since", "since", f"{since} ({down} s)" if down is not None else None),
                     ("failed attempts", "attempts", self.failed_attempts),
                     ("next attempt", "next-attempt", f"in {nxt:.1f} s" if nxt is not None else None)]
        return rows

    def summary(self, now_ms: int) -> str:
        """One line, e.g. "feed down 12 s: connect failed: name not resolved: x; 3 attempts failed, next in 4.2 s"."""
        if self.warming and (not self.stale or self.warm_kind == "backfill"):  # a backfill: the stream is back
            return self.warming_text
        if not self.stale:
            return "feed live"
        down = self.down_for_s(now_ms)
        line = "feed down" + (f" {down} s" if down is not None else "") + (f": {self.cause}" if self.cause else "")
        if self.failed_attempts:
            line += f"; {self.failed_attempts} attempt{'s' if self.failed_attempts != 1 else ''} failed"
        nxt = self.next_in_s(now_ms)
        if nxt is not None:
            line += f", next in {nxt:.1f} s"
        return line + (f"; {self.warming_text}" if self.warming else "")
