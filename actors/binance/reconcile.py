"""Catching up with the exchange: the user-data stream's events, REST views, openOrders and myTrades.

After every (re)subscription of the user-data stream, every order this
executor knows is open or unknown is checked with `GET /api/v3/openOrders`,
then looked up (`GET /api/v3/order`) when no longer open, and its trades are
fetched (`GET /api/v3/myTrades?orderId=`) whenever the exchange reports more
filled than was emitted, so the fills missed during a gap come out with their
trade ids and commissions. While the stream stays down, the same
reconciliation runs every `poll_while_down_s`.

`Reconciler` is the part of `BinanceVenue` that does this (a mixin: it shares
the venue's order book-keeping on the actor thread); `split_open` is its pure
step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loguru import logger

from actors.binance import constants as c
from actors.binance import lookup, parse
from actors.binance.errors import Refused, why
from actors.binance.tasks import noop
from actors.binance.user_stream import StreamDown, StreamUp, UserEvent
from actors.messages import OrderOutcomeUnknown, OrderStatus, OrderUpdate
from actors.order_executor.paper import UNKNOWN_ORDER

if TYPE_CHECKING:
    from actors.binance.account import Account
    from actors.binance.config import BinanceTuning
    from actors.binance.rest import BinanceRest
    from actors.binance.tasks import Tasks
    from actors.order_executor.tracking import TrackedOrder
    from actors.settings import Settings


def split_open(cids: tuple[str, ...], open_orders: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Which of `cids` the openOrders answer lists (with their rows), and which it does not."""
    by_cid = {o.get("clientOrderId"): o for o in open_orders if isinstance(o, dict)}
    still = {cid: by_cid[cid] for cid in cids if cid in by_cid}
    return still, [cid for cid in cids if cid not in still]


@dataclass(slots=True)
class LookupLoop:
    """One order-lookup loop (GET /api/v3/order until the answer is definitive)."""

    attempt: int = 0
    not_found: int = 0
    started: float = field(default_factory=time.monotonic)


