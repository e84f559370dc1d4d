"""A live feed that cannot connect says what is down, why, since when and when it tries again (issue 11, item 8).

Against URLs that fail at once without a network (an unresolvable `.invalid`
host, a closed local port) and the stand-in refusing connections. Every wait
is for a message or a condition.
"""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pykka
import pytest
import websockets

from actors.binance.market_stream import JITTER, BinanceStream, describe_connect_error
from actors.market_data.actor import MarketDataActor
from actors.messages import FeedStatusChanged, GetStats, Position, StartFeed, StatusSnapshot, Subscribe, TradingState
from actors.settings import ExchangeSettings, MarketSettings, Settings
from actors.status.render import View, render_html
from tests._support.fakes.binance_market import FakeBinanceMarket
from tests._support.probes import ProbeHandle, eventually


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_market(stream_url: str, rest_url: str = "http://127.0.0.1:9") -> tuple[pykka.ActorRef[Any], ProbeHandle]:
    market = replace(MarketSettings(), source="binance", stream_url=stream_url, stale_after_s=1, depth_limit=100)
    settings = Settings(market=market, exchange=replace(ExchangeSettings(), rest_url=rest_url))
    md = MarketDataActor.start(settings, stream_options={"backoff_initial_s": 0.02, "backoff_max_s": 0.1})
    sub = ProbeHandle()
    md.tell(Subscribe(subscriber=sub.ref))
    md.tell(StartFeed())
    return md, sub


def stats(md: pykka.ActorRef[Any]) -> dict[str, Any]:
    return md.ask(GetStats(), timeout=5).as_dict()


def test_connect_errors_read_as_causes() -> None:
    url = "wss://stream.example.invalid:9443/stream"
    assert describe_connect_error(socket.gaierror(-2, "Name or service not known"), url) == \
        "name not resolved: stream.example.invalid"
    assert describe_connect_error(ConnectionRefusedError(111, "Connect call failed"), url) == \
        "connection refused by stream.example.invalid:9443"
    assert describe_connect_error(TimeoutError(), url) == "no answer from stream.example.invalid:9443 (timed out)"
    assert describe_connect_error(OSError(101, "Network is unreachable"), url) == \
        "network is unreachable (stream.example.invalid:9443)"


def test_the_reconnect_delay_keeps_its_jitter_band() -> None:
    loop = asyncio.new_event_loop()
    try:
        stream = BinanceStream(symbol="TRUMPUSDC", stream_url="ws://x", rest_url="http://x", depth_limit=100,
                               sink=lambda _m: None, clock=lambda: 0, loop=loop, backoff_initial_s=1.0,
                               backoff_max_s=8.0)
    finally:
        loop.close()
    assert JITTER == (0.5, 1.5)
    delays = [stream.backoff.next() for _ in range(6)]
    for n, delay in enumerate(delays):
        step = min(8.0, 2.0**n)
        assert 0.5 * step <= delay <= 1.5 * step
    stream.backoff.reset()
    assert stream.backoff.next() <= 1.5


@pytest.mark.parametrize("where", ["unresolvable host", "closed port"])
def test_a_feed_that_cannot_connect_publishes_the_cause_once_and_counts_the_attempts(where: str) -> None:
    if where == "unresolvable host":
        url, cause = "ws://nonexistent.invalid:9", "connect failed: name not resolved: nonexistent.invalid"
    else:
        port = closed_port()
        url, cause = f"ws://127.0.0.1:{port}", f"connect failed: connection refused by 127.0.0.1:{port}"
    md, sub = start_market(url)
    try:
        down = sub.wait_for(FeedStatusChanged, timeout=10)[0]
        assert down.stale and down.cause == cause and cause in down.reason
        assert down.attempts == 1 and down.since_ms > 0 and down.next_attempt_ms >= down.since_ms
        s = eventually(lambda: (st := stats(md))["failed_attempts"] >= 3 and st, timeout=10)
        assert s["stale"] == 1 and s["stale_cause"] == cause and s["stale_since_ms"] == down.since_ms
        assert s["reconnects"] >= 2 and s["next_attempt_ms"] > 0 and s["last_error"] == cause
        assert len(sub.all(FeedStatusChanged)) == 1  # not one per attempt

        status = StatusSnapshot(
            symbol="TRUMPUSDC", state=TradingState.READY_TO_BUY, active_order=None,
            position=Position(symbol="TRUMPUSDC", quantity=D(0), entry_price=D(0),
                              timestamp=datetime.now(tz=UTC)),
            trades=(), realized_pnl=D(0), fees_paid=D(0), last_advice=None, last_snapshot=None, feed_stale=True,
            halted_reason=None)
        page = render_html(View(status=status, stats={"market": md.ask(GetStats(), timeout=5)}), 0.0, s["stale_since_ms"])
        assert f'<dd id="feed-cause">{cause}</dd>' in page
        assert re.search(r'<dd id="feed-reconnects">([2-9]|\d\d+)</dd>', page)
        assert re.search(r'<dd id="feed-attempts">([3-9]|\d\d+)</dd>', page)
        assert 'id="feed-since">' in page and 'id="feed-next-attempt">in ' in page
        assert f"Market feed is stale ({cause})" in page
    finally:
        md.stop()
        sub.ref.stop()


def test_a_refused_feed_says_so_and_clears_everything_when_it_comes_back() -> None:
    fake = FakeBinanceMarket("TRUMPUSDC")
    fake.set_book([("10.00", "5")], [("10.01", "4")])
    fake.refuse(True)
    fake.start()
    md, sub = start_market(fake.stream_url, fake.rest_url)
    try:
        down = sub.wait_for(FeedStatusChanged, timeout=10)[0]
        assert down.stale and re.fullmatch(r"connect failed: 127\.0\.0\.1:\d+ answered HTTP 503", down.cause)
        eventually(lambda: stats(md)["failed_attempts"] >= 2, timeout=10)
        fake.refuse(False)
        fake.wait_connected(timeout=15)
        fake.book_update(bids=[("9.99", "1")])
        back = sub.wait_for(FeedStatusChanged, lambda m: not m.stale, timeout=10)[0]
        assert back.cause == "" and back.attempts == 0 and back.next_attempt_ms == 0
        s = stats(md)
        assert s["stale"] == 0 and s["failed_attempts"] == 0 and s["next_attempt_ms"] == 0
        assert s["stale_cause"] == "" and s["reconnects"] >= 2 and "HTTP 503" in s["last_error"]
    finally:
        md.stop()
        sub.ref.stop()
        fake.stop()


def test_an_invalid_status_reads_as_the_http_answer() -> None:
    from websockets.datastructures import Headers
    from websockets.http11 import Response

    exc = websockets.exceptions.InvalidStatus(Response(451, "Unavailable For Legal Reasons", Headers(), b""))
    assert describe_connect_error(exc, "wss://stream.binance.com:9443/x") == "stream.binance.com:9443 answered HTTP 451"
