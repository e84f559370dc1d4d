"""The owner's chat: commands and approval buttons, against the Bot API stand-in on 127.0.0.1 and a real keeper."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from actors.messages import (
    AdviceRequest,
    CancelOrder,
    GetStats,
    GetStatus,
    HaltTrading,
    PlaceOrder,
    RiskState,
    Side,
    SnapshotProcessed,
    StatusSnapshot,
    StopTrading,
    TradingState,
)
from actors.notify import build_channels, build_operator
from actors.notify.actor import NotifierActor
from actors.settings import MarketSettings, NotifySettings, Settings
from actors.state_keeper.actor import StateKeeperActor
from actors.state_keeper.journal import Journal
from tests._support.fakes.telegram import FakeTelegram
from tests._support.helpers import FILTERS, advice, settings, snap, update
from tests._support.probes import ProbeHandle, eventually

TOKEN = "654321:AAF-commands_secret_token"
OWNER_CHAT, ADMIN, MEMBER, STRANGER_CHAT = 4242, 7, 8, 999
TIMEOUT_S = 120


@pytest.fixture
def tg(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegram]:
    fake = FakeTelegram(TOKEN)
    fake.start()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_CHAT_ID", str(OWNER_CHAT))
    yield fake
    fake.stop()


def bot_settings(api_url: str, approve: str = "false") -> Settings:
    n = NotifySettings(channels=("telegram",), events=(), telegram_api_url=api_url, timeout_s=5, telegram_commands=True,
                       telegram_admins=(ADMIN,), approve_entries=approve, approve_timeout_s=TIMEOUT_S)
    return dataclasses.replace(settings(), market=MarketSettings(source="binance"), notify=n)


class Rig:
    """A real keeper (probes for its peers), the notifier with the owner's chat, the Bot API stand-in."""

    def __init__(self, tg: FakeTelegram, approve: str = "false", journal: Journal | None = None,
                 start_bot: bool = True) -> None:
        self.tg = tg
        self.settings = bot_settings(tg.base_url, approve)
        self.market, self.executor = ProbeHandle(), ProbeHandle()
        self.consultant = ProbeHandle(self._answer)
        self.keeper = StateKeeperActor.start(self.settings, market=self.market.ref, executor=self.executor.ref,
                                             consultant=self.consultant.ref, journal=journal, filters=FILTERS,
                                             id_prefix="t")
        self.notifier: Any = None
        if start_bot:
            self.start_bot()

    def start_bot(self) -> None:
        op = build_operator(self.settings, self.keeper, poll_s=1)
        assert op is not None
        self.notifier = NotifierActor.start(self.settings, self.keeper, build_channels(self.settings),
                                            market_time=False, tick_s=0, operator=op)
        eventually(lambda: self.tg.polls() >= 1)

    def _answer(self, req: Any) -> None:
        if isinstance(req, AdviceRequest):
            buying = req.state is TradingState.READY_TO_BUY
            a = advice(req.request_id, "buy" if buying else "sell", "39.95" if buying else "40.50", valid_ms=10**14)
            assert req.reply_to is not None
            req.reply_to.tell(dataclasses.replace(a, reasoning="uptrend with rising volume"))

    def tick(self, seq: int, **kw: Any) -> None:
        self.keeper.tell(snap(seq, **kw))
        self.market.wait_for(SnapshotProcessed, lambda m: m.seq == seq)

    def status(self) -> StatusSnapshot:
        return self.keeper.ask(GetStatus(recent_trades=20), timeout=5)

    def stats(self) -> dict[str, Any]:
        return self.notifier.ask(GetStats(), timeout=5).as_dict()

    def say(self, text: str, chat: int = OWNER_CHAT, user: int = ADMIN, **kw: Any) -> str:
        """Send `text` as the user and return the bot's answer (no notes are on: every message is an answer)."""
        before = len(self.tg.messages())
        self.tg.command(text, chat_id=chat, user_id=user, **kw)
        eventually(lambda: len(self.tg.messages()) > before)
        return self.tg.texts()[before]

    def hold_position(self) -> None:
        """Buy and fill: READY_TO_SELL with 0.25 held."""
        self.tick(1)
        buy = self.executor.wait_for(PlaceOrder)[0]
        self.keeper.tell(update(buy.client_order_id, "FILLED", "0.250", "9.9875", commission="0.0099875",
                                asset="USDC", last="0.250", trade_id=1))
        eventually(lambda: self.status().state is TradingState.READY_TO_SELL)

    def stop(self) -> None:
        if self.notifier is not None:
            self.notifier.stop()
        self.keeper.stop()


