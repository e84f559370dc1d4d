"""The run's figures over the equity curve and the trades: drawdown, buy-and-hold, win rate.

Pure functions over `Decimal`s; the summary calls them and so can a research
script, without building a summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from actors.messages import ZERO, EquityPoint, StatusSnapshot, Trade
from actors.report.convert import Q8


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


def final_unrealized(status: StatusSnapshot, equity: Sequence[EquityPoint]) -> tuple[Decimal, str]:
    """(unrealized P&L at the end, where it came from).

    The position is valued at the last bid less its cost, as the keeper does for
    the equity curve; from the final snapshot when there is one, else from the
    last equity point.
    """
    pos = status.position
    snap = status.last_snapshot
    if not pos.quantity:
        return ZERO, "flat"
    if snap is not None and snap.bid > 0:
        return (pos.quantity * snap.bid - pos.cost_quote).quantize(Q8, rounding=ROUND_HALF_EVEN), "last_bid"
    if equity:
        return equity[-1].unrealized_pnl.quantize(Q8, rounding=ROUND_HALF_EVEN), "equity_curve"
    return ZERO, "unknown"
