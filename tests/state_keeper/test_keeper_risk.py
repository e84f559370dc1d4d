"""The keeper with its gate: backoff after rejections, blocked conditions, halts, exits, events."""

from __future__ import annotations

import dataclasses
import sqlite3
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from loguru import logger

from actors._lib import codec
from actors.messages import (
    AdviceRequest,
    HaltTrading,
    OrderDenied,
    OrderPlaced,
    PlaceOrder,
    ResumeTrading,
    RiskState,
    Side,
    StateChanged,
    TradeClosed,
    TradingBlocked,
    TradingState,
)
from actors.settings import RiskSettings, Settings
from actors.state_keeper.core import ACK, CONSULTANT, EXECUTOR, PUBLISH, KeeperCore, replay
from actors.state_keeper.journal import Journal
from tests._support.helpers import FILTERS, advice, settings, snap, update

# the protections the defaults turn on, off
RISK_OFF = {"max_drawdown": D(0), "flatten_on_halt": False, "daily_loss_limit": D(0), "cooldown_after_stop_s": 0,
            "max_consecutive_losses": 0, "loss_pause_s": 0, "max_holding_s": 0}


def risky(**risk: object) -> Settings:
    s = settings(stop_loss=D(0))
    return dataclasses.replace(s, risk=dataclasses.replace(RiskSettings(), **{**RISK_OFF, **risk}))  # type: ignore[arg-type]


def of(effects: list[tuple[str, Any]], target: str, kind: type | None = None) -> list[Any]:
    return [m for t, m in effects if t == target and (kind is None or isinstance(m, kind))]


def buy_filled(core: KeeperCore, seq: int = 1, price: str = "40.00", qty: str = "0.25") -> PlaceOrder:
    effects = core.on_snapshot(snap(seq))
    req, = of(effects, CONSULTANT, AdviceRequest)
    effects = core.on_advice(advice(req.request_id, "buy", price))
    cmd, = of(effects, EXECUTOR, PlaceOrder)
    core.on_order_update(update(cmd.client_order_id, "FILLED", qty, str(D(qty) * D(price)), side=Side.BUY,
                                commission="0", asset="USDC", trade_id=seq, last=qty, ts_ms=seq * 1000))
    assert core.machine.state is TradingState.READY_TO_SELL
    return cmd


def test_a_rejected_order_is_retried_after_a_backoff_in_market_time() -> None:
    core = KeeperCore(risky(), FILTERS, "t")
    effects = core.on_snapshot(snap(1, ts_ms=1000))
    req, = of(effects, CONSULTANT, AdviceRequest)
    cmd, = of(core.on_advice(advice(req.request_id, "buy", "39.99", valid_ms=10**9)), EXECUTOR, PlaceOrder)
    core.on_order_update(update(cmd.client_order_id, "REJECTED", ts_ms=1500))
    assert core.machine.state is TradingState.READY_TO_BUY
    for seq, ts in ((2, 2000), (3, 6000)):  # within 5 s of the rejection: nothing asked, nothing placed
        effects = core.on_snapshot(snap(seq, ts_ms=ts))
        assert not of(effects, CONSULTANT) and not of(effects, EXECUTOR)
    effects = core.on_snapshot(snap(4, ts_ms=6500))
    req, = of(effects, CONSULTANT, AdviceRequest)
    cmd2, = of(core.on_advice(advice(req.request_id, "buy", "39.99", valid_ms=10**9)), EXECUTOR, PlaceOrder)
    core.on_order_update(update(cmd2.client_order_id, "REJECTED", ts_ms=7000))
    assert core.retry_at_ms == 17_000  # doubled: 10 s
    assert any(b.condition == "retry_wait" for b in core.status().blocked) is False  # cleared when it ended


