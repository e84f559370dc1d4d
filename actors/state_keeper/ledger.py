"""Orders, position and trades: the book-keeping, exact to the quote asset's 8 decimals.

Fills are taken from cumulative quantities, so an update seen twice or late
is applied once. A buy fee charged in the base asset reduces what is held; a
fee in the quote asset (or an estimated one, when the update carries none)
adds to the cost. Every quote amount is rounded half-even to 1e-8 (USDC's
precision on Binance) when it is recorded, so sums add up to the last digit.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from actors.domain.fees import FeeSchedule
from actors.messages import ZERO, Order, OrderStatus, OrderUpdate, Position, Side, Trade, utc_from_ms
from actors.state_keeper.history import OrderBook, TradeHistory
from actors.state_keeper.records import Q8, Applied, OrderRecord, TradeRecord, UpdateError, advice_ref, decided_by, q8

# the records live in records.py; re-exported so imports from here (the tests') keep working
__all__ = ["Q8", "Applied", "Ledger", "OrderRecord", "TradeRecord", "UpdateError", "advice_ref", "decided_by", "q8"]

# enum members looked up once: an Enum class attribute costs a lookup through its metaclass
_FILLED, _SELL, _BUY = OrderStatus.FILLED, Side.SELL, Side.BUY
_PENDING_NEW, _NEW, _PARTIALLY_FILLED = OrderStatus.PENDING_NEW, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED
_TERMINAL = frozenset(s for s in OrderStatus if s.is_terminal)
_RANK = {OrderStatus.PENDING_NEW: 0, OrderStatus.NEW: 1, OrderStatus.PARTIALLY_FILLED: 2, OrderStatus.PENDING_CANCEL: 3}


class Ledger:
    def __init__(self, symbol: str, base_asset: str, quote_asset: str, fees: FeeSchedule | Decimal) -> None:
        self.symbol = symbol
        self.base_asset = base_asset
        self.quote_asset = quote_asset
        # estimates only (_fee): a fill reported without its commission, or with it in BNB, is valued at fees.most
        self.fees = fees if isinstance(fees, FeeSchedule) else FeeSchedule.flat(fees)
        self.orders = OrderBook()  # every order placed, by client id; a finished trade's packed (history.py)
        self.trades = TradeHistory()  # every trade, oldest first; finished ones packed
        self.qty = ZERO  # held, dust included
        self.cost = ZERO  # quote paid for what is held, quote-side buy fees included
        self.notional = ZERO  # quote paid for what is held, fees excluded (entry price)
        self.position_ms = 0
        self.realized_pnl = ZERO
        self.fees_paid = ZERO
        self.closed = 0
        self._open: TradeRecord | None = None  # the trade still OPEN, if any (kept, not searched for)
        self._last_finished: TradeRecord | None = None  # the last trade closed (or dust), not packed yet

    # -- orders ------------------------------------------------------------------

    def add_order(self, rec: OrderRecord) -> None:
        if rec.client_order_id in self.orders:
            raise UpdateError(f"client order id {rec.client_order_id} is already used")
        self.orders.add(rec)

    def check(self, u: OrderUpdate) -> OrderRecord:
        """Validate `u` against what is known; raise UpdateError and change nothing if it is wrong."""
        if u.symbol != self.symbol:
            raise UpdateError(f"update for {u.symbol!r}, but this bot trades {self.symbol}")
        rec = self.orders.get(u.client_order_id)
        if rec is None:
            raise UpdateError(f"update for unknown order {u.client_order_id!r}")
        if u.side is not None and u.side is not rec.side:
            raise UpdateError(f"update says {u.side.value} but order {rec.client_order_id} is a {rec.side.value}")
        cum = u.cum_qty
        # inline, not a loop over field names: this runs for every update the keeper gets
        if not cum.is_finite() or cum < 0:
            raise UpdateError(f"cum_qty {cum} must be a finite number >= 0")
        if not u.last_qty.is_finite() or u.last_qty < 0:
            raise UpdateError(f"last_qty {u.last_qty} must be a finite number >= 0")
        v = u.cum_quote
        if v is not None and (not v.is_finite() or v < 0):
            raise UpdateError(f"cum_quote {v} must be a finite number >= 0")
        v = u.last_price
        if v is not None and (not v.is_finite() or v < 0):
            raise UpdateError(f"last_price {v} must be a finite number >= 0")
        v = u.commission
        if v is not None and (not v.is_finite() or v < 0):
            raise UpdateError(f"commission {v} must be a finite number >= 0")
        v = u.price
        if v is not None and (not v.is_finite() or v < 0):
            raise UpdateError(f"price {v} must be a finite number >= 0")
        if cum > rec.quantity:
            raise UpdateError(f"filled {cum} exceeds order quantity {rec.quantity} for {rec.client_order_id}")
        if u.status is _FILLED and cum != rec.quantity:
            raise UpdateError(f"FILLED reports {cum} of {rec.quantity} for {rec.client_order_id}")
        if rec.side is _SELL and cum - rec.cum_qty > self.qty:
            raise UpdateError(f"sell fill of {cum - rec.cum_qty} exceeds the {self.qty} held")
        return rec

    def apply_update(self, u: OrderUpdate) -> Applied:
        rec = self.check(u)
        cum = u.cum_qty
        trade_id = u.trade_id
        ids = rec.trade_ids
        if trade_id >= 0 and ids is not None and trade_id in ids and cum <= rec.cum_qty:
            return Applied(rec)  # the same fill again
        fill_qty = fill_quote = ZERO
        if cum > rec.cum_qty:
            fill_qty = cum - rec.cum_qty
            fill_quote = self._fill_quote(rec, u, fill_qty)
            fee_q, fee_b, fee_v, estimated = self._fee(rec, u, fill_qty, fill_quote)
            rec.cum_qty = cum
            rec.cum_quote += fill_quote
            rec.fee_quote += fee_q
            rec.fee_base += fee_b
            rec.fee_value += fee_v
            rec.fee_estimated |= estimated
            self.fees_paid += fee_v
            if trade_id >= 0:
                if ids is None:
                    rec.trade_ids = {trade_id}
                else:
                    ids.add(trade_id)
            self._book_fill(rec, fill_qty, fill_quote, fee_q, fee_b, fee_v, estimated, u.ts_ms)
        if u.exchange_order_id:
            rec.exchange_order_id = u.exchange_order_id
        status_changed = became_terminal = False
        old, new = rec.status, u.status
        if old is not new and old not in _TERMINAL and (new in _TERMINAL or _RANK.get(new, 0) > _RANK.get(old, 0)):
            status_changed = True  # terminal statuses are final; otherwise statuses only move forward
            became_terminal = new in _TERMINAL
            rec.status = new
            rec.reject_reason = u.reject_reason or rec.reject_reason
        elif fill_qty and (old is _PENDING_NEW or old is _NEW):
            rec.status = _PARTIALLY_FILLED
            status_changed = True
        if u.ts_ms > rec.updated_ms:
            rec.updated_ms = u.ts_ms
        if became_terminal:
            rec.trade_ids = None  # a terminal order takes no new fill to tell apart from a repeat
        return Applied(rec, fill_qty, fill_quote, status_changed, became_terminal)

    @staticmethod
    def _fill_quote(rec: OrderRecord, u: OrderUpdate, fill_qty: Decimal) -> Decimal:
        cum_quote, last_price = u.cum_quote, u.last_price
        if cum_quote is not None and cum_quote > rec.cum_quote:
            return (cum_quote - rec.cum_quote).quantize(Q8, ROUND_HALF_EVEN)
        if last_price is not None and u.last_qty == fill_qty:
            return (last_price * fill_qty).quantize(Q8, ROUND_HALF_EVEN)
        price = last_price or u.price or rec.price
        return (price * fill_qty).quantize(Q8, ROUND_HALF_EVEN)

    def _fee(
        self, rec: OrderRecord, u: OrderUpdate, fill_qty: Decimal, fill_quote: Decimal
    ) -> tuple[Decimal, Decimal, Decimal, bool]:
        """(quote fee, base fee, value in quote, estimated?) for this fill."""
        price = fill_quote / fill_qty
        commission, last_qty = u.commission, u.last_qty
        known_qty = last_qty if (commission is not None and last_qty <= fill_qty) else ZERO
        if commission is not None and last_qty == ZERO:
            known_qty = fill_qty  # a report of the whole fill without last_qty (the seed's form)
        fee_q = fee_b = fee_v = ZERO
        estimated = False
        if known_qty:
            assert commission is not None
            asset = (u.commission_asset or "").upper()
            if asset == self.base_asset:
                fee_b = commission
                fee_v = q8(fee_b * price)
            elif asset == self.quote_asset:
                fee_q = q8(commission)
                fee_v = fee_q
            else:  # BNB or unknown: value it at the higher rate (the BNB discount taken off), say so
                fee_q = fee_v = q8(known_qty * price * self.fees.most)
                estimated = True
        missing = fill_qty - known_qty
        if missing > 0:
            est = q8(missing * price * self.fees.most)
            fee_q += est
            fee_v += est
            estimated = True
        return fee_q, fee_b, fee_v, estimated

    # -- position and trades -------------------------------------------------------

    def open_trade(self) -> TradeRecord | None:
        return self._open

    def _book_fill(
        self,
        rec: OrderRecord,
        qty: Decimal,
        quote: Decimal,
        fee_q: Decimal,
        fee_b: Decimal,
        fee_v: Decimal,
        estimated: bool,
        ts_ms: int,
    ) -> None:
        if ts_ms > self.position_ms:
            self.position_ms = ts_ms
        if rec.side is _BUY:
            trade = self._open
            if trade is None or trade.buy_id != rec.client_order_id:
                trade = TradeRecord(buy_id=rec.client_order_id, opened_ms=ts_ms)
                self.trades.append(trade)
                self._open = trade
            held = qty - fee_b
            self.qty += held
            self.cost += quote + fee_q
            self.notional += quote
            trade.qty_held += held
            trade.buy_quote += quote
            trade.fees += fee_v
            trade.fee_estimated |= estimated
            return
        if qty == self.qty:
            cost, notional = self.cost, self.notional
        else:
            cost = q8(self.cost * qty / self.qty)
            notional = q8(self.notional * qty / self.qty)
        self.qty -= qty
        self.cost -= cost
        self.notional -= notional
        trade = self._open
        if trade is None:  # a sell with no open trade: book it against a fresh record, visibly
            trade = TradeRecord(buy_id="", opened_ms=ts_ms)
            self.trades.append(trade)
            self._open = trade
        if rec.client_order_id not in trade.sell_ids:
            trade.sell_ids.append(rec.client_order_id)
        trade.sold_qty += qty
        trade.sell_quote += quote
        trade.fees += fee_v
        trade.fee_estimated |= estimated
        trade.cost_released += cost
        trade.pnl += quote - fee_q - cost

    def close_trade(self, ts_ms: int, exit_reason: str = "") -> TradeRecord | None:
        """The position is flat (dust at most): the open trade is done, its P&L realised."""
        trade = self.open_trade()
        if trade is None or not trade.sell_ids:
            return None
        trade.status = "CLOSED"
        trade.closed_ms = ts_ms
        trade.exit_reason = exit_reason
        self.realized_pnl += trade.pnl
        self.closed += 1
        self._open = None
        self._finish(trade)
        return trade

    def mark_dust(self) -> TradeRecord | None:
        """A buy ended with too little to sell: what it bought stays in the position as dust."""
        trade = self.open_trade()
        if trade is not None and not trade.sell_ids:
            trade.status = "DUST"
            self._open = None
            self._finish(trade)
        return trade

    def _finish(self, trade: TradeRecord) -> None:
        """A trade is over: the one before it and its terminal orders are history from now on, kept packed.

        The last one stays as it is a while: it is read at once (the `TradeClosed` event, the status page).
        """
        done, self._last_finished = self._last_finished, trade
        if done is not None:
            self.trades.freeze(done)
            self.orders.freeze([done.buy_id, *done.sell_ids])

    def closed_pnls_since_last_win(self) -> list[Decimal]:
        """The closed trades' P&L back to the last win, oldest first: all a losing streak needs, without
        reading every trade ever closed (that made a long run quadratic)."""
        out: list[Decimal] = []
        for t in reversed(self.trades):
            if t.status == "CLOSED":
                out.append(t.pnl)
                if t.pnl >= 0:
                    break
        out.reverse()
        return out

    # -- views -----------------------------------------------------------------------

    def position(self, sellable: Decimal) -> Position:
        entry = q8(self.notional / self.qty) if self.qty else ZERO
        return Position(
            symbol=self.symbol,
            quantity=self.qty,
            entry_price=entry,
            timestamp=utc_from_ms(self.position_ms),
            cost_quote=self.cost,
            dust=self.qty - sellable,
        )

    def trade_view(self, t: TradeRecord) -> Trade:
        peek = self.orders.peek
        buy = peek(t.buy_id)
        sell_recs = [r for r in map(peek, t.sell_ids) if r is not None]
        sells = tuple(r.view(self.symbol) for r in sell_recs)
        buy_view = buy.view(self.symbol) if buy is not None else Order(
            id="", symbol=self.symbol, side="BUY", quantity=ZERO, price=ZERO, status="UNKNOWN",
            timestamp=utc_from_ms(t.opened_ms),
        )
        return Trade(
            buy_order=buy_view,
            sell_order=sells[-1] if sells else None,
            profit_loss=t.pnl if t.status == "CLOSED" else None,
            status=t.status,
            timestamp=utc_from_ms(t.opened_ms),
            sell_orders=sells,
            quantity=t.qty_held,
            entry_price=q8(t.buy_quote / t.qty_held) if t.qty_held else None,
            exit_price=q8(t.sell_quote / t.sold_qty) if t.sold_qty else None,
            fees_quote=t.fees,
            fee_estimated=t.fee_estimated,
            closed_at=utc_from_ms(t.closed_ms) if t.closed_ms is not None else None,
            exit_reason=t.exit_reason,
            entry_reason=(buy.correlation_id or buy.reason) if buy is not None else "",
            entry_advice=buy.advice if buy is not None else None,
            exit_advice=sell_recs[-1].advice if t.sell_ids and t.sell_ids[-1] in self.orders else None,
        )
