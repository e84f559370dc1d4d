"""Order updates as dicts (the seed's form, Binance's executionReport, a REST order) to `OrderUpdate`.

This is the edge: whatever arrives is checked here and either becomes a
well-formed `OrderUpdate` or an `UpdateError` that names what was wrong.
Binance's own messages are read by the Binance adapter's parsers
(`actors.binance.parse`), the same ones the executor uses; only the seed's
form is read here.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from actors.binance import parse as wire
from actors.messages import OrderStatus, OrderUpdate, Side
from actors.state_keeper.records import UpdateError


def _dec(d: dict[str, Any], key: str, *, required: bool = False) -> Decimal | None:
    value = d.get(key)
    if value is None or value == "":
        if required:
            raise UpdateError(f"order update has no {key!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise UpdateError(f"{key!r} must be a decimal string or integer, not {value!r}")  # floats are not money
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise UpdateError(f"{key!r} is not a number: {value!r}") from None
    if not out.is_finite() or out < 0:
        raise UpdateError(f"{key!r} must be a finite number >= 0, not {value!r}")
    return out


def _status(value: Any) -> OrderStatus:
    try:
        return wire.status(value)
    except wire.ParseError as exc:
        raise UpdateError(str(exc)) from None


def _side(value: Any) -> Side | None:
    try:
        return wire.side(value)
    except wire.ParseError as exc:
        raise UpdateError(str(exc)) from None


def _int(value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UpdateError(f"expected an integer, not {value!r}")
    try:
        return int(value)
    except ValueError:
        raise UpdateError(f"expected an integer, not {value!r}") from None


def parse_order_update(d: Any, symbol: str) -> OrderUpdate:
    """Normalise one order update dict; raise UpdateError, naming the field, if it is malformed."""
    if not isinstance(d, dict):
        raise UpdateError(f"an order update must be a dict, not {type(d).__name__}")
    try:
        if d.get("e") == wire.EXECUTION_REPORT:
            return wire.execution_report(d)
        if "executedQty" in d:  # a REST order (query, POST or DELETE answer)
            if not (d.get("clientOrderId") or d.get("origClientOrderId")) and d.get("orderId") not in (None, ""):
                d = {**d, "clientOrderId": str(d["orderId"])}  # the seed names its orders by `orderId`
            return wire.order(d, symbol)
    except wire.ParseError as exc:
        raise UpdateError(str(exc)) from None
    sym = d.get("symbol", symbol)
    cid = d.get("clientOrderId") or d.get("orderId") or d.get("client_order_id")
    if cid is None or cid == "" or not isinstance(cid, (str, int)) or isinstance(cid, bool):
        raise UpdateError("order update has no order id ('orderId' or 'clientOrderId')")
    status = _status(d.get("status"))
    price = _dec(d, "price")
    # the seed's form: quantity (filled so far, or ordered while NEW) at price
    qty = _dec(d, "quantity", required=True)
    assert qty is not None
    if status in (OrderStatus.NEW, OrderStatus.PENDING_NEW):
        orig, cum, cum_quote = qty, Decimal(0), None
    else:
        if price is None and qty > 0:
            raise UpdateError("a filled order update needs its 'price'")
        orig, cum = _dec(d, "origQty") or qty, qty
        cum_quote = qty * price if price is not None else None
    return OrderUpdate(
        symbol=str(sym),
        client_order_id=str(cid),
        status=status,
        side=_side(d.get("side")),
        exchange_order_id=str(d.get("orderId", "")),
        price=price,
        orig_qty=orig,
        cum_qty=cum,
        cum_quote=cum_quote,
        last_qty=_dec(d, "lastQty") or Decimal(0),
        commission=_dec(d, "commission"),
        commission_asset=d.get("commissionAsset"),
        trade_id=_int(d.get("tradeId"), -1),
        ts_ms=_int(d.get("updateTime", d.get("time")), 0),
        reject_reason=str(d.get("rejectReason", "")),
    )
