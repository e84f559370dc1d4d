"""Binance spot REST, signed as documented, with the error classes a careful bot needs.

Runs only on the executor's event loop (the aiohttp session belongs to it).
Every call ends in one of three ways:

- a JSON answer (2xx);
- `Refused` (or its kinds `RetryAfter`, `Fatal`): a definitive answer from the
  exchange (4xx with a code); for an order that means it was NOT placed (or
  not cancelled);
- `OutcomeUnknown`: a timeout, a 5xx, -1000/-1001/-1006/-1007/-1008, or a
  connection that failed or dropped. The request may or may not have taken
  effect; for an order, only a query by client order id can tell.

The classes and their rules are in `errors`; the wire formats in `parse`.

Handled here, below the caller: -1021 (re-sync the clock with /api/v3/time and
retry once with a fresh timestamp; the first request was refused before the
matching engine, so the retry cannot duplicate an order), and 429/418 (pause
ALL requests until `Retry-After` has passed, then retry the same request; a
rate-limited request was refused, so this is safe too). Waiting requests queue
on the pause; none is dropped and none is sent while it lasts.

Nothing here logs a query string, a body, a header value or a signature;
error texts from the wire are passed through `redact` before logging.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from loguru import logger
from yarl import URL

from actors._lib.secrets import Secret
from actors.binance import constants as c
from actors.binance.errors import OutcomeUnknown, Refused, refusal
from actors.binance.signing import Params, Signer, rest_payload


def wall_ms() -> int:
    return int(time.time() * 1000)


class BinanceRest:
    def __init__(
        self,
        base_url: str,
        api_key: Secret | None = None,
        signer: Signer | None = None,
        *,
        recv_window_ms: int = 5000,
        timeout_s: float = 10.0,
        max_rate_limit_retries: int = 5,
        default_retry_after_s: float = 5.0,
        weight_limit_1m: int = 6000,
        weight_headroom: float = 0.9,
        now_ms: Callable[[], int] = wall_ms,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._signer = signer
        self.recv_window_ms = recv_window_ms
        self.timeout_s = timeout_s
        self.max_rate_limit_retries = max_rate_limit_retries
        self.default_retry_after_s = default_retry_after_s
        self._now_ms = now_ms
        self.weight_limit_1m = weight_limit_1m
        self.weight_headroom = weight_headroom
        self._session: aiohttp.ClientSession | None = None
        self._time_lock: asyncio.Lock | None = None
        self._synced = False
        # Read from the actor thread for stats: plain ints, written only here.
        self.offset_ms = 0
        self.paused_until_ms = 0
        self.used_weight_1m = 0
        self.order_counts: dict[str, int] = {}
        self.requests = 0
        self.time_syncs = 0
        self.rate_limited = 0

    # -- session -------------------------------------------------------------------

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                headers={"User-Agent": "trump-trader/0.1"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    # -- time and pauses -----------------------------------------------------------

    def server_ms(self) -> int:
        return self._now_ms() + self.offset_ms

    async def sync_time(self, *, only_if_unsynced: bool = False) -> None:
        """offset = serverTime - (t_send + t_recv) / 2 (binance.md section 2)."""
        if self._time_lock is None:
            self._time_lock = asyncio.Lock()
        async with self._time_lock:
            if only_if_unsynced and self._synced:
                return
            t0 = self._now_ms()
            data = await self.request("GET", c.TIME_PATH)
            t1 = self._now_ms()
            self.offset_ms = int(data["serverTime"]) - (t0 + t1) // 2
            self._synced = True
            self.time_syncs += 1
            logger.info("binance clock offset {} ms", self.offset_ms)

    async def ensure_time(self) -> None:
        if not self._synced:
            await self.sync_time(only_if_unsynced=True)

    def pause_until(self, until_wall_ms: int, why: str) -> None:
        if until_wall_ms > self.paused_until_ms:
            self.paused_until_ms = until_wall_ms
            logger.warning("binance: {}; pausing all requests for {} ms", why, until_wall_ms - self._now_ms())

    async def wait_unpaused(self) -> None:
        # the end of the pause can move (a later 429), so it is re-read after every sleep
        while (left := self.paused_until_ms - self._now_ms()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(left / 1000)

    # -- requests ---------------------------------------------------------------------

    async def signed(self, method: str, path: str, params: Params | None = None) -> Any:
        return await self.request(method, path, params, signed=True)

    async def request(self, method: str, path: str, params: Params | None = None, *, signed: bool = False) -> Any:
        base_items: list[tuple[str, Any]] = list(params.items()) if isinstance(params, Mapping) else list(params or ())
        retried_1021 = False
        rate_limited = 0
        while True:
            await self.wait_unpaused()
            if signed:
                await self.ensure_time()
            items = list(base_items)
            headers: dict[str, str] = {}
            if signed:
                if self._api_key is None or self._signer is None:
                    raise Refused(0, None, "this request needs an API key and secret")
                items += [("recvWindow", self.recv_window_ms), ("timestamp", self.server_ms())]
                headers["X-MBX-APIKEY"] = self._api_key.reveal()
            payload = rest_payload(items)
            if signed:
                payload += "&signature=" + self._signer.rest_signature(payload)  # type: ignore[union-attr]
            url_text = self.base_url + path
            body: bytes | None = None
            if method == "POST" and signed:
                body = payload.encode("ascii")
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            elif payload:
                url_text += "?" + payload
            status, data, resp_headers = await self._send(method, path, URL(url_text, encoded=True), body, headers)
            self._note_headers(resp_headers)
            if status in (429, 418):
                self.rate_limited += 1
                retry_after = self._retry_after_s(resp_headers)
                self.pause_until(self._now_ms() + int(retry_after * 1000), f"HTTP {status} on {method} {path}")
                rate_limited += 1
                if rate_limited > self.max_rate_limit_retries:
                    raise refusal(status, _code(data), _msg(data) or "rate limited", retry_after)
                continue
            if status >= 500:
                raise OutcomeUnknown(f"HTTP {status} on {method} {path}: {_msg(data)}")
            if 200 <= status < 300:
                return data
            code = _code(data)
            if code == c.INVALID_TIMESTAMP and signed and not retried_1021:
                retried_1021 = True
                logger.warning("binance -1021 on {} {}: re-syncing the clock and retrying once", method, path)
                await self.sync_time()
                continue
            if code in c.UNKNOWN_OUTCOME_CODES:
                raise OutcomeUnknown(f"code {code} on {method} {path}: {_msg(data)}")
            raise refusal(status, code, _msg(data) or f"HTTP {status}")

    async def _send(
        self, method: str, path: str, url: URL, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, Any, Any]:
        self.requests += 1
        try:
            async with self.session.request(method, url, data=body, headers=headers) as resp:
                text = await resp.text()
                status, resp_headers = resp.status, resp.headers
        except asyncio.CancelledError:
            raise
        except TimeoutError:  # asyncio.TimeoutError is TimeoutError since 3.11
            raise OutcomeUnknown(f"timeout after {self.timeout_s}s on {method} {path}") from None
        except aiohttp.ClientError as exc:
            raise OutcomeUnknown(f"{type(exc).__name__} on {method} {path}") from None
        except OSError as exc:
            raise OutcomeUnknown(f"{type(exc).__name__} on {method} {path}") from None
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = {"msg": text[:200]}
        logger.debug("binance {} {} -> {}", method, path, status)
        return status, data, resp_headers

    def _note_headers(self, headers: Any) -> None:
        for name, value in headers.items():
            upper = name.upper()
            if upper == "X-MBX-USED-WEIGHT-1M":
                self.used_weight_1m = _int(value)
                if self.used_weight_1m >= self.weight_limit_1m * self.weight_headroom:
                    # slow down before Binance has to say 429: wait for the next minute's budget
                    now = self._now_ms()
                    self.pause_until(now - now % 60_000 + 60_000 + 500,
                                     f"request weight {self.used_weight_1m}/{self.weight_limit_1m} this minute")
            elif upper.startswith("X-MBX-ORDER-COUNT-"):
                self.order_counts[upper.removeprefix("X-MBX-ORDER-COUNT-")] = _int(value)

    def _retry_after_s(self, headers: Any) -> float:
        value = headers.get("Retry-After")
        try:
            return max(0.0, float(value)) if value is not None else self.default_retry_after_s
        except ValueError:
            return self.default_retry_after_s

    def stats(self) -> dict[str, int]:
        return {
            "used_weight_1m": self.used_weight_1m,
            "order_count_10s": self.order_counts.get("10S", 0),
            "order_count_1d": self.order_counts.get("1D", 0),
            "paused_until_ms": self.paused_until_ms,
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "time_syncs": self.time_syncs,
            "clock_offset_ms": self.offset_ms,
        }

    def __repr__(self) -> str:
        return f"BinanceRest({self.base_url!r})"


def _code(data: Any) -> int | None:
    code = data.get("code") if isinstance(data, dict) else None
    return code if isinstance(code, int) else None


def _msg(data: Any) -> str:
    if isinstance(data, dict):
        return str(data.get("msg", ""))
    return "" if data is None else str(data)[:200]


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0
