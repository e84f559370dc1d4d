"""The real `binance` exchange and OpenRouter code paths, end to end, against stand-ins on 127.0.0.1."""

from __future__ import annotations

import json
import signal
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from tests._support.e2e_harness import OPENROUTER_KEY, Bot, Stand, base_balance, summary, wait_until
from tests._support.fakes.binance_exchange import DEFAULT_API_KEY, DEFAULT_API_SECRET
from tests._support.fakes.openrouter import Reply


@pytest.fixture
def stand(tmp_path: Path):
    s = Stand(tmp_path)
    yield s
    s.stop()


def test_sigterm_mid_run_stops_cleanly(stand: Stand, tmp_path: Path) -> None:
    with Bot(stand, stand.config(), tmp_path / "report") as bot:
        wait_until(lambda: len(stand.exchange.trades) >= 3, 90, "three fills on the stand-in", bot.proc)
        code = bot.terminate(signal.SIGTERM)
    out, err = bot.stdout(), bot.stderr()
    assert code == 0, err[-3000:]
    assert "SIGTERM received" in err and "Run report" in out
    s = summary(tmp_path / "report")
    assert s["ai"]["model_calls"] > 0  # the OpenRouter path was used
    # the books agree with the exchange: what the bot holds is what the account holds
    assert D(s["position"]["qty"]) == base_balance(stand)
    usdc_free, usdc_locked = stand.exchange.balances["USDC"]
    if s["state"] in ("ready_to_buy", "ready_to_sell"):  # nothing resting: every USDC is accounted for
        assert usdc_free + usdc_locked - 1000 == D(s["realized_pnl"]) - D(s["position"]["cost"])
    # one exchange order per client order id, and every journaled order is known to the exchange
    ids = [o["clientOrderId"] for o in stand.exchange.orders]
    assert len(ids) == len(set(ids))
    for t in s["trades"]:
        for cid in t["client_order_ids"]:
            assert cid in ids
    # no secret anywhere it could leak
    logs = "".join(p.read_text() for p in (tmp_path / "logs").glob("*"))
    report = (tmp_path / "report" / "summary.json").read_text()
    for secret in (DEFAULT_API_SECRET, OPENROUTER_KEY, DEFAULT_API_KEY):
        for text in (out, err, logs, report):
            assert secret not in text
    # the AI requests carried the key only in the Authorization header
    chats = [r for r in stand.openrouter.requests() if r.path.endswith("/chat/completions")]
    assert chats
    for req in chats:
        assert OPENROUTER_KEY not in req.text + req.query
        assert req.headers.get("Authorization") == f"Bearer {OPENROUTER_KEY}"


@pytest.mark.parametrize("cancel", [False, True])
def test_a_fill_whose_report_is_late_at_sigterm_is_in_the_report(tmp_path: Path, cancel: bool) -> None:
    """The exchange fills the resting buy, its report is held back, SIGTERM comes: the bot asks what became of
    the order (or cancels it and learns it filled) before writing the report, so the books agree with the
    account. A fixed one-second pause, or none without cancel_on_exit, raced this."""
    stand = Stand(tmp_path, auto_fill=False)
    try:
        config = stand.config(trading="max_trades = 1")
        if cancel:
            config.write_text(config.read_text().replace('confirm_real_money = false\n',
                                                         'confirm_real_money = false\ncancel_on_exit = true\n'))
        with Bot(stand, config, tmp_path / "report") as bot:
            buy = wait_until(lambda: stand.orders("BUY"), 60, "a buy", bot.proc)[0]
            stand.exchange.hold_events()  # the user stream is late: only asking the exchange can tell
            stand.exchange.fill(buy["clientOrderId"])
            code = bot.terminate(signal.SIGTERM)
        assert code == 0, bot.stderr()[-3000:]
        s = summary(tmp_path / "report")
        held = base_balance(stand)
        assert held > 0 and D(s["position"]["qty"]) == held  # the fill is booked, not lost
        assert s["trades"] and s["trades"][0]["client_order_ids"] == [buy["clientOrderId"]]
    finally:
        stand.stop()


def test_a_stop_sells_on_the_live_feed_while_the_model_has_not_answered(tmp_path: Path) -> None:
    """The bot holds, the model is asked about the position and does not answer, the market falls through
    the stop: the stop sells on the live feed, without waiting for the model (its timeout here is far longer
    than the test). Before, the keeper held back its acknowledgement until the answer, and the conflated
    live feed sent it nothing in the meantime: no snapshot, no stop."""
    stand = Stand(tmp_path)
    try:
        config = stand.config(trading="max_trades = 1")
        config.write_text(config.read_text().replace("\ntimeout_s = 3\n", "\ntimeout_s = 110\n"))
        stand.openrouter.default = Reply.hang_forever()  # every question after the scripted one
        stand.openrouter.push(Reply.advice(action="buy", base_price="10.00", price_range=("9.99", "10.00"),
                                           confidence="0.9", reasoning="scripted: buy"))
        with Bot(stand, config, tmp_path / "report") as bot:
            wait_until(lambda: stand.orders("BUY"), 60, "a buy", bot.proc)
            wait_until(lambda: any(asked_in(r) == "ready_to_sell" for r in stand.openrouter.chat_requests()), 60,
                       "the question about the position", bot.proc)
            stand.market.stop_auto()
            stand.market.crash_to("9.00")  # 10 % under the entry; the stop is 5 % (or tighter)
            wait_until(lambda: stand.orders("SELL"), 30,
                       "the stop's sell, with the question still unanswered", bot.proc)
            code = bot.terminate(signal.SIGTERM)
        assert code == 0, bot.stderr()[-3000:]
        s = summary(tmp_path / "report")
        assert s["trades"] and s["trades"][0]["exit_reason"] in ("stop_loss", "rule_stop"), s["trades"]
        assert D(s["position"]["qty"]) == base_balance(stand)
    finally:
        stand.stop()


def asked_in(request: Any) -> str | None:
    """The bot's state in an advice request to the model (its facts are the user message's json)."""
    user = [m for m in request.json["messages"] if m.get("role") == "user"][-1]["content"]
    return json.loads(user[user.index("{"):]).get("state")