def test_each_read_command_from_the_owners_chat_is_answered_readably(tg: FakeTelegram) -> None:
    rig = Rig(tg)
    rig.hold_position()
    status = rig.say("/status")
    assert status.startswith("PAPER TRUMPUSDC · ACTIVE") and "state: ready_to_sell" in status
    assert "holding 0.250 at 39.9500" in status and "equity" in status and "feed: ok" in status
    profit = rig.say("/profit")
    assert "realised since start: +0.0000" in profit and "unrealised: " in profit and "0.250 held" in profit
    trades = rig.say("/trades@TraderBot 3")
    assert "the last trade (UTC" in trades and "OPEN 0.250 @ 39.9500" in trades
    why = rig.say("/why")
    assert "ACTIVE, ready_to_sell." in why and "last advice (model, confidence 0.9): BUY @ 39.95" in why
    assert "uptrend with rising volume" in why
    help_text = rig.say("/help")
    assert "/pause [reason]" in help_text and "/sell" in help_text
    assert "Unknown command /moon" in rig.say("/moon")
    assert all(len(t) < 600 for t in tg.texts())  # short: a phone shows each whole
    assert {m["chat_id"] for m in tg.messages()} == {str(OWNER_CHAT)}
    rig.stop()


def test_controls_take_the_dashboards_path_journaled_with_who_and_why(tg: FakeTelegram, tmp_path: Path) -> None:
    rig = Rig(tg, journal=Journal(tmp_path / "j.sqlite3"))
    rig.hold_position()
    assert "Buying paused. Trading is REDUCING: buying paused by telegram (7 @owner): news at 14:00" in rig.say(
        "/pause news at 14:00")
    assert rig.status().risk.state is RiskState.REDUCING  # type: ignore[union-attr]
    assert "Trading is ACTIVE" in rig.say("/resume")
    rig.tick(2)  # a sell at the advised 40.50 rests
    sell = rig.executor.wait_for(PlaceOrder, lambda m: m.side is Side.SELL)[0]
    assert f"Cancel requested for SELL 0.250 @ 40.50 ({sell.client_order_id})" in rig.say("/cancel too far")
    rig.executor.wait_for(CancelOrder)
    rig.keeper.tell(update(sell.client_order_id, "CANCELED"))
    eventually(lambda: rig.status().state is TradingState.READY_TO_SELL)
    assert "No open order to cancel" in rig.say("/cancel")
    halted = rig.say("/halt")
    assert "HALTED: halted by telegram (7 @owner)" in halted and "0.250 held stays" in halted
    sold = rig.say("/sell get out")
    assert "Selling 0.250 at the bid, through the risk gate" in sold
    rig.tick(3)
    flat = rig.executor.wait_for(PlaceOrder, lambda m: m.reason == "flatten")[0]
    assert flat.side is Side.SELL and flat.price == D("39.99")  # at the bid
    rig.stop()
    text = json.dumps([(k, p) for _s, k, p in Journal(tmp_path / "j.sqlite3").facts()], default=str)
    for said in ("buying paused by telegram (7 @owner): news at 14:00", "resumed by telegram (7 @owner)",
                 "cancelled by telegram (7 @owner): too far", "halted by telegram (7 @owner): get out"):
        assert said in text


def test_a_strangers_chat_is_ignored_and_a_member_may_read_but_not_control(tg: FakeTelegram, logs: Any) -> None:
    rig = Rig(tg)
    rig.hold_position()
    rig.tick(2)
    sell = rig.executor.wait_for(PlaceOrder, lambda m: m.side is Side.SELL)[0]
    before = rig.status()
    every = ["/status", "/profit", "/trades", "/why", "/pause x", "/resume", "/halt", "/sell", "/cancel", "/help"]
    for text in every:
        tg.command(text, chat_id=STRANGER_CHAT, user_id=ADMIN)  # even an admin's id, from another chat
    tg.press(f"approve:{'t-a1'}", message_id=1, chat_id=STRANGER_CHAT, user_id=ADMIN)
    eventually(lambda: rig.stats()["telegram_ignored"] == len(every) + 1)
    assert tg.messages() == [] and tg.pop_ups() == []  # not a word back
    after = rig.status()
    assert after.risk == before.risk and after.active_order == before.active_order
    assert rig.executor.all(CancelOrder) == []
    said = [m for m in logs.messages("WARNING") if f"chat {STRANGER_CHAT}" in m]
    assert len(said) == 1  # once per chat
    refused = rig.say("/halt", user=MEMBER)  # the owner's chat, but not an admin
    assert "Only an admin" in refused and rig.status().risk.state is RiskState.ACTIVE  # type: ignore[union-attr]
    assert "state: selling" in rig.say("/status", user=MEMBER)  # reading is open to the chat
    assert rig.executor.all(CancelOrder) == [] and sell.client_order_id == rig.status().active_order.id  # type: ignore[union-attr]
    rig.stop()


