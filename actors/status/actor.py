"""The status page actor: the dashboard of the keeper and its peers, with the operator's controls.

Threads:
- the caller's thread runs `__init__`: it checks the settings and binds the
  listening socket, so a bad host, a missing token or a port in use reaches
  whoever calls `start()` as an exception;
- the actor thread runs `on_start` / `on_stop` / `on_failure`, answers
  `GetBoundPort` and hands the keeper's events to the loop; it holds no
  trading state and never waits on the keeper;
- the `status-server-io` loop thread runs the aiohttp server and the
  refresher (`actors.status.server`), which asks the keeper (GetStatus) and
  the peers (GetStats) every `refresh_s` without blocking the loop and keeps
  the answers as an immutable view. Requests are served from that view, with
  its age, so a slow or dead keeper never holds a request up. A control is
  asked of the keeper the same way (PauseBuying, ResumeTrading, HaltTrading,
  CancelOpenOrder), so the keeper's own rules and journal apply to it.

The actor subscribes to the keeper's events (`Subscribe`) and hands each to
the loop (`call_soon`), which refreshes and pushes at once: a page sees a
fill or a halt without waiting for the next round.

Routes: `/` (the dashboard), `/events` (server-sent updates), `/status`
(JSON, Decimals as strings), `/metrics` (Prometheus text), `/static/*`, and
`POST /control/{pause,resume,halt,flatten,cancel,approve,reject}` (approve and reject name the
entry's `approval_id`). Off-loopback every route
requires `status.token`, sent as `Authorization: Bearer <token>`,
`X-Trader-Token` or `?token=<token>`; a control also needs the page's token
and a same-origin request (`actors.status.controls`).
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pykka
from loguru import logger

from actors._lib.aio import LoopThread
from actors._lib.secrets import Secret, redact
from actors.messages import (
    Clock,
    EntryApprovalRequested,
    EntryApprovalResolved,
    OrderDenied,
    OrderFilled,
    OrderPlaced,
    RiskStateChanged,
    StateChanged,
    Subscribe,
    TradeClosed,
    TradingBlocked,
    TradingHalted,
    TradingStopped,
    TradingUnblocked,
    Unsubscribe,
)
from actors.settings import Settings, SettingsError
from actors.status.dashboard import mode_of
from actors.status.server import StatusServer

LOOP_NAME = "status-server-io"
CLOSE_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class GetBoundPort:
    """Asked: the TCP port the page listens on (the real one when started with port 0)."""


@dataclass(frozen=True, slots=True)
class _ServeFailed:
    error: str


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses; an empty host means every interface (False)."""
    h = host.strip().lower().strip("[]")
    if h in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    last: OSError | None = None
    for family, kind, proto, _name, addr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and not host:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind(addr)
            sock.listen(128)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    raise OSError(f"status page: cannot listen on {host or '*'}:{port}: {last}")


_EVENTS = (OrderPlaced, OrderDenied, OrderFilled, TradeClosed, StateChanged, RiskStateChanged, TradingHalted,
           TradingStopped, TradingBlocked, TradingUnblocked, EntryApprovalRequested, EntryApprovalResolved)


