"""HTTP for `download`: GETs that retry 5xx, 429, timeouts and dropped connections with the shared backoff.

A zip is written to its `.part` file as it arrives, flushed chunk by chunk, so
an interrupted download (a dropped connection, Ctrl-C, a killed process) is
picked up where it stopped with a `Range` request: nothing is fetched twice.
A 404 is an answer (the file does not exist), not a failure to retry.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import aiohttp

from actors._lib.backoff import Backoff

ATTEMPTS = 5
RETRY_INITIAL_S = 1.0  # the tests set it near zero
RETRY_CAP_S = 30.0
RETRY_AFTER_CAP_S = 120.0
CHUNK = 1 << 16
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)  # a big month may take minutes, not stall

T = TypeVar("T")
OnSize = Callable[[int, int | None], None]  # (bytes already on disk, whole size if known)
OnBytes = Callable[[int], None]


class HttpError(Exception):
    """A request that failed for good: after its retries, or with a status retrying cannot fix."""


class _Retry(Exception):
    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


class _Sink:
    """The `.part` file, written and flushed chunk by chunk (a small blocking write: this is a command, not an actor)."""

    def __init__(self, path: Path, append: bool) -> None:
        self._fh: IO[bytes] = open(path, "ab" if append else "wb")  # noqa: SIM115 - closed in close()

    def write(self, chunk: bytes) -> None:
        self._fh.write(chunk)
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _drop(path: Path) -> None:
    path.unlink(missing_ok=True)


def _retry_after(resp: aiohttp.ClientResponse) -> float | None:
    value = resp.headers.get("Retry-After", "")
    return min(float(value), RETRY_AFTER_CAP_S) if value.isdigit() else None


def _status(resp: aiohttp.ClientResponse, url: str) -> None:
    """Raise for a status that is neither success nor 404: `_Retry` where waiting can help, `HttpError` otherwise."""
    if resp.status == 429 or resp.status == 418 or resp.status >= 500:
        raise _Retry(f"HTTP {resp.status}", _retry_after(resp))
    if resp.status >= 400:
        raise HttpError(f"HTTP {resp.status} for {url}")


class Http:
    """One client session's GETs, each retried up to `attempts` times with its own `Backoff`."""

    def __init__(self, session: aiohttp.ClientSession, *, attempts: int = ATTEMPTS) -> None:
        self.session = session
        self.attempts = attempts
        self.requests = 0

    async def _retrying(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        backoff = Backoff(initial=RETRY_INITIAL_S, cap=RETRY_CAP_S, jitter=(0.5, 1.0))
        reason = ""
        for n in range(self.attempts):
            try:
                self.requests += 1
                return await attempt()
            except _Retry as exc:
                reason, delay = str(exc), exc.delay
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason, delay = f"{type(exc).__name__}: {exc}".rstrip(": "), None
            if n + 1 < self.attempts:
                await asyncio.sleep(backoff.next() if delay is None else delay)
        raise HttpError(f"{what}: {reason} (gave up after {self.attempts} attempts)")

    async def text(self, url: str) -> str | None:
        """The body as text, or None when the server says 404."""

        async def attempt() -> str | None:
            async with self.session.get(url) as resp:
                if resp.status == 404:
                    return None
                _status(resp, url)
                return await resp.text(errors="replace")

        return await self._retrying(url, attempt)

    async def json(self, url: str, params: dict[str, str]) -> Any:
        """A REST answer; a 4xx becomes an `HttpError` carrying Binance's own message (`{"code", "msg"}`)."""

        async def attempt() -> Any:
            async with self.session.get(url, params=params) as resp:
                body = await resp.text(errors="replace")
                if 400 <= resp.status < 500 and resp.status not in (418, 429):
                    try:
                        msg = json.loads(body).get("msg", body[:200])
                    except (ValueError, AttributeError):
                        msg = body[:200]
                    raise HttpError(f"HTTP {resp.status} from {url}: {msg}")
                _status(resp, url)
                try:
                    return json.loads(body)
                except ValueError:
                    raise HttpError(f"{url} did not answer JSON: {body[:80]!r}") from None

        return await self._retrying(url, attempt)

    async def download(self, url: str, part: Path, on_size: OnSize, on_bytes: OnBytes) -> bool:
        """`url` into `part`, resuming what `part` already holds; False when the server says 404."""

        async def attempt() -> bool:
            have = _size(part)
            headers = {"Range": f"bytes={have}-"} if have else {}
            async with self.session.get(url, headers=headers) as resp:
                if resp.status == 404:
                    return False
                if resp.status == 416:  # the part is whole already (or longer than the file): start over
                    _drop(part)
                    raise _Retry("HTTP 416 on resuming", 0.0)
                _status(resp, url)
                start = 0
                if resp.status == 206 and resp.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
                    start = have
                length = resp.content_length
                on_size(start, None if length is None else start + length)
                sink = _Sink(part, append=start > 0)
                try:
                    async for chunk in resp.content.iter_chunked(CHUNK):
                        sink.write(chunk)
                        on_bytes(len(chunk))
                finally:
                    sink.close()
                return True

        return await self._retrying(url, attempt)


def session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=TIMEOUT, headers={"User-Agent": "trump-trader download"})


__all__ = ["Http", "HttpError", "session"]
