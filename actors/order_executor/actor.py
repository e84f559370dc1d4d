"""The OrderExecutor actor: places, cancels and looks up orders on the paper exchange or on Binance.

Told by the StateKeeper: `PlaceOrder`, `CancelOrder`, `QueryOrder`. Tells every
subscriber (`Subscribe(ref)`): `OrderUpdate` (normalised, cumulative),
`OrderOutcomeUnknown`, `FiltersUpdated`, `BalanceUpdated`. Asked: `GetStats`.

Paper mode (the default) needs no thread of its own: it subscribes to the
market, matches every `MarketSnapshot` in `PaperExchange`, tells the
resulting updates to its subscribers and only THEN acknowledges the snapshot
with `SnapshotProcessed`, so in lockstep the StateKeeper sees the fills
before it sees the snapshot that caused them.

Binance mode owns the `order-executor-io` loop thread (started last in
`on_start`, stopped in `on_stop` and `on_failure`); see `actors/binance/orders.py`.
"""

from __future__ import annotations

import time
import traceback
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pykka
from loguru import logger

from actors._lib.secrets import Secret, redact
from actors.domain.fees import FeeSchedule
from actors.messages import (
    BalanceUpdated,
    CancelOrder,
    Clock,
    FeedFinished,
    FeedStatusChanged,
    FeesUpdated,
    FiltersUpdated,
    GetStats,
    MarketSnapshot,
    OrderOutcomeUnknown,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    QueryOrder,
    SnapshotProcessed,
    Stats,
    Subscribe,
    SymbolFilters,
    Unsubscribe,
    WakeWhen,
)
from actors.order_executor.candle_fills import candle_model_from
from actors.order_executor.filters import paper_filters
from actors.order_executor.paper import PaperExchange
from actors.settings import Settings

if TYPE_CHECKING:  # Binance mode's modules (and aiohttp) load only when it runs: a paper backtest never needs them
    from actors.binance.config import BinanceTuning
    from actors.binance.signing import Signer


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class PaperVenue:
    """The actor-side wiring of `PaperExchange` (everything runs on the actor thread)."""

    def __init__(self, settings: Settings, publish: Any, base_balance: Decimal = Decimal(0)) -> None:
        self.filters: SymbolFilters = paper_filters(settings.symbol, settings.exchange)
        self.engine = PaperExchange(self.filters, FeeSchedule.from_settings(settings.trading),
                                    settings.exchange.paper_quote_balance,
                                    base_balance, candle_model_from(settings))
        self._publish = publish
        self.balances: dict[str, BalanceUpdated] = {b.asset: b for b in self.engine.balances(0)}
        self.orders_sent = 0
        self.fees: FeesUpdated | None = None  # the paper exchange charges the settings' rates: nothing to tell

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def _out(self, events: list[Any], count: bool = True) -> None:
        for ev in events:
            if type(ev) is BalanceUpdated:
                old = self.balances.get(ev.asset)
                if old is not None and old.free == ev.free and old.locked == ev.locked:
                    continue
                self.balances[ev.asset] = ev
            self._publish(ev, count)

    def place(self, cmd: PlaceOrder) -> None:
        if self.engine.order(cmd.client_order_id) is not None:
            logger.warning("PlaceOrder {} repeats a client order id: reporting that order", cmd.client_order_id)
            self._publish(self.engine.query(cmd.client_order_id), False)
            return
        self.orders_sent += 1
        self._out(self.engine.place(cmd))

    def cancel(self, cmd: CancelOrder) -> None:
        o = self.engine.order(cmd.client_order_id)
        open_before = o is not None and not o.status.is_terminal
        self._out(self.engine.cancel(cmd), count=open_before)

    def query(self, cmd: QueryOrder) -> None:
        self._publish(self.engine.query(cmd.client_order_id), False)

    def on_snapshot(self, snap: MarketSnapshot) -> None:
        events = self.engine.on_snapshot(snap)
        if events:
            self._out(events)

    def wake(self) -> WakeWhen | None:
        """Only a trade, a bar or a book reaching a resting order can change anything here."""
        return self.engine.wake()

    def current_balances(self) -> list[BalanceUpdated]:
        return list(self.balances.values())

    def stats(self) -> dict[str, Any]:
        s = self.engine.stats
        return {
            "orders_sent": self.orders_sent,
            "used_weight_1m": 0,
            "order_count_10s": 0,
            "paused_until_ms": 0,
            "open_orders": len(self.engine.open_orders),
            "snapshots": s["snapshots"],
            "trades_seen": s["trades_seen"],
        }


