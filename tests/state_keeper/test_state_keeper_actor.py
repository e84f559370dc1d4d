"""The StateKeeper alone: probes stand in for market data, the consultant and the executor."""

from __future__ import annotations

import dataclasses
import sqlite3
from decimal import Decimal as D
from typing import Any

import pytest

from actors.messages import (
    AdviceRequest,
    BalanceUpdated,
    CancelOrder,
    FeedStatusChanged,
    GetStatus,
    PlaceOrder,
    QueryOrder,
    Side,
    SnapshotProcessed,
    StatusSnapshot,
    Subscribe,
    TradingState,
)
from actors.state_keeper.actor import StateKeeperActor
from actors.state_keeper.journal import Journal
from tests._support.helpers import FILTERS, advice, settings, snap, update
from tests._support.probes import ProbeHandle, eventually


class Rig:
    """A keeper wired to three probes; the consultant answers with `self.next_advice`."""

    def __init__(self, journal: Journal | None = None, commit_when_idle: bool = True, **trading: Any) -> None:
        self.next_advice: dict[TradingState, tuple[str, str | None]] = {
            TradingState.READY_TO_BUY: ("buy", "39.95"),
            TradingState.READY_TO_SELL: ("sell", "40.50"),
        }
        self.market = ProbeHandle()
        self.executor = ProbeHandle(self._on_exec)
        self.consultant = ProbeHandle(self._answer)
        self.placed_with_intent_committed: list[bool] = []
        self.journal = journal
        self.keeper = StateKeeperActor.start(
            settings(**trading), market=self.market.ref, executor=self.executor.ref,
            consultant=self.consultant.ref, journal=journal, filters=FILTERS, id_prefix="t",
            commit_when_idle=commit_when_idle)

    def _answer(self, req: Any) -> None:
        if isinstance(req, AdviceRequest):
            action, price = self.next_advice[req.state]
            assert req.reply_to is not None
            req.reply_to.tell(advice(req.request_id, action, price))

    def _on_exec(self, msg: Any) -> None:
        if isinstance(msg, PlaceOrder) and self.journal is not None:
            # another connection sees only committed rows: was the intent on disk before the order left?
            db = sqlite3.connect(self.journal.path)
            rows = db.execute("SELECT payload FROM events WHERE kind='IntentRecorded'").fetchall()
            db.close()
            self.placed_with_intent_committed.append(any(msg.client_order_id in r[0] for r in rows))

    def status(self) -> StatusSnapshot:
        return self.keeper.ask(GetStatus(), timeout=5)

    def tick(self, seq: int, **kw: Any) -> None:
        self.keeper.tell(snap(seq, **kw))
        self.market.wait_for(SnapshotProcessed, lambda m: m.seq == seq)


def test_subscribes_to_executor_then_market() -> None:
    rig = Rig()
    assert rig.executor.wait_for(Subscribe)[0].subscriber == rig.keeper
    assert rig.market.wait_for(Subscribe)[0].subscriber == rig.keeper


def test_full_round_trip_buy_then_sell_above_break_even() -> None:
    rig = Rig()
    rig.tick(1)
    buy = rig.executor.wait_for(PlaceOrder)[0]
    assert (buy.side, buy.price, buy.quantity) == (Side.BUY, D("39.95"), D("0.250"))  # 10 USDC / 39.95, lot 0.001
    assert rig.status().state is TradingState.BUYING
    rig.keeper.tell(update(buy.client_order_id, "NEW"))
    rig.keeper.tell(update(buy.client_order_id, "FILLED", "0.250", "9.9875", commission="0.00025", asset="TRUMP",
                           last="0.250", trade_id=1))
    eventually(lambda: rig.status().state is TradingState.READY_TO_SELL)
    # 9.9875 paid for 0.24975 held = 39.98999 a unit; * 1.002 / 0.999 = 40.1100..., up to the tick: 40.12
    rig.tick(2)
    sell = rig.executor.wait_for(PlaceOrder, lambda m: m.side is Side.SELL)[0]
    req = [r for r in rig.consultant.all(AdviceRequest) if r.state is TradingState.READY_TO_SELL][0]
    assert req.min_sell_price == D("40.12") and req.position_qty == D("0.24975")
    assert (sell.price, sell.quantity) == (D("40.50"), D("0.249"))  # held 0.24975, rounded down to the lot
    rig.keeper.tell(update(sell.client_order_id, "FILLED", "0.249", "10.0845", commission="0.0100845", asset="USDC",
                           last="0.249", trade_id=2))
    eventually(lambda: rig.status().state is TradingState.READY_TO_BUY)
    st = rig.status()
    assert len(st.trades) == 1 and st.trades[0].status == "CLOSED"
    assert st.realized_pnl == st.trades[0].profit_loss > 0
    assert st.position.quantity == D("0.00075") == st.position.dust  # visible dust


