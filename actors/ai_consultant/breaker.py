"""A circuit breaker for model calls: an unreachable provider must cost almost nothing.

After `failures` calls in a row could not reach the provider (no connection,
no answer in time), the breaker opens: no call goes out, and every request is
answered by the rule-based advisor at once, for a cooldown that grows with
each failed probe (`Backoff`, no jitter, up to its cap). When the cooldown is
over, one call is let through (half-open); if it reaches the provider the
breaker closes and the cooldown starts small again, if not it opens again.

Pure and single-threaded: the actor passes the time in (milliseconds on its
own clock) and logs the transitions this returns, so each is logged once.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors._lib.backoff import Backoff

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass(frozen=True, slots=True)
class Recovered:
    """The breaker closed: it was open for `open_ms` and held back `answered` requests meanwhile."""

    open_ms: int
    answered: int


class Breaker:
    """Counts consecutive unreachable calls; `failures = 0` turns it off (always closed)."""

    def __init__(self, failures: int, cooldown: Backoff) -> None:
        self.failures = failures
        self.state = CLOSED
        self.in_row = 0
        self.trips = 0
        self.answered = 0  # requests held back over the whole run
        self.opened_at_ms: int | None = None
        self.retry_at_ms: int | None = None
        self.reason: str | None = None
        self._cooldown = cooldown
        self._answered_since_open = 0

    def allow(self, now_ms: int) -> bool:
        """May a call go out now? Call it last, just before calling: in half-open it lets one through."""
        if self.state == CLOSED:
            return True
        if self.state == OPEN and self.retry_at_ms is not None and now_ms >= self.retry_at_ms:
            self.state = HALF_OPEN
            return True
        self.answered += 1
        self._answered_since_open += 1
        return False

    def failed(self, now_ms: int, reason: str) -> bool:
        """A call did not reach the provider. True when this opened a closed breaker (log it)."""
        self.in_row += 1
        self.reason = reason
        if self.state == HALF_OPEN:  # the probe failed: wait longer
            self._open(now_ms)
            return False
        if self.state == CLOSED and self.failures and self.in_row >= self.failures:
            self.trips += 1
            self.opened_at_ms = now_ms
            self._answered_since_open = 0
            self._open(now_ms)
            return True
        return False

    def succeeded(self, now_ms: int) -> Recovered | None:
        """A call reached the provider (whatever it answered). Not None when this closed the breaker."""
        self.in_row = 0
        self._cooldown.reset()
        if self.state == CLOSED:
            return None
        opened = self.opened_at_ms if self.opened_at_ms is not None else now_ms
        recovered = Recovered(max(now_ms - opened, 0), self._answered_since_open)
        self.state, self.opened_at_ms, self.retry_at_ms, self.reason = CLOSED, None, None, None
        return recovered

    def values(self) -> tuple[tuple[str, int | str | None], ...]:
        """For GetStats: the state, what it held back, since when and until when (ms)."""
        shut = self.state == CLOSED
        return (
            ("breaker", self.state),
            ("breaker_open", int(not shut)),
            ("breaker_trips", self.trips),
            ("breaker_answered", self.answered),
            ("breaker_since_ms", self.opened_at_ms),
            ("breaker_retry_at_ms", self.retry_at_ms),
            ("breaker_reason", None if shut else self.reason),
        )

    def _open(self, now_ms: int) -> None:
        self.state = OPEN
        self.retry_at_ms = now_ms + int(self._cooldown.next() * 1000)