def test_a_size_below_the_minimum_is_logged_once_and_asks_for_no_advice() -> None:
    core = KeeperCore(settings(quote_per_trade=D("0.5")), FILTERS, "t")
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING")
    try:
        published = []
        for seq in range(1, 101):
            effects = core.on_snapshot(snap(seq))
            assert not of(effects, CONSULTANT), "no advice while no buy can be sized"
            published += of(effects, PUBLISH, TradingBlocked)
    finally:
        logger.remove(sink)
    assert len([x for x in lines if "not trading" in x]) == 1
    assert len(published) == 1 and published[0].condition.condition == "cannot_size"
    blocked, = core.status().blocked
    assert blocked.condition == "cannot_size" and blocked.count == 100 and "quote_per_trade" in blocked.detail


def test_drawdown_halts_no_buy_follows_and_a_restart_keeps_the_halt() -> None:
    core = KeeperCore(risky(capital=D(10), max_drawdown=D("0.1")), FILTERS, "t")
    rows: list[tuple[str, Any]] = []
    buy_filled(core)
    effects = core.on_snapshot(snap(5, bid="35.00", ask="35.02", ts_ms=5000))  # equity 8.75: 12.5 % down
    assert core.risk.state is RiskState.HALTED and core.halted
    assert any(isinstance(m, StateChanged) or m.__class__.__name__ == "TradingHalted" for m in of(effects, PUBLISH))
    rows += core.journal
    restarted = KeeperCore(risky(capital=D(10), max_drawdown=D("0.1")), FILTERS, "t")
    replay(restarted, [(i, k, codec.loads(codec.dumps(p))) for i, (k, p) in enumerate(rows)])
    assert restarted.risk.state is RiskState.HALTED and restarted.machine.state is TradingState.READY_TO_SELL
    restarted.on_control(ResumeTrading(by="test", reason="checked"))
    assert restarted.risk.state is RiskState.ACTIVE and restarted.halted is None


def test_a_halted_keeper_buys_nothing_whatever_the_advice() -> None:
    core = KeeperCore(risky(capital=D(100)), FILTERS, "t")
    core.on_snapshot(snap(1))
    core.on_control(HaltTrading(by="test"))
    for seq in range(2, 20):
        effects = core.on_snapshot(snap(seq))
        assert not of(effects, EXECUTOR, PlaceOrder) and not of(effects, CONSULTANT)


def test_a_stop_sells_below_break_even_and_the_trade_says_why() -> None:
    core = KeeperCore(settings(stop_loss=D("0.05")), FILTERS, "t")
    buy_filled(core)
    effects = core.on_snapshot(snap(2, bid="37.00", ask="37.02", ts_ms=2000))
    cmd, = of(effects, EXECUTOR, PlaceOrder)
    assert cmd.side is Side.SELL and cmd.reason == "stop_loss" and cmd.price == D("37.00")
    assert of(effects, PUBLISH, OrderPlaced)[0].reason == "stop_loss"
    effects = core.on_order_update(update(cmd.client_order_id, "FILLED", "0.25", "9.25", side=Side.SELL,
                                          commission="0", asset="USDC", trade_id=9, last="0.25", ts_ms=2500))
    closed, = of(effects, PUBLISH, TradeClosed)
    assert closed.trade.exit_reason == "stop_loss" and closed.trade.profit_loss == D("-0.75")
    assert closed.trade.entry_reason.startswith("adv-")


def test_advice_below_break_even_is_floored_and_a_hostile_price_is_denied() -> None:
    core = KeeperCore(settings(), FILTERS, "t")
    buy_filled(core)
    effects = core.on_snapshot(snap(2, ts_ms=2000))
    req, = of(effects, CONSULTANT, AdviceRequest)
    cmd, = of(core.on_advice(advice(req.request_id, "sell", "1.00")), EXECUTOR, PlaceOrder)
    assert cmd.price == req.min_sell_price  # never below break-even plus min_profit on advice
    core2 = KeeperCore(settings(), FILTERS, "t")
    effects = core2.on_snapshot(snap(1))
    req, = of(effects, CONSULTANT, AdviceRequest)
    effects = core2.on_advice(advice(req.request_id, "buy", "-5"))
    assert not of(effects, EXECUTOR)
    denied, = of(effects, PUBLISH, OrderDenied)
    assert denied.code == "bad_price" and core2.counters["orders_denied"] == 1


