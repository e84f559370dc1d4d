"""The candle fill model: an order fills only on bars after the one it was decided in (issue 19)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from actors.market_data.features import Features
from actors.messages import (
    Candle,
    MarketSnapshot,
    OrderUpdate,
    PlaceOrder,
    Side,
    SymbolFilters,
    TradeTick,
)
from actors.order_executor.candle_fills import CandleFillModel, bar_fill_price
from actors.order_executor.paper import PaperExchange
from actors.settings import SettingsError, load_settings
from tests._support.run import run_bot

D = Decimal
FILTERS = SymbolFilters(symbol="TRUMPUSDC", base_asset="TRUMP", quote_asset="USDC", tick_size=D("0.01"),
                        step_size=D("0.001"), min_qty=D("0.001"), max_qty=D("9000000"), min_notional=D("1"))
T0 = 1_738_368_000_000  # 2025-02-01 00:00 UTC
BAR = 60_000
NEVER = CandleFillModel()


def candle(i: int, o: str, h: str, lo: str, c: str, v: str = "100") -> Candle:
    return Candle(open_ms=T0 + i * BAR, open=D(o), high=D(h), low=D(lo), close=D(c), volume=D(v))


def bar_snap(i: int, o: str, h: str, lo: str, c: str, v: str = "100") -> MarketSnapshot:
    """The snapshot a next_bar replay makes at bar i's close: one trade carrying the bar."""
    b = candle(i, o, h, lo, c, v)
    ts = b.open_ms + BAR - 1
    t = TradeTick(trade_id=i + 1, price=b.close, qty=b.volume, ts_ms=ts, buyer_is_maker=b.close < b.open, bar=b)
    bid, ask = b.close - D("0.01"), b.close
    return MarketSnapshot(symbol="TRUMPUSDC", seq=i + 1, ts_data_ms=ts, ts_snapshot_ms=ts, bid=bid, bid_qty=D(5),
                          ask=ask, ask_qty=D(5), mid=(bid + ask) / 2, spread_bps=D(0), imbalance=D(0),
                          microprice=(bid + ask) / 2, trades=(t,))


def place(cid: str, side: Side, price: str, qty: str, ts: int) -> PlaceOrder:
    return PlaceOrder(client_order_id=cid, symbol="TRUMPUSDC", side=side, price=D(price), quantity=D(qty), ts_ms=ts)


def fills(events: list) -> list[tuple[str, Decimal, Decimal]]:
    return [(e.client_order_id, e.last_qty, e.last_price) for e in events if isinstance(e, OrderUpdate) and e.last_qty]


def exchange(base: str = "0") -> PaperExchange:
    return PaperExchange(FILTERS, D("0.001"), D(1000), D(base))


# -- the rules, pure ----------------------------------------------------------------------------


def test_a_buy_limit_fills_on_trade_through_at_its_price_or_at_a_lower_open() -> None:
    p = D("10.00")
    assert bar_fill_price(NEVER, Side.BUY, p, False, candle(0, "10.20", "10.30", "9.90", "10.10"), "a") == p
    assert bar_fill_price(NEVER, Side.BUY, p, False, candle(0, "9.80", "10.30", "9.70", "10.10"), "a") == D("9.80")
    assert bar_fill_price(NEVER, Side.BUY, p, False, candle(0, "10.20", "10.30", "10.01", "10.10"), "a") is None


def test_a_sell_limit_mirrors_it() -> None:
    p = D("10.00")
    assert bar_fill_price(NEVER, Side.SELL, p, False, candle(0, "9.80", "10.10", "9.70", "9.90"), "a") == p
    assert bar_fill_price(NEVER, Side.SELL, p, False, candle(0, "10.20", "10.30", "9.90", "10.10"), "a") == D("10.20")
    assert bar_fill_price(NEVER, Side.SELL, p, False, candle(0, "9.80", "9.99", "9.70", "9.90"), "a") is None