def test_model_sell_below_break_even_is_raised_to_the_minimum() -> None:
    rig = Rig()
    rig.next_advice[TradingState.READY_TO_SELL] = ("sell", "39.00")
    rig.tick(1)
    buy = rig.executor.wait_for(PlaceOrder)[0]
    rig.keeper.tell(update(buy.client_order_id, "FILLED", "0.250", "9.9875", commission="0.0099875", asset="USDC",
                           last="0.250", trade_id=1))
    eventually(lambda: rig.status().state is TradingState.READY_TO_SELL)
    rig.tick(2)
    sell = rig.executor.wait_for(PlaceOrder, lambda m: m.side is Side.SELL)[0]
    # cost 9.9974875 for 0.25: break-even / (1 - 0.001) * 1.002, rounded up to the tick
    assert sell.price == D("40.12")  # 39.98995 * 1.002 / 0.999 = 40.1100..., up to the tick
    assert sell.price * sell.quantity * (1 - D("0.001")) >= D("9.9974875") * D("1.002")


def test_partial_buy_then_cancel_goes_to_sell_or_back_to_buy_with_dust() -> None:
    rig = Rig()
    rig.tick(1)
    buy = rig.executor.wait_for(PlaceOrder)[0]
    rig.keeper.tell(update(buy.client_order_id, "PARTIALLY_FILLED", "0.010", "0.3995", last="0.010", trade_id=1,
                           commission="0.00001", asset="TRUMP"))
    assert rig.status().state is TradingState.BUYING  # a partial fill keeps the state
    rig.keeper.tell(update(buy.client_order_id, "CANCELED", "0.010", "0.3995"))
    st = eventually(lambda: rig.status().state is TradingState.READY_TO_BUY and rig.status())
    assert st.position.quantity == D("0.00999") and st.position.dust == D("0.00999")  # 0.40 USDC < 1 min notional
    assert st.trades[0].status == "DUST"


def test_unfilled_buy_is_cancelled_after_the_timeout_in_market_time() -> None:
    rig = Rig(order_timeout_s=120)
    rig.tick(1, ts_ms=1_000)
    buy = rig.executor.wait_for(PlaceOrder)[0]
    rig.keeper.tell(update(buy.client_order_id, "NEW"))
    rig.tick(2, ts_ms=100_000)
    assert not rig.executor.all(CancelOrder)
    rig.tick(3, ts_ms=121_000)
    cancel = rig.executor.wait_for(CancelOrder)[0]
    assert cancel.client_order_id == buy.client_order_id
    rig.tick(4, ts_ms=122_000)
    assert len(rig.executor.all(CancelOrder)) == 1  # asked once
    rig.keeper.tell(update(buy.client_order_id, "CANCELED"))
    eventually(lambda: rig.status().state is TradingState.READY_TO_BUY)


def test_fill_racing_the_cancel_is_honoured() -> None:
    rig = Rig(order_timeout_s=1)
    rig.tick(1, ts_ms=0)
    buy = rig.executor.wait_for(PlaceOrder)[0]
    rig.tick(2, ts_ms=5_000)
    rig.executor.wait_for(CancelOrder)
    rig.keeper.tell(update(buy.client_order_id, "FILLED", "0.250", "9.9875", last="0.250", trade_id=1))
    eventually(lambda: rig.status().state is TradingState.READY_TO_SELL)


def test_no_orders_on_stale_data() -> None:
    rig = Rig()
    rig.keeper.tell(FeedStatusChanged(symbol="TRUMPUSDC", stale=True, reason="test", ts_ms=0))
    rig.tick(1)
    rig.tick(2, stale=True)
    assert not rig.executor.all(PlaceOrder) and not rig.consultant.all(AdviceRequest)
    rig.keeper.tell(FeedStatusChanged(symbol="TRUMPUSDC", stale=False, reason="back", ts_ms=0))
    rig.tick(3)
    rig.executor.wait_for(PlaceOrder)


