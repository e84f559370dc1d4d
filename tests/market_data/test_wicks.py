"""A month with a flash crash replays as it happened (issue 29).

On 2025-10-10 many Binance pairs wicked far down and back within minutes
(ATOMUSDT printed 0.001 against a close of about 4). The tick check judges the
prices the bot would trade at, not that one print; a resting limit the wick
trades through fills at its limit; a stop or a halt decided at the bar close
sells at the next bar's open; the report names the wide bars and what the run
did on them. Constructed bars (an ATOM-like hour month) and real ones (COWUSDT's
wick of 2025-05-11 in the development universe; a real PEPE month with one
99 % wick written into it).
"""

from __future__ import annotations

import io
import json
import math
import sqlite3
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from actors.market_data.replay import ReplaySource
from actors.market_data.replay_check import ReplayRefused, check_tick, data_facts, prepare
from actors.market_data.replay_report import wide_bars
from actors.research.report import write_sweep
from actors.settings import SettingsError, load_settings
from tests._support.paths import DATA
from tests._support.run import run_bot

D = Decimal
T0 = 1_759_276_800_000  # 2025-10-01
HOUR = 3_600_000
WICK = T0 + (9 * 24 + 21) * HOUR  # 2025-10-10 21:00 UTC, as on the exchange
ATOM = ('symbol = "ATOMUSDT"\n[exchange]\nbase_asset = "ATOM"\nquote_asset = "USDT"\ntick_size = "0.001"\n'
        'step_size = "0.01"\nmin_qty = "0.01"\n[market]\nsource = "replay"\n')
ATOM_KEYS = {"symbol": "ATOMUSDT", "exchange.base_asset": "ATOM", "exchange.quote_asset": "USDT",
             "market.source": "replay", "market.replay_path": "ATOMUSDT-1h-2025-10.csv"}
CATCHER = '''
from decimal import Decimal
from actors.strategy import Bar, Context, Decision, Strategy, buy, hold


class WickCatcher(Strategy):
    """Rests one buy `below` under the bid (0: at the bid) from market time `from_ms` on."""

    def __init__(self, below: float = 0.4, from_ms: int = 0, timeframe: str = "1h") -> None:
        self.timeframe, self.lookback, self.below, self.from_ms = timeframe, 2, below, from_ms

    def on_bar(self, bar: Bar) -> None:
        pass

    def decide(self, ctx: Context) -> Decision:
        if not (ctx.flat and ctx.bar_closed) or ctx.ts_ms < self.from_ms:
            return hold("holding, or not yet")
        return buy(ctx.buy_price(ctx.bid * Decimal(repr(1 - self.below))), "under the market")
'''


def atom_month(path: Path, *, wick_close: str | None = None, after_open: str | None = None) -> Path:
    """744 hourly bars near 4 on a 0.001 tick; the bar of 2025-10-10 21:00 wicks to 0.001 (and closes
    at `wick_close` when given, the next bar opening at `after_open`)."""
    rows = []
    for i in range(744):
        t = T0 + i * HOUR
        o, c = 4 + 0.3 * math.sin(i / 15), 4 + 0.3 * math.sin((i + 1) / 15)
        lo, hi = f"{min(o, c) * 0.998:.3f}", f"{max(o, c) * 1.002:.3f}"
        cells = [f"{o:.3f}", hi, lo, f"{c:.3f}"]
        if t == WICK:
            cells[2] = "0.001"
            if wick_close:
                cells[3] = wick_close
        if t == WICK + HOUR and after_open:
            cells[0] = after_open
            cells[1] = max(cells[1], after_open, key=D)
        rows.append(f"{t},{','.join(cells)},1000.00,{t + HOUR - 1},0,0,0,0,0")
    path.write_text("\n".join(rows) + "\n")
    return path


def replay(tmp_path: Path, data: Path, config: str, *, catcher: str = "") -> tuple[dict[str, Any], str, Path]:
    """Run the bot over `data` with `config` (and the wick catcher, given its params): summary, stdout, journal."""
    if catcher:
        (tmp_path / "catcher.py").write_text(CATCHER)
        config += (f'[strategy]\nname = "catcher.py:WickCatcher"\n[strategy.params]\n{catcher}\n'
                   '[ai]\nprice_band_pct = "0.5"\n')
    cfg = tmp_path / "run.toml"
    cfg.write_text(config)
    proc = run_bot(tmp_path, "--config", str(cfg), "--replay-path", str(data), "--report-dir", "out")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((tmp_path / "out" / "summary.json").read_text()), proc.stdout, tmp_path / "out" / "journal.sqlite3"


