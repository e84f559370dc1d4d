"""The warm start's history requests against the stand-in venue on 127.0.0.1 (issue 26).

Pages of at most 1000 closed candles by `startTime`/`endTime`, the used weight
respected, 5xx retried with the shared backoff, a 4xx named, a short history
read as it is. Waits are injected: nothing sleeps for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from actors.binance.klines import HistoryFailed, HistoryFetched, HistoryProgress, KlineHistory
from tests._support.fakes.binance_klines import rising_klines
from tests._support.fakes.binance_market import FakeBinanceMarket

MINUTE = 60_000
NOW = 1_764_547_200_000 + 25_000  # 25 s into a minute
SEAM = NOW - NOW % MINUTE


@pytest.fixture
def fake() -> Iterator[FakeBinanceMarket]:
    f = FakeBinanceMarket("TRUMPUSDC")
    f.start()
    yield f
    f.stop()


def fetch(fake: FakeBinanceMarket, start: int, end: int = SEAM, **kw: Any) -> tuple[list[Any], list[float]]:
    """Run one job; returns what it told and the waits it asked for."""
    told: list[Any] = []
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    kw.setdefault("wall_ms", lambda: NOW)
    history = KlineHistory(rest_url=fake.rest_url, symbol="TRUMPUSDC", sink=told.append, sleep=sleep, **kw)
    asyncio.run(history.fetch(7, start, end))
    return told, waits


def test_pages_of_a_thousand_closed_candles_up_to_the_open_one(fake: FakeBinanceMarket) -> None:
    fake.history.set(rising_klines(NOW, minutes=2500))
    told, waits = fetch(fake, SEAM - 2400 * MINUTE)
    done = told[-1]
    assert isinstance(done, HistoryFetched) and done.job == 7 and done.requests == 3
    opens = [int(r[0]) for r in done.rows]
    assert opens == list(range(SEAM - 2400 * MINUTE, SEAM, MINUTE))  # every closed minute once, the open one not
    assert all(len(r) == 12 for r in done.rows) and done.rows[0][6] == str(opens[0] + MINUTE - 1)
    reqs = fake.history.requests
    assert [int(q["startTime"]) for q in reqs] == [SEAM - 2400 * MINUTE, SEAM - 1400 * MINUTE, SEAM - 400 * MINUTE]
    assert {(q["symbol"], q["interval"], q["limit"], q["endTime"]) for q in reqs} == {
        ("TRUMPUSDC", "1m", "1000", str(SEAM - 1))}
    assert [(p.got_minutes, p.total_minutes) for p in told if isinstance(p, HistoryProgress)] == [
        (1000, 2400), (2000, 2400), (2400, 2400)]
    assert waits == []


def test_a_request_that_would_eat_into_the_order_paths_weight_waits_for_the_next_minute(
        fake: FakeBinanceMarket) -> None:
    fake.history.set(rising_klines(NOW, minutes=2500))
    fake.history.used_weight_base = 4997  # the answer says 4999 used: one more request would leave under 1000
    told, waits = fetch(fake, SEAM - 2400 * MINUTE)
    assert isinstance(told[-1], HistoryFetched) and len(told[-1].rows) == 2400
    assert waits == [35.5, 35.5]  # before the second and third pages: to the minute's end (25 s in) and a margin


def test_a_server_error_is_retried_with_backoff_and_a_refusal_ends_the_job_with_the_venues_words(
        fake: FakeBinanceMarket) -> None:
    fake.history.set(rising_klines(NOW, minutes=300))
    fake.history.fail(500, 400)
    told, waits = fetch(fake, SEAM - 242 * MINUTE, backoff_initial_s=0.5)
    assert len(fake.history.requests) == 2 and len(waits) == 1 and 0.25 <= waits[0] <= 0.75
    failed = told[-1]
    assert isinstance(failed, HistoryFailed) and failed.refused and failed.job == 7
    assert failed.reason == 'HTTP 400: {"code": -1121, "msg": "Invalid symbol."}'


def test_a_venue_that_keeps_failing_is_given_up_after_the_attempts(fake: FakeBinanceMarket) -> None:
    fake.history.set(rising_klines(NOW, minutes=300))
    fake.history.fail(500, 502, 503)
    told, waits = fetch(fake, SEAM - 242 * MINUTE, attempts=3, backoff_initial_s=1.0, backoff_max_s=1.5)
    failed = told[-1]
    assert isinstance(failed, HistoryFailed) and not failed.refused
    assert failed.reason.startswith("HTTP 503: ") and failed.reason.endswith("(3 attempts)")
    assert len(waits) == 2 and 0.5 <= waits[0] <= 1.5 and 0.75 <= waits[1] <= 2.25  # doubling, capped at 1.5 s


def test_a_rate_limit_waits_its_retry_after(fake: FakeBinanceMarket) -> None:
    fake.history.set(rising_klines(NOW, minutes=300))
    fake.history.fail(429)
    told, waits = fetch(fake, SEAM - 242 * MINUTE, backoff_initial_s=0.1)
    assert isinstance(told[-1], HistoryFetched) and len(told[-1].rows) == 242
    assert waits == [1.0]  # the stand-in's Retry-After is absent: 1 s, longer than the backoff step


def test_a_symbol_listed_since_is_read_as_far_as_it_goes(fake: FakeBinanceMarket) -> None:
    fake.history.set(rising_klines(NOW, minutes=90))
    told, _ = fetch(fake, SEAM - 242 * MINUTE)
    assert isinstance(told[-1], HistoryFetched) and len(told[-1].rows) == 90
    assert [(p.got_minutes, p.total_minutes) for p in told if isinstance(p, HistoryProgress)] == [(90, 90)]


def test_nothing_to_read_is_an_empty_history_not_a_failure(fake: FakeBinanceMarket) -> None:
    told, _ = fetch(fake, SEAM - 242 * MINUTE)
    assert told == [HistoryFetched(7, (), 1)]


def test_an_answer_that_is_not_klines_is_named() -> None:
    told: list[Any] = []

    async def go() -> None:
        from aiohttp import web

        async def bad(_request: web.Request) -> web.Response:
            return web.json_response({"unexpected": True})

        app = web.Application()
        app.router.add_get("/api/v3/klines", bad)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            await KlineHistory(rest_url=f"http://127.0.0.1:{port}", symbol="TRUMPUSDC", sink=told.append).fetch(
                1, SEAM - MINUTE, SEAM)
        finally:
            await runner.cleanup()

    asyncio.run(go())
    assert len(told) == 1 and isinstance(told[0], HistoryFailed) and told[0].refused
    assert told[0].reason.startswith("unexpected answer: not a list of klines")
