"""Replay of Binance public-data CSVs, the rolling features and the lockstep cut, without threads.

Fixtures are written by the tests in the exact public-data column order
(reference/binance.md, section 9): no header row, `True`/`False` booleans,
ms timestamps before 2025 and µs after.
"""

from __future__ import annotations

import math
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from actors.market_data.cutter import SnapshotCutter as LockstepFeed
from actors.market_data.features import Features
from actors.market_data.replay import (
    AGG_TRADES,
    KLINES,
    TRADES,
    ReplayError,
    ReplaySource,
)
from actors.market_data.snapshot_builder import SnapshotBuilder, derive_quotes
from actors.messages import Candle, TradeTick

D = Decimal
T0_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z

# (id, price, qty, ts_ms, buyer_is_maker)
ROWS = [
    (101, "10.01", "1.500", T0_MS + 0, False),
    (102, "10.00", "0.250", T0_MS + 400, True),
    (103, "10.02", "3.000", T0_MS + 900, False),
    (104, "9.99", "2.000", T0_MS + 1_500, True),
    (105, "10.03", "1.000", T0_MS + 61_000, False),
]


def agg_line(i: int, p: str, q: str, ts: int, m: bool) -> str:
    # aggTradeId, price, qty, firstTradeId, lastTradeId, timestamp, isBuyerMaker, isBestMatch
    return f"{i},{p},{q},{i * 10},{i * 10 + 2},{ts},{m},True"


def trade_line(i: int, p: str, q: str, ts: int, m: bool) -> str:
    # id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch
    return f"{i},{p},{q},{D(p) * D(q)},{ts},{m},True"


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def agg_file(path: Path, rows=ROWS, micros: bool = False) -> Path:
    return write(path, [agg_line(i, p, q, ts * 1000 if micros else ts, m) for i, p, q, ts, m in rows])


def ticks(source: ReplaySource) -> list[TradeTick]:
    return list(source)


def expected(rows=ROWS) -> list[TradeTick]:
    return [TradeTick(trade_id=i, price=D(p), qty=D(q), ts_ms=ts, buyer_is_maker=m) for i, p, q, ts, m in rows]


# -- reading ---------------------------------------------------------------------------------------


def test_agg_trades_in_ms_and_in_us_read_the_same(tmp_path: Path) -> None:
    ms = ReplaySource(agg_file(tmp_path / "ms.csv"))
    us = ReplaySource(agg_file(tmp_path / "us.csv", micros=True))
    assert ticks(ms) == expected() == ticks(us)
    assert ms._specs[0].kind == AGG_TRADES and not ms._specs[0].micros and us._specs[0].micros
    assert ms.rows == 5 and ms.events == 5 and not ms.bad_rows


def test_prices_and_quantities_are_exact_decimals(tmp_path: Path) -> None:
    src = ReplaySource(write(tmp_path / "a.csv", [agg_line(1, "0.10000000", "123.45678900", T0_MS, True)]))
    (t,) = ticks(src)
    assert t.price == D("0.1") and str(t.price) == "0.10000000" and t.qty == D("123.456789")


def test_trades_files_are_read_by_their_column_count(tmp_path: Path) -> None:
    src = ReplaySource(write(tmp_path / "t.csv", [trade_line(i, p, q, ts * 1000, m) for i, p, q, ts, m in ROWS]))
    assert src._specs[0].kind == TRADES
    assert ticks(src) == expected()


def test_a_header_row_is_tolerated(tmp_path: Path) -> None:
    header = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker,is_best_match"
    path = write(tmp_path / "h.csv", [header] + [agg_line(i, p, q, ts, m) for i, p, q, ts, m in ROWS])
    src = ReplaySource(path)
    assert ticks(src) == expected() and not src.bad_rows


def test_a_zip_is_read_in_place(tmp_path: Path) -> None:
    csv = agg_file(tmp_path / "TRUMPUSDC-aggTrades-2025-01-01.csv", micros=True)
    zpath = tmp_path / "TRUMPUSDC-aggTrades-2025-01-01.zip"
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(csv, csv.name)
    csv.unlink()
    assert ticks(ReplaySource(zpath)) == expected()