class Reconciler:
    """The venue's catching-up half; the attributes and hooks below are the venue's."""

    symbol: str
    tuning: BinanceTuning
    account: Account
    counters: dict[str, int]
    stream_up: bool
    _orders: dict[str, TrackedOrder]
    _rest: BinanceRest
    _tasks: Tasks
    _stream_epoch: int
    _polling: bool
    _reconcile_inflight: bool
    _reconcile_again: bool
    settings: Settings
    _clock: Callable[[], int]
    _policy: lookup.LookupPolicy
    _lookups: dict[str, LookupLoop]
    _answer_wanted: set[str]

    def _publish(self, msg: Any, count: bool) -> None:
        raise NotImplementedError

    def _track(self, cid: str) -> TrackedOrder:
        raise NotImplementedError

    def _after_known(self, t: TrackedOrder) -> None:
        raise NotImplementedError

    def _emit(self, t: TrackedOrder, inc: OrderUpdate) -> int:
        raise NotImplementedError

    # -- applying REST views ---------------------------------------------------------------

    def _apply_rest_order(self, t: TrackedOrder, snap: OrderUpdate, *, answer: bool) -> None:
        """A REST view of the order: fetch its trades first if it filled more than was emitted."""
        if snap.cum_qty > t.cum_qty and snap.exchange_order_id:
            t.fetching_trades = True
            params = [("symbol", self.symbol), ("orderId", snap.exchange_order_id)]
            self._tasks.spawn(
                lambda: self._rest.signed("GET", c.MY_TRADES_PATH, params),
                self._on_trades,
                (t.client_order_id, snap, answer),
            )
            return
        emitted = self._emit(t, snap)
        if answer and not emitted:
            self._publish(t.current(), False)

    def _on_trades(self, result: Any, error: BaseException | None, ctx: tuple[str, OrderUpdate, bool]) -> None:
        cid, snap, answer = ctx
        t = self._orders.get(cid)
        if t is None:
            return
        t.fetching_trades = False
        emitted = 0
        if error is None and isinstance(result, list):
            try:
                fills = parse.trades(t.side or snap.side, t.orig_qty or snap.orig_qty, result, cid, self.symbol,
                                     snap.exchange_order_id, snap.ts_ms)
            except parse.ParseError as exc:
                logger.warning("myTrades for {}: {}; reporting the fill without trade details", cid, exc)
                fills = []
            for u in fills:
                emitted += self._emit(t, u)
        elif error is not None:
            logger.warning("myTrades for {} failed ({}): reporting the fill without trade details", cid, why(error))
        emitted += self._emit(t, snap)
        if answer and not emitted:
            self._publish(t.current(), False)

    # -- the user-data stream ------------------------------------------------------------------

    def on_stream_up(self, msg: StreamUp) -> None:
        self.stream_up = True
        self._stream_epoch += 1
        if msg.connects > 1:
            logger.info("user-data stream back (connection {}): reconciling", msg.connects)
            self.account.load()
        self._reconcile()

    def on_stream_down(self, msg: StreamDown) -> None:
        if self.stream_up:
            self.counters["stream_drops"] += 1
            logger.warning("user-data stream lost ({}): order events will be reconciled by REST", msg.reason)
        self.stream_up = False
        if not self._polling:
            self._polling = True
            self._tasks.spawn(noop, self._poll_while_down, None, self.tuning.poll_while_down_s)

    def _poll_while_down(self, _r: Any, _e: BaseException | None, _c: Any) -> None:
        """While the stream stays down, REST is the only way to see fills: reconcile now and then."""
        if self.stream_up:
            self._polling = False
            return
        self._reconcile()
        self._tasks.spawn(noop, self._poll_while_down, None, self.tuning.poll_while_down_s)

    def on_user_event(self, msg: UserEvent) -> None:
        ev = msg.event
        kind = ev.get("e")
        try:
            if kind == parse.EXECUTION_REPORT:
                if ev.get("s") != self.symbol:
                    return
                u = parse.execution_report(ev)
                t = self._track(u.client_order_id)
                if u.status is not OrderStatus.REJECTED:
                    t.unknown = False  # any report for it proves it reached the exchange
                self._emit(t, u)
                self._after_known(t)
            elif kind == parse.ACCOUNT_POSITION:
                for b in parse.account_position(ev):
                    self.account.set_balance(b)
            elif kind == parse.BALANCE_UPDATE:
                self.account.load()
        except parse.ParseError as exc:  # one line, and nothing changes: reconciliation will catch up
            logger.warning("user-data stream: a {} that cannot be read: {}", kind, exc)

    # -- reconciliation --------------------------------------------------------------------------

    def _reconcile(self) -> None:
        if self._reconcile_inflight:
            self._reconcile_again = True
            return
        cids = tuple(c for c, t in self._orders.items() if not t.terminal and (t.sent or t.acked) and not t.inflight)
        if not cids:
            return
        self._reconcile_inflight = True
        self.counters["reconciliations"] += 1
        self._tasks.spawn(
            lambda: self._rest.signed("GET", c.OPEN_ORDERS_PATH, [("symbol", self.symbol)]),
            self._on_open_orders,
            cids,
        )

    def _on_open_orders(self, result: Any, error: BaseException | None, cids: tuple[str, ...]) -> None:
        self._reconcile_inflight = False
        if error is not None or not isinstance(result, list):
            logger.warning("reconciliation: openOrders failed ({}); trying again", why(error))
            self._reconcile_again = False
            self._tasks.spawn(noop, lambda *_: self._reconcile(), None, self.tuning.retry_s)
            return
        still_open, _gone = split_open(cids, result)
        for cid in cids:
            t = self._orders.get(cid)
            if t is None or t.terminal:
                continue
            if cid in still_open:
                try:
                    snap = parse.order(still_open[cid], self.symbol)
                except parse.ParseError as exc:
                    logger.warning("reconciliation: open order {} cannot be read ({}); looking it up", cid, exc)
                    self._lookup(t)
                    continue
                t.unknown = False
                self._apply_rest_order(t, snap, answer=False)
                self._after_known(t)
            else:
                self._lookup(t)  # no longer open (filled, cancelled, expired) or never landed
        if self._reconcile_again:
            self._reconcile_again = False
            self._reconcile()

    # -- looking an order up (what a failed lookup means is `lookup.verdict`) ----------------------

    def _lookup(self, t: TrackedOrder, delay: float = 0.0, *, retry: bool = False) -> None:
        cid = t.client_order_id
        if cid in self._lookups and not retry:
            return  # a loop is already running; it will answer
        self._lookups.setdefault(cid, LookupLoop())
        self.counters["lookups"] += 1
        params = [("symbol", self.symbol), ("origClientOrderId", cid)]
        self._tasks.spawn(lambda: self._rest.signed("GET", c.ORDER_PATH, params), self._on_lookup, cid, delay)

    def _end_lookup(self, cid: str) -> bool:
        self._lookups.pop(cid, None)
        if cid in self._answer_wanted:
            self._answer_wanted.discard(cid)
            return True
        return False

    def _on_lookup(self, result: Any, error: BaseException | None, cid: str) -> None:
        t = self._orders.get(cid)
        if t is None:  # forgotten long ago (see _prune): nothing left to settle
            return
        lk = self._lookups.setdefault(cid, LookupLoop())
        if error is None:
            try:
                snap = parse.order(result, self.symbol)
            except parse.ParseError as exc:
                error = exc  # an unreadable answer counts as no answer: ask again
            else:
                answer = self._end_lookup(cid)
                t.unknown = False
                self._apply_rest_order(t, snap, answer=answer)
                self._after_known(t)
                return
        refused = error if isinstance(error, Refused) else None
        code = refused.code if refused else None
        if code == c.NO_SUCH_ORDER:
            lk.not_found += 1
        v = lookup.verdict(
            code=code, http_status=refused.http_status if refused else None, not_found=lk.not_found, acked=t.acked,
            unknown=t.unknown, inflight=t.inflight, settled=t.terminal and not t.unknown,
            landing_window_passed=self._landing_window_passed(t, lk), attempt=lk.attempt, policy=self._policy,
        )
        if isinstance(v, lookup.Retry):
            if code != c.NO_SUCH_ORDER:
                logger.warning("looking up order {} failed ({}); trying again", cid, why(error))
            lk.attempt += 1
            self._lookup(t, delay=v.delay, retry=True)
        elif isinstance(v, lookup.Resolved):
            if self._end_lookup(cid):
                self._publish(t.current(), False)
        elif isinstance(v, lookup.NeverLanded):
            self._end_lookup(cid)
            t.unknown = False
            t.cancel_wanted = False
            logger.warning("order {} never reached the exchange (-2013 after the grace period)", cid)
            self._emit(t, OrderUpdate(symbol=t.symbol, client_order_id=cid, status=OrderStatus.REJECTED,
                                      ts_ms=self._clock(), reject_reason=UNKNOWN_ORDER))
        elif isinstance(v, lookup.Archived):
            self._end_lookup(cid)
            t.unknown = False
            self._emit(t, OrderUpdate(symbol=t.symbol, client_order_id=cid, status=OrderStatus.CANCELED,
                                      ts_ms=self._clock(), reject_reason="order archived (-2026)"))
        else:  # GiveUp: a definitive refusal that retrying will not change (bad key, bad params...)
            logger.error("looking up order {} failed for good: {}", cid, why(error))
            self._end_lookup(cid)
            self._publish(OrderOutcomeUnknown(client_order_id=cid, symbol=t.symbol,
                                              reason=f"lookup failed: {why(error)}", ts_ms=self._clock()), True)

    def _landing_window_passed(self, t: TrackedOrder, lk: LookupLoop) -> bool:
        if t.sent and t.sent_ts_ms:
            limit = t.sent_ts_ms + self.settings.exchange.recv_window_ms + self.tuning.landing_grace_ms
            return self._rest.server_ms() > limit
        # not sent by this run (a restart): a POST of the previous run is dead after recvWindow too
        window_s = (self.settings.exchange.recv_window_ms + self.tuning.landing_grace_ms) / 1000
        return time.monotonic() - lk.started >= max(self.tuning.foreign_query_grace_s, window_s)
