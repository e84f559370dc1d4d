"""What the bot answers in the owner's chat: short plain text a phone shows whole (pure, no I/O).

Each function takes the keeper's `StatusSnapshot` (or an `EntryApproval`)
and the wall clock, and returns the message. Plain text, no parse mode:
nothing here needs escaping, and a model's reasoning cannot format anything.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from actors.messages import ZERO, EntryApproval, RiskState, StatusSnapshot, Trade
from actors.notify.notes import _span, utc

MAX_REASONING = 300
MAX_MESSAGE = 4000  # Telegram takes 4096 characters a message
_OUTCOMES = {
    "approved": "APPROVED by {by} after {waited}: order {order} placed.",
    "rejected": "REJECTED by {by} after {waited}.",
    "expired": "EXPIRED after {waited}: {detail}. Nothing was placed.",
    "moved": "DROPPED: {detail}. Nothing was placed.",
    "refused": "NOT PLACED (answered by {by} after {waited}): {detail}.",
    "cancelled": "CANCELLED: {detail}. Nothing was placed.",
}


def _d(x: Decimal | None, places: int = 4) -> str:
    return "-" if x is None else f"{x:.{places}f}"


def _signed(x: Decimal) -> str:
    return f"{x:+.4f}"


def _clip(text: str, limit: int = MAX_REASONING) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ms(dt: datetime | None) -> int:
    return int(dt.timestamp() * 1000) if dt is not None else 0


def _risk_line(st: StatusSnapshot) -> str:
    rv = st.risk
    state = rv.state if rv is not None else (RiskState.HALTED if st.halted_reason else RiskState.ACTIVE)
    reason = st.halted_reason or (rv.reason if rv is not None else "")
    until = f" until {utc(rv.until_ms)}" if rv is not None and rv.until_ms else ""
    return f"{state.value.upper()}{': ' + _clip(reason, 120) if reason and state is not RiskState.ACTIVE else ''}{until}"


def feed_line(st: StatusSnapshot, now_ms: int, live: bool) -> str:
    snap = st.last_snapshot
    if snap is None:
        return "feed: no market data yet"
    age = f", data {max(0, now_ms - snap.ts_data_ms) // 1000} s old" if live else f", market time {utc(snap.ts_data_ms)}"
    return f"feed: {'STALE' if st.feed_stale else 'ok'}{age}; bid {snap.bid} ask {snap.ask}"


def status(st: StatusSnapshot, mode: str, quote: str, now_ms: int) -> str:
    """`/status`: mode, state, position, equity, risk state, feed health."""
    rv, pos, o = st.risk, st.position, st.active_order
    lines = [f"{mode} {st.symbol} · {_risk_line(st)}", f"state: {st.state.value}"]
    if pos.quantity:
        lines.append(f"holding {pos.quantity} at {_d(pos.entry_price)} (cost {_d(pos.cost_quote)} {quote})")
    else:
        lines.append("holding nothing" + (f" (dust {pos.dust})" if pos.dust else ""))
    if o is not None:
        lines.append(f"open order: {o.side} {o.quantity} @ {o.price} ({o.status.lower()}, filled {o.filled_qty})")
    if rv is not None:
        lines.append(f"equity {_d(rv.equity)} {quote} ({(rv.equity - rv.capital) / rv.capital * 100:+.2f} % on "
                     f"{rv.capital}), drawdown {rv.drawdown * 100:.2f} % of {rv.max_drawdown * 100:.0f} %")
    lines.append(feed_line(st, now_ms, mode != "BACKTEST"))
    pending = [a for a in st.approvals if a.outcome == "pending"]
    if pending:
        lines.append(f"waiting for approval: buy {pending[0].quantity} @ {pending[0].price} ({pending[0].approval_id})")
    if st.stopped_reason:
        lines.append(f"no new orders: {_clip(st.stopped_reason, 120)}")
    return "\n".join(lines)


def profit(st: StatusSnapshot, quote: str, now_ms: int) -> str:
    """`/profit`: realised and unrealised P&L, today (UTC) and since start. `st.trades`: the recent ones."""
    rv = st.risk
    today = datetime.fromtimestamp(now_ms / 1000, UTC).date()
    closed = [t for t in st.trades if t.closed_at is not None and t.profit_loss is not None]
    todays = [t for t in closed if t.closed_at is not None and t.closed_at.date() == today]
    real_today = sum((t.profit_loss or ZERO for t in todays), ZERO)
    unreal = rv.equity - rv.capital - st.realized_pnl if rv is not None else ZERO
    lines = [f"{st.symbol} P&L ({quote})",
             f"realised today: {_signed(real_today)} ({len(todays)} {'trade' if len(todays) == 1 else 'trades'} closed)",
             f"realised since start: {_signed(st.realized_pnl)}, fees paid {_d(st.fees_paid)}",
             f"unrealised: {_signed(unreal)}" + (f" on {st.position.quantity} held" if st.position.quantity else "")]
    if rv is not None:
        lines.append(f"equity today: {_signed(rv.day_pnl)}; equity {_d(rv.equity)} against capital {rv.capital} "
                     f"({(rv.equity - rv.capital) / rv.capital * 100:+.2f} %)")
    return "\n".join(lines)


def trade_line(t: Trade) -> str:
    pnl = t.profit_loss
    cost = (t.entry_price or ZERO) * t.quantity
    pct = f" ({pnl / cost * 100:+.2f} %)" if pnl is not None and cost else ""
    opened = t.timestamp.strftime("%m-%d %H:%M")
    if t.status != "CLOSED":
        return f"{opened} OPEN {t.quantity} @ {_d(t.entry_price)}"
    return (f"{opened} {_signed(pnl or ZERO)}{pct} {t.quantity} {_d(t.entry_price)} -> {_d(t.exit_price)} "
            f"{t.exit_reason or 'advice'}")


def trades(st: StatusSnapshot, n: int) -> str:
    """`/trades [n]`: the last n, newest first."""
    shown = list(reversed(st.trades[-n:]))
    if not shown:
        return f"{st.symbol}: no trades yet."
    head = "the last trade" if len(shown) == 1 else f"the last {len(shown)} trades"
    return f"{st.symbol}, {head} (UTC; P&L net of fees):\n" + "\n".join(map(trade_line, shown))


def why(st: StatusSnapshot, now_ms: int) -> str:
    """`/why`: why the bot is where it is: what blocks it, what waits, the last advice, the gate's last refusal."""
    lines = [f"{_risk_line(st)}, {st.state.value}."]
    if st.blocked:
        lines += [f"blocked: {b.condition.replace('_', ' ')}: {_clip(b.detail, 160)} (since {utc(b.since_ms)})"
                  for b in st.blocked]
    elif st.state.value.startswith("ready") and not st.stopped_reason:
        lines.append("nothing blocks it.")
    if st.stopped_reason:
        lines.append(f"no new orders: {_clip(st.stopped_reason, 160)}")
    for a in st.approvals:
        if a.outcome == "pending":
            lines.append(f"waiting for your approval: buy {a.quantity} @ {a.price} ({a.approval_id}), "
                         f"expires {utc(a.expires_ms)}")
    adv = st.last_advice
    if adv is not None:
        price = f" @ {adv.base_price}" if adv.base_price is not None else ""
        lines.append(f"last advice ({adv.source.value}{', ' + adv.model if adv.model else ''}, confidence "
                     f"{adv.confidence}): {adv.action.value.upper()}{price}: {_clip(adv.reasoning, 200)}"
                     + (f" [rejected: {_clip(adv.rejected_reason, 100)}]" if adv.rejected_reason else ""))
    else:
        lines.append("no advice yet.")
    if st.denials:
        d = st.denials[-1]
        lines.append(f"last refusal by the risk gate ({utc(d.ts_ms)}): {d.side.value.lower()} {d.quantity} @ "
                     f"{d.price}: {d.code}: {_clip(d.detail, 160)}")
    return "\n".join(lines)


