"""The end-of-run report: a JSON summary, an equity chart and a console text.

Pure functions over what the actors answered at the end of a run (the
keeper's `StatusSnapshot` and equity curve, the other actors' `Stats`); no
actor is touched here. Money stays `Decimal` all the way and is written as an
exact fixed-point string (never a float, never `1E-8` notation); ratios are
Decimals rounded half-even to 6 places, also as strings. Times are market
time, as integer milliseconds and as ISO 8601 strings in UTC.

Choices a reader of the numbers should know:

- `capital` is `trading.quote_per_trade`: the bot holds at most one position
  of that size, so that is the quote really at risk; returns and the
  drawdown fraction are over it.
- `total_return` = (realized P&L + unrealized P&L of what is still held at
  the end) / capital. The final unrealized P&L values the position at the
  last bid less its cost, as the keeper does for the equity curve; taken from
  the final snapshot in the status when there is one, else from the last
  equity point.
- `hold_return` = last mid / first mid - 1 over the equity curve: what
  buying at the start and holding to the end would have returned before fees.
- `max_drawdown` is the largest peak-to-trough fall of the equity curve
  (realized + unrealized), in quote, and as a fraction of capital.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from actors.codec import plain
from actors.market_data.replay_report import data_section, format_data
from actors.messages import ZERO, EquityPoint, Order, StatusSnapshot, Trade
from actors.settings import Settings

__all__ = [
    "build_summary",
    "format_report",
    "hold_return",
    "max_drawdown",
    "max_drawdown_span",
    "ms_to_iso",
    "win_rate",
    "write_report",
]

Q6 = Decimal("0.000001")
Q8 = Decimal("1e-8")
SUMMARY_FILE = "summary.json"
CHART_FILE = "equity.png"

# -- small conversions --------------------------------------------------------------


def dec_str(value: Decimal | None) -> str | None:
    """An exact fixed-point string: `Decimal("1E-8")` -> "0.00000001", None stays None."""
    if value is None:
        return None
    return format(value, "f")


def ratio_str(value: Decimal | None) -> str | None:
    return None if value is None else dec_str(value.quantize(Q6, rounding=ROUND_HALF_EVEN))


def ms_to_iso(ms: int | None) -> str | None:
    """Epoch milliseconds to an ISO 8601 string in UTC (millisecond precision)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")


def dt_to_iso(dt: datetime | None) -> str | None:
    """A datetime to ISO 8601 in UTC; a naive datetime is taken to be UTC already."""
    if dt is None:
        return None
    dt = dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
    return dt.isoformat(timespec="milliseconds")


def dt_to_ms(dt: datetime | None) -> int | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return round(dt.timestamp() * 1000)


def to_jsonable(obj: Any) -> Any:
    """Stats values and friends to JSON-ready values: Decimals as exact fixed-point strings."""
    if hasattr(obj, "as_dict") and not isinstance(obj, Mapping):  # a `Stats` passed where its dict was expected
        obj = obj.as_dict()
    return plain(obj)


def _dec(value: Any) -> Decimal | None:
    """A Decimal from a Decimal or a string written by `dec_str` (None if absent or bad)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


# -- the measures ----------------------------------------------------------------------


def max_drawdown_span(values: Iterable[Decimal]) -> tuple[Decimal, int | None, int | None]:
    """The largest peak-to-trough fall of `values`, and the indexes of that peak and trough.

    0 (and no indexes) when the series never falls, is empty or has one value.
    """
    best = ZERO
    best_peak: int | None = None
    best_trough: int | None = None
    peak: Decimal | None = None
    peak_i = 0
    for i, v in enumerate(values):
        if peak is None or v > peak:
            peak, peak_i = v, i
            continue
        fall = peak - v
        if fall > best:
            best, best_peak, best_trough = fall, peak_i, i
    return best, best_peak, best_trough


def max_drawdown(values: Iterable[Decimal]) -> Decimal:
    """The largest peak-to-trough fall of `values` (>= 0): 0, 5, 2, 7, 1 -> 6."""
    return max_drawdown_span(values)[0]


def hold_return(equity: Sequence[EquityPoint]) -> Decimal | None:
    """Buy-and-hold over the curve's span: last mid / first mid - 1 (None if it cannot be said)."""
    if not equity or not equity[0].mid:
        return None
    return equity[-1].mid / equity[0].mid - 1


