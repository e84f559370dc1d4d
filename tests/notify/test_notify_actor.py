"""The notifier actor against local stand-ins of the Telegram Bot API and of a webhook receiver (127.0.0.1)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from loguru import logger

from actors._lib.secrets import Secret
from actors.messages import GetStats, HaltTrading, OrderDenied, Side, Subscribe, TradeClosed, TradingHalted
from actors.notify import build_channels, start_notifier
from actors.notify.actor import NotifierActor, Tick
from actors.notify.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from actors.settings import NotifySettings, Settings
from tests._support.fakes.telegram import FakeTelegram
from tests._support.fakes.webhook import FakeWebhook
from tests._support.probes import ProbeHandle, eventually
from tests.notify.test_notify_parts import T0, trade

TOKEN = "123456:AAH-secret_bot_token"
HOOK_PATH = "/hooks/4f1c-webhook-path-secret"
HOOK_KEY = "whsec-signing-key-9f8e"


class FakeClock:
    def __init__(self, now: int = T0) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return self.now

    def advance(self, ms: int) -> None:
        with self._lock:
            self.now += ms


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(TOKEN)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def hook() -> Iterator[FakeWebhook]:
    fake = FakeWebhook(HOOK_PATH)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, hook: FakeWebhook) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_CHAT_ID", "-1001234")
    monkeypatch.setenv("NOTIFY_WEBHOOK_URL", hook.url)
    monkeypatch.setenv("NOTIFY_WEBHOOK_SECRET", HOOK_KEY)


def notify_settings(api_url: str, **kw: Any) -> Settings:
    n = NotifySettings(channels=("telegram", "webhook"), telegram_api_url=api_url, timeout_s=5, **kw)
    return replace(Settings(), notify=n)


def start(settings: Settings, keeper: ProbeHandle, clock: FakeClock) -> Any:
    ref = NotifierActor.start(settings, keeper.ref, build_channels(settings), market_time=False, clock=clock, tick_s=0)
    keeper.wait_for(Subscribe)
    return ref


def stats(ref: Any) -> dict[str, Any]:
    return ref.ask(GetStats(), timeout=5).as_dict()


def closed(pnl: str = "0.18") -> TradeClosed:
    return TradeClosed(trade=trade(pnl), ts_ms=T0)


def no_secret_in(*texts: str) -> None:
    for text in texts:
        for secret in (TOKEN, HOOK_PATH, HOOK_KEY, TOKEN.split(":")[1]):
            assert secret not in text


def test_messages_arrive_at_both_channels_without_a_secret(env: None, tg: FakeTelegram, hook: FakeWebhook) -> None:
    keeper, clock = ProbeHandle(), FakeClock()
    ref = start(notify_settings(tg.base_url), keeper, clock)
    ref.tell(closed())
    ref.tell(TradingHalted(reason="max drawdown reached", ts_ms=T0))
    hook.wait_for(2)
    eventually(lambda: len(tg.messages()) == 2)
    texts = [m["text"] for m in tg.messages()]
    assert "trade closed: +0.1800 USDC" in texts[0] and "HALTED: max drawdown reached" in texts[1]
    assert {m["chat_id"] for m in tg.messages()} == {"-1001234"}
    bodies = [r.json for r in hook.received()]
    assert [b["kind"] for b in bodies] == ["trade_closed", "halted"] and bodies[0]["data"]["profit_loss"] == "0.18"
    no_secret_in(*texts, *(r.body.decode() for r in hook.received() + tg.received()))
    for r in hook.received():  # signed: the receiver can check who sent it
        expected = sign(Secret(HOOK_KEY), r.headers[TIMESTAMP_HEADER], r.body)
        assert r.headers[SIGNATURE_HEADER] == f"sha256={expected}"


def test_the_rate_limit_holds(env: None, tg: FakeTelegram, hook: FakeWebhook) -> None:
    keeper, clock = ProbeHandle(), FakeClock()
    ref = start(notify_settings(tg.base_url, rate_per_minute=3), keeper, clock)
    for _ in range(10):
        ref.tell(closed())
    eventually(lambda: stats(ref)["telegram_delivered"] == 3 and stats(ref)["webhook_delivered"] == 3)
    s = stats(ref)
    assert s["telegram_queued"] == 7 and s["webhook_queued"] == 7
    assert len(tg.messages()) == 3 and len(hook.received()) == 3  # the clock stands still: no more can go
    clock.advance(60_000)
    ref.tell(Tick())
    eventually(lambda: len(tg.messages()) == 6 and len(hook.received()) == 6)
    # the stand-in records a request before the notifier hears it was delivered: wait for that too
    eventually(lambda: stats(ref)["telegram_delivered"] == 6 and not stats(ref)["telegram_in_flight"])
    assert stats(ref)["telegram_queued"] == 4


def test_a_down_endpoint_costs_one_log_line(env: None, hook: FakeWebhook, logs: Any) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    hook.status = 503
    keeper, clock = ProbeHandle(), FakeClock()
    ref = start(notify_settings(dead), keeper, clock)
    for _ in range(6):
        ref.tell(closed())
    def settled() -> bool:
        st = stats(ref)
        return bool(st["telegram_attempts"] and not st["telegram_in_flight"] and not st["webhook_in_flight"])

    for _ in range(3):  # past each backoff: another attempt, each failing
        eventually(settled)
        clock.advance(600_000)
        ref.tell(Tick())
    eventually(lambda: settled() and stats(ref)["telegram_attempts"] == 4 and stats(ref)["webhook_attempts"] == 4)
    warned = [m for m in logs.messages("WARNING") if m.startswith("notifier:")]
    assert len([m for m in warned if "telegram failed" in m]) == 1
    assert len([m for m in warned if "webhook failed" in m and "HTTP 503" in m]) == 1
    no_secret_in(logs.text())
    hook.status = 200  # the receiver comes back: one line says so, and the held notes go out
    clock.advance(600_000)
    ref.tell(Tick())
    eventually(lambda: stats(ref)["webhook_delivered"] == 6)
    assert len(hook.received()) == 4 + 6 and stats(ref)["webhook_dropped"] == 0
    assert any("webhook delivers again" in m for m in logs.messages("INFO"))
    assert stats(ref)["telegram_down"] == 1 and stats(ref)["webhook_down"] == 0


def test_a_burst_of_denials_and_error_lines_each_make_one_message(env: None, tg: FakeTelegram) -> None:
    keeper, clock = ProbeHandle(), FakeClock()
    ref = start(notify_settings(tg.base_url), keeper, clock)
    for i in range(20):
        ref.tell(OrderDenied(side=Side.BUY, price=Decimal("10"), quantity=Decimal("1"), code="halted",
                             detail=f"halted ({i})", proposed_by="model", ts_ms=T0))
    logger.error("the executor lost its connection")
    logger.error("the executor lost its connection again")
    eventually(lambda: stats(ref)["errors_seen"] == 2 and stats(ref)["events"] == 20)
    assert tg.messages() == []  # gathered, not sent one by one
    clock.advance(60_000)
    ref.tell(Tick())
    eventually(lambda: len(tg.messages()) == 2)
    texts = sorted(m["text"] for m in tg.messages())
    assert "2 errors logged" in texts[0] and "lost its connection again" in texts[0]
    assert "20 orders denied by the risk gate" in texts[1] and "halted ×20" in texts[1]


def test_what_is_left_goes_out_at_stop(env: None, tg: FakeTelegram) -> None:
    keeper, clock = ProbeHandle(), FakeClock()
    ref = start(notify_settings(tg.base_url), keeper, clock)
    ref.tell(OrderDenied(side=Side.SELL, price=Decimal("10"), quantity=Decimal("1"), code="below_min_notional",
                         detail="0.5 USDC < 1", proposed_by="risk", ts_ms=T0))
    ref.tell(closed())
    ref.tell(TradingHalted(reason="feed lost", ts_ms=T0))  # queued behind the trade still being delivered
    ref.stop()
    texts = [m["text"] for m in tg.messages()]
    assert len(texts) == 4 and "trade closed" in texts[0] and "HALTED" in texts[1]
    assert "1 order denied" in texts[2] and "below_min_notional" in texts[2]
    assert "so far: 1 trades" in texts[3] and "1 denials, 1 halts" in texts[3]  # the day so far


def test_a_real_keeper_halt_reaches_telegram_without_a_keeper_change(env: None, tg: FakeTelegram) -> None:
    from actors.state_keeper.actor import StateKeeperActor

    settings = notify_settings(tg.base_url)
    keeper = StateKeeperActor.start(settings)
    refs = start_notifier(settings, keeper, backtest=False)
    assert set(refs) == {"notify"}
    keeper.ask(HaltTrading(by="test", reason="operator says stop"), timeout=5)
    eventually(lambda: any("HALTED" in m["text"] for m in tg.messages()))
    assert "operator says stop" in tg.messages()[-1]["text"]


def test_no_channel_means_no_notifier(monkeypatch: pytest.MonkeyPatch, logs: Any) -> None:
    keeper = ProbeHandle()
    assert start_notifier(Settings(), keeper.ref, backtest=False) == {}
    both = notify_settings("http://127.0.0.1:9")
    assert start_notifier(both, keeper.ref, backtest=True) == {}  # backtests stay quiet unless asked
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID", "NOTIFY_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    assert start_notifier(both, keeper.ref, backtest=False) == {}
    warned = logs.messages("WARNING")
    assert any("telegram channel is off" in m and "TELEGRAM_BOT_TOKEN" in m for m in warned)
    assert any("webhook channel is off" in m for m in warned)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "not-a-token-at-all")
    monkeypatch.setenv("TELEGRAM_CHAT_ID", "42")
    assert build_channels(both) == {}
    assert not any("not-a-token-at-all" in m for m in logs.messages())
    assert keeper.all(Subscribe) == []


def test_on_the_testnet_every_message_says_so(env: None, tg: FakeTelegram, hook: FakeWebhook) -> None:
    s = notify_settings(tg.base_url)
    s = replace(s, exchange=replace(s.exchange, kind="binance", network="testnet"))
    keeper, clock = ProbeHandle(), FakeClock()
    ref = start(s, keeper, clock)
    ref.tell(closed())
    hook.wait_for(1)
    eventually(lambda: len(tg.messages()) == 1)
    assert tg.messages()[0]["text"].startswith("[TESTNET] TRUMPUSDC trade closed")
    assert hook.received()[0].json["text"].startswith("[TESTNET] ")
