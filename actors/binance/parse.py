"""Exactly one parser per Binance wire message, each returning the bot's own messages.

Used by the executor (REST answers, user-data events) and by the seed facade
(`state_keeper/updates.py`) alike. Every parser checks what it reads: a
malformed message raises `ParseError` naming the field, never a bare
KeyError or a half-built update. Decimals arrive as strings and leave as
tidy `Decimal`s ("0.40000000" -> 0.4, "0.00000000" -> 0, never 0E-8); a float
is refused, because floats are not money.

Choices where the two old executionReport parsers disagreed:
- the order is `C` (the original client order id) whenever `C` is set, else
  `c`: on a cancel `c` is the cancel request's own id (binance.md 8, 10.4);
- `z` (cumulative quantity), `X`, `s` and the id are required;
- the reason kept is `r` on a rejection (or "REJECTED" when `r` says NONE),
  the expiry reason `eR` when set, and "self-trade prevention" for
  EXPIRED_IN_MATCH without one.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from actors.binance import constants as c
from actors.messages import ZERO, BalanceUpdated, FeesUpdated, OrderStatus, OrderUpdate, Side, SymbolFilters

EXECUTION_REPORT = "executionReport"
ACCOUNT_POSITION = "outboundAccountPosition"
BALANCE_UPDATE = "balanceUpdate"

_MAX_PRECISION = Decimal("0.00000001")  # Binance quotes at most 8 decimals
_NONE = (None, "", "NONE")


class ParseError(ValueError):
    """A wire message that cannot be read; the text names the field and the value."""


# -- values ---------------------------------------------------------------------------------

def wire_decimal(value: Any, name: str = "value") -> Decimal:
    """A decimal string from the wire, tidied: "0.40000000" -> 0.4, "0.00000000" -> 0 (never 0E-8)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ParseError(f"{name!r} must be a decimal string or integer, not {value!r}")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ParseError(f"{name!r} is not a number: {value!r}") from None
    if not d.is_finite():
        raise ParseError(f"{name!r} is not a finite number: {value!r}")
    n = d.normalize()
    return n if n.as_tuple().exponent <= 0 else d.quantize(Decimal(1))  # type: ignore[operator]


def _dec(d: dict[str, Any], key: str, *, required: bool = False) -> Decimal | None:
    value = d.get(key)
    if value is None or value == "":
        if required:
            raise ParseError(f"{_kind(d)} has no {key!r}")
        return None
    out = wire_decimal(value, key)
    if out < 0:
        raise ParseError(f"{key!r} must be a finite number >= 0, not {value!r}")
    return out


