"""The paper exchange: a pure, deterministic matching engine for resting LIMIT orders.

No threads, no clocks, no I/O: the actor feeds it commands and market
snapshots and tells subscribers whatever events it returns. Every time in an
event is market time (the placing command's `ts_ms`, or the time of the trade
or snapshot that caused it), and trade and order ids are counters, so the
same inputs always give the same outputs.

Matching rules (kept simple on purpose, and the same for both sides; a SELL
mirrors a BUY with "at or below" read as "at or above" and bid for ask):

1. **On arrival** an order that crosses the latest snapshot's book (a BUY
   priced at or above the ask) takes the displayed ask: it fills at the ask
   price, up to the ask quantity, as a taker. The rest of it rests.
2. **Trades.** A resting BUY at price P fills against every trade in
   `snapshot.trades` whose `ts_ms` is not before the order's placement time
   (`PlaceOrder.ts_ms`) and whose price is at or below P: it fills at P (as a
   maker) for min(remaining, trade qty), so small trades give partial fills.
   Several resting orders share one trade's quantity in placement order.
3. **Book.** After the trades, a resting BUY whose price is at or above the
   snapshot's ask fills for up to the ask quantity, at its own limit price P
   (a maker: on a real exchange the seller who moved the ask through P would
   have hit this bid at P, so filling at the better ask would flatter the
   result). Stale snapshots (`stale=True`) match trades but not the book.

4. **Bars.** A trade that carries a bar (a kline replay in `next_bar` mode)
   is matched by the candle fill model instead (`candle_fills`): only on a
   bar that opened at or after the order was placed, on trade-through, at
   the open for marketable sells, capped by the bar's volume. A snapshot
   made of bars shows no book to match (its quotes are derived from the
   close), and an order placed on it does not cross on arrival: it waits
   for the next bar, whose open is the first price it could have had.

Fees follow Binance: a fill that takes liquidity pays `[trading] taker_fee`
(crossing on arrival; on bars, every fill of an order that was marketable
when placed, a stop sold at the bid among them), one that rested on the book
pays `maker_fee` (rules 2 and 3, and bars that trade through a resting
limit). A BUY pays its commission in the base asset (fill qty x rate, so the
wallet receives less TRUMP than it bought), a SELL in the quote asset (fill
qty x fill price x rate). With `bnb_discount` the rates are charged with the
discount taken off, still in the traded assets: the paper wallet holds no
BNB, so what the BNB would have been worth at the fill's price is charged
instead (BNB's own price moves, and the BNB an account must keep, are not
modelled).

Wallet: a BUY locks price x qty of the quote asset, a SELL locks qty of the
base asset; not enough free balance is a rejection like Binance's -2010. A
BUY filled below its limit gets the difference back from the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from actors.domain.fees import FeeSchedule
from actors.domain.rules import FilterError, check_order
from actors.messages import (
    ZERO,
    BalanceUpdated,
    CancelOrder,
    Candle,
    MarketSnapshot,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    Side,
    SymbolFilters,
    TradeTick,
    WakeWhen,
)
from actors.order_executor.candle_fills import CandleFillModel, bar_fill_price

UNKNOWN_ORDER = "unknown order: never reached the exchange"
INSUFFICIENT_BALANCE = "insufficient balance: Account has insufficient balance for requested action."

Event = OrderUpdate | BalanceUpdated

_BUY = Side.BUY
_OPEN = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


@dataclass(slots=True)
class PaperOrder:
    client_order_id: str
    exchange_order_id: str
    side: Side
    price: Decimal
    qty: Decimal
    placed_ms: int
    cum_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    status: OrderStatus = OrderStatus.NEW
    ts_ms: int = 0
    marketable: bool = False  # bars: it crossed the book when placed, so it takes the next open

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.cum_qty


@dataclass(slots=True)
class _Wallet:
    free: Decimal
    locked: Decimal = ZERO


class PaperExchange:
    """One symbol, one wallet; see the module docstring for the rules."""

    def __init__(
        self,
        filters: SymbolFilters,
        fees: FeeSchedule | Decimal,
        quote_balance: Decimal,
        base_balance: Decimal = ZERO,
        candle_model: CandleFillModel | None = None,
    ) -> None:
        self.filters = filters
        self.candle_model = candle_model or CandleFillModel()
        self._last_bar_ms = -1  # open time of the last bar matched (a bar is matched once)
        self.fees = fees if isinstance(fees, FeeSchedule) else FeeSchedule.flat(fees)  # a Decimal: one rate for both
        self.base = filters.base_asset
        self.quote = filters.quote_asset
        self._wallet = {self.base: _Wallet(base_balance), self.quote: _Wallet(quote_balance)}
        self._orders: dict[str, PaperOrder] = {}
        self._open: list[PaperOrder] = []
        self._wake: WakeWhen | None = None  # `wake()` of the open orders as they are; None: changed since
        self._last: MarketSnapshot | None = None
        self._next_order_id = 1
        self._next_trade_id = 1
        self.stats = {"snapshots": 0, "trades_seen": 0, "placed": 0, "fills": 0, "rejects": 0, "cancels": 0,
                      "bars_seen": 0}

    # -- queries ---------------------------------------------------------------

    @property
    def open_orders(self) -> tuple[PaperOrder, ...]:
        return tuple(self._open)

    def order(self, client_order_id: str) -> PaperOrder | None:
        return self._orders.get(client_order_id)

    def balance(self, asset: str) -> tuple[Decimal, Decimal]:
        w = self._wallet[asset]
        return w.free, w.locked

    def balances(self, ts_ms: int) -> list[BalanceUpdated]:
        return [BalanceUpdated(asset=a, free=w.free, locked=w.locked, ts_ms=ts_ms) for a, w in self._wallet.items()]

    def query(self, client_order_id: str, ts_ms: int = 0) -> OrderUpdate:
        o = self._orders.get(client_order_id)
        if o is None:
            return self._rejected(client_order_id, UNKNOWN_ORDER, ts_ms)
        return self._state(o, o.ts_ms)

    # -- commands ------------------------------------------------------------------

    def place(self, cmd: PlaceOrder) -> list[Event]:
        """NEW (or REJECTED), then any fill from crossing the latest book, then balances."""
        existing = self._orders.get(cmd.client_order_id)
        if existing is not None:  # a client id is used once: report the order it names
            return [self._state(existing, existing.ts_ms)]
        f = self.filters
        reason = ""
        if cmd.symbol != f.symbol:
            reason = f"unknown symbol {cmd.symbol} (this exchange trades {f.symbol})"
        elif cmd.time_in_force != "GTC":
            reason = f"time in force {cmd.time_in_force} is not supported (GTC only)"
        else:
            try:
                check_order(cmd.side, cmd.price, cmd.quantity, f)
            except FilterError as exc:
                reason = str(exc)
        if not reason:
            asset, need = (self.quote, cmd.price * cmd.quantity) if cmd.side is _BUY else (self.base, cmd.quantity)
            w = self._wallet[asset]
            if need > w.free:
                reason = f"{INSUFFICIENT_BALANCE} (needs {need} {asset}, {w.free} free)"
        if reason:
            self.stats["rejects"] += 1
            return [self._rejected(cmd.client_order_id, reason, cmd.ts_ms, cmd)]
        w.free -= need
        w.locked += need
        o = PaperOrder(
            client_order_id=cmd.client_order_id,
            exchange_order_id=str(self._next_order_id),
            side=cmd.side,
            price=cmd.price,
            qty=cmd.quantity,
            placed_ms=cmd.ts_ms,
            ts_ms=cmd.ts_ms,
        )
        self._next_order_id += 1
        self._orders[o.client_order_id] = o
        self._open.append(o)
        self._wake = None
        self.stats["placed"] += 1
        events: list[Event] = [self._state(o, cmd.ts_ms)]
        snap = self._last
        if snap is not None and _has_bars(snap):
            # made of bars: nothing trades until the next bar opens
            o.marketable = snap.bid >= o.price if o.side is not _BUY else 0 < snap.ask <= o.price
        elif snap is not None:
            # crossing on arrival: take the displayed opposite side at its price (taker)
            if o.side is _BUY:
                if snap.ask > 0 and snap.ask_qty > 0 and snap.ask <= o.price:
                    events.append(self._fill(o, min(o.qty, snap.ask_qty), snap.ask, cmd.ts_ms, taker=True))
            elif snap.bid > 0 and snap.bid_qty > 0 and snap.bid >= o.price:
                events.append(self._fill(o, min(o.qty, snap.bid_qty), snap.bid, cmd.ts_ms, taker=True))
        events.extend(self.balances(cmd.ts_ms))
        return events

    def cancel(self, cmd: CancelOrder) -> list[Event]:
        """CANCELED with what filled so far; an order already done reports its true state."""
        o = self._orders.get(cmd.client_order_id)
        if o is None:
            return [self._rejected(cmd.client_order_id, UNKNOWN_ORDER, cmd.ts_ms)]
        if o.status not in _OPEN:
            return [self._state(o, o.ts_ms)]
        self._open.remove(o)
        self._wake = None
        rest = o.remaining
        if o.side is _BUY:
            w, amount = self._wallet[self.quote], rest * o.price
        else:
            w, amount = self._wallet[self.base], rest
        w.locked -= amount
        w.free += amount
        o.status = OrderStatus.CANCELED
        o.ts_ms = cmd.ts_ms
        self.stats["cancels"] += 1
        return [self._state(o, cmd.ts_ms), *self.balances(cmd.ts_ms)]

    def on_snapshot(self, snap: MarketSnapshot) -> list[Event]:
        """Match the resting orders against this snapshot's trades, then its book."""
        self._last = snap
        self.stats["snapshots"] += 1
        if not self._open:
            return []
        trades = snap.trades
        self.stats["trades_seen"] += len(trades)
        events: list[Event] = []
        bars = _has_bars(snap)
        if bars:
            self._match_bars(trades, events)
        elif len(self._open) == 1:
            o = self._open[0]
            placed, price = o.placed_ms, o.price
            buy = o.side is _BUY
            for t in trades:
                if t.ts_ms >= placed and (t.price <= price if buy else t.price >= price):
                    events.append(self._fill(o, min(o.remaining, t.qty), price, t.ts_ms))
                    if o.status is OrderStatus.FILLED:
                        break
        else:
            for t in trades:
                self._match_trade(t, events)
                if not self._open:
                    break
        if self._open and not snap.stale and not bars:
            ask_left, bid_left = snap.ask_qty, snap.bid_qty
            for o in list(self._open):
                if o.side is _BUY:
                    if snap.ask > 0 and ask_left > 0 and snap.ask <= o.price:
                        q = min(o.remaining, ask_left)
                        ask_left -= q
                        events.append(self._fill(o, q, o.price, snap.ts_data_ms))
                elif snap.bid > 0 and bid_left > 0 and snap.bid >= o.price:
                    q = min(o.remaining, bid_left)
                    bid_left -= q
                    events.append(self._fill(o, q, o.price, snap.ts_data_ms))
        if events:
            events.extend(self.balances(snap.ts_data_ms))
        return events

    def wake(self) -> WakeWhen | None:
        """The snapshots that can fill a resting order (None: every one; a bar's low or high may reach it)."""
        if self._open and self._last is not None and _has_bars(self._last):
            return None
        wake = self._wake
        if wake is None:  # asked after every snapshot, and the open orders change rarely: built when they do
            buys = [o.price for o in self._open if o.side is _BUY]
            sells = [o.price for o in self._open if o.side is not _BUY]
            wake = WakeWhen(buy_fills_at=max(buys) if buys else None, sell_fills_at=min(sells) if sells else None)
            self._wake = wake
        return wake

    # -- internals -----------------------------------------------------------------

    def _match_bars(self, trades: tuple[TradeTick, ...], events: list[Event]) -> None:
        """The candle fill model (see `candle_fills`); plain trades among bars are matched as trades."""
        model = self.candle_model
        for t in trades:
            bar: Candle | None = t.bar
            if bar is None:
                self._match_trade(t, events)
                continue
            if bar.open_ms <= self._last_bar_ms:
                continue
            self._last_bar_ms = bar.open_ms
            self.stats["bars_seen"] += 1
            left = bar.volume
            for o in list(self._open):
                if left <= 0:
                    break
                if bar.open_ms < o.placed_ms:
                    continue  # decided during this bar or later: it cannot have traded on it
                price = bar_fill_price(model, o.side, o.price, o.marketable, bar, o.client_order_id)
                if price is None:
                    continue
                q = min(o.remaining, left)
                left -= q
                events.append(self._fill(o, q, price, t.ts_ms, taker=o.marketable))

    def _match_trade(self, t: TradeTick, events: list[Event]) -> None:
        left = t.qty
        for o in list(self._open):
            if t.ts_ms >= o.placed_ms and (t.price <= o.price if o.side is _BUY else t.price >= o.price):
                q = min(o.remaining, left)
                events.append(self._fill(o, q, o.price, t.ts_ms))
                left -= q
                if left <= 0:
                    break

    def _fill(self, o: PaperOrder, qty: Decimal, price: Decimal, ts_ms: int, taker: bool = False) -> OrderUpdate:
        """A maker fill unless `taker`: only crossing on arrival (and a marketable order on bars) takes."""
        quote_qty = qty * price
        rate = self.fees.taker if taker else self.fees.maker
        o.cum_qty += qty
        o.cum_quote += quote_qty
        if o.side is _BUY:
            commission, asset = qty * rate, self.base
            q = self._wallet[self.quote]
            q.locked -= qty * o.price
            q.free += qty * o.price - quote_qty  # filled below the limit: the difference comes back
            self._wallet[self.base].free += qty - commission
        else:
            commission, asset = quote_qty * rate, self.quote
            self._wallet[self.base].locked -= qty
            self._wallet[self.quote].free += quote_qty - commission
        if o.cum_qty >= o.qty:
            o.status = OrderStatus.FILLED
            self._open.remove(o)
            self._wake = None
        else:
            o.status = OrderStatus.PARTIALLY_FILLED
        o.ts_ms = ts_ms
        trade_id = self._next_trade_id
        self._next_trade_id += 1
        self.stats["fills"] += 1
        return OrderUpdate(
            symbol=self.filters.symbol,
            client_order_id=o.client_order_id,
            status=o.status,
            side=o.side,
            exchange_order_id=o.exchange_order_id,
            price=o.price,
            orig_qty=o.qty,
            cum_qty=o.cum_qty,
            cum_quote=o.cum_quote,
            last_qty=qty,
            last_price=price,
            commission=commission,
            commission_asset=asset,
            trade_id=trade_id,
            ts_ms=ts_ms,
        )

    def _state(self, o: PaperOrder, ts_ms: int) -> OrderUpdate:
        return OrderUpdate(
            symbol=self.filters.symbol,
            client_order_id=o.client_order_id,
            status=o.status,
            side=o.side,
            exchange_order_id=o.exchange_order_id,
            price=o.price,
            orig_qty=o.qty,
            cum_qty=o.cum_qty,
            cum_quote=o.cum_quote,
            ts_ms=ts_ms,
        )

    def _rejected(self, cid: str, reason: str, ts_ms: int, cmd: PlaceOrder | None = None) -> OrderUpdate:
        return OrderUpdate(
            symbol=cmd.symbol if cmd else self.filters.symbol,
            client_order_id=cid,
            status=OrderStatus.REJECTED,
            side=cmd.side if cmd else None,
            price=cmd.price if cmd else None,
            orig_qty=cmd.quantity if cmd else None,
            ts_ms=ts_ms,
            reject_reason=reason,
        )


def _has_bars(snap: MarketSnapshot) -> bool:
    """A snapshot of a kline replay in `next_bar` mode: its trades carry bars (checked on the newest)."""
    trades = snap.trades
    return bool(trades) and trades[-1].bar is not None
