"""What the executor knows about each live order, and the rules for what it may report.

Reports about one order reach the executor from several places that race:
the REST answer to the POST, the user-data `executionReport`, order queries,
`myTrades` during reconciliation, the answer to a cancel. `apply()` merges
them into one stream of `OrderUpdate`s that the StateKeeper can trust:

- NEW is reported once, and before anything else (a fill seen first implies it);
- a fill is reported once per trade id, and only if it raises the cumulative
  quantity: an older cumulative than one already reported is never sent;
- a terminal status is reported once, after the fills it includes; nothing but
  a (never expected) higher cumulative follows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from actors.messages import ZERO, OrderStatus, OrderUpdate, Side

_FILL_STATUSES = (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)


@dataclass(slots=True)
class TrackedOrder:
    client_order_id: str
    symbol: str
    side: Side | None = None
    price: Decimal | None = None
    orig_qty: Decimal | None = None
    exchange_order_id: str = ""
    status: OrderStatus = OrderStatus.PENDING_NEW
    cum_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    trade_ids: set[int] = field(default_factory=set)
    acked: bool = False
    ts_ms: int = 0
    # executor bookkeeping (the actor thread only)
    sent: bool = False  # a POST went out for this id: never send another
    inflight: bool = False  # that POST has not been answered yet
    unknown: bool = False  # its outcome is unknown and being found out
    sent_ts_ms: int = 0  # the `timestamp` (server time) the POST carried
    resolving: bool = False  # a query loop is running for it
    cancel_wanted: bool = False  # cancel once the outcome of the POST is known
    fetching_trades: bool = False

    @property
    def terminal(self) -> bool:
        return self.status.is_terminal

    def current(self, ts_ms: int | None = None) -> OrderUpdate:
        """The order's state as one update (no fill in it): the answer to a query."""
        return OrderUpdate(
            symbol=self.symbol,
            client_order_id=self.client_order_id,
            status=self.status,
            side=self.side,
            exchange_order_id=self.exchange_order_id,
            price=self.price,
            orig_qty=self.orig_qty,
            cum_qty=self.cum_qty,
            cum_quote=self.cum_quote,
            ts_ms=self.ts_ms if ts_ms is None else ts_ms,
        )


def apply(track: TrackedOrder, inc: OrderUpdate) -> list[OrderUpdate]:
    """Merge one incoming report into `track`; return the updates to tell subscribers."""
    if inc.side is not None and track.side is None:
        track.side = inc.side
    if inc.price is not None and track.price is None:
        track.price = inc.price
    if inc.orig_qty is not None and track.orig_qty is None:
        track.orig_qty = inc.orig_qty
    if inc.exchange_order_id and not track.exchange_order_id:
        track.exchange_order_id = inc.exchange_order_id

    duplicate_trade = inc.trade_id >= 0 and inc.trade_id in track.trade_ids
    if inc.trade_id >= 0:
        track.trade_ids.add(inc.trade_id)
    is_fill = not duplicate_trade and inc.cum_qty > track.cum_qty

    out: list[OrderUpdate] = []
    if track.terminal and not is_fill:
        return out
    if inc.status is OrderStatus.REJECTED:
        if track.cum_qty == 0 and not is_fill:
            track.status = OrderStatus.REJECTED
            track.ts_ms = inc.ts_ms
            out.append(_with_identity(track, inc))
        return out
    if inc.status is OrderStatus.PENDING_NEW:
        return out

    if not track.acked:
        track.acked = True
        if track.status is OrderStatus.PENDING_NEW:
            track.status = OrderStatus.NEW
        track.ts_ms = max(track.ts_ms, inc.ts_ms)
        out.append(
            OrderUpdate(
                symbol=track.symbol,
                client_order_id=track.client_order_id,
                status=OrderStatus.NEW,
                side=track.side,
                exchange_order_id=track.exchange_order_id,
                price=track.price,
                orig_qty=track.orig_qty,
                cum_qty=ZERO,
                cum_quote=ZERO,
                ts_ms=inc.ts_ms,
            )
        )
        if inc.status is OrderStatus.NEW and not is_fill:
            return out

    if is_fill:
        if inc.status in _FILL_STATUSES:
            status = inc.status
        elif track.orig_qty is not None and inc.cum_qty >= track.orig_qty:
            status = OrderStatus.FILLED
        else:
            status = OrderStatus.PARTIALLY_FILLED
        if inc.trade_id >= 0 and inc.last_qty > 0:
            last_qty, last_price = inc.last_qty, inc.last_price
        else:  # a jump in the cumulative with no trade behind it (e.g. trades not listed yet)
            last_qty = inc.cum_qty - track.cum_qty
            if inc.cum_quote is not None and last_qty > 0:
                last_price = (inc.cum_quote - track.cum_quote) / last_qty
            else:
                last_price = inc.last_price
        cum_quote = inc.cum_quote
        if cum_quote is None:
            cum_quote = track.cum_quote + last_qty * (last_price or ZERO)
        track.cum_qty = inc.cum_qty
        track.cum_quote = cum_quote
        track.status = status
        track.ts_ms = max(track.ts_ms, inc.ts_ms)
        out.append(
            OrderUpdate(
                symbol=track.symbol,
                client_order_id=track.client_order_id,
                status=status,
                side=track.side,
                exchange_order_id=track.exchange_order_id,
                price=track.price,
                orig_qty=track.orig_qty,
                cum_qty=inc.cum_qty,
                cum_quote=cum_quote,
                last_qty=last_qty,
                last_price=last_price,
                commission=inc.commission if inc.trade_id >= 0 else None,
                commission_asset=inc.commission_asset if inc.trade_id >= 0 else None,
                trade_id=inc.trade_id if inc.trade_id >= 0 else -1,
                ts_ms=inc.ts_ms,
            )
        )

    if inc.status.is_terminal and not track.terminal and inc.status is not OrderStatus.FILLED:
        # CANCELED / EXPIRED / EXPIRED_IN_MATCH, possibly after partial fills
        track.status = inc.status
        track.ts_ms = max(track.ts_ms, inc.ts_ms)
        out.append(replace(track.current(), reject_reason=inc.reject_reason))
    elif inc.status is OrderStatus.FILLED and not track.terminal and not is_fill:
        # FILLED with no new quantity: the fills were reported already (cum equal)
        if track.orig_qty is None or track.cum_qty >= track.orig_qty:
            track.status = OrderStatus.FILLED
            out.append(track.current(inc.ts_ms))
    elif inc.status is OrderStatus.PARTIALLY_FILLED and track.status is OrderStatus.NEW and track.cum_qty > 0:
        track.status = OrderStatus.PARTIALLY_FILLED
    return out


def _with_identity(track: TrackedOrder, inc: OrderUpdate) -> OrderUpdate:
    return replace(
        inc,
        side=inc.side or track.side,
        price=inc.price if inc.price is not None else track.price,
        orig_qty=inc.orig_qty if inc.orig_qty is not None else track.orig_qty,
        exchange_order_id=inc.exchange_order_id or track.exchange_order_id,
    )
