"""The report as text for the console, from the summary dict (so a journal can be reported too)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from actors.market_data.replay_report import format_data
from actors.report.attribution import attribution_lines
from actors.report.convert import as_decimal
from actors.report.risk import risk_lines


def fmt_money(value: Any, places: int = 8) -> str:
    d = as_decimal(value)
    if d is None:
        return "-"
    return format(d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN), "f")


def fmt_pct(value: Any, signed: bool = True) -> str:
    d = as_decimal(value)
    if d is None:
        return "n/a"
    return f"{format((d * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN), '+f' if signed else 'f')}%"


def fmt_num(value: Any, min_places: int = 0) -> str:
    """Exact, without trailing zeros beyond `min_places` decimals: 10.00000000 -> 10.00 (min 2)."""
    d = as_decimal(value)
    if d is None:
        return "-"
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    places = len(s.partition(".")[2])
    if places < min_places:
        s = (s if "." in s else s + ".") + "0" * (min_places - places)
    return s


def fmt_span(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = round(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d}d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def _table(rows: list[list[str]], header: list[str], right: set[int]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=False)))

    return [line(r).rstrip() for r in [header, ["-" * w for w in widths], *rows]]


def format_report(summary: Mapping[str, Any], max_trades: int = 30, edge: int = 10) -> str:
    """The report as text for the console; beyond `max_trades` trades, the first and last `edge`."""
    quote = summary.get("quote_asset") or ""
    out: list[str] = []
    bar = "=" * 78
    out += [bar, f"  Run report: {summary.get('symbol')}  mode={summary.get('mode')}", bar]
    out.append(f"  market time : {summary.get('market_start') or '-'}  ->  {summary.get('market_end') or '-'}"
               f"  ({fmt_span(summary.get('market_span_s'))})")
    out.append(f"  wall time   : {summary.get('wall_time_s', 0):.1f} s")
    out.append("")

    trades = summary.get("trades") or []
    out.append(f"Trades ({len(trades)}: {summary.get('closed_trades', 0)} closed, {summary.get('open_trades', 0)} open, "
               f"{summary.get('dust_trades', 0)} dust)")
    if trades:
        shown: list[Mapping[str, Any] | None]
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
                fmt_num(t.get("entry_price"), 2),
                fmt_num(t.get("exit_price"), 2),
                fmt_num(t.get("quantity")),
                fmt_money(t.get("fees")) + ("*" if t.get("fee_estimated") else ""),
                fmt_money(t.get("pnl")),
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
    out.append(f"  realized P&L   : {fmt_money(summary.get('realized_pnl'))} {quote}")
    out.append(f"  unrealized P&L : {fmt_money(summary.get('unrealized_pnl'))} {quote}")
    out.append(f"  fees paid      : {fmt_money(summary.get('fees_paid'))} {quote}")
    rates = summary.get("fee_rates")
    if rates:
        bnb = f", BNB discount {rates['bnb_discount']}" if rates.get("bnb_discount") not in (None, "0") else ""
        out.append(f"  fee rates      : maker {rates['maker']}, taker {rates['taker']}{bnb} ({rates['source']})")
    wr = summary.get("win_rate")
    out.append(f"  win rate       : {fmt_pct(wr, signed=False) if wr is not None else 'n/a'}"
               f"  ({summary.get('wins', 0)} won, {summary.get('losses', 0)} lost of {summary.get('closed_trades', 0)} closed)")
    out.append(f"  total return   : {fmt_pct(summary.get('total_return'))} on {fmt_num(cap.get('amount'))} {quote}"
               f" capital  vs  hold {fmt_pct(summary.get('hold_return'))}")
    out.append(f"  max drawdown   : {fmt_money(dd.get('quote'))} {quote} ({fmt_pct(dd.get('fraction'), signed=False)} of capital)")
    if summary.get("reconciled") is False:
        out.append(f"  WARNING: realized P&L differs from the sum over the closed trades listed "
                   f"({fmt_money(summary.get('closed_trades_pnl'))}); the trade list may be partial")
    out.append("")

    out += format_data(summary)
    out += risk_lines(summary)
    ai = summary.get("ai") or {}
    out.append("Advice")
    strategy = ai.get("strategy") or "strategy"
    out.append(f"  advice {ai.get('calls', 0)}: {strategy} {ai.get('strategy_answers', 0)}, model "
               f"{ai.get('model_answers', 0)}, cache hits {ai.get('cache_hits', 0)}, fallbacks (the model failed) "
               f"{ai.get('fallbacks', 0)}; model calls {ai.get('model_calls', 0)}, cost {fmt_num(ai.get('cost'))}"
               + (f", model {ai['model']}" if ai.get("model") and ai.get("model_calls") else "")
               + (f", ai.role {ai['role']}" if ai.get("role") else "")
               + ("" if ai.get("available", True) else " (no stats: the consultant did not answer)"))
    if ai.get("proposals"):
        out.append(f"  confirm: {ai['proposals']} proposals, confirmed {ai.get('confirmed', 0)}, adjusted "
                   f"{ai.get('adjusted', 0)}, vetoed {ai.get('vetoed', 0)}, no usable answer {ai.get('confirm_defaults', 0)}")
    if ai.get("strategy_errors"):
        out.append(f"  strategy misbehaved {ai['strategy_errors']} time(s) ({ai.get('strategy_error_kinds')}), each "
                   f"a hold; last: {ai.get('strategy_last_error')}")
    out.append("")
    out += attribution_lines(summary)

    pos = summary.get("position") or {}
    out.append("Final state")
    out.append(f"  state    : {summary.get('state')}")
    out.append(f"  position : {fmt_num(pos.get('qty'))} {summary.get('base_asset') or ''} at entry {fmt_num(pos.get('entry'), 2)}"
               f" (dust {fmt_num(pos.get('dust'))})")
    order = summary.get("open_order")
    if order:
        out.append(f"  open order: {order.get('side')} {fmt_num(order.get('quantity'))} @ {fmt_num(order.get('price'), 2)}"
                   f" [{order.get('status')}] {order.get('client_order_id')}")
    if summary.get("stopped_reason"):
        out.append(f"  stopped  : {summary['stopped_reason']}")
    if summary.get("halted_reason"):
        out.append(f"  HALTED   : {summary['halted_reason']}")
    out.append(bar)
    return "\n".join(out)
