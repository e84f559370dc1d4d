"""The StateKeeper's logic without threads: messages in, facts journaled, effects out.

Every change of state is a typed fact (`facts.py`) applied by `apply_fact`
(`changes.py`) and appended to `journal` as a row for the actor to write.
Recovery (`replay`) applies the journaled facts through the same method, so
a restart goes through exactly the code that ran live. Inputs (`on_*`) only
read state and record facts; what must leave the keeper is returned as
effects `(target, message)`: orders to the executor, requests to the
consultant, the lockstep acknowledgement, and domain events published one
way to listeners.
Decisions live in `decide.py`, the gate in `risk.py`, protections in
`protections.py`, lockstep wake-ups in `wake.py`, views in `views.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from loguru import logger

from actors._lib.backoff import Backoff
from actors.domain.fees import FeeSchedule
from actors.messages import (
    ZERO,
    Advice,
    ApproveEntry,
    BalanceUpdated,
    CancelOpenOrder,
    EquityPoint,
    FeedStatusChanged,
    FeesUpdated,
    HaltTrading,
    MarketSnapshot,
    Order,
    OrderUpdate,
    PauseBuying,
    RejectEntry,
    ResumeTrading,
    RiskState,
    RiskStateChanged,
    StateChanged,
    StatusSnapshot,
    SymbolFilters,
    TradingHalted,
    TradingState,
    TradingStopped,
    WakeWhen,
)
from actors.settings import Settings
from actors.state_keeper import approval, changes, decide, facts, manual, orders, views, wake
from actors.state_keeper.blocking import Blockers
from actors.state_keeper.changes import replay
from actors.state_keeper.facts import Fact, RiskStateSet
from actors.state_keeper.ledger import Ledger
from actors.state_keeper.machine import Machine
from actors.state_keeper.protections import RiskBook

S = TradingState
EXECUTOR, CONSULTANT, ACK, PUBLISH = "executor", "consultant", "ack", "publish"
Effect = tuple[str, Any]
__all__ = ["ACK", "CONSULTANT", "EXECUTOR", "PUBLISH", "Effect", "KeeperCore", "replay"]


class KeeperCore:
    def __init__(self, settings: Settings, filters: SymbolFilters | None = None, id_prefix: str = "tb") -> None:
        self.settings = settings
        self.symbol = settings.symbol
        t = settings.trading
        self.min_profit, self.quote_per_trade = t.min_profit, t.quote_per_trade
        self.fees = FeeSchedule.from_settings(t)  # the account's, once the venue says (FeesChanged)
        base, quote = (filters.base_asset, filters.quote_asset) if filters else (
            settings.exchange.base_asset, settings.exchange.quote_asset)
        self.machine = Machine()
        self.ledger = Ledger(self.symbol, base, quote, self.fees)
        self.filters = filters
        self.id_prefix = id_prefix
        self.next_id = 1
        self.active_id: str | None = None
        self.free: dict[str, Decimal] = {}
        self.total: dict[str, Decimal] = {}
        self.last_snapshot: MarketSnapshot | None = None
        self.last_advice: Advice | None = None
        self.advice_for: tuple[TradingState, Decimal] | None = None  # state and mid it was asked for
        self.advice_used = False
        self.advice_lag_ms = 0  # market time from the question to the answer (live only: decide.on_advice)
        self.pending: decide.Pending | None = None
        self.deferred_ack: int | None = None
        self.feed_stale = False
        self.integrity_halt: str | None = None  # the books and the account disagree: nothing at all is sent
        self.stopped: str | None = None
        self.counters: dict[str, int] = {}
        self.journal: list[tuple[str, Any]] = []
        self.replaying = False
        self.facts = 0
        self.last_fill_fact = 0
        self.last_base_balance_fact = 0
        self.sent_since_ack = False  # lockstep: told the executor something since the last acknowledgement
        self.use_wake = settings.market.skip_idle_snapshots
        self.live = settings.market.live  # conflated delivery: every snapshot is acknowledged at once
        self.equity: list[EquityPoint] = []
        self.equity_every_ms = 60_000  # one point a market minute, thinned to stay bounded
        self.mark: MarketSnapshot | None = None  # the last snapshot journaled when trading stopped
        self.risk = RiskBook(settings.risk)
        self.exit_plan: facts.ExitPlanSet | None = None
        self.high_bid = ZERO  # the highest bid since the position opened (trailing stop)
        self.retry = Backoff(settings.risk.retry_initial_s * 1000, settings.risk.retry_max_s * 1000, jitter=(1, 1))
        self.retry_at_ms = 0  # after a rejection, no new order before this market time
        self.blockers = Blockers()
        self.denials: list[Any] = []  # recent OrderDenied, newest last
        self.last_denial: tuple[str, str] = ("", "")
        self.flatten_requested = False  # an operator's halt asked to sell what is held
        self.block_events: list[Any] = []  # TradingBlocked/Unblocked found while deciding, to publish
        self.sizing_memo: dict[tuple[Any, ...], bool] = {}  # whether the gate refuses a buy, by its inputs
        self.approvals = approval.Book(settings)  # entries that wait for the owner's approval

    @property
    def fee_rate(self) -> Decimal:
        """The per-side rate no fill exceeds (maker and taker are `fees`)."""
        return self.fees.most

    @property
    def halted(self) -> str | None:
        """Why trading is halted (an integrity halt or the gate's HALTED), else None."""
        if self.integrity_halt:
            return self.integrity_halt
        return self.risk.reason if self.risk.state is RiskState.HALTED else None

    # -- facts -------------------------------------------------------------------

    def record(self, fact: Fact) -> Any:
        result = self.apply_fact(fact)
        self.journal.append(facts.to_row(fact))
        return result

    def apply(self, kind: str, payload: Any) -> Any:
        """Apply one journal row (recovery, and tests that go through the journal's encoding)."""
        return self.apply_fact(facts.from_row(kind, payload))

    def apply_fact(self, fact: Fact) -> Any:
        """Apply one fact; the only place state changes (live and on recovery alike: `changes.py`)."""
        return changes.apply_fact(self, fact)

    # -- inputs ----------------------------------------------------------------------

    def on_filters(self, f: SymbolFilters) -> list[Effect]:
        if f.symbol != self.symbol:
            logger.error("filters for {} ignored: this bot trades {}", f.symbol, self.symbol)
            return []
        if f != self.filters:
            self.record(facts.FiltersChanged(f))
            self.retry.reset()  # what refused the last order may have changed (a market reopening)
            self.retry_at_ms = 0
        return []

    def on_fees(self, u: FeesUpdated) -> list[Effect]:
        """The venue's commission for the symbol: journaled when it changes what break-even and estimates use."""
        if u.symbol != self.symbol:
            logger.error("fees for {} ignored: this bot trades {}", u.symbol, self.symbol)
            return []
        if not all(r.is_finite() and 0 <= r < 1 for r in (u.maker, u.taker)):
            logger.error("fees for {} ignored: maker {} taker {} are not rates in [0, 1)", u.symbol, u.maker, u.taker)
            return []
        new = FeeSchedule.from_update(u)
        if new != self.fees:
            self.record(facts.FeesChanged(u))
        return []

    def on_balance(self, b: BalanceUpdated) -> list[Effect]:
        if not b.free.is_finite() or not b.locked.is_finite() or b.free < 0 or b.locked < 0:
            logger.error("balance update for {} ignored: free {} locked {}", b.asset, b.free, b.locked)
            return []
        self.record(facts.BalanceReported(b))
        if b.asset == self.ledger.base_asset and self.machine.state in (S.READY_TO_BUY, S.READY_TO_SELL):
            return self.check_base_balance(b.ts_ms)
        return []

    def check_base_balance(self, ts: int) -> list[Effect]:
        """Halt when the exchange holds less of the base asset than the journal (a balance newer than the last fill)."""
        base = self.ledger.base_asset
        held = self.total.get(base)
        if held is None or self.last_base_balance_fact <= self.last_fill_fact:
            return []
        step = self.filters.step_size if self.filters else ZERO
        if held + step >= self.ledger.qty:
            return []
        return self.halt_integrity(f"the exchange holds {held} {base} but the journal says {self.ledger.qty}: "
                                   "check the account (a manual sale or withdrawal?), then resume", ts)

    def on_feed_status(self, msg: FeedStatusChanged) -> list[Effect]:
        self.feed_stale = msg.stale
        return []  # the blockers log the edges, once each

    def on_stop_trading(self, reason: str, cancel_open_orders: bool = False) -> list[Effect]:
        out: list[Effect] = []
        ts = self.last_snapshot.ts_snapshot_ms if self.last_snapshot else 0
        if self.stopped is None:
            self.stopped = reason
            logger.info("no new orders from now on: {}", reason)
            if self.last_snapshot is not None:
                self.record(facts.MarkRecorded(self.last_snapshot))
            out.append((PUBLISH, TradingStopped(reason=reason, ts_ms=ts)))
            out += approval.cancel(self, f"trading stopped: {reason}", ts)
        rec = self.ledger.orders.get(self.active_id or "")
        if not cancel_open_orders or rec is None or rec.status.is_terminal or rec.cancel_requested:
            return out
        return out + decide.cancel(self, rec, reason, ts or rec.created_ms)

    def on_snapshot(self, s: MarketSnapshot) -> list[Effect]:
        if s.symbol != self.symbol:
            logger.error("snapshot for {} ignored", s.symbol)
            return [(ACK, (s.seq, None, False))]
        self.last_snapshot = s
        if self.ledger.qty and s.bid > self.high_bid:
            self.high_bid = s.bid
        self._sample_equity(s.ts_snapshot_ms, s.bid, s.mid)
        out = self._protect(s.ts_snapshot_ms, s.bid)
        out += decide.check_resting(self, s)
        if self.pending is None:
            out += decide.decide(self, s)
        else:
            out += decide.exit_while_asking(self, s)
        out += self.drain_block_events()
        if self.pending is not None and not self.live:
            self.deferred_ack = s.seq  # lockstep: the market waits until the advice is in
        else:  # live: at once, or the conflated feed sends nothing (and no exit fires) until the model answers
            out.append(self._ack(s.seq, out))
        return out

    def on_marks(self, marks: Iterable[tuple[int, Decimal, Decimal]]) -> list[Effect]:
        """The cuts the market skipped this keeper on at its equity-sample times (lockstep, `wake.py`):
        what `on_snapshot` did on them, which is all it did there: follow the high bid, sample the
        equity, mark the protections. A protection that fires on one means a wake missed it: said."""
        out: list[Effect] = []
        for ts, bid, mid in marks:
            if self.ledger.qty and bid > self.high_bid:
                self.high_bid = bid
            self._sample_equity(ts, bid, mid)
            fired = self._protect(ts, bid)
            if fired:
                logger.error("a protection fired on a mark at {} (bid {}): a wake should have come first", ts, bid)
                out += fired
        return out

    def on_feed_finished(self, last: MarketSnapshot | None, reason: str) -> list[Effect]:
        """The market's final snapshot may have been skipped (nothing to do): book it for the record."""
        if last is not None and (self.last_snapshot is None or last.seq > self.last_snapshot.seq):
            self.last_snapshot = last
            if not self.equity or self.equity[-1].ts_ms != last.ts_snapshot_ms:  # a mark may have sampled it
                self._sample_equity(last.ts_snapshot_ms, last.bid, last.mid, force=True)
        return self.on_stop_trading(reason)

    def _ack(self, seq: int, effects: list[Effect]) -> Effect:
        sent = self.sent_since_ack or any(t == EXECUTOR for t, _m in effects)
        self.sent_since_ack = False
        return (ACK, (seq, self.wake(), sent))

    def wake(self) -> WakeWhen | None:
        return wake.wake_when(self)

    def on_advice(self, a: Advice) -> list[Effect]:
        return decide.on_advice(self, a) + self.drain_block_events()

    def drain_block_events(self) -> list[Effect]:
        if not self.block_events:
            return []
        out = [(PUBLISH, e) for e in self.block_events]
        self.block_events.clear()
        return out

    def on_order_update(self, u: OrderUpdate) -> list[Effect]:
        return orders.on_order_update(self, u)

    def request_transition(self, to: TradingState, order: Order | None) -> bool:
        """The seed's manual `transition()`: legal moves only, and consistent with the orders."""
        return manual.request_transition(self, to, order)

    # -- operator controls --------------------------------------------------------------

    def on_control(self, msg: PauseBuying | ResumeTrading | HaltTrading | CancelOpenOrder) -> list[Effect]:
        ts = self.last_snapshot.ts_snapshot_ms if self.last_snapshot else 0
        who = f"{msg.by}: {msg.reason}" if msg.reason else msg.by
        match msg:
            case CancelOpenOrder():
                rec = self.ledger.orders.get(self.active_id or "")
                if rec is None or rec.status.is_terminal or rec.cancel_requested:
                    logger.info("cancel asked by {}: no open order to cancel", who)
                    return []
                return decide.cancel(self, rec, f"cancelled by {who}", ts)
            case PauseBuying():
                f = RiskStateSet(state=RiskState.REDUCING, reason=f"buying paused by {who}", ts_ms=ts, by=msg.by)
            case ResumeTrading():
                f = RiskStateSet(state=RiskState.ACTIVE, reason=f"resumed by {who}", ts_ms=ts, by=msg.by)
            case HaltTrading():
                f = RiskStateSet(state=RiskState.HALTED, reason=f"halted by {who}", ts_ms=ts, by=msg.by,
                                 flatten=msg.flatten)
        out = self.set_risk_state(f, force=True)
        if self.last_snapshot is not None:  # a resting buy goes at once, not on the next snapshot
            out += decide.check_resting(self, self.last_snapshot)
        return out

    def on_approval(self, msg: ApproveEntry | RejectEntry) -> tuple[list[Effect], Any]:
        """The owner's answer to an entry that waits (approval.py); the resolution or None, for the asker."""
        return approval.answer(self, msg)

    # -- shared helpers (decide.py and views.py use them too) -----------------------------

    def set_risk_state(self, f: RiskStateSet | None, force: bool = False) -> list[Effect]:
        if f is None or (not force and not self.risk.stronger(f)):
            return []
        if f.state is self.risk.state and f.reason == self.risk.reason and f.until_ms == self.risk.until_ms:
            return []
        self.record(f)
        log = {RiskState.HALTED: logger.critical, RiskState.REDUCING: logger.warning}.get(f.state, logger.info)
        log("risk state {}: {}", f.state.name, f.reason)
        out: list[Effect] = [(PUBLISH, RiskStateChanged(state=f.state, reason=f.reason, until_ms=f.until_ms,
                                                        ts_ms=f.ts_ms))]
        if f.state is RiskState.HALTED:
            out.append((PUBLISH, TradingHalted(reason=f.reason, ts_ms=f.ts_ms)))
        return out

    def halt_integrity(self, reason: str, ts: int) -> list[Effect]:
        if self.integrity_halt is not None:
            return []
        logger.critical("TRADING HALTED: {}", reason)
        self.record(RiskStateSet(state=RiskState.HALTED, reason=reason, ts_ms=ts, by="integrity"))
        return [(PUBLISH, TradingHalted(reason=reason, ts_ms=ts))]

    def transition(self, to: TradingState, reason: str, ts: int, order: str = "", active: str | None = None) -> list[Effect]:
        prev = self.machine.state
        if not self.record(facts.TransitionRecorded(to=to, reason=reason, active=active, order=order)):
            return []
        return [(PUBLISH, StateChanged(previous=prev, state=to, reason=reason, ts_ms=ts))]

    def equity_at(self, bid: Decimal) -> Decimal:
        led = self.ledger
        return self.risk.capital + led.realized_pnl + (led.qty * bid - led.cost if led.qty else ZERO)

    def sellable(self, price: Decimal | None = None, use_free: bool = False) -> Decimal:
        return decide.sellable(self, price, use_free)

    def min_sell_price(self) -> Decimal | None:
        return decide.min_sell_price(self)

    def _protect(self, ts: int, bid: Decimal) -> list[Effect]:
        out = self.set_risk_state(self.risk.lapse(ts))
        return out + self.set_risk_state(self.risk.on_equity(self.equity_at(bid), ts))

    def _sample_equity(self, ts: int, bid: Decimal, mid: Decimal, force: bool = False) -> None:
        if not force and self.equity and ts - self.equity[-1].ts_ms < self.equity_every_ms:
            return
        led = self.ledger
        self.record(facts.EquitySampled(EquityPoint(
            ts_ms=ts, mid=mid, realized_pnl=led.realized_pnl,
            unrealized_pnl=led.qty * bid - led.cost if led.qty else ZERO)))

    def count(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    # -- views -----------------------------------------------------------------------

    def status(self, recent_trades: int | None = None) -> StatusSnapshot:
        return views.status(self, recent_trades)
