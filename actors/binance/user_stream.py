"""The user-data stream over the WebSocket API (`userDataStream.subscribe.signature`).

The listenKey flow is switched off on spot (binance.md section 8): this
connects to the WebSocket API, subscribes with a request signed over the
sorted payload `apiKey=...&timestamp=...`, and hands every event
(`{"subscriptionId": n, "event": {...}}`) to `on_event`. After any drop it
reconnects with exponential backoff (`actors/_lib/backoff`, jitter 50-100 % of
the step, reset by a subscription) and subscribes again with a fresh timestamp; `on_up` is called after every successful subscription so
the owner can reconcile what it missed (events are never replayed).

Runs on the executor's event loop; the callbacks must only `tell`. Events are
handed on as dicts; `parse` reads them on the actor thread.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from loguru import logger

from actors._lib.backoff import Backoff
from actors._lib.secrets import Secret, redact
from actors.binance import constants as c
from actors.binance.errors import refusal
from actors.binance.rest import BinanceRest
from actors.binance.signing import Signer

JITTER = (0.5, 1.0)  # reconnects spread over 50-100 % of the step


class SubscribeError(Exception):
    """The WebSocket API refused or did not answer the subscription (the loop reconnects)."""


class UserStream:
    def __init__(
        self,
        rest: BinanceRest,
        ws_url: str,
        api_key: Secret,
        signer: Signer,
        *,
        on_event: Callable[[dict[str, Any]], None],
        on_up: Callable[[int], None],
        on_down: Callable[[str], None],
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        heartbeat_s: float = 20.0,
        request_timeout_s: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        self._rest = rest
        self._url = ws_url
        self._api_key = api_key
        self._signer = signer
        self._on_event = on_event
        self._on_up = on_up
        self._on_down = on_down
        # attempt 1 first: the first failed attempt waits two initial steps, as it always has
        self._backoff = Backoff(backoff_initial_s, backoff_max_s, jitter=JITTER, rand=(rng or random.Random()).random,
                                attempt=1)
        self.heartbeat_s = heartbeat_s
        self.request_timeout_s = request_timeout_s
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._subscribed_once = False
        self.connects = 0
        self.events = 0

    async def run(self) -> None:
        try:
            while True:
                await self._rest.wait_unpaused()
                reason = "closed by the server"
                try:
                    await self._session_once()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - every failure means: reconnect
                    reason = redact(f"{type(exc).__name__}: {exc}")
                # count only the attempts that never got as far as a subscription
                if self._subscribed_once:
                    self._backoff.reset()
                self._on_down(reason)
                delay = self._backoff.next()
                logger.warning("user-data stream down ({}); reconnecting in {:.2f}s", reason, delay)
                await asyncio.sleep(delay)
        finally:
            await self.close()

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        self._ws = None
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # its own session: a websocket must not inherit the REST total timeout
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.request_timeout_s)
            )
        return self._session

    async def _session_once(self) -> None:
        self._subscribed_once = False
        ws = await self.session.ws_connect(
            self._url, heartbeat=self.heartbeat_s, timeout=aiohttp.ClientWSTimeout(ws_close=2.0)
        )
        self._ws = ws
        try:
            await self._subscribe(ws)
            self._subscribed_once = True
            self.connects += 1
            self._on_up(self.connects)
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    if not self._handle(msg.data):
                        return
                elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    return
        finally:
            if not ws.closed:
                await ws.close()
            self._ws = None

    async def _subscribe(self, ws: aiohttp.ClientWebSocketResponse) -> int:
        await self._rest.ensure_time()
        for attempt in (1, 2):
            params: dict[str, Any] = {
                "apiKey": self._api_key.reveal(),
                "timestamp": self._rest.server_ms(),
                "recvWindow": self._rest.recv_window_ms,
            }
            params["signature"] = self._signer.sign_ws(params)
            req_id = f"sub-{next(self._ids)}"
            await ws.send_str(json.dumps({"id": req_id, "method": c.WS_SUBSCRIBE, "params": params}))
            reply = await self._await_reply(ws, req_id)
            if reply.get("status") == 200:
                sub = (reply.get("result") or {}).get("subscriptionId", 0)
                logger.info("user-data stream subscribed (subscription {})", sub)
                return int(sub)
            error = reply.get("error") or {}
            code = error.get("code")
            status = reply.get("status")
            if status in (429, 418):
                retry_after = (error.get("data") or {}).get("retryAfter")
                if isinstance(retry_after, int):
                    self._rest.pause_until(retry_after, f"WS-API {status}")
            if code == -1021 and attempt == 1:
                logger.warning("user-data subscribe got -1021: re-syncing the clock")
                await self._rest.sync_time()
                continue
            # classified like any REST refusal: a bad key is Fatal, a rate limit RetryAfter (the loop reconnects)
            raise refusal(status if isinstance(status, int) else 0, code if isinstance(code, int) else None,
                          f"user-data subscribe refused: {error.get('msg', '')}")
        raise SubscribeError("subscribe refused twice")

    async def _await_reply(self, ws: aiohttp.ClientWebSocketResponse, req_id: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.request_timeout_s
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise SubscribeError("no answer to the subscribe request")
            msg = await asyncio.wait_for(ws.receive(), left)
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise SubscribeError(f"socket {msg.type.name} while subscribing")
            data = json.loads(msg.data)
            if not isinstance(data, dict):
                continue  # not an answer to anything
            if data.get("id") == req_id:
                return data
            if "event" in data:
                self._dispatch(data["event"])

    def _handle(self, raw: str) -> bool:
        """Deliver one frame; False when the subscription ended and a reconnect is needed."""
        try:
            data = json.loads(raw)
        except ValueError:
            logger.warning("user-data stream: a frame that is not JSON ({} bytes)", len(raw))
            return True
        event = data.get("event") if isinstance(data, dict) else None
        if isinstance(event, dict):
            kind = event.get("e")
            if kind in ("eventStreamTerminated", "serverShutdown"):
                logger.warning("user-data stream: {}", kind)
                return False
            self._dispatch(event)
        elif isinstance(data, dict) and data.get("status", 200) != 200:
            logger.warning("user-data stream: request {} failed: {}", data.get("id"), redact(str(data.get("error"))))
        return True

    def _dispatch(self, event: dict[str, Any]) -> None:
        self.events += 1
        self._on_event(event)


# -- what the stream tells the actor (on the actor thread these drive `reconcile`) --------------

@dataclass(frozen=True, slots=True)
class StreamUp:
    """Subscribed (again): `connects` counts the successful subscriptions so far."""

    connects: int


@dataclass(frozen=True, slots=True)
class StreamDown:
    reason: str


@dataclass(frozen=True, slots=True)
class UserEvent:
    """One user-data event, still a dict: `parse` reads it on the actor thread."""

    event: dict[str, Any] = field(hash=False)
