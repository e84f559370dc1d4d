"""The StateKeeper actor: the only writer of the trading state, the position and the journal.

It routes messages to `KeeperCore`, writes the facts the core recorded, and
sends what the core decided. An order leaves only after its intent is
committed; other facts are committed when the mailbox runs dry (a batch).

Domain events (`OrderPlaced`, `OrderFilled`, `OrderDenied`, `TradeClosed`,
`StateChanged`, `RiskStateChanged`, `TradingHalted`, `TradingStopped`,
`TradingBlocked`/`TradingUnblocked`) go one way, with `tell`, to every actor
that sent the keeper `Subscribe`, outside the lockstep acknowledgement: a
listener can be slow or die without holding up the market or the keeper.
"""

from __future__ import annotations

import dataclasses
import queue
import secrets
from typing import Any

import pykka
from loguru import logger

from actors._lib.faults import crash_point
from actors.messages import (
    Advice,
    AdviceRequest,
    ApproveEntry,
    BalanceUpdated,
    CancelOpenOrder,
    CancelOrder,
    FeedFinished,
    FeedStatusChanged,
    FeesUpdated,
    FiltersUpdated,
    GetEquityCurve,
    GetStats,
    GetStatus,
    HaltTrading,
    MarketSnapshot,
    MarksRecorded,
    OrderOutcomeUnknown,
    OrderUpdate,
    PauseBuying,
    PlaceOrder,
    QueryOrder,
    RejectEntry,
    RequestTransition,
    ResumeTrading,
    SnapshotProcessed,
    Stats,
    StopTrading,
    Subscribe,
    SymbolFilters,
    Unsubscribe,
)
from actors.settings import Settings
from actors.state_keeper import approval
from actors.state_keeper.core import ACK, CONSULTANT, EXECUTOR, PUBLISH, KeeperCore, replay
from actors.state_keeper.facts import SessionStarted
from actors.state_keeper.journal import Journal

_BATCH = 512  # commit at least this often under a flood


