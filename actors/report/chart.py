"""The equity chart (equity.png): equity and realized P&L above, the mid with buys and sells below.

matplotlib is imported only inside `draw_chart`, so a run, a test or a
journal report that draws no chart never pays for importing it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actors.messages import EquityPoint
from actors.report.convert import as_decimal, ms_to_iso, ms_to_utc
from actors.report.text import fmt_money, fmt_pct


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
    fig = Figure(figsize=(11, 6.5), dpi=100)
    FigureCanvasAgg(fig)
    title = (
        f"{symbol} ({summary.get('mode', '?')}) - realized P&L {fmt_money(summary.get('realized_pnl'))} {quote}, "
        f"total return {fmt_pct(summary.get('total_return'))} vs hold {fmt_pct(summary.get('hold_return'))}"
    )
    fig.suptitle(title, fontsize=11)

    if len(equity) < 2:
        ax = fig.add_subplot(1, 1, 1)
        ax.set_axis_off()
        msg = "no data" if not equity else f"no data to chart (one point at {ms_to_iso(equity[0].ts_ms)})"
        ax.text(0.5, 0.5, msg, ha="center", va="center", fontsize=18, color="grey", transform=ax.transAxes)
        fig.savefig(path, format="png")
        return

    ax_eq, ax_px = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    ts = [datetime.fromtimestamp(p.ts_ms / 1000, tz=UTC) for p in equity]
    eq = [float(p.equity) for p in equity]
    realized = [float(p.realized_pnl) for p in equity]
    mids = [float(p.mid) for p in equity]

    ax_eq.plot(ts, eq, color="tab:blue", linewidth=1.2, label="equity (realized + unrealized)")
    ax_eq.plot(ts, realized, color="tab:green", linewidth=1, linestyle="--", label="realized")
    ax_eq.axhline(0, color="grey", linewidth=0.6)
    dd = summary.get("max_drawdown") or {}
    if dd.get("peak_ms") is not None and dd.get("trough_ms") is not None:
        ax_eq.axvspan(ms_to_utc(dd["peak_ms"]), ms_to_utc(dd["trough_ms"]), color="tab:red", alpha=0.12,
                      label=f"max drawdown {fmt_money(dd.get('quote'))} {quote}")
    ax_eq.set_ylabel(f"P&L ({quote})" if quote else "P&L")
    ax_eq.grid(True, alpha=0.3)
    ax_eq.legend(loc="upper left", fontsize=8)

    ax_px.plot(ts, mids, color="tab:grey", linewidth=1, label="mid")
    buys_t, buys_p, sells_t, sells_p = [], [], [], []
    for t in summary.get("trades") or ():
        entry, exit_ = as_decimal(t.get("entry_price")), as_decimal(t.get("exit_price"))
        if t.get("opened_at_ms") is not None and entry is not None:
            buys_t.append(ms_to_utc(t["opened_at_ms"]))
            buys_p.append(float(entry))
        if t.get("closed_at_ms") is not None and exit_ is not None:
            sells_t.append(ms_to_utc(t["closed_at_ms"]))
            sells_p.append(float(exit_))
    if buys_t:
        ax_px.scatter(buys_t, buys_p, marker="^", color="tab:green", s=24, zorder=3, label="buy")
    if sells_t:
        ax_px.scatter(sells_t, sells_p, marker="v", color="tab:red", s=24, zorder=3, label="sell")
    ax_px.set_ylabel(f"mid ({quote})" if quote else "mid")
    ax_px.set_xlabel("market time (UTC)")
    ax_px.grid(True, alpha=0.3)
    ax_px.legend(loc="upper left", fontsize=8)
    locator = mdates.AutoDateLocator(tz=UTC)
    ax_px.xaxis.set_major_locator(locator)
    ax_px.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
    fig.tight_layout()
    fig.savefig(path, format="png")
