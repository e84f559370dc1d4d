"""The run report's "Data and fills" part: what the market data was, and how the paper exchange filled.

A reader of a backtest must know which fill model ran (an order filled on a
guessed path inside a bar is not the same backtest as one filled on later
bars only), on which grid (given, or inferred from the data), and what data
was left out: files read, rows used, rows dropped and why, gaps in market
time. `data_section` builds it for `summary.json` from the settings and the
market actor's `Stats`; `format_data` writes it for the console.

Wide bars (a kline whose range is above `[market] wide_bar_share` of its open)
are named with what the run did on them: a trade that was entered or left on
one filled on a wick, and one held through it met a low and a high that a live
bot, watching every trade, would have seen (a backtest on candles decides at
the close only). A result that rests on one wick is then visible.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from actors.market_data.replay_check import grid_source
from actors.order_executor.candle_fills import candle_model_from
from actors.settings import Settings

GRID = ("tick_size", "step_size", "min_qty")
TRADES_MODEL = "trades: a resting order fills on later prints at or through its price, and on the book"
PATH_MODEL = ("path: each bar is four trades on a guessed path (open, low/high, high/low, close); "
              "orders fill on them as if observed, so one bar can buy its low and sell its high")


def fill_model(settings: Settings, market: Mapping[str, Any] | None) -> tuple[str, str]:
    """(name, what it means) of the fill model that ran."""
    if settings.exchange.kind != "paper":
        return "exchange", "real fills from the exchange"
    name = str((market or {}).get("fill_model") or "trades")
    if name == "next_bar":
        return name, candle_model_from(settings).describe()
    return name, PATH_MODEL if name == "path" else TRADES_MODEL


def _iso(ms: Any) -> str | None:
    if not isinstance(ms, int):
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


def _bar_list(raw: Any) -> list[list[Any]]:
    """The market's `wide_bar_list` (JSON text of [open ms, close ms, open, high, low, close]), or []."""
    try:
        bars = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    if not isinstance(bars, list):
        return []
    return [b for b in bars if isinstance(b, list) and len(b) == 6 and isinstance(b[0], int) and isinstance(b[1], int)]


def wide_bars(market: Mapping[str, Any], trades: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The wide bars the replay met, each with the trades that filled on it or were held through it."""
    count = market.get("wide_bars")
    if not isinstance(count, int):
        return None
    listed = []
    for t_open, t_close, o, h, lo, cl in _bar_list(market.get("wide_bar_list")):
        fills: list[str] = []
        held: list[int] = []
        for t in trades:
            a, b = t.get("opened_at_ms"), t.get("closed_at_ms")
            if not isinstance(a, int):
                continue
            if t_open <= a <= t_close:
                fills.append(f"trade {t['index']} entry")
            if isinstance(b, int) and t_open <= b <= t_close:
                fills.append(f"trade {t['index']} exit")
            if a < t_open and (b is None or b > t_close):
                held.append(int(t["index"]))
        listed.append({"open_ms": t_open, "open_time": _iso(t_open), "close_ms": t_close, "open": o, "high": h,
                       "low": lo, "close": cl, "range": f"{(Decimal(h) - Decimal(lo)) / Decimal(o):.4f}",
                       "fills": fills, "held_through": held})
    return {"share": market.get("wide_bar_share"), "count": count, "listed": listed,
            "fills_on_wide_bars": sum(len(b["fills"]) for b in listed)}


def data_section(settings: Settings, market: Mapping[str, Any] | None,
                 trades: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """JSON-ready: the fill model, and for replays the grid, the data read, used and dropped, and the
    wide bars with what the run's `trades` (the summary's trade dicts) did on them."""
    name, text = fill_model(settings, market)
    out: dict[str, Any] = {"fill_model": name, "fill_model_text": text}
    if settings.market.source != "replay":
        return out
    m = dict(market or {})
    e = settings.exchange
    out["grid"] = {k: {"value": format(getattr(e, k), "f"), "source": grid_source(settings, k)} for k in GRID}
    out["files_read"] = m.get("files_read")
    out["files"] = m.get("files")
    out["rows_used"] = m.get("rows_used")
    out["rows_dropped"] = m.get("rows_dropped")
    out["dropped_why"] = m.get("dropped_why") or None
    out["market_gaps"] = m.get("market_gaps")
    gap_ms = m.get("market_gap_ms")
    out["market_gap_s"] = gap_ms / 1000 if isinstance(gap_ms, int) else None
    a, b = m.get("longest_gap_from_ms"), m.get("longest_gap_to_ms")
    out["longest_gap"] = {"from": _iso(a), "to": _iso(b), "s": (b - a) / 1000} if isinstance(a, int) and \
        isinstance(b, int) else None
    out["wide_bars"] = wide_bars(m, trades)
    return out


def format_data(summary: Mapping[str, Any]) -> list[str]:
    """Console lines for `summary["data"]` (none if the summary has no such part)."""
    d = summary.get("data")
    if not d:
        return []
    out = ["Data and fills", f"  fill model : {d.get('fill_model_text') or d.get('fill_model')}"]
    grid = d.get("grid")
    if grid:
        out.append("  grid       : " + ", ".join(f"{k} {v['value']} ({v['source']})" for k, v in grid.items()))
    if d.get("files_read") is not None:
        out.append(f"  files read : {d['files_read']}: {d.get('files') or '-'}")
        dropped = d.get("rows_dropped") or 0
        out.append(f"  rows       : {d.get('rows_used')} used, {dropped} dropped"
                   + (f" ({d['dropped_why']})" if dropped and d.get("dropped_why") else ""))
        if dropped:
            out.append(f"  WARNING: {dropped} rows of the data were not replayed; see the files above")
        gaps = d.get("market_gaps") or 0
        longest = d.get("longest_gap")
        out.append(f"  gaps       : {gaps} in market time" + (
            f", {d.get('market_gap_s')} s in all, the longest {longest['s']} s from {longest['from']} to {longest['to']}"
            if gaps and longest else ""))
    out += _wide_lines(d.get("wide_bars"))
    out.append("")
    return out


def _pct(x: Any) -> str:
    try:
        return f"{Decimal(str(x)) * 100:.1f} %"
    except ArithmeticError:
        return "?"


def _wide_lines(w: Mapping[str, Any] | None) -> list[str]:
    if not w or not w.get("count"):
        return []
    share, listed = _pct(w.get("share")), w.get("listed") or []
    more = f" (the first {len(listed)} listed)" if len(listed) < w["count"] else ""
    out = [f"  wide bars  : {w['count']} with a range (high - low) above {share} of the open{more}"]
    for b in listed:
        did = list(b["fills"]) + ([f"trade(s) {', '.join(map(str, b['held_through']))} held through it"]
                                  if b["held_through"] else [])
        out.append(f"    {b['open_time']}  o {b['open']} h {b['high']} l {b['low']} c {b['close']}  range "
                   f"{_pct(b['range'])}" + (f"  <- {'; '.join(did)}" if did else ""))
    n = w.get("fills_on_wide_bars") or 0
    if n:
        out.append(f"  WARNING: {n} fill(s) on a bar wider than {share}: the result may rest on one wick")
    if any(b["held_through"] for b in listed):
        out.append("  NOTE: a position was held through a wide bar; the backtest decides at bar closes only, but a "
                   "live bot sees every trade: its stop or target could have fired inside the bar")
    return out


__all__ = ["data_section", "fill_model", "format_data", "wide_bars"]
