"""Does the AI help? P&L, win rate, time in position and AI cost by source and by model, and calibration.

Pure functions over the keeper's trades (each carries the `AdviceRef` that
opened and the one that closed it) and the consultant's `Stats`.

Choices a reader of the numbers should know:

- A trade belongs to the source (and model) of the advice that OPENED it:
  that decision put the money at risk. What closed it is counted apart.
- AI cost is every model call of the run, holds and rejected answers
  included, per answering model (`cost_model:*` in the stats). In a replay
  nothing is paid; the cost shown is what the recorded calls cost, so that a
  replayed backtest says what the model would have cost live.
- Calibration: each filled entry is one point, (the opening advice's
  confidence, did the round trip close at a profit within its horizon). The
  horizon is `risk.max_holding_s` when set, else the end of the run; a trade
  still open at the end counts as not coming true (the bags a bot is left
  holding are its losers), unless its horizon has not passed yet: then it is
  left out (its outcome is not known).
  Orders that never filled make no trade and are not counted: the figures are
  conditional on a fill.
- The suggested `min_confidence` is the bin edge that would have kept the
  most P&L on this run's trades (at least `MIN_POINTS` of them, in at least
  two bins: a confidence that never varies cannot tell good calls from bad).
  It is in-sample: check it on other data before using it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from actors.messages import ZERO, AdviceRef, Stats, Trade
from actors.report.convert import dec_str, dt_to_ms, ratio_str

MODEL_COST, MODEL_CALLS = "cost_model:", "calls_model:"  # as actors/ai_consultant/recording.py writes them
BINS = 10
MIN_POINTS = 5
NO_MODEL = "(none)"
_Q = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class Point:
    """One decision and how it turned out."""

    source: str
    confidence: Decimal
    outcome: int  # 1: filled and closed at a profit within the horizon
    pnl: Decimal = ZERO


def ref_dict(ref: AdviceRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"id": ref.advice_id, "source": ref.source, "model": ref.model,
            "confidence": dec_str(ref.confidence), "cost": dec_str(ref.cost)}


def _q(d: Decimal) -> Decimal:
    return d.quantize(_Q, rounding=ROUND_HALF_EVEN)


def brier(points: Sequence[Point]) -> Decimal | None:
    """Mean squared gap between confidence and outcome: 0 is perfect, 0.25 is a coin saying 0.5."""
    if not points:
        return None
    return sum(((p.confidence - p.outcome) ** 2 for p in points), ZERO) / len(points)


def _bin(c: Decimal) -> int:
    return min(int(c * BINS), BINS - 1) if c > 0 else 0


def reliability(points: Sequence[Point]) -> list[dict[str, Any]]:
    """Per confidence bin: how many, the mean confidence, how often it came true, the P&L."""
    rows = []
    for b in range(BINS):
        inside = [p for p in points if _bin(p.confidence) == b]
        if not inside:
            continue
        n = len(inside)
        rows.append({"low": dec_str(Decimal(b) / BINS), "high": dec_str(Decimal(b + 1) / BINS), "n": n,
                     "mean_confidence": ratio_str(sum((p.confidence for p in inside), ZERO) / n),
                     "hit_rate": ratio_str(Decimal(sum(p.outcome for p in inside)) / n),
                     "pnl": dec_str(sum((p.pnl for p in inside), ZERO))})
    return rows


def suggest_min_confidence(points: Sequence[Point]) -> Decimal | None:
    """The bin edge keeping the most P&L (ties: the lower edge); None with too few points or a single bin."""
    if len(points) < MIN_POINTS or len({_bin(p.confidence) for p in points}) < 2:
        return None
    best: tuple[Decimal, Decimal] | None = None
    for b in range(BINS):
        edge = Decimal(b) / BINS
        kept = [p for p in points if p.confidence >= edge]
        pnl = sum((p.pnl for p in kept), ZERO)
        if best is None or pnl > best[1]:
            best = (edge, pnl)
    assert best is not None
    return best[0]


def calibration(points: Sequence[Point]) -> dict[str, Any]:
    b = brier(points)
    suggested = suggest_min_confidence(points)
    return {"n": len(points), "brier": ratio_str(b), "hit_rate": ratio_str(
        Decimal(sum(p.outcome for p in points)) / len(points)) if points else None,
        "table": reliability(points), "suggested_min_confidence": dec_str(suggested)}


def points(trades: Iterable[Trade], horizon_s: int = 0, end_ms: int | None = None) -> list[Point]:
    """One point per filled entry with a confidence; an open one as a loss, unless its horizon is still ahead."""
    out = []
    for t in trades:
        ref = t.entry_advice
        if ref is None or ref.confidence is None or t.status not in ("CLOSED", "OPEN"):
            continue
        opened = dt_to_ms(t.timestamp) or 0
        closed = dt_to_ms(t.closed_at)
        pnl = t.profit_loss or ZERO
        if t.status == "OPEN" or closed is None:
            if horizon_s and (end_ms is None or end_ms - opened <= horizon_s * 1000):
                continue
            out.append(Point(ref.source, ref.confidence, 0, ZERO))
            continue
        in_time = not horizon_s or closed - opened <= horizon_s * 1000
        out.append(Point(ref.source, ref.confidence, int(pnl > 0 and in_time), pnl))
    return out


def _stats(ai: Mapping[str, Any] | Stats | None) -> Mapping[str, Any]:
    return ai.as_dict() if isinstance(ai, Stats) else (ai or {})


def _group(trades: Sequence[Trade], key: Any, cost_of: Mapping[str, Decimal] | None = None) -> dict[str, Any]:
    groups: dict[str, list[Trade]] = {}
    for t in trades:
        groups.setdefault(key(t), []).append(t)
    out = {}
    for name, ts in sorted(groups.items()):
        closed = [t for t in ts if t.status == "CLOSED"]
        pnl = sum((t.profit_loss or ZERO for t in closed), ZERO)
        wins = sum(1 for t in closed if (t.profit_loss or ZERO) > 0)
        held_s = sum(((dt_to_ms(t.closed_at) or 0) - (dt_to_ms(t.timestamp) or 0) for t in closed), 0) // 1000
        direct = sum(((t.entry_advice.cost if t.entry_advice else ZERO) + (t.exit_advice.cost if t.exit_advice else ZERO)
                      for t in ts), ZERO)
        row: dict[str, Any] = {"trades": len(ts), "closed": len(closed), "pnl": dec_str(pnl), "wins": wins,
                               "win_rate": ratio_str(Decimal(wins) / len(closed)) if closed else None,
                               "time_in_position_s": held_s, "advice_cost": dec_str(direct)}
        if cost_of is not None:
            cost = cost_of.get(name, ZERO)
            row["ai_cost"] = dec_str(cost)
            row["net_pnl_after_ai_cost"] = dec_str(pnl - cost)
        out[name] = row
    return out


def model_costs(ai: Mapping[str, Any] | Stats | None) -> tuple[dict[str, Decimal], dict[str, int]]:
    s = _stats(ai)
    costs = {k[len(MODEL_COST):]: Decimal(str(v)) for k, v in s.items() if k.startswith(MODEL_COST)}
    calls = {k[len(MODEL_CALLS):]: int(v) for k, v in s.items() if k.startswith(MODEL_CALLS)}
    return costs, calls


def attribution_summary(trades: Sequence[Trade], ai: Mapping[str, Any] | Stats | None, *, horizon_s: int = 0,
                        end_ms: int | None = None) -> dict[str, Any]:
    """The `attribution` section of summary.json."""
    costs, calls = model_costs(ai)
    total_cost = sum(costs.values(), ZERO)
    closed = [t for t in trades if t.status == "CLOSED"]
    realized = sum((t.profit_loss or ZERO for t in closed), ZERO)
    by_model = _group(trades, lambda t: (t.entry_advice.model if t.entry_advice else None) or NO_MODEL, costs)
    for m, n in calls.items():  # a model that opened nothing still cost its calls
        row = by_model.setdefault(m, {"trades": 0, "closed": 0, "pnl": "0", "wins": 0, "win_rate": None,
                                      "time_in_position_s": 0, "advice_cost": "0", "ai_cost": dec_str(costs.get(m, ZERO)),
                                      "net_pnl_after_ai_cost": dec_str(-costs.get(m, ZERO))})
        row["calls"] = n
    pts = points(trades, horizon_s, end_ms)
    sources = sorted({p.source for p in pts})
    return {
        "mode": _stats(ai).get("ai_mode", "live"),
        "replay_misses": _stats(ai).get("replay_misses", 0),
        "replay_nearest": _stats(ai).get("replay_nearest", 0),
        "replayed": _stats(ai).get("replayed", 0),
        "by_source": _group(trades, lambda t: t.entry_advice.source if t.entry_advice else "unknown"),
        "by_exit_source": _group(trades, lambda t: t.exit_advice.source if t.exit_advice else "none"),
        "by_model": by_model,
        "ai_cost": dec_str(total_cost),
        "ai_cost_paid": dec_str(Decimal(str(_stats(ai).get("cost") or 0))),
        "ai_cost_per_closed_trade": dec_str(_q(total_cost / len(closed))) if closed else None,
        "realized_pnl": dec_str(realized),
        "net_pnl_after_ai_cost": dec_str(realized - total_cost),
        "calibration": {s: calibration([p for p in pts if p.source == s]) for s in sources},
        "calibration_horizon_s": horizon_s or None,
    }


def attribution_lines(summary: Mapping[str, Any]) -> list[str]:
    """The console section: what each source and model earned and cost, and how well its confidence held."""
    a = summary.get("attribution")
    if not a or (set(a.get("by_source") or {}) <= {"unknown"} and not a.get("by_model", {}).keys() - {NO_MODEL}):
        return []  # nothing to attribute (trades from before attribution, no model)
    out = ["AI attribution (by the advice that opened each trade)"]
    for title, key in (("source", "by_source"), ("model", "by_model")):
        for name, r in (a.get(key) or {}).items():
            extra = f", AI cost {r['ai_cost']}, net {r['net_pnl_after_ai_cost']}" if "ai_cost" in r else ""
            wr = r.get("win_rate")
            out.append(f"  {title} {name:<28} {r['closed']:>4} closed  P&L {r['pnl']:>12}  win "
                       f"{'n/a' if wr is None else format(Decimal(wr) * 100, '.1f') + '%':>6}  in position "
                       f"{r['time_in_position_s']:.0f} s{extra}")
    exits = {k: r for k, r in (a.get("by_exit_source") or {}).items() if r["closed"]}
    if exits:
        out.append("  closed by: " + ", ".join(f"{k} {r['closed']} (P&L {r['pnl']})" for k, r in exits.items()))
    out.append(f"  AI cost {a['ai_cost']} ({a['ai_cost_paid']} paid this run), per closed trade "
               f"{a['ai_cost_per_closed_trade'] or '-'}; net P&L after AI cost {a['net_pnl_after_ai_cost']}")
    if a.get("mode") == "replay":
        out.append(f"  replayed from the advice store: {a.get('replayed', 0)} answer(s), {a.get('replay_nearest', 0)} of them "
                   f"the nearest earlier one; {a.get('replay_misses', 0)} miss(es) answered by the strategy")
    for src, c in (a.get("calibration") or {}).items():
        out.append(f"  calibration {src}: {c['n']} entries, Brier {c['brier'] or '-'}, hit rate {c['hit_rate'] or '-'}, "
                   f"suggested min_confidence {c['suggested_min_confidence'] or f'- (needs {MIN_POINTS} entries in 2 bins or more)'}")
        for row in c["table"]:
            out.append(f"    [{row['low']}, {row['high']})  n {row['n']:>4}  mean conf {row['mean_confidence']}  "
                       f"came true {row['hit_rate']}  P&L {row['pnl']}")
    out.append("")
    return out


def draw_calibration(summary: Mapping[str, Any], path: Any) -> bool:
    """calibration.png: per source, mean confidence against how often it came true (the diagonal is honest).

    Drawn only when some source has calibration points; matplotlib is imported here only.
    """
    cal = (summary.get("attribution") or {}).get("calibration") or {}
    if not any(c["table"] for c in cal.values()):
        return False
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    for src, c in cal.items():
        xs = [float(r["mean_confidence"]) for r in c["table"]]
        ys = [float(r["hit_rate"]) for r in c["table"]]
        sizes = [20 + 8 * r["n"] for r in c["table"]]
        ax.plot(xs, ys, marker="o", linewidth=1, label=f"{src} (Brier {c['brier']}, n {c['n']})")
        ax.scatter(xs, ys, s=sizes, alpha=0.3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence of the advice that opened the trade")
    ax.set_ylabel("share that closed at a profit")
    ax.set_title(f"{summary.get('symbol', '?')}: calibration by source", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    fig.savefig(path)
    return True
