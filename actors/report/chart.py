"""The run chart (equity.png): P&L against buy-and-hold and fees, the price with trades, the exposure.

Three panels over market time, the same for a backtest and a live run:
equity (realised + unrealised), realised, buy-and-hold of the capital and
the cumulative fees; the mid with buy and sell markers; the quote held in
the position. Legends sit outside the plots, so they never hide a trade. A
short live run, whose equity curve (sampled once a market minute) has fewer
than two points, still gets a chart: the run's end, from the summary, is
added as a last point.

matplotlib is imported only inside `draw_chart`, so a run, a test or a
journal report that draws no chart never pays for importing it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

from actors.messages import ZERO, EquityPoint
from actors.report.convert import as_decimal, ms_to_iso, ms_to_utc
from actors.report.text import fmt_money, fmt_pct


def chart_points(summary: Mapping[str, Any], equity: Sequence[EquityPoint]) -> list[EquityPoint]:
    """The curve, ended at the run's last moment from the summary when it is later than the last sample."""
    points = list(equity)
    end_ms, mid = summary.get("market_end_ms"), as_decimal(summary.get("last_mid"))
    realized = as_decimal(summary.get("realized_pnl"))
    if end_ms is None or mid is None or realized is None:
        return points
    if points and end_ms <= points[-1].ts_ms:
        return points
    unrealized = as_decimal(summary.get("unrealized_pnl")) or ZERO
    start_ms = summary.get("market_start_ms")
    if not points and start_ms is not None and start_ms < end_ms:
        points.append(EquityPoint(ts_ms=start_ms, mid=mid, realized_pnl=ZERO, unrealized_pnl=ZERO))
    points.append(EquityPoint(ts_ms=end_ms, mid=mid, realized_pnl=realized, unrealized_pnl=unrealized))
    return points


def fee_steps(trades: Sequence[Mapping[str, Any]], start_ms: int, end_ms: int) -> list[tuple[int, Decimal]]:
    """Cumulative fees over time: each trade's fees counted when it closed (or opened, while open)."""
    events = []
    for t in trades:
        ms = t.get("closed_at_ms") or t.get("opened_at_ms")
        fee = as_decimal(t.get("fees"))
        if ms is not None and fee:
            events.append((int(ms), fee))
    out, total = [(start_ms, ZERO)], ZERO
    for ms, fee in sorted(events):
        total += fee
        out.append((max(ms, start_ms), total))
    out.append((max(end_ms, out[-1][0]), total))
    return out


def exposure_steps(trades: Sequence[Mapping[str, Any]], start_ms: int, end_ms: int) -> list[tuple[int, Decimal]]:
    """Quote held over time: quantity x entry price from each trade's opening to its close."""
    deltas: list[tuple[int, Decimal]] = []
    for t in trades:
        qty, entry = as_decimal(t.get("quantity")), as_decimal(t.get("entry_price"))
        opened = t.get("opened_at_ms")
        if qty is None or entry is None or opened is None:
            continue
        deltas.append((int(opened), qty * entry))
        if t.get("closed_at_ms") is not None:
            deltas.append((int(t["closed_at_ms"]), -qty * entry))
    out, held = [(start_ms, ZERO)], ZERO
    for ms, d in sorted(deltas):
        held = max(ZERO, held + d)
        out.append((max(ms, start_ms), held))
    out.append((max(end_ms, out[-1][0]), held))
    return out


