"""Entries that wait for the owner's approval (issue 28): held after the gate, placed only on Approve.

With `[notify] approve_entries` on ("true": every advised entry; "model": the
model's own and its cache's only), `decide.propose` hands a buy the gate
approved to `hold` instead of placing it: the keeper journals
`ApprovalRequested`, publishes `EntryApprovalRequested` and places nothing
while it waits. An `ApproveEntry` (Telegram or the dashboard) makes it an
order only if, at that moment, the state, the blocking conditions, the gate
(which sizes it again) and the market still agree. A `RejectEntry`,
`approve_timeout_s` of market time, a move of the mid beyond
`[ai] price_band_pct`, or a pause, halt or stop drop it. Every outcome is a
journaled `ApprovalResolved` and an `EntryApprovalResolved` event, with who
answered and after how long. After a Reject or an expiry, no new entry is
proposed for `approve_timeout_s` (the same idea would be asked again at
once). A pending approval found in the journal at a restart is expired,
never placed late. Backtests never wait: approval is off on a synthetic or
replayed market.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from loguru import logger

from actors.messages import (
    AdviceAction,
    AdviceSource,
    ApproveEntry,
    EntryApproval,
    EntryApprovalRequested,
    EntryApprovalResolved,
    MarketSnapshot,
    OrderReason,
    RejectEntry,
    Side,
    TradingState,
)
from actors.settings import Settings
from actors.state_keeper import decide, exits, facts, risk

if TYPE_CHECKING:
    from actors.state_keeper.core import Effect, KeeperCore

S = TradingState
_PUBLISH = "publish"
BACKTEST_SOURCES = ("synthetic", "replay")
_KEEP = 10  # answered entries kept for the views
_MAX_REASONING = 500
_CANCELS = frozenset({"halted", "paused", "stopped", "account_mismatch"})  # drop a waiting entry at once
_QUIET_AFTER = frozenset({"rejected", "expired"})  # the owner said no, or did not answer: do not ask again at once


def mode(settings: Settings) -> str:
    """What waits: "false", "true" or "model"; always "false" on a backtest's market (backtests never wait)."""
    if settings.market.source in BACKTEST_SOURCES:
        return "false"
    return settings.notify.approve_entries


def say_at_start(settings: Settings, dashboard: bool) -> None:
    """One line at start when `approve_entries` is set but nothing will wait, or nobody can answer."""
    wanted_mode = settings.notify.approve_entries
    if wanted_mode == "false":
        return
    if mode(settings) == "false":
        logger.info("notify.approve_entries = {} is off in this backtest: backtests never wait for approval",
                    wanted_mode)
    elif not dashboard and not settings.notify.telegram_commands:
        logger.warning("notify.approve_entries = {}, but neither the dashboard ([status] port) nor Telegram "
                       "(notify.telegram_commands) can answer: every entry will expire", wanted_mode)


class Book:
    """The keeper's approval state, changed only by `apply` (live and on recovery alike)."""

    __slots__ = ("count", "mode", "pending", "quiet_until_ms", "recent", "timeout_ms")

    def __init__(self, settings: Settings) -> None:
        self.mode = mode(settings)
        self.timeout_ms = settings.notify.approve_timeout_s * 1000
        self.pending: EntryApproval | None = None
        self.recent: list[EntryApproval] = []  # answered, newest last
        self.count = 0  # ApprovalRequested facts applied: the next id (journaled, so ids never repeat)
        self.quiet_until_ms = 0

    @property
    def engaged(self) -> bool:
        """Whether `on_snapshot` has anything to say (cheap: asked on every snapshot)."""
        return self.pending is not None or self.quiet_until_ms > 0

    def view(self) -> tuple[EntryApproval, ...]:
        """The latest answered entries and the waiting one, newest last."""
        return (*self.recent[-5:], *((self.pending,) if self.pending is not None else ()))


