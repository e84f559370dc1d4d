"""Every Binance failure classified once, where it is read (in `rest` and `user_stream`).

- `Refused`: the exchange answered no (a 4xx with a code). The request did NOT
  take effect: an order was not placed, or not cancelled.
  - `RetryAfter`: refused for a rate limit (HTTP 429/418, -1003, -1015) even
    after the pauses `rest` already honours; the same request may work later.
  - `Fatal`: refused for the credentials themselves (-1022 bad signature,
    -2014/-2015 bad key or permissions): every signed request will fail alike.
- `OutcomeUnknown`: a timeout, a 5xx, -1000/-1001/-1006/-1007/-1008, or a
  dropped connection. The request may or may not have taken effect; for an
  order only a lookup by client order id can tell (see `lookup`).

`RetryAfter` and `Fatal` are `Refused`, so code that only asks "did it take
effect?" needs one `isinstance`. Texts from the wire pass through `redact`.
"""

from __future__ import annotations

from actors._lib.secrets import redact
from actors.binance import constants as c


class BinanceError(Exception):
    """Base of every Binance failure; `reason` is a short, secret-free text for logs and rejections."""

    @property
    def reason(self) -> str:
        return str(self)


class Refused(BinanceError):
    """A definitive refusal from the exchange (the request did not take effect)."""

    def __init__(self, http_status: int, code: int | None, msg: str) -> None:
        self.http_status = http_status
        self.code = code
        self.msg = redact(msg)
        super().__init__(f"HTTP {http_status} code {code}: {self.msg}")

    @property
    def reason(self) -> str:
        return f"{self.code} {self.msg}" if self.code is not None else f"HTTP {self.http_status} {self.msg}"

    @property
    def market_closed(self) -> bool:
        return self.code == c.NEW_ORDER_REJECTED and c.MSG_MARKET_CLOSED in self.msg.lower()

    @property
    def duplicate(self) -> bool:
        return self.code == c.NEW_ORDER_REJECTED and c.MSG_DUPLICATE in self.msg.lower()


class RetryAfter(Refused):
    """Refused for a rate limit; `retry_after_s` is the exchange's wait (or the default)."""

    def __init__(self, http_status: int, code: int | None, msg: str, retry_after_s: float = 0.0) -> None:
        super().__init__(http_status, code, msg)
        self.retry_after_s = retry_after_s


class Fatal(Refused):
    """Refused for the credentials: nothing signed with them will work until they are fixed."""


class OutcomeUnknown(BinanceError):
    """The request may or may not have taken effect (timeout, 5xx, dropped connection)."""

    def __init__(self, reason: str) -> None:
        self._reason = redact(reason)
        super().__init__(self._reason)

    @property
    def reason(self) -> str:
        return self._reason


def refusal(http_status: int, code: int | None, msg: str, retry_after_s: float = 0.0) -> Refused:
    """The one classification of a definitive (non-5xx) error answer."""
    if http_status in c.RATE_LIMIT_STATUSES or code in c.RATE_LIMIT_CODES:
        return RetryAfter(http_status, code, msg, retry_after_s)
    if code in c.FATAL_CODES or http_status == 401:
        return Fatal(http_status, code, msg)
    return Refused(http_status, code, msg)


def why(error: BaseException | None) -> str:
    """A failure as one secret-free phrase for a log line."""
    if error is None:
        return "no answer"
    if isinstance(error, BinanceError):
        return error.reason
    return redact(f"{type(error).__name__}: {error}")


# The names the executor used before the taxonomy (kept for old imports).
BinanceAPIError = Refused
OutcomeUnknownError = OutcomeUnknown

__all__ = ["BinanceAPIError", "BinanceError", "Fatal", "OutcomeUnknown", "OutcomeUnknownError", "Refused",
           "RetryAfter", "refusal", "why"]
