"""kill -9 at the dangerous moments, restart, and check that nothing was lost or done twice.

The bot runs in a subprocess against the Binance stand-in (real `binance`
code paths, signed REST and the WebSocket API user stream). A crash point
(`actors/faults.py`) kills it with SIGKILL: (a) after an order intent is
journaled but before the order is sent, (b) after the exchange accepted an
order but before the keeper heard, (c) between a fill and its journal write;
(d) kills it from outside mid-way through a sell, and fills the rest of the
sell while it is down. After a restart it must end with exactly one exchange
order per intent, the position equal to the exchange balance, and every fill
booked once.
"""

from __future__ import annotations

import os
import signal
import time
from decimal import Decimal as D
from pathlib import Path

import pytest

from actors.messages import OrderStatus, Side
from tests._support.e2e_harness import Bot, Stand, base_balance, journal_view, wait_until

ROUND_TRIPS = 3


@pytest.fixture
def stand(tmp_path: Path):
    s = Stand(tmp_path)
    yield s
    s.stop()


def settled(stand: Stand, config: Path, journal: Path, trips: int) -> bool:
    """The journal shows `trips` closed trades and agrees with the exchange on every order."""
    if not journal.exists():
        return False
    core = journal_view(config, journal)
    if sum(1 for t in core.ledger.trades if t.status == "CLOSED") < trips:
        return False
    for o in stand.exchange.orders:
        rec = core.ledger.orders.get(o["clientOrderId"])
        if rec is None or rec.cum_qty != D(o["executedQty"]) or rec.status.value != o["status"]:
            return False
    return True


def check_books(stand: Stand, config: Path, journal: Path) -> None:
    core = journal_view(config, journal)
    orders = stand.exchange.orders
    ids = [o["clientOrderId"] for o in orders]
    assert len(ids) == len(set(ids)), "a client order id reached the exchange twice"
    for cid in ids:
        assert cid in core.ledger.orders, f"exchange order {cid} is not in the journal"
    for cid, rec in core.ledger.orders.items():
        on_exchange = stand.exchange.orders_for(cid)
        if not on_exchange:  # an intent that never left: the journal must say so, with nothing filled
            assert rec.status is OrderStatus.REJECTED and rec.cum_qty == 0, (cid, rec.status, rec.cum_qty)
            continue
        assert rec.cum_qty == D(on_exchange[0]["executedQty"]), f"fills of {cid} booked wrongly"
    assert core.ledger.qty == base_balance(stand), "the position differs from the exchange balance"
    filled_buys = [o for o in orders if o["side"] == "BUY" and D(o["executedQty"]) > 0]
    assert len([t for t in core.ledger.trades if t.buy_id]) == len(filled_buys), "a trade is missing or doubled"
    usdc_free, usdc_locked = stand.exchange.balances["USDC"]
    assert usdc_free + usdc_locked - 1000 == core.ledger.realized_pnl - core.ledger.cost


def crash_then_recover(stand: Stand, tmp_path: Path, point: str, after: int) -> None:
    config = stand.config(trading=f"max_trades = {ROUND_TRIPS}")
    journal = tmp_path / "journal.real.sqlite3"  # [storage] path with the mode before its suffix
    env = {**stand.env(), "TRADER_CRASH_AT": point, "TRADER_CRASH_AFTER": str(after)}
    first = Bot(stand, config, tmp_path / "r1", env)
    code = first.proc.wait(120)
    assert code == -signal.SIGKILL, f"expected the crash point to kill the bot, got {code}: {first.stderr()[-2000:]}"
    with Bot(stand, config, tmp_path / "r2") as second:
        wait_until(lambda: settled(stand, config, journal, ROUND_TRIPS), 120, "recovery and three round trips",
                   second.proc)
        assert second.terminate() == 0, second.stderr()[-3000:]
    assert "recovered from the journal" in second.stderr()
    check_books(stand, config, journal)


@pytest.mark.parametrize("after", [1, 2, 4])
def test_kill_after_intent_before_send(stand: Stand, tmp_path: Path, after: int) -> None:
    crash_then_recover(stand, tmp_path, "after_intent", after)


@pytest.mark.parametrize("after", [1, 2, 3])
def test_kill_after_exchange_accepted_before_ack(stand: Stand, tmp_path: Path, after: int) -> None:
    crash_then_recover(stand, tmp_path, "after_accept", after)


@pytest.mark.parametrize("after", [1, 2, 5])
def test_kill_between_fill_and_journal(stand: Stand, tmp_path: Path, after: int) -> None:
    crash_then_recover(stand, tmp_path, "before_fill_journal", after)


@pytest.mark.parametrize("delay_s", [0.0, 0.05, 0.3])
def test_kill_mid_sell_and_fill_the_rest_while_down(tmp_path: Path, delay_s: float) -> None:
    stand = Stand(tmp_path, auto_fill=False)
    try:
        config = stand.config(trading="max_trades = 1")
        journal = tmp_path / "journal.real.sqlite3"  # [storage] path with the mode before its suffix
        first = Bot(stand, config, tmp_path / "r1")
        buy = wait_until(lambda: stand.orders("BUY"), 60, "a buy", first.proc)[0]
        stand.exchange.fill(buy["clientOrderId"])
        sell = wait_until(lambda: stand.orders("SELL"), 60, "a sell", first.proc)[0]
        half = (D(sell["origQty"]) / 2).quantize(D("0.001"))
        stand.exchange.fill(sell["clientOrderId"], half)
        time.sleep(delay_s)  # not a wait for anything: it varies the moment of the kill inside the sell
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(30)
        stand.exchange.fill(sell["clientOrderId"])  # the rest fills while the bot is dead
        with Bot(stand, config, tmp_path / "r2") as second:
            wait_until(lambda: settled(stand, config, journal, 1), 90, "the sell found and the trade closed", second.proc)
            assert second.terminate() == 0, second.stderr()[-3000:]
        core = journal_view(config, journal)
        sell_rec = core.ledger.orders[sell["clientOrderId"]]
        assert sell_rec.side is Side.SELL and sell_rec.cum_qty == D(sell["origQty"])
        check_books(stand, config, journal)
    finally:
        stand.stop()
