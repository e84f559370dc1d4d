"""The loop side of the status page: the aiohttp app, the refresher, the pushes and the controls.

Everything in `StatusServer` runs on the `status-server-io` loop thread and
nothing else touches it. Handlers only read `self._view`, an immutable
`View` that the refresher swaps whole, so a request never waits on an actor.
The refresher asks the keeper and the peers without blocking
(`ask(..., block=False)`) and waits for the answers on a small thread pool
(`run_in_executor(pool, future.get, timeout)`): a pykka future is never
awaited on the loop (reference/pykka.md, section 2). It runs every
`refresh_s`, and at once when the keeper publishes an event (`on_event`);
each round is pushed to the open pages over server-sent events (`/events`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import json
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import pykka
from aiohttp import web
from loguru import logger

from actors._lib.secrets import Secret, redact
from actors.messages import Clock, GetEquityCurve, GetStats, GetStatus, Stats, StatusSnapshot
from actors.status import controls, push
from actors.status.dashboard import live_html, render_html, title
from actors.status.history import History
from actors.status.metrics import render_metrics
from actors.status.view import View, page_json

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SECURITY_HEADERS = {
    # scripts only from this page's own /static: whatever the model writes cannot run
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # a ?token= URL never leaves this origin; same-origin POSTs carry Origin
    "Cache-Control": "no-store",
}
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]", "::1")
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}
HEARTBEAT_S = 15.0
MIN_GAP_S = 0.05  # at most 20 rounds a second, however many events the keeper publishes


def _get(future: pykka.Future[Any], timeout: float) -> tuple[Any, str | None]:
    """Runs on a pool thread: wait for one answer, never raise."""
    try:
        return future.get(timeout=timeout), None
    except pykka.Timeout:
        return None, f"no answer within {timeout:g} s"
    except pykka.ActorDeadError:
        return None, "the actor is not running"
    except Exception as exc:  # noqa: BLE001 - the page shows why, the refresher carries on
        return None, redact(f"{type(exc).__name__}: {exc}")


class StatusServer:
    def __init__(
        self,
        sock: socket.socket,
        keeper: pykka.ActorRef[Any],
        peers: Mapping[str, pykka.ActorRef[Any]],
        token: Secret | None,
        *,
        refresh_s: float,
        ask_timeout_s: float,
        recent_trades: int,
        clock: Clock,
        check_host: bool,
        control_token: str = "",
        mode: str = "",
        symbol: str = "",
        notices: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self._sock = sock
        self._keeper = keeper
        self._peers = dict(peers)
        self._token = token
        self._control_token = token.reveal() if token is not None else control_token
        self._embed_token = control_token if token is None else ""  # a configured token is never written out
        self._symbol = symbol
        self._refresh_s = refresh_s
        self._ask_timeout_s = ask_timeout_s
        self._recent_trades = recent_trades
        self._clock = clock
        self._check_host = check_host
        self._view = View(peers=tuple(self._peers), mode=mode, notices=notices)
        self._history = History()
        self._seeded = False
        self._events: deque[str] = deque(maxlen=push.KEEP_EVENTS)
        self._hub = push.Hub()
        self._static = {name: (STATIC_DIR / name).read_bytes() for name in STATIC_TYPES}
        self._runner: web.AppRunner | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._first: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    # -- lifecycle (loop thread) -------------------------------------------------------

    async def start(self) -> None:
        self._first, self._wake, self._lock = asyncio.Event(), asyncio.Event(), asyncio.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=2 + len(self._peers), thread_name_prefix="status-ask")
        app = web.Application(middlewares=[self._guard], client_max_size=16 * 1024)
        app.router.add_get("/", self._page)
        app.router.add_get("/status", self._status)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/events", self._sse)
        app.router.add_get("/static/{name}", self._static_file)
        app.router.add_post("/control/{action}", self._control)
        app.router.add_get("/favicon.ico", self._no_icon)
        # no access log: a ?token= query string would be written out with it
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()
        self._refresher = asyncio.create_task(self._refresh_forever(), name="status-refresher")

    async def close(self) -> None:
        self._hub.close()
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def on_event(self, event: Any) -> None:
        """A keeper event (told to the actor, handed over with call_soon): list it, refresh and push now."""
        line = push.describe(event)
        if line is not None:
            self._events.append(line)
        if self._wake is not None and self._hub.clients:  # no page open: the next round is soon enough
            self._wake.set()

    # -- the refresher (loop thread) --------------------------------------------------

    async def _refresh_forever(self) -> None:
        assert self._first is not None and self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.refresh_once()
                self._push()
            except RuntimeError as exc:
                if "shutdown" in str(exc):  # the interpreter is exiting: the ask pool is gone
                    return
                logger.error("status page: refresh failed: {}", redact(f"{type(exc).__name__}: {exc}"))
            except Exception as exc:  # noqa: BLE001 - a bad round must not end the refreshing
                logger.error("status page: refresh failed: {}", redact(f"{type(exc).__name__}: {exc}"))
            finally:
                self._first.set()
            spent = loop.time() - started
            if spent < MIN_GAP_S:  # a burst of events (a fast backtest) must not flood the keeper with asks
                await asyncio.sleep(MIN_GAP_S - spent)
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.0, self._refresh_s - (loop.time() - started)))
            except TimeoutError:
                pass
            self._wake.clear()

    async def _ask_all(self, asks: Mapping[str, tuple[pykka.ActorRef[Any], Any]]) -> tuple[dict[str, Any], dict[str, str]]:
        loop = asyncio.get_running_loop()
        waits: dict[str, asyncio.Future[tuple[Any, str | None]]] = {}
        errors: dict[str, str] = {}
        for name, (ref, msg) in asks.items():
            try:
                fut = ref.ask(msg, block=False)  # only enqueues: never blocks the loop
            except pykka.ActorDeadError:
                errors[name] = "the actor is not running"
                continue
            waits[name] = loop.run_in_executor(self._pool, _get, fut, self._ask_timeout_s)
        answers: dict[str, Any] = {}
        for name, (value, error) in zip(waits, await asyncio.gather(*waits.values()), strict=True):
            if error is not None:
                errors[name] = error
            else:
                answers[name] = value
        return answers, errors

    async def refresh_once(self) -> None:
        assert self._lock is not None
        async with self._lock:
            await self._refresh()

    async def _refresh(self) -> None:
        asks: dict[str, tuple[pykka.ActorRef[Any], Any]] = {
            "keeper": (self._keeper, GetStatus(recent_trades=self._recent_trades)),
            **{name: (ref, GetStats()) for name, ref in self._peers.items()},
        }
        if not self._seeded:
            asks["curve"] = (self._keeper, GetEquityCurve())
        answers, errors = await self._ask_all(asks)
        curve = answers.pop("curve", None)
        errors.pop("curve", None)
        if isinstance(curve, tuple):
            self._history.seed(curve)
            self._seeded = True
        old = self._view
        status, status_mono, status_ms = old.status, old.status_mono, old.status_ms
        seen_ms = old.snapshot_seen_ms
        stats = dict(old.stats)
        for name, value in answers.items():
            if name == "keeper" and isinstance(value, StatusSnapshot):
                status, status_mono, status_ms = value, time.monotonic(), self._clock()
                if _snapshot_key(value) != _snapshot_key(old.status):
                    seen_ms = status_ms
                self._history.observe(value)
            elif name != "keeper" and isinstance(value, Stats):
                stats[name] = value
            else:
                errors[name] = f"unexpected answer {type(value).__name__}"
        for name, error in errors.items():
            if name not in old.errors:
                logger.warning("status page: {} did not answer: {}", name, error)
        self._view = View(status=status, status_mono=status_mono, status_ms=status_ms, stats=stats,
                          errors=errors, refreshes=old.refreshes + 1, peers=old.peers, snapshot_seen_ms=seen_ms,
                          mode=old.mode, history=tuple(self._history.samples), events=tuple(self._events),
                          notices=old.notices)

    def _frame(self) -> str:
        view = self._view
        doc = {"seq": view.refreshes, "sent_ms": self._clock(), "title": title(view),
               "html": live_html(view, time.monotonic(), self._clock())}
        return redact(push.frame(doc))

    def _push(self) -> None:
        if self._hub.clients:
            self._hub.publish(self._frame())

    async def _current(self) -> View:
        """The latest view; before the first refresh round ends, wait for it (on the loop, bounded)."""
        if self._view.refreshes == 0 and self._first is not None and not self._first.is_set():
            try:
                await asyncio.wait_for(self._first.wait(), self._ask_timeout_s + 1.0)
            except TimeoutError:
                pass
        return self._view

    # -- requests (loop thread) --------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self._check_host and not _host_is_loopback(request.host):
            # a page bound to loopback without a token must not be readable through DNS rebinding
            return _text(403, "403 Forbidden: use http://127.0.0.1:<port>/ or http://localhost:<port>/\n")
        public = request.path.startswith("/static/")  # the page's own script and CSS: code, no data
        if self._token is not None and not public and not self._authorised(request):
            resp = _text(401, "401 Unauthorized: send 'Authorization: Bearer <token>' or '?token=<token>'\n")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="trader-status"'
            return resp
        try:
            return await handler(request)
        except web.HTTPException as exc:
            return _text(exc.status, f"{exc.status} {exc.reason}\n")

    def _authorised(self, request: web.Request) -> bool:
        assert self._token is not None
        want = self._token.reveal().encode()
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), want):
            return True
        for value in (request.headers.get("X-Trader-Token"), request.query.get("token")):
            if value is not None and hmac.compare_digest(value.encode(), want):
                return True
        return False

    async def _page(self, _request: web.Request) -> web.Response:
        view = await self._current()
        body = render_html(view, time.monotonic(), self._clock(), self._embed_token, self._symbol)
        return _respond(200 if view.status is not None else 503, body, "text/html; charset=utf-8")

    async def _status(self, _request: web.Request) -> web.Response:
        view = await self._current()
        body = json.dumps(page_json(view, time.monotonic(), self._clock()), separators=(",", ":"))
        return _respond(200 if view.status is not None else 503, body, "application/json; charset=utf-8")

    async def _metrics(self, _request: web.Request) -> web.Response:
        view = await self._current()
        body = render_metrics(view, time.monotonic(), self._clock())
        return _respond(200, body, "text/plain; version=0.0.4; charset=utf-8")

    async def _static_file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self._static:
            raise web.HTTPNotFound()
        return web.Response(status=200, body=self._static[name], headers={**SECURITY_HEADERS, "Content-Type": STATIC_TYPES[name]})

    async def _sse(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={**SECURITY_HEADERS, "Content-Type": "text/event-stream",
                                           "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        await self._current()
        q = self._hub.join()
        push.put(q, self._frame())
        try:
            await resp.write(b"retry: 2000\n\n")
            while True:
                try:
                    item = await asyncio.wait_for(q.get(), HEARTBEAT_S)
                except TimeoutError:
                    await resp.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    break
                await resp.write(item.encode())
        except (ConnectionResetError, ConnectionError):
            pass  # the page went away
        finally:
            self._hub.leave(q)
        return resp

    async def _control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in controls.ACTIONS:
            raise web.HTTPNotFound()
        why = controls.cross_site(request.headers, request.host)
        if why is not None:
            logger.warning("status page: refused a cross-site {} control: {}", action, why)
            return _json(403, {"ok": False, "error": f"cross-site request refused ({why})"})
        form: Mapping[str, Any] = {}
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                return _json(400, {"ok": False, "error": "the body is not JSON"})
            form = body if isinstance(body, dict) else {}
        elif request.can_read_body:
            form = await request.post()
        given = request.headers.get("X-Trader-Token") or form.get("token")
        if not controls.token_ok(str(given) if given is not None else None, self._control_token):
            logger.warning("status page: refused a {} control without the page's token", action)
            return _json(403, {"ok": False, "error": "the page's token is missing or wrong: reload the page"})
        reason = controls.clean_reason(form.get("reason"))
        by = f"dashboard ({request.remote or 'unknown'})"
        msg = controls.to_control(action, reason, by, controls.clean_reason(form.get("approval_id")))
        if msg is None:
            return _json(400, {"ok": False, "error": f"{action} needs the entry's approval_id"})
        answers, errors = await self._ask_all({"keeper": (self._keeper, msg)})
        if "keeper" in errors:
            return _json(503, {"ok": False, "error": f"the state keeper did not answer: {errors['keeper']}"})
        outcome = controls.outcome(action, answers.get("keeper"))  # approve / reject: what became of the entry
        logger.info("status page: {} by {}{}", action, by, f": {reason}" if reason else "")
        await self.refresh_once()  # shows at once, on this answer and on every open page
        self._push()
        st = self._view.status
        rv = st.risk if st is not None else None
        doc = {"ok": True, "action": action, "by": by, "reason": reason,
               "risk_state": rv.state.value if rv else None, "risk_reason": rv.reason if rv else None,
               "active_order": st.active_order.id if st is not None and st.active_order else None, **outcome}
        if "X-Trader-Token" not in request.headers and "text/html" in request.headers.get("Accept", ""):
            return web.Response(status=303, headers={**SECURITY_HEADERS, "Location": "./"})  # a plain form post
        return _json(200, doc)

    async def _no_icon(self, _request: web.Request) -> web.Response:
        return web.Response(status=204, headers=SECURITY_HEADERS)


def _snapshot_key(st: StatusSnapshot | None) -> tuple[int, int] | None:
    snap = st.last_snapshot if st is not None else None
    return (snap.seq, snap.ts_data_ms) if snap is not None else None


def _respond(status: int, text: str, content_type: str) -> web.Response:
    # the last line of defence: no registered secret or secret-shaped token leaves in a body
    return web.Response(status=status, body=redact(text).encode(),
                        headers={**SECURITY_HEADERS, "Content-Type": content_type})


def _text(status: int, text: str) -> web.Response:
    return _respond(status, text, "text/plain; charset=utf-8")


def _json(status: int, doc: Mapping[str, Any]) -> web.Response:
    return _respond(status, json.dumps(doc, separators=(",", ":")), "application/json; charset=utf-8")


def _host_is_loopback(host_header: str | None) -> bool:
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8765
        host = host[: host.find("]") + 1] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host in _LOOPBACK_NAMES or host.startswith("127.")
