"""A stand-in for Binance spot on 127.0.0.1: signed REST plus the WebSocket API user-data stream.

Written from `reference/binance.md`, for tests that must not touch the
internet. It checks what Binance checks (API key header, HMAC-SHA256 or
Ed25519 signatures over query string + body, `timestamp` against
`recvWindow`: -2014/-2015, -1022, -1021), keeps orders, trades and balances,
and tells a subscribed WebSocket API connection about them with
`executionReport` and `outboundAccountPosition` events wrapped as
`{"subscriptionId": n, "event": {...}}`.

Nothing fills by itself: a test calls `fill(client_id, qty, price)` (or turns
on `auto_fill`). Faults are injected with `fail_next(...)`, `drop_user_stream()`,
`hold_events()`, `fill_on_cancel(...)`, `set_time_offset(...)`.

Usage::

    fake = FakeBinance()
    rest_url, ws_api_url = fake.start()      # own thread, own event loop
    ...
    fake.stop()

or from a shell (for end-to-end runs of the bot in a subprocess)::

    python -m tests.fakes.binance_exchange --port 18080

Every public method is thread-safe: it runs on the fake's loop and waits.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote

from aiohttp import WSMsgType, web

DEFAULT_API_KEY = "fakeKey0vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7"
DEFAULT_API_SECRET = "fakeSecret0NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvq"

SIGNED_PATHS = {
    "/api/v3/account",
    "/api/v3/order",
    "/api/v3/openOrders",
    "/api/v3/myTrades",
    "/api/v3/allOrders",
    "/api/v3/account/commission",
    "/sapi/v1/account/apiRestrictions",
}
WEIGHTS = {
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/account"): 20,
    ("GET", "/api/v3/account/commission"): 20,
    ("GET", "/sapi/v1/account/apiRestrictions"): 1,
    ("POST", "/api/v3/order"): 1,
    ("DELETE", "/api/v3/order"): 1,
    ("GET", "/api/v3/order"): 4,
    ("GET", "/api/v3/openOrders"): 6,
    ("GET", "/api/v3/myTrades"): 5,
    ("GET", "/api/v3/allOrders"): 20,
}
FAULTS = {
    "503_after_accept",  # the order is placed, the answer is a 503
    "timeout_after_accept",  # the order is placed, no answer ever comes
    "drop_after_accept",  # the order is placed, the connection is cut
    "503_before_accept",  # a 503 and nothing placed
    "timeout_before_accept",  # no answer and nothing placed
    "429",  # HTTP 429 with Retry-After, nothing done
    "418",  # HTTP 418 with Retry-After, nothing done
    "-1021",  # timestamp refused once, nothing done
    "-1022",  # signature refused once
}


def _d(text: Any) -> Decimal:
    return Decimal(str(text))


def _s8(value: Decimal) -> str:
    """Binance pads decimals to 8 places: "0.01000000"."""
    return f"{value:.8f}"


@dataclass
class RequestRecord:
    method: str  # GET/POST/DELETE, or "WS" for a WebSocket API request
    path: str  # REST path, or the WS-API method
    query: str  # raw query string (REST) / the raw JSON frame (WS)
    body: str
    api_key_header: str | None
    t: float  # time.monotonic() when it arrived
    status: int = 0
    code: int | None = None


@dataclass
class FakeOrder:
    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    time: int
    executed_qty: Decimal = Decimal(0)
    cum_quote: Decimal = Decimal(0)
    status: str = "NEW"
    update_time: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": _s8(self.price),
            "origQty": _s8(self.orig_qty),
            "executedQty": _s8(self.executed_qty),
            "cummulativeQuoteQty": _s8(self.cum_quote),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
            "stopPrice": "0.00000000",
            "icebergQty": "0.00000000",
            "time": self.time,
            "updateTime": self.update_time,
            "isWorking": True,
            "workingTime": self.time,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }


@dataclass
class _Fault:
    kind: str
    method: str
    path: str
    count: int
    retry_after: int


@dataclass
class _Sub:
    ws: web.WebSocketResponse
    subscription_id: int
    request: Any = field(default=None, repr=False)


class FakeBinance:
    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        ed25519_public_key_pem: bytes | str | None = None,
        symbol: str = "TRUMPUSDC",
        base_asset: str = "TRUMP",
        quote_asset: str = "USDC",
        tick_size: str = "0.01",
        step_size: str = "0.001",
        min_qty: str = "0.001",
        max_qty: str = "9000000",
        min_notional: str = "1",
        max_notional: str = "9000000",
        status: str = "TRADING",
        balances: dict[str, str] | None = None,
        commission_rate: str = "0.001",
        taker_rate: str | None = None,
        bnb_discount: str | None = None,
        can_trade: bool = True,
        can_withdraw: bool = False,
        api_restrictions: bool = True,
        commission_endpoint: bool = True,
        order_types: tuple[str, ...] = ("LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self._api_secret = api_secret
        self._ed_key = None
        if ed25519_public_key_pem is not None:
            from cryptography.hazmat.primitives import serialization

            pem = ed25519_public_key_pem.encode() if isinstance(ed25519_public_key_pem, str) else ed25519_public_key_pem
            self._ed_key = serialization.load_pem_public_key(pem)
        self.symbol = symbol
        self.base_asset = base_asset
        self.quote_asset = quote_asset
        self.tick_size = _d(tick_size)
        self.step_size = _d(step_size)
        self.min_qty = _d(min_qty)
        self.max_qty = _d(max_qty)
        self.min_notional = _d(min_notional)
        self.max_notional = _d(max_notional)
        self.symbol_status = status
        self.commission_rate = _d(commission_rate)  # a maker fill's (and a taker's, without taker_rate)
        self.taker_rate = _d(taker_rate) if taker_rate is not None else self.commission_rate
        # the account pays fees in BNB with this much off (GET /api/v3/account/commission says so); fills still
        # charge commission_rate in the traded assets (the stand-in keeps no BNB)
        self.bnb_discount = _d(bnb_discount) if bnb_discount is not None else None
        self.can_trade = can_trade
        self.can_withdraw = can_withdraw  # the key's enableWithdrawals
        self.api_restrictions = api_restrictions  # False: no /sapi (as on the Spot Testnet): 404
        self.order_types = order_types
        self.commission_endpoint = commission_endpoint  # False: GET /api/v3/account/commission is refused (404)
        start = balances if balances is not None else {quote_asset: "1000", base_asset: "0"}
        self._balances: dict[str, list[Decimal]] = {a: [_d(v), Decimal(0)] for a, v in start.items()}
        for a in (base_asset, quote_asset):
            self._balances.setdefault(a, [Decimal(0), Decimal(0)])
        self._balance_time = self._now_ms_raw()
        self._host = host
        self._port = port
        self.time_offset_ms = 0
        self.auto_fill = False
        self._orders: list[FakeOrder] = []
        self._trades: list[dict[str, Any]] = []
        self._requests: list[RequestRecord] = []
        self._faults: list[_Fault] = []
        self._fill_on_cancel: dict[str, tuple[Decimal | None, Decimal | None]] = {}
        self._subs: list[_Sub] = []
        self._sockets: dict[web.WebSocketResponse, web.Request] = {}
        self._stream_blocked = False
        self._holding = False
        self._held: list[dict[str, Any]] = []
        self._sending: set[asyncio.Future[Any]] = set()
        self._order_ids = itertools.count(1000)
        self._trade_ids = itertools.count(5000)
        self._sub_ids = itertools.count(0)
        self._cancel_ids = itertools.count(1)
        self._weights: list[tuple[float, int]] = []
        self._order_times: list[float] = []
        self._orders_today = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.rest_url = ""
        self.ws_api_url = ""

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> tuple[str, str]:
        """Serve on its own thread; returns (rest_url, ws_api_url)."""
        self._thread = threading.Thread(target=self._run, name="fake-binance", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Binance did not start")
        if self._error is not None:
            raise RuntimeError(f"the fake Binance did not start: {self._error!r}")
        return self.rest_url, self.ws_api_url

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        try:
            fut.result(10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)

    def __enter__(self) -> FakeBinance:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            tasks = asyncio.all_tasks(loop)
            for t in tasks:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/api/v3/{name:.*}", self._rest)
        app.router.add_route("*", "/sapi/v1/{name:.*}", self._rest)
        app.router.add_get("/ws-api/v3", self._ws)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.rest_url = f"http://{self._host}:{port}"
        self.ws_api_url = f"ws://{self._host}:{port}/ws-api/v3"

    async def _shutdown(self) -> None:
        assert self._stopped is not None
        self._stopped.set()
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `fn` on the fake's loop (where all its state lives) and wait for it."""
        assert self._loop is not None, "start() the fake first"

        async def run() -> Any:
            result = fn(*args, **kwargs)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    # -- test controls --------------------------------------------------------------------

    def fail_next(
        self, kind: str, *, method: str = "POST", path: str = "/api/v3/order", count: int = 1, retry_after: int = 1
    ) -> None:
        """Make the next `count` requests to `method path` fail as `kind` (see FAULTS).

        For the WebSocket API use method="WS" and path=<WS-API method>, e.g.
        `fail_next("-1021", method="WS", path="userDataStream.subscribe.signature")`.
        """
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; choose one of {sorted(FAULTS)}")
        self._call(self._faults.append, _Fault(kind, method, path, count, retry_after))

    def fill(self, client_order_id: str, qty: str | Decimal | None = None, price: str | Decimal | None = None,
             *, maker: bool = True) -> dict[str, Any]:
        """Fill (part of) the open order with this client id; qty defaults to what remains."""
        return self._call(self._fill_by_cid, client_order_id, qty, price, maker)

    def fill_on_cancel(self, client_order_id: str, qty: str | None = None, price: str | None = None) -> None:
        """The race: when a cancel for this order arrives, it fills first and the cancel gets -2011."""
        self._call(self._fill_on_cancel.__setitem__, client_order_id, (_d(qty) if qty else None,
                                                                        _d(price) if price else None))

    def expire(self, client_order_id: str) -> None:
        self._call(self._expire, client_order_id)

    def drop_user_stream(self, *, block: bool = False) -> None:
        """Cut every WebSocket API connection; with block=True refuse new ones until allow_user_stream()."""
        self._call(self._drop_streams, block)

    def allow_user_stream(self) -> None:
        self._call(setattr, self, "_stream_blocked", False)

    def hold_events(self) -> None:
        """Keep user-data events back (they are late, not lost) until release_events()."""
        self._call(setattr, self, "_holding", True)

    def release_events(self) -> None:
        self._call(self._release)

    def set_time_offset(self, ms: int) -> None:
        """Move the server clock (a client that does not re-sync gets -1021)."""
        self._call(setattr, self, "time_offset_ms", ms)

    def set_auto_fill(self, on: bool) -> None:
        """Fill every new order completely, at its price, right after accepting it."""
        self._call(setattr, self, "auto_fill", on)

    def set_symbol_status(self, status: str) -> None:
        self._call(setattr, self, "symbol_status", status)

    def set_balance(self, asset: str, free: str, locked: str | None = None, *, notify: bool = False) -> None:
        self._call(self._set_balance, asset, _d(free), _d(locked) if locked is not None else None, notify)

    # -- inspection -------------------------------------------------------------------------

    @property
    def orders(self) -> list[dict[str, Any]]:
        return self._call(lambda: [o.to_json() for o in self._orders])

    def orders_for(self, client_order_id: str) -> list[dict[str, Any]]:
        return [o for o in self.orders if o["clientOrderId"] == client_order_id]

    @property
    def trades(self) -> list[dict[str, Any]]:
        return self._call(lambda: [dict(t) for t in self._trades])

    @property
    def requests(self) -> list[RequestRecord]:
        return self._call(lambda: [RequestRecord(**asdict(r)) for r in self._requests])

    def requests_to(self, method: str, path: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.method == method and r.path == path]

    @property
    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        return self._call(lambda: {a: (v[0], v[1]) for a, v in self._balances.items()})

    @property
    def subscriptions(self) -> int:
        return self._call(lambda: sum(1 for s in self._subs if not s.ws.closed))

    def wait_for(self, check: Callable[[FakeBinance], Any], timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check(self)
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError("the fake Binance never reached the expected state")
            time.sleep(0.01)

    # -- clock, weights ---------------------------------------------------------------------

    @staticmethod
    def _now_ms_raw() -> int:
        return int(time.time() * 1000)

    def now_ms(self) -> int:
        return self._now_ms_raw() + self.time_offset_ms

    def _weight_headers(self, method: str, path: str, *, order_placed: bool = False) -> dict[str, str]:
        now = time.monotonic()
        self._weights = [(t, w) for t, w in self._weights if now - t < 60]
        self._weights.append((now, WEIGHTS.get((method, path), 1)))
        headers = {"X-MBX-USED-WEIGHT-1M": str(sum(w for _, w in self._weights))}
        if order_placed:
            self._order_times = [t for t in self._order_times if now - t < 10]
            self._order_times.append(now)
            self._orders_today += 1
            headers["X-MBX-ORDER-COUNT-10S"] = str(len(self._order_times))
            headers["X-MBX-ORDER-COUNT-1D"] = str(self._orders_today)
        return headers

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for f in self._faults:
            if f.method == method and f.path == path and f.count > 0:
                f.count -= 1
                if f.count == 0:
                    self._faults.remove(f)
                return f
        return None

    # -- REST -----------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        method, path = request.method, request.path
        body = await request.text() if request.can_read_body else ""
        rec = RequestRecord(
            method=method,
            path=path,
            query=request.query_string,
            body=body,
            api_key_header=request.headers.get("X-MBX-APIKEY"),
            t=time.monotonic(),
        )
        self._requests.append(rec)

        def answer(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
            rec.status = status
            if isinstance(payload, dict) and isinstance(payload.get("code"), int) and status >= 400:
                rec.code = payload["code"]
            h = self._weight_headers(method, path) if not headers else headers
            return web.json_response(payload, status=status, headers=h)

        fault = self._take_fault(method, path)
        if fault is not None and fault.kind in ("429", "418"):
            rec.status = int(fault.kind)
            code = -1003  # the weight limit, for a 429 and for the ban (418) that follows ignoring it
            return web.json_response(
                {"code": code, "msg": "Too much request weight used; current limit is 6000 request weight per 1 MINUTE."},
                status=int(fault.kind),
                headers={"Retry-After": str(fault.retry_after), **self._weight_headers(method, path)},
            )
        if fault is not None and fault.kind == "503_before_accept":
            return answer(503, {"code": -1001, "msg": "Internal error; unable to process your request."})
        if fault is not None and fault.kind == "timeout_before_accept":
            await self._hang()
            return answer(503, {"code": -1007, "msg": "Timeout waiting for response from backend server."})

        params: dict[str, str] = {}
        for k, v in parse_qsl(body, keep_blank_values=True):
            params[k] = v
        for k, v in parse_qsl(request.query_string, keep_blank_values=True):
            params[k] = v  # the query string wins over the body
        if path in SIGNED_PATHS:
            if fault is not None and fault.kind == "-1021":
                return answer(400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."})
            if fault is not None and fault.kind == "-1022":
                return answer(400, {"code": -1022, "msg": "Signature for this request is not valid."})
            error = self._check_signed(request.headers.get("X-MBX-APIKEY"), request.query_string, body, params)
            if error is not None:
                status, payload = error
                return answer(status, payload)
        try:
            status, payload, extra = self._route(method, path, params)
        except _ApiError as exc:
            return answer(exc.status, {"code": exc.code, "msg": exc.msg})
        headers = self._weight_headers(method, path, order_placed=(method, path) == ("POST", "/api/v3/order"))
        headers.update(extra)
        if fault is not None and (method, path) == ("POST", "/api/v3/order"):
            if fault.kind == "503_after_accept":
                return answer(503, {"code": -1001, "msg": "Internal error; unable to process your request."})
            if fault.kind == "timeout_after_accept":
                await self._hang()
                return answer(503, {"code": -1007, "msg": "Timeout waiting for response from backend server."})
            if fault.kind == "drop_after_accept":
                rec.status = -1
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
        return answer(status, payload, headers)

    async def _hang(self) -> None:
        assert self._stopped is not None
        await self._stopped.wait()

    def _check_signed(
        self, key: str | None, query: str, body: str, params: dict[str, str]
    ) -> tuple[int, dict[str, Any]] | None:
        if not key:
            return 401, {"code": -2014, "msg": "API-key format invalid."}
        if key != self.api_key:
            return 401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
        q_payload, q_sig = _strip_signature(query)
        b_payload, b_sig = _strip_signature(body)
        sig = q_sig or b_sig
        if sig is None:
            return 400, {"code": -1102, "msg": "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."}
        if not self._verify(q_payload + b_payload, unquote(sig)):
            return 400, {"code": -1022, "msg": "Signature for this request is not valid."}
        return self._check_time(params.get("timestamp"), params.get("recvWindow"))

    def _verify(self, payload: str, signature: str) -> bool:
        if self._ed_key is not None:
            try:
                self._ed_key.verify(base64.b64decode(signature), payload.encode())
                return True
            except Exception:  # noqa: BLE001 - any failure is an invalid signature
                return False
        expected = hmac.new(self._api_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature.lower())

    def _check_time(self, timestamp: str | None, recv_window: str | None) -> tuple[int, dict[str, Any]] | None:
        if not timestamp:
            return 400, {"code": -1102, "msg": "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."}
        try:
            ts = int(timestamp)
            window = Decimal(recv_window) if recv_window else Decimal(5000)
        except (ValueError, ArithmeticError):
            return 400, {"code": -1102, "msg": "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."}
        if window > 60000:
            return 400, {"code": -1131, "msg": "recvWindow must be less than 60000"}
        server = self.now_ms()
        if ts >= server + 1000:
            return 400, {"code": -1021, "msg": "Timestamp for this request was 1000ms ahead of the server's time."}
        if server - ts > window:
            return 400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
        return None

    def _route(self, method: str, path: str, p: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        key = (method, path)
        if key == ("GET", "/api/v3/ping"):
            return 200, {}, {}
        if key == ("GET", "/api/v3/time"):
            return 200, {"serverTime": self.now_ms()}, {}
        if key == ("GET", "/api/v3/exchangeInfo"):
            return 200, self._exchange_info(p.get("symbol")), {}
        if key == ("GET", "/api/v3/account"):
            return 200, self._account(), {}
        if key == ("GET", "/api/v3/account/commission"):
            if not self.commission_endpoint:
                raise _ApiError(404, -1099, "Not found.")
            self._symbol_ok(p)
            return 200, self._commission(), {}
        if key == ("GET", "/sapi/v1/account/apiRestrictions"):
            if not self.api_restrictions:
                raise _ApiError(404, -1000, "unknown endpoint (no /sapi here)")
            return 200, {"ipRestrict": False, "createTime": 1698645219000, "enableWithdrawals": self.can_withdraw,
                         "enableInternalTransfer": False, "permitsUniversalTransfer": False,
                         "enableVanillaOptions": False, "enableReading": True, "enableFutures": False,
                         "enableMargin": False, "enableSpotAndMarginTrading": self.can_trade,
                         "tradingAuthorityExpirationTime": 0}, {}
        if key == ("POST", "/api/v3/order"):
            return self._place(p)
        if key == ("GET", "/api/v3/order"):
            return 200, self._find(p, -2013, "Order does not exist.").to_json(), {}
        if key == ("DELETE", "/api/v3/order"):
            return self._cancel(p)
        if key == ("GET", "/api/v3/openOrders"):
            self._symbol_ok(p, required=False)
            return 200, [o.to_json() for o in self._orders if o.is_open], {}
        if key == ("GET", "/api/v3/allOrders"):
            self._symbol_ok(p)
            return 200, [o.to_json() for o in self._orders], {}
        if key == ("GET", "/api/v3/myTrades"):
            self._symbol_ok(p)
            rows = self._trades
            if p.get("orderId"):
                rows = [t for t in rows if str(t["orderId"]) == p["orderId"]]
            if p.get("fromId"):
                rows = [t for t in rows if t["id"] >= int(p["fromId"])]
            return 200, [dict(t) for t in rows[: int(p.get("limit", 500))]], {}
        raise _ApiError(404, -1000, f"unknown endpoint {method} {path}")

    def _symbol_ok(self, p: dict[str, str], *, required: bool = True) -> None:
        sym = p.get("symbol")
        if sym is None:
            if required:
                raise _ApiError(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
            return
        if sym != self.symbol:
            raise _ApiError(400, -1121, "Invalid symbol.")

    def _exchange_info(self, symbol: str | None) -> dict[str, Any]:
        if symbol is not None and symbol != self.symbol:
            raise _ApiError(400, -1121, "Invalid symbol.")
        return {
            "timezone": "UTC",
            "serverTime": self.now_ms(),
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
            ],
            "exchangeFilters": [],
            "symbols": [
                {
                    "symbol": self.symbol,
                    "status": self.symbol_status,
                    "baseAsset": self.base_asset,
                    "baseAssetPrecision": 8,
                    "quoteAsset": self.quote_asset,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "orderTypes": list(self.order_types),
                    "icebergAllowed": True,
                    "ocoAllowed": True,
                    "cancelReplaceAllowed": True,
                    "amendAllowed": True,
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "permissions": [],
                    "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                    "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
                    "filters": [
                        {"filterType": "PRICE_FILTER", "minPrice": _s8(self.tick_size),
                         "maxPrice": "1000000.00000000", "tickSize": _s8(self.tick_size)},
                        {"filterType": "LOT_SIZE", "minQty": _s8(self.min_qty), "maxQty": _s8(self.max_qty),
                         "stepSize": _s8(self.step_size)},
                        {"filterType": "NOTIONAL", "minNotional": _s8(self.min_notional), "applyMinToMarket": True,
                         "maxNotional": _s8(self.max_notional), "applyMaxToMarket": False, "avgPriceMins": 5},
                        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
                    ],
                }
            ],
        }

    def _account(self) -> dict[str, Any]:
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "commissionRates": {"maker": _s8(self.commission_rate), "taker": _s8(self.taker_rate),
                                "buyer": "0.00000000", "seller": "0.00000000"},
            "canTrade": self.can_trade,
            "canWithdraw": True,
            "canDeposit": True,
            "updateTime": self._balance_time,
            "accountType": "SPOT",
            "balances": [{"asset": a, "free": _s8(v[0]), "locked": _s8(v[1])} for a, v in self._balances.items()],
            "permissions": ["SPOT"],
            "uid": 354937868,
        }

    def _commission(self) -> dict[str, Any]:
        zero = {"maker": "0.00000000", "taker": "0.00000000", "buyer": "0.00000000", "seller": "0.00000000"}
        on = self.bnb_discount is not None
        return {
            "symbol": self.symbol,
            "standardCommission": {**zero, "maker": _s8(self.commission_rate), "taker": _s8(self.taker_rate)},
            "specialCommission": dict(zero),
            "taxCommission": dict(zero),
            # what is LEFT of the standard commission when paid in BNB (0.75 = a quarter off)
            "discount": {"enabledForAccount": on, "enabledForSymbol": on, "discountAsset": "BNB",
                         "discount": _s8(1 - self.bnb_discount) if self.bnb_discount is not None else "0.75000000"},
        }

    # -- orders ------------------------------------------------------------------------------

    def _place(self, p: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        for name in ("symbol", "side", "type"):
            if not p.get(name):
                raise _ApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
        self._symbol_ok(p)
        side, otype = p["side"], p["type"]
        if side not in ("BUY", "SELL"):
            raise _ApiError(400, -1100, "Illegal characters found in parameter 'side'.")
        if otype not in ("LIMIT", "LIMIT_MAKER"):
            raise _ApiError(400, -1116, "Invalid orderType.")
        tif = p.get("timeInForce", "")
        if otype == "LIMIT" and tif not in ("GTC", "IOC", "FOK"):
            raise _ApiError(400, -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.")
        for name in ("quantity", "price"):
            if not p.get(name):
                raise _ApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
        try:
            qty, price = _d(p["quantity"]), _d(p["price"])
        except ArithmeticError:
            raise _ApiError(400, -1100, "Illegal characters found in a parameter.") from None
        for name, value in (("quantity", qty), ("price", price)):
            if not value.is_finite() or value <= 0:
                raise _ApiError(400, -1100, f"Illegal characters found in parameter '{name}'.")
            if "e" in p[name].lower() or -value.as_tuple().exponent > 8:  # type: ignore[operator]
                raise _ApiError(400, -1111, f"Parameter '{name}' has too much precision.")
        cid = p.get("newClientOrderId") or f"fake_{next(self._order_ids)}"
        if not (1 <= len(cid) <= 36) or not all(c.isalnum() or c in "-_" for c in cid):
            raise _ApiError(400, -1100, "Illegal characters found in parameter 'newClientOrderId'.")
        if price % self.tick_size != 0 or price < self.tick_size:
            raise _ApiError(400, -1013, "Filter failure: PRICE_FILTER")
        if qty % self.step_size != 0 or qty < self.min_qty or qty > self.max_qty:
            raise _ApiError(400, -1013, "Filter failure: LOT_SIZE")
        if price * qty < self.min_notional or price * qty > self.max_notional:
            raise _ApiError(400, -1013, "Filter failure: NOTIONAL")
        if self.symbol_status != "TRADING":
            raise _ApiError(400, -2010, "Market is closed.")
        if any(o.client_order_id == cid and o.is_open for o in self._orders):
            raise _ApiError(400, -2010, "Duplicate order sent.")
        asset, need = (self.quote_asset, price * qty) if side == "BUY" else (self.base_asset, qty)
        bal = self._balances[asset]
        if bal[0] < need:
            raise _ApiError(400, -2010, "Account has insufficient balance for requested action.")
        bal[0] -= need
        bal[1] += need
        now = self.now_ms()
        self._balance_time = now
        o = FakeOrder(
            order_id=next(self._order_ids),
            client_order_id=cid,
            symbol=self.symbol,
            side=side,
            type=otype,
            time_in_force=tif or "GTC",
            price=price,
            orig_qty=qty,
            time=now,
            update_time=now,
        )
        self._orders.append(o)
        self._event(self._execution_report(o, "NEW"))
        self._event(self._account_position([asset]))
        resp_type = p.get("newOrderRespType", "FULL")
        fills: list[dict[str, Any]] = []
        if self.auto_fill:
            self._loop.call_soon(self._fill, o, o.orig_qty, o.price, True)  # type: ignore[union-attr]
        result: dict[str, Any] = {
            "symbol": o.symbol,
            "orderId": o.order_id,
            "orderListId": -1,
            "clientOrderId": o.client_order_id,
            "transactTime": now,
        }
        if resp_type in ("RESULT", "FULL"):
            j = o.to_json()
            for k in ("price", "origQty", "executedQty", "origQuoteOrderQty", "cummulativeQuoteQty", "status",
                      "timeInForce", "type", "side", "workingTime", "selfTradePreventionMode"):
                result[k] = j[k]
        if resp_type == "FULL":
            result["fills"] = fills
        return 200, result, {}

    def _find(self, p: dict[str, str], code: int, msg: str) -> FakeOrder:
        self._symbol_ok(p)
        if p.get("orderId"):
            for o in self._orders:
                if str(o.order_id) == p["orderId"]:
                    return o
        elif p.get("origClientOrderId"):
            matches = [o for o in self._orders if o.client_order_id == p["origClientOrderId"]]
            if matches:
                open_ones = [o for o in matches if o.is_open]
                return (open_ones or matches)[-1]
        else:
            raise _ApiError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        raise _ApiError(400, code, msg)

    def _cancel(self, p: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        cid = p.get("origClientOrderId", "")
        try:
            o = self._find(p, -2011, "Unknown order sent.")
        except _ApiError:
            raise
        race = self._fill_on_cancel.pop(o.client_order_id, None)
        if race is not None and o.is_open:
            qty, price = race
            self._fill(o, qty or (o.orig_qty - o.executed_qty), price or o.price, True)
        if not o.is_open:
            raise _ApiError(400, -2011, "Unknown order sent.")
        o.status = "CANCELED"
        o.update_time = self.now_ms()
        rest = o.orig_qty - o.executed_qty
        asset, amount = (self.quote_asset, rest * o.price) if o.side == "BUY" else (self.base_asset, rest)
        self._balances[asset][1] -= amount
        self._balances[asset][0] += amount
        self._balance_time = o.update_time
        cancel_id = p.get("newClientOrderId") or f"cancel_{next(self._cancel_ids)}"
        self._event(self._execution_report(o, "CANCELED", client_id=cancel_id, orig_client_id=o.client_order_id))
        self._event(self._account_position([asset]))
        j = o.to_json()
        result = {
            "symbol": o.symbol,
            "origClientOrderId": cid or o.client_order_id,
            "orderId": o.order_id,
            "orderListId": -1,
            "clientOrderId": cancel_id,
            "transactTime": o.update_time,
        }
        for k in ("price", "origQty", "executedQty", "cummulativeQuoteQty", "status", "timeInForce", "type", "side",
                  "selfTradePreventionMode"):
            result[k] = j[k]
        return 200, result, {}

    def _fill_by_cid(self, cid: str, qty: Any, price: Any, maker: bool) -> dict[str, Any]:
        o = next((o for o in reversed(self._orders) if o.client_order_id == cid and o.is_open), None)
        if o is None:
            raise ValueError(f"no open order with client id {cid!r}")
        q = _d(qty) if qty is not None else o.orig_qty - o.executed_qty
        pr = _d(price) if price is not None else o.price
        return self._fill(o, q, pr, maker)

    def _fill(self, o: FakeOrder, qty: Decimal, price: Decimal, maker: bool) -> dict[str, Any]:
        if not o.is_open:
            return {}
        if qty <= 0 or qty > o.orig_qty - o.executed_qty:
            raise ValueError(f"fill qty {qty} does not fit the order's remaining {o.orig_qty - o.executed_qty}")
        now = self.now_ms()
        quote_qty = qty * price
        rate = self.commission_rate if maker else self.taker_rate
        if o.side == "BUY":
            commission, c_asset = qty * rate, self.base_asset
            q = self._balances[self.quote_asset]
            q[1] -= qty * o.price
            q[0] += qty * o.price - quote_qty
            self._balances[self.base_asset][0] += qty - commission
        else:
            commission, c_asset = quote_qty * rate, self.quote_asset
            self._balances[self.base_asset][1] -= qty
            self._balances[self.quote_asset][0] += quote_qty - commission
        self._balance_time = now
        o.executed_qty += qty
        o.cum_quote += quote_qty
        o.status = "FILLED" if o.executed_qty >= o.orig_qty else "PARTIALLY_FILLED"
        o.update_time = now
        trade = {
            "symbol": o.symbol,
            "id": next(self._trade_ids),
            "orderId": o.order_id,
            "orderListId": -1,
            "price": _s8(price),
            "qty": _s8(qty),
            "quoteQty": _s8(quote_qty),
            "commission": _s8(commission),
            "commissionAsset": c_asset,
            "time": now,
            "isBuyer": o.side == "BUY",
            "isMaker": maker,
            "isBestMatch": True,
        }
        self._trades.append(trade)
        self._event(self._execution_report(o, "TRADE", trade=trade))
        self._event(self._account_position([self.base_asset, self.quote_asset]))
        return dict(trade)

    def _expire(self, cid: str) -> None:
        o = next((o for o in reversed(self._orders) if o.client_order_id == cid and o.is_open), None)
        if o is None:
            raise ValueError(f"no open order with client id {cid!r}")
        o.status = "EXPIRED"
        o.update_time = self.now_ms()
        rest = o.orig_qty - o.executed_qty
        asset, amount = (self.quote_asset, rest * o.price) if o.side == "BUY" else (self.base_asset, rest)
        self._balances[asset][1] -= amount
        self._balances[asset][0] += amount
        self._event(self._execution_report(o, "EXPIRED"))
        self._event(self._account_position([asset]))

    def _set_balance(self, asset: str, free: Decimal, locked: Decimal | None, notify: bool) -> None:
        bal = self._balances.setdefault(asset, [Decimal(0), Decimal(0)])
        bal[0] = free
        if locked is not None:
            bal[1] = locked
        if notify:
            self._balance_time = self.now_ms()
            self._event(self._account_position([asset]))

    # -- user-data events -------------------------------------------------------------------

    def _execution_report(
        self, o: FakeOrder, exec_type: str, *, trade: dict[str, Any] | None = None, client_id: str | None = None,
        orig_client_id: str = "",
    ) -> dict[str, Any]:
        now = self.now_ms()
        return {
            "e": "executionReport",
            "E": now,
            "s": o.symbol,
            "c": client_id or o.client_order_id,
            "S": o.side,
            "o": o.type,
            "f": o.time_in_force,
            "q": _s8(o.orig_qty),
            "p": _s8(o.price),
            "P": "0.00000000",
            "F": "0.00000000",
            "g": -1,
            "C": orig_client_id,
            "x": exec_type,
            "X": o.status,
            "r": "NONE",
            "i": o.order_id,
            "l": trade["qty"] if trade else "0.00000000",
            "z": _s8(o.executed_qty),
            "L": trade["price"] if trade else "0.00000000",
            "n": trade["commission"] if trade else "0",
            "N": trade["commissionAsset"] if trade else None,
            "T": o.update_time,
            "t": trade["id"] if trade else -1,
            "v": 0,
            "I": next(self._trade_ids) * 2,
            "w": o.is_open,
            "m": bool(trade and trade["isMaker"]),
            "M": False,
            "O": o.time,
            "Z": _s8(o.cum_quote),
            "Y": trade["quoteQty"] if trade else "0.00000000",
            "Q": "0.00000000",
            "W": o.time,
            "V": "EXPIRE_MAKER",
        }

    def _account_position(self, assets: list[str]) -> dict[str, Any]:
        return {
            "e": "outboundAccountPosition",
            "E": self.now_ms(),
            "u": self._balance_time,
            "B": [{"a": a, "f": _s8(self._balances[a][0]), "l": _s8(self._balances[a][1])} for a in assets],
        }

    def _event(self, event: dict[str, Any]) -> None:
        if self._holding:
            self._held.append(event)
            return
        for sub in list(self._subs):
            if sub.ws.closed:
                self._subs.remove(sub)
                continue
            task = asyncio.ensure_future(_send(sub.ws, {"subscriptionId": sub.subscription_id, "event": event}))
            self._sending.add(task)  # held until sent: a task nobody references may be collected
            task.add_done_callback(self._sending.discard)

    def _release(self) -> None:
        self._holding = False
        held, self._held = self._held, []
        for ev in held:
            self._event(ev)

    async def _drop_streams(self, block: bool) -> None:
        self._stream_blocked = block or self._stream_blocked
        self._subs.clear()
        for ws, req in list(self._sockets.items()):
            transport = req.transport
            if transport is not None:
                transport.abort()  # a dropped connection, not a polite close
            else:
                await ws.close()

    # -- WebSocket API -----------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if self._stream_blocked:
            return web.Response(status=503, text="Service Unavailable")
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self._sockets[ws] = request
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                reply = self._ws_request(ws, msg.data)
                if reply is not None:
                    await ws.send_str(json.dumps(reply))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._sockets.pop(ws, None)
            self._subs = [s for s in self._subs if s.ws is not ws]
        return ws

    def _ws_request(self, ws: web.WebSocketResponse, raw: str) -> dict[str, Any] | None:
        try:
            req = json.loads(raw)
            req_id, method, params = req.get("id"), req["method"], req.get("params") or {}
        except (ValueError, KeyError, AttributeError):
            return {"id": None, "status": 400, "error": {"code": -1102, "msg": "Malformed request."}}
        rec = RequestRecord(method="WS", path=str(method), query="", body=raw, api_key_header=None, t=time.monotonic())
        self._requests.append(rec)

        def error(status: int, code: int, msg: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
            rec.status, rec.code = status, code
            err: dict[str, Any] = {"code": code, "msg": msg}
            if data:
                err["data"] = data
            return {"id": req_id, "status": status, "error": err}

        def ok(result: Any) -> dict[str, Any]:
            rec.status = 200
            return {
                "id": req_id,
                "status": 200,
                "result": result,
                "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                                "limit": 6000, "count": 2}],
            }

        fault = self._take_fault("WS", str(method))
        if fault is not None:
            if fault.kind in ("429", "418"):
                return error(int(fault.kind), -1003, "Too much request weight used.",
                             {"retryAfter": self._now_ms_raw() + fault.retry_after * 1000})
            if fault.kind == "-1021":
                return error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
            if fault.kind == "-1022":
                return error(400, -1022, "Signature for this request is not valid.")
        if method == "ping":
            return ok({})
        if method == "time":
            return ok({"serverTime": self.now_ms()})
        if method == "userDataStream.subscribe.signature":
            if params.get("apiKey") != self.api_key:
                return error(401, -2015, "Invalid API-key, IP, or permissions for action.")
            sig = params.get("signature")
            if not isinstance(sig, str):
                return error(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
            payload = "&".join(f"{k}={_ws_text(v)}" for k, v in sorted(params.items()) if k != "signature")
            if not self._verify(payload, sig):
                return error(400, -1022, "Signature for this request is not valid.")
            bad_time = self._check_time(str(params.get("timestamp", "")), str(params.get("recvWindow", "")) or None)
            if bad_time is not None:
                return error(bad_time[0], bad_time[1]["code"], bad_time[1]["msg"])
            if any(s.ws is ws for s in self._subs):
                return error(400, -2035, "User Data Stream subscription already active.")
            sub = _Sub(ws=ws, subscription_id=next(self._sub_ids))
            self._subs.append(sub)
            return ok({"subscriptionId": sub.subscription_id})
        if method == "userDataStream.unsubscribe":
            before = len(self._subs)
            self._subs = [s for s in self._subs if s.ws is not ws]
            if before == len(self._subs):
                return error(400, -2036, "User Data Stream subscription not active.")
            return ok({})
        if method == "session.status":
            return ok({"userDataStream": any(s.ws is ws for s in self._subs)})
        return error(400, -1100, f"Unknown method {method!r}.")


class _ApiError(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def _strip_signature(text: str) -> tuple[str, str | None]:
    """(the text without its `signature=` param, the signature) — Binance signs everything else."""
    if not text:
        return "", None
    parts = text.split("&")
    sig = None
    kept = []
    for part in parts:
        if part.startswith("signature="):
            sig = part[len("signature="):]
        else:
            kept.append(part)
    return "&".join(kept), sig


def _ws_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def _send(ws: web.WebSocketResponse, payload: dict[str, Any]) -> None:
    try:
        await ws.send_str(json.dumps(payload))
    except (ConnectionResetError, RuntimeError):
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local stand-in for Binance spot (REST + WS-API user data).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--api-secret", default=DEFAULT_API_SECRET)
    parser.add_argument("--quote-balance", default="1000")
    parser.add_argument("--auto-fill", action="store_true", help="fill every order completely on arrival")
    args = parser.parse_args(argv)
    fake = FakeBinance(
        api_key=args.api_key,
        api_secret=args.api_secret,
        host=args.host,
        port=args.port,
        balances={"USDC": args.quote_balance, "TRUMP": "0"},
    )
    rest_url, ws_url = fake.start()
    fake.set_auto_fill(args.auto_fill)
    print(json.dumps({"rest_url": rest_url, "ws_api_url": ws_url}), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    fake.stop()


if __name__ == "__main__":
    main()