def test_low_confidence_and_hold_place_nothing() -> None:
    rig = Rig()
    rig.next_advice[TradingState.READY_TO_BUY] = ("hold", None)
    rig.tick(1)
    rig.tick(2)
    assert not rig.executor.all(PlaceOrder)
    assert len(rig.consultant.all(AdviceRequest)) == 1  # a hold stands until it expires or the market moves


def test_bad_and_unknown_updates_change_nothing(logs) -> None:
    rig = Rig()
    rig.tick(1)
    buy = rig.executor.wait_for(PlaceOrder)[0]
    before = rig.status()
    for bad in [
        update("nobody", "FILLED", "1", "40"),
        update(buy.client_order_id, "FILLED", "0.250", "10", symbol="BTCUSDC"),
        update(buy.client_order_id, "PARTIALLY_FILLED", "-1", "1"),
        update(buy.client_order_id, "PARTIALLY_FILLED", "5", "200"),
    ]:
        rig.keeper.tell(bad)
    after = rig.status()
    assert (after.state, after.position, after.trades, after.active_order) == (
        before.state, before.position, before.trades, before.active_order)
    assert len(logs.messages("ERROR")) >= 4


def test_a_fill_on_an_order_never_placed_halts_trading() -> None:
    rig = Rig()
    rig.keeper.tell(update("someone-else-1", "FILLED", "3", "120", side=Side.BUY))
    st = rig.status()
    assert st.halted_reason and "never placed" in st.halted_reason and st.position.quantity == 0
    rig.tick(1)
    assert not rig.executor.all(PlaceOrder)


def test_balance_below_the_position_halts_trading() -> None:
    rig = Rig()
    rig.tick(1)
    buy = rig.executor.wait_for(PlaceOrder)[0]
    rig.keeper.tell(update(buy.client_order_id, "FILLED", "0.250", "9.9875", last="0.250", trade_id=1))
    eventually(lambda: rig.status().state is TradingState.READY_TO_SELL)
    rig.keeper.tell(BalanceUpdated(asset="TRUMP", free=D("0.1"), locked=D(0), ts_ms=0))
    st = rig.status()
    assert st.halted_reason and "0.1" in st.halted_reason
    rig.tick(2)
    assert len(rig.executor.all(PlaceOrder)) == 1


def test_intent_is_committed_before_the_order_leaves(tmp_path) -> None:
    rig = Rig(journal=Journal(tmp_path / "j.sqlite3"))
    rig.tick(1)
    rig.executor.wait_for(PlaceOrder)
    eventually(lambda: rig.placed_with_intent_committed == [True])


def _committed_rows(path: str) -> int:
    db = sqlite3.connect(path)
    n = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    db.close()
    return int(n)


