"""The executor's Binance side: order state on the actor thread, I/O on the `order-executor-io` loop.

Threading: every method of `BinanceVenue` runs on the actor thread, except
the coroutines it hands to the loop. A coroutine never touches venue state;
it ends by telling the actor `_Done(handler, result, error, ctx)` and the
actor calls `handler` on its own thread. So every decision about an order
is made on one thread, in the order the facts arrived.

Unknown outcomes: a POST that times out, meets a 5xx or -1006/-1007/-1001, or
loses its connection is never sent again. Subscribers get
`OrderOutcomeUnknown`, then the order is looked up by client order id with
backoff until the exchange knows it; -2013 counts as "never landed" only
after several answers AND once the POST's `timestamp` is more than
`recvWindow` (+ a grace) in the past on the server's clock, because from then
on the exchange itself would refuse the request if it were still in flight.

Reconciliation: after every (re)subscription of the user-data stream, every
order this executor knows is open or unknown is checked with
`GET /api/v3/openOrders`, then `GET /api/v3/order` for the ones no longer
open, and `GET /api/v3/myTrades?orderId=` whenever the exchange reports more
filled than was emitted, so the fills missed during the gap come out with
their trade ids and commissions. While the stream stays down, the same
reconciliation runs every `poll_while_down_s`; a POST answered while the
stream was down (or across a reconnect) is looked up once more.

Shutdown: places and cancels already told are given `shutdown_grace_s` to
reach the exchange (the StateKeeper's cancel-on-exit arrives just before the
stop), then every task is cancelled and the sessions are closed on the loop.

Rate limits: a 429/418 pauses every request until `Retry-After` has passed
(see `binance_rest`); commands told meanwhile wait, none is dropped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pykka
from loguru import logger

from actors.aio import LoopThread
from actors.faults import crash_point
from actors.messages import (
    BalanceUpdated,
    CancelOrder,
    FiltersUpdated,
    OrderOutcomeUnknown,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    QueryOrder,
    Side,
    SymbolFilters,
)
from actors.order_executor.binance_rest import (
    BinanceAPIError,
    BinanceRest,
    OutcomeUnknownError,
    account_to_balances,
    order_to_update,
    trades_to_updates,
)
from actors.order_executor.filters import FilterError, check_order, fmt, parse_exchange_info
from actors.order_executor.paper import UNKNOWN_ORDER
from actors.order_executor.signing import Signer
from actors.order_executor.tracking import TrackedOrder, apply
from actors.order_executor.user_stream import (
    UserStream,
    account_position_to_balances,
    execution_report_to_update,
)
from actors.secrets import Secret, redact

if TYPE_CHECKING:
    from actors.settings import Settings

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class BinanceTuning:
    """Delays and limits; the defaults suit production, tests shrink them."""

    request_timeout_s: float = 10.0
    query_backoff_s: float = 0.25  # first wait before looking up an order; doubles per try
    query_backoff_max_s: float = 5.0
    landing_grace_ms: int = 1000  # beyond recvWindow before -2013 may mean "never landed"
    min_not_found: int = 3  # -2013 answers needed (at least) before declaring that
    foreign_query_grace_s: float = 3.0  # the same wait (at least recvWindow + grace) for an order not sent by this run
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 30.0
    heartbeat_s: float = 20.0
    account_refresh_delay_s: float = 0.2  # coalesces the account reads after a burst of fills
    retry_s: float = 5.0  # exchangeInfo / account / openOrders after a failure
    poll_while_down_s: float = 10.0  # reconcile by REST this often while the user-data stream is down
    max_tracked_orders: int = 5000  # finished orders kept for duplicate-id checks and late events
    shutdown_grace_s: float = 5.0  # on stop, how long a place or cancel already sent may take to finish
    max_rate_limit_retries: int = 5
    default_retry_after_s: float = 5.0
    user_stream: bool = True


@dataclass(frozen=True, slots=True)
class Done:
    """A coroutine finished: the actor runs `handler(result, error, ctx)` on its own thread."""

    handler: Callable[[Any, BaseException | None, Any], None]
    result: Any
    error: BaseException | None
    ctx: Any = None


@dataclass(frozen=True, slots=True)
class StreamUp:
    connects: int


@dataclass(frozen=True, slots=True)
class StreamDown:
    reason: str


@dataclass(frozen=True, slots=True)
class UserEvent:
    event: dict = field(hash=False)


@dataclass(slots=True)
class _Lookup:
    """One order-lookup loop (GET /api/v3/order until the answer is definitive)."""

    attempt: int = 0
    not_found: int = 0
    started: float = field(default_factory=time.monotonic)


class BinanceVenue:
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
        self._ref = actor_ref
        self._publish = publish
        self._clock = clock
        self.tuning = tuning
        self._api_key = api_key
        self._signer = signer
        self.filters: SymbolFilters | None = None
        self.balances: dict[str, BalanceUpdated] = {}
        self._assets = (settings.exchange.base_asset, settings.exchange.quote_asset)
        self._orders: dict[str, TrackedOrder] = {}
        self._lookups: dict[str, _Lookup] = {}
        self._answer_wanted: set[str] = set()
        self._account_inflight = False
        self._account_again = False
        self._account_scheduled = False
        self._reconcile_inflight = False
        self._reconcile_again = False
        self._info_loads = 0
        self.stream_up = False
        self._stream_epoch = 0  # +1 per subscription: tells whether an answer may predate a gap
        self._sent_epoch: dict[str, int] = {}
        self._polling = False
        self._critical: set[concurrent.futures.Future[Any]] = set()
        self._stopping = False
        self.counters = {
            "orders_sent": 0,
            "local_rejects": 0,
            "reconciliations": 0,
            "stream_drops": 0,
            "lookups": 0,
        }
        self._rest = BinanceRest(
            settings.exchange.rest_url,
            api_key,
            signer,
            recv_window_ms=settings.exchange.recv_window_ms,
            timeout_s=tuning.request_timeout_s,
            max_rate_limit_retries=tuning.max_rate_limit_retries,
            default_retry_after_s=tuning.default_retry_after_s,
        )
        self._stream: UserStream | None = None
        self._io: LoopThread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._io = LoopThread("order-executor-io")
        self._io.start()
        self._load_info(periodic=True)
        self._load_account()
        if self.tuning.user_stream:
            self._stream = UserStream(
                self._rest,
                self.settings.exchange.ws_api_url,
                self._api_key,
                self._signer,
                on_event=lambda ev: self._tell(UserEvent(ev)),
                on_up=lambda n: self._tell(StreamUp(n)),
                on_down=lambda why: self._tell(StreamDown(why)),
                backoff_initial_s=self.tuning.reconnect_initial_s,
                backoff_max_s=self.tuning.reconnect_max_s,
                heartbeat_s=self.tuning.heartbeat_s,
                request_timeout_s=self.tuning.request_timeout_s,
            )
            self._io.submit(self._stream.run())
        else:  # no stream at all: REST polling is the only source of fills
            self._polling = True
            self._spawn(_noop, self._poll_while_down, None, self.tuning.poll_while_down_s)

    def stop(self) -> None:
        self._stopping = True
        io, self._io = self._io, None
        if io is None or not io.alive:
            return
        self._finish_order_requests(io)
        try:
            io.submit(self._aclose()).result(timeout=5)
        except Exception as exc:  # noqa: BLE001 - shutting down: log and go on
            logger.warning("order executor: closing the connections failed: {}", redact(repr(exc)))
        io.stop()

    def _finish_order_requests(self, io: LoopThread) -> None:
        """Let places and cancels already told reach the exchange before the loop closes.

        On exit with `cancel_on_exit` the StateKeeper's CancelOrders arrive just
        before the stop. A cancel may also be waiting for its order's POST to be
        answered (`cancel_wanted`); that answer can no longer be processed, so
        the DELETE goes out here directly: by client order id it is right either
        way (cancelled if the order landed, -2011 if it did not).
        """
        deadline = time.monotonic() + self.tuning.shutdown_grace_s
        pending = [f for f in list(self._critical) if not f.done()]
        if pending:
            logger.info("order executor: waiting up to {}s for {} order request(s) in flight",
                        self.tuning.shutdown_grace_s, len(pending))
            concurrent.futures.wait(pending, timeout=self.tuning.shutdown_grace_s)
        late = [t for t in self._orders.values() if t.cancel_wanted and not t.terminal]
        futures = {}
        for t in late:
            params = [("symbol", self.symbol), ("origClientOrderId", t.client_order_id)]
            futures[t.client_order_id] = io.submit(self._rest.signed("DELETE", "/api/v3/order", params))
        if futures:
            concurrent.futures.wait(list(futures.values()), timeout=max(0.1, deadline - time.monotonic()))
        for cid, fut in futures.items():
            if not fut.done():
                logger.error("order executor: the cancel of {} is unanswered at shutdown", cid)
            elif fut.exception() is not None:
                logger.warning("order executor: cancel of {} at shutdown: {}", cid, _why(fut.exception()))
            else:
                logger.info("order executor: {} cancelled at shutdown", cid)
        left = [f for f in list(self._critical) if not f.done()]
        if left:
            logger.error("order executor: {} order request(s) still unanswered at shutdown; "
                         "their outcome is unknown until the next start", len(left))

    async def _aclose(self) -> None:
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._stream is not None:
            await self._stream.close()
        await self._rest.close()
        await asyncio.sleep(0)

    def _tell(self, msg: Any) -> None:
        try:
            self._ref.tell(msg)
        except pykka.ActorDeadError:
            pass

    def _spawn(
        self,
        factory: Callable[[], Coroutine[Any, Any, Any]],
        handler: Callable[[Any, BaseException | None, Any], None],
        ctx: Any = None,
        delay: float = 0.0,
        *,
        critical: bool = False,
    ) -> None:
        """Run `factory()` on the loop (after `delay` s); its outcome comes back as `Done`.

        `critical` marks a request that changes orders (place, cancel): stopping waits for it.
        """
        io = self._io
        if io is None or self._stopping:
            return

        async def job() -> None:
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                result, error = await factory(), None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - handed to the actor thread as data
                result, error = None, exc
            self._tell(Done(handler, result, error, ctx))

        fut = io.submit(job())
        if critical:
            self._critical.add(fut)
            fut.add_done_callback(self._critical.discard)

    def _prune(self) -> None:
        """Forget the oldest finished orders beyond `max_tracked_orders` (the dict keeps insertion order)."""
        excess = len(self._orders) - self.tuning.max_tracked_orders
        if excess <= 0:
            return
        busy = set(self._lookups) | set(self._sent_epoch)
        for cid in [c for c, t in self._orders.items() if t.terminal and c not in busy and not t.fetching_trades][
            :excess
        ]:
            del self._orders[cid]

    # -- exchange rules and balances -------------------------------------------------------

    def _load_info(self, *, periodic: bool, delay: float = 0.0) -> None:
        self._spawn(
            lambda: self._rest.request("GET", "/api/v3/exchangeInfo", {"symbol": self.symbol}),
            self._on_info,
            periodic,
            delay,
        )

    def _on_info(self, result: Any, error: BaseException | None, periodic: bool) -> None:
        if error is None:
            try:
                filters = parse_exchange_info(result, self.symbol)
            except (KeyError, ValueError, ArithmeticError, TypeError) as exc:
                error = exc
        if error is not None:
            logger.warning("exchangeInfo for {} failed: {}", self.symbol, _why(error))
            if periodic:
                self._load_info(periodic=True, delay=self.tuning.retry_s)
            return
        if filters.base_asset and filters.quote_asset:
            self._assets = (filters.base_asset, filters.quote_asset)
        if filters != self.filters:
            if self.filters is not None:
                logger.warning("{} rules changed: {} -> {}", self.symbol, self.filters, filters)
            self.filters = filters
            self._publish(FiltersUpdated(filters=filters), True)
        if filters.status != "TRADING":
            logger.warning("{} status is {}: new orders are refused locally", self.symbol, filters.status)
        if periodic:
            self._load_info(periodic=True, delay=float(self.settings.exchange.exchange_info_refresh_s))
            if self._info_loads > 0:
                self._spawn(self._rest.sync_time, _ignore)  # re-sync the clock now and then too
            self._info_loads += 1

    def _load_account(self, delay: float = 0.0) -> None:
        if self._account_inflight:
            self._account_again = True
            return
        self._account_inflight = True
        self._spawn(lambda: self._rest.signed("GET", "/api/v3/account"), self._on_account, None, delay)

    def _on_account(self, result: Any, error: BaseException | None, _ctx: Any) -> None:
        self._account_inflight = False
        if error is not None:
            logger.warning("account read failed: {}", _why(error))
            self._load_account(delay=self.tuning.retry_s)
            return
        for b in account_to_balances(result, self._assets):
            self._set_balance(b)
        if self._account_again:
            self._account_again = False
            self._load_account()

    def _schedule_account_refresh(self) -> None:
        if self._account_scheduled:
            return
        self._account_scheduled = True

        def fire(_r: Any, _e: BaseException | None, _c: Any) -> None:
            self._account_scheduled = False
            self._load_account()

        self._spawn(_noop, fire, None, self.tuning.account_refresh_delay_s)

    def _set_balance(self, b: BalanceUpdated) -> None:
        if b.asset not in self._assets:
            return
        old = self.balances.get(b.asset)
        if old is not None and b.ts_ms < old.ts_ms:
            return  # older than what is held (REST account vs. stream event)
        self.balances[b.asset] = b
        if old is None or (old.free, old.locked) != (b.free, b.locked):
            self._publish(b, True)

    def current_balances(self) -> list[BalanceUpdated]:
        return [self.balances[a] for a in self._assets if a in self.balances]

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
            self._publish(
                OrderUpdate(
                    symbol=cmd.symbol,
                    client_order_id=cmd.client_order_id,
                    status=OrderStatus.REJECTED,
                    side=cmd.side,
                    price=cmd.price,
                    orig_qty=cmd.quantity,
                    ts_ms=self._clock(),
                    reject_reason=reason,
                ),
                True,
            )
            return
        t = TrackedOrder(
            client_order_id=cmd.client_order_id,
            symbol=cmd.symbol,
            side=cmd.side,
            price=cmd.price,
            orig_qty=cmd.quantity,
            sent=True,
            inflight=True,
        )
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
        self._spawn(lambda: self._rest.signed("POST", "/api/v3/order", params), self._on_placed, t.client_order_id,
                    critical=True)

    def _refusal(self, cmd: PlaceOrder) -> str:
        if cmd.symbol != self.symbol:
            return f"unknown symbol {cmd.symbol} (this executor trades {self.symbol})"
        if not _CLIENT_ID.match(cmd.client_order_id):
            return "client order id must be 1-36 characters of A-Z a-z 0-9 _ -"
        if cmd.time_in_force not in ("GTC", "IOC", "FOK"):
            return f"time in force {cmd.time_in_force} is not one of GTC, IOC, FOK"
        f = self.filters
        if f is None:
            return "exchange rules (exchangeInfo) not loaded yet"
        try:
            check_order(cmd.side, cmd.price, cmd.quantity, f)
        except FilterError as exc:
            return str(exc)
        asset, need = (f.quote_asset, cmd.price * cmd.quantity) if cmd.side is Side.BUY else (f.base_asset, cmd.quantity)
        held = self.balances.get(asset)
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
            self._apply_post_answer(t, result)
            if not t.terminal and (not self.stream_up or sent_epoch != self._stream_epoch):
                # the stream was down or reconnected while this POST was out: its events may be lost
                self._lookup(t)
        elif isinstance(error, BinanceAPIError):
            if error.code == -2010 and "duplicate" in error.msg.lower():
                # an open order already has this id: the first POST did land; find out its state
                logger.warning("order {}: exchange says duplicate; looking it up", cid)
                t.unknown = True
                self._lookup(t)
            else:
                if error.code == -1013:
                    self._load_info(periodic=False)  # the rules may have changed under us
                logger.warning("order {} rejected by the exchange: {}", cid, error.reason)
                self._emit(t, OrderUpdate(symbol=t.symbol, client_order_id=cid, status=OrderStatus.REJECTED,
                                          ts_ms=self._clock(), reject_reason=error.reason))
        else:
            reason = error.reason if isinstance(error, OutcomeUnknownError) else _why(error)
            t.unknown = True
            t.sent_ts_ms = self._rest.server_ms()  # an upper bound of the timestamp the POST carried
            logger.warning("order {}: outcome unknown ({}); looking it up by client order id", cid, reason)
            self._publish(
                OrderOutcomeUnknown(client_order_id=cid, symbol=t.symbol, reason=reason, ts_ms=self._clock()), True
            )
            self._lookup(t)
            return
        self._after_known(t)

    def _apply_post_answer(self, t: TrackedOrder, o: dict[str, Any]) -> None:
        snap = order_to_update(o, self.symbol)
        fills = o.get("fills") or []
        if fills:
            ts = int(o.get("transactTime") or 0)
            for u in trades_to_updates(t.side, t.orig_qty, fills, t.client_order_id, self.symbol,
                                       snap.exchange_order_id, ts):
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
        self._spawn(lambda: self._rest.signed("DELETE", "/api/v3/order", params), self._on_canceled, t.client_order_id,
                    critical=True)

    def _on_canceled(self, result: Any, error: BaseException | None, cid: str) -> None:
        t = self._orders.get(cid)
        if t is None:  # forgotten long ago (see _prune): nothing left to settle
            return
        if error is None:
            # CANCELED (with whatever filled first); if the stream already said so, nothing new is told
            self._apply_rest_order(t, order_to_update(result, self.symbol), answer=False)
            return
        if isinstance(error, BinanceAPIError) and error.code == -2011:
            logger.info("cancel {}: {}; asking for the order's true state", cid, error.msg)
        elif isinstance(error, OutcomeUnknownError):
            logger.warning("cancel {}: outcome unknown ({}); asking for the order's state", cid, error.reason)
            self._publish(
                OrderOutcomeUnknown(client_order_id=cid, symbol=t.symbol, reason=f"cancel: {error.reason}",
                                    ts_ms=self._clock()),
                True,
            )
        else:
            logger.warning("cancel {} failed: {}; asking for the order's state", cid, _why(error))
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

    # -- looking an order up -------------------------------------------------------------

    def _lookup(self, t: TrackedOrder, delay: float = 0.0, *, retry: bool = False) -> None:
        cid = t.client_order_id
        if cid in self._lookups and not retry:
            return  # a loop is already running; it will answer
        self._lookups.setdefault(cid, _Lookup())
        self.counters["lookups"] += 1
        params = [("symbol", self.symbol), ("origClientOrderId", cid)]
        self._spawn(lambda: self._rest.signed("GET", "/api/v3/order", params), self._on_lookup, cid, delay)

    def _retry_lookup(self, t: TrackedOrder) -> None:
        lk = self._lookups[t.client_order_id]
        delay = min(self.tuning.query_backoff_max_s, self.tuning.query_backoff_s * (2 ** min(lk.attempt, 16)))
        lk.attempt += 1
        self._lookup(t, delay=delay, retry=True)

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
        lk = self._lookups.setdefault(cid, _Lookup())
        if error is None:
            answer = self._end_lookup(cid)
            t.unknown = False
            self._apply_rest_order(t, order_to_update(result, self.symbol), answer=answer)
            self._after_known(t)
            return
        if t.terminal and not t.unknown:
            # the stream settled it meanwhile
            if self._end_lookup(cid):
                self._publish(t.current(), False)
            return
        if isinstance(error, BinanceAPIError) and error.code == -2013:
            lk.not_found += 1
            if t.acked and not t.unknown:
                # it exists (it was acknowledged): a lagging read, not an absence
                if lk.not_found >= self.tuning.min_not_found:
                    if self._end_lookup(cid):
                        self._publish(t.current(), False)
                    return
            elif not t.inflight and lk.not_found >= self.tuning.min_not_found and self._landing_window_passed(t, lk):
                self._end_lookup(cid)
                t.unknown = False
                t.cancel_wanted = False
                logger.warning("order {} never reached the exchange (-2013 after the grace period)", cid)
                self._emit(t, OrderUpdate(symbol=t.symbol, client_order_id=cid, status=OrderStatus.REJECTED,
                                          ts_ms=self._clock(), reject_reason=UNKNOWN_ORDER))
                return
            self._retry_lookup(t)
            return
        if isinstance(error, BinanceAPIError) and error.code == -2026:
            self._end_lookup(cid)
            t.unknown = False
            self._emit(t, OrderUpdate(symbol=t.symbol, client_order_id=cid, status=OrderStatus.CANCELED,
                                      ts_ms=self._clock(), reject_reason="order archived (-2026)"))
            return
        if isinstance(error, BinanceAPIError) and error.http_status not in (0, 429, 418) and error.code not in (
            -1003, -1015, -1021, -1022
        ):
            # a definitive refusal that retrying will not change (bad key, bad params...)
            logger.error("looking up order {} failed for good: {}", cid, error.reason)
            self._end_lookup(cid)
            self._publish(
                OrderOutcomeUnknown(client_order_id=cid, symbol=t.symbol, reason=f"lookup failed: {error.reason}",
                                    ts_ms=self._clock()),
                True,
            )
            return
        logger.warning("looking up order {} failed ({}); trying again", cid, _why(error))
        self._retry_lookup(t)

    def _landing_window_passed(self, t: TrackedOrder, lk: _Lookup) -> bool:
        if t.sent and t.sent_ts_ms:
            limit = t.sent_ts_ms + self.settings.exchange.recv_window_ms + self.tuning.landing_grace_ms
            return self._rest.server_ms() > limit
        # not sent by this run (a restart): a POST of the previous run is dead after recvWindow too
        window_s = (self.settings.exchange.recv_window_ms + self.tuning.landing_grace_ms) / 1000
        return time.monotonic() - lk.started >= max(self.tuning.foreign_query_grace_s, window_s)

    # -- applying what the exchange says ------------------------------------------------------

    def _apply_rest_order(self, t: TrackedOrder, snap: OrderUpdate, *, answer: bool) -> None:
        """A REST view of the order: fetch its trades first if it filled more than was emitted."""
        if snap.cum_qty > t.cum_qty and snap.exchange_order_id:
            t.fetching_trades = True
            params = [("symbol", self.symbol), ("orderId", snap.exchange_order_id)]
            self._spawn(
                lambda: self._rest.signed("GET", "/api/v3/myTrades", params),
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
            for u in trades_to_updates(t.side or snap.side, t.orig_qty or snap.orig_qty, result, cid, self.symbol,
                                       snap.exchange_order_id, snap.ts_ms):
                emitted += self._emit(t, u)
        elif error is not None:
            logger.warning("myTrades for {} failed ({}): reporting the fill without trade details", cid, _why(error))
        emitted += self._emit(t, snap)
        if answer and not emitted:
            self._publish(t.current(), False)

    def _emit(self, t: TrackedOrder, inc: OrderUpdate) -> int:
        """Merge `inc` into the order and tell subscribers what is new; returns how many updates."""
        was_terminal = t.terminal
        out = apply(t, inc)
        filled = False
        for u in out:
            self._publish(u, True)
            filled = filled or u.last_qty > 0
        if filled:
            self._schedule_account_refresh()
        if out and t.terminal and not was_terminal:
            t.unknown = False
            t.cancel_wanted = False
        return len(out)

    # -- the user-data stream ------------------------------------------------------------

    def on_stream_up(self, msg: StreamUp) -> None:
        self.stream_up = True
        self._stream_epoch += 1
        if msg.connects > 1:
            logger.info("user-data stream back (connection {}): reconciling", msg.connects)
            self._load_account()
        self._reconcile()

    def on_stream_down(self, msg: StreamDown) -> None:
        if self.stream_up:
            self.counters["stream_drops"] += 1
            logger.warning("user-data stream lost ({}): order events will be reconciled by REST", msg.reason)
        self.stream_up = False
        if not self._polling:
            self._polling = True
            self._spawn(_noop, self._poll_while_down, None, self.tuning.poll_while_down_s)

    def _poll_while_down(self, _r: Any, _e: BaseException | None, _c: Any) -> None:
        """While the stream stays down, REST is the only way to see fills: reconcile now and then."""
        if self.stream_up:
            self._polling = False
            return
        self._reconcile()
        self._spawn(_noop, self._poll_while_down, None, self.tuning.poll_while_down_s)

    def on_user_event(self, msg: UserEvent) -> None:
        ev = msg.event
        kind = ev.get("e")
        if kind == "executionReport":
            if ev.get("s") != self.symbol:
                return
            u = execution_report_to_update(ev)
            t = self._track(u.client_order_id)
            if u.status is not OrderStatus.REJECTED:
                t.unknown = False  # any report for it proves it reached the exchange
            self._emit(t, u)
            self._after_known(t)
        elif kind == "outboundAccountPosition":
            for b in account_position_to_balances(ev):
                self._set_balance(b)
        elif kind == "balanceUpdate":
            self._load_account()

    def _reconcile(self) -> None:
        if self._reconcile_inflight:
            self._reconcile_again = True
            return
        cids = tuple(c for c, t in self._orders.items() if not t.terminal and (t.sent or t.acked) and not t.inflight)
        if not cids:
            return
        self._reconcile_inflight = True
        self.counters["reconciliations"] += 1
        self._spawn(
            lambda: self._rest.signed("GET", "/api/v3/openOrders", [("symbol", self.symbol)]),
            self._on_open_orders,
            cids,
        )

    def _on_open_orders(self, result: Any, error: BaseException | None, cids: tuple[str, ...]) -> None:
        self._reconcile_inflight = False
        if error is not None or not isinstance(result, list):
            logger.warning("reconciliation: openOrders failed ({}); trying again", _why(error))
            self._reconcile_again = False
            self._spawn(_noop, lambda *_: self._reconcile(), None, self.tuning.retry_s)
            return
        open_by_cid = {o.get("clientOrderId"): o for o in result}
        for cid in cids:
            t = self._orders.get(cid)
            if t is None or t.terminal:
                continue
            o = open_by_cid.get(cid)
            if o is not None:
                t.unknown = False
                self._apply_rest_order(t, order_to_update(o, self.symbol), answer=False)
                self._after_known(t)
            else:
                self._lookup(t)  # no longer open (filled, cancelled, expired) or never landed
        if self._reconcile_again:
            self._reconcile_again = False
            self._reconcile()

    # -- stats -------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        values: dict[str, Any] = dict(self._rest.stats())
        values.update(self.counters)
        values["open_orders"] = sum(1 for t in self._orders.values() if not t.terminal and (t.acked or t.sent))
        values["unknown_pending"] = sum(1 for t in self._orders.values() if t.unknown)
        values["stream_up"] = int(self.stream_up)
        values["stream_connects"] = self._stream.connects if self._stream else 0
        return values


async def _noop() -> None:
    return None


def _ignore(_result: Any, error: BaseException | None, _ctx: Any) -> None:
    if error is not None:
        logger.warning("order executor: background request failed: {}", _why(error))


def _why(error: BaseException | None) -> str:
    if error is None:
        return "no answer"
    if isinstance(error, (BinanceAPIError, OutcomeUnknownError)):
        return error.reason
    return redact(f"{type(error).__name__}: {error}")


__all__ = ["BinanceTuning", "BinanceVenue"]
