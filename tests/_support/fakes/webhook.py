"""A webhook receiver on 127.0.0.1 that records every POST, for the notifier's tests.

    hook = FakeWebhook(path="/hook/abc")
    url = hook.start()            # "http://127.0.0.1:PORT/hook/abc"
    hook.status = 503             # answer every request with this status (200 by default)
    hook.wait_for(3)              # the first 3 requests, as `Received`
    hook.stop()

`LocalServer` is the thread-and-loop shell both stand-ins (this one and
`tests/_support/fakes/telegram.py`) run in.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    form: dict[str, str]  # a form-encoded body's fields (Telegram), else {}

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class LocalServer:
    """An aiohttp app on its own thread and loop; subclasses add routes in `routes`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._received: list[Received] = []
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise RuntimeError(f"{type(self).__name__} did not start: {self._error!r}")
        return self.base_url

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def received(self) -> list[Received]:
        with self._cond:
            return list(self._received)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{type(self).__name__}: {len(self._received)} requests, wanted {count}")
                self._cond.wait(left)
            return list(self._received)

    async def record(self, request: web.Request) -> Received:
        body = await request.read()
        form: dict[str, str] = {}
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = {k: str(v) for k, v in (await request.post()).items()}
        rec = Received(request.method, request.path, dict(request.headers), body, form)
        with self._cond:
            self._received.append(rec)
            self._cond.notify_all()
        return rec

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._setup())
        except BaseException as e:  # noqa: BLE001 - reported by start()
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _setup(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]


class FakeWebhook(LocalServer):
    def __init__(self, path: str = "/hook", **kw: Any) -> None:
        super().__init__(**kw)
        self.path = path
        self.status = 200

    @property
    def url(self) -> str:
        return self.base_url + self.path

    def start(self) -> str:
        super().start()
        return self.url

    def routes(self, app: web.Application) -> None:
        app.router.add_post(self.path, self._hook)

    async def _hook(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.json_response({"ok": self.status < 300}, status=self.status)