def control(action: str, st: StatusSnapshot, before: StatusSnapshot | None = None) -> str:
    """The answer to a control, from the keeper's state after it (the same answer the dashboard gets)."""
    state = _risk_line(st)
    match action:
        case "pause":
            return f"Buying paused. Trading is {state}. Exits go on; /resume to trade again."
        case "resume":
            return f"Trading is {state}."
        case "halt":
            held = f" {st.position.quantity} held stays" if st.position.quantity else ""
            return f"Trading is {state}.{held and ' The' + held + ' (/sell to sell it).'}"
        case "sell":
            what = (f"Selling {st.position.quantity} at the bid, through the risk gate."
                    if st.position.quantity else "Nothing is held to sell.")
            return f"Trading is {state}. {what}"
        case "cancel":
            o = before.active_order if before is not None else st.active_order
            if o is None:
                return "No open order to cancel."
            return f"Cancel requested for {o.side} {o.quantity} @ {o.price} ({o.id}); it is gone once the exchange confirms."
    return f"Trading is {state}."


def prompt(a: EntryApproval, symbol: str, quote: str) -> str:
    """The message an entry waits on, above its Approve / Reject buttons."""
    plan = [f"target {a.target_price:.4f}" if a.target_price is not None else "",
            f"stop {a.stop_price:.4f}" if a.stop_price is not None else "",
            f"time limit {_span(a.time_limit_s * 1000)}" if a.time_limit_s else ""]
    plan_text = ", ".join(p for p in plan if p) or "none beyond the risk limits"
    by = f"{a.source}{' ' + a.model if a.model else ''}"
    minutes = _span(a.expires_ms - a.requested_ms)
    return (f"{symbol}: approve this entry? ({a.approval_id})\n"
            f"BUY {a.quantity} at {a.price} = {_d(a.quote)} {quote}\n"
            f"exit plan: {plan_text}\n"
            f"proposed by {by} (confidence {a.confidence}): {_clip(a.reasoning) or 'no reasoning given'}\n"
            f"expires {utc(a.expires_ms)} ({minutes}), or sooner if the price moves out of the advice's band.")


def resolution(a: EntryApproval) -> str:
    """One line saying what became of it, for the edited message and the dashboard."""
    text = _OUTCOMES.get(a.outcome, "{outcome} by {by}: {detail}.")
    return text.format(by=a.by, waited=_span(a.waited_ms) if a.waited_ms >= 60_000 else f"{a.waited_ms // 1000} s",
                       order=a.client_order_id or "?", detail=_clip(a.detail, 200), outcome=a.outcome.upper())


def callback_answer(a: EntryApproval | None) -> str:
    """The short pop-up after a tap (Telegram shows at most 200 characters)."""
    if a is None:
        return "This entry no longer waits (answered, expired, or from before a restart)."
    return resolution(a)[:200]
