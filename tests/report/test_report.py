"""The end-of-run report: summary figures, files and console text, from hand-made snapshots."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from actors.messages import (
    EquityPoint,
    MarketSnapshot,
    Order,
    Position,
    Stats,
    StatusSnapshot,
    Trade,
    TradingState,
)
from actors.report import (
    build_summary,
    dec_str,
    format_report,
    hold_return,
    max_drawdown,
    max_drawdown_span,
    ms_to_iso,
    win_rate,
    write_report,
)
from actors.settings import Settings
from tests._support.paths import ROOT

D = Decimal
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MIN = 60_000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def order(oid: str, side: str, qty: str, price: str, ms: int, fees: str = "0", status: str = "FILLED") -> Order:
    return Order(id=oid, symbol="TRUMPUSDC", side=side, quantity=D(qty), price=D(price), status=status,
                 timestamp=at(ms), filled_qty=D(qty) if status == "FILLED" else D(0),
                 avg_price=D(price) if status == "FILLED" else None, fees_quote=D(fees))


def closed_trade(n: int, entry: str, exit_: str, qty: str, buy_fee: str, sell_fee: str, pnl: str,
                 opened: int, closed: int, sells: int = 1) -> Trade:
    buy = order(f"b-{n}", "BUY", qty, entry, opened, buy_fee)
    sell_orders = tuple(order(f"s-{n}-{k}", "SELL", str(D(qty) / sells), exit_, closed, sell_fee) for k in range(sells))
    return Trade(buy_order=buy, sell_order=sell_orders[-1], profit_loss=D(pnl), status="CLOSED", timestamp=at(opened),
                 sell_orders=sell_orders, quantity=D(qty), entry_price=D(entry), exit_price=D(exit_),
                 fees_quote=D(buy_fee) + D(sell_fee) * sells, closed_at=at(closed))


def make_trades() -> tuple[Trade, ...]:
    win1 = closed_trade(1, "10.00", "10.05", "0.999", "0.00999", "0.01003995", "0.02992005", T0 + MIN, T0 + 5 * MIN)
    loss = closed_trade(2, "10.10", "10.00", "0.990", "0.010098", "0.0099", "-0.11799800", T0 + 6 * MIN, T0 + 9 * MIN,
                        sells=2)
    win2 = closed_trade(3, "9.90", "9.95", "1.010", "0.0099990", "0.0100495", "0.03055150", T0 + 10 * MIN,
                        T0 + 12 * MIN)
    win2 = replace(win2, fee_estimated=True)
    dust_buy = order("b-4", "BUY", "0.001", "9.80", T0 + 13 * MIN, "0.0000098", status="CANCELED")
    dust = Trade(buy_order=dust_buy, sell_order=None, profit_loss=None, status="DUST", timestamp=at(T0 + 13 * MIN),
                 quantity=D("0.0009"), entry_price=D("9.80"), fees_quote=D("0.00000980"))
    open_buy = order("b-5", "BUY", "1.000", "9.85", T0 + 14 * MIN, "0.00985")
    open_ = Trade(buy_order=open_buy, sell_order=None, profit_loss=None, status="OPEN", timestamp=at(T0 + 14 * MIN),
                  quantity=D("1.000"), entry_price=D("9.85"), fees_quote=D("0.00985"))
    return (win1, loss, win2, dust, open_)


def make_status(trades: tuple[Trade, ...] | None = None, **kw) -> StatusSnapshot:
    trades = make_trades() if trades is None else trades
    realized = sum((t.profit_loss for t in trades if t.status == "CLOSED"), D(0))
    fees = sum((t.fees_quote for t in trades), D(0))
    pos = Position(symbol="TRUMPUSDC", quantity=D("1.0009"), entry_price=D("9.84999"), timestamp=at(T0 + 14 * MIN),
                   cost_quote=D("9.86867820"), dust=D("0.0009"))
    fields: dict[str, Any] = {
        "symbol": "TRUMPUSDC", "state": TradingState.READY_TO_SELL, "active_order": None, "position": pos,
        "trades": trades, "realized_pnl": realized, "fees_paid": fees, "last_advice": None, "last_snapshot": None,
        "feed_stale": False, "halted_reason": None, "counters": (("advice_requests", 12), ("refused_transitions", 0)),
    }
    fields.update(kw)
    return StatusSnapshot(**fields)


def curve(equities: list[str], mids: list[str] | None = None) -> tuple[EquityPoint, ...]:
    mids = mids or ["10"] * len(equities)
    return tuple(EquityPoint(ts_ms=T0 + i * MIN, mid=D(m), realized_pnl=D(e), unrealized_pnl=D(0))
                 for i, (e, m) in enumerate(zip(equities, mids, strict=True)))


AI = Stats(source="ai", values=(("calls", 7), ("model_calls", 0), ("cache_hits", 2), ("fallbacks", 5),
                                ("errors", 0), ("cost", D("0.00012")), ("model", "deepseek/deepseek-chat-v3.1"))).as_dict()


def summary_of(status: StatusSnapshot | None = None, equity=None, **kw) -> dict:
    args: dict[str, Any] = {"ai": AI, "market": {"events": 900, "source": "synthetic"},
                            "executor": {"kind": "paper", "fills": 9}, "settings": Settings(), "wall_s": 1.23456,
                            "mode": "backtest"}
    args.update(kw)
    return build_summary(status or make_status(), curve(["0", "5", "2", "7", "1"], ["10", "10.2", "9.9", "10.4", "11"])
                         if equity is None else equity, **args)


# -- the summary ---------------------------------------------------------------------------


def test_required_keys_and_types() -> None:
    s = summary_of()
    for key in ("trades", "realized_pnl", "fees_paid", "ai", "symbol", "mode", "state", "position", "closed_trades",
                "win_rate", "total_return", "hold_return", "max_drawdown", "capital", "market_start_ms",
                "market_end_ms", "wall_time_s", "halted_reason", "counters"):
        assert key in s, key
    assert s["symbol"] == "TRUMPUSDC" and s["mode"] == "backtest" and s["state"] == "ready_to_sell"
    assert isinstance(s["trades"], list) and len(s["trades"]) == 5
    for t in s["trades"]:
        for key in ("entry_price", "exit_price", "quantity", "fees", "pnl", "status", "client_order_ids", "opened_at",
                    "closed_at", "fee_estimated"):
            assert key in t, key
        assert isinstance(t["client_order_ids"], list) and isinstance(t["fee_estimated"], bool)
    for key in ("calls", "cache_hits", "fallbacks", "cost"):
        assert key in s["ai"]
    assert s["ai"]["calls"] == 7 and s["ai"]["cache_hits"] == 2 and s["ai"]["fallbacks"] == 5
    assert s["ai"]["cost"] == "0.00012" and s["ai"]["model"] == "deepseek/deepseek-chat-v3.1"
    assert s["position"] == {"qty": "1.0009", "entry": "9.84999", "dust": "0.0009", "cost": "9.86867820"}
    assert s["closed_trades"] == 3 and s["open_trades"] == 1 and s["dust_trades"] == 1
    assert s["counters"] == {"advice_requests": 12, "refused_transitions": 0}
    assert s["capital"]["amount"] == "10" and "risk.capital" in s["capital"]["basis"]
    assert s["market"] == {"events": 900, "source": "synthetic"} and s["executor"]["kind"] == "paper"
    assert s["halted_reason"] is None and s["wall_time_s"] == pytest.approx(1.235)


def test_money_is_exact_strings_never_floats() -> None:
    s = summary_of()

    def walk(v, path="$"):
        assert not isinstance(v, float) or path == "$.wall_time_s" or path == "$.market_span_s", path
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{path}.{k}")
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{path}[{i}]")

    walk(s)
    assert s["realized_pnl"] == "-0.05752645"
    assert s["fees_paid"] == format(sum((t.fees_quote for t in make_trades()), D(0)), "f")
    assert dec_str(D("1E-8")) == "0.00000001" and dec_str(D("0E-8")) == "0.00000000" and dec_str(D("1E+1")) == "10"
    assert not re.search(r'"-?[0-9.]+E[-+]?[0-9]+"', json.dumps(s))  # no exponent notation (1E-8 is 0.00000001)


def test_realized_equals_sum_of_closed_pnl_exactly() -> None:
    s = summary_of()
    closed = [D(t["pnl"]) for t in s["trades"] if t["status"] == "CLOSED"]
    assert D(s["realized_pnl"]) == sum(closed, D(0))
    assert s["reconciled"] is True
    assert all(t["pnl"] is None for t in s["trades"] if t["status"] != "CLOSED")


def test_partial_trade_list_is_flagged_not_papered_over() -> None:
    status = make_status()
    s = summary_of(replace(status, trades=status.trades[1:]))
    assert s["realized_pnl"] == "-0.05752645"  # the keeper's figure, not recomputed
    assert s["reconciled"] is False
    assert "WARNING" in format_report(s)


def test_trade_rows() -> None:
    rows = summary_of()["trades"]
    assert rows[0]["client_order_ids"] == ["b-1", "s-1-0"]
    assert rows[1]["client_order_ids"] == ["b-2", "s-2-0", "s-2-1"]
    assert rows[0]["entry_price"] == "10.00" and rows[0]["exit_price"] == "10.05" and rows[0]["quantity"] == "0.999"
    assert rows[0]["fees"] == "0.02002995" and rows[0]["pnl"] == "0.02992005"
    assert rows[0]["opened_at"] == "2026-01-01T00:01:00.000+00:00"
    assert rows[0]["closed_at"] == "2026-01-01T00:05:00.000+00:00"
    assert rows[2]["fee_estimated"] is True and rows[0]["fee_estimated"] is False
    assert rows[3]["status"] == "DUST" and rows[3]["exit_price"] is None and rows[3]["closed_at"] is None
    assert rows[4]["status"] == "OPEN" and rows[4]["client_order_ids"] == ["b-5"]


def test_win_rate() -> None:
    trades = make_trades()
    assert win_rate(trades) == D(2) / D(3)
    assert summary_of()["win_rate"] == "0.666667"
    assert win_rate(trades[3:]) is None
    s = summary_of(make_status(trades[3:]))
    assert s["win_rate"] is None and s["closed_trades"] == 0 and s["realized_pnl"] == "0"


def test_max_drawdown_hand_made_curve() -> None:
    assert max_drawdown([D(0), D(5), D(2), D(7), D(1)]) == D(6)
    assert max_drawdown_span([D(0), D(5), D(2), D(7), D(1)]) == (D(6), 3, 4)
    assert max_drawdown([]) == 0 and max_drawdown([D(3)]) == 0 and max_drawdown([D(1), D(2), D(3)]) == 0
    s = summary_of()
    assert s["max_drawdown"]["quote"] == "6"
    assert s["max_drawdown"]["fraction"] == "0.600000"  # 6 of 10 USDC capital
    assert s["max_drawdown"]["peak_ms"] == T0 + 3 * MIN and s["max_drawdown"]["trough_ms"] == T0 + 4 * MIN


@hsettings(max_examples=200, deadline=None)
@given(st.lists(st.decimals(min_value=-1000, max_value=1000, places=8, allow_nan=False, allow_infinity=False),
                max_size=60))
def test_drawdown_properties(values: list[Decimal]) -> None:
    dd, peak, trough = max_drawdown_span(values)
    assert dd >= 0
    if values:
        assert dd <= max(values) - min(values)
    if dd:
        assert peak is not None and trough is not None and peak < trough
        assert values[peak] - values[trough] == dd
    # brute force: the largest fall from any earlier value
    brute = max((values[i] - values[j] for i in range(len(values)) for j in range(i + 1, len(values))), default=D(0))
    assert dd == max(brute, D(0))


def test_hold_and_total_return() -> None:
    eq = curve(["0", "1"], ["8", "10"])
    assert hold_return(eq) == D("0.25")
    assert hold_return(()) is None
    status = make_status(position=Position(symbol="TRUMPUSDC", quantity=D(0), entry_price=D(0), timestamp=at(T0)))
    s = summary_of(status, eq)
    assert s["hold_return"] == "0.250000"
    assert s["unrealized_pnl"] == "0" and s["unrealized_source"] == "flat"
    assert s["total_pnl"] == s["realized_pnl"]
    assert s["total_return"] == "-0.005753"  # -0.05752645 / 10


def test_total_return_counts_what_is_held_at_the_last_bid() -> None:
    snap = MarketSnapshot(symbol="TRUMPUSDC", seq=9, ts_data_ms=T0 + 20 * MIN, ts_snapshot_ms=T0 + 20 * MIN,
                          bid=D("10.00"), bid_qty=D(5), ask=D("10.02"), ask_qty=D(5), mid=D("10.01"),
                          spread_bps=D(2), imbalance=D(0), microprice=D("10.01"))
    s = summary_of(make_status(last_snapshot=snap))
    # 1.0009 * 10.00 - 9.86867820 = 0.14032180
    assert s["unrealized_pnl"] == "0.14032180" and s["unrealized_source"] == "last_bid"
    assert D(s["total_pnl"]) == D("-0.05752645") + D("0.14032180")
    assert s["total_return"] == "0.008280"
    assert s["market_end_ms"] == T0 + 20 * MIN and s["market_start_ms"] == T0
    assert s["market_start"] == ms_to_iso(T0) == "2026-01-01T00:00:00.000+00:00"
    # without a snapshot, the last equity point says what is held is worth
    eq = (EquityPoint(ts_ms=T0, mid=D(10), realized_pnl=D(0), unrealized_pnl=D("-0.5")),)
    s2 = summary_of(make_status(), eq)
    assert s2["unrealized_pnl"] == "-0.50000000" and s2["unrealized_source"] == "equity_curve"


def test_ai_absent_or_given_as_stats() -> None:
    s = summary_of(ai=None)
    assert s["ai"]["calls"] == 0 and s["ai"]["cost"] == "0" and s["ai"]["available"] is False
    s2 = summary_of(ai=Stats(source="ai", values=(("calls", 3), ("cost", D("0.5")))))
    assert s2["ai"]["calls"] == 3 and s2["ai"]["cost"] == "0.5" and s2["ai"]["fallbacks"] == 0


def test_halted_reason_and_empty_run() -> None:
    status = make_status(trades=(), halted_reason="journal write failed", state=TradingState.READY_TO_BUY,
                         position=Position(symbol="TRUMPUSDC", quantity=D(0), entry_price=D(0), timestamp=at(T0)))
    s = summary_of(status, ())
    assert s["halted_reason"] == "journal write failed"
    assert s["trades"] == [] and s["hold_return"] is None and s["max_drawdown"]["quote"] == "0"
    assert s["market_start_ms"] is None and s["market_end_ms"] is None
    text = format_report(s)
    assert "HALTED" in text and "journal write failed" in text and "(no trades)" in text
    json.dumps(s)


# -- files ---------------------------------------------------------------------------------


def test_write_report_round_trips_and_draws(tmp_path: Path) -> None:
    eq = curve([str(i % 7 - 3) for i in range(120)], [str(10 + (i % 11) / 10) for i in range(120)])
    s = summary_of(equity=eq)
    out = tmp_path / "reports" / "run-1"
    js, png = write_report(s, eq, out)
    assert js == out / "summary.json" and png == out / "equity.png"
    assert json.loads(js.read_text(encoding="utf-8")) == s
    assert js.read_text(encoding="utf-8").startswith('{\n  "')  # indent 2
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


@pytest.mark.parametrize("points", [0, 1])
def test_write_report_with_no_curve(tmp_path: Path, points: int) -> None:
    eq = curve(["0"])[:points]
    s = summary_of(equity=eq)
    js, png = write_report(s, eq, tmp_path)
    assert json.loads(js.read_text(encoding="utf-8"))["equity_points"] == points
    data = png.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 2_000


# -- the console text ---------------------------------------------------------------------------


def test_format_report_mentions_everything() -> None:
    text = format_report(summary_of())
    for needle in ("TRUMPUSDC", "backtest", "2026-01-01T00:00:00.000+00:00", "realized P&L", "-0.05752645",
                   "fees paid", "win rate", "66.67%", "total return", "hold", "+10.00%", "max drawdown",
                   "60.00% of capital", "advice 7", "cache hits 2", "fallbacks (the model failed) 5", "ready_to_sell",
                   "dust 0.0009", "DUST",
                   "OPEN", "CLOSED", "net P&L"):
        assert needle in text, needle
    assert "skipped" not in text


def test_format_report_truncates_long_trade_lists() -> None:
    many = tuple(
        closed_trade(n, "10.00", "10.05", "1.000", "0.01", "0.01005", "0.02995", T0 + n * MIN, T0 + n * MIN + 30_000)
        for n in range(1, 101)
    )
    s = summary_of(make_status(many))
    assert len(s["trades"]) == 100 and s["win_rate"] == "1.000000"
    assert D(s["realized_pnl"]) == D("2.995")
    text = format_report(s)
    assert "80 trades skipped" in text
    lines = text.splitlines()
    first_cells = [ln.split()[0] for ln in lines if ln.startswith("  ") and ln.split()]
    assert "1" in first_cells and "10" in first_cells and "91" in first_cells and "100" in first_cells
    assert "50" not in first_cells
    assert len(lines) < 60


def test_invariant_holds_on_trades_booked_by_the_real_ledger() -> None:
    """Fills with fees in TRUMP, USDC, BNB and none, a split sell: the report's sum is the keeper's."""
    from actors.messages import OrderStatus, OrderUpdate, Side
    from actors.state_keeper.ledger import Ledger, OrderRecord

    led = Ledger("TRUMPUSDC", "TRUMP", "USDC", D("0.001"))
    ms = T0

    def fill(cid: str, side: Side, qty: D, price: D, cum: D, status: str, fee: str | None, asset: str | None) -> None:
        led.apply_update(OrderUpdate(symbol="TRUMPUSDC", client_order_id=cid, status=OrderStatus(status), side=side,
                                     cum_qty=cum, cum_quote=None, last_qty=cum - led.orders[cid].cum_qty,
                                     last_price=price, commission=D(fee) if fee is not None else None,
                                     commission_asset=asset, ts_ms=ms))

    cycles = [("9.37", "9.41", "0.001067", "TRUMP"), ("9.52", "9.31", "0.00952", "USDC"),
              ("9.13", "9.29", "0.00002", "BNB"), ("8.77", "8.91", None, None)]
    for n, (buy_px, sell_px, fee, asset) in enumerate(cycles):
        ms += MIN
        led.add_order(OrderRecord(client_order_id=f"b-{n}", side=Side.BUY, price=D(buy_px), quantity=D("1.067"),
                                  created_ms=ms))
        fill(f"b-{n}", Side.BUY, D("1.067"), D(buy_px), D("1.067"), "FILLED", fee, asset)
        held = led.qty
        ms += MIN
        led.add_order(OrderRecord(client_order_id=f"s-{n}", side=Side.SELL, price=D(sell_px), quantity=held,
                                  created_ms=ms))
        half = (held / 2).quantize(D("0.001"))
        fill(f"s-{n}", Side.SELL, held, D(sell_px), half, "PARTIALLY_FILLED", None, None)
        fill(f"s-{n}", Side.SELL, held, D(sell_px), held, "FILLED", None, None)
        led.close_trade(ms)
    trades = tuple(led.trade_view(t) for t in led.trades)
    status = make_status(trades, realized_pnl=led.realized_pnl, fees_paid=led.fees_paid,
                         position=led.position(D(0)), state=TradingState.READY_TO_BUY)
    s = summary_of(status, ())
    assert s["closed_trades"] == 4 and s["reconciled"] is True
    assert D(s["realized_pnl"]) == sum((D(t["pnl"]) for t in s["trades"] if t["status"] == "CLOSED"), D(0))
    assert D(s["realized_pnl"]) == led.realized_pnl and s["win_rate"] == "0.750000"
    assert s["trades"][2]["fee_estimated"] is True and s["trades"][0]["client_order_ids"] == ["b-0", "s-0"]


# -- the package ------------------------------------------------------------------------------

# Every summary.json key of the one-module report: scripts read them, so none may go or be renamed
# (new keys may be added).
SUMMARY_KEYS = {
    "ai", "base_asset", "capital", "closed_trades", "closed_trades_pnl", "counters", "dust_trades", "equity_points",
    "executor", "feed_stale", "fees_paid", "halted_reason", "hold_return", "last_ask", "last_bid", "last_mid",
    "losses", "market", "market_end", "market_end_ms", "market_span_s", "market_start", "market_start_ms",
    "max_drawdown", "mode", "open_order", "open_trades", "position", "quote_asset", "realized_pnl", "reconciled",
    "settings", "state", "stopped_reason", "symbol", "total_pnl", "total_return", "trade_count", "trades",
    "unrealized_pnl", "unrealized_source", "wall_time_s", "win_rate", "wins",
}
NESTED_KEYS = {
    "position": {"cost", "dust", "entry", "qty"},
    "capital": {"amount", "basis"},
    "max_drawdown": {"fraction", "peak_ms", "quote", "trough_ms"},
    "ai": {"available", "cache_hits", "calls", "cost", "fallbacks"},
    "settings": {"ai_model", "exchange", "fee_rate", "market_source", "min_profit", "quote_per_trade", "stop_loss"},
}
TRADE_KEYS = {"client_order_ids", "closed_at", "closed_at_ms", "entry_price", "exit_price", "fee_estimated", "fees",
              "index", "opened_at", "opened_at_ms", "pnl", "quantity", "sold_quantity", "status"}


def test_summary_keeps_every_key_of_the_one_module_report() -> None:
    s = summary_of()
    assert SUMMARY_KEYS <= set(s), SUMMARY_KEYS - set(s)
    for key, inner in NESTED_KEYS.items():
        assert inner <= set(s[key]), (key, inner - set(s[key]))
    assert all(TRADE_KEYS <= set(t) for t in s["trades"])


def test_a_report_without_a_chart_never_imports_matplotlib(tmp_path: Path) -> None:
    """Summary and text alone (as `bootstrap.py trades` does) must not pay for matplotlib."""
    code = (
        "import sys, json\n"
        "sys.path.insert(0, 'tests/report')\n"
        "from test_report import summary_of\n"
        "from actors import report\n"
        "text = report.format_report(summary_of())\n"
        "json.dumps(report.to_jsonable(summary_of()))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))\n"
    )
    root = ROOT
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_old_names_still_import_from_actors_report() -> None:
    from actors import report
    from actors.report import chart, measures, summary, text

    assert report.build_summary is summary.build_summary and report.format_report is text.format_report
    assert report.max_drawdown is measures.max_drawdown and callable(chart.draw_chart)
    assert report.SUMMARY_FILE == "summary.json" and report.CHART_FILE == "equity.png"
