"""The keeper's facts: one frozen dataclass per kind of change, and their journal rows.

The keeper's state is a fold over these facts (`KeeperCore.apply`), live and
on recovery alike. A journal row is `(kind, payload)`: the kind is the fact's
class name and the payload a protocol message or a plain dict, which the
journal's codec already knows how to store exactly. Journals written before
the facts were typed used short kinds ("update", "intent", ...): `from_row`
reads both, and the journal's schema migration 3 renames the old rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from actors.messages import (
    Advice,
    BalanceUpdated,
    CancelOrder,
    EntryApproval,
    EquityPoint,
    FeesUpdated,
    MarketSnapshot,
    OrderDenied,
    OrderUpdate,
    PlaceOrder,
    RiskState,
    SymbolFilters,
    TradingState,
)

_f = {"frozen": True, "slots": True}


@dataclass(**_f)
class SessionStarted:
    id_prefix: str


@dataclass(**_f)
class IntentRecorded:
    """An order about to be sent (committed before it leaves)."""

    order: PlaceOrder


@dataclass(**_f)
class TransitionRecorded:
    to: TradingState
    reason: str
    active: str | None  # the order the new state is about (BUYING/SELLING), else None
    order: str = ""  # the order that caused it, for the log


@dataclass(**_f)
class UpdateApplied:
    update: OrderUpdate


@dataclass(**_f)
class CancelRequested:
    cancel: CancelOrder


@dataclass(**_f)
class PositionClosed:
    ts_ms: int
    exit_reason: str = ""


@dataclass(**_f)
class DustMarked:
    pass


@dataclass(**_f)
class AdviceReceived:
    advice: Advice


@dataclass(**_f)
class BalanceReported:
    balance: BalanceUpdated


@dataclass(**_f)
class FiltersChanged:
    filters: SymbolFilters


@dataclass(**_f)
class FeesChanged:
    """The account's commission rates, as the venue gave them (break-even and estimates follow them)."""

    fees: FeesUpdated


@dataclass(**_f)
class RiskStateSet:
    """The gate's state: a halt (kept across restarts), a pause with an end, or a resume."""

    state: RiskState
    reason: str
    ts_ms: int = 0
    until_ms: int | None = None
    by: str = "risk"  # "risk" (a protection), or who the operator was
    flatten: bool = False  # a halt that also sells what is held (kept across a restart)


@dataclass(**_f)
class ExitPlanSet:
    """Where the open position will be sold whatever the advice says (set when it opens)."""

    stop_price: Decimal | None
    take_profit_price: Decimal | None
    trailing_stop: Decimal  # fraction below the highest bid (0 = off)
    deadline_ms: int | None
    ts_ms: int


@dataclass(**_f)
class DenialRecorded:
    denial: OrderDenied


@dataclass(**_f)
class EquitySampled:
    point: EquityPoint


@dataclass(**_f)
class MarkRecorded:
    """The last snapshot when trading stopped: what `bootstrap.py status` marks the position at."""

    snapshot: MarketSnapshot


@dataclass(**_f)
class ApprovalRequested:
    """An entry the gate approved waits for the owner (approval.py): nothing is placed yet."""

    approval: EntryApproval


@dataclass(**_f)
class ApprovalResolved:
    """What became of a waiting entry: approved, rejected, expired, moved, refused or cancelled."""

    approval: EntryApproval


Fact = (SessionStarted | IntentRecorded | TransitionRecorded | UpdateApplied | CancelRequested | PositionClosed
        | DustMarked | AdviceReceived | BalanceReported | FiltersChanged | RiskStateSet | ExitPlanSet
        | DenialRecorded | EquitySampled | MarkRecorded | ApprovalRequested | ApprovalResolved | FeesChanged)

