"""The stand-in venue's one-minute history: `GET /api/v3/klines`, served by `FakeBinanceMarket`.

    fake.history.set(rising_klines(now_ms, minutes=300))   # oldest first, Binance's rows
    fake.history.fail(500, 400)                            # the next two requests get these statuses
    fake.history.requests                                  # each request's query, in order
    fake.history.holding = True                            # requests wait (unanswered) until it is False

Rows are served by `startTime`/`endTime` (open times, both inclusive, as on
Binance) and `limit` (default 500, at most 1000); without `startTime`, the
newest `limit`. Each answer carries `X-MBX-USED-WEIGHT-1M`: 2 a request this
minute, plus `used_weight_base` (weight "used by others").
"""

from __future__ import annotations

import asyncio
import math
import time
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from aiohttp import web

MINUTE_MS = 60_000


class KlinesStandIn:
    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.rows: list[list[Any]] = []
        self.requests: list[dict[str, str]] = []
        self.failures: list[int] = []  # HTTP statuses the next requests get, in order
        self.used_weight_base = 0
        self.holding = False
        self._weight = (0, 0)  # (minute, weight of the history requests in it)

    def set(self, rows: list[list[Any]]) -> None:
        self.rows = list(rows)

    def fail(self, *statuses: int) -> None:
        """The next requests answer these statuses: a 4xx with code -1121, a 5xx with -1000."""
        self.failures.extend(statuses)

    async def handle(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.requests.append(q)
        while self.holding:  # noqa: ASYNC110 - set from the test thread: a 10 ms poll needs no loop plumbing
            await asyncio.sleep(0.01)
        minute = time.time_ns() // 1_000_000 // MINUTE_MS
        used = (self._weight[1] if self._weight[0] == minute else 0) + 2
        self._weight = (minute, used)
        headers = {"X-MBX-USED-WEIGHT-1M": str(self.used_weight_base + used)}

        def error(status: int, code: int, msg: str) -> web.Response:
            return web.json_response({"code": code, "msg": msg}, status=status, headers=headers)

        if self.failures:
            status = self.failures.pop(0)
            return error(status, -1121, "Invalid symbol.") if status < 500 else error(status, -1000, "Internal error")
        if q.get("symbol") != self.symbol:
            return error(400, -1121, "Invalid symbol.")
        if q.get("interval") != "1m":
            return error(400, -1120, "Invalid interval.")
        limit = int(q.get("limit", "500"))
        if not 1 <= limit <= 1000:
            return error(400, -1100, "Illegal characters found in parameter 'limit'.")
        start, end = int(q.get("startTime", "0")), int(q.get("endTime", str(2**62)))
        rows = [r for r in self.rows if start <= r[0] <= end]
        rows = rows[:limit] if "startTime" in q else rows[-limit:]
        return web.json_response(rows, headers=headers)


def kline_row(open_ms: int, o: Decimal, h: Decimal, lo: Decimal, c: Decimal, v: Decimal) -> list[Any]:
    """One 1m kline as Binance sends it (numbers as strings; times and the trade count as ints)."""
    quote = (v * c).quantize(Decimal("0.0001"))
    return [open_ms, str(o), str(h), str(lo), str(c), str(v), open_ms + MINUTE_MS - 1, str(quote), 12, str(v / 2),
            str(quote / 2), "0"]


def rising_klines(now_ms: int, minutes: int, last_close: str = "10.00", rise_per_min: float = 0.0005,
                  tick: str = "0.01") -> list[list[Any]]:
    """`minutes` closed candles ending just before the minute of `now_ms`, rising by `rise_per_min` a
    minute with a one-tick zigzag (a clear up trend with some volatility), then the candle still open
    at `now_ms`, which a warm start must not read. Deterministic."""
    q = Decimal(tick)
    seam = now_ms - now_ms % MINUTE_MS
    rows = []
    prev: Decimal | None = None
    for k in range(minutes + 1):
        base = Decimal(repr(float(last_close) * math.exp(-rise_per_min * (minutes - k))))
        c = (base + (q if k % 2 else -q)).quantize(q, rounding=ROUND_HALF_EVEN)
        o = prev if prev is not None else c - q
        rows.append(kline_row(seam - (minutes - k) * MINUTE_MS, o, max(o, c) + q, min(o, c) - q, c,
                              Decimal(100 + k % 7)))
        prev = c
    return rows