def _int(value: Any, default: int, name: str) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ParseError(f"{name!r} must be an integer, not {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ParseError(f"{name!r} must be an integer, not {value!r}") from None


def status(value: Any) -> OrderStatus:
    """A wire order status (case-insensitive), or ParseError listing the known ones."""
    found = c.ORDER_STATUS.get(value.upper()) if isinstance(value, str) else None
    if found is None:
        raise ParseError(f"unknown order status {value!r}; expected one of {', '.join(c.ORDER_STATUS)}")
    return found


def side(value: Any) -> Side | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.upper() not in ("BUY", "SELL"):
        raise ParseError(f"side must be BUY or SELL, not {value!r}")
    return Side(value.upper())


def _kind(d: dict[str, Any]) -> str:
    return str(d.get("e") or "order")


def _require_dict(d: Any, what: str) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise ParseError(f"{what} must be a JSON object, not {type(d).__name__}")
    return d


# -- orders -----------------------------------------------------------------------------------

def execution_report(ev: dict[str, Any]) -> OrderUpdate:
    """A user-data `executionReport` as a normalised, cumulative OrderUpdate."""
    ev = _require_dict(ev, EXECUTION_REPORT)
    st = status(ev.get("X"))
    cid = ev.get("C") or ev.get("c")
    if not cid or not isinstance(cid, str):
        raise ParseError("executionReport has no client order id ('c' / 'C')")
    if not isinstance(ev.get("s"), str) or not ev["s"]:
        raise ParseError("executionReport has no symbol ('s')")
    trade = ev.get("x") == "TRADE"
    trade_id = _int(ev.get("t"), -1, "t") if trade else -1
    if st is OrderStatus.REJECTED:
        reason = "REJECTED" if ev.get("r") in _NONE else str(ev["r"])
    elif ev.get("eR") not in _NONE:
        reason = str(ev["eR"])
    elif st is OrderStatus.EXPIRED_IN_MATCH:
        reason = "self-trade prevention"
    else:
        reason = ""
    fill = trade and trade_id >= 0
    return OrderUpdate(
        symbol=ev["s"],
        client_order_id=cid,
        status=st,
        side=side(ev.get("S")),
        exchange_order_id=str(ev.get("i", "")),
        price=_dec(ev, "p"),
        orig_qty=_dec(ev, "q"),
        cum_qty=_dec(ev, "z", required=True) or ZERO,
        cum_quote=_dec(ev, "Z"),
        last_qty=(_dec(ev, "l") or ZERO) if fill else ZERO,
        last_price=_dec(ev, "L") if fill else None,
        commission=_dec(ev, "n") if fill else None,
        commission_asset=ev.get("N") if fill else None,
        trade_id=trade_id,
        ts_ms=_int(ev.get("T") or ev.get("E"), 0, "T"),
        reject_reason=reason,
    )


def order(o: dict[str, Any], symbol: str) -> OrderUpdate:
    """A REST order (POST RESULT/FULL, GET order, openOrders row, DELETE answer) as one update.

    A DELETE answer's `clientOrderId` is the cancel's own id; `origClientOrderId` is the order's.
    """
    o = _require_dict(o, "order")
    cid = o.get("origClientOrderId") or o.get("clientOrderId")
    if not cid or not isinstance(cid, str):
        raise ParseError("order has no client order id ('clientOrderId' / 'origClientOrderId')")
    ts = o.get("updateTime") or o.get("transactTime") or o.get("workingTime") or o.get("time") or 0
    reason = str(o["expiryReason"]) if o.get("expiryReason") not in _NONE else ""
    return OrderUpdate(
        symbol=str(o.get("symbol", symbol)),
        client_order_id=cid,
        status=status(o.get("status", "NEW")),
        side=side(o.get("side")),
        exchange_order_id=str(o.get("orderId", "")),
        price=_dec(o, "price"),
        orig_qty=_dec(o, "origQty"),
        cum_qty=_dec(o, "executedQty") or ZERO,
        cum_quote=_dec(o, "cummulativeQuoteQty"),
        ts_ms=_int(ts, 0, "updateTime"),
        reject_reason=reason,
    )


def trades(
    side_: Side | None,
    orig_qty: Decimal | None,
    rows: list[dict[str, Any]],
    cid: str,
    symbol: str,
    order_id: str,
    default_ts_ms: int = 0,
) -> list[OrderUpdate]:
    """`myTrades` rows (or a FULL answer's `fills`) of one order as fill updates with running cumulatives.

    The rows must be all of the order's trades; they are sorted by trade id and
    summed so that each update carries the true cumulative at that trade.
    """
    ordered = sorted(rows, key=lambda t: _int(t.get("id", t.get("tradeId", 0)), 0, "id"))
    cum = ZERO
    cum_quote = ZERO
    out = []
    for t in ordered:
        if order_id and "orderId" in t and str(t["orderId"]) != order_id:
            continue
        qty = wire_decimal(t.get("qty"), "qty")
        price = wire_decimal(t.get("price"), "price")
        cum += qty
        cum_quote += wire_decimal(t["quoteQty"], "quoteQty") if t.get("quoteQty") is not None else qty * price
        done = orig_qty is not None and cum >= orig_qty
        out.append(
            OrderUpdate(
                symbol=symbol,
                client_order_id=cid,
                status=OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
                side=side_,
                exchange_order_id=order_id,
                orig_qty=orig_qty,
                cum_qty=cum,
                cum_quote=cum_quote,
                last_qty=qty,
                last_price=price,
                commission=_dec(t, "commission"),
                commission_asset=t.get("commissionAsset"),
                trade_id=_int(t.get("id", t.get("tradeId", -1)), -1, "id"),
                ts_ms=_int(t.get("time") or default_ts_ms, 0, "time"),
            )
        )
    return out


# -- balances -----------------------------------------------------------------------------------

def account_balances(account: dict[str, Any], assets: tuple[str, ...]) -> list[BalanceUpdated]:
    """`GET /api/v3/account` for `assets`; an asset left out (omitZeroBalances) holds zero."""
    account = _require_dict(account, "account")
    ts = _int(account.get("updateTime"), 0, "updateTime")
    found = {b.get("asset"): b for b in account.get("balances", ())}
    out = []
    for asset in assets:
        b = found.get(asset, {"free": "0", "locked": "0"})
        out.append(BalanceUpdated(asset=asset, free=wire_decimal(b.get("free"), "free"),
                                  locked=wire_decimal(b.get("locked"), "locked"), ts_ms=ts))
    return out


def account_position(ev: dict[str, Any]) -> list[BalanceUpdated]:
    """`outboundAccountPosition`: the assets that may have changed, with free and locked."""
    ev = _require_dict(ev, ACCOUNT_POSITION)
    ts = _int(ev.get("u") or ev.get("E"), 0, "u")
    return [
        BalanceUpdated(asset=str(b.get("a")), free=wire_decimal(b.get("f"), "f"), locked=wire_decimal(b.get("l"), "l"),
                       ts_ms=ts)
        for b in ev.get("B", ())
    ]


def balance_update(ev: dict[str, Any]) -> tuple[str, Decimal, int]:
    """`balanceUpdate` (deposit, withdrawal, transfer): (asset, signed delta, clear time)."""
    ev = _require_dict(ev, BALANCE_UPDATE)
    return str(ev.get("a")), wire_decimal(ev.get("d"), "d"), _int(ev.get("T") or ev.get("E"), 0, "T")


# -- exchange rules -----------------------------------------------------------------------------

def symbol_filters(info: dict[str, Any]) -> SymbolFilters:
    """One entry of `exchangeInfo.symbols` as SymbolFilters.

    Reads PRICE_FILTER, LOT_SIZE and NOTIONAL (or the legacy MIN_NOTIONAL) and
    the symbol status. A filter value of 0 switches that rule off on Binance;
    a zero tick or step is kept on the 8-decimal grid so the checks stay defined.
    """
    by_type = {f.get("filterType"): f for f in info.get("filters", ())}
    price = by_type.get("PRICE_FILTER", {})
    lot = by_type.get("LOT_SIZE", {})
    notional = by_type.get("NOTIONAL") or by_type.get("MIN_NOTIONAL") or {}
    return SymbolFilters(
        symbol=str(info["symbol"]),
        base_asset=str(info.get("baseAsset", "")),
        quote_asset=str(info.get("quoteAsset", "")),
        tick_size=wire_decimal(price.get("tickSize", "0"), "tickSize") or _MAX_PRECISION,
        step_size=wire_decimal(lot.get("stepSize", "0"), "stepSize") or _MAX_PRECISION,
        min_qty=wire_decimal(lot.get("minQty", "0"), "minQty"),
        max_qty=wire_decimal(lot.get("maxQty", "0"), "maxQty"),
        min_notional=wire_decimal(notional.get("minNotional", "0"), "minNotional"),
        max_notional=wire_decimal(notional.get("maxNotional", "0"), "maxNotional"),
        min_price=wire_decimal(price.get("minPrice", "0"), "minPrice"),
        max_price=wire_decimal(price.get("maxPrice", "0"), "maxPrice"),
        status=str(info.get("status", c.SYMBOL_TRADING)),
    )


def exchange_info(payload: dict[str, Any], symbol: str) -> SymbolFilters:
    """The `GET /api/v3/exchangeInfo?symbol=` answer for `symbol`; KeyError if it is not listed."""
    for info in _require_dict(payload, "exchangeInfo").get("symbols", ()):
        if info.get("symbol") == symbol:
            return symbol_filters(info)
    raise KeyError(f"symbol {symbol} is not in exchangeInfo")


# -- the account's commission --------------------------------------------------------------------

def _side_rates(block: Any, what: str) -> tuple[Decimal, Decimal]:
    """(maker, taker) of one commission block, each with the buyer or seller extra, whichever is higher."""
    if block is None:
        return ZERO, ZERO
    block = _require_dict(block, what)
    side = max(_dec(block, "buyer") or ZERO, _dec(block, "seller") or ZERO)
    return (_dec(block, "maker") or ZERO) + side, (_dec(block, "taker") or ZERO) + side


def commission(payload: Any, symbol: str, ts_ms: int = 0) -> FeesUpdated:
    """`GET /api/v3/account/commission?symbol=` as the rates a fill pays (commission_faq.md).

    Standard, tax and special commission add up; only the standard part is reduced when the
    account pays fees in BNB (`discount.discount` is what is left of it: 0.75 = a quarter off).
    """
    d = _require_dict(payload, "commission")
    if d.get("symbol") not in (None, symbol):
        raise ParseError(f"commission is for {d.get('symbol')!r}, not {symbol}")
    if not isinstance(d.get("standardCommission"), dict):
        raise ParseError("commission has no 'standardCommission'")
    std_maker, std_taker = _side_rates(d["standardCommission"], "standardCommission")
    tax_maker, tax_taker = _side_rates(d.get("taxCommission"), "taxCommission")
    sp_maker, sp_taker = _side_rates(d.get("specialCommission"), "specialCommission")
    disc: dict[str, Any] = d["discount"] if isinstance(d.get("discount"), dict) else {}
    left = Decimal(1)
    if disc.get("enabledForAccount") is True and disc.get("enabledForSymbol") is True:
        left = _dec(disc, "discount", required=True) or ZERO
        if not ZERO < left <= 1:
            raise ParseError(f"discount.discount must be in (0, 1], not {disc.get('discount')!r}")
    return FeesUpdated(symbol=symbol, maker=std_maker * left + tax_maker + sp_maker,
                       taker=std_taker * left + tax_taker + sp_taker, bnb_discount=1 - left, ts_ms=ts_ms)


def account_commission(account: Any, symbol: str) -> FeesUpdated | None:
    """`commissionRates` of `GET /api/v3/account` (the account's, not the symbol's; no BNB discount said), if present."""
    rates = _require_dict(account, "account").get("commissionRates")
    if not isinstance(rates, dict):
        return None
    maker, taker = _side_rates(rates, "commissionRates")
    return FeesUpdated(symbol=symbol, maker=maker, taker=taker, ts_ms=_int(account.get("updateTime"), 0, "updateTime"))