# facts whose payload is one protocol message, stored as it is
_WRAPS: dict[type, str] = {
    IntentRecorded: "order", UpdateApplied: "update", CancelRequested: "cancel", AdviceReceived: "advice",
    BalanceReported: "balance", FiltersChanged: "filters", DenialRecorded: "denial", EquitySampled: "point",
    MarkRecorded: "snapshot", ApprovalRequested: "approval", ApprovalResolved: "approval", FeesChanged: "fees",
}
_BY_NAME: dict[str, type] = {cls.__name__: cls for cls in (
    SessionStarted, IntentRecorded, TransitionRecorded, UpdateApplied, CancelRequested, PositionClosed, DustMarked,
    AdviceReceived, BalanceReported, FiltersChanged, RiskStateSet, ExitPlanSet, DenialRecorded, EquitySampled,
    MarkRecorded, ApprovalRequested, ApprovalResolved, FeesChanged)}
OLD_KINDS: dict[str, str] = {  # schema 2's kinds
    "session": "SessionStarted", "intent": "IntentRecorded", "transition": "TransitionRecorded",
    "update": "UpdateApplied", "cancel": "CancelRequested", "close": "PositionClosed", "dust": "DustMarked",
    "advice": "AdviceReceived", "balance": "BalanceReported", "filters": "FiltersChanged", "halt": "RiskStateSet",
    "equity": "EquitySampled", "mark": "MarkRecorded",
}


def to_row(fact: Fact) -> tuple[str, Any]:
    cls = type(fact)
    attr = _WRAPS.get(cls)
    if attr is not None:
        return cls.__name__, getattr(fact, attr)
    return cls.__name__, {f.name: _plain(getattr(fact, f.name)) for f in fields(fact)}


def from_row(kind: str, payload: Any) -> Fact:
    """The fact a journal row holds; raises ValueError for a kind this bot does not know."""
    name = OLD_KINDS.get(kind, kind)
    cls = _BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"unknown journal fact {kind!r}")
    attr = _WRAPS.get(cls)
    if attr is not None:
        return cls(payload)  # type: ignore[no-any-return]
    data = dict(payload or {})
    if cls is RiskStateSet and "state" not in data:  # schema 2 "halt": {"reason": ...}
        return RiskStateSet(state=RiskState.HALTED, reason=str(data.get("reason", "")), by="integrity")
    if cls is TransitionRecorded:
        return TransitionRecorded(to=TradingState(data["to"]), reason=data.get("reason", ""),
                                  active=data.get("active"), order=data.get("order", ""))
    if cls is RiskStateSet:
        return RiskStateSet(state=RiskState(data["state"]), reason=data.get("reason", ""),
                            ts_ms=int(data.get("ts_ms", 0)), until_ms=data.get("until_ms"), by=data.get("by", "risk"),
                            flatten=bool(data.get("flatten", False)))
    if cls is ExitPlanSet:
        return ExitPlanSet(stop_price=_dec(data.get("stop_price")), take_profit_price=_dec(data.get("take_profit_price")),
                           trailing_stop=Decimal(data.get("trailing_stop") or 0), deadline_ms=data.get("deadline_ms"),
                           ts_ms=int(data.get("ts_ms", 0)))
    if cls is PositionClosed:
        return PositionClosed(ts_ms=int(data["ts_ms"]), exit_reason=data.get("exit_reason", ""))
    return cls(**data)  # type: ignore[no-any-return]


def ts_of(fact: Fact) -> int:
    """Market time of a fact, for the journal's `ts_ms` column (0 if it has none)."""
    inner = getattr(fact, _WRAPS.get(type(fact), ""), fact)
    return int(getattr(inner, "ts_ms", 0) or 0)


def order_of(fact: Fact) -> str:
    """The client order id a fact is about, for the journal's `correlation_id` column."""
    if isinstance(fact, TransitionRecorded):
        return fact.active or fact.order
    inner = getattr(fact, _WRAPS.get(type(fact), ""), fact)
    return str(getattr(inner, "client_order_id", "") or "")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "value") and isinstance(value.value, str):  # an Enum
        return value.value
    return value


def _dec(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))
