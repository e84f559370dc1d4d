"""The unknown-outcome policy and the error taxonomy, as tables: pure functions, no stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from actors.binance import constants as c
from actors.binance.errors import Fatal, OutcomeUnknown, Refused, RetryAfter, refusal, why
from actors.binance.lookup import Archived, GiveUp, LookupPolicy, NeverLanded, Resolved, Retry, verdict

POLICY = LookupPolicy(backoff_s=0.25, backoff_max_s=5.0, min_not_found=3)
BASE: dict[str, Any] = {"code": None, "http_status": None, "not_found": 0, "acked": False, "unknown": True,
                        "inflight": False, "settled": False, "landing_window_passed": False, "attempt": 0,
                        "policy": POLICY}
NOT_FOUND = {"code": c.NO_SUCH_ORDER, "http_status": 400}


@pytest.mark.parametrize(
    ("case", "want"),
    [
        # no definitive answer (5xx, timeout, dropped connection): ask again
        ({}, Retry(0.25)),
        ({"attempt": 1}, Retry(0.5)),
        ({"attempt": 3}, Retry(2.0)),
        ({"attempt": 30}, Retry(5.0)),  # capped
        # the stream settled the order meanwhile: whatever the lookup says, stop
        ({"settled": True, **NOT_FOUND}, Resolved()),
        ({"settled": True}, Resolved()),
        # -2013 for an order the exchange acknowledged: a lagging read, reported once it is clearly lagging
        ({**NOT_FOUND, "not_found": 1, "acked": True, "unknown": False}, Retry(0.25)),
        ({**NOT_FOUND, "not_found": 3, "acked": True, "unknown": False}, Resolved()),
        # -2013 for an order of unknown outcome: never landed only with enough answers AND the window passed
        ({**NOT_FOUND, "not_found": 3, "landing_window_passed": True}, NeverLanded()),
        ({**NOT_FOUND, "not_found": 2, "landing_window_passed": True}, Retry(0.25)),
        ({**NOT_FOUND, "not_found": 5, "landing_window_passed": False}, Retry(0.25)),
        ({**NOT_FOUND, "not_found": 5, "landing_window_passed": True, "inflight": True}, Retry(0.25)),
        # acked once, then its outcome became unknown again (a duplicate answer): the -2013 rule applies
        ({**NOT_FOUND, "not_found": 3, "acked": True, "unknown": True, "landing_window_passed": True}, NeverLanded()),
        ({"code": c.ORDER_ARCHIVED, "http_status": 400}, Archived()),
        # definitive refusals of the lookup itself
        ({"code": -1102, "http_status": 400}, GiveUp()),
        ({"code": c.REJECTED_MBX_KEY, "http_status": 401}, GiveUp()),
        # ...but not those a later try may not meet again
        ({"code": c.TOO_MANY_REQUESTS, "http_status": 429}, Retry(0.25)),
        ({"code": None, "http_status": 418}, Retry(0.25)),
        ({"code": c.TOO_MANY_ORDERS, "http_status": 400}, Retry(0.25)),
        ({"code": c.INVALID_TIMESTAMP, "http_status": 400}, Retry(0.25)),
        ({"code": c.INVALID_SIGNATURE, "http_status": 400}, Retry(0.25)),
        ({"code": None, "http_status": 0}, Retry(0.25)),  # refused before it was sent (no key)
    ],
)
def test_lookup_verdict(case: dict[str, Any], want: object) -> None:
    assert verdict(**{**BASE, **case}) == want


@pytest.mark.parametrize(
    ("http_status", "code", "kind"),
    [
        (400, c.NEW_ORDER_REJECTED, Refused),
        (400, c.INVALID_MESSAGE, Refused),
        (400, c.NO_SUCH_ORDER, Refused),
        (429, c.TOO_MANY_REQUESTS, RetryAfter),
        (418, None, RetryAfter),
        (400, c.TOO_MANY_ORDERS, RetryAfter),
        (400, c.INVALID_SIGNATURE, Fatal),
        (401, c.REJECTED_MBX_KEY, Fatal),
        (400, c.BAD_API_KEY_FMT, Fatal),
    ],
)
def test_every_refusal_is_classified_once(http_status: int, code: int | None, kind: type) -> None:
    err = refusal(http_status, code, "text")
    assert type(err) is kind and isinstance(err, Refused)  # every kind still means "did not take effect"
    assert err.reason == (f"{code} text" if code is not None else f"HTTP {http_status} text")


def test_named_refusals_and_secret_free_reasons() -> None:
    closed = refusal(400, c.NEW_ORDER_REJECTED, "Market is closed.")
    dup = refusal(400, c.NEW_ORDER_REJECTED, "Duplicate order sent.")
    broke = refusal(400, c.NEW_ORDER_REJECTED, "Account has insufficient balance for requested action.")
    assert (closed.market_closed, closed.duplicate) == (True, False)
    assert (dup.market_closed, dup.duplicate) == (False, True)
    assert not broke.market_closed and not broke.duplicate
    assert isinstance(refusal(429, None, "slow down", 7.0), RetryAfter)
    assert refusal(429, None, "slow down", 7.0).retry_after_s == 7.0  # type: ignore[attr-defined]
    unknown = OutcomeUnknown("timeout after 10s on POST /api/v3/order?signature=abcdef")
    assert "abcdef" not in why(unknown) and "abcdef" not in str(unknown)
    assert why(None) == "no answer"
