"""Finished history, packed: a closed trade and its terminal orders kept as one short string each.

A run keeps every trade it closed and every order it placed (the ledger must know its
own order ids, and the status page and the report read them back), but a finished one
is read rarely: the last few for the status page, all of them once for the report, an
order again only if the exchange repeats a report about it. As objects a closed trade
held some 4 kB (a dozen 104-byte Decimals, the records, their strings); packed, about a
fifth. Packing is exact: a Decimal is kept as its own text, which reads back to the
same digits and exponent, and a record that holds anything unexpected (a separator in
a string, a value of another type) is simply kept as it is.

`OrderBook` and `TradeHistory` are what `Ledger.orders` and `Ledger.trades` are: a
mapping and a sequence of the same records as before. Reading an order through the
book unpacks it and keeps it unpacked (it may be changed, as by a late update);
`peek` reads one without keeping it. A trade read from the history is a copy: only
the open trade, which is never packed, is ever changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import overload

from actors.messages import AdviceRef, OrderStatus, Side
from actors.state_keeper.records import OrderRecord, TradeRecord

SEP, NONE, LIST, SAME = "\x1f", "\x1e", "\x1d", "\x1c"  # field, None, list item, "the correlation id again"
_RESERVED = (SEP, NONE, LIST, SAME)
_SIDES = {s.value: s for s in Side}
_STATUSES = {s.value: s for s in OrderStatus}


def _text_ok(*values: object) -> bool:
    """Plain strings without a separator: what packs and reads back unchanged."""
    for v in values:
        if type(v) is not str:
            return False
    text = "".join(values)  # type: ignore[arg-type]
    return SEP not in text and NONE not in text and LIST not in text and SAME not in text


def _decimals_ok(*values: object) -> bool:
    return all(type(v) is Decimal for v in values)


def _opt_dec(v: Decimal | None) -> str:
    return NONE if v is None else str(v)


def _read_dec(s: str) -> Decimal | None:
    return None if s == NONE else Decimal(s)


def pack_order(r: OrderRecord) -> str | None:
    """One string with every field but the id (the book's key), or None when it must stay as it is."""
    a = r.advice
    if not (_text_ok(r.correlation_id, r.reason, r.exchange_order_id, r.reject_reason)
            and _decimals_ok(r.price, r.quantity, r.cum_qty, r.cum_quote, r.fee_base, r.fee_quote, r.fee_value)
            and type(r.side) is Side and type(r.status) is OrderStatus
            and type(r.created_ms) is int and type(r.updated_ms) is int
            and type(r.fee_estimated) is bool and type(r.cancel_requested) is bool):
        return None
    ids = r.trade_ids
    if ids is None:
        ids_text = NONE
    elif all(type(i) is int for i in ids):
        ids_text = LIST.join(map(str, ids))
    else:
        return None
    if a is None:
        advice = [NONE]
    elif (_text_ok(a.advice_id, a.source) and (a.model is None or _text_ok(a.model)) and _decimals_ok(a.cost)
          and (a.confidence is None or type(a.confidence) is Decimal)):
        advice = [SAME if a.advice_id == r.correlation_id else a.advice_id, a.source,
                  NONE if a.model is None else a.model, _opt_dec(a.confidence), str(a.cost)]
    else:
        return None
    return SEP.join([
        r.side.value, str(r.price), str(r.quantity), str(r.created_ms), r.correlation_id, r.reason, r.status.value,
        r.exchange_order_id, str(r.cum_qty), str(r.cum_quote), str(r.fee_base), str(r.fee_quote), str(r.fee_value),
        "1" if r.fee_estimated else "", ids_text, str(r.updated_ms), "1" if r.cancel_requested else "",
        r.reject_reason, *advice])


def unpack_order(client_order_id: str, text: str) -> OrderRecord:
    f = text.split(SEP)
    advice = None
    if f[18] != NONE:
        advice = AdviceRef(advice_id=f[4] if f[18] == SAME else f[18], source=f[19],
                           model=None if f[20] == NONE else f[20], confidence=_read_dec(f[21]), cost=Decimal(f[22]))
    return OrderRecord(
        client_order_id=client_order_id, side=_SIDES[f[0]], price=Decimal(f[1]), quantity=Decimal(f[2]),
        created_ms=int(f[3]), correlation_id=f[4], reason=f[5], status=_STATUSES[f[6]], exchange_order_id=f[7],
        cum_qty=Decimal(f[8]), cum_quote=Decimal(f[9]), fee_base=Decimal(f[10]), fee_quote=Decimal(f[11]),
        fee_value=Decimal(f[12]), fee_estimated=f[13] == "1",
        trade_ids=None if f[14] == NONE else {int(i) for i in f[14].split(LIST) if i},
        updated_ms=int(f[15]), cancel_requested=f[16] == "1", reject_reason=f[17], advice=advice)


def pack_trade(t: TradeRecord) -> str | None:
    if not (_text_ok(t.buy_id, t.status, t.exit_reason, *t.sell_ids)
            and _decimals_ok(t.qty_held, t.buy_quote, t.sold_qty, t.sell_quote, t.fees, t.cost_released, t.pnl)
            and type(t.opened_ms) is int and (t.closed_ms is None or type(t.closed_ms) is int)
            and type(t.fee_estimated) is bool and type(t.sell_ids) is list):
        return None
    return SEP.join([
        t.buy_id, str(t.opened_ms), t.status, LIST.join(t.sell_ids) if t.sell_ids else NONE, str(t.qty_held),
        str(t.buy_quote), str(t.sold_qty), str(t.sell_quote), str(t.fees), str(t.cost_released), str(t.pnl),
        "1" if t.fee_estimated else "", NONE if t.closed_ms is None else str(t.closed_ms), t.exit_reason])


def unpack_trade(text: str) -> TradeRecord:
    f = text.split(SEP)
    return TradeRecord(
        buy_id=f[0], opened_ms=int(f[1]), status=f[2], sell_ids=[] if f[3] == NONE else f[3].split(LIST),
        qty_held=Decimal(f[4]), buy_quote=Decimal(f[5]), sold_qty=Decimal(f[6]), sell_quote=Decimal(f[7]),
        fees=Decimal(f[8]), cost_released=Decimal(f[9]), pnl=Decimal(f[10]), fee_estimated=f[11] == "1",
        closed_ms=None if f[12] == NONE else int(f[12]), exit_reason=f[13])


class OrderBook(Mapping[str, "OrderRecord"]):
    """Every order by client id, in the order placed; terminal ones of finished trades packed."""

    __slots__ = ("_d", "_thawed")

    def __init__(self) -> None:
        self._d: dict[str, OrderRecord | str] = {}
        self._thawed: list[str] = []  # unpacked since the last `freeze`: packed again with the next

    def __getitem__(self, cid: str) -> OrderRecord:
        v = self._d[cid]
        return self._thaw(cid, v) if isinstance(v, str) else v

    def get(self, cid: str, default: OrderRecord | None = None) -> OrderRecord | None:  # type: ignore[override]
        v = self._d.get(cid)
        if v is None:
            return default
        return self._thaw(cid, v) if isinstance(v, str) else v

    def __contains__(self, cid: object) -> bool:
        return cid in self._d

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def add(self, rec: OrderRecord) -> None:
        self._d[rec.client_order_id] = rec

    def peek(self, cid: str) -> OrderRecord | None:
        """Read an order without keeping it unpacked (views: the record must not be changed)."""
        v = self._d.get(cid)
        return unpack_order(cid, v) if isinstance(v, str) else v

    def unfinished(self) -> list[OrderRecord]:
        """The orders not yet terminal (never packed)."""
        return [v for v in self._d.values() if not isinstance(v, str) and not v.status.is_terminal]

    def freeze(self, cids: Iterator[str] | Sequence[str]) -> None:
        """Pack these orders (and any unpacked since the last time) if terminal."""
        for cid in [*cids, *self._thawed]:
            v = self._d.get(cid)
            if v is not None and not isinstance(v, str) and v.status.is_terminal:
                packed = pack_order(v)
                if packed is not None:
                    self._d[cid] = packed
        self._thawed.clear()

    def _thaw(self, cid: str, text: str) -> OrderRecord:
        rec = unpack_order(cid, text)
        self._d[cid] = rec
        self._thawed.append(cid)
        return rec


class TradeHistory(Sequence["TradeRecord"]):
    """Every trade in the order opened; finished ones packed, and read back as copies."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: list[TradeRecord | str] = []

    @overload
    def __getitem__(self, i: int) -> TradeRecord: ...
    @overload
    def __getitem__(self, i: slice) -> list[TradeRecord]: ...

    def __getitem__(self, i: int | slice) -> TradeRecord | list[TradeRecord]:
        if isinstance(i, slice):
            return [_read(v) for v in self._items[i]]
        return _read(self._items[i])

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[TradeRecord]:
        return (_read(v) for v in self._items)

    def __reversed__(self) -> Iterator[TradeRecord]:
        return (_read(v) for v in reversed(self._items))

    def append(self, t: TradeRecord) -> None:
        self._items.append(t)

    def freeze(self, t: TradeRecord) -> None:
        """Pack this (finished) trade: from now on it is read back as a copy."""
        items = self._items
        for i in range(len(items) - 1, -1, -1):
            if items[i] is t:
                packed = pack_trade(t)
                if packed is not None:
                    items[i] = packed
                return


def _read(v: TradeRecord | str) -> TradeRecord:
    return unpack_trade(v) if isinstance(v, str) else v
