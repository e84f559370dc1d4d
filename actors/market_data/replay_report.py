"""The run report's "Data and fills" part: what the market data was, and how the paper exchange filled.

A reader of a backtest must know which fill model ran (an order filled on a
guessed path inside a bar is not the same backtest as one filled on later
bars only), on which grid (given, or inferred from the data), and what data
was left out: files read, rows used, rows dropped and why, gaps in market
time. `data_section` builds it for `summary.json` from the settings and the
market actor's `Stats`; `format_data` writes it for the console.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
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


def data_section(settings: Settings, market: Mapping[str, Any] | None) -> dict[str, Any]:
    """JSON-ready: the fill model, and for replays the grid and the data read, used and dropped."""
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
    out.append("")
    return out


__all__ = ["data_section", "fill_model", "format_data"]
