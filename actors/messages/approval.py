"""Entries that wait for the owner's approval: the record, the keeper's events and the owner's answers.

With `[notify] approve_entries` on, a buy the gate approved is held, not
placed: the keeper publishes `EntryApprovalRequested` and places it only
when an `ApproveEntry` comes back (from Telegram or the dashboard) and the
gate and the market still agree. Every outcome is an `EntryApprovalResolved`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from actors.messages.base import _frozen

PENDING = "pending"
# what became of an entry: approved (the order went out), rejected (by the owner), expired (no answer in time,
# or the bot restarted), moved (the market left the advice's band first), refused (the gate or a blocking
# condition said no at the moment of the answer), cancelled (trading paused, halted or stopped while it waited)
OUTCOMES = ("approved", "rejected", "expired", "moved", "refused", "cancelled")


@dataclass(**_frozen)
class EntryApproval:
    """A proposed entry and, once answered, what became of it (journaled, shown, sent)."""

    approval_id: str
    price: Decimal
    quantity: Decimal  # as the gate sized it when it was proposed (sized again on Approve)
    source: str  # who proposed it: "model", "cache", "rule_based"
    confidence: Decimal
    reasoning: str
    advice_id: str
    mid: Decimal  # the mid when it was proposed: a move beyond [ai] price_band_pct drops it
    requested_ms: int  # market time
    expires_ms: int  # market time: requested_ms + [notify] approve_timeout_s
    ts_ms: int  # market time of this record: requested_ms, or when it was resolved
    target_price: Decimal | None = None  # the exit plan the position would get (bounded by [risk])
    stop_price: Decimal | None = None
    time_limit_s: int | None = None
    model: str | None = None
    outcome: str = PENDING
    by: str = ""  # who answered ("telegram (42 @owner)", "dashboard (127.0.0.1)"), or "keeper", "restart"
    detail: str = ""  # why, in words
    client_order_id: str = ""  # approved: the order that was placed

    @property
    def quote(self) -> Decimal:
        return self.price * self.quantity

    @property
    def waited_ms(self) -> int:
        return max(0, self.ts_ms - self.requested_ms)


@dataclass(**_frozen)
class EntryApprovalRequested:
    """An entry waits for the owner: nothing is placed until an `ApproveEntry` for it."""

    approval: EntryApproval
    ts_ms: int


@dataclass(**_frozen)
class EntryApprovalResolved:
    """What became of a waiting entry (`approval.outcome`); also the keeper's answer to Approve/Reject."""

    approval: EntryApproval
    ts_ms: int


@dataclass(**_frozen)
class ApproveEntry:
    """The owner approves a waiting entry; the keeper checks the gate and the market again before placing it."""

    approval_id: str
    by: str
    reason: str = ""


@dataclass(**_frozen)
class RejectEntry:
    """The owner turns a waiting entry down; nothing is placed."""

    approval_id: str
    by: str
    reason: str = ""