def test_a_schema_2_journal_is_migrated_and_replays_the_same(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, payload TEXT NOT NULL,"
               " ts_ms INTEGER NOT NULL DEFAULT 0, correlation_id TEXT NOT NULL DEFAULT '')")
    db.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    intent = PlaceOrder(client_order_id="t-1-B", symbol="TRUMPUSDC", side=Side.BUY, price=D(40), quantity=D("0.25"),
                        ts_ms=1, correlation_id="adv-1")
    old = [("session", {"id_prefix": "t"}), ("intent", intent),
           ("transition", {"to": "buying", "reason": "buy", "active": "t-1-B"}),
           ("update", update("t-1-B", "FILLED", "0.25", "10", side=Side.BUY, commission="0", asset="USDC",
                             trade_id=1, last="0.25")),
           ("transition", {"to": "ready_to_sell", "reason": "buy filled", "active": None}),
           ("halt", {"reason": "the exchange holds 0 TRUMP"})]
    for kind, payload in old:
        db.execute("INSERT INTO events (kind, payload) VALUES (?, ?)", (kind, codec.dumps(payload)))
    db.commit()
    db.close()
    journal = Journal(path)
    kinds = [k for _s, k, _p in journal.facts()]
    assert kinds == ["SessionStarted", "IntentRecorded", "TransitionRecorded", "UpdateApplied", "TransitionRecorded",
                     "RiskStateSet"]
    core = KeeperCore(settings(), FILTERS, "x")
    replay(core, journal.facts())
    journal.close()
    assert core.machine.state is TradingState.READY_TO_SELL and core.ledger.qty == D("0.25")
    assert core.halted == "the exchange holds 0 TRUMP" and core.id_prefix == "t"
    effects = core.on_snapshot(snap(9))
    assert not of(effects, EXECUTOR) and not of(effects, CONSULTANT)  # an account mismatch stops everything


def test_resume_lifts_a_journaled_halt_and_only_then(tmp_path: Path) -> None:
    from actors.state_keeper.facts import RiskStateSet
    from actors.state_keeper.resume import resume_journal

    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    core = KeeperCore(settings(), FILTERS, "t")
    core.record(RiskStateSet(state=RiskState.HALTED, reason="equity 20 % below its peak", ts_ms=5))
    for kind, payload in core.journal:
        journal.append(kind, payload, 5, "")
    journal.commit()
    journal.close()
    assert "was halted (equity 20 % below its peak); resumed by ops: checked" in resume_journal(
        settings(), path, by="ops", reason="checked")
    again = KeeperCore(settings(), FILTERS, "t")
    j = Journal(path)
    replay(again, j.facts())
    j.close()
    assert again.risk.state is RiskState.ACTIVE and again.halted is None
    assert "nothing to resume" in resume_journal(settings(), path, by="ops")


def test_a_refusal_after_an_order_went_out_is_journaled_again() -> None:
    core = KeeperCore(settings(), FILTERS, "t")
    for seq in (1, 2):
        req, = of(core.on_snapshot(snap(seq)), CONSULTANT, AdviceRequest)
        denied = of(core.on_advice(advice(req.request_id, "buy", "-5")), PUBLISH, OrderDenied)
        assert len(denied) == (1 if seq == 1 else 0)  # a repeat is counted, not said again
    req, = of(core.on_snapshot(snap(3)), CONSULTANT, AdviceRequest)
    cmd, = of(core.on_advice(advice(req.request_id, "buy", "39.99")), EXECUTOR, PlaceOrder)
    core.on_order_update(update(cmd.client_order_id, "CANCELED", ts_ms=3500))
    req, = of(core.on_snapshot(snap(4)), CONSULTANT, AdviceRequest)
    assert len(of(core.on_advice(advice(req.request_id, "buy", "-5")), PUBLISH, OrderDenied)) == 1
    assert core.counters["denied_bad_price"] == 3