class OrderExecutorActor(pykka.ThreadingActor):
    """See the module docstring. `tuning` (Binance delays) is for tests and benchmarks."""

    def __init__(
        self,
        settings: Settings,
        market: pykka.ActorRef[Any] | None = None,
        api_key: Secret | None = None,
        api_secret: Secret | None = None,
        clock: Clock | None = None,
        *,
        tuning: BinanceTuning | None = None,
        paper_base_balance: Decimal = Decimal(0),
    ) -> None:
        super().__init__()
        self._settings = settings
        self._market = market
        self._clock: Clock = clock or wall_clock_ms
        self._kind = settings.exchange.kind
        self._subscribers: dict[str, pykka.ActorRef[Any]] = {}
        self._counts = {"acks": 0, "fills": 0, "rejects": 0, "cancels": 0, "unknown_outcomes": 0, "expired": 0}
        self._feed_finished = 0
        self._errors = 0
        self._api_key = api_key
        self._signer: Signer | None = None
        self._tuning = tuning
        if self._kind == "binance":
            if not api_key or not api_secret:
                raise ValueError(
                    "exchange.kind = 'binance' needs BINANCE_API_KEY and BINANCE_API_SECRET (in the environment or .env)"
                )
            from actors.binance.signing import Signer

            self._signer = Signer(api_secret)  # a bad PEM key fails here, at start, in the caller's thread
        elif self._kind != "paper":
            raise ValueError(f"exchange.kind = {self._kind!r} is not allowed; choose one of: paper, binance")
        self._venue: Any = None
        self._paper_base = paper_base_balance  # what a restarted paper run held, from the journal
        self._sent_since_ack = False  # lockstep: told subscribers something since the last acknowledgement
        self._skip_idle = settings.market.skip_idle_snapshots
        self._says_wake = self._kind == "paper" and self._skip_idle  # tells the market which snapshots it needs

    # -- lifecycle ---------------------------------------------------------------------

    def on_start(self) -> None:
        if self._kind == "paper":
            self._venue = PaperVenue(self._settings, self._publish, self._paper_base)
            if self._market is not None:
                self._market.tell(Subscribe(subscriber=self.actor_ref))
        else:
            from actors.binance.config import BinanceTuning
            from actors.binance.orders import BinanceVenue

            where = "Spot Testnet" if self._settings.exchange.network == "testnet" else "LIVE Binance"
            logger.warning("order executor: {} trading on {} at {}", where, self._settings.symbol,
                           self._settings.exchange.rest_url)
            self._venue = BinanceVenue(
                settings=self._settings,
                actor_ref=self.actor_ref,
                publish=self._publish,
                api_key=self._api_key,  # type: ignore[arg-type]
                signer=self._signer,  # type: ignore[arg-type]
                clock=self._clock,
                tuning=self._tuning or BinanceTuning(),
            )
            self._venue.start()  # starts the loop thread: the last thing on_start does

    def on_stop(self) -> None:
        if self._venue is not None:
            self._venue.stop()

    def on_failure(self, exception_type: Any, exception_value: Any, traceback_: Any) -> None:
        logger.error("order executor failed: {}", redact(f"{exception_type.__name__}: {exception_value}"))
        if self._venue is not None:
            self._venue.stop()

    # -- messages ----------------------------------------------------------------------

    def on_receive(self, message: Any) -> Any:
        kind = type(message)
        if kind is MarketSnapshot:  # the hot path in backtests
            try:
                if self._kind == "paper":
                    self._venue.on_snapshot(message)
            except Exception as exc:  # noqa: BLE001 - logged and counted; the ack must still go out
                self._errors += 1
                logger.error("order executor: matching snapshot {} failed: {}", message.seq, redact(repr(exc)))
            finally:
                # after the fills were told: the lockstep market moves on only when every subscriber acks
                if self._market is not None:
                    wake = self._venue.wake() if self._says_wake else None
                    sent, self._sent_since_ack = self._sent_since_ack, False
                    try:
                        self._market.tell(SnapshotProcessed(seq=message.seq, subscriber_urn=self.actor_urn,
                                                            wake=wake, sent_events=sent))
                    except pykka.ActorDeadError:
                        pass  # the market has stopped: nobody is waiting for the ack
            return None
        if kind is GetStats:
            return self._stats()
        try:
            self._dispatch(message)
        except Exception as exc:  # noqa: BLE001 - one bad event must not take the executor down
            self._errors += 1
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=8))
            logger.error("order executor: error handling {}: {}", kind.__name__, redact(tb))
        return None

    def _dispatch(self, message: Any) -> None:
        v = self._venue
        if isinstance(message, PlaceOrder):
            v.place(message)
        elif isinstance(message, CancelOrder):
            v.cancel(message)
        elif isinstance(message, QueryOrder):
            v.query(message)
        elif isinstance(message, Subscribe):
            self._subscribe(message.subscriber)
        elif isinstance(message, Unsubscribe):
            self._subscribers.pop(message.subscriber.actor_urn, None)
        elif isinstance(message, FeedFinished):
            self._feed_finished += 1
        elif isinstance(message, FeedStatusChanged):
            pass  # a stale feed brings no snapshots to match; the StateKeeper decides what it means
        else:
            self._dispatch_binance(message)

    def _dispatch_binance(self, message: Any) -> None:
        """Binance mode's own messages (the types disjoint from the ones above, so the order is no matter)."""
        from actors.binance.tasks import Done
        from actors.binance.user_stream import StreamDown, StreamUp, UserEvent

        v = self._venue
        if isinstance(message, Done):
            message.handler(message.result, message.error, message.ctx)
        elif isinstance(message, UserEvent):
            v.on_user_event(message)
        elif isinstance(message, StreamUp):
            v.on_stream_up(message)
        elif isinstance(message, StreamDown):
            v.on_stream_down(message)
        else:
            logger.warning("order executor: unexpected message {}", type(message).__name__)

    def _subscribe(self, ref: pykka.ActorRef[Any]) -> None:
        self._subscribers[ref.actor_urn] = ref
        filters = self._venue.filters
        greeting: list[Any] = []
        if filters is not None:
            greeting.append(FiltersUpdated(filters=filters))
        if self._venue.fees is not None:
            greeting.append(self._venue.fees)
        greeting.extend(self._venue.current_balances())
        for msg in greeting:
            try:
                ref.tell(msg)
            except pykka.ActorDeadError:
                self._subscribers.pop(ref.actor_urn, None)
                return

    def _publish(self, msg: Any, count: bool) -> None:
        self._sent_since_ack = True
        if count:
            kind = type(msg)
            if kind is OrderUpdate:
                st = msg.status
                if msg.last_qty > 0:
                    self._counts["fills"] += 1
                elif st is OrderStatus.NEW:
                    self._counts["acks"] += 1
                elif st is OrderStatus.REJECTED:
                    self._counts["rejects"] += 1
                elif st is OrderStatus.CANCELED:
                    self._counts["cancels"] += 1
                elif st is OrderStatus.EXPIRED or st is OrderStatus.EXPIRED_IN_MATCH:
                    self._counts["expired"] += 1
            elif kind is OrderOutcomeUnknown:
                self._counts["unknown_outcomes"] += 1
        dead = None
        for urn, ref in self._subscribers.items():
            try:
                ref.tell(msg)
            except pykka.ActorDeadError:
                dead = [*(dead or []), urn]
        for urn in dead or ():
            self._subscribers.pop(urn, None)

    def _stats(self) -> Stats:
        venue_stats = self._venue.stats() if self._venue is not None else {}
        orders_sent = venue_stats.pop("orders_sent", 0)
        values: list[tuple[str, Any]] = [
            ("kind", self._kind),
            ("orders_sent", orders_sent),
            ("acks", self._counts["acks"]),
            ("fills", self._counts["fills"]),
            ("rejects", self._counts["rejects"]),
            ("cancels", self._counts["cancels"]),
            ("unknown_outcomes", self._counts["unknown_outcomes"]),
            ("used_weight_1m", venue_stats.pop("used_weight_1m", 0)),
            ("order_count_10s", venue_stats.pop("order_count_10s", 0)),
            ("paused_until_ms", venue_stats.pop("paused_until_ms", 0)),
            ("expired", self._counts["expired"]),
            ("subscribers", len(self._subscribers)),
            ("feed_finished", self._feed_finished),
            ("handler_errors", self._errors),
        ]
        values.extend(sorted(venue_stats.items()))
        return Stats(source="executor", values=tuple(values))