def test_a_folder_is_read_in_time_order_whatever_the_names(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    # later data in a file whose name sorts first, and in a zip; earlier data in ms, later in µs
    agg_file(folder / "a-later.csv", rows=ROWS[2:4], micros=True)
    agg_file(folder / "b-earliest.csv", rows=ROWS[:2])
    inner = agg_file(tmp_path / "last.csv", rows=ROWS[4:], micros=True)
    with zipfile.ZipFile(folder / "0-last.zip", "w") as zf:
        zf.write(inner, inner.name)
    (folder / "notes.txt").write_text("not data")
    src = ReplaySource(folder)
    assert ticks(src) == expected()
    assert src.files == ["b-earliest.csv", "a-later.csv", "0-last.zip:last.csv"]


# openTime, open, high, low, close, volume, closeTime, quoteVolume, numTrades, takerBuyBase, takerBuyQuote, ignore
UP = f"{T0_MS * 1000},10.00,10.10,9.95,10.05,8.000,{(T0_MS + 59_999) * 1000},80.4,12,4.0,40.2,0"
DOWN = f"{(T0_MS + 60_000) * 1000},10.05,10.08,9.90,9.92,2.001,{(T0_MS + 119_999) * 1000},20.1,5,1.0,10.0,0"


def test_klines_become_one_trade_per_bar_at_its_close_by_default(tmp_path: Path) -> None:
    src = ReplaySource(write(tmp_path / "TRUMPUSDC-1m-2025-01-01.csv", [UP, DOWN]))
    out = ticks(src)
    assert [(t.price, t.qty, t.ts_ms, t.buyer_is_maker) for t in out] == [
        (D("10.05"), D("8.000"), T0_MS + 59_999, False),  # an up bar ends on a taker buy
        (D("9.92"), D("2.001"), T0_MS + 119_999, True),
    ]
    assert out[0].bar == Candle(open_ms=T0_MS, open=D("10.00"), high=D("10.10"), low=D("9.95"), close=D("10.05"),
                                volume=D("8.000"))
    assert out[1].bar is not None and out[1].bar.open_ms == T0_MS + 60_000 and out[1].bar.low == D("9.90")
    assert src.rows == 2 and src.events == 2


def test_klines_become_four_trades_in_a_sensible_order_on_the_path_model(tmp_path: Path) -> None:
    src = ReplaySource(write(tmp_path / "TRUMPUSDC-1m-2025-01-01.csv", [UP, DOWN]), candle_fills="path")
    assert src._specs[0].kind == KLINES
    out = ticks(src)
    assert [t.price for t in out] == [D(x) for x in ("10.00", "9.95", "10.10", "10.05", "10.05", "10.08", "9.90", "9.92")]
    assert [t.ts_ms for t in out[:4]] == [T0_MS, T0_MS + 15_000, T0_MS + 30_000, T0_MS + 45_000]
    assert sum((t.qty for t in out[:4]), D(0)) == D("8.000")
    assert sum((t.qty for t in out[4:]), D(0)) == D("2.001")
    # a move down is a taker sell (buyer is maker), a move up a taker buy
    assert [t.buyer_is_maker for t in out[1:4]] == [True, False, True]
    assert [t.buyer_is_maker for t in out[5:]] == [False, True, False]
    assert len({t.trade_id for t in out}) == 8
    assert src.rows == 2 and src.events == 8


def test_bad_rows_are_skipped_counted_and_logged_once_per_kind(tmp_path: Path, logs) -> None:
    lines = [
        agg_line(1, "10.00", "1", T0_MS, True),
        "2,10.00,1,20,22",  # wrong column count
        agg_line(3, "ten", "1", T0_MS + 1, True),  # not a number
        agg_line(4, "10.00", "-1", T0_MS + 2, True),  # negative
        agg_line(5, "10.00", "1", T0_MS + 3, False),
        agg_line(6, "10.00", "1", T0_MS + 1, True),  # time going backwards
        agg_line(7, "10.00", "1", T0_MS - 5, True),  # again
        "",
        agg_line(8, "NaN", "1", T0_MS + 4, True),  # not a number either
        agg_line(9, "10.01", "2", T0_MS + 5, False),
        agg_line(10, "10.01", "0", T0_MS + 6, False),  # zero size
    ]
    src = ReplaySource(write(tmp_path / "bad.csv", lines))
    assert [t.trade_id for t in ticks(src)] == [1, 5, 9]
    assert src.bad_rows == {
        "wrong column count": 1,
        "not a number": 2,
        "negative, zero or out of range": 2,
        "time going backwards": 2,
    }
    warnings = logs.messages("WARNING")
    assert len(warnings) == 4
    assert any("2 bad aggTrades row(s): time going backwards" in w for w in warnings)


def test_missing_or_empty_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ReplayError):
        ReplaySource(tmp_path / "nope.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReplayError):
        ReplaySource(tmp_path / "empty")


# -- features ----------------------------------------------------------------------------------------


def tt(i: int, p: str, q: str, ts: int, m: bool) -> TradeTick:
    return TradeTick(trade_id=i, price=D(p), qty=D(q), ts_ms=ts, buyer_is_maker=m)


def test_vwap_flow_and_volatility_follow_the_window() -> None:
    f = Features(window_s=10, candles=3)
    trades = [tt(1, "10", "1", T0_MS, False), tt(2, "11", "3", T0_MS + 1_000, True), tt(3, "12", "1", T0_MS + 2_500, False)]
    f.add_trades(trades)
    vwap, vol, tfi = f.window(T0_MS + 2_500)
    assert vwap == D(10 * 1 + 11 * 3 + 12 * 1) / 5
    assert tfi == D("-0.2000")  # buys 2, sells 3
    expected_vol = math.sqrt(math.log(11 / 10) ** 2 + math.log(12 / 11) ** 2)
    assert float(vol) == pytest.approx(expected_vol, abs=1e-6)
    # 11 s later the first two seconds have left the window
    f.add_trades([tt(4, "12", "1", T0_MS + 12_100, True)])
    vwap, _, tfi = f.window(T0_MS + 12_100)
    assert vwap == D(12) and tfi == D(-1)  # only a taker sell is left
    # nothing left at all after a long pause
    assert f.window(T0_MS + 60_000)[0] is None


def test_candles_are_one_minute_ohlcv_and_only_the_last_ones_are_kept() -> None:
    f = Features(window_s=300, candles=2)
    f.add_trades([tt(1, "10", "1", T0_MS + 5, False), tt(2, "12", "2", T0_MS + 10, False), tt(3, "9", "1", T0_MS + 59_999, True)])
    f.add_trades([tt(4, "11", "1", T0_MS + 60_000, False)])
    f.add_trades([tt(5, "13", "1", T0_MS + 120_000, False), tt(6, "12", "1", T0_MS + 121_000, True)])
    c = f.candles()
    assert len(c) == 2
    assert (c[0].open_ms, c[0].open, c[0].high, c[0].low, c[0].close, c[0].volume) == (T0_MS + 60_000, 11, 11, 11, 11, 1)
    assert (c[1].open_ms, c[1].open, c[1].high, c[1].low, c[1].close, c[1].volume) == (T0_MS + 120_000, 13, 13, 12, 12, 2)


def test_bookless_quotes_come_from_the_aggressor_side() -> None:
    tick = D("0.01")
    # a taker buy lifted 10.02, the last taker sell hit 10.00: ask 10.02, bid 10.00
    assert derive_quotes(D("10.02"), D("10.00"), True, tick) == (D("10.00"), D("10.02"))
    # a taker sell hit the same price as the last taker buy: one tick of spread at least
    assert derive_quotes(D("10.00"), D("10.00"), False, tick) == (D("10.00"), D("10.01"))
    # a stale other side is pulled in to at most 25 bps away
    assert derive_quotes(D("10.50"), D("10.00"), True, tick) == (D("10.48"), D("10.50"))
    # only one side seen so far
    assert derive_quotes(None, D("10.00"), False, tick) == (D("10.00"), D("10.01"))
    assert derive_quotes(D("10.00"), None, True, tick) == (D("9.99"), D("10.00"))
    assert derive_quotes(None, None, True, tick) is None


# -- the lockstep cut ---------------------------------------------------------------------------------


def feed(trades: list[TradeTick], interval_ms: int = 1000, move_bps: str = "20", cap: int = 500) -> LockstepFeed:
    builder = SnapshotBuilder("TRUMPUSDC", D("0.01"), D("0.001"), Features(300, 5))
    chunks = iter([(None, trades[i : i + 7]) for i in range(0, len(trades), 7)])
    return LockstepFeed(chunks, builder, interval_ms=interval_ms, significant_move_bps=D(move_bps), trade_cap=cap)


def cut_all(f: LockstepFeed) -> list:
    out = []
    while (s := f.next_snapshot(len(out) + 1)) is not None:
        out.append(s)
    return out


def test_snapshots_are_cut_by_market_time_and_carry_every_trade_once() -> None:
    trades = [tt(i, "10.00" if i % 2 else "10.01", "1", T0_MS + i * 100, bool(i % 2)) for i in range(1, 51)]
    snaps = cut_all(feed(trades))
    # the first trade goes out at once; then one snapshot per second of market time, each
    # cut when the interval ends (the trade at that very moment waits for the next one)
    assert [len(s.trades) for s in snaps] == [1, 9] + [10] * 4
    assert [s.ts_snapshot_ms for s in snaps] == [T0_MS + 100 + k * 1000 for k in range(6)]
    assert [t.trade_id for s in snaps for t in s.trades] == list(range(1, 51))
    for s in snaps:
        assert s.ts_data_ms <= s.ts_snapshot_ms and s.bid < s.ask and s.seq == snaps.index(s) + 1
        assert s.bid == D("10.00") and s.ask == D("10.01") and s.mid == D("10.005")
        assert s.spread_bps == D("10.00") and s.vwap is not None and s.candles


def test_a_significant_move_cuts_at_once() -> None:
    trades = [tt(1, "10.00", "1", T0_MS, True), tt(2, "10.01", "1", T0_MS + 10, False)]
    trades += [tt(3, "10.05", "1", T0_MS + 20, False), tt(4, "10.05", "1", T0_MS + 30, True)]  # +40 bps
    trades += [tt(5, "10.06", "1", T0_MS + 40, False)]
    snaps = cut_all(feed(trades))
    assert [[t.trade_id for t in s.trades] for s in snaps] == [[1], [2, 3], [4, 5]]
    assert snaps[1].ts_snapshot_ms == T0_MS + 20  # cut at the moving trade, not at the interval
    assert snaps[1].ask == D("10.05")


def test_a_busy_interval_is_cut_at_the_trade_cap() -> None:
    trades = [tt(i, "10.00", "1", T0_MS + i, True) for i in range(1, 26)]
    snaps = cut_all(feed(trades, cap=10))
    assert [len(s.trades) for s in snaps] == [1, 10, 10, 4]
    assert [t.trade_id for s in snaps for t in s.trades] == list(range(1, 26))


def test_the_summary_counts_rows_used_dropped_and_gaps_in_market_time(tmp_path: Path) -> None:
    lines = [agg_line(1, "10.00", "1", T0_MS, True), agg_line(2, "10.00", "1", T0_MS + 1_000, True),
             agg_line(3, "10.00", "1", T0_MS + 500, True),  # time going backwards
             agg_line(4, "10.01", "1", T0_MS + 1_000 + 600_000, False)]  # ten quiet minutes: a gap
    src = ReplaySource(write(tmp_path / "TRUMPUSDC-aggTrades-2025-01-01.csv", lines))
    assert len(ticks(src)) == 3
    s = src.summary()
    assert (s["rows_used"], s["rows_dropped"], s["dropped"]) == (3, 1, {"time going backwards": 1})
    assert s["files"] == [{"file": "TRUMPUSDC-aggTrades-2025-01-01.csv", "kind": "aggTrades", "rows": 3,
                           "dropped": {"time going backwards": 1}}]
    assert (s["gaps"], s["longest_gap"], s["first_ms"]) == (1, [T0_MS + 1_000, T0_MS + 601_000], T0_MS)
    assert dict(src.stats_items())["dropped_why"] == "time going backwards: 1"
