"""Builders shared by the tests: settings, filters, snapshots, updates."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from actors.messages import (
    Advice,
    AdviceAction,
    AdviceSource,
    MarketSnapshot,
    OrderStatus,
    OrderUpdate,
    Side,
    SymbolFilters,
)
from actors.settings import Settings, StatusSettings, StorageSettings

D = Decimal

FILTERS = SymbolFilters(
    symbol="TRUMPUSDC", base_asset="TRUMP", quote_asset="USDC", tick_size=D("0.01"), step_size=D("0.001"),
    min_qty=D("0.001"), max_qty=D("9000000"), min_notional=D("1"),
)


def settings(**trading: object) -> Settings:
    s = Settings(storage=StorageSettings(path=":memory:"), status=StatusSettings(port=0))
    if trading:
        s = dataclasses.replace(s, trading=dataclasses.replace(s.trading, **trading))
    return s


def snap(seq: int, bid: str = "39.99", ask: str = "40.01", ts_ms: int | None = None, **kw: object) -> MarketSnapshot:
    b, a = D(bid), D(ask)
    mid = (b + a) / 2
    ts = ts_ms if ts_ms is not None else seq * 1000
    return MarketSnapshot(
        symbol=kw.pop("symbol", "TRUMPUSDC"), seq=seq, ts_data_ms=ts, ts_snapshot_ms=ts, bid=b, bid_qty=D(5),
        ask=a, ask_qty=D(5), mid=mid, spread_bps=(a - b) / mid * 10000, imbalance=D(0), microprice=mid, **kw,
    )


def advice(request_id: str, action: str, price: str | None, confidence: str = "0.9", valid_ms: int = 10**12) -> Advice:
    p = D(price) if price is not None else None
    return Advice(
        request_id=request_id, action=AdviceAction(action), base_price=p,
        price_range=(p, p) if p is not None else None, confidence=D(confidence), reasoning="test",
        source=AdviceSource.MODEL, ts_ms=0, valid_until_ms=valid_ms,
    )


def update(cid: str, status: str, cum: str = "0", quote: str | None = None, side: Side | None = None,
           commission: str | None = None, asset: str | None = None, trade_id: int = -1, last: str | None = None,
           symbol: str = "TRUMPUSDC", ts_ms: int = 0) -> OrderUpdate:
    return OrderUpdate(
        symbol=symbol, client_order_id=cid, status=OrderStatus(status), side=side, cum_qty=D(cum),
        cum_quote=D(quote) if quote is not None else None, last_qty=D(last) if last is not None else D(0),
        commission=D(commission) if commission is not None else None, commission_asset=asset,
        trade_id=trade_id, ts_ms=ts_ms,
    )
