"""The risk part of the report: the gate's state, its denials, the exits that sold, and returns per unit deployed.

Returns and drawdowns measured against the capital flatter a bot that keeps
most of it idle, so the report also divides them by the largest position
cost of the run (the quote actually deployed), as issues 13 and 15 define.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from actors.messages import ZERO, StatusSnapshot, Trade
from actors.report.convert import dec_str, ms_to_iso, ratio_str
from actors.settings import Settings


def max_position_cost(trades: Sequence[Trade]) -> Decimal:
    return max(((t.entry_price or ZERO) * t.quantity for t in trades), default=ZERO)


def risk_summary(status: StatusSnapshot, settings: Settings, total_pnl: Decimal, drawdown: Decimal) -> dict[str, Any]:
    trades = status.trades
    counters = dict(status.counters)
    deployed = max_position_cost(trades)
    view = status.risk
    lim = settings.risk
    return {
        "state": view.state.value if view is not None else "active",
        "reason": view.reason if view is not None else "",
        "exits": dict(Counter(t.exit_reason or "advice" for t in trades if t.status == "CLOSED")),
        "denials": {k[len("denied_"):]: v for k, v in counters.items() if k.startswith("denied_")},
        "recent_denials": [{"code": d.code, "side": d.side.value, "price": dec_str(d.price), "detail": d.detail,
                            "proposed_by": d.proposed_by, "at": ms_to_iso(d.ts_ms)} for d in status.denials[-5:]],
        "blocked_now": [{"condition": b.condition, "detail": b.detail, "since": ms_to_iso(b.since_ms), "count": b.count}
                        for b in status.blocked],
        "deployed": {
            "max_position_cost": dec_str(deployed),
            "return": ratio_str(total_pnl / deployed) if deployed else None,
            "max_drawdown": ratio_str(drawdown / deployed) if deployed else None,
        },
        "limits": {
            "capital": dec_str(lim.capital), "sizing": lim.sizing, "stop_loss": dec_str(settings.trading.stop_loss),
            "stop_loss_vol": dec_str(lim.stop_loss_vol), "take_profit": dec_str(lim.take_profit),
            "trailing_stop": dec_str(lim.trailing_stop), "max_holding_s": lim.max_holding_s,
            "max_drawdown": dec_str(lim.max_drawdown), "daily_loss_limit": dec_str(lim.daily_loss_limit),
            "cooldown_after_stop_s": lim.cooldown_after_stop_s, "max_consecutive_losses": lim.max_consecutive_losses,
            "max_exposure": dec_str(lim.max_exposure),
        },
    }


def risk_lines(summary: Mapping[str, Any]) -> list[str]:
    r = summary.get("risk") or {}
    if not r:
        return []
    dep = r.get("deployed") or {}
    out = ["Risk"]
    state = str(r.get("state", "active")).upper()
    out.append(f"  gate           : {state}" + (f" ({r['reason']})" if r.get("reason") else ""))
    exits = r.get("exits") or {}
    out.append("  exits          : " + (", ".join(f"{k} {v}" for k, v in sorted(exits.items())) or "none"))
    denials = r.get("denials") or {}
    out.append("  orders denied  : " + (", ".join(f"{k} {v}" for k, v in sorted(denials.items())) or "none"))
    for b in r.get("blocked_now") or []:
        out.append(f"  not trading    : {b['detail']} (since {str(b['since'])[:19]}, {b['count']} snapshots)")
    if dep.get("max_position_cost"):
        ret, dd = dep.get("return"), dep.get("max_drawdown")
        out.append(f"  per deployed   : return {float(ret):+.2%}, max drawdown {float(dd):.2%} of the largest position "
                   f"({dep['max_position_cost']})" if ret is not None and dd is not None else "")
    out.append("")
    return out
