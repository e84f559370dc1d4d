"""The dashboard's pure parts and the run chart: history, SVG, formatting, event lines, chart data."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal as D
from pathlib import Path

from actors.messages import EquityPoint, OrderDenied, RiskState, RiskStateChanged, Side, Stats
from actors.report.chart import chart_points, draw_chart, exposure_steps, fee_steps
from actors.status import fmt, svg
from actors.status.dashboard import limits_card, mode_of, render_html
from actors.status.history import History
from actors.status.push import describe
from actors.status.view import View
from tests.status.test_status_page import Rig


def test_mode_banner_words() -> None:
    assert mode_of("binance", "binance") == "LIVE"
    assert mode_of("binance", "replay") == "LIVE"  # real orders, whatever the data: never called a backtest
    assert mode_of("paper", "binance") == "PAPER"
    assert mode_of("paper", "replay") == mode_of("paper", "synthetic") == "BACKTEST"


def test_history_keeps_new_snapshots_once_and_stays_bounded() -> None:
    rig = Rig()
    h = History(max_points=8)
    h.seed([EquityPoint(ts_ms=0, mid=D(40), realized_pnl=D(0), unrealized_pnl=D(0))])
    for seq in range(1, 30):
        rig.tick(seq)
        st = rig.status()
        h.observe(st)
        assert not h.observe(st)  # the same snapshot twice is one sample
    assert 4 <= len(h.samples) <= 8
    ts = [s.ts_ms for s in h.samples]
    assert ts == sorted(ts) and ts[0] == 0  # still spans the whole session, oldest first


def test_svg_chart_escapes_and_draws_levels_markers_and_no_data() -> None:
    empty = svg.chart("c", [svg.Series("mid", [(1, D(1))], "#fff")])
    assert "no data yet" in empty and "<polyline" not in empty
    s = svg.Series("mid <b>", [(1000, D("40")), (2000, D("41")), (3000, D("40.5"))], "#fff")
    out = svg.chart("c", [s], [svg.Line("stop <x>", D("39"), "#f00")],
                    [svg.Marker(2000, D("41"), "buy"), svg.Marker(99_999, D("1"), "sell")])
    assert out.count("<polyline") == 1 and out.count('class="level"') == 1
    assert out.count("marker-buy") == 1 and "marker-sell" not in out  # outside the time span: not drawn
    assert "<x>" not in out and "stop &lt;x&gt;" in out
    assert "mid &lt;b&gt;" in svg.legend([s])


def test_readable_labels_and_times() -> None:
    now = 1_800_000_000_000
    assert fmt.label("stale_since_ms") == "stale since" and fmt.label("resync_gap_ms") == "resync gap (ms)"
    assert fmt.readable("stale_since_ms", now - 12_000, now) == "2027-01-15 07:59:48 UTC (12.0 s ago)"
    assert fmt.readable("next_attempt_ms", 0, now) == "—"
    assert fmt.readable("latency_ms_last", 812, now) == "812 ms"
    assert fmt.readable("stale", False, now) == "no"
    assert fmt.dec(D("1.123456789123")) == "1.12345679" and fmt.dec(D("0.5")) == "0.5"
    assert fmt.signed(D("0.1")) == "+0.1" and fmt.signed(D("-0.1")) == "-0.1"


def test_the_wide_bars_read_as_a_short_line() -> None:
    """The market's JSON list of wick bars (issue 29) shows as times and prices, the first five only."""
    bars = [[1_746_949_200_000 + i * 300_000, 0, "0.3749", "0.3762", "0.22", "0.3705"] for i in range(7)]
    shown = fmt.readable("wide_bar_list", json.dumps(bars), None)
    assert shown.startswith("2025-05-11 07:40 o 0.3749 l 0.22 h 0.3762; 2025-05-11 07:45 ")
    assert shown.count(" o ") == 5 and shown.endswith(", and 2 more (summary.json)")
    assert fmt.readable("wide_bar_list", "[]", None) == "—"
    assert fmt.readable("wide_bar_list", "not json", None) == "not json"