def test_halt_and_sell_survives_a_restart() -> None:
    core = KeeperCore(settings(), FILTERS, "t")
    buy_filled(core)
    core.on_control(HaltTrading(by="ops", flatten=True))
    rows = list(core.journal)
    restarted = KeeperCore(settings(), FILTERS, "t")
    replay(restarted, [(i, k, codec.loads(codec.dumps(p))) for i, (k, p) in enumerate(rows)])
    assert restarted.flatten_requested and restarted.risk.state is RiskState.HALTED
    cmd, = of(restarted.on_snapshot(snap(9, ts_ms=9000)), EXECUTOR, PlaceOrder)
    assert cmd.side is Side.SELL and cmd.reason == "flatten"


class _Forgetful(dict):  # type: ignore[type-arg]
    """A sizing memo that remembers nothing: every snapshot asks the gate, as before the memo."""

    def __setitem__(self, key: object, value: object) -> None:
        pass


def test_the_sizing_memo_changes_nothing_the_gate_would_say() -> None:
    """Asks that can and cannot be sized, in a pattern that repeats: the same blocks, events and details."""
    import random

    rnd = random.Random(7)
    asks = [rnd.choice(["40.01", "40.21", "40.05", "40.31", "39.91"]) for _ in range(300)]
    runs = []
    for memo in (True, False):
        core = KeeperCore(settings(quote_per_trade=D("1.005")), FILTERS, "t")
        if not memo:
            core.sizing_memo = _Forgetful()
        seen: list[Any] = []
        for seq, ask in enumerate(asks, start=1):
            bid = str(D(ask) - D("0.02"))
            effects = core.on_snapshot(snap(seq, bid=bid, ask=ask))
            for req in of(effects, CONSULTANT, AdviceRequest):
                effects += core.on_advice(advice(req.request_id, "hold", None, valid_ms=10**12))
            seen += [(seq, t, m) for t, m in effects if t != CONSULTANT]
        runs.append((seen, core.status().blocked, dict(core.counters)))
    assert runs[0] == runs[1]
    assert any(isinstance(m, TradingBlocked) for _s, _t, m in runs[0][0])


def test_advice_stale_on_arrival_is_asked_again_on_the_next_snapshot_not_this_one() -> None:
    """An answer already out of date for the snapshot it is about must not make the keeper ask again on that
    same snapshot: the same question would get the same stale answer, forever (a livelock the market could
    never leave). It asks on the next snapshot, and says so once."""
    core = KeeperCore(risky(), FILTERS, "t")
    req, = of(core.on_snapshot(snap(1, ts_ms=5000)), CONSULTANT, AdviceRequest)
    for seq in (2, 3):
        effects = core.on_advice(advice(req.request_id, "hold", None, valid_ms=4999))
        assert not of(effects, CONSULTANT) and not of(effects, EXECUTOR)
        req, = of(core.on_snapshot(snap(seq, ts_ms=5000 + seq)), CONSULTANT, AdviceRequest)
    assert core.counters["stale_advice"] == 2
    cmd, = of(core.on_advice(advice(req.request_id, "buy", "39.99", valid_ms=10**9)), EXECUTOR, PlaceOrder)
    assert cmd.price == D("39.99")



def live(s: Settings) -> Settings:
    """Settings of a live run: its market delivers a snapshot only once the last one is acknowledged."""
    return dataclasses.replace(s, market=dataclasses.replace(s.market, source="binance"))


