"""The seed's `StateManager`, kept working on top of the actors.

`StateManager(symbol="TRUMPUSDC")` starts a StateKeeper actor (and, on the
first `consult_ai`, an AI consultant); every call is a message to them, and
no coroutine here blocks its event loop on an actor: replies are awaited in
a worker thread (`asyncio.to_thread`).

Here the caller plays the exchange: it reports its own orders. An update for
an order the keeper does not know is first recorded as the order of the next
legal step (a buy when ready to buy, a sell when ready to sell), as the seed's
example expects; the keeper itself never adopts unknown orders.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from decimal import Decimal, InvalidOperation
from typing import Any

import pykka
from loguru import logger

from actors.messages import (
    Advice,
    AdviceRequest,
    GetStatus,
    MarketSnapshot,
    Order,
    OrderUpdate,
    Position,
    RequestTransition,
    StatusSnapshot,
    StopTrading,
    Trade,
    TradingState,
    utc_from_ms,
)
from actors.order_executor.filters import paper_filters
from actors.settings import ExchangeSettings, Settings
from actors.state_keeper.actor import StateKeeperActor
from actors.state_keeper.core import KeeperCore
from actors.state_keeper.records import UpdateError
from actors.state_keeper.updates import parse_order_update

_TIMEOUT = 10.0
_QUOTES = ("USDC", "USDT", "FDUSD", "BTC", "ETH", "BNB", "EUR", "TRY")


class _OneReply(pykka.ThreadingActor):
    """Stands in as `reply_to` for one advice request; hands the answer to a waiting thread."""

    def __init__(self, event: threading.Event, box: list[Advice]) -> None:
        super().__init__()
        self.event, self.box = event, box

    def on_receive(self, message: Any) -> None:
        if isinstance(message, Advice) and not self.box:
            self.box.append(message)
            self.event.set()


def _settings_for(symbol: str) -> Settings:
    quote = next((q for q in _QUOTES if symbol.endswith(q) and symbol != q), "USDC")
    base = symbol[: -len(quote)]
    return Settings(symbol=symbol, exchange=ExchangeSettings(base_asset=base, quote_asset=quote))


class StateManager:
    def __init__(self, symbol: str = "TRUMPUSDC", settings: Settings | None = None,
                 consultant: pykka.ActorRef[Any] | None = None) -> None:
        self.symbol = symbol
        self.settings = settings or _settings_for(symbol)
        self._filters = paper_filters(symbol, self.settings.exchange)
        self._consultant = consultant
        self._own_consultant = False
        self._keeper = StateKeeperActor.start(self.settings, consultant=consultant, filters=self._filters)
        self._status: StatusSnapshot = self._ask(GetStatus())

    # -- the seed's calls ----------------------------------------------------------

    async def transition(self, new_state: TradingState, order: Order | None = None) -> bool:
        """Attempt a transition; False (and logged) unless it is one of the six and consistent."""
        ok = bool(await self._aask(RequestTransition(to=new_state, order=order)))
        await self._refresh()
        return ok

    async def handle_order_update(self, order_update: dict[str, Any]) -> None:
        """Apply an order update (the seed's dict, an executionReport, or a REST order)."""
        try:
            update = parse_order_update(order_update, self.symbol)
        except UpdateError as exc:
            logger.error("order update refused, nothing changed: {}", exc)
            return
        if not update.ts_ms:  # the seed's dict carries no time: it happened now
            update = dataclasses.replace(update, ts_ms=int(time.time() * 1000))
        await self._adopt_if_unknown(update)
        await self._aask(update)
        await self._refresh()

    async def consult_ai(self, market_data: dict[str, Any]) -> dict[str, Any]:
        """Ask the AI consultant for prices; the validated advice in the seed's shape."""
        try:
            snapshot = snapshot_from_dict(self.symbol, market_data)
        except (KeyError, ValueError, InvalidOperation) as exc:
            logger.error("consult_ai: market data not usable ({}); answering hold", exc)
            return {"action": "hold", "base_price": None, "price_range": None, "confidence": Decimal(0),
                    "reasoning": f"market data not usable: {exc}", "source": "fallback"}
        status = await self._aask(GetStatus(recent_trades=0))
        core = KeeperCore(self.settings, self._filters)
        request = _request_for(core, status, snapshot)
        advice = await asyncio.to_thread(self._consult_blocking, request)
        return advice.as_seed_dict()

    async def stop(self) -> None:
        await asyncio.to_thread(self._stop_blocking)

    async def __aenter__(self) -> StateManager:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    # -- read-only views (as of the last call) ---------------------------------------

    @property
    def current_state(self) -> TradingState:
        return self._status.state

    @property
    def current_position(self) -> Position | None:
        p = self._status.position
        return p if p.quantity else None

    @property
    def trades(self) -> list[Trade]:
        return list(self._status.trades)

    @property
    def active_order(self) -> Order | None:
        return self._status.active_order

    @property
    def status(self) -> StatusSnapshot:
        return self._status

    # -- plumbing ----------------------------------------------------------------------

    def _ask(self, msg: Any) -> Any:
        return self._keeper.ask(msg, timeout=_TIMEOUT)

    async def _aask(self, msg: Any) -> Any:
        return await asyncio.to_thread(self._ask, msg)

    async def _refresh(self) -> None:
        self._status = await self._aask(GetStatus())

    async def _adopt_if_unknown(self, u: OrderUpdate) -> None:
        status: StatusSnapshot = await self._aask(GetStatus())
        known = {t.buy_order.id for t in status.trades} | {o.id for t in status.trades for o in t.sell_orders}
        if status.active_order is not None:
            known.add(status.active_order.id)
        if u.client_order_id in known or u.symbol != self.symbol or (u.status.is_terminal and not u.cum_qty):
            return  # known, or the keeper will refuse it and change nothing
        to = {TradingState.READY_TO_BUY: TradingState.BUYING, TradingState.READY_TO_SELL: TradingState.SELLING}.get(status.state)
        if to is None:
            return  # the keeper will refuse it as unknown, changing nothing
        side = u.side.value if u.side else ("BUY" if to is TradingState.BUYING else "SELL")
        if (side == "BUY") != (to is TradingState.BUYING):
            return
        qty = u.orig_qty or u.cum_qty
        price = u.price if u.price is not None else (u.cum_quote / u.cum_qty if u.cum_quote and u.cum_qty else Decimal(0))
        order = Order(id=u.client_order_id, symbol=self.symbol, side=side, quantity=qty, price=price,
                      status="NEW", timestamp=utc_from_ms(u.ts_ms))
        logger.info("recording order {} ({} {} @ {}) reported through the seed API", u.client_order_id, side, qty, price)
        await self._aask(RequestTransition(to=to, order=order))

    def _consult_blocking(self, request: AdviceRequest) -> Advice:
        if self._consultant is None:
            self._consultant = _start_consultant(self.settings)
            self._own_consultant = True
        event, box = threading.Event(), list[Advice]()
        reply = _OneReply.start(event, box)
        try:
            self._consultant.tell(dataclasses.replace(request, reply_to=reply))
            waited = float(self.settings.ai.timeout_s) + 5
            if not event.wait(waited):
                raise TimeoutError(f"the AI consultant did not answer within {waited} s")
            return box[0]
        finally:
            reply.stop()

    def _stop_blocking(self) -> None:
        try:
            self._keeper.ask(StopTrading(reason="StateManager stopped"), timeout=_TIMEOUT)
            self._keeper.stop(timeout=_TIMEOUT)
        except pykka.ActorDeadError:
            pass
        if self._own_consultant and self._consultant is not None:
            try:
                self._consultant.stop(timeout=_TIMEOUT)
            except pykka.ActorDeadError:
                pass


def _start_consultant(settings: Settings) -> pykka.ActorRef[Any]:
    from actors._lib.secrets import from_env
    from actors.ai_consultant.actor import AIConsultantActor

    return AIConsultantActor.start(settings, from_env("OPENROUTER_API_KEY"))


def _request_for(core: KeeperCore, status: StatusSnapshot, snapshot: MarketSnapshot) -> AdviceRequest:
    from actors.domain import pricing as policy

    pos = status.position
    holding = pos.quantity > 0
    assert core.filters is not None
    return AdviceRequest(
        request_id=f"seed-{snapshot.ts_snapshot_ms}",
        symbol=core.symbol,
        state=status.state,
        snapshot=snapshot,
        filters=core.filters,
        position_qty=pos.quantity,
        entry_price=pos.entry_price if holding else None,
        fee_rate=core.fee_rate,
        min_profit=core.min_profit,
        break_even_price=policy.break_even_price(pos.cost_quote, pos.quantity, core.fees.maker) if holding else None,
        min_sell_price=policy.min_sell_price(pos.cost_quote, pos.quantity, core.fees.maker, core.min_profit,
                                             core.filters) if holding else None,
        quote_per_trade=core.quote_per_trade,
        ts_ms=snapshot.ts_snapshot_ms,
        maker_fee=core.fees.maker, taker_fee=core.fees.taker,
    )


def snapshot_from_dict(symbol: str, d: dict[str, Any]) -> MarketSnapshot:
    """A market snapshot from a loose dict: bid/ask (or best_bid/best_ask), or a single price."""
    def num(*keys: str) -> Decimal | None:
        for k in keys:
            if d.get(k) is not None:
                v = Decimal(str(d[k]))
                if not v.is_finite() or v <= 0:
                    raise ValueError(f"{k} must be a positive number, not {d[k]!r}")
                return v
        return None

    last = num("last_price", "price", "close")
    bid = num("bid", "best_bid", "bidPrice") or last
    ask = num("ask", "best_ask", "askPrice") or last
    if bid is None or ask is None:
        raise ValueError("needs bid and ask (or a price)")
    if bid > ask:
        raise ValueError(f"crossed book: bid {bid} > ask {ask}")
    mid = (bid + ask) / 2
    ts = int(d.get("ts_ms", d.get("timestamp", 0)) or 0)
    return MarketSnapshot(
        symbol=symbol, seq=0, ts_data_ms=ts, ts_snapshot_ms=ts, bid=bid, ask=ask,
        bid_qty=num("bid_qty", "bidQty") or Decimal(0), ask_qty=num("ask_qty", "askQty") or Decimal(0),
        mid=mid, spread_bps=(ask - bid) / mid * 10000, imbalance=Decimal(str(d.get("imbalance", 0))),
        microprice=mid, last_price=last, vwap=num("vwap"), volatility=None,
    )
