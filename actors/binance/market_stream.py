"""The live source: Binance's combined market stream and the REST depth snapshot (I/O only).

Moved from `actors/market_data/binance_stream.py`. Runs on the market data actor's `LoopThread` (`market-data-io`) and does only
I/O: it reads `{stream_url}/stream?streams=<sym>@bookTicker/<sym>@depth@100ms/
<sym>@aggTrade`, parses each frame into plain events and hands them to the
actor through `sink` (a `tell`), batched per loop iteration. The actor owns
all state (the book, the features, the subscribers); it asks for REST
snapshots with `request_depth`.

Connection care (reference/binance.md, sections 7 and 10):
- the websockets client answers the server's pings by itself and keeps its
  own keepalive pings;
- a silence watchdog drops a socket that has said nothing for
  `silence_s`, and the connection is renewed before Binance's 24-hour cut;
- after any drop (or a `serverShutdown` event, which reconnects at once) it
  reconnects with exponential backoff and jitter; the actor then resyncs the
  book from a fresh REST snapshot.

Every attempt's outcome reaches the actor (`StreamConnected`, or `StreamDown`
with a readable cause and the delay before the next attempt), so it can say
what is down, why, and when it tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import websockets
from loguru import logger
from websockets.asyncio.client import connect

from actors._lib.backoff import Backoff
from actors.market_data.book import BookError, DepthDiff, Level, parse_levels
from actors.market_data.features import make_tick

ZERO = Decimal(0)
JITTER = (0.5, 1.5)  # reconnects spread over 50-150 % of the backoff step

# -- what the loop tells the actor ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamConnected:
    conn_id: int
    url: str


@dataclass(frozen=True, slots=True)
class StreamDown:
    """A connection ended or could not be made; `conn_id` is the last one made (0 = none yet).

    `connect_failed`: this was a connection attempt that failed (not a connection that ended);
    `retry_in_s`: the next attempt starts this long after this message (-1 = none planned).
    """

    conn_id: int
    reason: str
    retry_in_s: float = -1.0
    connect_failed: bool = False


@dataclass(frozen=True, slots=True)
class StreamBatch:
    """Parsed events of one connection, in arrival order."""

    conn_id: int
    events: tuple[Any, ...]
    recv_ms: int  # when the last frame of the batch arrived (the actor's clock)


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    conn_id: int
    last_update_id: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class DepthFailed:
    conn_id: int
    reason: str
    retry_after_s: float = 0.0


# -- parsed events ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookTicker:
    update_id: int
    bid: Decimal
    bid_qty: Decimal
    ask: Decimal
    ask_qty: Decimal
    recv_ms: int


@dataclass(frozen=True, slots=True)
class BadFrame:
    reason: str
    sample: str


@dataclass(frozen=True, slots=True)
class ServerShutdown:
    event_ms: int


def stream_path(symbol: str) -> str:
    sym = symbol.lower()
    return f"/stream?streams={sym}@bookTicker/{sym}@depth@100ms/{sym}@aggTrade"


def describe_connect_error(exc: BaseException, url: str) -> str:
    """Why a connection could not be made, in words an operator reads (no traceback names)."""
    parts = urlsplit(url)
    host = parts.hostname or url
    where = f"{host}:{parts.port}" if parts.port else host
    if isinstance(exc, socket.gaierror):
        return f"name not resolved: {host}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(exc, TimeoutError):
        return f"no answer from {where} (timed out)"
    if isinstance(exc, websockets.exceptions.InvalidStatus):
        return f"{where} answered HTTP {exc.response.status_code}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed with {where}: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror.lower()} ({where})"
    return f"{type(exc).__name__}: {exc}"


def _dec(x: Any, what: str) -> Decimal:
    if not isinstance(x, str):
        raise ValueError(f"{what} is not a decimal string")
    d = Decimal(x)
    if not d.is_finite() or d < 0:
        raise ValueError(f"{what} out of range")
    return d


def parse_frame(raw: str | bytes, recv_ms: int) -> Any:
    """One combined-stream frame → BookTicker | DepthDiff | TradeTick | ServerShutdown | BadFrame | None.

    None is a control answer (`{"result": null, "id": 1}`), which is not data.
    """
    if isinstance(raw, bytes):
        return BadFrame("binary frame", repr(raw[:80]))
    try:
        msg = json.loads(raw)
    except ValueError:
        return BadFrame("not JSON", raw[:80])
    try:
        if not isinstance(msg, dict):
            raise ValueError("not an object")
        if "result" in msg and "id" in msg:
            return None
        stream = msg.get("stream", "")
        data = msg.get("data", msg)
        if not isinstance(data, dict):
            raise ValueError("data is not an object")
        kind = data.get("e")
        if kind == "aggTrade":
            p = _dec(data["p"], "price")
            q = _dec(data["q"], "qty")
            if p <= 0 or q <= 0:
                raise ValueError("non-positive price or qty")
            m = data["m"]
            if not isinstance(m, bool):
                raise ValueError("m is not a boolean")
            return make_tick(int(data["a"]), p, q, int(data["T"]), m)
        if kind == "depthUpdate":
            first, final = int(data["U"]), int(data["u"])
            if final < first:
                raise ValueError("u < U")
            return DepthDiff(
                first_id=first,
                final_id=final,
                event_ms=int(data["E"]),
                bids=tuple(parse_levels(data["b"])),
                asks=tuple(parse_levels(data["a"])),
            )
        if kind == "serverShutdown":
            return ServerShutdown(int(data.get("E", 0)))
        if kind is None and (stream.endswith("@bookTicker") or {"u", "b", "a"} <= data.keys()):
            bid, ask = _dec(data["b"], "bid"), _dec(data["a"], "ask")
            bq, aq = _dec(data["B"], "bid qty"), _dec(data["A"], "ask qty")
            if bid <= 0 or ask <= 0:
                raise ValueError("non-positive price")
            if bid >= ask:
                raise ValueError(f"crossed: bid {bid} >= ask {ask}")
            return BookTicker(int(data["u"]), bid, bq, ask, aq, recv_ms)
        raise ValueError(f"unknown event {kind!r} on {stream!r}")
    except (KeyError, TypeError, ValueError, InvalidOperation, BookError) as exc:
        return BadFrame(f"{type(exc).__name__}: {exc}"[:120], raw[:80])


class BinanceStream:
    """The connection loop. Create it and call `run()` on the loop; `request_depth` from any thread."""

    def __init__(
        self,
        *,
        symbol: str,
        stream_url: str,
        rest_url: str,
        depth_limit: int,
        sink: Callable[[Any], None],
        clock: Callable[[], int],
        loop: asyncio.AbstractEventLoop,
        silence_s: float = 20.0,
        backoff_initial_s: float = 0.25,
        backoff_max_s: float = 30.0,
        max_connection_s: float = 23.5 * 3600,
        rest_timeout_s: float = 10.0,
        max_batch: int = 1000,
    ) -> None:
        self.symbol = symbol.upper()
        self.url = stream_url.rstrip("/") + stream_path(symbol)
        self.rest_url = rest_url.rstrip("/")
        self.depth_limit = depth_limit
        self._sink = sink
        self._clock = clock
        self._loop = loop
        self.silence_s = silence_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.max_connection_s = max_connection_s
        self.rest_timeout_s = rest_timeout_s
        self.max_batch = max_batch
        self.conn_id = 0
        self._session: aiohttp.ClientSession | None = None
        self._batch: list[Any] = []
        self._batch_conn = 0
        self._flush_scheduled = False
        self._closing = False
        self._depth_tasks: set[asyncio.Future[None]] = set()  # held until done: the loop keeps only weak refs
        self._rng = random.Random()
        self.backoff = Backoff(backoff_initial_s, backoff_max_s, jitter=JITTER, rand=self._rng.random)

    # -- the connection loop (loop thread) -------------------------------------------------

    async def run(self) -> None:
        try:
            while not self._closing:
                reason, healthy, at_once, made = await self._connect_once()
                if self._closing:
                    return
                if healthy:
                    self.backoff.reset()
                delay = 0.0 if at_once else self.backoff.next()
                self._tell(StreamDown(self.conn_id, reason, retry_in_s=delay, connect_failed=not made))
                logger.info("market stream: {}; reconnecting in {:.2f}s", reason, delay)
                if delay:
                    await asyncio.sleep(delay)
        finally:
            if self._session is not None:
                await self._session.close()
                self._session = None

    async def _connect_once(self) -> tuple[str, bool, bool, bool]:
        """One connection's life: (why it ended, whether it carried data, reconnect at once, connected)."""
        try:
            ws = await connect(self.url, open_timeout=10, ping_interval=20, ping_timeout=20, close_timeout=1, max_size=2**22)
        except (TimeoutError, OSError, websockets.exceptions.WebSocketException) as exc:
            return f"connect failed: {describe_connect_error(exc, self.url)}"[:200], False, False, False
        self.conn_id += 1
        conn = self.conn_id
        self._tell(StreamConnected(conn, self.url))
        state: dict[str, Any] = {"last_rx": self._loop.time(), "reason": "", "at_once": False, "frames": 0}
        watchdog = asyncio.ensure_future(self._watch(ws, state))
        try:
            async for raw in ws:
                now = self._loop.time()
                state["last_rx"] = now
                state["frames"] += 1
                ev = parse_frame(raw, self._clock())
                if ev is None:
                    continue
                if type(ev) is ServerShutdown:
                    state["reason"] = "serverShutdown event"
                    state["at_once"] = True
                    self._push(conn, ev)
                    break
                self._push(conn, ev)
            if not state["reason"]:
                state["reason"] = f"closed by the server ({ws.close_code} {ws.close_reason!r})"
        except websockets.exceptions.ConnectionClosed as exc:
            if not state["reason"]:
                state["reason"] = f"connection lost: {exc}"[:200]
        except Exception as exc:  # noqa: BLE001 - any failure means reconnect
            if not state["reason"]:
                state["reason"] = f"{type(exc).__name__}: {exc}"[:200]
        finally:
            watchdog.cancel()
            self._flush()
            with contextlib.suppress(Exception):
                if self._closing or state["at_once"] or "silent" in str(state["reason"]):
                    ws.transport.abort()  # do not wait for a close handshake
                else:
                    await ws.close()
        return str(state["reason"]), state["frames"] > 0, bool(state["at_once"]), True

    async def _watch(self, ws: Any, state: dict[str, Any]) -> None:
        """Drop a silent socket; renew the connection before the 24-hour cut."""
        opened = self._loop.time()
        step = max(0.05, min(1.0, self.silence_s / 4))
        while True:
            await asyncio.sleep(step)
            now = self._loop.time()
            if now - state["last_rx"] >= self.silence_s:
                state["reason"] = f"silent for {now - state['last_rx']:.1f}s"
                ws.transport.abort()
                return
            if now - opened >= self.max_connection_s:
                state["reason"] = "renewing before the 24-hour cut"
                state["at_once"] = True
                await ws.close()
                return

    # -- batching --------------------------------------------------------------------------

    def _push(self, conn: int, ev: Any) -> None:
        if self._batch and self._batch_conn != conn:
            self._flush()
        self._batch_conn = conn
        self._batch.append(ev)
        if len(self._batch) >= self.max_batch:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._batch:
            return
        batch = tuple(self._batch)
        self._batch.clear()
        self._tell(StreamBatch(self._batch_conn, batch, self._clock()))

    def _tell(self, msg: Any) -> None:
        try:
            self._sink(msg)
        except Exception:  # noqa: BLE001 - the actor is gone: stop quietly
            self._closing = True

    # -- REST -----------------------------------------------------------------------------

    def request_depth(self, conn_id: int, delay_s: float = 0.0) -> None:
        """Fetch a depth snapshot (after `delay_s`) and tell it; callable from any thread."""

        def start() -> None:
            if self._closing:
                return
            if delay_s > 0:
                self._loop.call_later(delay_s, lambda: self._keep(asyncio.ensure_future(self._fetch_depth(conn_id))))
            else:
                self._keep(asyncio.ensure_future(self._fetch_depth(conn_id)))

        self._loop.call_soon_threadsafe(start)

    def _keep(self, task: asyncio.Future[None]) -> None:
        self._depth_tasks.add(task)
        task.add_done_callback(self._depth_tasks.discard)

    async def _fetch_depth(self, conn_id: int) -> None:
        url = f"{self.rest_url}/api/v3/depth"
        params = {"symbol": self.symbol, "limit": str(self.depth_limit)}
        try:
            if self._session is None:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.rest_timeout_s))
            async with self._session.get(url, params=params) as resp:
                if resp.status != 200:
                    retry = 0.0
                    if resp.status in (418, 429):
                        with contextlib.suppress(ValueError):
                            retry = float(resp.headers.get("Retry-After", "1"))
                    text = (await resp.text())[:200]
                    self._tell(DepthFailed(conn_id, f"HTTP {resp.status}: {text}", retry))
                    return
                body = await resp.json(content_type=None)
            lid = int(body["lastUpdateId"])
            bids = tuple(parse_levels(body["bids"]))
            asks = tuple(parse_levels(body["asks"]))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure is reported and retried
            self._tell(DepthFailed(conn_id, f"{type(exc).__name__}: {exc}"[:200]))
            return
        self._tell(DepthSnapshot(conn_id, lid, bids, asks))

    def close(self) -> None:
        self._closing = True


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000