def test_a_due_exit_is_not_held_up_by_advice_in_flight() -> None:
    """Live, the model may think for up to `[ai] timeout_s`. The keeper acknowledges every snapshot at once
    meanwhile (the conflated feed would send it nothing new until then), and a stop or a halt's flatten
    sells on the snapshot it is due on; the late answer places nothing. Hypothesis found it: equity fell
    two gaps below the drawdown limit while an answer was due."""
    halt: dict[str, object] = {"capital": D(10), "max_drawdown": D("0.1"), "flatten_on_halt": True}
    for risk_kw, stop, bid, reason in ((halt, D(0), "35.00", "flatten"), ({}, D("0.05"), "37.00", "stop_loss")):
        s = risky(**risk_kw)
        core = KeeperCore(live(dataclasses.replace(s, trading=dataclasses.replace(s.trading, stop_loss=stop))),
                          FILTERS, "t")
        buy_filled(core)
        effects = core.on_snapshot(snap(2, ts_ms=2000))
        held = of(effects, CONSULTANT, AdviceRequest)  # asked about the position
        assert held and core.pending is not None and of(effects, ACK), "acknowledged while the model thinks"
        effects = core.on_snapshot(snap(3, bid=bid, ask=str(D(bid) + D("0.02")), ts_ms=3000))
        cmd, = of(effects, EXECUTOR, PlaceOrder)
        assert cmd.side is Side.SELL and cmd.reason == reason and cmd.price == D(bid)
        assert core.machine.state is TradingState.SELLING and of(effects, ACK)
        late = core.on_advice(advice(held[0].request_id, "sell", "45.00", valid_ms=10**9))
        assert not of(late, EXECUTOR), "the answer about holding must not place a second sell"
        assert not of(late, ACK)  # every snapshot was acknowledged already, once


def test_nothing_but_an_exit_is_decided_while_advice_is_in_flight() -> None:
    core = KeeperCore(live(risky()), FILTERS, "t")
    buy_filled(core)
    req, = of(core.on_snapshot(snap(2, ts_ms=2000)), CONSULTANT, AdviceRequest)
    for seq in (3, 4, 5):  # no exit due: no order, and no second question while the first is out
        effects = core.on_snapshot(snap(seq, ts_ms=seq * 1000))
        assert not of(effects, EXECUTOR) and not of(effects, CONSULTANT) and of(effects, ACK)
    cmd, = of(core.on_advice(advice(req.request_id, "sell", "45.00", valid_ms=10**9)), EXECUTOR, PlaceOrder)
    assert cmd.side is Side.SELL and cmd.reason == "advice"


def test_a_backtest_waits_for_the_advice_before_its_market_moves_on() -> None:
    """Lockstep: the snapshot that asked is acknowledged only with the answer, so a backtest decides on
    the snapshot it asked about, whatever the model's latency."""
    core = KeeperCore(risky(), FILTERS, "t")
    effects = core.on_snapshot(snap(1, ts_ms=1000))
    req, = of(effects, CONSULTANT, AdviceRequest)
    assert not of(effects, ACK)
    effects = core.on_advice(advice(req.request_id, "hold", None, valid_ms=10**9))
    assert [m[0] for m in of(effects, ACK)] == [1]


def test_live_an_answer_slower_than_its_validity_is_used_not_asked_again_forever() -> None:
    """`[ai] cache_ttl_s = 0` (or any validity shorter than the model's latency): live, the snapshots that
    came while the model thought must not make its answer stale on arrival, or every answer would be, and
    the keeper would ask forever. The validity counts from the arrival."""
    core = KeeperCore(live(risky()), FILTERS, "t")
    req, = of(core.on_snapshot(snap(1, ts_ms=1000)), CONSULTANT, AdviceRequest)
    for seq in (2, 3, 4):  # four seconds of market while the model thinks
        assert of(core.on_snapshot(snap(seq, ts_ms=seq * 1000)), ACK)
    cmd, = of(core.on_advice(advice(req.request_id, "buy", "39.99", valid_ms=1000)), EXECUTOR, PlaceOrder)
    assert cmd.price == D("39.99") and "stale_advice" not in core.counters
