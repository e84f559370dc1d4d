"""One channel's queue: the rate limit, one delivery at a time, retries while it is down (pure).

The actor asks `take(now)` for the next note whenever something changed (a
note queued, a delivery done, a tick) and reports each delivery with
`done(now, error)`. A channel that fails goes DOWN: it keeps its notes
(the failed one first), waits a backoff that doubles, and tries the oldest
again; `done` returns a `Change` only when the channel goes down or comes
back, so a dead endpoint costs one log line, not one per note.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

from actors.notify.notes import MAX_TEXT, Note

WINDOW_MS = 60_000


@dataclass(frozen=True, slots=True)
class Change:
    """The channel went down (`up=False`, with the error) or delivers again (`up=True`)."""

    up: bool
    error: str = ""
    failures: int = 0  # deliveries failed in a row before it came back


class Outbox:
    def __init__(self, per_minute: int, *, queue_max: int = 50, max_attempts: int = 5,
                 retry_initial_ms: int = 5_000, retry_max_ms: int = 300_000) -> None:
        if per_minute <= 0 or queue_max <= 0 or max_attempts <= 0:
            raise ValueError("per_minute, queue_max and max_attempts must be > 0")
        self.per_minute = per_minute
        self.queue_max = queue_max
        self.max_attempts = max_attempts
        self.retry_initial_ms, self.retry_max_ms = retry_initial_ms, retry_max_ms
        self._queue: deque[Note] = deque()
        self._sent_at: deque[int] = deque()  # attempt times within the last minute
        self._in_flight: Note | None = None
        self._attempts = 0  # of the note at the head
        self._failures = 0  # in a row
        self._retry_at = 0
        self.attempts = 0
        self.delivered = 0
        self.dropped = 0  # queue full, or given up after max_attempts
        self._untold = 0  # dropped since the last note sent said so

    @property
    def down(self) -> bool:
        return self._failures > 0

    @property
    def in_flight(self) -> bool:
        return self._in_flight is not None

    @property
    def queued(self) -> int:
        return len(self._queue) + (self._in_flight is not None)

    def put(self, note: Note) -> bool:
        """Queue a note; False (and counted) if the queue is full."""
        if len(self._queue) >= self.queue_max:
            self._drop()
            return False
        self._queue.append(note)
        return True

    def take(self, now_ms: int) -> Note | None:
        """The note to deliver now, if any: none in flight, no backoff running, the rate allows."""
        if self._in_flight is not None or now_ms < self._retry_at or not self._allowed(now_ms):
            return None
        note = self._next(now_ms)
        self._in_flight = note
        return note

    def drain(self, now_ms: int) -> list[Note]:
        """At stop: every queued note the rate limit still allows, at once; none from a channel that is down."""
        out: list[Note] = []
        while not self.down and self._allowed(now_ms):
            out.append(self._next(now_ms))
        return out

    def _allowed(self, now_ms: int) -> bool:
        while self._sent_at and now_ms - self._sent_at[0] >= WINDOW_MS:
            self._sent_at.popleft()
        return bool(self._queue) and len(self._sent_at) < self.per_minute

    def _next(self, now_ms: int) -> Note:
        note = self._queue.popleft()
        self._sent_at.append(now_ms)
        self.attempts += 1
        if self._untold:
            tail = f" ({self._untold} earlier notifications dropped: rate limit or channel down)"
            note = replace(note, text=note.text[: MAX_TEXT - len(tail)] + tail)
            self._untold = 0
        return note

    def done(self, now_ms: int, error: str | None, retry_after_ms: int = 0) -> Change | None:
        """The delivery of the note in flight ended; `error` None means it arrived.

        `retry_after_ms`: the endpoint asked to wait this long (Telegram's 429 `retry_after`).
        """
        note, self._in_flight = self._in_flight, None
        if note is None:
            return None
        if error is None:
            self.delivered += 1
            self._attempts = 0
            failures, self._failures, self._retry_at = self._failures, 0, 0
            return Change(up=True, failures=failures) if failures else None
        self._attempts += 1
        self._failures += 1
        backoff = min(self.retry_max_ms, self.retry_initial_ms * 2 ** min(self._failures - 1, 20))
        self._retry_at = now_ms + max(backoff, retry_after_ms)
        if self._attempts >= self.max_attempts:
            self._attempts = 0
            self._drop()
        else:
            self._queue.appendleft(note)
        return Change(up=False, error=error) if self._failures == 1 else None

    def _drop(self) -> None:
        self.dropped += 1
        self._untold += 1
