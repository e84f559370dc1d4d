"""The Binance venue: the executor's commands and their answers, on the actor thread.

Threading: every method of `BinanceVenue` runs on the actor thread; requests
run on the `order-executor-io` loop through `Tasks` and come back as `Done`
messages (see `tasks`), so every decision about an order is made on one
thread, in the order the facts arrived.

Unknown outcomes: a POST that times out, meets a 5xx or -1006/-1007/-1001, or
loses its connection is never sent again. Subscribers get
`OrderOutcomeUnknown`, then the order is looked up by client order id with
backoff until the exchange knows it; what each failed lookup means is the
pure `lookup.verdict`.

The rest of the venue: `account` (exchangeInfo, balances, the closed-market poll),
`reconcile` (stream events, openOrders, myTrades, lookups), `errors`, `parse`.

Shutdown: places and cancels already told are given `shutdown_grace_s` to
reach the exchange (the StateKeeper's cancel-on-exit arrives just before the
stop), then every task is cancelled and the sessions are closed on the loop.

Rate limits: a 429/418 pauses every request until `Retry-After` has passed
(see `rest`); commands told meanwhile wait, none is dropped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pykka
from loguru import logger

from actors._lib.faults import crash_point
from actors._lib.secrets import Secret, redact
from actors.binance import constants as c
from actors.binance import parse
from actors.binance.account import Account
from actors.binance.config import BinanceTuning
from actors.binance.errors import OutcomeUnknown, Refused, why
from actors.binance.reconcile import LookupLoop, Reconciler
from actors.binance.rest import BinanceRest
from actors.binance.signing import Signer
from actors.binance.tasks import Tasks, cancel_all_but_me
from actors.binance.user_stream import StreamDown, StreamUp, UserEvent, UserStream
from actors.domain.rules import FilterError, check_order, fmt
from actors.messages import (
    BalanceUpdated,
    CancelOrder,
    FeesUpdated,
    OrderOutcomeUnknown,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    QueryOrder,
    Side,
    SymbolFilters,
)
from actors.order_executor.tracking import TrackedOrder, apply

if TYPE_CHECKING:
    from actors.settings import Settings

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


class BinanceVenue(Reconciler):
    def __init__(
        self,
        *,
        settings: Settings,
        actor_ref: pykka.ActorRef[Any],
        publish: Callable[[Any, bool], None],
        api_key: Secret,
        signer: Signer,
        clock: Callable[[], int],
        tuning: BinanceTuning,
    ) -> None:
        self.settings = settings
        self.symbol = settings.symbol
        self._publish_fn = publish
        self._clock = clock
        self.tuning = tuning
        self._policy = tuning.lookup
        self._api_key = api_key
        self._signer = signer
        self._tasks = Tasks(actor_ref, "order-executor-io")
        self._orders: dict[str, TrackedOrder] = {}
        self._lookups: dict[str, LookupLoop] = {}
        self._answer_wanted: set[str] = set()
        self._reconcile_inflight = False
        self._reconcile_again = False
        self.stream_up = False
        self._stream_epoch = 0  # +1 per subscription: tells whether an answer may predate a gap
        self._sent_epoch: dict[str, int] = {}
        self._polling = False
        self.counters = {"orders_sent": 0, "local_rejects": 0, "reconciliations": 0, "stream_drops": 0, "lookups": 0}
        self._rest = BinanceRest(
            settings.exchange.rest_url,
            api_key,
            signer,
            recv_window_ms=settings.exchange.recv_window_ms,
            timeout_s=tuning.request_timeout_s,
            max_rate_limit_retries=tuning.max_rate_limit_retries,
            default_retry_after_s=tuning.default_retry_after_s,
        )
        self.account = Account(settings=settings, rest=self._rest, tasks=self._tasks, tuning=tuning, publish=publish)
        self._stream: UserStream | None = None

    @property
    def filters(self) -> SymbolFilters | None:
        return self.account.filters

    def current_balances(self) -> list[BalanceUpdated]:
        return self.account.current_balances()

    @property
    def fees(self) -> FeesUpdated | None:
        return self.account.fees

    def _publish(self, msg: Any, count: bool) -> None:
        self._publish_fn(msg, count)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._tasks.start()
        self.account.load_info()
        self.account.load()
        if self.tuning.user_stream:
            tell = self._tasks.tell
            self._stream = UserStream(
                self._rest,
                self.settings.exchange.ws_api_url,
                self._api_key,
                self._signer,
                on_event=lambda ev: tell(UserEvent(ev)),
                on_up=lambda n: tell(StreamUp(n)),
                on_down=lambda why_: tell(StreamDown(why_)),
                backoff_initial_s=self.tuning.reconnect_initial_s,
                backoff_max_s=self.tuning.reconnect_max_s,
                heartbeat_s=self.tuning.heartbeat_s,
                request_timeout_s=self.tuning.request_timeout_s,
            )
            self._tasks.submit(self._stream.run())
        else:  # no stream at all: REST polling is the only source of fills
            self.on_stream_down(StreamDown("no user-data stream configured"))

    def stop(self) -> None:
        io = self._tasks.take_io()
        if io is None:
            return
        self._finish_order_requests(io)
        try:
            io.submit(self._aclose()).result(timeout=5)
        except Exception as exc:  # noqa: BLE001 - shutting down: log and go on
            logger.warning("order executor: closing the connections failed: {}", redact(repr(exc)))
        io.stop()

    def _finish_order_requests(self, io: Any) -> None:
        """Let places and cancels already told reach the exchange before the loop closes.

        On exit with `cancel_on_exit` the StateKeeper's CancelOrders arrive just
        before the stop. A cancel may also be waiting for its order's POST to be
        answered (`cancel_wanted`); that answer can no longer be processed, so
        the DELETE goes out here directly: by client order id it is right either
        way (cancelled if the order landed, -2011 if it did not).
        """
        grace = self.tuning.shutdown_grace_s
        deadline = time.monotonic() + grace
        pending = self._tasks.pending_critical()
        if pending:
            logger.info("order executor: waiting up to {}s for {} order request(s) in flight", grace, len(pending))
            concurrent.futures.wait(pending, timeout=grace)
        futures = {}
        for t in [t for t in self._orders.values() if t.cancel_wanted and not t.terminal]:
            params = [("symbol", self.symbol), ("origClientOrderId", t.client_order_id)]
            futures[t.client_order_id] = io.submit(self._rest.signed("DELETE", c.ORDER_PATH, params))
        if futures:
            concurrent.futures.wait(list(futures.values()), timeout=max(0.1, deadline - time.monotonic()))
        for cid, fut in futures.items():
            if not fut.done():
                logger.error("order executor: the cancel of {} is unanswered at shutdown", cid)
            elif fut.exception() is not None:
                logger.warning("order executor: cancel of {} at shutdown: {}", cid, why(fut.exception()))
            else:
                logger.info("order executor: {} cancelled at shutdown", cid)
        if left := self._tasks.pending_critical():
            logger.error("order executor: {} order request(s) still unanswered at shutdown; "
                         "their outcome is unknown until the next start", len(left))

    async def _aclose(self) -> None:
        await cancel_all_but_me()
        if self._stream is not None:
            await self._stream.close()
        await self._rest.close()
        await asyncio.sleep(0)

    def _prune(self) -> None:
        """Forget the oldest finished orders beyond `max_tracked_orders` (the dict keeps insertion order)."""
        excess = len(self._orders) - self.tuning.max_tracked_orders
        if excess <= 0:
            return
        busy = set(self._lookups) | set(self._sent_epoch)
        done = [cid for cid, t in self._orders.items() if t.terminal and cid not in busy and not t.fetching_trades]
        for cid in done[:excess]:
            del self._orders[cid]

    # -- commands ------------------------------------------------------------------------

    def place(self, cmd: PlaceOrder) -> None:
        t = self._orders.get(cmd.client_order_id)
        if t is not None and (t.sent or t.acked or t.exchange_order_id):
            logger.warning("PlaceOrder {} repeats a client order id already sent: not sent again", cmd.client_order_id)
            self.query(QueryOrder(client_order_id=cmd.client_order_id, symbol=cmd.symbol))
            return
        reason = self._refusal(cmd)
        if reason:
            self.counters["local_rejects"] += 1
            logger.warning("order {} refused locally: {}", cmd.client_order_id, reason)
            self._publish(OrderUpdate(symbol=cmd.symbol, client_order_id=cmd.client_order_id,
                                      status=OrderStatus.REJECTED, side=cmd.side, price=cmd.price,
                                      orig_qty=cmd.quantity, ts_ms=self._clock(), reject_reason=reason), True)
            return
        t = TrackedOrder(client_order_id=cmd.client_order_id, symbol=cmd.symbol, side=cmd.side, price=cmd.price,
                         orig_qty=cmd.quantity, sent=True, inflight=True)
        self._orders[t.client_order_id] = t
        self._sent_epoch[t.client_order_id] = self._stream_epoch if self.stream_up else -1
        self._prune()
        self.counters["orders_sent"] += 1
        params = [
            ("symbol", cmd.symbol),
            ("side", cmd.side.value),
            ("type", "LIMIT"),
            ("timeInForce", cmd.time_in_force),
            ("quantity", fmt(cmd.quantity)),
            ("price", fmt(cmd.price)),
            ("newClientOrderId", cmd.client_order_id),
            ("newOrderRespType", "FULL"),
        ]
        logger.info(
            "placing {} {} {} @ {} ({})", cmd.side.value, fmt(cmd.quantity), cmd.symbol, fmt(cmd.price), cmd.client_order_id
        )
        self._tasks.spawn(lambda: self._rest.signed("POST", c.ORDER_PATH, params), self._on_placed,
                          t.client_order_id, critical=True)

    def _refusal(self, cmd: PlaceOrder) -> str:
        if cmd.symbol != self.symbol:
            return f"unknown symbol {cmd.symbol} (this executor trades {self.symbol})"
        if not _CLIENT_ID.match(cmd.client_order_id):
            return "client order id must be 1-36 characters of A-Z a-z 0-9 _ -"
        if cmd.time_in_force not in c.TIME_IN_FORCE:
            return f"time in force {cmd.time_in_force} is not one of GTC, IOC, FOK"
        f = self.account.filters
        if f is None:
            return "exchange rules (exchangeInfo) not loaded yet"
        try:
            check_order(cmd.side, cmd.price, cmd.quantity, f)
        except FilterError as exc:
            return str(exc)
        asset, need = (f.quote_asset, cmd.price * cmd.quantity) if cmd.side is Side.BUY else (f.base_asset, cmd.quantity)
        held = self.account.balances.get(asset)
        if held is not None and held.free < need:
            return f"insufficient balance: needs {need} {asset}, {held.free} free"
        return ""

    def _on_placed(self, result: Any, error: BaseException | None, cid: str) -> None:
        t = self._orders.get(cid)
        if t is None:  # forgotten long ago (see _prune): nothing left to settle
            return
        t.inflight = False
        sent_epoch = self._sent_epoch.pop(cid, -1)
        if error is None:
            crash_point("after_accept")  # the exchange has the order; the keeper has not heard yet
            try:
                self._apply_post_answer(t, result)
            except parse.ParseError as exc:  # it was accepted: find out what it is by asking
                logger.warning("order {}: the POST answer cannot be read ({}); looking it up", cid, exc)
                self._lookup(t)
                return
            if not t.terminal and (not self.stream_up or sent_epoch != self._stream_epoch):
                # the stream was down or reconnected while this POST was out: its events may be lost
                self._lookup(t)
        elif isinstance(error, Refused):
            if error.duplicate:
                # an open order already has this id: the first POST did land; find out its state
                logger.warning("order {}: exchange says duplicate; looking it up", cid)
                t.unknown = True
                self._lookup(t)
                return
            if error.market_closed:
                self.account.market_closed()  # re-read the rules now, then every minute until it reopens
            elif error.code == c.INVALID_MESSAGE:
                self.account.load_info("once")  # the rules may have changed under us
            logger.warning("order {} rejected by the exchange: {}", cid, error.reason)
            self._emit(t, OrderUpdate(symbol=t.symbol, client_order_id=cid, status=OrderStatus.REJECTED,
                                      ts_ms=self._clock(), reject_reason=error.reason))
        else:
            reason = why(error)
            t.unknown = True
            t.sent_ts_ms = self._rest.server_ms()  # an upper bound of the timestamp the POST carried
            logger.warning("order {}: outcome unknown ({}); looking it up by client order id", cid, reason)
            self._publish(OrderOutcomeUnknown(client_order_id=cid, symbol=t.symbol, reason=reason,
                                              ts_ms=self._clock()), True)
            self._lookup(t)
            return
        self._after_known(t)

    def _apply_post_answer(self, t: TrackedOrder, o: dict[str, Any]) -> None:
        snap = parse.order(o, self.symbol)
        if fills := o.get("fills") or []:
            fill_updates = parse.trades(t.side, t.orig_qty, fills, t.client_order_id, self.symbol,
                                        snap.exchange_order_id, int(o.get("transactTime") or 0))
            for u in fill_updates:
                self._emit(t, u)
        self._apply_rest_order(t, snap, answer=False)

    def _after_known(self, t: TrackedOrder) -> None:
        """The POST's outcome is settled: a cancel that waited for it may go out now."""
        if t.cancel_wanted and not t.terminal and not t.inflight and not t.unknown:
            t.cancel_wanted = False
            self._send_cancel(t)

    def cancel(self, cmd: CancelOrder) -> None:
        t = self._track(cmd.client_order_id)
        if t.terminal:
            self._publish(t.current(), False)  # the true outcome, never a fake CANCELED
            return
        if t.inflight or t.unknown:
            t.cancel_wanted = True  # sent once the exchange has told us the order exists
            return
        self._send_cancel(t)

    def _send_cancel(self, t: TrackedOrder) -> None:
        params = [("symbol", self.symbol), ("origClientOrderId", t.client_order_id)]
        self._tasks.spawn(lambda: self._rest.signed("DELETE", c.ORDER_PATH, params), self._on_canceled,
                          t.client_order_id, critical=True)

    def _on_canceled(self, result: Any, error: BaseException | None, cid: str) -> None:
        t = self._orders.get(cid)
        if t is None:  # forgotten long ago (see _prune): nothing left to settle
            return
        if error is None:
            try:  # CANCELED (with whatever filled first); if the stream already said so, nothing new is told
                self._apply_rest_order(t, parse.order(result, self.symbol), answer=False)
                return
            except parse.ParseError as exc:
                error = exc
        if isinstance(error, Refused) and error.code == c.CANCEL_REJECTED:
            logger.info("cancel {}: {}; asking for the order's true state", cid, error.msg)
        elif isinstance(error, OutcomeUnknown):
            logger.warning("cancel {}: outcome unknown ({}); asking for the order's state", cid, error.reason)
            self._publish(OrderOutcomeUnknown(client_order_id=cid, symbol=t.symbol, reason=f"cancel: {error.reason}",
                                              ts_ms=self._clock()), True)
        else:
            logger.warning("cancel {} failed: {}; asking for the order's state", cid, why(error))
        self._answer_wanted.add(cid)
        self._lookup(t)

    def query(self, cmd: QueryOrder) -> None:
        t = self._track(cmd.client_order_id)
        if t.terminal:
            self._publish(t.current(), False)
            return
        self._answer_wanted.add(t.client_order_id)
        self._lookup(t)

    def _track(self, cid: str) -> TrackedOrder:
        t = self._orders.get(cid)
        if t is None:
            t = self._orders[cid] = TrackedOrder(client_order_id=cid, symbol=self.symbol)
        return t

    def _emit(self, t: TrackedOrder, inc: OrderUpdate) -> int:
        """Merge `inc` into the order and tell subscribers what is new; returns how many updates."""
        was_terminal = t.terminal
        out = apply(t, inc)
        filled = False
        for u in out:
            self._publish(u, True)
            filled = filled or u.last_qty > 0
        if filled:
            self.account.schedule_refresh()
        if out and t.terminal and not was_terminal:
            t.unknown = False
            t.cancel_wanted = False
        return len(out)

    # -- stats -------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        values: dict[str, Any] = dict(self._rest.stats())
        values.update(self.counters)
        values["open_orders"] = sum(1 for t in self._orders.values() if not t.terminal and (t.acked or t.sent))
        values["unknown_pending"] = sum(1 for t in self._orders.values() if t.unknown)
        values["lookups_pending"] = len(self._lookups)  # orders being asked about (a run's exit waits for them)
        values["stream_up"] = int(self.stream_up)
        values["stream_connects"] = self._stream.connects if self._stream else 0
        values["exchange_info_reads"] = self.account.info_reads
        return values


__all__ = ["BinanceTuning", "BinanceVenue"]