def win_rate(trades: Iterable[Trade]) -> Decimal | None:
    """Closed trades with a positive P&L over closed trades; None when nothing closed."""
    closed = [t for t in trades if t.status == "CLOSED"]
    if not closed:
        return None
    wins = sum(1 for t in closed if (t.profit_loss or ZERO) > 0)
    return Decimal(wins) / Decimal(len(closed))


def _final_unrealized(status: StatusSnapshot, equity: Sequence[EquityPoint]) -> tuple[Decimal, str]:
    """(unrealized P&L at the end, where it came from)."""
    pos = status.position
    snap = status.last_snapshot
    if not pos.quantity:
        return ZERO, "flat"
    if snap is not None and snap.bid > 0:
        return (pos.quantity * snap.bid - pos.cost_quote).quantize(Q8, rounding=ROUND_HALF_EVEN), "last_bid"
    if equity:
        return equity[-1].unrealized_pnl.quantize(Q8, rounding=ROUND_HALF_EVEN), "equity_curve"
    return ZERO, "unknown"


# -- the summary -------------------------------------------------------------------------


def _order_ids(t: Trade) -> list[str]:
    ids = [t.buy_order.id] if t.buy_order.id else []
    sells = t.sell_orders or ((t.sell_order,) if t.sell_order is not None else ())
    ids.extend(o.id for o in sells if o.id and o.id not in ids)
    return ids


def _trade_dict(index: int, t: Trade) -> dict[str, Any]:
    sells = t.sell_orders or ((t.sell_order,) if t.sell_order is not None else ())
    sold = sum((o.filled_qty for o in sells), ZERO)
    return {
        "index": index,
        "status": t.status,
        "entry_price": dec_str(t.entry_price if t.entry_price is not None else t.buy_order.avg_price),
        "exit_price": dec_str(t.exit_price),
        "quantity": dec_str(t.quantity),
        "sold_quantity": dec_str(sold),
        "fees": dec_str(t.fees_quote),
        "fee_estimated": bool(t.fee_estimated),
        "pnl": dec_str(t.profit_loss) if t.status == "CLOSED" else None,
        "client_order_ids": _order_ids(t),
        "opened_at": dt_to_iso(t.timestamp),
        "closed_at": dt_to_iso(t.closed_at),
        "opened_at_ms": dt_to_ms(t.timestamp),
        "closed_at_ms": dt_to_ms(t.closed_at),
    }


