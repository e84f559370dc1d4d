"""Lockstep only: the next snapshot the keeper could act on, so the market can skip the rest.

It must err towards waking: a skipped snapshot has to be one on which the
keeper would have done nothing (the same trades with and without skipping,
which an end-to-end test checks). Every limit that can fire on a price
(stops, the trailing stop, the drawdown and daily loss limits, the
take-profit) is turned into the bid that would fire it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from actors.messages import AdviceAction, RiskState, TradingState, WakeWhen
from actors.state_keeper import exits

if TYPE_CHECKING:
    from actors.state_keeper.core import KeeperCore

S = TradingState
_INSIDE = Decimal("0.99")  # built once: this runs on every acknowledged snapshot


def wake_when(core: KeeperCore) -> WakeWhen | None:
    if not core.use_wake or core.feed_stale or core.pending is not None or not core.equity:
        return None
    at = []
    sample_from = None  # equity samples the market notes as marks (`on_marks`), without waking the keeper
    due = core.equity[-1].ts_ms + core.equity_every_ms
    if core.machine.state is S.BUYING:  # a fill sets the exit plan from the snapshot seen last: see them all
        at.append(due)
    else:
        sample_from = due
    every = core.equity_every_ms if sample_from is not None else 0
    if core.retry_at_ms:
        at.append(core.retry_at_ms)
    if core.risk.until_ms is not None:
        at.append(core.risk.until_ms)
    state = core.machine.state
    if (core.halted and state is S.READY_TO_BUY) or core.stopped or core.filters is None or core.integrity_halt:
        return WakeWhen(at_ms=min(at, default=None), sample_from_ms=sample_from,
                    sample_every_ms=every)
    holding = core.ledger.qty > 0
    floor, ceiling = (_floor(core), _ceiling(core)) if holding else (None, None)
    if holding and core.exit_plan is not None and core.exit_plan.deadline_ms is not None:
        at.append(core.exit_plan.deadline_ms)
    rec = core.ledger.orders.get(core.active_id or "")
    if state is S.BUYING:
        if rec is not None and not rec.status.is_terminal and not rec.cancel_requested:
            at.append(rec.created_ms + core.settings.trading.order_timeout_s * 1000)
        return WakeWhen(at_ms=min(at, default=None))
    if state is S.SELLING:
        return WakeWhen(at_ms=min(at, default=None), bid_below=floor, sell_fills_at=ceiling, sample_from_ms=sample_from,
                    sample_every_ms=every)
    if state is S.READY_TO_SELL and core.risk.state is RiskState.HALTED and (
            core.settings.risk.flatten_on_halt or core.flatten_requested):
        return None
    max_trades = core.settings.trading.max_trades
    if state is S.READY_TO_BUY and ((max_trades and core.ledger.closed >= max_trades)
                                    or core.risk.state is not RiskState.ACTIVE or core.blockers.active("cannot_size")):
        return WakeWhen(at_ms=min(at, default=None), sample_from_ms=sample_from,
                    sample_every_ms=every)
    a, about = core.last_advice, core.advice_for
    if a is None or about is None or core.advice_used or about[0] is not state:
        return None  # it will ask, or act, on the next snapshot
    waiting = a.action is AdviceAction.HOLD or a.confidence < core.settings.ai.min_confidence or a.base_price is None
    if not waiting:
        return None
    at.append(a.valid_until_ms + core.advice_lag_ms + 1)
    band = None
    if a.wake_on_move:  # a bar strategy's hold stands until its next bar, whatever the price does
        mid = about[1]
        half = mid * core.settings.ai.price_band_pct / 4 * _INSIDE  # a little inside: wake early, not late
        band = (mid - half, mid + half)
    return WakeWhen(at_ms=min(at), mid_outside=band,
                    bid_below=floor if state is S.READY_TO_SELL else None,
                    sell_fills_at=ceiling if state is S.READY_TO_SELL else None, sample_from_ms=sample_from,
                    sample_every_ms=every)



def _floor(core: KeeperCore) -> Decimal | None:
    """The highest bid at which a stop, the drawdown limit or the daily loss limit would fire."""
    led, lim, book = core.ledger, core.settings.risk, core.risk
    tick = core.filters.tick_size if core.filters else Decimal(0)
    levels = []
    stop = exits.floor(core.exit_plan, core.high_bid)
    if stop is not None:
        levels.append(stop)
    elif core.exit_plan is None and core.settings.trading.stop_loss:
        levels.append(led.cost / led.qty * (1 - core.settings.trading.stop_loss))  # the plan is set on the next wake
    # equity(bid) = capital + realised + qty * bid - cost; a limit fires when equity <= some level
    base = book.capital + led.realized_pnl - led.cost
    if lim.max_drawdown and book.state is not RiskState.HALTED:
        levels.append((book.peak - lim.max_drawdown * book.capital - base) / led.qty + tick)
    if lim.daily_loss_limit and book.state is RiskState.ACTIVE:
        levels.append((book.day_open - lim.daily_loss_limit * book.capital - base) / led.qty + tick)
    return max(levels) if levels else None


def _ceiling(core: KeeperCore) -> Decimal | None:
    """The lowest bid that matters from above: the take-profit, or a new high (trailing stop, peak equity)."""
    levels = []
    target = exits.ceiling(core.exit_plan)
    if target is not None:
        levels.append(target)
    lim = core.settings.risk
    if lim.trailing_stop or lim.max_drawdown or lim.daily_loss_limit:
        tick = core.filters.tick_size if core.filters else Decimal(0)
        levels.append(core.high_bid + tick)
    return min(levels) if levels else None
