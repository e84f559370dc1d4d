"""The keeper's decisions: snapshot and advice in, proposals through the risk gate, orders out.

Nothing here sends an order the gate has not approved: every proposal, from
the model, the rule-based advisor, an exit or the operator, goes through
`propose`, which asks `risk.check` and either places the order or records
an `OrderDenied`. While something blocks every order the current state
could place, the keeper asks for no advice at all (issue 11: a bot that
cannot trade must not spin).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from loguru import logger

from actors.domain import pricing as policy
from actors.domain.rules import round_price, sellable_qty
from actors.messages import (
    Advice,
    AdviceAction,
    AdviceRequest,
    CancelOrder,
    MarketSnapshot,
    OrderDenied,
    OrderPlaced,
    OrderReason,
    PlaceOrder,
    RiskState,
    Side,
    TradingState,
)
from actors.state_keeper import approval, exits, facts, risk
from actors.state_keeper.records import decided_by

if TYPE_CHECKING:
    from actors.state_keeper.core import Effect, KeeperCore
    from actors.state_keeper.records import OrderRecord

S = TradingState
_EXECUTOR, _CONSULTANT, _PUBLISH = "executor", "consultant", "publish"
_EXIT_REASONS = frozenset(r.value for r in OrderReason if r is not OrderReason.ADVICE)
BLOCKS_BUYS = frozenset({"account_mismatch", "halted", "paused", "stopped", "no_filters", "feed_stale",
                         "market_closed", "retry_wait", "max_trades", "cannot_size"})
BLOCKS_SELLS = frozenset({"account_mismatch", "stopped", "no_filters", "feed_stale", "market_closed", "retry_wait",
                          "nothing_to_sell"})
_LOGGED_BY_THE_GATE = frozenset({"halted", "paused"})  # set_risk_state already said so, once
_BLOCKERS = tuple(BLOCKS_BUYS | BLOCKS_SELLS)
_KEEP_DENIALS = 20


@dataclass(slots=True)
class Pending:
    request_id: str
    state: TradingState
    snapshot: MarketSnapshot


def decide(core: KeeperCore, s: MarketSnapshot) -> list[Effect]:
    state = core.machine.state
    halt: list[Effect] = []
    if state in (S.READY_TO_BUY, S.READY_TO_SELL) and core.ledger.qty:
        halt = core.check_base_balance(s.ts_snapshot_ms)  # a balance that came while an order was open
    blocked = update_blockers(core, s)
    if halt:
        return halt
    exit_now = exit_sell(core, s, blocked)
    if exit_now is not None:
        return exit_now
    if core.approvals.engaged:  # an entry waits for the owner's answer, or was just turned down (approval.py)
        held = approval.on_snapshot(core, s, blocked)
        if held is not None:
            return held
    if (state is S.READY_TO_BUY and blocked & BLOCKS_BUYS) or (state is S.READY_TO_SELL and blocked & BLOCKS_SELLS):
        return []
    if state not in (S.READY_TO_BUY, S.READY_TO_SELL):
        return []
    advice = usable_advice(core, s)
    if advice is None:
        return ask(core, s)
    if advice.action is AdviceAction.HOLD or advice.confidence < core.settings.ai.min_confidence:
        return []
    if advice.base_price is None:
        return []
    core.advice_used = True
    assert core.filters is not None
    by = decided_by(advice)
    if state is S.READY_TO_BUY and advice.action is AdviceAction.BUY:
        return propose(core, Side.BUY, round_price(advice.base_price, Side.BUY, core.filters), OrderReason.ADVICE, by,
                       s, advice.request_id, advice.confidence)
    if state is S.READY_TO_SELL and advice.action is AdviceAction.SELL:
        price = round_price(advice.base_price, Side.SELL, core.filters)
        floor = min_sell_price(core, price, s.bid)
        if floor is not None and price < floor:
            logger.info("advised sell {} is below the minimum {} (break-even + min_profit): offering {}",
                        price, floor, floor)
            price = floor
        return propose(core, Side.SELL, price, OrderReason.ADVICE, by, s, advice.request_id, advice.confidence)
    return []


def exit_sell(core: KeeperCore, s: MarketSnapshot, blocked: set[str]) -> list[Effect] | None:
    """The sell of a due exit (a stop, a target, a deadline, a halt's flatten) at the bid, or None."""
    if core.machine.state is not S.READY_TO_SELL or blocked & BLOCKS_SELLS:
        return None
    reason = exit_due(core, s)
    if reason is None:
        return None
    assert core.filters is not None
    return propose(core, Side.SELL, round_price(s.bid, Side.SELL, core.filters), reason, "risk", s)


def exit_while_asking(core: KeeperCore, s: MarketSnapshot) -> list[Effect]:
    """A due exit is not held up by advice in flight (live, up to `[ai] timeout_s`): nothing the model
    could answer would stop a stop or a halt's flatten. The answer, when it comes, is about a state the keeper
    has left (it is not used), or `decide` weighs the exits before it again. A lockstep backtest never gets
    here: its market waits for the advice."""
    if core.machine.state is not S.READY_TO_SELL:
        return []
    return exit_sell(core, s, update_blockers(core, s)) or []


def update_blockers(core: KeeperCore, s: MarketSnapshot) -> set[str]:
    """Which conditions stop trading now; each start and end is logged once (blocking.py)."""
    now, f, state = s.ts_snapshot_ms, core.filters, core.machine.state
    max_trades = core.settings.trading.max_trades
    on: dict[str, str] = {}
    if core.integrity_halt:
        on["account_mismatch"] = core.integrity_halt
    if core.risk.state is RiskState.HALTED:
        on["halted"] = f"halted: {core.risk.reason}"
    elif core.risk.state is RiskState.REDUCING:
        on["paused"] = f"no new buys: {core.risk.reason}"
    if core.stopped:
        on["stopped"] = core.stopped
    if f is None:
        on["no_filters"] = "the symbol's rules (tick, lot, minimum notional) are not known yet"
    elif f.status != "TRADING":
        on["market_closed"] = f"{core.symbol} is {f.status} on the exchange"
    if core.feed_stale or s.stale:
        on["feed_stale"] = "the market feed is stale"
    if now < core.retry_at_ms:
        on["retry_wait"] = f"the last order was rejected: waiting until {core.retry_at_ms} (market time) to retry"
    if state is S.READY_TO_BUY and max_trades and core.ledger.closed >= max_trades:
        on["max_trades"] = f"{max_trades} round trips done (trading.max_trades)"
    if state is S.READY_TO_BUY and f is not None and not on.keys() & BLOCKS_BUYS:
        detail = _cannot_size(core, s)
        if detail is not None:
            on["cannot_size"] = detail
    if state is S.READY_TO_SELL and f is not None and sellable(core, s.bid, use_free=True) <= 0:
        on["nothing_to_sell"] = f"{core.ledger.qty} {core.ledger.base_asset} held, none of it sellable"
    blockers, out = core.blockers, []
    held = blockers.names()
    for name in _BLOCKERS:  # the same order as ever; one that neither holds nor held has nothing to say
        if name in on or name in held:
            event = blockers.set(name, name in on, on.get(name, ""), now, loud=name not in _LOGGED_BY_THE_GATE)
            if event is not None:
                out.append(event)
    core.block_events.extend(out)
    return set(on)


def _cannot_size(core: KeeperCore, s: MarketSnapshot) -> str | None:
    """Why a buy could not be sized now (the gate's answer to a buy at the ask), or None if it could.

    The gate is asked on every snapshot while flat; whether it refuses depends only on the values
    below (its inputs), so the yes/no is remembered per value. The reason is worked out again
    whenever it is shown (the condition starting), so its text is exactly the gate's.
    """
    equity, exposure, free = core.equity_at(s.bid), core.ledger.cost, core.free.get(core.ledger.quote_asset)
    key = (s.ask, equity, exposure, free, core.risk.state)  # the rest (filters, settings) clears the memo
    memo = core.sizing_memo
    refused = memo.get(key)
    if refused is None or (refused and "cannot_size" not in core.blockers):
        verdict = risk.check(risk.Proposal(Side.BUY, s.ask, OrderReason.ADVICE, "keeper"), account(core, s),
                             core.settings.risk, core.quote_per_trade)
        refused = isinstance(verdict, risk.Denial)
        if len(memo) >= 256:
            memo.clear()
        memo[key] = refused
        if isinstance(verdict, risk.Denial):
            return f"a buy cannot be sized: {verdict.detail}"
    return "a buy cannot be sized" if refused else None


def exit_due(core: KeeperCore, s: MarketSnapshot) -> OrderReason | None:
    if core.risk.state is RiskState.HALTED and (core.settings.risk.flatten_on_halt or core.flatten_requested):
        return OrderReason.FLATTEN
    if core.exit_plan is None and core.ledger.qty:
        set_exit_plan(core, s.ts_snapshot_ms)  # a position recovered from a journal that had no plan
    return exits.due(core.exit_plan, s.bid, core.high_bid, s.ts_snapshot_ms)


def set_exit_plan(core: KeeperCore, ts: int) -> None:
    cost = policy.unit_cost(core.ledger.cost, core.ledger.qty)
    if cost is None:
        return
    vol = core.last_snapshot.volatility if core.last_snapshot else None
    a = core.last_advice  # the advice whose buy opened the position (no advice is asked while buying)
    advised = a.exit_plan if a is not None and a.action is AdviceAction.BUY else None
    plan = exits.plan(cost, vol, ts, core.settings.trading.stop_loss, core.settings.risk, advised)
    if plan is not None:
        core.record(plan)
    core.high_bid = core.last_snapshot.bid if core.last_snapshot else cost


def check_resting(core: KeeperCore, s: MarketSnapshot) -> list[Effect]:
    """Cancel the active order when it timed out, an exit must replace it, or buying was stopped."""
    rec = core.ledger.orders.get(core.active_id or "")
    if rec is None or rec.status.is_terminal or rec.cancel_requested:
        return []
    reason = ""
    if rec.side is Side.SELL:
        due = exit_due(core, s)
        if due is not None and (rec.reason not in _EXIT_REASONS or s.ask < rec.price):  # chase down, not every tick
            reason = due.value.replace("_", "-")
    else:
        timeout_s = core.settings.trading.order_timeout_s
        if s.ts_snapshot_ms - rec.created_ms >= timeout_s * 1000:
            reason = f"not filled within {timeout_s} s"
        elif core.risk.state is not RiskState.ACTIVE:
            reason = f"no new buys while {core.risk.state.name}"
    if not reason:
        return []
    return cancel(core, rec, reason, s.ts_snapshot_ms)


def cancel(core: KeeperCore, rec: OrderRecord, reason: str, ts: int) -> list[Effect]:
    core.sent_since_ack = True
    cmd = CancelOrder(client_order_id=rec.client_order_id, symbol=core.symbol, ts_ms=ts, reason=reason)
    core.record(facts.CancelRequested(cmd))
    logger.bind(correlation_id=rec.client_order_id).info("cancelling {}: {}", rec.client_order_id, reason)
    return [(_EXECUTOR, cmd)]


def propose(core: KeeperCore, side: Side, price: Decimal, reason: OrderReason, by: str, s: MarketSnapshot,
            correlation_id: str = "", confidence: Decimal = Decimal(1)) -> list[Effect]:
    """The one way to an order: the gate approves (and sizes) it, or it is denied and nothing is sent."""
    qty = sellable(core, price, use_free=True) if side is Side.SELL else None
    p = risk.Proposal(side, price, reason, by, qty, confidence)
    verdict = risk.check(p, account(core, s), core.settings.risk, core.quote_per_trade)
    if isinstance(verdict, risk.Denial):
        return deny(core, p, verdict, s.ts_snapshot_ms)
    if side is Side.BUY and approval.wanted(core, reason):  # the owner answers first (approval.py)
        return approval.hold(core, p, verdict.quantity, s, correlation_id or reason.value)
    return place(core, side, price, verdict.quantity, reason, s, correlation_id or reason.value)


def place(core: KeeperCore, side: Side, price: Decimal, qty: Decimal, reason: OrderReason, s: MarketSnapshot,
          correlation_id: str) -> list[Effect]:
    cid = f"{core.id_prefix}-{core.next_id}-{side.value[0]}"
    cmd = PlaceOrder(client_order_id=cid, symbol=core.symbol, side=side, price=price, quantity=qty,
                     ts_ms=s.ts_snapshot_ms, correlation_id=correlation_id, reason=reason.value)
    core.record(facts.IntentRecorded(cmd))
    core.last_denial = ("", "")  # an order went out: the next refusal, even a repeat, is news again
    logger.bind(correlation_id=cid).info("order placed: {} {} {} @ {} as {} ({}, on {})", side.value, qty,
                                         core.symbol, price, cid, reason.value, correlation_id)
    to = S.BUYING if side is Side.BUY else S.SELLING
    out = core.transition(to, f"{side.value.lower()} {qty} @ {price} ({reason.value})", s.ts_snapshot_ms, active=cid)
    core.count("orders")
    return [(_EXECUTOR, cmd), *out, (_PUBLISH, OrderPlaced(client_order_id=cid, side=side, price=price, quantity=qty,
                                                           reason=reason.value, ts_ms=s.ts_snapshot_ms))]


def deny(core: KeeperCore, p: risk.Proposal, d: risk.Denial, ts: int) -> list[Effect]:
    core.count("orders_denied")
    core.count(f"denied_{d.code}")
    denial = OrderDenied(side=p.side, price=p.price, quantity=p.quantity or Decimal(0), code=d.code, detail=d.detail,
                         proposed_by=p.proposed_by, ts_ms=ts)
    core.denials = [*core.denials[-(_KEEP_DENIALS - 1):], denial]
    if (d.code, p.side.value) == core.last_denial:
        return []  # the same refusal again: counted, not logged or journaled again
    core.last_denial = (d.code, p.side.value)
    core.record(facts.DenialRecorded(denial))
    logger.warning("order denied ({}): {} {} proposed by {}: {}", d.code, p.side.value.lower(), p.price,
                   p.proposed_by, d.detail)
    return [(_PUBLISH, denial)]


def account(core: KeeperCore, s: MarketSnapshot) -> risk.Account:
    assert core.filters is not None
    state = RiskState.HALTED if core.integrity_halt else core.risk.state
    floor = min_sell_price(core)
    taker_floor = floor if core.fees.taker == core.fees.maker else min_sell_price(core, s.bid, s.bid)
    return risk.Account(state=state, state_reason=core.halted or core.risk.reason, equity=core.equity_at(s.bid),
                        exposure=core.ledger.cost, free_quote=core.free.get(core.ledger.quote_asset),
                        filters=core.filters, min_sell_price=floor, bid=s.bid, ask=s.ask,
                        price_band=core.settings.ai.price_band_pct, taker_min_sell_price=taker_floor)


def on_advice(core: KeeperCore, a: Advice) -> list[Effect]:
    if core.pending is None or a.request_id != core.pending.request_id:
        logger.warning("advice {} was not asked for (or came twice); ignored", a.request_id)
        core.count("stray_advice")
        return []
    pending, core.pending = core.pending, None
    core.record(facts.AdviceReceived(a))
    logger.bind(correlation_id=a.request_id).info(
        "advice {} {} @ {} (confidence {}, {}{}): {}", a.request_id, a.action.value, a.base_price, a.confidence,
        a.source.value, f", rejected: {a.rejected_reason}" if a.rejected_reason else "", a.reasoning[:200])
    core.advice_for = (pending.state, pending.snapshot.mid)
    core.advice_used = False
    s = core.last_snapshot or pending.snapshot
    # Live, the market went on while the model thought: its answer's validity counts from its arrival, or a
    # model slower than `[ai] cache_ttl_s` would be asked again forever. Lockstep: 0 (nothing came meanwhile).
    core.advice_lag_ms = max(0, s.ts_snapshot_ms - pending.snapshot.ts_snapshot_ms)
    if s.ts_snapshot_ms - core.advice_lag_ms > a.valid_until_ms:  # stale on arrival: asking again now could loop
        if core.count("stale_advice") == 1:
            logger.warning("advice {} was valid until {}, before the market time it was asked at ({}): asked again "
                           "on the next snapshot (counted as stale_advice; logged once)", a.request_id,
                           a.valid_until_ms, pending.snapshot.ts_snapshot_ms)
        out: list[Effect] = []
    else:
        out = decide(core, s)
    if core.pending is None and core.deferred_ack is not None:
        out.append(core._ack(core.deferred_ack, out))
        core.deferred_ack = None
    return out


def usable_advice(core: KeeperCore, s: MarketSnapshot) -> Advice | None:
    a = core.last_advice
    if a is None or core.advice_for is None or core.advice_used:
        return None
    state, mid = core.advice_for
    if state is not core.machine.state or s.ts_snapshot_ms - core.advice_lag_ms > a.valid_until_ms:
        return None
    if a.wake_on_move and mid and abs(s.mid - mid) / mid > core.settings.ai.price_band_pct / 4:
        return None  # the market moved away from what the advice was about
    return a


def ask(core: KeeperCore, s: MarketSnapshot) -> list[Effect]:
    assert core.filters is not None
    request_id = f"adv-{core.symbol}-{s.seq}-{core.count('advice_requests')}"
    qty, cost = core.ledger.qty, core.ledger.cost
    holding = core.machine.state is S.READY_TO_SELL
    req = AdviceRequest(
        request_id=request_id, symbol=core.symbol, state=core.machine.state, snapshot=s, filters=core.filters,
        position_qty=qty, entry_price=core.ledger.position(qty).entry_price if qty else None,
        fee_rate=core.fee_rate, min_profit=core.min_profit,
        break_even_price=policy.break_even_price(cost, qty, core.fees.maker) if holding else None,
        min_sell_price=min_sell_price(core) if holding else None,
        quote_per_trade=core.quote_per_trade, ts_ms=s.ts_snapshot_ms,
        exit_target=core.exit_plan.take_profit_price if holding and core.exit_plan is not None else None,
        maker_fee=core.fees.maker, taker_fee=core.fees.taker,
    )
    core.pending = Pending(request_id, core.machine.state, s)
    return [(_CONSULTANT, req)]


def min_sell_price(core: KeeperCore, price: Decimal | None = None, bid: Decimal | None = None) -> Decimal | None:
    """The lowest sell price netting `min_profit` after both fees: the buy's as booked (it is in the cost), the
    sell's at the rate it will pay. Without a price that is a resting offer (maker); a sell at `price` pays
    the taker rate when it is at or below `bid` (it takes), the maker rate above it (it rests)."""
    if core.filters is None:
        return None
    rate = core.fees.maker if price is None or bid is None else core.fees.sell_rate(price, bid)
    return policy.min_sell_price(core.ledger.cost, core.ledger.qty, rate, core.min_profit, core.filters)


def sellable(core: KeeperCore, price: Decimal | None = None, use_free: bool = False) -> Decimal:
    """What can be sold: held, on the lot grid, above the minimums.

    Sizing a sell also respects the free balance the exchange reported,
    once that report is newer than the last fill (a buy fee taken in the
    base asset, or anything else the account did, shows up there).
    """
    if core.filters is None:
        return core.ledger.qty
    held = core.ledger.qty
    free = core.free.get(core.ledger.base_asset)
    if use_free and free is not None and core.last_base_balance_fact > core.last_fill_fact:
        held = min(held, free)
    ref = price or min_sell_price(core) or (core.last_snapshot.mid if core.last_snapshot else None)
    if ref is None:
        return held
    return sellable_qty(held, ref, core.filters)
