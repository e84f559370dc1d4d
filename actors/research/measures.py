"""A run's summary → one flat row of what research compares: returns on capital and per unit deployed, and more.

Per unit deployed divides by the run's largest position cost (`report/risk.py`),
the quote the bot really put at risk; buy-and-hold is per unit by nature, so
`excess` = return per deployed − buy-and-hold. A run that never bought deployed
nothing: its return is 0 and its excess is −hold (staying out of a fall beats
holding through it). Ratios are floats rounded to 6 places (measures, not money);
money (P&L, fees) stays an exact decimal string.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

PLACES = 6


def _f(value: Any) -> float:
    return round(float(Decimal(str(value))), PLACES) if value not in (None, "") else 0.0


def time_in_position(summary: Mapping[str, Any]) -> float:
    """Fraction of the market span with a position open (an open trade counts until the end)."""
    start, end = summary.get("market_start_ms"), summary.get("market_end_ms")
    if start is None or end is None or end <= start:
        return 0.0
    held = 0
    for t in summary.get("trades") or []:
        opened = t.get("opened_at_ms")
        if opened is None:
            continue
        closed = t.get("closed_at_ms") or end
        held += max(0, int(min(closed, end)) - int(max(opened, start)))
    return round(min(1.0, held / float(end - start)), PLACES)


def row(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of one run (no identity: the engine adds the label, period and parameter set)."""
    deployed = (summary.get("risk") or {}).get("deployed") or {}
    ret_dep = _f(deployed.get("return"))
    hold = _f(summary.get("hold_return"))
    grid = (summary.get("data") or {}).get("grid") or {}
    wide = (summary.get("data") or {}).get("wide_bars") or {}
    return {
        "symbol": summary.get("symbol"),
        "return_capital": _f(summary.get("total_return")),
        "return": ret_dep,
        "hold": hold,
        "excess": round(ret_dep - hold, PLACES),
        "max_dd_capital": _f((summary.get("max_drawdown") or {}).get("fraction")),
        "max_dd": _f(deployed.get("max_drawdown")),
        "deployed": str(deployed.get("max_position_cost") or "0"),
        "pnl": str(summary.get("total_pnl") or "0"),
        "fees": str(summary.get("fees_paid") or "0"),
        "trades": int(summary.get("closed_trades") or 0),
        "time_in_position": time_in_position(summary),
        "halted": summary.get("halted_reason") or "",
        "events": int((summary.get("market") or {}).get("events") or 0),
        "tick_size": str((grid.get("tick_size") or {}).get("value") or ""),
        "grid_source": str((grid.get("tick_size") or {}).get("source") or ""),
        "wide_bars": int(wide.get("count") or 0),  # bars wider than [market] wide_bar_share (replay_report)
        "wick_fills": int(wide.get("fills_on_wide_bars") or 0),  # fills on them: a result resting on a wick
        "wall_s": float(summary.get("wall_time_s") or 0.0),
    }


def totals(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Over the runs that finished: means of the ratios, worst drawdown, sums of trades, P&L and fees."""
    ok = [r for r in rows if not r.get("error")]
    n = len(ok)

    def mean(key: str) -> float:
        return round(sum(float(r[key]) for r in ok) / n, PLACES) if n else 0.0

    return {
        "runs": len(rows), "finished": n, "failed": len(rows) - n,
        "mean_return_capital": mean("return_capital"), "mean_return": mean("return"), "mean_hold": mean("hold"),
        "mean_excess": mean("excess"), "worst_max_dd": max((float(r["max_dd"]) for r in ok), default=0.0),
        "beat_hold": sum(1 for r in ok if float(r["excess"]) > 0),
        "trades": sum(int(r["trades"]) for r in ok),
        "pnl": str(sum((Decimal(r["pnl"]) for r in ok), Decimal(0))),
        "fees": str(sum((Decimal(r["fees"]) for r in ok), Decimal(0))),
        "mean_time_in_position": mean("time_in_position"),
        "events": sum(int(r["events"]) for r in ok),
        "wick_fills": sum(int(r.get("wick_fills") or 0) for r in ok),
        "wick_fill_runs": sum(1 for r in ok if r.get("wick_fills")),
    }


__all__ = ["row", "time_in_position", "totals"]