def _order_dict(o: Order | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {
        "client_order_id": o.id,
        "side": o.side,
        "price": dec_str(o.price),
        "quantity": dec_str(o.quantity),
        "filled_qty": dec_str(o.filled_qty),
        "status": o.status,
        "placed_at": dt_to_iso(o.timestamp),
    }


def _ai_dict(ai: Mapping[str, Any] | None) -> dict[str, Any]:
    if ai is not None and hasattr(ai, "as_dict"):
        ai = ai.as_dict()  # type: ignore[union-attr]
    out = {"calls": 0, "cache_hits": 0, "fallbacks": 0, "cost": "0"}
    out.update(to_jsonable(dict(ai or {})))
    for key in ("calls", "cache_hits", "fallbacks"):
        if out[key] is None:
            out[key] = 0
    if out["cost"] is None:
        out["cost"] = "0"
    out["available"] = ai is not None
    return out


def build_summary(
    status: StatusSnapshot,
    equity: Sequence[EquityPoint],
    ai: dict | None,
    market: dict | None,
    executor: dict | None,
    settings: Settings,
    wall_s: float,
    mode: str,
) -> dict[str, Any]:
    """Everything the run's report says, as a JSON-ready dict (money as exact strings).

    `realized_pnl` is the keeper's own figure, never recomputed here; `reconciled`
    says whether it equals the sum of `pnl` over the CLOSED trades listed (it can
    only differ if the status was asked for with a bound on `recent_trades`).
    """
    capital = settings.trading.quote_per_trade
    equity = tuple(equity)
    trades = status.trades
    closed = [t for t in trades if t.status == "CLOSED"]
    closed_sum = sum((t.profit_loss or ZERO for t in closed), ZERO)
    wins = sum(1 for t in closed if (t.profit_loss or ZERO) > 0)
    losses = sum(1 for t in closed if (t.profit_loss or ZERO) < 0)

    unrealized, unrealized_source = _final_unrealized(status, equity)
    total_pnl = status.realized_pnl + unrealized
    dd, peak_i, trough_i = max_drawdown_span(p.equity for p in equity)
    hold = hold_return(equity)
    wr = win_rate(trades)

    times = [p.ts_ms for p in equity]
    if status.last_snapshot is not None:
        times.append(status.last_snapshot.ts_snapshot_ms)
    for t in trades:
        times.extend(ms for ms in (dt_to_ms(t.timestamp), dt_to_ms(t.closed_at)) if ms)
    start_ms = min(times) if times else None
    end_ms = max(times) if times else None

    pos = status.position
    last = status.last_snapshot
    return {
        "symbol": status.symbol,
        "base_asset": settings.exchange.base_asset,
        "quote_asset": settings.exchange.quote_asset,
        "mode": mode,
        "market_start_ms": start_ms,
        "market_end_ms": end_ms,
        "market_start": ms_to_iso(start_ms),
        "market_end": ms_to_iso(end_ms),
        "market_span_s": (end_ms - start_ms) / 1000 if start_ms is not None and end_ms is not None else None,
        "wall_time_s": round(float(wall_s), 3),
        "state": status.state.value,
        "halted_reason": status.halted_reason,
        "stopped_reason": getattr(status, "stopped_reason", None),
        "feed_stale": status.feed_stale,
        "position": {
            "qty": dec_str(pos.quantity),
            "entry": dec_str(pos.entry_price),
            "dust": dec_str(pos.dust),
            "cost": dec_str(pos.cost_quote),
        },
        "open_order": _order_dict(status.active_order),
        "last_bid": dec_str(last.bid) if last is not None else None,
        "last_ask": dec_str(last.ask) if last is not None else None,
        "last_mid": dec_str(last.mid) if last is not None else (dec_str(equity[-1].mid) if equity else None),
        "trades": [_trade_dict(i, t) for i, t in enumerate(trades, start=1)],
        "trade_count": len(trades),
        "closed_trades": len(closed),
        "open_trades": sum(1 for t in trades if t.status == "OPEN"),
        "dust_trades": sum(1 for t in trades if t.status == "DUST"),
        "wins": wins,
        "losses": losses,
        "win_rate": ratio_str(wr),
        "realized_pnl": dec_str(status.realized_pnl),
        "closed_trades_pnl": dec_str(closed_sum),
        "reconciled": closed_sum == status.realized_pnl,
        "fees_paid": dec_str(status.fees_paid),
        "unrealized_pnl": dec_str(unrealized),
        "unrealized_source": unrealized_source,
        "total_pnl": dec_str(total_pnl),
        "capital": {
            "amount": dec_str(capital),
            "basis": "trading.quote_per_trade: one position of this size at a time is the quote at risk",
        },
        "total_return": ratio_str(total_pnl / capital),
        "hold_return": ratio_str(hold),
        "max_drawdown": {
            "quote": dec_str(dd),
            "fraction": ratio_str(dd / capital),
            "peak_ms": equity[peak_i].ts_ms if peak_i is not None else None,
            "trough_ms": equity[trough_i].ts_ms if trough_i is not None else None,
        },
        "equity_points": len(equity),
        "data": data_section(settings, market),  # fill model, grid, data read and dropped (replay_report)
        "ai": _ai_dict(ai),
        "market": to_jsonable(dict(market)) if market is not None else None,
        "executor": to_jsonable(dict(executor)) if executor is not None else None,
        "counters": {str(k): v for k, v in status.counters},
        "settings": {
            "exchange": settings.exchange.kind,
            "market_source": settings.market.source,
            "ai_model": settings.ai.model,
            "quote_per_trade": dec_str(settings.trading.quote_per_trade),
            "fee_rate": dec_str(settings.trading.fee_rate),
            "min_profit": dec_str(settings.trading.min_profit),
            "stop_loss": dec_str(settings.trading.stop_loss),
        },
    }


# -- files ------------------------------------------------------------------------------------


def write_report(summary: dict, equity: Sequence[EquityPoint], report_dir: Path) -> tuple[Path, Path]:
    """Write `summary.json` and `equity.png` into `report_dir` (created); return both paths."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    summary_path = report_dir / SUMMARY_FILE
    tmp = summary_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(to_jsonable(summary), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(summary_path)
    chart_path = report_dir / CHART_FILE
    _draw_chart(summary, tuple(equity), chart_path)
    return summary_path, chart_path


def _draw_chart(summary: Mapping[str, Any], equity: Sequence[EquityPoint], path: Path) -> None:
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
        f"{symbol} ({summary.get('mode', '?')}) - realized P&L {_fmt_money(summary.get('realized_pnl'))} {quote}, "
        f"total return {_fmt_pct(summary.get('total_return'))} vs hold {_fmt_pct(summary.get('hold_return'))}"
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
    ts = [datetime.fromtimestamp(p.ts_ms / 1000, tz=timezone.utc) for p in equity]
    eq = [float(p.equity) for p in equity]
    realized = [float(p.realized_pnl) for p in equity]
    mids = [float(p.mid) for p in equity]

    ax_eq.plot(ts, eq, color="tab:blue", linewidth=1.2, label="equity (realized + unrealized)")
    ax_eq.plot(ts, realized, color="tab:green", linewidth=1, linestyle="--", label="realized")
    ax_eq.axhline(0, color="grey", linewidth=0.6)
    dd = summary.get("max_drawdown") or {}
    if dd.get("peak_ms") is not None and dd.get("trough_ms") is not None:
        ax_eq.axvspan(_utc(dd["peak_ms"]), _utc(dd["trough_ms"]), color="tab:red", alpha=0.12,
                      label=f"max drawdown {_fmt_money(dd.get('quote'))} {quote}")
    ax_eq.set_ylabel(f"P&L ({quote})" if quote else "P&L")
    ax_eq.grid(True, alpha=0.3)
    ax_eq.legend(loc="upper left", fontsize=8)

    ax_px.plot(ts, mids, color="tab:grey", linewidth=1, label="mid")
    buys_t, buys_p, sells_t, sells_p = [], [], [], []
    for t in summary.get("trades") or ():
        entry, exit_ = _dec(t.get("entry_price")), _dec(t.get("exit_price"))
        if t.get("opened_at_ms") is not None and entry is not None:
            buys_t.append(_utc(t["opened_at_ms"]))
            buys_p.append(float(entry))
        if t.get("closed_at_ms") is not None and exit_ is not None:
            sells_t.append(_utc(t["closed_at_ms"]))
            sells_p.append(float(exit_))
    if buys_t:
        ax_px.scatter(buys_t, buys_p, marker="^", color="tab:green", s=24, zorder=3, label="buy")
    if sells_t:
        ax_px.scatter(sells_t, sells_p, marker="v", color="tab:red", s=24, zorder=3, label="sell")
    ax_px.set_ylabel(f"mid ({quote})" if quote else "mid")
    ax_px.set_xlabel("market time (UTC)")
    ax_px.grid(True, alpha=0.3)
    ax_px.legend(loc="upper left", fontsize=8)
    locator = mdates.AutoDateLocator(tz=timezone.utc)
    ax_px.xaxis.set_major_locator(locator)
    ax_px.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=timezone.utc))
    fig.tight_layout()
    fig.savefig(path, format="png")


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


# -- the console text -------------------------------------------------------------------------


def _fmt_money(value: Any, places: int = 8) -> str:
    d = _dec(value)
    if d is None:
        return "-"
    return format(d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN), "f")


def _fmt_pct(value: Any, signed: bool = True) -> str:
    d = _dec(value)
    if d is None:
        return "n/a"
    return f"{format((d * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN), '+f' if signed else 'f')}%"


def _fmt_num(value: Any, min_places: int = 0) -> str:
    """Exact, without trailing zeros beyond `min_places` decimals: 10.00000000 -> 10.00 (min 2)."""
    d = _dec(value)
    if d is None:
        return "-"
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    places = len(s.partition(".")[2])
    if places < min_places:
        s = (s if "." in s else s + ".") + "0" * (min_places - places)
    return s


def _fmt_span(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(round(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def _table(rows: list[list[str]], header: list[str], right: set[int]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))

    return [line(r).rstrip() for r in [header, ["-" * w for w in widths], *rows]]


def format_report(summary: dict, max_trades: int = 30, edge: int = 10) -> str:
    """The report as text for the console; beyond `max_trades` trades, the first and last `edge`."""
    quote = summary.get("quote_asset") or ""
    out: list[str] = []
    bar = "=" * 78
    out += [bar, f"  Run report: {summary.get('symbol')}  mode={summary.get('mode')}", bar]
    out.append(f"  market time : {summary.get('market_start') or '-'}  ->  {summary.get('market_end') or '-'}"
               f"  ({_fmt_span(summary.get('market_span_s'))})")
    out.append(f"  wall time   : {summary.get('wall_time_s', 0):.1f} s")
    out.append("")

    trades = summary.get("trades") or []
    out.append(f"Trades ({len(trades)}: {summary.get('closed_trades', 0)} closed, {summary.get('open_trades', 0)} open, "
               f"{summary.get('dust_trades', 0)} dust)")
    if trades:
        shown: list[dict | None]
        if len(trades) > max_trades:
            shown = [*trades[:edge], None, *trades[-edge:]]
        else:
            shown = list(trades)
        rows: list[list[str]] = []
        for t in shown:
            if t is None:
                rows.append(["...", f"{len(trades) - 2 * edge} trades skipped", "", "", "", "", "", ""])
                continue
            rows.append([
                str(t.get("index", "")),
                (t.get("opened_at") or "-")[:19].replace("T", " "),
                _fmt_num(t.get("entry_price"), 2),
                _fmt_num(t.get("exit_price"), 2),
                _fmt_num(t.get("quantity")),
                _fmt_money(t.get("fees")) + ("*" if t.get("fee_estimated") else ""),
                _fmt_money(t.get("pnl")),
                str(t.get("status", "")),
            ])
        out += ["  " + ln for ln in _table(rows, ["#", "opened (UTC)", "entry", "exit", "qty", "fees", "net P&L", "status"],
                                          right={0, 2, 3, 4, 5, 6})]
        if any(t.get("fee_estimated") for t in trades):
            out.append("  * fee estimated at the configured rate (not reported, or charged in another asset)")
    else:
        out.append("  (no trades)")
    out.append("")

    dd = summary.get("max_drawdown") or {}
    cap = summary.get("capital") or {}
    out.append("Totals")
    out.append(f"  realized P&L   : {_fmt_money(summary.get('realized_pnl'))} {quote}")
    out.append(f"  unrealized P&L : {_fmt_money(summary.get('unrealized_pnl'))} {quote}")
    out.append(f"  fees paid      : {_fmt_money(summary.get('fees_paid'))} {quote}")
    wr = summary.get("win_rate")
    out.append(f"  win rate       : {_fmt_pct(wr, signed=False) if wr is not None else 'n/a'}"
               f"  ({summary.get('wins', 0)} won, {summary.get('losses', 0)} lost of {summary.get('closed_trades', 0)} closed)")
    out.append(f"  total return   : {_fmt_pct(summary.get('total_return'))} on {_fmt_num(cap.get('amount'))} {quote}"
               f" capital  vs  hold {_fmt_pct(summary.get('hold_return'))}")
    out.append(f"  max drawdown   : {_fmt_money(dd.get('quote'))} {quote} ({_fmt_pct(dd.get('fraction'), signed=False)} of capital)")
    if summary.get("reconciled") is False:
        out.append(f"  WARNING: realized P&L differs from the sum over the closed trades listed "
                   f"({_fmt_money(summary.get('closed_trades_pnl'))}); the trade list may be partial")
    out.append("")

    out += format_data(summary)
    ai = summary.get("ai") or {}
    out.append("AI consultant")
    out.append(f"  calls {ai.get('calls', 0)}, cache hits {ai.get('cache_hits', 0)}, fallbacks {ai.get('fallbacks', 0)}, "
               f"cost {_fmt_num(ai.get('cost'))}" + (f", model {ai['model']}" if ai.get("model") else "")
               + ("" if ai.get("available", True) else " (no stats: the consultant did not answer)"))
    out.append("")

    pos = summary.get("position") or {}
    out.append("Final state")
    out.append(f"  state    : {summary.get('state')}")
    out.append(f"  position : {_fmt_num(pos.get('qty'))} {summary.get('base_asset') or ''} at entry {_fmt_num(pos.get('entry'), 2)}"
               f" (dust {_fmt_num(pos.get('dust'))})")
    order = summary.get("open_order")
    if order:
        out.append(f"  open order: {order.get('side')} {_fmt_num(order.get('quantity'))} @ {_fmt_num(order.get('price'), 2)}"
                   f" [{order.get('status')}] {order.get('client_order_id')}")
    if summary.get("stopped_reason"):
        out.append(f"  stopped  : {summary['stopped_reason']}")
    if summary.get("halted_reason"):
        out.append(f"  HALTED   : {summary['halted_reason']}")
    out.append(bar)
    return "\n".join(out)