class StatusServerActor(pykka.ThreadingActor):
    """Serves the dashboard, `/status` and `/metrics` from a cache refreshed by asking, never by blocking.

    Args:
        settings: `settings.status` gives host, port and token.
        keeper: the StateKeeper (asked `GetStatus`).
        peers: name -> actor answering `GetStats` ("ai", "market", "executor").
        port: overrides `settings.status.port`; 0 picks a free port (ask `GetBoundPort`).
        refresh_s: how often the cache is refreshed.
        ask_timeout_s: how long one refresh waits for an answer before showing the error.
        recent_trades: how many trades the page shows.
        clock: wall time in ms, for the feed's age.
        notices: the start-up checks' (level, text), shown at the top of the page.
    """

    def __init__(
        self,
        settings: Settings,
        keeper: pykka.ActorRef[Any],
        peers: Mapping[str, pykka.ActorRef[Any]] | None = None,
        port: int | None = None,
        *,
        refresh_s: float = 0.5,
        ask_timeout_s: float = 2.0,
        recent_trades: int = 20,
        clock: Clock | None = None,
        notices: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__()
        cfg = settings.status
        self._host = cfg.host
        token = cfg.token.strip()
        if not is_loopback(cfg.host) and not token:
            raise SettingsError(
                f"status.token must be set to serve the status page on the non-loopback host "
                f"status.host = {cfg.host!r}; set status.token, or use status.host = '127.0.0.1'")
        if port is None:
            port = cfg.port
            if port == 0:
                raise SettingsError("status.port = 0 turns the status page off; do not start StatusServerActor")
        if not 0 <= port <= 65535:
            raise SettingsError(f"status.port must be in 0..65535, not {port}")
        if refresh_s <= 0 or ask_timeout_s <= 0:
            raise ValueError("refresh_s and ask_timeout_s must be > 0")
        self._token = Secret(token) if token else None  # registered: the log filter redacts it too
        self._keeper = keeper
        self._peers = dict(peers or {})
        self._options: dict[str, Any] = {
            "refresh_s": refresh_s, "ask_timeout_s": ask_timeout_s, "recent_trades": recent_trades,
            "clock": clock or _wall_ms,
            "mode": mode_of(settings.exchange.kind, settings.market.source, settings.exchange.network),
            "symbol": settings.symbol, "notices": tuple(notices),  # the start-up checks' warnings and notes
            # POSTs need a token even on loopback: one made now, embedded in the page, never logged
            "control_token": "" if token else secrets.token_urlsafe(24),
        }
        self._sock = _bind(cfg.host, port)  # in the caller's thread: a port in use reaches start()'s caller
        self._port: int = self._sock.getsockname()[1]
        self._io: LoopThread | None = None
        self._server: StatusServer | None = None

    # -- lifecycle (actor thread) --------------------------------------------------

    def on_start(self) -> None:
        self._server = StatusServer(
            self._sock, self._keeper, self._peers, self._token,
            check_host=self._token is None, **self._options)
        self._io = LoopThread(LOOP_NAME)
        self._io.start()  # last: an error before this leaks nothing but the socket, closed below
        self._io.submit(self._server.start(), on_done=self._on_served)
        self._keeper.tell(Subscribe(subscriber=self.actor_ref))  # the keeper's events: push at once
        where = f"[{self._host}]" if ":" in self._host else self._host
        logger.info("status page on http://{}:{}/ ({})", where, self._port,
                    "token required" if self._token else "loopback only, no token")
        if not is_loopback(self._host):
            logger.warning("status page listens on {} over plain HTTP: put TLS in front of it, the token "
                           "travels with every request", self._host)

    def _on_served(self, fut: Any) -> None:  # loop thread: tell only
        if fut.cancelled() or fut.exception() is None:
            return
        try:
            self.actor_ref.tell(_ServeFailed(redact(f"{type(fut.exception()).__name__}: {fut.exception()}")))
        except pykka.ActorDeadError:
            pass

    def on_stop(self) -> None:
        self._shutdown()

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        logger.error("status page failed: {}", redact(f"{exception_type.__name__}: {exception_value}"))
        self._shutdown()

    def _shutdown(self) -> None:
        try:
            self._keeper.tell(Unsubscribe(subscriber=self.actor_ref))
        except pykka.ActorDeadError:
            pass
        io, self._io = self._io, None
        if io is not None:
            if io.alive and self._server is not None:
                try:
                    io.submit(self._server.close()).result(timeout=CLOSE_TIMEOUT_S)
                except Exception as exc:  # noqa: BLE001 - stopping anyway
                    logger.warning("status page: closing the server: {}", redact(f"{type(exc).__name__}: {exc}"))
            io.stop()
        self._sock.close()

    # -- messages (actor thread) ---------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        match message:
            case GetBoundPort():
                return self._port
            case _ if isinstance(message, _EVENTS):
                if self._io is not None and self._server is not None and self._io.alive:
                    self._io.call_soon(self._server.on_event, message)
                return None
            case _ServeFailed(error=error):
                logger.error("status page could not start serving: {}", error)
                self.stop()
                return None
            case _:
                return super().on_receive(message)
