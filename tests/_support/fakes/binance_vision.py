"""A stand-in for data.binance.vision (and the REST klines endpoint) on 127.0.0.1, for `download`'s tests.

    vision = FakeBinanceVision()
    base = vision.start()                                      # "http://127.0.0.1:PORT"
    vision.publish("daily", "klines", "TRUMPUSDC", "1m", "2025-01-28", csv_text)   # the zip and its .CHECKSUM
    vision.corrupt("TRUMPUSDC-1m-2025-01-28.zip", times=1)    # the next GET gets other bytes
    vision.fail("TRUMPUSDC-1m-2025-01-28.zip", status=503)    # the next GET gets a 503
    vision.stall("TRUMPUSDC-1m-2025-01-28.zip", after=1000)   # send 1000 bytes, then hang (until released)
    vision.rest_bars["TRUMPUSDC"] = [[open_ms, "1", ...], ...]  # GET /api/v3/klines, paged like Binance's
    vision.stop()

Paths and names are data.binance.vision's (reference/binance.md, section 9);
anything not published is a 404. Zip GETs honour `Range: bytes=N-` with a 206,
as S3 does. Every request is kept (`requests`), with the bytes each zip sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests._support.fakes.webhook import LocalServer


def make_zip(member: str, text: str) -> bytes:
    """A zip of one CSV, byte for byte the same every time (fixed member date)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo(member, date_time=(2025, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, text)
    return buf.getvalue()


@dataclass(frozen=True)
class Hit:
    path: str
    status: int
    range: str  # the Range header asked for ("" when none)
    sent: int  # body bytes sent


class FakeBinanceVision(LocalServer):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.files: dict[str, bytes] = {}  # URL path -> body (zips and .CHECKSUM files)
        self.hits: list[Hit] = []
        self._corrupt: dict[str, int] = {}
        self._fail: dict[str, list[int]] = {}
        self._stall: dict[str, int] = {}
        self.release = asyncio.Event()  # set (from the server's loop) to let stalled responses go on
        self.rest_bars: dict[str, list[list[Any]]] = {}
        self.rest_limit = 1000

    # -- scripting ----------------------------------------------------------------

    @staticmethod
    def path_of(span: str, kind: str, symbol: str, interval: str, period: str) -> str:
        name = f"{symbol}-{interval if kind == 'klines' else kind}-{period}.zip"
        sub = f"{symbol}/{interval}" if kind == "klines" else symbol
        return f"/data/spot/{span}/{kind}/{sub}/{name}"

    def publish(self, span: str, kind: str, symbol: str, interval: str, period: str, csv_text: str,
                *, body: bytes | None = None) -> bytes:
        """Serve a zip of `csv_text` (or `body` as it is) with its true checksum; returns the zip's bytes."""
        path = self.path_of(span, kind, symbol, interval, period)
        name = path.rsplit("/", 1)[1]
        data = body if body is not None else make_zip(name[:-4] + ".csv", csv_text)
        self.files[path] = data
        self.files[path + ".CHECKSUM"] = f"{hashlib.sha256(data).hexdigest()}  {name}\n".encode()
        return data

    def _path(self, name: str) -> str:
        found = [p for p in self.files if p.endswith("/" + name)]
        assert len(found) == 1, f"{name}: published {len(found)} times"
        return found[0]

    def corrupt(self, name: str, times: int = 1) -> None:
        self._corrupt[self._path(name)] = times

    def fail(self, name: str, status: int = 503, times: int = 1) -> None:
        self._fail[self._path(name)] = [status] * times

    def stall(self, name: str, after: int) -> None:
        self._stall[self._path(name)] = after

    def unstall(self) -> None:
        self._stall.clear()

    def zip_gets(self, name: str | None = None) -> list[Hit]:
        return [h for h in self.hits if h.path.endswith(".zip") and (name is None or h.path.endswith("/" + name))]

    def sent_bytes(self, name: str) -> int:
        return sum(h.sent for h in self.zip_gets(name))

    # -- the server ---------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v3/klines", self._klines)
        app.router.add_get("/{tail:.*}", self._file)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        asked = request.headers.get("Range", "")
        if self._fail.get(path):
            status = self._fail[path].pop(0)
            self.hits.append(Hit(path, status, asked, 0))
            return web.Response(status=status, text="stand-in failure")
        data = self.files.get(path)
        if data is None:
            self.hits.append(Hit(path, 404, asked, 0))
            return web.Response(status=404, text="<Error><Code>NoSuchKey</Code></Error>")
        if self._corrupt.get(path):
            self._corrupt[path] -= 1
            data = bytes(b ^ 0x5A for b in data)  # the same length, other bytes
        start = int(asked[len("bytes="):].split("-")[0]) if asked.startswith("bytes=") else 0
        if start >= len(data) and asked:
            self.hits.append(Hit(path, 416, asked, 0))
            return web.Response(status=416)
        body = data[start:]
        resp = web.StreamResponse(status=206 if asked else 200)
        if asked:
            resp.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        resp.content_length = len(body)
        await resp.prepare(request)
        stall = self._stall.get(path)
        if stall is not None and stall < len(body):
            await resp.write(body[:stall])
            self.hits.append(Hit(path, resp.status, asked, stall))
            await self.release.wait()  # hangs until the client goes away (or the test releases it)
            return resp
        await resp.write(body)
        await resp.write_eof()
        self.hits.append(Hit(path, resp.status, asked, len(body)))
        return resp

    async def _klines(self, request: web.Request) -> web.Response:
        q = request.query
        self.hits.append(Hit(str(request.rel_url), 200, "", 0))
        bars = self.rest_bars.get(q.get("symbol", ""))
        if bars is None:
            return web.Response(status=400, text=json.dumps({"code": -1121, "msg": "Invalid symbol."}),
                                content_type="application/json")
        start = int(q.get("startTime", "0"))
        limit = min(int(q.get("limit", "500")), self.rest_limit)
        page = [b for b in bars if b[0] >= start][:limit]
        return web.json_response(page)


__all__ = ["FakeBinanceVision", "Hit", "make_zip"]