def apply(core: KeeperCore, fact: facts.ApprovalRequested | facts.ApprovalResolved) -> None:
    book, a = core.approvals, fact.approval
    if isinstance(fact, facts.ApprovalRequested):
        book.pending = a
        book.count += 1
        return
    if book.pending is not None and book.pending.approval_id == a.approval_id:
        book.pending = None
    book.recent = [*book.recent[-(_KEEP - 1):], a]
    if a.outcome in _QUIET_AFTER and a.by != "restart":
        book.quiet_until_ms = a.ts_ms + book.timeout_ms


def wanted(core: KeeperCore, reason: OrderReason) -> bool:
    """Whether this advised entry must wait for the owner."""
    m = core.approvals.mode
    if m == "false" or reason is not OrderReason.ADVICE:
        return False
    if m == "model":
        a = core.last_advice
        return a is not None and a.source in (AdviceSource.MODEL, AdviceSource.CACHE)
    return True


def hold(core: KeeperCore, p: risk.Proposal, qty: Decimal, s: MarketSnapshot, advice_id: str) -> list[Effect]:
    """Journal the entry as waiting and tell the listeners; nothing goes to the executor."""
    a = core.last_advice
    book, now = core.approvals, s.ts_snapshot_ms
    unit_cost = p.price * (1 + core.fee_rate)
    advised = a.exit_plan if a is not None and a.action is AdviceAction.BUY else None
    plan = exits.plan(unit_cost, s.volatility, 0, core.settings.trading.stop_loss, core.settings.risk, advised)
    record = EntryApproval(
        approval_id=f"{core.id_prefix}-a{book.count + 1}", price=p.price, quantity=qty, source=p.proposed_by,
        confidence=p.confidence, reasoning=" ".join((a.reasoning if a else "").split())[:_MAX_REASONING],
        advice_id=advice_id, mid=s.mid, requested_ms=now, expires_ms=now + book.timeout_ms, ts_ms=now,
        target_price=plan.take_profit_price if plan else None, stop_price=plan.stop_price if plan else None,
        time_limit_s=plan.deadline_ms // 1000 if plan and plan.deadline_ms is not None else None,
        model=a.model if a is not None else None)
    core.record(facts.ApprovalRequested(record))
    core.count("approvals_requested")
    logger.bind(correlation_id=record.approval_id).info(
        "entry waits for approval as {}: buy {} @ {} ({}, advice {}), for {} s", record.approval_id, qty, p.price,
        p.proposed_by, advice_id, book.timeout_ms // 1000)
    return [(_PUBLISH, EntryApprovalRequested(approval=record, ts_ms=now))]


def on_snapshot(core: KeeperCore, s: MarketSnapshot, blocked: set[str]) -> list[Effect] | None:
    """While an entry waits (or was just turned down): what to do now; None = decide as usual."""
    book, now = core.approvals, s.ts_snapshot_ms
    w = book.pending
    if w is None:
        if core.machine.state is S.READY_TO_BUY and now < book.quiet_until_ms:
            return []  # no new entry yet: the owner just turned one down (or let it expire)
        return None
    if core.machine.state is not S.READY_TO_BUY:
        return resolve(core, "cancelled", "keeper", f"the keeper is {core.machine.state.value} now", now)
    if now >= w.expires_ms:
        return resolve(core, "expired", "keeper", f"no answer within {book.timeout_ms // 1000} s", now)
    moved = _moved(core, w, s)
    if moved:
        return resolve(core, "moved", "keeper", moved, now)
    stop = blocked & _CANCELS
    if stop:
        return resolve(core, "cancelled", "keeper", _blocked_detail(core, stop), now)
    return []  # waiting: no advice asked, nothing placed


def answer(core: KeeperCore, msg: ApproveEntry | RejectEntry) -> tuple[list[Effect], EntryApprovalResolved | None]:
    """The owner's answer; the resolution (also published) or None when no such entry waits."""
    w = core.approvals.pending
    verb = "approval" if isinstance(msg, ApproveEntry) else "rejection"
    if w is None or w.approval_id != msg.approval_id:
        logger.info("{} of {} by {} ignored: no such entry waits (answered, expired, or from before a restart)",
                    verb, msg.approval_id, msg.by)
        return [], None
    s = core.last_snapshot
    now = s.ts_snapshot_ms if s is not None else w.ts_ms
    if isinstance(msg, RejectEntry):
        out = resolve(core, "rejected", msg.by, msg.reason or "rejected by the owner", now)
    elif s is None:
        out = resolve(core, "refused", msg.by, "no market data to check it against", now)
    else:
        out = _approve(core, w, msg, s)
    done = [m for _t, m in out if isinstance(m, EntryApprovalResolved)]
    return out, done[0] if done else None


def _approve(core: KeeperCore, w: EntryApproval, msg: ApproveEntry, s: MarketSnapshot) -> list[Effect]:
    """Approved: check everything a buy needs again, now; place it (sized again by the gate) or say why not."""
    now = s.ts_snapshot_ms
    if core.machine.state is not S.READY_TO_BUY:
        return resolve(core, "cancelled", msg.by, f"the keeper is {core.machine.state.value} now", now)
    if now >= w.expires_ms:
        return resolve(core, "expired", msg.by, "approved too late", now)
    moved = _moved(core, w, s)
    if moved:
        return resolve(core, "moved", msg.by, moved, now)
    blocked = decide.update_blockers(core, s) & decide.BLOCKS_BUYS
    out = core.drain_block_events()
    if blocked:
        return out + resolve(core, "refused", msg.by, _blocked_detail(core, blocked), now)
    p = risk.Proposal(Side.BUY, w.price, OrderReason.ADVICE, w.source, None, w.confidence)
    verdict = risk.check(p, decide.account(core, s), core.settings.risk, core.quote_per_trade)
    if isinstance(verdict, risk.Denial):
        out += resolve(core, "refused", msg.by, f"the risk gate: {verdict.detail}", now)
        return out + decide.deny(core, p, verdict, now)
    core.sent_since_ack = True
    placed = decide.place(core, Side.BUY, w.price, verdict.quantity, OrderReason.ADVICE, s, w.advice_id)
    cid = core.active_id or ""
    why = f"order {cid} placed" + (f" ({msg.reason})" if msg.reason else "")
    return out + placed + resolve(core, "approved", msg.by, why, now, cid)


def resolve(core: KeeperCore, outcome: str, by: str, detail: str, ts: int, client_order_id: str = "") -> list[Effect]:
    """Journal what became of the waiting entry and publish it."""
    w = core.approvals.pending
    if w is None:
        return []
    done = replace(w, outcome=outcome, by=by, detail=detail, ts_ms=max(ts, w.requested_ms),
                   client_order_id=client_order_id)
    core.record(facts.ApprovalResolved(done))
    core.count(f"approvals_{outcome}")
    logger.bind(correlation_id=w.approval_id).info("entry {} {} by {} after {} s: {}", w.approval_id, outcome, by,
                                                   done.waited_ms // 1000, detail)
    return [(_PUBLISH, EntryApprovalResolved(approval=done, ts_ms=done.ts_ms))]


def cancel(core: KeeperCore, detail: str, ts: int) -> list[Effect]:
    """Trading stops: a waiting entry is dropped (and the owner's message says so)."""
    return resolve(core, "cancelled", "keeper", detail, ts) if core.approvals.pending is not None else []


def expire_on_recovery(core: KeeperCore) -> bool:
    """At a restart: an entry still waiting in the journal is expired, never placed late. True if one was."""
    w = core.approvals.pending
    if w is None:
        return False
    last = core.equity[-1].ts_ms if core.equity else w.requested_ms
    resolve(core, "expired", "restart", "the bot restarted while it waited: never placed late", last)
    return True


def _moved(core: KeeperCore, w: EntryApproval, s: MarketSnapshot) -> str:
    band = core.settings.ai.price_band_pct
    if w.mid and abs(s.mid - w.mid) / w.mid > band:
        return f"the mid moved from {w.mid} to {s.mid}, beyond the advice's band ({band:%})"
    return ""


def _blocked_detail(core: KeeperCore, names: set[str]) -> str:
    found = {c.condition: c.detail for c in core.blockers.current()}
    return "; ".join(found.get(n, n) for n in sorted(names))