def fills(journal: Path) -> list[dict[str, Any]]:
    """The journal's FILLED order updates, in order."""
    with sqlite3.connect(journal) as db:
        rows = db.execute("SELECT payload FROM events WHERE kind = 'UpdateApplied' ORDER BY seq").fetchall()
    return [u for u in (json.loads(r[0]) for r in rows) if u["status"] == "FILLED"]


# -- the tick check -------------------------------------------------------------------------------


def test_the_tick_is_judged_on_the_traded_prices_not_on_one_wick(tmp_path: Path) -> None:
    facts = data_facts(ReplaySource(atom_month(tmp_path / "ATOMUSDT-1h-2025-10.csv")))
    assert facts.low == D("0.001") and facts.typical_low is not None and facts.typical_low > D("3.6")
    s = load_settings(None, {**ATOM_KEYS, "exchange.tick_size": "0.001"})
    check_tick(s, facts)  # 3,700 ticks in the prices it trades at: the wick at 1 tick is not judged
    coarse = load_settings(None, {**ATOM_KEYS, "exchange.tick_size": "0.1"})
    with pytest.raises(ReplayRefused, match=r"exchange.tick_size = 0.1 \(settings\) is too coarse .* only 3\d ticks"):
        check_tick(coarse, facts)  # closes about 40 ticks apart: the case the check exists for


def test_a_file_really_on_a_coarse_grid_is_still_refused_whatever_its_wick(tmp_path: Path) -> None:
    """Every close a few ticks from the next, one bar wicking down to a tick: refused with today's message."""
    rows = []
    for i in range(300):
        p = f"0.0000{20 + i % 3}"
        low = "0.000001" if i == 7 else p
        rows.append(f"{T0 + i * 60_000},{p},{p},{low},{p},1000,{T0 + i * 60_000 + 59_999},0,0,0,0,0")
    data = tmp_path / "PEPEUSDT-1m-2025-10-01.csv"
    data.write_text("\n".join(rows) + "\n")
    s = load_settings(None, {"symbol": "PEPEUSDT", "exchange.base_asset": "PEPE", "exchange.quote_asset": "USDT",
                             "exchange.tick_size": "0.000001", "market.source": "replay",
                             "market.replay_path": str(data)})
    with pytest.raises(ReplayRefused) as refused:
        prepare(s)
    msg = str(refused.value)
    assert "exchange.tick_size = 0.000001 (settings) is too coarse for these prices (from 0.000001 to 0.000022)" in msg
    assert "the lowest is only 20 ticks" in msg  # judged on the closes: the wick's 1 tick is not the reason
    assert msg.endswith('set [exchange] tick_size = "0.00000001"')
    assert "E-" not in msg  # no scientific notation in a message a trader copies from


def test_trade_files_are_judged_on_their_trade_prices_too(tmp_path: Path) -> None:
    """aggTrades: one print at a tick among thousands near 4 replays; prices all a few ticks apart do not."""
    def agg(name: str, price: str, wick_at: int | None) -> Path:
        rows = [f"{i},{'0.001' if i == wick_at else price},1.50,{i},{i},{T0 + i * 1000},true,true" for i in range(500)]
        path = tmp_path / name
        path.write_text("\n".join(rows) + "\n")
        return path

    crash = data_facts(ReplaySource(agg("ATOMUSDT-aggTrades-2025-10-10.csv", "4.123", wick_at=250)))
    assert crash.low == D("0.001") and crash.typical_low == D("4.123")
    check_tick(load_settings(None, {**ATOM_KEYS, "exchange.tick_size": "0.001"}), crash)
    coarse = data_facts(ReplaySource(agg("ATOMUSDT-aggTrades-2025-10-11.csv", "0.050", wick_at=None)))
    with pytest.raises(ReplayRefused, match="the lowest is only 50 ticks"):
        check_tick(load_settings(None, {**ATOM_KEYS, "exchange.tick_size": "0.001"}), coarse)


