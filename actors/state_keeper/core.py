"""The StateKeeper's logic without threads: messages in, facts journaled, effects out.

Every change of state is a *fact* (`_record(kind, payload)`), applied by
`apply()` and appended to `journal` for the actor to write. Recovery calls
`apply()` on the journaled facts, so a restart goes through exactly the code
that ran live. Decisions (`on_*`) only read state and record facts; what must
leave the keeper is returned as effects: `(target, message)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from loguru import logger

from actors.messages import (
    ZERO,
    Advice,
    AdviceAction,
    AdviceRequest,
    BalanceUpdated,
    CancelOrder,
    EquityPoint,
    FeedStatusChanged,
    MarketSnapshot,
    Order,
    OrderUpdate,
    PlaceOrder,
    Side,
    StatusSnapshot,
    SymbolFilters,
    TradingState,
    WakeWhen,
)
from actors.order_executor.filters import FilterError, check_order, round_price, sellable_qty
from actors.settings import Settings
from actors.state_keeper import policy
from actors.state_keeper.ledger import Ledger, OrderRecord, UpdateError
from actors.state_keeper.machine import Machine

S = TradingState
EXECUTOR, CONSULTANT, ACK = "executor", "consultant", "ack"
Effect = tuple[str, Any]


@dataclass(slots=True)
class Pending:
    request_id: str
    state: TradingState
    snapshot: MarketSnapshot


class KeeperCore:
    def __init__(self, settings: Settings, filters: SymbolFilters | None = None, id_prefix: str = "tb") -> None:
        self.settings = settings
        self.symbol = settings.symbol
        t = settings.trading
        self.fee_rate, self.min_profit, self.quote_per_trade = t.fee_rate, t.min_profit, t.quote_per_trade
        base, quote = (filters.base_asset, filters.quote_asset) if filters else (
            settings.exchange.base_asset, settings.exchange.quote_asset)
        self.machine = Machine()
        self.ledger = Ledger(self.symbol, base, quote, t.fee_rate)
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
        self.pending: Pending | None = None
        self.deferred_ack: int | None = None
        self.feed_stale = False
        self.halted: str | None = None
        self.stopped: str | None = None
        self.counters: dict[str, int] = {}
        self.journal: list[tuple[str, Any]] = []
        self.replaying = False
        self.facts = 0
        self.last_fill_fact = 0
        self.last_base_balance_fact = 0
        self.last_skip = ""
        self.sent_since_ack = False  # lockstep: told the executor something since the last acknowledgement
        self.use_wake = settings.market.skip_idle_snapshots
        self.equity: list[EquityPoint] = []
        self.equity_every_ms = 60_000  # one point a market minute, thinned to stay bounded
        self.mark: MarketSnapshot | None = None  # the last snapshot journaled when trading stopped

    # -- facts -------------------------------------------------------------------

    def _record(self, kind: str, payload: Any) -> Any:
        result = self.apply(kind, payload)
        self.journal.append((kind, payload))
        return result

    def apply(self, kind: str, payload: Any) -> Any:
        """Apply one fact; the only place state changes (live and on recovery alike)."""
        self.facts += 1
        if kind == "update":
            applied = self.ledger.apply_update(payload)
            if applied.fill_qty:
                self.last_fill_fact = self.facts
            return applied
        if kind == "intent":
            cmd: PlaceOrder = payload
            self.ledger.add_order(
                OrderRecord(cmd.client_order_id, cmd.side, cmd.price, cmd.quantity, cmd.ts_ms, cmd.correlation_id)
            )
            self.next_id = max(self.next_id, _counter(cmd.client_order_id) + 1)
            return None
        if kind == "transition":
            to, reason, active = S(payload["to"]), payload.get("reason", ""), payload.get("active")
            if self.replaying:  # already logged when it happened
                ok = self.machine.can(to)
                self.machine.state = to if ok else self.machine.state
            else:
                ok = self.machine.transition(to, reason, correlation_id=active or payload.get("order", ""))
            if ok:
                self.active_id = active
            return ok
        if kind == "cancel":
            rec = self.ledger.orders.get(payload.client_order_id)
            if rec is not None:
                rec.cancel_requested = True
            return None
        if kind == "close":
            return self.ledger.close_trade(int(payload["ts_ms"]))
        if kind == "dust":
            return self.ledger.mark_dust()
        if kind == "advice":
            self.last_advice = payload
            return None
        if kind == "balance":
            b: BalanceUpdated = payload
            self.free[b.asset] = b.free
            self.total[b.asset] = b.free + b.locked
            if b.asset == self.ledger.base_asset:
                self.last_base_balance_fact = self.facts
            return None
        if kind == "filters":
            self.filters = payload
            return None
        if kind == "halt":
            self.halted = payload["reason"]
            return None
        if kind == "session":
            return None
        if kind == "equity":  # journaled so that `status` and `trades` give the run's own figures
            self._add_equity(payload)
            return None
        if kind == "mark":  # the last snapshot when trading stopped: what `status` marks the position at
            self.mark = payload
            return None
        raise ValueError(f"unknown journal fact {kind!r}")

    # -- inputs ----------------------------------------------------------------------

    def on_filters(self, f: SymbolFilters) -> list[Effect]:
        if f.symbol != self.symbol:
            logger.error("filters for {} ignored: this bot trades {}", f.symbol, self.symbol)
            return []
        if f != self.filters:
            self._record("filters", f)
        return []

    def on_balance(self, b: BalanceUpdated) -> list[Effect]:
        if not b.free.is_finite() or not b.locked.is_finite() or b.free < 0 or b.locked < 0:
            logger.error("balance update for {} ignored: free {} locked {}", b.asset, b.free, b.locked)
            return []
        self._record("balance", b)
        if b.asset == self.ledger.base_asset and self.machine.state in (S.READY_TO_BUY, S.READY_TO_SELL):
            self._check_base_balance()
        return []

    def _check_base_balance(self) -> None:
        """Halt when the exchange holds less of the base asset than the journal (a balance newer than the last fill)."""
        base = self.ledger.base_asset
        held = self.total.get(base)
        if held is None or self.last_base_balance_fact <= self.last_fill_fact:
            return
        step = self.filters.step_size if self.filters else ZERO
        if held + step < self.ledger.qty:
            self._halt(f"the exchange holds {held} {base} but the journal says {self.ledger.qty}: "
                       "check the account (a manual sale or withdrawal?) and restart")

    def on_feed_status(self, msg: FeedStatusChanged) -> list[Effect]:
        self.feed_stale = msg.stale
        (logger.warning if msg.stale else logger.info)("market feed {}: {}", "stale" if msg.stale else "back", msg.reason)
        return []

    def on_stop_trading(self, reason: str, cancel_open_orders: bool = False) -> list[Effect]:
        if self.stopped is None:
            self.stopped = reason
            logger.info("no new orders from now on: {}", reason)
            if self.last_snapshot is not None:
                self._record("mark", self.last_snapshot)
        rec = self.ledger.orders.get(self.active_id or "")
        if not cancel_open_orders or rec is None or rec.status.is_terminal or rec.cancel_requested:
            return []
        ts = self.last_snapshot.ts_snapshot_ms if self.last_snapshot else rec.created_ms
        cmd = CancelOrder(client_order_id=rec.client_order_id, symbol=self.symbol, ts_ms=ts, reason=reason)
        self._record("cancel", cmd)
        logger.bind(correlation_id=rec.client_order_id).info("cancelling {} on the way out", rec.client_order_id)
        return [(EXECUTOR, cmd)]

    def on_snapshot(self, s: MarketSnapshot) -> list[Effect]:
        if s.symbol != self.symbol:
            logger.error("snapshot for {} ignored", s.symbol)
            return [(ACK, (s.seq, None, False))]
        self.last_snapshot = s
        self._sample_equity(s)
        out = self._check_timeout(s)
        if self.pending is not None:
            self.deferred_ack = s.seq  # the market waits until the advice is in (lockstep)
            return out
        out += self._decide(s)
        if self.pending is not None:
            self.deferred_ack = s.seq
        else:
            out.append(self._ack(s.seq, out))
        return out

    def on_feed_finished(self, last: MarketSnapshot | None, reason: str) -> list[Effect]:
        """The market's final snapshot may have been skipped (nothing to do): book it for the record."""
        if last is not None and (self.last_snapshot is None or last.seq > self.last_snapshot.seq):
            self.last_snapshot = last
            self._sample_equity(last)
        return self.on_stop_trading(reason)

    def _ack(self, seq: int, effects: list[Effect]) -> Effect:
        sent = self.sent_since_ack or any(t == EXECUTOR for t, _m in effects)
        self.sent_since_ack = False
        return (ACK, (seq, self.wake(), sent))

    def wake(self) -> WakeWhen | None:
        """The next snapshot this keeper could act on (None: the very next one). Errs towards waking."""
        if not self.use_wake or self.feed_stale or self.pending is not None or not self.equity:
            return None
        at = [self.equity[-1].ts_ms + self.equity_every_ms]
        state = self.machine.state
        if self.halted or self.stopped or self.filters is None:
            return WakeWhen(at_ms=min(at))
        floor = self._stop_loss_floor()
        rec = self.ledger.orders.get(self.active_id or "")
        if state is S.BUYING:
            if rec is not None and not rec.status.is_terminal and not rec.cancel_requested:
                at.append(rec.created_ms + self.settings.trading.order_timeout_s * 1000)
            return WakeWhen(at_ms=min(at))
        if state is S.SELLING:
            return WakeWhen(at_ms=min(at), bid_below=floor)
        max_trades = self.settings.trading.max_trades
        if state is S.READY_TO_BUY and max_trades and self._closed_trades() >= max_trades:
            return WakeWhen(at_ms=min(at))
        a, about = self.last_advice, self.advice_for
        if a is None or about is None or self.advice_used or about[0] is not state:
            return None  # it will ask, or act, on the next snapshot
        waiting = (a.action is AdviceAction.HOLD or a.confidence < self.settings.ai.min_confidence
                   or a.base_price is None)
        if not waiting:
            return None
        mid = about[1]
        half = mid * self.settings.ai.price_band_pct / 4 * Decimal("0.99")  # a little inside: wake early, not late
        at.append(a.valid_until_ms + 1)
        return WakeWhen(at_ms=min(at), mid_outside=(mid - half, mid + half),
                        bid_below=floor if state is S.READY_TO_SELL else None)

    def on_advice(self, a: Advice) -> list[Effect]:
        if self.pending is None or a.request_id != self.pending.request_id:
            logger.warning("advice {} was not asked for (or came twice); ignored", a.request_id)
            self._count("stray_advice")
            return []
        pending, self.pending = self.pending, None
        self._record("advice", a)
        logger.bind(correlation_id=a.request_id).info(
            "advice {} {} @ {} (confidence {}, {}{}): {}", a.request_id, a.action.value, a.base_price, a.confidence,
            a.source.value, f", rejected: {a.rejected_reason}" if a.rejected_reason else "", a.reasoning[:200])
        self.advice_for = (pending.state, pending.snapshot.mid)
        self.advice_used = False
        out: list[Effect] = []
        s = self.last_snapshot or pending.snapshot
        out += self._decide(s)
        if self.pending is None and self.deferred_ack is not None:
            out.append(self._ack(self.deferred_ack, out))
            self.deferred_ack = None
        return out

    def on_order_update(self, u: OrderUpdate) -> list[Effect]:
        try:
            applied = self._record("update", u)
        except UpdateError as exc:
            self._count("bad_updates")
            logger.bind(correlation_id=u.client_order_id).error("order update refused, nothing changed: {}", exc)
            if u.symbol == self.symbol and u.client_order_id not in self.ledger.orders and u.cum_qty > 0:
                self._halt(f"order {u.client_order_id!r} filled {u.cum_qty} {self.symbol} but this bot never placed "
                           "it: the account is being traded by something else, or the journal is not this account's")
            return []
        rec = applied.record
        if not (applied.status_changed or applied.fill_qty):
            return []  # a repeat: already applied, nothing to say or do
        log = logger.bind(correlation_id=rec.client_order_id)
        if applied.status_changed and not applied.fill_qty:
            log.info("order {} is {}{}", rec.client_order_id, rec.status.value,
                     f" ({rec.reject_reason})" if rec.reject_reason else "")
        if applied.fill_qty:
            self._count("fills")
            log.info("{} {} filled {} for {} (cum {} of {})", rec.side.value, rec.client_order_id,
                     applied.fill_qty, applied.fill_quote, rec.cum_qty, rec.quantity)
        if rec.client_order_id != self.active_id:
            if applied.fill_qty:
                self._halt(f"fill of {applied.fill_qty} on order {rec.client_order_id}, which is not the active order")
            return []
        if not applied.became_terminal:
            return []
        if rec.side is Side.BUY:
            if rec.cum_qty > 0 and self._sellable(use_free=False) > 0:
                self._transition(S.READY_TO_SELL, f"buy {rec.status.value.lower()}", rec.client_order_id)
            else:
                if rec.cum_qty > 0:
                    self._record("dust", {})
                    log.warning("buy {} ended with {} bought, too little to sell: kept as dust", rec.client_order_id, rec.cum_qty)
                self._transition(S.READY_TO_BUY, f"buy {rec.status.value.lower()} with nothing sellable", rec.client_order_id)
        elif self._sellable(use_free=False) == 0:
            if self.ledger.open_trade() is not None:
                trade = self._record("close", {"ts_ms": u.ts_ms or rec.updated_ms})
                self._count("trades_closed")
                if trade is not None:
                    log.info("trade closed: bought {} sold {} for net P&L {} after {} fees (realised total {})",
                             trade.qty_held, trade.sold_qty, trade.pnl, trade.fees, self.ledger.realized_pnl)
            self._transition(S.READY_TO_BUY, f"sell {rec.status.value.lower()}, position flat", rec.client_order_id)
        else:
            self._transition(S.READY_TO_SELL, f"sell {rec.status.value.lower()}, {self.ledger.qty} still held", rec.client_order_id)
        return []

    def request_transition(self, to: TradingState, order: Order | None) -> bool:
        """The seed's manual `transition()`: legal moves only, and consistent with the orders."""
        if not isinstance(to, TradingState) or not self.machine.can(to):
            self.machine.transition(to, "requested")  # logs and counts the refusal
            return False
        if to in (S.BUYING, S.SELLING):
            side = Side.BUY if to is S.BUYING else Side.SELL
            if order is None or order.side.upper() != side.value:
                logger.warning("refused transition to {}: it needs a {} order", to.name, side.value)
                self.machine.refused += 1
                return False
            if order.id not in self.ledger.orders:
                self._record("intent", PlaceOrder(
                    client_order_id=order.id, symbol=self.symbol, side=side, price=Decimal(order.price),
                    quantity=Decimal(order.quantity), ts_ms=int(order.timestamp.timestamp() * 1000),
                    correlation_id="manual"))
            return bool(self._record("transition", {"to": to.value, "reason": "requested", "active": order.id}))
        active = self.ledger.orders.get(self.active_id or "")
        if active is not None and not active.status.is_terminal:
            logger.warning("refused transition to {}: order {} is still {}", to.name, active.client_order_id, active.status.value)
            self.machine.refused += 1
            return False
        return bool(self._record("transition", {"to": to.value, "reason": "requested", "active": None}))

    # -- decisions -------------------------------------------------------------------

    def _decide(self, s: MarketSnapshot) -> list[Effect]:
        if self.halted or self.stopped or self.filters is None or self.feed_stale or s.stale:
            return []
        state = self.machine.state
        if state is S.READY_TO_SELL and self._stop_loss_hit(s):
            return self._place(Side.SELL, round_price(s.bid, Side.SELL, self.filters), s, "stop-loss")
        if state not in (S.READY_TO_BUY, S.READY_TO_SELL):
            return []
        if self.ledger.qty and self.last_base_balance_fact > self.last_fill_fact:
            self._check_base_balance()  # the balance may have come while an order was open (a recovered sell)
            if self.halted:
                return []
        max_trades = self.settings.trading.max_trades
        if state is S.READY_TO_BUY and max_trades and self._closed_trades() >= max_trades:
            return []
        advice = self._usable_advice(s)
        if advice is None:
            return self._ask(s)
        if advice.action is AdviceAction.HOLD or advice.confidence < self.settings.ai.min_confidence:
            return []
        if advice.base_price is None:
            return []
        self.advice_used = True
        if state is S.READY_TO_BUY and advice.action is AdviceAction.BUY:
            return self._place(Side.BUY, round_price(advice.base_price, Side.BUY, self.filters), s, advice.request_id)
        if state is S.READY_TO_SELL and advice.action is AdviceAction.SELL:
            floor = self._min_sell_price()
            price = round_price(advice.base_price, Side.SELL, self.filters)
            if floor is not None and price < floor:
                logger.info("advised sell {} is below the minimum {} (break-even + min_profit): offering {}",
                            price, floor, floor)
                price = floor
            return self._place(Side.SELL, price, s, advice.request_id)
        return []

    def _usable_advice(self, s: MarketSnapshot) -> Advice | None:
        a = self.last_advice
        if a is None or self.advice_for is None or self.advice_used:
            return None
        state, mid = self.advice_for
        if state is not self.machine.state or s.ts_snapshot_ms > a.valid_until_ms:
            return None
        if mid and abs(s.mid - mid) / mid > self.settings.ai.price_band_pct / 4:
            return None  # the market moved away from what the advice was about
        return a

    def _ask(self, s: MarketSnapshot) -> list[Effect]:
        assert self.filters is not None
        request_id = f"adv-{self.symbol}-{s.seq}-{self._count('advice_requests')}"
        qty, cost = self.ledger.qty, self.ledger.cost
        holding = self.machine.state is S.READY_TO_SELL
        req = AdviceRequest(
            request_id=request_id, symbol=self.symbol, state=self.machine.state, snapshot=s, filters=self.filters,
            position_qty=qty, entry_price=self.ledger.position(qty).entry_price if qty else None,
            fee_rate=self.fee_rate, min_profit=self.min_profit,
            break_even_price=policy.break_even_price(cost, qty, self.fee_rate) if holding else None,
            min_sell_price=self._min_sell_price() if holding else None,
            quote_per_trade=self.quote_per_trade, ts_ms=s.ts_snapshot_ms,
        )
        self.pending = Pending(request_id, self.machine.state, s)
        return [(CONSULTANT, req)]

    def _place(self, side: Side, price: Decimal, s: MarketSnapshot, why: str) -> list[Effect]:
        assert self.filters is not None
        if side is Side.BUY:
            qty = policy.buy_quantity(self.quote_per_trade, price, self.filters)
            free_quote = self.free.get(self.ledger.quote_asset)
            if free_quote is not None and qty * price > free_quote:
                self._count("skipped_orders")
                logger.warning("buy skipped: {} {} needed, {} free", qty * price, self.ledger.quote_asset, free_quote)
                return []
        else:
            qty = self._sellable(price, use_free=True)
        try:
            check_order(side, price, qty, self.filters)
        except FilterError as exc:
            self._count("skipped_orders")
            if str(exc) != self.last_skip:  # say it once, not on every snapshot
                logger.warning("{} not placed: {}", side.value.lower(), exc)
                self.last_skip = str(exc)
            return []
        cid = f"{self.id_prefix}-{self.next_id}-{side.value[0]}"
        cmd = PlaceOrder(client_order_id=cid, symbol=self.symbol, side=side, price=price, quantity=qty,
                         ts_ms=s.ts_snapshot_ms, correlation_id=why)
        self._record("intent", cmd)
        logger.bind(correlation_id=cid).info("order placed: {} {} {} @ {} as {} (on {})", side.value, qty,
                                             self.symbol, price, cid, why)
        to = S.BUYING if side is Side.BUY else S.SELLING
        self._record("transition", {"to": to.value, "reason": f"{side.value.lower()} {qty} @ {price} ({why})", "active": cid})
        self._count("orders")
        return [(EXECUTOR, cmd)]

    def _check_timeout(self, s: MarketSnapshot) -> list[Effect]:
        rec = self.ledger.orders.get(self.active_id or "")
        if rec is None or rec.status.is_terminal or rec.cancel_requested:
            return []
        stop_loss = rec.side is Side.SELL and self._stop_loss_hit(s) and (
            rec.correlation_id != "stop-loss" or s.ask < rec.price)  # chase the market down, not every tick
        timed_out = rec.side is Side.BUY and s.ts_snapshot_ms - rec.created_ms >= self.settings.trading.order_timeout_s * 1000
        if not (timed_out or stop_loss):
            return []
        self.sent_since_ack = True
        reason = "stop-loss" if stop_loss else f"not filled within {self.settings.trading.order_timeout_s} s"
        cmd = CancelOrder(client_order_id=rec.client_order_id, symbol=self.symbol, ts_ms=s.ts_snapshot_ms, reason=reason)
        self._record("cancel", cmd)
        logger.bind(correlation_id=rec.client_order_id).info("cancelling {}: {}", rec.client_order_id, reason)
        return [(EXECUTOR, cmd)]

    # -- helpers ---------------------------------------------------------------------

    def _sample_equity(self, s: MarketSnapshot) -> None:
        if self.equity and s.ts_snapshot_ms - self.equity[-1].ts_ms < self.equity_every_ms:
            return
        led = self.ledger
        self._record("equity", EquityPoint(ts_ms=s.ts_snapshot_ms, mid=s.mid, realized_pnl=led.realized_pnl,
                                           unrealized_pnl=led.qty * s.bid - led.cost if led.qty else ZERO))

    def _add_equity(self, point: EquityPoint) -> None:
        self.equity.append(point)
        if len(self.equity) > 20_000:  # keep every other point, and sample half as often
            self.equity = self.equity[::2]
            self.equity_every_ms *= 2

    def _stop_loss_hit(self, s: MarketSnapshot) -> bool:
        floor = self._stop_loss_floor()
        return floor is not None and s.bid < floor

    def _stop_loss_floor(self) -> Decimal | None:
        sl = self.settings.trading.stop_loss
        c = policy.unit_cost(self.ledger.cost, self.ledger.qty)
        return c * (1 - sl) if sl and c is not None else None

    def _min_sell_price(self) -> Decimal | None:
        if self.filters is None:
            return None
        return policy.min_sell_price(self.ledger.cost, self.ledger.qty, self.fee_rate, self.min_profit, self.filters)

    def _sellable(self, price: Decimal | None = None, use_free: bool = False) -> Decimal:
        """What can be sold: held, on the lot grid, above the minimums.

        Sizing a sell also respects the free balance the exchange reported,
        once that report is newer than the last fill (a buy fee taken in the
        base asset, or anything else the account did, shows up there).
        """
        if self.filters is None:
            return self.ledger.qty
        held = self.ledger.qty
        free = self.free.get(self.ledger.base_asset)
        if use_free and free is not None and self.last_base_balance_fact > self.last_fill_fact:
            held = min(held, free)
        ref = price or self._min_sell_price() or (self.last_snapshot.mid if self.last_snapshot else None)
        if ref is None:
            return held
        return sellable_qty(held, ref, self.filters)

    def _transition(self, to: TradingState, reason: str, order: str = "") -> None:
        self._record("transition", {"to": to.value, "reason": reason, "active": None, "order": order})

    def _halt(self, reason: str) -> None:
        if self.halted is None:
            logger.critical("TRADING HALTED: {}", reason)
            self._record("halt", {"reason": reason})

    def _count(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    def _closed_trades(self) -> int:
        return self.ledger.closed

    # -- views -----------------------------------------------------------------------

    def status(self, recent_trades: int | None = None) -> StatusSnapshot:
        active = self.ledger.orders.get(self.active_id or "")
        trades = self.ledger.trades if recent_trades is None else self.ledger.trades[-recent_trades:] if recent_trades else []
        return StatusSnapshot(
            symbol=self.symbol,
            state=self.machine.state,
            active_order=active.view(self.symbol) if active else None,
            position=self.ledger.position(self._sellable() if self.ledger.qty else ZERO),
            trades=tuple(self.ledger.trade_view(t) for t in trades),
            realized_pnl=self.ledger.realized_pnl,
            fees_paid=self.ledger.fees_paid,
            last_advice=self.last_advice,
            last_snapshot=self.last_snapshot,
            feed_stale=self.feed_stale,
            halted_reason=self.halted,
            stopped_reason=self.stopped,
            counters=tuple(sorted({**self.counters, "refused_transitions": self.machine.refused}.items())),
        )


def replay(core: KeeperCore, facts: Iterable[tuple[int, str, Any]]) -> int:
    """Rebuild `core` from journaled facts, through `apply` (the code that ran live); returns the count."""
    core.replaying = True
    n = 0
    try:
        for _seq, kind, payload in facts:
            if kind == "session" and n == 0:
                core.id_prefix = payload.get("id_prefix", core.id_prefix)
            core.apply(kind, payload)
            n += 1
    finally:
        core.replaying = False
    return n


def _counter(client_order_id: str) -> int:
    parts = client_order_id.split("-")
    try:
        return int(parts[-2]) if len(parts) >= 3 else 0
    except ValueError:
        return 0