def draw_chart(summary: Mapping[str, Any], equity: Sequence[EquityPoint], path: Path) -> None:
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # before pyplot could ever be imported; this process draws no windows
    # The object API with its own Agg canvas: no pyplot global figure registry, so
    # nothing leaks and it is safe from any thread.
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    symbol = summary.get("symbol", "?")
    quote = summary.get("quote_asset") or ""
    fig = Figure(figsize=(12, 8), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(
        f"{symbol} ({summary.get('mode', '?')}) - realized P&L {fmt_money(summary.get('realized_pnl'))} {quote}, "
        f"total return {fmt_pct(summary.get('total_return'))} vs hold {fmt_pct(summary.get('hold_return'))}",
        fontsize=11)

    points = chart_points(summary, equity)
    if len(points) < 2:
        ax = fig.add_subplot(1, 1, 1)
        ax.set_axis_off()
        msg = "no data" if not points else f"no data to chart (one point at {ms_to_iso(points[0].ts_ms)})"
        ax.text(0.5, 0.5, msg, ha="center", va="center", fontsize=18, color="grey", transform=ax.transAxes)
        fig.savefig(path, format="png")
        return

    ax_eq, ax_px, ax_ex = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2, 1]})
    ts = [ms_to_utc(p.ts_ms) for p in points]
    trades = summary.get("trades") or ()
    start_ms, end_ms = points[0].ts_ms, points[-1].ts_ms
    capital = as_decimal((summary.get("capital") or {}).get("amount")) or ZERO
    first_mid = points[0].mid

    ax_eq.plot(ts, [float(p.equity) for p in points], color="tab:blue", linewidth=1.3,
               label="equity (realized + unrealized)")
    ax_eq.plot(ts, [float(p.realized_pnl) for p in points], color="tab:green", linewidth=1, linestyle="--",
               label="realized")
    if capital and first_mid:
        ax_eq.plot(ts, [float(capital * (p.mid / first_mid - 1)) for p in points], color="tab:orange", linewidth=1,
                   label=f"buy and hold {fmt_money(str(capital))} {quote}")
    fees = fee_steps(trades, start_ms, end_ms)
    ax_eq.step([ms_to_utc(m) for m, _ in fees], [float(-f) for _, f in fees], where="post", color="tab:red",
               linewidth=1, label="cumulative fees (negative)")
    ax_eq.axhline(0, color="grey", linewidth=0.6)
    dd = summary.get("max_drawdown") or {}
    if dd.get("peak_ms") is not None and dd.get("trough_ms") is not None:
        ax_eq.axvspan(ms_to_utc(dd["peak_ms"]), ms_to_utc(dd["trough_ms"]), color="tab:red", alpha=0.12,
                      label=f"max drawdown {fmt_money(dd.get('quote'))} {quote}")
    ax_eq.set_ylabel(f"P&L ({quote})" if quote else "P&L")

    ax_px.plot(ts, [float(p.mid) for p in points], color="tab:grey", linewidth=1, label="mid")
    buys_t, buys_p, sells_t, sells_p = [], [], [], []
    for t in trades:
        entry, exit_ = as_decimal(t.get("entry_price")), as_decimal(t.get("exit_price"))
        if t.get("opened_at_ms") is not None and entry is not None:
            buys_t.append(ms_to_utc(t["opened_at_ms"]))
            buys_p.append(float(entry))
        if t.get("closed_at_ms") is not None and exit_ is not None:
            sells_t.append(ms_to_utc(t["closed_at_ms"]))
            sells_p.append(float(exit_))
    if buys_t:
        ax_px.scatter(buys_t, buys_p, marker="^", color="tab:green", s=28, zorder=3, label="buy")
    if sells_t:
        ax_px.scatter(sells_t, sells_p, marker="v", color="tab:red", s=28, zorder=3, label="sell")
    ax_px.set_ylabel(f"mid ({quote})" if quote else "mid")

    held = exposure_steps(trades, start_ms, end_ms)
    ax_ex.fill_between([ms_to_utc(m) for m, _ in held], [float(h) for _, h in held], step="post", color="tab:purple",
                       alpha=0.35, label="exposure (quote held at cost)")
    ax_ex.set_ylabel(quote or "quote")
    ax_ex.set_xlabel("market time (UTC)")
    for ax in (ax_eq, ax_px, ax_ex):
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8, frameon=False)
    ax_ex.set_xlim(ts[0], ts[-1])
    locator = mdates.AutoDateLocator(tz=UTC)
    ax_ex.xaxis.set_major_locator(locator)
    ax_ex.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
    fig.savefig(path, format="png")