def test_a_touch_fills_only_with_the_configured_probability() -> None:
    at_low = candle(0, "10.20", "10.30", "10.00", "10.10")
    at_high = candle(0, "9.80", "10.00", "9.70", "9.90")
    assert bar_fill_price(NEVER, Side.BUY, D("10.00"), False, at_low, "a") is None
    assert bar_fill_price(NEVER, Side.SELL, D("10.00"), False, at_high, "a") is None
    always = CandleFillModel(touch_prob=D(1))
    assert bar_fill_price(always, Side.BUY, D("10.00"), False, at_low, "a") == D("10.00")
    assert bar_fill_price(always, Side.SELL, D("10.00"), False, at_high, "a") == D("10.00")


def test_touch_draws_are_seeded_and_follow_the_probability() -> None:
    half = CandleFillModel(touch_prob=D("0.5"), seed=7)
    draws = [half.touch_fills(f"tb-{i}-B", T0) for i in range(400)]
    assert draws == [CandleFillModel(touch_prob=D("0.5"), seed=7).touch_fills(f"tb-{i}-B", T0) for i in range(400)]
    assert 120 < sum(draws) < 280  # about half, and not all or none
    other = [CandleFillModel(touch_prob=D("0.5"), seed=8).touch_fills(f"tb-{i}-B", T0) for i in range(400)]
    assert other != draws


def test_a_marketable_sell_pays_the_gap_at_the_next_open() -> None:
    gap_down = candle(0, "9.50", "9.60", "9.40", "9.55")
    assert bar_fill_price(NEVER, Side.SELL, D("10.00"), True, gap_down, "s") == D("9.50")
    # a marketable buy takes the open within its limit, else it rests like any limit
    assert bar_fill_price(NEVER, Side.BUY, D("10.00"), True, candle(0, "10.00", "10.10", "10.00", "10.05"), "b") == D(10)
    assert bar_fill_price(NEVER, Side.BUY, D("10.00"), True, candle(0, "10.50", "10.60", "10.40", "10.55"), "b") is None


# -- the paper exchange on bars ---------------------------------------------------------------------


def test_an_order_decided_on_a_bar_never_fills_on_that_bar() -> None:
    ex = exchange()
    first = bar_snap(0, "10.00", "10.10", "9.50", "10.00")
    ex.on_snapshot(first)
    # placed at bar 0's close, priced at its low: bar 0 itself does not count, even seen again
    assert fills(ex.place(place("b", Side.BUY, "9.60", "1", first.ts_snapshot_ms))) == []
    assert fills(ex.on_snapshot(first)) == []
    assert fills(ex.on_snapshot(bar_snap(1, "10.00", "10.05", "9.70", "10.00"))) == []  # low above 9.60
    assert fills(ex.on_snapshot(bar_snap(2, "10.00", "10.05", "9.55", "9.90"))) == [("b", D(1), D("9.60"))]


def test_bars_show_no_book_to_cross_on_arrival() -> None:
    ex = exchange(base="1")
    s = bar_snap(0, "10.00", "10.10", "9.90", "10.00")
    ex.on_snapshot(s)
    # a stop-loss style sell at the bid: in the trades model it would fill now, at the bid
    assert fills(ex.place(place("s", Side.SELL, str(s.bid), "1", s.ts_snapshot_ms))) == []
    assert ex.wake() is None  # a bar's low or high may reach it: every snapshot
    assert fills(ex.on_snapshot(bar_snap(1, "9.20", "9.30", "9.00", "9.10"))) == [("s", D(1), D("9.20"))]


def test_a_bars_volume_caps_the_fill() -> None:
    ex = exchange()
    s = bar_snap(0, "10.00", "10.10", "9.90", "10.00")
    ex.on_snapshot(s)
    ex.place(place("b", Side.BUY, "9.95", "3", s.ts_snapshot_ms))
    assert fills(ex.on_snapshot(bar_snap(1, "10.00", "10.05", "9.80", "9.90", v="2"))) == [("b", D(2), D("9.95"))]
    assert fills(ex.on_snapshot(bar_snap(2, "9.90", "10.00", "9.85", "9.95", v="5"))) == [("b", D(1), D("9.90"))]
    assert ex.order("b").status.value == "FILLED"


