"""The Binance executor on the local stand-in, started for a test with tuning that keeps tests fast."""

from __future__ import annotations

from typing import Any

import pykka

from actors._lib.secrets import Secret
from actors.binance.config import BinanceTuning
from actors.messages import FiltersUpdated, GetStats, Subscribe
from actors.order_executor import OrderExecutorActor
from actors.settings import ExchangeSettings, Settings
from tests._support.fakes.binance_exchange import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeBinance
from tests._support.probes import ProbeHandle, eventually

SYMBOL = "TRUMPUSDC"
TUNING = BinanceTuning(
    request_timeout_s=0.5,
    query_backoff_s=0.05,
    query_backoff_max_s=0.2,
    landing_grace_ms=100,
    min_not_found=3,
    foreign_query_grace_s=0.3,
    reconnect_initial_s=0.05,
    reconnect_max_s=0.2,
    heartbeat_s=5,
    account_refresh_delay_s=0.05,
    retry_s=0.2,
    default_retry_after_s=1,
    poll_while_down_s=0.2,
    closed_poll_s=0.2,
)


def start_executor(fake: FakeBinance, *, secret: str = DEFAULT_API_SECRET, wait_stream: bool = True,
                   recv_window_ms: int = 1000, **exchange: Any) -> tuple[pykka.ActorRef[Any], ProbeHandle]:
    s = Settings(
        exchange=ExchangeSettings(
            kind="binance", rest_url=fake.rest_url, ws_api_url=fake.ws_api_url, recv_window_ms=recv_window_ms,
            **exchange,
        )
    )
    ex = OrderExecutorActor.start(s, api_key=Secret(DEFAULT_API_KEY), api_secret=Secret(secret), tuning=TUNING)
    sub = ProbeHandle()
    ex.tell(Subscribe(subscriber=sub.ref))
    sub.wait_for(FiltersUpdated)
    if wait_stream:
        eventually(lambda: ex.ask(GetStats(), timeout=5).as_dict()["stream_up"] == 1)
    return ex, sub