# -- constructed bars -----------------------------------------------------------------------------


def test_a_month_with_a_99_percent_wick_replays_and_the_report_names_the_bar(tmp_path: Path) -> None:
    data = atom_month(tmp_path / "ATOMUSDT-1h-2025-10.csv")
    summary, out, _ = replay(tmp_path, data, ATOM)  # the default strategy, on the exchange's real tick
    w = summary["data"]["wide_bars"]
    assert (w["share"], w["count"], len(w["listed"])) == ("0.2", 1, 1)
    bar = w["listed"][0]
    assert (bar["open_ms"], bar["open_time"], bar["low"]) == (WICK, "2025-10-10T21:00:00+00:00", "0.001")
    assert D(bar["range"]) > D("0.99")
    assert "wide bars  : 1 with a range (high - low) above 20.0 % of the open" in out
    assert "2025-10-10T21:00:00+00:00  o " in out and " l 0.001 " in out


def test_a_resting_buy_far_below_the_market_fills_on_the_wick_at_its_limit(tmp_path: Path) -> None:
    data = atom_month(tmp_path / "ATOMUSDT-1h-2025-10.csv")
    summary, out, journal = replay(tmp_path, data, ATOM + "[trading]\norder_timeout_s = 2678400\n",
                                   catcher="below = 0.4")
    buy = fills(journal)[0]
    assert buy["side"] == "BUY" and buy["last_price"] == buy["price"]  # at its limit, not at the wick's 0.001
    assert WICK <= buy["ts_ms"] < WICK + HOUR and D(buy["price"]) < D("2.7")
    assert summary["trades"][0]["opened_at_ms"] == buy["ts_ms"]
    assert summary["data"]["wide_bars"]["listed"][0]["fills"] == ["trade 1 entry"]
    assert summary["data"]["wide_bars"]["fills_on_wide_bars"] == 1
    assert "<- trade 1 entry" in out and "WARNING: 1 fill(s) on a bar wider than 20.0 %" in out


@pytest.mark.parametrize("how", ["stop", "halt"])
def test_a_stop_or_a_halt_decided_at_the_crash_close_sells_at_the_next_open(tmp_path: Path, how: str) -> None:
    """The wick bar closes at 2.000 and the next opens at 4.100: the sell decided at that close fills at
    4.100, the next bar's open, as any stop on candles does (the bot saw only the close)."""
    data = atom_month(tmp_path / "ATOMUSDT-1h-2025-10.csv", wick_close="2.000", after_open="4.100")
    limits = ("[trading]\nstop_loss = \"0.05\"\n[risk]\nmax_holding_s = 0\nmax_drawdown = \"0.9\"\n" if how == "stop"
              else "[trading]\nstop_loss = \"0\"\n[risk]\nmax_holding_s = 0\nmax_drawdown = \"0.12\"\n")
    summary, _, journal = replay(tmp_path, data, ATOM + limits, catcher=f"below = 0\nfrom_ms = {WICK - 3 * HOUR}")
    sells = [f for f in fills(journal) if f["side"] == "SELL"]
    assert sells, "the position was never sold"
    sell = sells[0]
    assert sell["ts_ms"] == WICK + 2 * HOUR - 1 and sell["last_price"] == "4.100"  # the next bar, at its open
    trade = summary["trades"][0]
    assert trade["closed_at_ms"] == sell["ts_ms"]
    if how == "stop":
        assert trade["exit_reason"] == "stop_loss" and summary["halted_reason"] is None
    else:
        assert summary["halted_reason"] and "drawdown" in summary["halted_reason"]
    listed = summary["data"]["wide_bars"]["listed"][0]
    assert listed["fills"] == [] and listed["held_through"] == [1]


def test_a_position_held_through_a_wick_that_recovers_is_noted(tmp_path: Path) -> None:
    """Nothing inside a bar is shown: a wick that closes where it opened sells nothing in the backtest,
    and the report says a live stop would have seen its low."""
    data = atom_month(tmp_path / "ATOMUSDT-1h-2025-10.csv")
    summary, out, journal = replay(tmp_path, data, ATOM + '[trading]\nstop_loss = "0"\n[risk]\nmax_holding_s = 0\nmax_drawdown = "0.9"\n',
                                   catcher=f"below = 0\nfrom_ms = {WICK - 3 * HOUR}")
    assert [f["side"] for f in fills(journal)] == ["BUY"]
    assert summary["data"]["wide_bars"]["listed"][0]["held_through"] == [1]
    assert "trade(s) 1 held through it" in out and "NOTE: a position was held through a wide bar" in out


