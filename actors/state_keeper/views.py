"""Read-only views of the keeper: the status snapshot and how much of each risk limit is used."""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.messages import ZERO, ExitPlanView, RiskState, RiskView, StatusSnapshot
from actors.state_keeper import exits
from actors.state_keeper.protections import losing_streak

if TYPE_CHECKING:
    from actors.state_keeper.core import KeeperCore


def risk_view(core: KeeperCore) -> RiskView:
    book, lim, s = core.risk, core.settings.risk, core.last_snapshot
    equity = core.equity_at(s.bid) if s is not None else book.capital + core.ledger.realized_pnl
    state = RiskState.HALTED if core.integrity_halt else book.state
    pnls = core.ledger.closed_pnls_since_last_win()  # a streak ends at the last win: no need to read them all
    return RiskView(
        state=state, reason=core.integrity_halt or book.reason, until_ms=book.until_ms, capital=book.capital,
        equity=equity, peak_equity=max(book.peak, equity), drawdown=book.drawdown(equity),
        max_drawdown=lim.max_drawdown, day_pnl=equity - book.day_open if book.day >= 0 else ZERO,
        daily_loss_limit=lim.daily_loss_limit, consecutive_losses=losing_streak(pnls),
        max_consecutive_losses=lim.max_consecutive_losses, exposure=core.ledger.cost, max_exposure=lim.max_exposure)


def exit_plan_view(core: KeeperCore) -> ExitPlanView | None:
    """The levels the open position will be sold at (None while flat)."""
    if not core.ledger.qty:
        return None
    p = core.exit_plan
    return ExitPlanView(
        stop_price=p.stop_price if p else None, take_profit_price=p.take_profit_price if p else None,
        trailing_stop_price=exits.trail_price(p, core.high_bid) if p else None,
        deadline_ms=p.deadline_ms if p else None, break_even=core.min_sell_price())


def status(core: KeeperCore, recent_trades: int | None = None) -> StatusSnapshot:
    led = core.ledger
    active = led.orders.get(core.active_id or "")
    trades = led.trades if recent_trades is None else led.trades[-recent_trades:] if recent_trades else []
    return StatusSnapshot(
        symbol=core.symbol,
        state=core.machine.state,
        active_order=active.view(core.symbol) if active else None,
        position=led.position(core.sellable() if led.qty else ZERO),
        trades=tuple(led.trade_view(t) for t in trades),
        realized_pnl=led.realized_pnl,
        fees_paid=led.fees_paid,
        last_advice=core.last_advice,
        last_snapshot=core.last_snapshot,
        feed_stale=core.feed_stale,
        halted_reason=core.halted,
        stopped_reason=core.stopped,
        counters=tuple(sorted({**core.counters, "refused_transitions": core.machine.refused}.items())),
        risk=risk_view(core),
        blocked=core.blockers.current(),
        denials=tuple(core.denials),
        exit_plan=exit_plan_view(core),
        approvals=core.approvals.view(),
        fees=core.fees.as_update(core.symbol),
    )