def test_event_lines_and_risk_limit_bars() -> None:
    denied = OrderDenied(side=Side.BUY, price=D(40), quantity=D(1), code="halted", detail="halted by x",
                         proposed_by="model", ts_ms=1_000)
    assert describe(denied) == "00:00:01 denied buy (halted): halted by x"
    assert describe(RiskStateChanged(state=RiskState.HALTED, reason="r", until_ms=None, ts_ms=0)) == "trading HALTED: r"
    assert describe(object()) is None
    rv = Rig().status().risk
    assert rv is not None
    html = limits_card(dataclasses.replace(rv, max_drawdown=D("0.10"), drawdown=D("0.09"), max_consecutive_losses=0))
    assert "9.00% of 10.00%" in html and 'class="neg"' in html  # 90 % of the limit used: red
    assert 'id="limit-streak"><span>losing streak</span><span class="muted">off' in html


def test_a_short_live_run_still_gets_a_chart(tmp_path: Path) -> None:
    one = [EquityPoint(ts_ms=1_000, mid=D(40), realized_pnl=D(0), unrealized_pnl=D(0))]
    summary = {"symbol": "TRUMPUSDC", "market_start_ms": 1_000, "market_end_ms": 31_000, "last_mid": "40.5",
               "realized_pnl": "0.1", "unrealized_pnl": "0.02", "capital": {"amount": "10"},
               "trades": [{"opened_at_ms": 2_000, "closed_at_ms": 20_000, "entry_price": "40", "exit_price": "40.4",
                           "quantity": "0.25", "fees": "0.02"},
                          {"opened_at_ms": 25_000, "closed_at_ms": None, "entry_price": "40.2", "quantity": "0.25",
                           "fees": "0.01"}]}
    pts = chart_points(summary, one)
    assert [p.ts_ms for p in pts] == [1_000, 31_000] and pts[-1].equity == D("0.12")
    assert chart_points({**summary, "market_end_ms": 500}, one) == one  # a curve that already ends later
    assert len(chart_points(summary, [])) == 2  # no sample at all: the start and the end of the run
    assert fee_steps(summary["trades"], 1_000, 31_000) == [(1_000, 0), (20_000, D("0.02")), (25_000, D("0.03")),
                                                            (31_000, D("0.03"))]
    assert exposure_steps(summary["trades"], 1_000, 31_000) == [(1_000, 0), (2_000, D("10.00")), (20_000, 0),
                                                                 (25_000, D("10.050")), (31_000, D("10.050"))]
    path = tmp_path / "equity.png"
    draw_chart(summary, one, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000


def test_the_issue_list_no_raw_ms_one_market_card_banner_first() -> None:
    """Issue 17's complaints: raw millisecond timestamps, two cards titled MARKET, the mode far down."""
    rig = Rig()
    rig.tick(1)
    now = 1_800_000_000_000
    market = Stats(source="market", values=(("mode", "live"), ("stale", True), ("stale_cause", "connect failed"),
                                            ("stale_since_ms", now - 30_000), ("failed_attempts", 3),
                                            ("next_attempt_ms", now + 4_000), ("reconnects", 2),
                                            ("last_data_ms", now - 31_000)))
    page = render_html(View(status=dataclasses.replace(rig.status(), feed_stale=True), stats={"market": market},
                            mode="PAPER", status_mono=0.0), 1.0, now)
    assert page.index('id="banner"') < page.index("<main>") and ">PAPER</span>" in page
    assert not any(str(v) in page for v in (now - 30_000, now + 4_000, now - 31_000))  # every time is readable
    assert "stale since" in page and "(30.0 s ago)" in page and "newest data" in page
    assert page.count("<h2>Market") == 1 and "<h2>Market data" not in page  # the stats sit in diagnostics
    assert "Market feed is stale (connect failed)" in page