# -- real bars ------------------------------------------------------------------------------------


def real(rel: str) -> Path:
    path = DATA / rel
    if not path.exists():
        pytest.skip(f"{path} is not here (../shared/data beside the checkout)")
    return path


def test_a_real_flash_crash_fills_a_resting_buy_at_its_limit(tmp_path: Path) -> None:
    """COWUSDT, 2025-05-11 07:40 UTC: one 5m bar from 0.3749 down to 0.22 and back to 0.3705."""
    data = real("universe/COWUSDT-5m/COWUSDT-5m-2025-05.zip")
    wick = 1_746_949_200_000
    cfg = ('symbol = "COWUSDT"\n[exchange]\nbase_asset = "COW"\nquote_asset = "USDT"\n[market]\nsource = "replay"\n'
           "[trading]\norder_timeout_s = 21600\n")
    summary, out, journal = replay(tmp_path, data, cfg, catcher="below = 0.35")
    buy = fills(journal)[0]
    assert buy["side"] == "BUY" and buy["last_price"] == buy["price"] and D("0.22") < D(buy["price"]) < D("0.3")
    assert wick <= buy["ts_ms"] < wick + 300_000
    w = summary["data"]["wide_bars"]
    assert w["count"] == 1 and w["listed"][0]["open_ms"] == wick and w["listed"][0]["low"] == "0.22"
    assert w["listed"][0]["fills"] == ["trade 1 entry"]
    assert "2025-05-11T07:40:00+00:00  o 0.3749 h 0.3762 l 0.22 c 0.3705  range 41.7 %  <- trade 1 entry" in out


def test_a_real_month_with_one_99_percent_wick_written_in_replays(tmp_path: Path) -> None:
    """PEPEUSDT 2025-01, its first 3,000 bars, one of them wicking to 1 % of its close: refused before
    issue 29 (19 ticks of 0.00000001 at the lowest print), replayed now, the bar named."""
    src = real("klines/PEPEUSDT-5m/PEPEUSDT-5m-2025-01.csv")
    with src.open() as fh:
        rows = [next(fh).rstrip("\n").split(",") for _ in range(3000)]
    c = rows[100]
    c[3] = f"{D(c[4]) / 100:.8f}"
    data = tmp_path / src.name
    data.write_text("\n".join(",".join(r) for r in rows) + "\n")
    cfg = 'symbol = "PEPEUSDT"\n[exchange]\nbase_asset = "PEPE"\nquote_asset = "USDT"\n[market]\nsource = "replay"\n'
    summary, out, _ = replay(tmp_path, data, cfg)
    assert summary["data"]["grid"]["tick_size"] == {"value": "0.00000001", "source": "inferred from the data"}
    w = summary["data"]["wide_bars"]
    assert w["count"] == 1 and w["listed"][0]["open_ms"] == int(c[0]) and w["listed"][0]["low"] == c[3]
    assert summary["data"]["rows_used"] == 3000


def test_the_universe_holds_real_wicks_above_the_share() -> None:
    """The development universe's wide bars are few and real: the report names them, no more."""
    src = ReplaySource(real("universe/CETUSUSDT-5m/CETUSUSDT-5m-2025-05.zip"))
    for _ in src.chunks():
        pass
    assert src.wide_count == 1 and src.wide_bars[0][0] == 1_747_911_300_000  # 2025-05-22 10:55, the Cetus hack
    loose = ReplaySource(src.path, wide_share=D("0.1"))
    for _ in loose.chunks():
        pass
    assert loose.wide_count > src.wide_count


# -- the pieces -----------------------------------------------------------------------------------


