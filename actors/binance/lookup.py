"""The unknown-outcome policy: what one failed order lookup means. Pure: no I/O, no clock, no state.

An order whose POST timed out (or met a 5xx, or a dropped connection) is
never sent again; it is looked up by client order id until the exchange
knows it. A lookup that comes back with an error gets one `verdict`:

- `Resolved`: stop looking and report what is known. The order's state was
  settled meanwhile (by the stream), or it was acknowledged once and -2013
  is only a lagging read (after `min_not_found` of them).
- `NeverLanded`: -2013 at least `min_not_found` times, the POST answered (not
  in flight), and its `timestamp` more than recvWindow (+ a grace) in the
  past on the server's clock: from then on the exchange itself would refuse
  it, so it can no longer land. Reported as REJECTED.
- `Archived`: -2026: the order is so old the exchange only says it ended.
- `GiveUp`: a definitive refusal that asking again will not change (bad
  parameters, permissions). The outcome stays unknown, and is told so.
- `Retry(delay)`: anything else (a 5xx, a timeout, a rate limit, -1021,
  -1022, or -2013 too early), after an exponential backoff.

A successful lookup needs no verdict: its answer is the order's state.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors._lib.backoff import Backoff
from actors.binance import constants as c


@dataclass(frozen=True, slots=True)
class Retry:
    delay: float


@dataclass(frozen=True, slots=True)
class Resolved:
    """Stop looking; the order's current state is the answer."""


@dataclass(frozen=True, slots=True)
class NeverLanded:
    """The order never reached the exchange and no longer can."""


@dataclass(frozen=True, slots=True)
class Archived:
    """-2026: the exchange archived the order (it ended long ago)."""


@dataclass(frozen=True, slots=True)
class GiveUp:
    """A definitive refusal of the lookup itself; retrying will not change it."""


Verdict = Retry | Resolved | NeverLanded | Archived | GiveUp

# Refusals a later lookup may not meet again: rate limits, the clock, and a
# signature (kept retryable as it always was: a key rotation can fix it).
_RETRYABLE_CODES = frozenset({c.TOO_MANY_REQUESTS, c.TOO_MANY_ORDERS, c.INVALID_TIMESTAMP, c.INVALID_SIGNATURE})
_RETRYABLE_STATUSES = frozenset({0, *c.RATE_LIMIT_STATUSES})  # 0: refused before it was sent


@dataclass(frozen=True, slots=True, kw_only=True)
class LookupPolicy:
    backoff_s: float = 0.25  # first wait before looking again; doubles per try
    backoff_max_s: float = 5.0
    min_not_found: int = 3  # -2013 answers needed (at least) before "never landed"

    def delay(self, attempt: int) -> float:
        return Backoff(self.backoff_s, self.backoff_max_s, jitter=(1.0, 1.0)).step(attempt)


def verdict(
    *,
    code: int | None,
    http_status: int | None,
    not_found: int,
    acked: bool,
    unknown: bool,
    inflight: bool,
    settled: bool,
    landing_window_passed: bool,
    attempt: int,
    policy: LookupPolicy = LookupPolicy(),
) -> Verdict:
    """What a failed lookup means.

    `http_status` is None when there was no definitive answer (outcome unknown,
    a connection error); `code` is Binance's error code, if any. `not_found`
    counts the -2013 answers so far, this one included. `settled`: the order
    reached a terminal state by other means and its outcome is not unknown.
    `attempt` numbers the retries so far (0 for the first).
    """
    if settled:
        return Resolved()
    retry = Retry(policy.delay(attempt))
    if http_status is None:
        return retry
    if code == c.NO_SUCH_ORDER:
        enough = not_found >= policy.min_not_found
        if acked and not unknown:
            return Resolved() if enough else retry  # it exists: a lagging read, not an absence
        if not inflight and enough and landing_window_passed:
            return NeverLanded()
        return retry
    if code == c.ORDER_ARCHIVED:
        return Archived()
    if http_status not in _RETRYABLE_STATUSES and code not in _RETRYABLE_CODES:
        return GiveUp()
    return retry
