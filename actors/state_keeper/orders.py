"""Order updates: a fill or a status change applied once, and what the machine does next.

A rejection starts the retry backoff (market time, doubling, capped, reset
by a fill or new symbol rules), so a refused order is not re-placed on
every snapshot; a sell that leaves the position flat closes the trade,
labelled with the exit that sold it, and lets the protections see it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loguru import logger

from actors.messages import OrderFilled, OrderStatus, OrderUpdate, Side, TradeClosed, TradingState
from actors.state_keeper import decide, facts
from actors.state_keeper.records import OrderRecord, UpdateError

if TYPE_CHECKING:
    from actors.state_keeper.core import Effect, KeeperCore

S = TradingState
_PUBLISH = "publish"


def on_order_update(core: KeeperCore, u: OrderUpdate) -> list[Effect]:
    try:
        applied = core.record(facts.UpdateApplied(u))
    except UpdateError as exc:
        core.count("bad_updates")
        logger.bind(correlation_id=u.client_order_id).error("order update refused, nothing changed: {}", exc)
        if u.symbol == core.symbol and u.client_order_id not in core.ledger.orders and u.cum_qty > 0:
            return core.halt_integrity(
                f"order {u.client_order_id!r} filled {u.cum_qty} {core.symbol} but this bot never placed it: the "
                "account is being traded by something else, or the journal is not this account's", u.ts_ms)
        return []
    rec, fill_qty = applied.record, applied.fill_qty
    if not (applied.status_changed or fill_qty):
        return []  # a repeat: already applied, nothing to say or do
    cid = rec.client_order_id
    ts = u.ts_ms or rec.updated_ms
    out: list[Effect] = []
    # `correlation_id=` as a keyword lands in the record's `extra`, as `logger.bind` would put it, without
    # building a bound logger per update (loguru adds a call's keywords to `extra`)
    if not fill_qty:
        logger.info("order {} is {}{}", cid, rec.status.value,
                    f" ({rec.reject_reason})" if rec.reject_reason else "", correlation_id=cid)
    else:
        core.count("fills")
        core.retry.reset()
        core.retry_at_ms = 0
        logger.info("{} {} filled {} for {} (cum {} of {})", rec.side.value, cid, fill_qty, applied.fill_quote,
                    rec.cum_qty, rec.quantity, correlation_id=cid)
        out.append((_PUBLISH, OrderFilled(client_order_id=cid, side=rec.side, fill_qty=fill_qty,
                                         fill_quote=applied.fill_quote, cum_qty=rec.cum_qty, ts_ms=ts)))
    if cid != core.active_id:
        if fill_qty:
            out += core.halt_integrity(f"fill of {fill_qty} on order {cid}, which is not the active order", ts)
        return out
    if not applied.became_terminal:
        return out
    log = logger.bind(correlation_id=cid)
    if rec.status is OrderStatus.REJECTED:
        delay = core.retry.next()
        core.retry_at_ms = ts + int(delay)
        log.warning("{} {} rejected ({}): next order not before {:.0f} s of market time", rec.side.value,
                    rec.client_order_id, rec.reject_reason or "no reason given", delay / 1000)
    return out + (_buy_ended(core, rec, ts) if rec.side is Side.BUY else _sell_ended(core, rec, ts))

def _buy_ended(core: KeeperCore, rec: OrderRecord, ts: int) -> list[Effect]:
    log = logger.bind(correlation_id=rec.client_order_id)
    if rec.cum_qty > 0 and core.sellable(use_free=False) > 0:
        out = core.transition(S.READY_TO_SELL, f"buy {rec.status.value.lower()}", ts, rec.client_order_id)
        decide.set_exit_plan(core, ts)
        return out
    if rec.cum_qty > 0:
        core.record(facts.DustMarked())
        log.warning("buy {} ended with {} bought, too little to sell: kept as dust", rec.client_order_id, rec.cum_qty)
    return core.transition(S.READY_TO_BUY, f"buy {rec.status.value.lower()} with nothing sellable", ts,
                           rec.client_order_id)

def _sell_ended(core: KeeperCore, rec: OrderRecord, ts: int) -> list[Effect]:
    if core.sellable(use_free=False) != 0:
        return core.transition(S.READY_TO_SELL, f"sell {rec.status.value.lower()}, {core.ledger.qty} still held",
                               ts, rec.client_order_id)
    out: list[Effect] = []
    if core.ledger.open_trade() is not None:
        trade = core.record(facts.PositionClosed(ts_ms=ts, exit_reason=rec.reason))
        core.count("trades_closed")
        if trade is not None:
            logger.bind(correlation_id=rec.client_order_id).info(
                "trade closed ({}): bought {} sold {} for net P&L {} after {} fees (realised total {})",
                rec.reason, trade.qty_held, trade.sold_qty, trade.pnl, trade.fees, core.ledger.realized_pnl)
            out.append((_PUBLISH, TradeClosed(trade=core.ledger.trade_view(trade), ts_ms=ts)))
            pnls = core.ledger.closed_pnls_since_last_win()
            out += core.set_risk_state(core.risk.on_trade_closed(pnls, rec.reason, ts))
    return out + core.transition(S.READY_TO_BUY, f"sell {rec.status.value.lower()}, position flat", ts,
                                 rec.client_order_id)