def test_pause_from_telegram_then_no_buy(tg: FakeTelegram) -> None:
    rig = Rig(tg)
    assert "Buying paused" in rig.say("/pause")
    rig.tick(1)
    rig.tick(2)
    assert rig.executor.all(PlaceOrder) == []
    assert "paused" in {b.condition for b in rig.status().blocked}
    assert "blocked: paused" in rig.say("/why")
    rig.stop()


def _prompt(tg: FakeTelegram, count: int = 1) -> tuple[dict[str, str], str]:
    """The `count`th approval request sent, and its approval id (from its buttons)."""
    msg = eventually(lambda: len(found := [m for m in tg.messages() if "approve this entry" in m["text"]]) >= count
                     and found)[count - 1]
    keys = json.loads(msg["reply_markup"])["inline_keyboard"][0]
    assert [k["text"] for k in keys] == ["Approve", "Reject"]
    return msg, keys[0]["callback_data"].split(":", 1)[1]


def _message_id(tg: FakeTelegram, prompt: dict[str, str]) -> int:
    return tg.messages().index(prompt) + 1  # the stand-in numbers its messages from 1, in order


def test_an_approved_entry_becomes_an_order(tg: FakeTelegram) -> None:
    rig = Rig(tg, approve="true")
    rig.tick(1)
    prompt, approval_id = _prompt(tg)
    assert "BUY 0.250 at 39.95" in prompt["text"] and "exit plan: " in prompt["text"]
    assert "uptrend with rising volume" in prompt["text"] and "expires" in prompt["text"]
    rig.tick(2)
    assert rig.executor.all(PlaceOrder) == []  # nothing while it waits
    tg.press(f"approve:{approval_id}", message_id=_message_id(tg, prompt), chat_id=OWNER_CHAT, user_id=MEMBER)
    assert "Only an admin" in eventually(lambda: tg.pop_ups())[-1]["text"]
    assert rig.executor.all(PlaceOrder) == []
    tg.press(f"approve:{approval_id}", message_id=_message_id(tg, prompt), chat_id=OWNER_CHAT, user_id=ADMIN)
    order = rig.executor.wait_for(PlaceOrder)[0]
    assert order.side is Side.BUY and order.price == D("39.95")
    edit = eventually(lambda: tg.edits())[-1]
    assert edit["message_id"] == str(_message_id(tg, prompt))
    assert "APPROVED by telegram (7 @owner) after" in edit["text"] and order.client_order_id in edit["text"]
    assert "reply_markup" not in edit  # the buttons are gone
    assert "APPROVED" in eventually(lambda: len(tg.pop_ups()) == 2 and tg.pop_ups())[-1]["text"]
    assert rig.status().approvals[-1].outcome == "approved"
    rig.stop()


def test_a_rejected_and_an_expired_entry_place_nothing(tg: FakeTelegram) -> None:
    rig = Rig(tg, approve="true")
    rig.tick(1)
    prompt, approval_id = _prompt(tg)
    tg.press(f"reject:{approval_id}", message_id=_message_id(tg, prompt), chat_id=OWNER_CHAT, user_id=ADMIN)
    assert "REJECTED by telegram (7 @owner)" in eventually(lambda: tg.edits())[-1]["text"]
    rig.tick(2, ts_ms=1000 + TIMEOUT_S * 1000)  # past the quiet time after a rejection: a new entry waits
    prompt2, approval_id2 = _prompt(tg, 2)
    assert approval_id2 != approval_id
    rig.tick(3, ts_ms=1000 + 2 * TIMEOUT_S * 1000 + 5000)  # nobody answers within approve_timeout_s
    assert "EXPIRED after 2m" in eventually(lambda: len(tg.edits()) == 2 and tg.edits())[-1]["text"]
    tg.press(f"approve:{approval_id2}", message_id=_message_id(tg, prompt2), chat_id=OWNER_CHAT, user_id=ADMIN)
    assert "no longer waits" in eventually(lambda: len(tg.pop_ups()) == 2 and tg.pop_ups())[-1]["text"]  # too late
    assert rig.executor.all(PlaceOrder) == []
    assert [a.outcome for a in rig.status().approvals] == ["rejected", "expired"]
    rig.stop()


