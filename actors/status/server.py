"""The loop side of the status page: the aiohttp app, the refresher and the access check.

Everything in `StatusServer` runs on the `status-server-io` loop thread and
nothing else touches it. Handlers only read `self._view`, an immutable
`View` that the refresher swaps whole, so a request never waits on an actor.
The refresher asks the keeper and the peers without blocking
(`ask(..., block=False)`) and waits for the answers on a small thread pool
(`run_in_executor(pool, future.get, timeout)`): a pykka future is never
awaited on the loop (reference/pykka.md, section 2).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import json
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pykka
from aiohttp import web
from loguru import logger

from actors.messages import Clock, GetStats, GetStatus, Stats, StatusSnapshot
from actors.secrets import Secret, redact
from actors.status.render import REFRESH_S, View, page_json, render_html, render_metrics

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SECURITY_HEADERS = {
    # no script at all on the page: whatever the model writes cannot run
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # a ?token= URL never leaks through a Referer
    "Cache-Control": "no-store",
}
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]", "::1")


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
        page_refresh_s: int = REFRESH_S,
    ) -> None:
        self._sock = sock
        self._keeper = keeper
        self._peers = dict(peers)
        self._token = token
        self._refresh_s = refresh_s
        self._ask_timeout_s = ask_timeout_s
        self._recent_trades = recent_trades
        self._clock = clock
        self._check_host = check_host
        self._page_refresh_s = page_refresh_s
        self._view = View(peers=tuple(self._peers))
        self._runner: web.AppRunner | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._first: asyncio.Event | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    # -- lifecycle (loop thread) -------------------------------------------------------

    async def start(self) -> None:
        self._first = asyncio.Event()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=1 + len(self._peers), thread_name_prefix="status-ask")
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/", self._page)
        app.router.add_get("/status", self._status)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/favicon.ico", self._no_icon)
        # no access log: a ?token= query string would be written out with it
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()
        self._refresher = asyncio.create_task(self._refresh_forever(), name="status-refresher")

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the refresher (loop thread) --------------------------------------------------

    async def _refresh_forever(self) -> None:
        while True:
            try:
                await self.refresh_once()
            except Exception as exc:  # noqa: BLE001 - a bad round must not end the refreshing
                logger.error("status page: refresh failed: {}", redact(f"{type(exc).__name__}: {exc}"))
            finally:
                assert self._first is not None
                self._first.set()
            await asyncio.sleep(self._refresh_s)

    async def refresh_once(self) -> None:
        loop = asyncio.get_running_loop()
        asks: dict[str, tuple[pykka.ActorRef[Any], Any]] = {
            "keeper": (self._keeper, GetStatus(recent_trades=self._recent_trades)),
            **{name: (ref, GetStats()) for name, ref in self._peers.items()},
        }
        waits: dict[str, asyncio.Future[tuple[Any, str | None]]] = {}
        errors: dict[str, str] = {}
        for name, (ref, msg) in asks.items():
            try:
                fut = ref.ask(msg, block=False)  # only enqueues: never blocks the loop
            except pykka.ActorDeadError:
                errors[name] = "the actor is not running"
                continue
            waits[name] = loop.run_in_executor(self._pool, _get, fut, self._ask_timeout_s)
        answers = dict(zip(waits, await asyncio.gather(*waits.values()), strict=True))
        old = self._view
        status, status_mono, status_ms = old.status, old.status_mono, old.status_ms
        seen_ms = old.snapshot_seen_ms
        stats = dict(old.stats)
        for name, (value, error) in answers.items():
            if error is None and name == "keeper" and not isinstance(value, StatusSnapshot):
                error = f"unexpected answer {type(value).__name__}"
            elif error is None and name != "keeper" and not isinstance(value, Stats):
                error = f"unexpected answer {type(value).__name__}"
            if error is not None:
                errors[name] = error
            elif name == "keeper":
                status, status_mono, status_ms = value, time.monotonic(), self._clock()
                if _snapshot_key(value) != _snapshot_key(old.status):
                    seen_ms = status_ms
            else:
                stats[name] = value
        for name, error in errors.items():
            if name not in old.errors:
                logger.warning("status page: {} did not answer: {}", name, error)
        self._view = View(status=status, status_mono=status_mono, status_ms=status_ms, stats=stats,
                          errors=errors, refreshes=old.refreshes + 1, peers=old.peers, snapshot_seen_ms=seen_ms)

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
        if self._token is not None and not self._authorised(request):
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
        query = request.query.get("token")
        return query is not None and hmac.compare_digest(query.encode(), want)

    async def _page(self, _request: web.Request) -> web.Response:
        view = await self._current()
        body = render_html(view, time.monotonic(), self._clock(), self._page_refresh_s)
        return _respond(200 if view.status is not None else 503, body, "text/html; charset=utf-8")

    async def _status(self, _request: web.Request) -> web.Response:
        view = await self._current()
        body = json.dumps(page_json(view, time.monotonic(), self._clock()), separators=(",", ":"))
        return _respond(200 if view.status is not None else 503, body, "application/json; charset=utf-8")

    async def _metrics(self, _request: web.Request) -> web.Response:
        view = await self._current()
        body = render_metrics(view, time.monotonic(), self._clock())
        return _respond(200, body, "text/plain; version=0.0.4; charset=utf-8")

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


def _host_is_loopback(host_header: str | None) -> bool:
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8765
        host = host[: host.find("]") + 1] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host in _LOOPBACK_NAMES or host.startswith("127.")
