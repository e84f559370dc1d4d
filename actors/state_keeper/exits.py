"""Exits the risk limits impose on an open position: stop, take-profit, trailing stop, time limit.

The plan is fixed when the position opens (and journaled, so a restart keeps
it); `due` says which exit, if any, the current bid calls for. Every exit is
a sell at the bid, labelled with its reason, and passes the same gate.
"""

from __future__ import annotations

from decimal import Decimal

from actors.messages import ZERO, AdvisedExits, OrderReason
from actors.settings import RiskSettings
from actors.state_keeper.facts import ExitPlanSet


def plan(unit_cost: Decimal, volatility: Decimal | None, now_ms: int, stop_loss: Decimal,
         limits: RiskSettings, advised: AdvisedExits | None = None) -> ExitPlanSet | None:
    """The exits for a position bought at `unit_cost` (fees included); None when none is configured.

    An advice's own plan (`advised`) is taken where it is tighter than the
    configured limits, never where it is looser: the nearer stop, the
    nearer target and the shorter time limit win.
    """
    a = advised or AdvisedExits()
    stops = []
    if stop_loss:
        stops.append(unit_cost * (1 - stop_loss))
    if limits.stop_loss_vol and volatility:
        stops.append(unit_cost * (1 - limits.stop_loss_vol * volatility))
    if a.stop_price is not None and 0 < a.stop_price < unit_cost:
        stops.append(a.stop_price)
    stop = max(stops) if stops else None  # the nearer stop wins
    targets = [unit_cost * (1 + limits.take_profit)] if limits.take_profit else []
    if a.target_price is not None and a.target_price > unit_cost:
        targets.append(a.target_price)
    target = min(targets) if targets else None
    holds = [s for s in (limits.max_holding_s, a.time_limit_s) if s]
    deadline = now_ms + min(holds) * 1000 if holds else None
    if stop is None and target is None and not limits.trailing_stop and deadline is None:
        return None
    return ExitPlanSet(stop_price=stop, take_profit_price=target, trailing_stop=limits.trailing_stop,
                       deadline_ms=deadline, ts_ms=now_ms)


def trail_price(p: ExitPlanSet, high_bid: Decimal) -> Decimal | None:
    return high_bid * (1 - p.trailing_stop) if p.trailing_stop and high_bid > 0 else None


def due(p: ExitPlanSet | None, bid: Decimal, high_bid: Decimal, now_ms: int) -> OrderReason | None:
    if p is None:
        return None
    if p.stop_price is not None and bid < p.stop_price:
        return OrderReason.STOP_LOSS
    trail = trail_price(p, high_bid)
    if trail is not None and bid < trail:
        return OrderReason.TRAILING_STOP
    if p.take_profit_price is not None and bid >= p.take_profit_price:
        return OrderReason.TAKE_PROFIT
    if p.deadline_ms is not None and now_ms >= p.deadline_ms:
        return OrderReason.TIME_EXIT
    return None


def floor(p: ExitPlanSet | None, high_bid: Decimal) -> Decimal | None:
    """The bid below which an exit fires (for the lockstep wake-up)."""
    if p is None:
        return None
    levels = [x for x in (p.stop_price, trail_price(p, high_bid)) if x is not None]
    return max(levels) if levels else None


def ceiling(p: ExitPlanSet | None) -> Decimal | None:
    """The bid at or above which the take-profit fires."""
    return p.take_profit_price if p is not None else None


ZERO_PLAN = ExitPlanSet(stop_price=None, take_profit_price=None, trailing_stop=ZERO, deadline_ms=None, ts_ms=0)
