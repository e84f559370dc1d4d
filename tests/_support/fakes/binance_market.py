"""A stand-in for Binance's market data on 127.0.0.1: REST depth and the combined stream.

    fake = FakeBinanceMarket(symbol="TRUMPUSDC")
    rest_url, stream_url = fake.start()
    fake.book_update(bids=[("10.00", "5")], asks=[("10.01", "3")])   # depthUpdate + bookTicker
    fake.trade("10.01", "1.5", buyer_is_maker=False)                   # aggTrade
    fake.book_update(bids=[("9.99", "1")], send=False)                 # a lost diff: a gap
    fake.send_raw("not json")                                          # a malformed frame
    fake.drop()                                                        # a sudden disconnect
    fake.history.set(rising_klines(now_ms, minutes=300))               # 1m history (binance_klines.py)
    fake.server_shutdown()                                             # the serverShutdown event
    fake.stop()

The server keeps its own book with an update id, so diffs, the REST snapshot
and bookTicker stay consistent (`U`/`u` as on Binance spot; no `pu`). It runs
on its own thread and loop; every scripted call blocks until it is done.
`start_auto(rate_hz)` plays a random but consistent market for load tests.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Iterable
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from aiohttp import web
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from tests._support.fakes.binance_klines import KlinesStandIn

Pair = tuple[str | Decimal, str | Decimal]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class FakeBinanceMarket:
    def __init__(self, symbol: str = "TRUMPUSDC", *, ping_interval: float | None = 20.0) -> None:
        self.symbol = symbol.upper()
        self.sym = symbol.lower()
        self.ping_interval = ping_interval
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.update_id = 1000
        self.agg_id = 5000
        self.ticker_u = 0
        self.connections_made = 0
        self.stream_paths: list[str] = []
        self.depth_requests = 0
        self.depth_delay_s = 0.0
        self.history = KlinesStandIn(self.symbol)  # GET /api/v3/klines (empty until set)
        self.refusing = False
        self.sent_frames = 0
        self._clients: set[ServerConnection] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fake-binance-market", daemon=True)
        self._ready = threading.Event()
        self._ws_server: Any = None
        self._runner: web.AppRunner | None = None
        self._auto: asyncio.Task[None] | None = None
        self._cond = threading.Condition()
        self.rest_url = ""
        self.stream_url = ""

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> tuple[str, str]:
        self._thread.start()
        self._call(self._start())
        return self.rest_url, self.stream_url

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self._call(self._stop(), timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> FakeBinanceMarket:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    def _call(self, coro: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v3/depth", self._depth)
        app.router.add_get("/api/v3/klines", self.history.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.rest_url = f"http://127.0.0.1:{port}"
        self._ws_server = await serve(
            self._handler,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_interval,
            close_timeout=1,
        )
        ws_port = self._ws_server.sockets[0].getsockname()[1]
        self.stream_url = f"ws://127.0.0.1:{ws_port}"

    async def _stop(self) -> None:
        self.history.holding = False  # a held request must not keep the server from closing
        if self._auto is not None:
            self._auto.cancel()
        for ws in list(self._clients):
            ws.transport.abort()
        if self._ws_server is not None:
            self._ws_server.close()
            await self._ws_server.wait_closed()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- REST -----------------------------------------------------------------------------------

    async def _depth(self, request: web.Request) -> web.Response:
        self.depth_requests += 1
        if request.query.get("symbol") != self.symbol:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        limit = int(request.query.get("limit", "100"))
        if self.depth_delay_s:
            await asyncio.sleep(self.depth_delay_s)
        return web.json_response(self.depth_snapshot(limit))

    def depth_snapshot(self, limit: int = 1000) -> dict[str, Any]:
        bids = sorted(self.bids.items(), reverse=True)[:limit]
        asks = sorted(self.asks.items())[:limit]
        return {
            "lastUpdateId": self.update_id,
            "bids": [[str(p), str(q)] for p, q in bids],
            "asks": [[str(p), str(q)] for p, q in asks],
        }

    # -- the stream -----------------------------------------------------------------------------

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        if self.refusing:
            return Response(HTTPStatus.SERVICE_UNAVAILABLE.value, "Service Unavailable", Headers(), b"refused\n")
        if not request.path.startswith("/stream?streams="):
            return Response(HTTPStatus.NOT_FOUND.value, "Not Found", Headers(), b"no such stream\n")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        with self._cond:
            self.stream_paths.append(path)
            self.connections_made += 1
            self._clients.add(ws)
            self._cond.notify_all()
        try:
            async for _ in ws:  # clients may send SUBSCRIBE etc.; ignored
                pass
        except Exception:  # noqa: BLE001 - a dropped client
            pass
        finally:
            with self._cond:
                self._clients.discard(ws)
                self._cond.notify_all()

    async def _broadcast(self, frames: Iterable[str | bytes]) -> None:
        for frame in frames:
            for ws in list(self._clients):
                try:
                    await ws.send(frame)
                    self.sent_frames += 1
                except Exception:  # noqa: BLE001 - a client that just went away
                    self._clients.discard(ws)

    def _wrap(self, stream: str, data: dict[str, Any]) -> str:
        return json.dumps({"stream": f"{self.sym}@{stream}", "data": data})

    # -- scripted market (call from any thread) ----------------------------------------------------

    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until `count` connections have been made in all and one is open."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.connections_made < count or not self._clients:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"only {self.connections_made} connection(s) made, {len(self._clients)} open")
                self._cond.wait(left)

    @property
    def open_connections(self) -> int:
        return len(self._clients)

    def best(self) -> tuple[Decimal, Decimal]:
        """(best bid, best ask) now, read on the stand-in's own loop (the auto market moves them there)."""

        async def read() -> tuple[Decimal, Decimal]:
            return max(self.bids), min(self.asks)

        result: tuple[Decimal, Decimal] = self._call(read())
        return result

    def set_book(self, bids: Iterable[Pair], asks: Iterable[Pair]) -> None:
        """Replace the book without telling anyone (the REST snapshot shows it)."""
        self.bids = {Decimal(str(p)): Decimal(str(q)) for p, q in bids if Decimal(str(q)) > 0}
        self.asks = {Decimal(str(p)): Decimal(str(q)) for p, q in asks if Decimal(str(q)) > 0}
        self.update_id += 1

    def _apply(self, bids: Iterable[Pair], asks: Iterable[Pair]) -> tuple[list[list[str]], list[list[str]]]:
        b_out, a_out = [], []
        for side, levels, out in ((self.bids, bids, b_out), (self.asks, asks, a_out)):
            for p, q in levels:
                pd, qd = Decimal(str(p)), Decimal(str(q))
                if qd == 0:
                    side.pop(pd, None)
                else:
                    side[pd] = qd
                out.append([str(p), str(q)])
        return b_out, a_out

    def book_update(
        self,
        bids: Iterable[Pair] = (),
        asks: Iterable[Pair] = (),
        *,
        send: bool = True,
        ticker: bool = True,
        span: int = 1,
    ) -> tuple[int, int]:
        """Change the book; send the depthUpdate (unless `send=False`: a lost diff) and a bookTicker.

        `span` is how many update ids the diff covers (`u - U + 1`). Returns (U, u).
        """
        return self._call(self._book_update(list(bids), list(asks), send, ticker, span))

    async def _book_update(self, bids: list[Pair], asks: list[Pair], send: bool, ticker: bool, span: int) -> tuple[int, int]:
        b, a = self._apply(bids, asks)
        first = self.update_id + 1
        self.update_id += max(1, span)
        frames: list[str] = []
        if send:
            data = {"e": "depthUpdate", "E": _now_ms(), "s": self.symbol, "U": first, "u": self.update_id, "b": b, "a": a}
            frames.append(self._wrap("depth@100ms", data))
        if ticker:
            frames.append(self._ticker_frame())
        await self._broadcast(frames)
        return first, self.update_id

    def crash_to(self, bid: str, tick: str = "0.01") -> None:
        """Every level gone at once, the book one tick wide at `bid`, and a trade there (a flash crash)."""

        async def go() -> None:
            bids = [(str(p), "0") for p in self.bids] + [(bid, "50")]
            asks = [(str(p), "0") for p in self.asks] + [(str(Decimal(bid) + Decimal(tick)), "50")]
            await self._book_update(bids, asks, True, True, 1)

        self._call(go())
        self.trade(bid, "1", True)

    def _ticker_frame(self, u: int | None = None) -> str:
        bb = max(self.bids) if self.bids else Decimal(0)
        ba = min(self.asks) if self.asks else Decimal(0)
        self.ticker_u = self.update_id if u is None else u
        data = {
            "u": self.ticker_u,
            "s": self.symbol,
            "b": str(bb),
            "B": str(self.bids.get(bb, 0)),
            "a": str(ba),
            "A": str(self.asks.get(ba, 0)),
        }
        return self._wrap("bookTicker", data)

    def book_ticker(self, u: int | None = None) -> None:
        """Send a bookTicker of the current best levels (with update id `u`, default the book's)."""
        self._call(self._broadcast([self._ticker_frame(u)]))

    def trade(
        self, price: str | Decimal, qty: str | Decimal, buyer_is_maker: bool, *, agg_id: int | None = None, ts_ms: int | None = None
    ) -> int:
        """Send an aggTrade; returns its aggregate id (a repeat of an old id is allowed)."""
        if agg_id is None:
            self.agg_id += 1
            agg_id = self.agg_id
        t = _now_ms() if ts_ms is None else ts_ms
        data = {
            "e": "aggTrade",
            "E": t,
            "s": self.symbol,
            "a": agg_id,
            "p": str(price),
            "q": str(qty),
            "f": agg_id * 2,
            "l": agg_id * 2 + 1,
            "T": t,
            "m": buyer_is_maker,
            "M": True,
        }
        self._call(self._broadcast([self._wrap("aggTrade", data)]))
        return agg_id

    def send_raw(self, frame: str | bytes) -> None:
        """Send any frame as it is (malformed ones included)."""
        self._call(self._broadcast([frame]))

    def ping(self, timeout: float = 5.0) -> int:
        """Ping every client and wait for the pongs; returns how many answered."""

        async def go() -> int:
            waiters = []
            for ws in list(self._clients):
                waiters.append(await ws.ping())
            done = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), timeout)
            return sum(1 for d in done if not isinstance(d, BaseException))

        return self._call(go(), timeout + 1)

    def drop(self) -> None:
        """Cut every connection at once, with no close frame (a network fault)."""

        async def go() -> None:
            for ws in list(self._clients):
                ws.transport.abort()

        self._call(go())

    def server_shutdown(self) -> None:
        """Announce a shutdown (`serverShutdown`) and then close the connections."""

        async def go() -> None:
            told = list(self._clients)
            await self._broadcast([json.dumps({"e": "serverShutdown", "E": _now_ms()})])
            await asyncio.sleep(0.2)
            for ws in told:  # the ones that were warned (a client may have reconnected already)
                ws.transport.abort()

        self._call(go())

    def refuse(self, on: bool = True) -> None:
        """Refuse new connections (HTTP 503 on the handshake) while on."""
        self.refusing = on

    # -- automatic market for load tests -------------------------------------------------------------

    def start_auto(self, rate_hz: float, *, seed: int = 1, trade_share: float = 0.5) -> None:
        """Play a random consistent market: `rate_hz` events per second (trades and book changes)."""

        async def go() -> None:
            rng = random.Random(seed)
            if not self.bids or not self.asks:
                self.set_book([("10.00", "10")], [("10.01", "10")])
            period = 1.0 / rate_hz
            loop = asyncio.get_running_loop()
            next_t = loop.time()
            while True:
                next_t += period
                delay = next_t - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                bb, ba = max(self.bids), min(self.asks)
                if rng.random() < trade_share:
                    taker_buy = rng.random() < 0.5
                    px = ba if taker_buy else bb
                    self.agg_id += 1
                    t = _now_ms()
                    data = {
                        "e": "aggTrade", "E": t, "s": self.symbol, "a": self.agg_id, "p": str(px),
                        "q": f"{rng.randint(1, 5000) / 1000:.3f}", "f": 1, "l": 1, "T": t, "m": not taker_buy, "M": True,
                    }
                    await self._broadcast([self._wrap("aggTrade", data)])
                else:
                    step = Decimal("0.01") * rng.choice((-1, 1))
                    nb, na = bb + step, ba + step
                    qty = f"{rng.randint(1, 9000) / 100:.2f}"
                    if step > 0:
                        changes = ([(str(nb), qty)], [(str(ba), "0"), (str(na), qty)])
                    else:
                        changes = ([(str(bb), "0"), (str(nb), qty)], [(str(na), qty)])
                    await self._book_update(changes[0], changes[1], True, True, 1)

        def begin() -> None:
            self._auto = asyncio.ensure_future(go())

        self._loop.call_soon_threadsafe(begin)

    def stop_auto(self) -> None:
        async def go() -> None:
            if self._auto is not None:
                self._auto.cancel()
                self._auto = None

        self._call(go())
