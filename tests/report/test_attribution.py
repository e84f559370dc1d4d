"""Attribution: each trade names the advice that opened and closed it; the report splits P&L and cost; calibration."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D
from typing import Any

from actors._lib import codec
from actors.messages import (
    AdviceRef,
    AdviceRequest,
    AdviceSource,
    Order,
    PlaceOrder,
    Side,
    Trade,
    TradeClosed,
    utc_from_ms,
)
from actors.report.attribution import (
    Point,
    attribution_lines,
    attribution_summary,
    brier,
    draw_calibration,
    points,
    reliability,
    suggest_min_confidence,
)
from actors.state_keeper.core import CONSULTANT, EXECUTOR, PUBLISH, KeeperCore, replay
from tests._support.helpers import FILTERS, advice, settings, snap, update


def of(effects: list[tuple[str, Any]], target: str, kind: type) -> list[Any]:
    return [m for t, m in effects if t == target and isinstance(m, kind)]


def model_advice(request_id: str, action: str, price: str, confidence: str, cost: str) -> Any:
    return dataclasses.replace(advice(request_id, action, price, confidence), model="deepseek/deepseek-chat-v3.1",
                               cost=D(cost))


def test_a_round_trip_names_the_advice_that_opened_and_closed_it() -> None:
    core = KeeperCore(settings(), FILTERS, "t")
    req, = of(core.on_snapshot(snap(1)), CONSULTANT, AdviceRequest)
    buy, = of(core.on_advice(model_advice(req.request_id, "buy", "40.00", "0.9", "0.0002")), EXECUTOR, PlaceOrder)
    core.on_order_update(update(buy.client_order_id, "FILLED", "0.25", "10.00", side=Side.BUY, commission="0",
                                asset="USDC", trade_id=1, last="0.25", ts_ms=1500))
    req2, = of(core.on_snapshot(snap(2, bid="40.50", ask="40.52")), CONSULTANT, AdviceRequest)
    cached = dataclasses.replace(model_advice(req2.request_id, "sell", "40.60", "0.75", "0"), source=AdviceSource.CACHE)
    sell, = of(core.on_advice(cached), EXECUTOR, PlaceOrder)
    effects = core.on_order_update(update(sell.client_order_id, "FILLED", "0.25", "10.15", side=Side.SELL,
                                          commission="0", asset="USDC", trade_id=2, last="0.25", ts_ms=2500))
    closed, = of(effects, PUBLISH, TradeClosed)
    t = closed.trade
    assert t.entry_advice == AdviceRef(advice_id=req.request_id, source="model", model="deepseek/deepseek-chat-v3.1",
                                       confidence=D("0.9"), cost=D("0.0002"))
    assert t.exit_advice == AdviceRef(advice_id=req2.request_id, source="cache", model="deepseek/deepseek-chat-v3.1",
                                      confidence=D("0.75"), cost=D(0))
    # a restart rebuilds the same attribution from the journal
    again = KeeperCore(settings(), FILTERS, "t")
    replay(again, [(i, k, codec.loads(codec.dumps(p))) for i, (k, p) in enumerate(core.journal)])
    (t2,) = again.status().trades
    assert (t2.entry_advice, t2.exit_advice) == (t.entry_advice, t.exit_advice)


def test_a_stop_exit_is_attributed_to_the_risk_rule() -> None:
    core = KeeperCore(settings(stop_loss=D("0.05")), FILTERS, "t")
    req, = of(core.on_snapshot(snap(1)), CONSULTANT, AdviceRequest)
    buy, = of(core.on_advice(advice(req.request_id, "buy", "40.00")), EXECUTOR, PlaceOrder)
    core.on_order_update(update(buy.client_order_id, "FILLED", "0.25", "10.00", side=Side.BUY, commission="0",
                                asset="USDC", trade_id=1, last="0.25", ts_ms=1500))
    sell, = of(core.on_snapshot(snap(2, bid="37.00", ask="37.02")), EXECUTOR, PlaceOrder)
    effects = core.on_order_update(update(sell.client_order_id, "FILLED", "0.25", "9.25", side=Side.SELL,
                                          commission="0", asset="USDC", trade_id=2, last="0.25", ts_ms=2500))
    t = of(effects, PUBLISH, TradeClosed)[0].trade
    assert t.entry_advice is not None and t.entry_advice.source == "model" and t.entry_advice.model is None
    assert t.exit_advice == AdviceRef(advice_id="stop_loss", source="risk")


def test_brier_score_on_constructed_outcomes_matches_the_hand_computation() -> None:
    pts = [Point("model", D("0.9"), 1), Point("model", D("0.8"), 0), Point("model", D("0.6"), 1),
           Point("model", D("0.3"), 0)]
    # (0.1² + 0.8² + 0.4² + 0.3²) / 4 = (0.01 + 0.64 + 0.16 + 0.09) / 4 = 0.225
    assert brier(pts) == D("0.225")
    assert brier([]) is None
    table = reliability(pts)
    assert [(r["low"], r["n"], r["hit_rate"]) for r in table] == [
        ("0.3", 1, "0.000000"), ("0.6", 1, "1.000000"), ("0.8", 1, "0.000000"), ("0.9", 1, "1.000000")]


def test_the_suggested_min_confidence_keeps_the_most_pnl() -> None:
    pts = [Point("model", D("0.55"), 0, D(-2)), Point("model", D("0.65"), 0, D(-1)),
           Point("model", D("0.75"), 1, D(1)), Point("model", D("0.85"), 1, D(2)), Point("model", D("0.95"), 0, D("-0.5"))]
    assert suggest_min_confidence(pts) == D("0.7")
    assert suggest_min_confidence(pts[:4]) is None  # too few to say
    assert suggest_min_confidence([dataclasses.replace(p, confidence=D("0.8")) for p in pts]) is None  # one bin


def _trade(opened: int, closed: int | None, pnl: str | None, entry: AdviceRef | None, exit_: AdviceRef | None) -> Trade:
    order = Order(id=f"b{opened}", symbol="TRUMPUSDC", side="BUY", quantity=D(1), price=D(10), status="FILLED",
                  timestamp=utc_from_ms(opened))
    return Trade(buy_order=order, sell_order=None, profit_loss=D(pnl) if pnl is not None else None,
                 status="CLOSED" if closed is not None else "OPEN", timestamp=utc_from_ms(opened),
                 closed_at=utc_from_ms(closed) if closed is not None else None, entry_advice=entry, exit_advice=exit_)


def test_the_summary_splits_pnl_and_cost_by_source_and_model(tmp_path: Any) -> None:
    ma = AdviceRef(advice_id="a1", source="model", model="m/a", confidence=D("0.9"), cost=D("0.01"))
    mb = AdviceRef(advice_id="b1", source="model", model="m/b", confidence=D("0.6"), cost=D("0.02"))
    rb = AdviceRef(advice_id="r1", source="rule_based", confidence=D("0.8"))
    stop = AdviceRef(advice_id="stop_loss", source="risk")
    trades = [_trade(0, 60_000, "0.5", ma, stop), _trade(100_000, 220_000, "-0.2", mb, ma),
              _trade(300_000, 400_000, "0.1", rb, rb), _trade(500_000, None, None, ma, None)]
    stats = {"cost": D("0.05"), "cost_model:m/a": D("0.03"), "cost_model:m/b": D("0.02"), "calls_model:m/a": 3,
             "calls_model:m/b": 2, "ai_mode": "record"}
    a = attribution_summary(trades, stats, horizon_s=0, end_ms=600_000)
    assert a["by_source"]["model"]["closed"] == 2 and a["by_source"]["model"]["pnl"] == "0.3"
    assert a["by_source"]["rule_based"]["win_rate"] == "1.000000"
    assert a["by_model"]["m/a"]["pnl"] == "0.5" and a["by_model"]["m/a"]["net_pnl_after_ai_cost"] == "0.47"
    assert a["by_model"]["m/b"]["time_in_position_s"] == 120 and a["by_model"]["m/b"]["calls"] == 2
    assert a["by_exit_source"]["risk"]["pnl"] == "0.5"
    assert a["ai_cost"] == "0.05" and a["ai_cost_per_closed_trade"] == "0.016667"
    assert a["net_pnl_after_ai_cost"] == "0.35"
    assert a["calibration"]["model"]["n"] == 3  # the trade still open at the end did not come true
    assert [p.outcome for p in points(trades)] == [1, 0, 1, 0]
    # with a horizon still ahead of it, the open one has no outcome yet
    assert len(points(trades, horizon_s=600, end_ms=600_000)) == 3
    text = "\n".join(attribution_lines({"attribution": a}))
    assert "model m/a" in text and "net P&L after AI cost 0.35" in text and "Brier" in text
    assert "closed by: model 1 (P&L -0.2), risk 1 (P&L 0.5), rule_based 1 (P&L 0.1)" in text
    assert draw_calibration({"attribution": a}, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