def test_wide_bars_name_the_trades_on_them() -> None:
    market = {"wide_bar_share": "0.2", "wide_bars": 3,
              "wide_bar_list": json.dumps([[100, 199, "4", "4.1", "0.001", "3.9"], [300, 399, "4", "5", "3.9", "4.9"]])}
    trades: list[dict[str, Any]] = [{"index": 1, "opened_at_ms": 50, "closed_at_ms": 150},  # left on the first
              {"index": 2, "opened_at_ms": 160, "closed_at_ms": 500},  # entered on the first, held through the second
              {"index": 3, "opened_at_ms": 600, "closed_at_ms": None}]
    w = wide_bars(market, trades)
    assert w is not None and w["count"] == 3 and len(w["listed"]) == 2  # only the first are kept, all counted
    first, second = w["listed"]
    assert first["fills"] == ["trade 1 exit", "trade 2 entry"] and first["held_through"] == []
    assert second["fills"] == [] and second["held_through"] == [2] and second["range"] == "0.2750"
    assert w["fills_on_wide_bars"] == 2
    assert wide_bars({}, trades) is None  # not a kline replay
    assert wide_bars({"wide_bars": 0, "wide_bar_list": "not json"}, trades) == {
        "share": None, "count": 0, "listed": [], "fills_on_wide_bars": 0}


def test_the_share_is_a_setting_and_must_be_above_zero(tmp_path: Path) -> None:
    assert load_settings(None, {"market.wide_bar_share": "0.5"}).market.wide_bar_share == D("0.5")
    with pytest.raises(SettingsError, match="market.wide_bar_share must be above 0"):
        load_settings(None, {"market.wide_bar_share": "0"})
    data = atom_month(tmp_path / "ATOMUSDT-1h-2025-10.csv")
    src = ReplaySource(data, wide_share=D("2"))  # a 200 % range: the wick of 99.9 % is not wide
    for _ in src.chunks():
        pass
    assert src.wide_count == 0 and src.rows == 744
    with pytest.raises(ValueError, match="wide_share = 0: a share of the price, above 0"):
        ReplaySource(data, wide_share=D(0))


def test_zip_members_count_their_wide_bars_too(tmp_path: Path) -> None:
    csv = atom_month(tmp_path / "ATOMUSDT-1h-2025-10.csv")
    zipped = tmp_path / "ATOMUSDT-1h-2025-10.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.write(csv, csv.name)
    src = ReplaySource(zipped)
    for _ in src.chunks():
        pass
    assert src.wide_count == 1 and src.wide_bars[0][4] == D("0.001")


def test_research_rows_count_the_fills_on_wide_bars(tmp_path: Path) -> None:
    """`backtest` (as a sweep does) keeps each run's wide bars and the fills on them, and warns."""
    data = atom_month(tmp_path / "ATOMUSDT-1h-2025-10.csv")
    (tmp_path / "catcher.py").write_text(CATCHER)
    cfg = tmp_path / "research.toml"
    cfg.write_text('[strategy]\nname = "catcher.py:WickCatcher"\n[strategy.params]\nbelow = 0.4\n'
                   '[ai]\nprice_band_pct = "0.5"\n[trading]\norder_timeout_s = 2678400\n')
    proc = run_bot(tmp_path, "backtest", "--config", str(cfg), "--report-dir", "bt", str(data))
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = json.loads((tmp_path / "bt" / "backtest.json").read_text())["runs"][0]
    assert (run["symbol"], run["wide_bars"], run["wick_fills"], run["trades"]) == ("ATOMUSDT", 1, 1, 1)
    assert "WARNING: 1 fill(s) on bars wider than market.wide_bar_share, in 1 run(s)" in " ".join(proc.stdout.split())


def test_a_sweep_warns_of_runs_that_filled_on_a_wick(tmp_path: Path) -> None:
    rows = [{"label": "a", "set_id": "s1", "wick_fills": 2}, {"label": "b", "set_id": "s1", "wick_fills": 0}]
    out = io.StringIO()
    write_sweep(rows, [], [], {"objective": "excess"}, tmp_path, console=Console(file=out, width=300))
    text = out.getvalue()
    assert "WARNING: 2 fill(s) on bars wider than market.wide_bar_share, in 1 run(s) of 2" in text
    assert "wick_fills" in (tmp_path / "runs.csv").read_text().splitlines()[0]
    out = io.StringIO()
    write_sweep(rows[1:], [], [], {"objective": "excess"}, tmp_path, console=Console(file=out, width=300))
    assert "WARNING" not in out.getvalue()
