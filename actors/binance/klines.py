"""The venue's one-minute history for a warm start: `GET /api/v3/klines`, paged (I/O only).

Runs on the market data actor's loop (`market-data-io`), beside the stream,
and reports by `sink` (a `tell`): `HistoryProgress` after each page,
`HistoryFetched` with every row at the end, or `HistoryFailed`. The actor
folds the rows (`actors/market_data/warmup.py`); nothing here keeps state
between jobs.

Care (reference/binance.md, sections 3, 5 and 6):
- at most 1000 candles a request (`startTime`/`endTime`/`limit`), weight 2;
- the used weight (`X-MBX-USED-WEIGHT-1M`) is read after every answer, and
  the next page waits for the next minute when it would leave less than
  `WEIGHT_RESERVE` of the IP's budget to the order path and the book;
- a 5xx, a timeout or a dropped connection is retried with the shared
  backoff; 429/418 wait their `Retry-After`; any other 4xx, or retries
  used up, fails the job with the venue's own words.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from actors._lib.backoff import Backoff
from actors._lib.secrets import redact

KLINES_PATH = "/api/v3/klines"
KLINES_WEIGHT = 2
PAGE_LIMIT = 1000
WEIGHT_LIMIT_1M = 6000  # REQUEST_WEIGHT per minute per IP (binance.md section 6)
WEIGHT_RESERVE = 1000  # left for the order path and depth snapshots, which share the IP's budget
MAX_RETRY_AFTER_S = 60.0  # a longer ban (418) is not waited out: the run warms up live instead
MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class HistoryProgress:
    job: int
    got_minutes: int
    total_minutes: int  # what exists to read: less than asked for a symbol listed since


@dataclass(frozen=True, slots=True)
class HistoryFetched:
    """Every closed candle of the job, oldest first, each as the twelve cells of a klines CSV row."""

    job: int
    rows: tuple[tuple[str, ...], ...]
    requests: int


@dataclass(frozen=True, slots=True)
class HistoryFailed:
    job: int
    reason: str  # the venue's answer or the transport error, secret-free
    refused: bool  # the venue said no (a 4xx), as opposed to failing


class _Refused(Exception):
    """A definitive 4xx: asking again unchanged would get the same answer."""


class KlineHistory:
    """Create on the actor's thread; `fetch(...)` is a coroutine for the actor's loop."""

    def __init__(
        self,
        *,
        rest_url: str,
        symbol: str,
        sink: Callable[[Any], None],
        timeout_s: float = 10.0,
        attempts: int = 5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 8.0,
        weight_limit: int = WEIGHT_LIMIT_1M,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall_ms: Callable[[], int] | None = None,  # the venue counts weight per wall-clock minute
    ) -> None:
        self.url = rest_url.rstrip("/") + KLINES_PATH
        self.symbol = symbol.upper()
        self._sink = sink
        self.timeout_s = timeout_s
        self.attempts = max(1, attempts)
        self.backoff_initial_s, self.backoff_max_s = backoff_initial_s, backoff_max_s
        self.weight_limit = weight_limit
        self._sleep = sleep
        self._wall_ms = wall_ms or (lambda: time.time_ns() // 1_000_000)
        self.used_weight = 0  # the venue's count for this minute, as last answered
        self.requests = 0  # of the job running (one at a time)

    async def fetch(self, job: int, start_ms: int, end_ms: int) -> None:
        """The closed candles opening in [start_ms, end_ms), oldest first, page by page."""
        rows: list[tuple[str, ...]] = []
        self.requests = 0
        total = max(0, (end_ms - start_ms) // MINUTE_MS)
        cursor = start_ms
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as session:
                while cursor < end_ms:
                    page = await self._page(session, cursor, end_ms)
                    good = [r for r in page if start_ms <= _open_ms(r) < end_ms and _open_ms(r) >= cursor]
                    if not good:
                        break
                    if not rows and _open_ms(good[0]) > start_ms:  # listed since: warm up on what exists
                        total = (end_ms - _open_ms(good[0])) // MINUTE_MS
                    rows.extend(tuple(str(x) for x in r) for r in good)
                    self._sink(HistoryProgress(job, len(rows), total))
                    cursor = _open_ms(good[-1]) + MINUTE_MS
                    if len(page) < PAGE_LIMIT:
                        break
        except asyncio.CancelledError:
            raise
        except _Refused as exc:
            self._sink(HistoryFailed(job, str(exc), refused=True))
            return
        except Exception as exc:  # noqa: BLE001 - retries used up: reported, and the run warms up live
            self._sink(HistoryFailed(job, redact(f"{exc}")[:300], refused=False))
            return
        self._sink(HistoryFetched(job, tuple(rows), self.requests))

    async def _page(self, session: aiohttp.ClientSession, cursor: int, end_ms: int) -> list[list[Any]]:
        """One page, with retries: the rows as the venue sent them (lists whose first cell is the open time)."""
        params = {"symbol": self.symbol, "interval": "1m", "startTime": str(cursor), "endTime": str(end_ms - 1),
                  "limit": str(PAGE_LIMIT)}
        backoff = Backoff(self.backoff_initial_s, self.backoff_max_s, jitter=(0.5, 1.5))
        last = ""
        for attempt in range(self.attempts):
            await self._respect_weight()
            wait = 0.0
            try:
                self.requests += 1
                async with session.get(self.url, params=params) as resp:
                    self._read_weight(resp.headers)
                    text = await resp.text()
                    if resp.status == 200:
                        return _rows(text)
                    last = f"HTTP {resp.status}: {redact(text.strip())[:200]}"
                    if resp.status in (418, 429):
                        wait = _retry_after(resp.headers)
                        if wait > MAX_RETRY_AFTER_S:
                            raise _Refused(f"{last} (retry after {wait:.0f} s)")
                    elif 400 <= resp.status < 500:
                        raise _Refused(last)
            except (_Refused, asyncio.CancelledError):
                raise
            except ValueError as exc:  # an answer that is not a list of candles: asking again will not help
                raise _Refused(f"unexpected answer: {exc}") from exc
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt + 1 < self.attempts:
                await self._sleep(max(wait, backoff.next()))
        raise RuntimeError(f"{last} ({self.attempts} attempts)")

    def _read_weight(self, headers: Any) -> None:
        with contextlib.suppress(TypeError, ValueError):
            self.used_weight = int(headers.get("X-MBX-USED-WEIGHT-1M", ""))

    async def _respect_weight(self) -> None:
        """Wait for the next minute when this request would eat into what the order path needs."""
        if self.used_weight + KLINES_WEIGHT <= self.weight_limit - WEIGHT_RESERVE:
            return
        now_ms = self._wall_ms()
        await self._sleep((MINUTE_MS - now_ms % MINUTE_MS) / 1000 + 0.5)
        self.used_weight = 0


def _open_ms(row: list[Any]) -> int:
    return int(row[0])


def _rows(text: str) -> list[list[Any]]:
    body = json.loads(text)
    if not isinstance(body, list) or not all(isinstance(r, list) and r and isinstance(r[0], int) for r in body):
        raise ValueError(f"not a list of klines: {text[:80]!r}")
    return body


def _retry_after(headers: Any) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After", "1")))
    except (TypeError, ValueError):
        return 1.0


__all__ = ["KLINES_PATH", "HistoryFailed", "HistoryFetched", "HistoryProgress", "KlineHistory"]