class StateKeeperActor(pykka.ThreadingActor):
    @staticmethod
    def _create_actor_inbox() -> Any:
        """A `queue.SimpleQueue` (C, lock-free for the caller) instead of pykka's `queue.Queue`.

        Every order update, snapshot and fill is one `put` on the sender's thread and one `get` here;
        `Queue` does both in Python under a `Condition`, about half the cost of a keeper message.
        It has the three methods pykka's `ActorInbox` protocol asks for (put, get, empty), unbounded like
        pykka's own, and FIFO.
        """
        return queue.SimpleQueue()

    def __init__(
        self,
        settings: Settings,
        market: pykka.ActorRef[Any] | None = None,
        executor: pykka.ActorRef[Any] | None = None,
        consultant: pykka.ActorRef[Any] | None = None,
        journal: Journal | None = None,
        filters: SymbolFilters | None = None,
        id_prefix: str | None = None,
        commit_when_idle: bool = True,
    ) -> None:
        """`commit_when_idle=False` (a lockstep backtest on a shared thread, whose journal is made afresh each
        run): commit when an order leaves, every `_BATCH` facts and at the stop, not after every snapshot,
        since there the mailbox is empty after each one and the commit would cost more than the decision."""
        super().__init__()
        self.commit_when_idle = commit_when_idle
        self.core = KeeperCore(settings, filters, id_prefix or f"tb{secrets.token_hex(4)}")
        self.market = market
        self.executor = executor
        self.consultant = consultant
        self.journal = journal
        self.finished: FeedFinished | None = None
        self.listeners: list[pykka.ActorRef[Any]] = []
        self.recovered = self._recover() if journal is not None else 0  # in the caller's thread: errors reach it

    # -- lifecycle (runs on the actor's thread) ----------------------------------------

    def on_start(self) -> None:
        for peer in (self.executor, self.market):  # the executor first: its fills precede snapshots
            if peer is not None:
                peer.tell(Subscribe(subscriber=self.actor_ref))
        if self.recovered and self.executor is not None:
            for rec in self.core.ledger.orders.unfinished():  # open or unknown: ask the exchange what became of it
                self.executor.tell(QueryOrder(client_order_id=rec.client_order_id, symbol=self.core.symbol))

    def _recover(self) -> int:
        """Rebuild state from the journal's facts, through the code that applied them live."""
        assert self.journal is not None
        core = self.core
        n = replay(core, self.journal.facts())
        if n == 0:
            core.record(SessionStarted(core.id_prefix))
            self._flush(commit=True)
            return 0
        logger.info("recovered from the journal: {} facts, state {}, holding {}, {} trades",
                    n, core.machine.state.name, core.ledger.qty, len(core.ledger.trades))
        if approval.expire_on_recovery(core):  # an entry that waited for the owner is never placed late
            self._flush(commit=True)
        return n

    def on_stop(self) -> None:
        self._flush(commit=True)

    def on_failure(self, *_exc: object) -> None:
        self._flush(commit=True)

    # -- messages ----------------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        core = self.core
        result: Any = None
        match message:
            case MarketSnapshot():
                effects = core.on_snapshot(message)
            case MarksRecorded():
                effects = core.on_marks(message.marks)
            case OrderUpdate():
                if message.cum_qty > 0:
                    crash_point("before_fill_journal")
                effects = core.on_order_update(message)
            case Advice():
                effects = core.on_advice(message)
            case FiltersUpdated():
                effects = core.on_filters(message.filters)
            case FeesUpdated():
                effects = core.on_fees(message)
            case BalanceUpdated():
                effects = core.on_balance(message)
            case FeedStatusChanged():
                effects = core.on_feed_status(message)
            case OrderOutcomeUnknown():
                logger.bind(correlation_id=message.client_order_id).warning(
                    "outcome of {} unknown ({}): the executor is asking the exchange", message.client_order_id, message.reason)
                effects = []
            case FeedFinished():
                self.finished = message
                effects = core.on_feed_finished(message.last, f"market data finished after {message.events} events")
            case StopTrading():
                effects = core.on_stop_trading(message.reason, message.cancel_open_orders)
            case GetStatus():
                effects, result = [], core.status(message.recent_trades)
            case GetStats():
                st = core.status(0)
                effects, result = [], Stats(source="keeper", values=(
                    ("state", st.state.value), ("realized_pnl", st.realized_pnl), ("fees_paid", st.fees_paid),
                    ("position_qty", st.position.quantity), ("journal_facts", self.recovered), *st.counters))
            case GetEquityCurve():
                effects, result = [], tuple(core.equity)
            case RequestTransition():
                result = core.request_transition(message.to, message.order)
                effects = []
            case ApproveEntry() | RejectEntry():
                effects, result = core.on_approval(message)
            case PauseBuying() | ResumeTrading() | HaltTrading() | CancelOpenOrder():
                effects = core.on_control(message)
                result = core.status(0)
            case Subscribe(subscriber=ref):
                if ref not in self.listeners:
                    self.listeners.append(ref)
                effects = []
            case Unsubscribe(subscriber=ref):
                self.listeners = [r for r in self.listeners if r != ref]
                effects = []
            case _:
                logger.warning("state keeper ignored an unexpected message: {}", type(message).__name__)
                return None
        self._send(effects)
        return result

    def _send(self, effects: list[tuple[str, Any]]) -> None:
        journal = self.journal
        if journal is not None:
            if self.core.journal or journal.pending:
                order_leaving = False
                for _t, m in effects:
                    if isinstance(m, (PlaceOrder, CancelOrder)):
                        order_leaving = True
                        break
                self._flush(commit=order_leaving or (self.commit_when_idle and self.actor_inbox.empty()))
        elif self.core.journal:
            self.core.journal.clear()
        for target, msg in effects:
            if target == PUBLISH:
                self._publish(msg)
            elif target == EXECUTOR:
                if isinstance(msg, PlaceOrder):
                    crash_point("after_intent")
                if self.executor is None:
                    logger.error("no executor: {} not sent", msg)
                    continue
                self.executor.tell(msg)
            elif target == CONSULTANT:
                self._ask_consultant(msg)
            elif target == ACK and self.market is not None:
                seq, wake, sent = msg
                self.market.tell(SnapshotProcessed(seq=seq, subscriber_urn=self.actor_urn, wake=wake, sent_events=sent))

    def _publish(self, event: Any) -> None:
        if not self.listeners:
            return
        for ref in list(self.listeners):
            try:
                ref.tell(event)
            except pykka.ActorDeadError:
                self.listeners.remove(ref)

    def _ask_consultant(self, req: AdviceRequest) -> None:
        req = dataclasses.replace(req, reply_to=self.actor_ref)
        if self.consultant is None:
            logger.error("no AI consultant is wired: advice request {} cannot be answered", req.request_id)
            return
        self.consultant.tell(req)

    def _flush(self, commit: bool) -> None:
        core, journal = self.core, self.journal
        if journal is None:
            core.journal.clear()
            return
        if core.journal:
            journal.append_many([(kind, payload, _ts(payload), _cid(payload)) for kind, payload in core.journal])
            core.journal.clear()
        if commit or journal.pending >= _BATCH:
            journal.commit()


def _ts(payload: Any) -> int:
    return int(getattr(payload, "ts_ms", 0) or (payload.get("ts_ms", 0) if isinstance(payload, dict) else 0))


def _cid(payload: Any) -> str:
    return str(getattr(payload, "client_order_id", "") or (payload.get("active") or "" if isinstance(payload, dict) else ""))
