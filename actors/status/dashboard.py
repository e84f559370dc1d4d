"""The dashboard's HTML: a banner, the controls, and the live part the server pushes.

`render_html` gives the whole page; `live_html` gives the part that changes,
which the server pushes over server-sent events and the page's script swaps
in (`static/dashboard.js`), so nothing reloads. Pure: a `View` in, escaped
HTML out; times come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from actors.market_data.feed_health import FeedHealth
from actors.messages import ZERO, OrderDenied, RiskView, StatusSnapshot, Trade
from actors.status import fmt, svg
from actors.status.approval_card import approval_card
from actors.status.fmt import e
from actors.status.view import View, age_s, feed_age_s, iso

MODES = ("PAPER", "LIVE", "BACKTEST", "TESTNET")


def mode_of(exchange_kind: str, market_source: str, network: str = "mainnet") -> str:
    """LIVE when orders reach Binance, TESTNET when they reach its Spot Testnet, BACKTEST on a recorded or
    simulated market, else PAPER."""
    if exchange_kind == "binance":
        return "TESTNET" if network == "testnet" else "LIVE"
    return "BACKTEST" if market_source in ("synthetic", "replay") else "PAPER"


def _cls(value: Decimal | None) -> str:
    return "" if not value else "pos" if value > 0 else "neg"


def _dl(rows: Iterable[tuple[str, str, Any]]) -> str:
    return "<dl>" + "".join(f'<dt>{e(k)}</dt><dd id="{e(i)}">{e(v)}</dd>' for k, i, v in rows) + "</dl>"


def _card(title: str, body: str, cls: str = "", ident: str = "") -> str:
    i = f' id="{e(ident)}"' if ident else ""
    return f'<section class="card {cls}"{i}><h2>{e(title)}</h2>{body}</section>'


def _bar(ident: str, name: str, used: Decimal | None, limit: Decimal, text: str) -> str:
    if not limit:
        return f'<div class="limit" id="{ident}"><span>{e(name)}</span><span class="muted">off</span></div>'
    share = max(ZERO, min(Decimal(1), (used or ZERO) / limit))
    level = "neg" if share >= Decimal("0.8") else "warn" if share >= Decimal("0.5") else "pos"
    return (f'<div class="limit" id="{ident}"><span>{e(name)}</span><span id="{ident}-text">{e(text)}</span>'
            f'<meter class="{level}" min="0" max="1" low="0.5" high="0.8" optimum="0" value="{share:.4f}"></meter></div>')


# -- cards ------------------------------------------------------------------------------


def equity_card(st: StatusSnapshot) -> str:
    rv = st.risk
    if rv is None:
        return _card("Equity", '<p class="muted">no risk view</p>')
    unreal = rv.equity - rv.capital - st.realized_pnl
    body = (f'<div class="big" id="equity">{e(fmt.dec(rv.equity))}</div>'
            f'<div class="muted">equity against capital <span id="capital">{e(fmt.dec(rv.capital))}</span>: '
            f'<span class="{_cls(rv.equity - rv.capital)}" id="equity-return">{e(fmt.pct(rv.equity - rv.capital, rv.capital))}</span></div>'
            + _dl([("realised P&L", "realized-pnl", st.realized_pnl), ("unrealised P&L", "unrealized-pnl", fmt.signed(unreal)),
                   ("fees paid", "fees-paid", st.fees_paid), ("peak equity", "peak-equity", fmt.dec(rv.peak_equity))]))
    return _card("Equity", body)


def state_card(st: StatusSnapshot, now_ms: int) -> str:
    rv = st.risk
    state = rv.state.value.upper() if rv is not None else ("HALTED" if st.halted_reason else "ACTIVE")
    reason = (rv.reason if rv is not None else st.halted_reason) or ""
    rows = [("order cycle", "state", st.state.value), ("reason", "risk-reason", reason or None)]
    if rv is not None and rv.until_ms:
        rows.append(("until", "risk-until", fmt.when(rv.until_ms)))
    if st.stopped_reason:
        rows.append(("no new orders", "stopped-reason", st.stopped_reason))
    for b in st.blocked:
        rows.append((f"blocked: {b.condition.replace('_', ' ')}", f"blocked-{b.condition}", b.detail))
    body = f'<div class="big risk-{e(state.lower())}" id="risk-state">{e(state)}</div>' + _dl(rows)
    return _card("Trading state", body)


def limits_card(rv: RiskView | None) -> str:
    if rv is None:
        return ""
    day_loss = max(ZERO, -rv.day_pnl) / rv.capital if rv.capital else ZERO
    bars = [
        _bar("limit-drawdown", "drawdown", rv.drawdown, rv.max_drawdown,
             f"{rv.drawdown * 100:.2f}% of {rv.max_drawdown * 100:.2f}%"),
        _bar("limit-daily-loss", "loss today", day_loss, rv.daily_loss_limit,
             f"{day_loss * 100:.2f}% of {rv.daily_loss_limit * 100:.2f}%"),
        _bar("limit-streak", "losing streak", Decimal(rv.consecutive_losses), Decimal(rv.max_consecutive_losses),
             f"{rv.consecutive_losses} of {rv.max_consecutive_losses}"),
        _bar("limit-exposure", "exposure", rv.exposure, rv.max_exposure,
             f"{fmt.dec(rv.exposure)} of {fmt.dec(rv.max_exposure)}"),
    ]
    return _card("Risk limits used", "".join(bars))


def position_card(st: StatusSnapshot, now_ms: int) -> str:
    pos, o = st.position, st.active_order
    rows = [("held", "position-qty", pos.quantity), ("entry price", "position-entry", pos.entry_price),
            ("cost", "position-cost", pos.cost_quote), ("dust", "position-dust", pos.dust)]
    body = _dl(rows)
    if o is None:
        body += '<p class="muted" id="active-order">no working order</p>'
    else:
        body += '<h3>Open order</h3><div id="active-order">' + _dl([
            ("side", "order-side", o.side), ("price", "order-price", o.price), ("quantity", "order-qty", o.quantity),
            ("filled", "order-filled", o.filled_qty), ("status", "order-status", o.status),
            ("placed", "order-time", fmt.when(int(o.timestamp.timestamp() * 1000))), ("client id", "order-id", o.id)]) + "</div>"
    return _card("Position and order", body)


def feed_card(view: View, st: StatusSnapshot, now_ms: int) -> str:
    stats = view.stats.get("market")
    h = FeedHealth.from_stats(stats.as_dict()) if stats is not None else None
    snap = st.last_snapshot
    live = "STALE" if st.feed_stale else "ok"
    rows: list[tuple[str, str, Any]] = [("feed", "feed-stale", "yes" if st.feed_stale else "no"),
                                        ("newest data", "feed-age", f"{feed_age_s(view, now_ms)} s old")]
    if h is not None:
        rows.append(("health", "feed-summary", h.summary(now_ms)))
        rows += [(k, f"feed-{slug}", v) for k, slug, v in h.fields(now_ms)]
    if snap is not None:
        rows += [("market time", "market-time", fmt.when(snap.ts_data_ms)), ("bid", "bid", snap.bid),
                 ("ask", "ask", snap.ask), ("spread", "spread", f"{snap.spread_bps:.2f} bps")]
    return _card(f"Market feed: {live}", _dl(rows), ident="feed")  # one card says "market"; diagnostics has the rest


def _chart_levels(st: StatusSnapshot) -> list[svg.Line]:
    out: list[svg.Line] = []
    if st.active_order is not None:
        o = st.active_order
        out.append(svg.Line(f"open {o.side.lower()} order", o.price, "#4fb3ff", dashed=False))
    if st.position.quantity and st.position.entry_price:
        out.append(svg.Line("entry", st.position.entry_price, "#d9e1e8"))
    plan = st.exit_plan
    if plan is not None:
        for name, value, color in (("stop", plan.stop_price, "#ff6b6b"), ("trailing stop", plan.trailing_stop_price, "#ff9fb5"),
                                   ("target", plan.take_profit_price, "#3fca7f"), ("break-even", plan.break_even, "#ffb547")):
            if value is not None:
                out.append(svg.Line(name, value, color))
    return out


def _markers(trades: Iterable[Trade]) -> list[svg.Marker]:
    out = []
    for t in trades:
        if t.entry_price is not None:
            out.append(svg.Marker(int(t.timestamp.timestamp() * 1000), t.entry_price, "buy"))
        if t.closed_at is not None and t.exit_price is not None:
            out.append(svg.Marker(int(t.closed_at.timestamp() * 1000), t.exit_price, "sell"))
    return out


def charts(view: View, st: StatusSnapshot) -> str:
    price = svg.Series("mid price", [(s.ts_ms, s.mid) for s in view.history], "#8a98a6")
    levels = _chart_levels(st)
    marks = _markers(st.trades)
    capital = st.risk.capital if st.risk is not None else ZERO
    eq = svg.Series("equity", [(s.ts_ms, capital + s.pnl) for s in view.history], "#4fb3ff")
    base = [svg.Line("capital", capital, "#24303c")] if st.risk is not None else []
    return (_card("Price", svg.chart("price-chart", [price], levels, marks) + svg.legend([price], levels, True), "wide")
            + _card("Equity curve", svg.chart("equity-chart", [eq], base, height=160)
                    + svg.legend([eq], base), "wide"))


def trades_card(trades: tuple[Trade, ...]) -> str:
    if not trades:
        return _card("Recent trades", '<p class="muted" id="trades-empty">no trades yet</p>', "wide")
    rows = "".join(
        f'<tr class="trade"><td>{e(t.timestamp)}</td><td>{e(t.status)}</td><td>{e(t.quantity)}</td>'
        f"<td>{e(t.entry_price)}</td><td>{e(t.exit_price)}</td><td>{e(fmt.dec(t.fees_quote))}{' ~' if t.fee_estimated else ''}</td>"
        f'<td class="{_cls(t.profit_loss)}">{e(fmt.dec(t.profit_loss))}</td><td>{e(t.exit_reason or None)}</td></tr>'
        for t in reversed(trades))
    return _card("Recent trades", '<div class="scroll"><table id="trades"><thead><tr><th>opened (UTC)</th><th>status</th>'
                 "<th>qty</th><th>entry</th><th>exit</th><th>fees</th><th>P&amp;L</th><th>exit reason</th></tr></thead>"
                 f"<tbody>{rows}</tbody></table></div>", "wide")


def denials_card(denials: tuple[OrderDenied, ...]) -> str:
    if not denials:
        return _card("Denied orders", '<p class="muted" id="denials-empty">none</p>')
    rows = "".join(f'<tr><td>{e(fmt.when(d.ts_ms))}</td><td>{e(d.side)}</td><td>{e(d.code)}</td>'
                   f'<td class="wrap">{e(d.detail)}</td></tr>' for d in reversed(denials[-10:]))
    return _card("Denied orders", '<div class="scroll"><table id="denials"><thead><tr><th>when</th><th>side</th>'
                 f"<th>why</th><th>detail</th></tr></thead><tbody>{rows}</tbody></table></div>")


def advice_card(st: StatusSnapshot) -> str:
    adv = st.last_advice
    if adv is None:
        return _card("Last advice", '<p class="muted" id="advice-none">no advice yet</p>')
    rng = f"{adv.price_range[0]} – {adv.price_range[1]}" if adv.price_range else None
    return _card("Last advice", _dl([
        ("action", "advice-action", adv.action), ("price", "advice-price", adv.base_price), ("range", "advice-range", rng),
        ("confidence", "advice-confidence", adv.confidence), ("source", "advice-source", adv.source),
        ("strategy", "advice-strategy", adv.strategy or None), ("model", "advice-model", adv.model),
        ("rejected", "advice-rejected", adv.rejected_reason)])
        + f'<div class="reasoning" id="advice-reasoning">{e(adv.reasoning)}</div>', "two")


def events_card(view: View) -> str:
    if not view.events:
        return ""
    items = "".join(f"<li>{e(x)}</li>" for x in reversed(view.events))
    return _card("Latest events", f'<ul class="events" id="events">{items}</ul>')


_SOURCES = {"ai": "Strategy and AI consultant", "market": "Market data", "executor": "Order executor"}


def diagnostics(view: View, st: StatusSnapshot, now_ms: int) -> str:
    """Every internal counter, labelled for people, with readable times."""
    parts = []
    for name in sorted(set(view.stats) | (set(view.errors) - {"keeper"})):
        stats, err = view.stats.get(name), view.errors.get(name)
        body = f'<p class="neg">{e(err)}</p>' if err else ""
        if stats is not None:
            clock = None if view.mode == "BACKTEST" else now_ms  # market times: no "ago"
            rows = []
            for key, value in stats.values:
                text, shown = fmt.row(key, value, clock)
                rows.append((text, f"stat-{name}-{key}", shown))
            body += _dl(rows)
        parts.append(f'<div class="diag" id="stats-{e(name)}"><h3>{e(_SOURCES.get(name, name))}</h3>{body}</div>')
    if st.counters:
        parts.append('<div class="diag" id="keeper-counters"><h3>State keeper</h3>' + _dl(
            (fmt.label(k), f"counter-{k}", v) for k, v in st.counters) + "</div>")
    return _card("Diagnostics", '<div class="diags">' + "".join(parts) + "</div>", "wide", "diagnostics")


# -- the page ----------------------------------------------------------------------------


def alerts(view: View, st: StatusSnapshot, now_mono: float, now_ms: int) -> str:
    out = ""
    if st.halted_reason:
        out += f'<div class="alert" id="halted">Trading halted: {e(st.halted_reason)}</div>'
    if st.stopped_reason and not st.halted_reason:
        out += f'<div class="warnbox" id="stopped">No new orders: {e(st.stopped_reason)}</div>'
    stats = view.stats.get("market")
    h = FeedHealth.from_stats(stats.as_dict()) if stats is not None else None
    backfill = h is not None and h.warming and h.warm_kind == "backfill"
    if h is not None and h.warming:
        missed = " (missed while the feed was down)" if backfill else ""
        out += (f'<div class="warnbox" id="warming">Warming up: {h.warm_minutes} of {h.warm_of} minutes of the '
                f"venue's history{missed}: no decisions until they are read</div>")
    if st.feed_stale and not backfill:
        why = f" ({e(h.cause)})" if h is not None and h.cause else ""
        out += f'<div class="warnbox" id="feed-stale-banner">Market feed is stale{why}: no new orders</div>'
    for level, text in view.notices:  # the start-up checks (actors/binance/startup.py)
        cls = "warnbox" if level == "warning" else "notebox"
        out += f'<div class="{cls} startup-check">Start-up check: {e(text)}</div>'
    if view.errors.get("keeper"):
        out += (f'<div class="warnbox" id="keeper-error">State keeper did not answer: {e(view.errors["keeper"])}'
                f" (showing data {e(age_s(view, now_mono))} s old)</div>")
    return out


def live_html(view: View, now_mono: float, now_ms: int) -> str:
    """The part of the page that changes: pushed whole on every update."""
    st = view.status
    if st is None:
        why = view.errors.get("keeper") or "waiting for the first answer from the state keeper"
        return f'<div class="warnbox" id="no-data">{e(why)}</div>'
    return (alerts(view, st, now_mono, now_ms) + '<main>' + approval_card(st, now_ms, view.mode != "BACKTEST")
            + equity_card(st) + state_card(st, now_ms)
            + limits_card(st.risk) + position_card(st, now_ms) + charts(view, st) + trades_card(st.trades)
            + denials_card(st.denials) + feed_card(view, st, now_ms) + advice_card(st) + events_card(view)
            + diagnostics(view, st, now_ms) + "</main>"
            + f'<footer>updated <span id="refreshed-at">{e(iso(view.status_ms))}</span> · data '
            f'<span id="data-age">{e(age_s(view, now_mono))}</span> s old · <a href="status">JSON</a> · '
            '<a href="metrics">metrics</a></footer>')


def title(view: View) -> str:
    st = view.status
    rv = st.risk if st is not None else None
    return f"{view.mode or 'trader'} {st.symbol if st else ''} · {rv.state.value.upper() if rv else 'no data'}"


CONTROLS = (
    '<form id="controls" class="controls" method="post" action="control/pause">'
    '<input id="control-reason" name="reason" maxlength="200" placeholder="why (journaled)" autocomplete="off">'
    '<button type="submit" id="btn-pause" formaction="control/pause">Pause buying</button>'
    '<button type="submit" id="btn-resume" formaction="control/resume">Resume</button>'
    '<button type="submit" id="btn-cancel" formaction="control/cancel">Cancel open order</button>'
    '<button type="submit" id="btn-halt" class="danger" formaction="control/halt">Halt</button>'
    '<button type="submit" id="btn-flatten" class="danger" formaction="control/flatten">Halt and sell</button>'
    '<span id="control-result" class="muted" role="status"></span></form>'
)


def _banner_text(mode: str) -> str:
    return "TESTNET (Binance Spot Testnet: fake funds)" if mode == "TESTNET" else mode


def render_html(view: View, now_mono: float, now_ms: int, control_token: str = "", symbol: str = "") -> str:
    """The whole page: the banner first, the controls, then the live part."""
    mode = view.mode if view.mode in MODES else "PAPER"
    sym = symbol or (view.status.symbol if view.status else "")
    token = f'<input type="hidden" name="token" id="control-token" value="{e(control_token)}">' if control_token else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{e(title(view))}</title>"
        '<link rel="stylesheet" href="static/dashboard.css"><script src="static/dashboard.js" defer></script></head><body>'
        f'<div class="banner mode-{mode.lower()}" id="banner"><span id="mode">{e(_banner_text(mode))}</span> '
        f'<span id="symbol">{e(sym)}</span><span class="conn" id="conn">connecting…</span></div>'
        + CONTROLS.replace('<span id="control-result"', token + '<span id="control-result"')
        + f'<div id="live">{live_html(view, now_mono, now_ms)}</div></body></html>'
    )