def test_stopping_cancels_the_waiting_entry_and_its_message_says_so(tg: FakeTelegram) -> None:
    rig = Rig(tg, approve="model")
    rig.tick(1)
    prompt, _approval_id = _prompt(tg)
    rig.keeper.ask(StopTrading(reason="SIGTERM"), timeout=5)
    rig.notifier.stop()  # at once: the edit under way still goes out
    edit, = tg.edits()
    assert edit["message_id"] == str(_message_id(tg, prompt)) and "CANCELLED: trading stopped: SIGTERM" in edit["text"]
    assert rig.executor.all(PlaceOrder) == []
    rig.keeper.stop()


def test_a_restart_with_old_updates_pending_does_not_act_on_them(tg: FakeTelegram) -> None:
    rig = Rig(tg, approve="true", start_bot=False)
    old = int(time.time()) - 3600
    for text in ("/halt", "/sell", "/pause"):
        tg.command(text, chat_id=OWNER_CHAT, user_id=ADMIN, date=old)  # sent while the bot was down
    tg.press("approve:t-a1", message_id=1, chat_id=OWNER_CHAT, user_id=ADMIN)  # a button from the last run
    last = tg.press("reject:t-a1", message_id=1, chat_id=OWNER_CHAT, user_id=ADMIN)
    rig.start_bot()
    eventually(lambda: any(o is not None and o > last for o in tg.offsets))  # read and acknowledged
    eventually(lambda: rig.stats()["telegram_ignored"] == 3 and len(tg.pop_ups()) == 2)
    assert rig.status().risk.state is RiskState.ACTIVE  # type: ignore[union-attr]
    assert all("no longer waits" in p["text"] for p in tg.pop_ups()) and tg.messages() == []
    assert "PAPER TRUMPUSDC · ACTIVE" in rig.say("/status")  # a command sent now is answered
    rig.stop()
    assert tg.pending() == []  # acknowledged at stop: the next start sees none of it


def test_updates_are_rate_limited(tg: FakeTelegram, logs: Any) -> None:
    rig = Rig(tg)
    for _ in range(40):
        tg.command("/help", chat_id=OWNER_CHAT, user_id=ADMIN)
    eventually(lambda: rig.stats()["telegram_updates"] == 40 and rig.stats()["telegram_answers"] == 30)
    eventually(lambda: len(tg.messages()) == 30)
    assert rig.stats()["telegram_ignored"] == 10
    assert len([m for m in logs.messages("WARNING") if "updates a minute" in m]) == 1
    rig.stop()


def test_an_outage_costs_one_warning_trading_goes_on_and_the_waiting_entry_expires(
        monkeypatch: pytest.MonkeyPatch, logs: Any) -> None:
    """A Bot API URL aiohttp refuses (port 99999): its error text holds the request URL, token and all."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_CHAT_ID", str(OWNER_CHAT))
    broken = FakeTelegram(TOKEN)
    broken.port = 99999  # never started: only its base_url is used
    rig = Rig(broken, approve="true", start_bot=False)
    rig.settings = dataclasses.replace(rig.settings, notify=dataclasses.replace(rig.settings.notify, events=("halted",)))
    rig.start_bot = lambda: None  # type: ignore[method-assign]
    op = build_operator(rig.settings, rig.keeper, poll_s=1)
    rig.notifier = NotifierActor.start(rig.settings, rig.keeper, build_channels(rig.settings), market_time=False,
                                       tick_s=0, operator=op)
    eventually(lambda: any("cannot reach Telegram" in m for m in logs.messages("WARNING")))
    rig.tick(1)
    eventually(lambda: rig.status().approvals and rig.status().approvals[-1].outcome == "pending")
    rig.tick(2, ts_ms=1000 + TIMEOUT_S * 1000)
    assert rig.status().approvals[-1].outcome == "expired" and rig.executor.all(PlaceOrder) == []
    rig.tick(3, ts_ms=1000 + 2 * TIMEOUT_S * 1000)  # trading goes on: the next entry is proposed
    eventually(lambda: len(rig.status().approvals) == 2)
    rig.keeper.ask(HaltTrading(by="ops", reason="test"), timeout=5)  # a note for the (down) notes channel too
    eventually(lambda: rig.stats()["telegram_attempts"] >= 1 and not rig.stats()["telegram_in_flight"])
    eventually(lambda: rig.stats()["telegram_poll_failures"] >= 2)  # failed again, retried quietly
    warned = [m for m in logs.messages("WARNING") if "telegram" in m.lower()]
    assert len(warned) == 1, warned
    text = logs.text()
    assert "bot***/getUpdates" in text  # the failing URL was logged, redacted
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    rig.stop()