# -- the same candles under both models, end to end ----------------------------------------------------


def _dip_day(path: Path) -> Path:
    """Flat 1m bars at 10.01 with one bar that dips to 9.53 and spikes to 10.61 (bar 10)."""
    rows = []
    for i in range(20):
        o, h, lo, c = ("10.01", "10.61", "9.53", "10.01") if i == 10 else ("10.01",) * 4
        t = T0 + i * BAR
        rows.append(f"{t},{o},{h},{lo},{c},5.123,{t + BAR - 1},0,0,0,0,0")
    path.write_text("\n".join(rows) + "\n")
    return path


def _same_bar_round_trips(summary: dict) -> list[dict]:
    return [t for t in summary["trades"] if t["status"] == "CLOSED"
            and t["opened_at_ms"] // BAR == t["closed_at_ms"] // BAR]


def test_the_path_model_books_a_same_bar_round_trip_that_next_bar_refuses(tmp_path: Path) -> None:
    data = _dip_day(tmp_path / "TRUMPUSDC-1m-2025-02-01.csv")
    out: dict[str, dict] = {}
    for model in ("path", "next_bar"):
        cfg = tmp_path / f"{model}.toml"
        cfg.write_text(f'[market]\nsource = "replay"\ncandle_fills = "{model}"\n[ai]\nrule_strategy = "maker"\n')
        proc = run_bot(tmp_path, "--config", str(cfg), "--report-dir", model, "--replay-path", str(data))
        assert proc.returncode == 0, proc.stderr[-3000:]
        out[model] = json.loads((tmp_path / model / "summary.json").read_text())
        assert f"fill model : {model}" in proc.stdout  # the report says which model ran
    dip = (T0 + 10 * BAR) // BAR
    (trip,) = _same_bar_round_trips(out["path"])  # bought on the guessed low, sold on the guessed high
    assert trip["opened_at_ms"] // BAR == dip and D(trip["pnl"]) > 0
    assert _same_bar_round_trips(out["next_bar"]) == []
    assert out["next_bar"]["closed_trades"] == 0  # the buy filled on the dip; nothing later reached the offer
    assert out["next_bar"]["data"]["fill_model"] == "next_bar" and out["path"]["data"]["fill_model"] == "path"


def test_candles_shown_to_the_ai_are_the_bars_themselves() -> None:
    f = Features(window_s=300, candles=3)
    bars = [bar_snap(i, *p).trades[0] for i, p in enumerate([("10.00", "10.40", "9.80", "10.20"),
                                                            ("10.20", "10.30", "9.90", "10.00"),
                                                            ("10.00", "10.10", "9.50", "9.60")])]
    f.add_trades(bars[:2])
    f.add_trades(bars[2:])
    assert [(c.open_ms, c.open, c.high, c.low, c.close, c.volume) for c in f.candles()] == [
        (T0 + i * BAR, D(o), D(h), D(lo), D(c), D(100)) for i, (o, h, lo, c) in
        enumerate([("10.00", "10.40", "9.80", "10.20"), ("10.20", "10.30", "9.90", "10.00"),
                   ("10.00", "10.10", "9.50", "9.60")])]
    assert f.last_price == D("9.60")


def test_the_fill_model_settings_are_validated() -> None:
    s = load_settings(None, {"market.touch_fill_prob": "0.25"})
    assert (s.market.candle_fills, s.market.touch_fill_prob) == ("next_bar", D("0.25"))
    with pytest.raises(SettingsError, match="market.candle_fills"):
        load_settings(None, {"market.candle_fills": "inside"})
    with pytest.raises(SettingsError, match="market.touch_fill_prob"):
        load_settings(None, {"market.touch_fill_prob": "1.5"})
