"""How each fact changes the keeper: the one place state changes, live and on recovery alike.

Kept apart from the inputs in `core.py` so the whole fold can be read at
once: a restart is only correct if replaying the journal through these
cases rebuilds exactly the state that live trading had, and `replay` does
nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from actors.domain.fees import FeeSchedule
from actors.messages import ZERO, EquityPoint, RiskState
from actors.state_keeper import approval, facts
from actors.state_keeper.facts import Fact
from actors.state_keeper.records import OrderRecord, advice_ref

if TYPE_CHECKING:
    from actors.state_keeper.core import KeeperCore


def apply_fact(core: KeeperCore, fact: Fact) -> Any:
    """Apply one fact to `core`; what it returns is what the input that recorded it needs to go on."""
    core.facts += 1
    match fact:
        case facts.UpdateApplied(update=u):
            applied = core.ledger.apply_update(u)
            if applied.fill_qty:
                core.last_fill_fact = core.facts
            return applied
        case facts.IntentRecorded(order=cmd):
            reason = cmd.reason or ("stop_loss" if cmd.correlation_id == "stop-loss" else "advice")
            core.ledger.add_order(OrderRecord(cmd.client_order_id, cmd.side, cmd.price, cmd.quantity, cmd.ts_ms,
                                              cmd.correlation_id, reason,
                                              advice=advice_ref(cmd.correlation_id, reason, core.last_advice)))
            core.next_id = max(core.next_id, _counter(cmd.client_order_id) + 1)
            return None
        case facts.TransitionRecorded(to=to, reason=reason, active=active, order=order):
            if core.replaying:  # already logged when it happened
                ok = core.machine.can(to)
                core.machine.state = to if ok else core.machine.state
            else:
                ok = core.machine.transition(to, reason, correlation_id=active or order)
            if ok:
                core.active_id = active
            return ok
        case facts.CancelRequested(cancel=c):
            rec = core.ledger.orders.get(c.client_order_id)
            if rec is not None:
                rec.cancel_requested = True
            return None
        case facts.PositionClosed(ts_ms=ts, exit_reason=why):
            core.exit_plan, core.high_bid = None, ZERO
            return core.ledger.close_trade(ts, why)
        case facts.DustMarked():
            return core.ledger.mark_dust()
        case facts.AdviceReceived(advice=a):
            core.last_advice = a
            return None
        case facts.BalanceReported(balance=b):
            core.free[b.asset] = b.free
            core.total[b.asset] = b.free + b.locked
            if b.asset == core.ledger.base_asset:
                core.last_base_balance_fact = core.facts
            return None
        case facts.FiltersChanged(filters=f):
            core.filters = f
            core.sizing_memo.clear()
            return None
        case facts.FeesChanged(fees=u):
            core.fees = core.ledger.fees = FeeSchedule.from_update(u)
            core.sizing_memo.clear()
            return None
        case facts.RiskStateSet():
            if fact.by == "integrity":
                core.integrity_halt = fact.reason
                return None
            if fact.state is RiskState.ACTIVE and fact.by != "risk":
                core.integrity_halt = None  # the operator resumed
            core.flatten_requested = fact.state is RiskState.HALTED and fact.flatten
            core.risk.apply(fact)
            return None
        case facts.ExitPlanSet():
            core.exit_plan = fact
            return None
        case facts.EquitySampled(point=p):
            _add_equity_point(core, p)
            return None
        case facts.MarkRecorded(snapshot=snap):
            core.mark = snap  # what `status` marks the position at
            return None
        case facts.ApprovalRequested() | facts.ApprovalResolved():
            return approval.apply(core, fact)
        case facts.DenialRecorded() | facts.SessionStarted():
            return None
    raise ValueError(f"unknown journal fact {type(fact).__name__}")


def replay(core: KeeperCore, rows: Iterable[tuple[int, str, Any]]) -> int:
    """Rebuild `core` from journaled facts, through `apply_fact` (the code that ran live); returns the count."""
    core.replaying = True
    n = 0
    try:
        for _seq, kind, payload in rows:
            fact = facts.from_row(kind, payload)
            if isinstance(fact, facts.SessionStarted) and n == 0:
                core.id_prefix = fact.id_prefix or core.id_prefix
            core.apply_fact(fact)
            n += 1
    finally:
        core.replaying = False
    return n


def _add_equity_point(core: KeeperCore, p: EquityPoint) -> None:
    core.equity.append(p)
    core.risk.mark(core.risk.capital + p.equity, p.ts_ms)
    if len(core.equity) > 20_000:  # keep every other point, and sample half as often
        core.equity = core.equity[::2]
        core.equity_every_ms *= 2


def _counter(client_order_id: str) -> int:
    parts = client_order_id.split("-")
    try:
        return int(parts[-2]) if len(parts) >= 3 else 0
    except ValueError:
        return 0