def test_a_backtest_keeper_commits_when_an_order_leaves_and_at_the_stop_not_after_each_snapshot(tmp_path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    rig = Rig(journal=journal, commit_when_idle=False)
    rig.next_advice[TradingState.READY_TO_BUY] = ("hold", None)
    rig.status()
    at_start = _committed_rows(journal.path)
    rig.tick(1)
    rig.tick(2)
    assert rig.status().state is TradingState.READY_TO_BUY
    assert _committed_rows(journal.path) == at_start  # facts recorded (advice), none committed: nothing left
    rig.keeper.stop()
    assert _committed_rows(journal.path) > at_start  # the rest at the stop
    # and an order still leaves only after its intent was committed
    rig2 = Rig(journal=Journal(tmp_path / "j2.sqlite3"), commit_when_idle=False)
    rig2.tick(1)
    rig2.executor.wait_for(PlaceOrder)
    eventually(lambda: rig2.placed_with_intent_committed == [True])


def test_restart_rebuilds_state_and_queries_open_orders(tmp_path) -> None:
    path = tmp_path / "j.sqlite3"
    rig = Rig(journal=Journal(path))
    rig.tick(1)
    buy = rig.executor.wait_for(PlaceOrder)[0]
    rig.keeper.tell(update(buy.client_order_id, "PARTIALLY_FILLED", "0.100", "3.995", last="0.100", trade_id=1))
    before = rig.status()
    rig.keeper.stop()
    rig.journal.close()  # type: ignore[union-attr]
    rig2 = Rig(journal=Journal(path))
    after = rig2.status()
    assert (after.state, after.position, after.trades, after.active_order, after.realized_pnl) == (
        before.state, before.position, before.trades, before.active_order, before.realized_pnl)
    query = rig2.executor.wait_for(QueryOrder)[0]
    assert query.client_order_id == buy.client_order_id
    rig2.tick(2)
    assert not rig2.executor.all(PlaceOrder)  # still BUYING: nothing new is placed
    # new ids continue after the journaled ones: never the same client order id twice
    rig2.keeper.tell(update(buy.client_order_id, "CANCELED", "0.100", "3.995"))
    eventually(lambda: rig2.status().state is TradingState.READY_TO_SELL)
    rig2.tick(3)
    sell = rig2.executor.wait_for(PlaceOrder)[0]
    assert sell.client_order_id != buy.client_order_id


@pytest.mark.parametrize("count", [3])
def test_status_reply_is_immutable(count: int) -> None:
    rig = Rig()
    st = rig.status()
    with pytest.raises(AttributeError):
        st.state = TradingState.SELLING  # type: ignore[misc]


def test_domain_events_reach_every_subscriber_one_way() -> None:
    """A listener needs one Subscribe and no change in the keeper; a dead one is dropped, not fatal."""
    from actors.messages import OrderFilled, OrderPlaced, StateChanged, TradeClosed

    rig = Rig()
    listener, dead = ProbeHandle(), ProbeHandle()
    rig.keeper.tell(Subscribe(subscriber=listener.ref))
    rig.keeper.tell(Subscribe(subscriber=dead.ref))
    dead.ref.stop()
    rig.tick(1)
    buy = rig.executor.wait_for(PlaceOrder)[0]
    placed = listener.wait_for(OrderPlaced)[0]
    assert (placed.client_order_id, placed.side, placed.reason) == (buy.client_order_id, Side.BUY, "advice")
    rig.keeper.tell(update(buy.client_order_id, "FILLED", "0.250", "9.9875", commission="0.0099875", asset="USDC",
                           last="0.250", trade_id=1))
    listener.wait_for(OrderFilled)
    changes = listener.wait_for(StateChanged, count=2)
    assert [(c.previous, c.state) for c in changes] == [(TradingState.READY_TO_BUY, TradingState.BUYING),
                                                        (TradingState.BUYING, TradingState.READY_TO_SELL)]
    rig.tick(2)
    sell = rig.executor.wait_for(PlaceOrder, lambda m: m.side is Side.SELL)[0]
    rig.keeper.tell(update(sell.client_order_id, "FILLED", "0.250", "10.125", commission="0.010125", asset="USDC",
                           last="0.250", trade_id=2))
    closed = listener.wait_for(TradeClosed)[0]
    assert closed.trade.status == "CLOSED" and closed.trade.exit_reason == "advice"
    assert rig.status().state is TradingState.READY_TO_BUY  # the keeper carried on past the dead listener


def test_live_the_market_keeps_coming_and_a_stop_fires_while_the_model_thinks() -> None:
    """A live feed sends a subscriber nothing new until it acknowledges its last snapshot. The model is
    asked about the position and never answers here (a slow call lasts up to `[ai] timeout_s`): the keeper
    still acknowledges each snapshot, and the one that breaks the stop sells."""
    s = settings(stop_loss=D("0.05"))
    s = dataclasses.replace(s, market=dataclasses.replace(s.market, source="binance"))

    def answer(req: Any) -> None:
        if isinstance(req, AdviceRequest) and req.state is TradingState.READY_TO_BUY:
            assert req.reply_to is not None
            req.reply_to.tell(advice(req.request_id, "buy", "39.95"))

    market, executor, consultant = ProbeHandle(), ProbeHandle(), ProbeHandle(answer)
    keeper = StateKeeperActor.start(s, market=market.ref, executor=executor.ref, consultant=consultant.ref,
                                    filters=FILTERS, id_prefix="t")
    keeper.tell(snap(1))
    buy = executor.wait_for(PlaceOrder)[0]
    keeper.tell(update(buy.client_order_id, "FILLED", "0.250", "9.9875", last="0.250", trade_id=1))
    keeper.tell(snap(2))
    consultant.wait_for(AdviceRequest, lambda r: r.state is TradingState.READY_TO_SELL)
    market.wait_for(SnapshotProcessed, lambda m: m.seq == 2)  # not held back until an answer
    keeper.tell(snap(3, bid="37.00", ask="37.02"))
    sell = executor.wait_for(PlaceOrder, lambda m: m.side is Side.SELL)[0]
    assert sell.reason == "stop_loss" and sell.price == D("37.00")
    market.wait_for(SnapshotProcessed, lambda m: m.seq == 3)
    keeper.stop()
