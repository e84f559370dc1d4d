"""Order updates as dicts (the seed's form, Binance's executionReport, a REST order) to `OrderUpdate`.

This is the edge: whatever arrives is checked here and either becomes a
well-formed `OrderUpdate` or an `UpdateError` that names what was wrong.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from actors.messages import OrderStatus, OrderUpdate, Side
from actors.state_keeper.ledger import UpdateError

_STATUSES = {s.value: s for s in OrderStatus}


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
    status = _STATUSES.get(str(value).upper()) if isinstance(value, str) else None
    if status is None:
        raise UpdateError(f"unknown order status {value!r}; expected one of {', '.join(_STATUSES)}")
    return status


def _side(value: Any) -> Side | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.upper() not in ("BUY", "SELL"):
        raise UpdateError(f"side must be BUY or SELL, not {value!r}")
    return Side(value.upper())


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
    if d.get("e") == "executionReport":
        return _execution_report(d)
    sym = d.get("symbol", symbol)
    cid = d.get("clientOrderId") or d.get("orderId") or d.get("client_order_id")
    if cid is None or cid == "" or not isinstance(cid, (str, int)) or isinstance(cid, bool):
        raise UpdateError("order update has no order id ('orderId' or 'clientOrderId')")
    status = _status(d.get("status"))
    price = _dec(d, "price")
    if "executedQty" in d:  # a REST order: origQty / executedQty / cummulativeQuoteQty
        orig = _dec(d, "origQty")
        cum = _dec(d, "executedQty", required=True) or Decimal(0)
        cum_quote = _dec(d, "cummulativeQuoteQty")
    else:  # the seed's form: quantity (filled so far, or ordered while NEW) at price
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


def _execution_report(d: dict[str, Any]) -> OrderUpdate:
    """Binance's executionReport; on a cancel `c` is the cancel's id and `C` the order's."""
    status = _status(d.get("X"))
    cid = d.get("C") if status is OrderStatus.CANCELED and d.get("C") else d.get("c")
    if not cid or not isinstance(cid, str):
        raise UpdateError("executionReport has no client order id ('c' / 'C')")
    if not isinstance(d.get("s"), str):
        raise UpdateError("executionReport has no symbol ('s')")
    trade = d.get("x") == "TRADE"
    return OrderUpdate(
        symbol=d["s"],
        client_order_id=cid,
        status=status,
        side=_side(d.get("S")),
        exchange_order_id=str(d.get("i", "")),
        price=_dec(d, "p"),
        orig_qty=_dec(d, "q"),
        cum_qty=_dec(d, "z", required=True) or Decimal(0),
        cum_quote=_dec(d, "Z"),
        last_qty=(_dec(d, "l") or Decimal(0)) if trade else Decimal(0),
        last_price=_dec(d, "L") if trade else None,
        commission=_dec(d, "n") if trade else None,
        commission_asset=d.get("N") if trade else None,
        trade_id=_int(d.get("t"), -1) if trade else -1,
        ts_ms=_int(d.get("T", d.get("E")), 0),
        reject_reason=str(d.get("r", "")) if d.get("r") not in (None, "NONE") else "",
    )
