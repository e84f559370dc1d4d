"""summary.json: everything the run's report says, as one JSON-ready dict, and the files.

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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from actors.market_data.replay_report import data_section
from actors.messages import ZERO, EquityPoint, Order, Stats, StatusSnapshot, Trade
from actors.report.attribution import attribution_summary, draw_calibration, ref_dict
from actors.report.chart import draw_chart
from actors.report.convert import dec_str, dt_to_iso, dt_to_ms, ms_to_iso, ratio_str, to_jsonable
from actors.report.measures import final_unrealized, hold_return, max_drawdown_span, win_rate
from actors.report.risk import risk_summary
from actors.settings import Settings

SUMMARY_FILE = "summary.json"
CHART_FILE = "equity.png"


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
        "entry_reason": t.entry_reason,
        "exit_reason": t.exit_reason or ("advice" if t.status == "CLOSED" else ""),
        "entry_advice": ref_dict(t.entry_advice), "exit_advice": ref_dict(t.exit_advice),
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


def _ai_dict(ai: Mapping[str, Any] | Stats | None) -> dict[str, Any]:
    values: Mapping[str, Any] = ai.as_dict() if isinstance(ai, Stats) else (ai or {})
    out: dict[str, Any] = {"calls": 0, "cache_hits": 0, "fallbacks": 0, "strategy_answers": 0, "cost": "0"}
    out.update(to_jsonable(dict(values)))
    for key in ("calls", "cache_hits", "fallbacks", "strategy_answers"):
        if out[key] is None:
            out[key] = 0
    if out["cost"] is None:
        out["cost"] = "0"
    out["available"] = ai is not None
    return out


def build_summary(
    status: StatusSnapshot,
    equity: Sequence[EquityPoint],
    ai: Mapping[str, Any] | Stats | None,
    market: Mapping[str, Any] | None,
    executor: Mapping[str, Any] | None,
    settings: Settings,
    wall_s: float,
    mode: str,
) -> dict[str, Any]:
    """Everything the run's report says, as a JSON-ready dict (money as exact strings).

    `realized_pnl` is the keeper's own figure, never recomputed here; `reconciled`
    says whether it equals the sum of `pnl` over the CLOSED trades listed (it can
    only differ if the status was asked for with a bound on `recent_trades`).
    """
    capital = settings.risk.capital
    equity = tuple(equity)
    trades = status.trades
    closed = [t for t in trades if t.status == "CLOSED"]
    closed_sum = sum((t.profit_loss or ZERO for t in closed), ZERO)
    wins = sum(1 for t in closed if (t.profit_loss or ZERO) > 0)
    losses = sum(1 for t in closed if (t.profit_loss or ZERO) < 0)

    unrealized, unrealized_source = final_unrealized(status, equity)
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
    trade_dicts = [_trade_dict(i, t) for i, t in enumerate(trades, start=1)]
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
        "trades": trade_dicts,
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
        "fee_rates": _fee_rates(status, settings),  # what break-even used; fees_paid is what was booked
        "unrealized_pnl": dec_str(unrealized),
        "unrealized_source": unrealized_source,
        "total_pnl": dec_str(total_pnl),
        "capital": {
            "amount": dec_str(capital),
            "basis": "risk.capital: the quote the bot may use; equity = capital + realised + unrealised P&L",
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
        "risk": risk_summary(status, settings, total_pnl, dd),
        "data": data_section(settings, market, trade_dicts),  # fill model, grid, data read and dropped, wide bars
        "ai": _ai_dict(ai),
        "attribution": attribution_summary(trades, ai, horizon_s=settings.risk.max_holding_s, end_ms=end_ms),
        "market": to_jsonable(dict(market)) if market is not None else None,
        "executor": to_jsonable(dict(executor)) if executor is not None else None,
        "counters": {str(k): v for k, v in status.counters},
        "settings": {
            "exchange": settings.exchange.kind,
            "market_source": settings.market.source,
            "ai_model": settings.ai.model,
            "quote_per_trade": dec_str(settings.trading.quote_per_trade),
            "fee_rate": dec_str(settings.trading.fee_rate),
            "maker_fee": dec_str(settings.trading.maker_fee),
            "taker_fee": dec_str(settings.trading.taker_fee),
            "bnb_discount": dec_str(settings.trading.bnb_discount),
            "min_profit": dec_str(settings.trading.min_profit),
            "stop_loss": dec_str(settings.trading.stop_loss),
        },
    }


def _fee_rates(status: StatusSnapshot, settings: Settings) -> dict[str, Any]:
    """The rates a fill pays (BNB discount taken off): the account's when the venue gave them, else the settings'."""
    f = getattr(status, "fees", None)
    if f is None:  # a status from before the keeper said
        from actors.domain.fees import FeeSchedule

        f = FeeSchedule.from_settings(settings.trading).as_update(settings.symbol)
    return {"maker": dec_str(f.maker), "taker": dec_str(f.taker), "bnb_discount": dec_str(f.bnb_discount),
            "source": f.source}


# -- files ------------------------------------------------------------------------------------


def write_report(summary: Mapping[str, Any], equity: Sequence[EquityPoint], report_dir: Path) -> tuple[Path, Path]:
    """Write `summary.json` and `equity.png` into `report_dir` (created); return both paths."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    summary_path = report_dir / SUMMARY_FILE
    tmp = summary_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(to_jsonable(summary), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(summary_path)
    chart_path = report_dir / CHART_FILE
    draw_chart(summary, tuple(equity), chart_path)
    draw_calibration(summary, report_dir / "calibration.png")
    return summary_path, chart_path
