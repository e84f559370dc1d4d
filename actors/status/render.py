"""Pure rendering of the status page: a `View` in, HTML / JSON / Prometheus text out.

Nothing here does I/O or touches an actor, so every function can be tested
with plain values. Times come in as arguments (`now_mono`, `now_ms`): the
page reports how old its data is, and the caller owns the clock.

Money and quantities stay `Decimal` and travel as exact strings in the JSON;
Prometheus gets plain decimal notation (Prometheus itself stores floats).
Every piece of text that came from elsewhere (the model's reasoning, a halt
reason, an error) is HTML-escaped, and every body is passed through
`actors.secrets.redact` by the server before it leaves.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

from actors.codec import plain
from actors.market_data.feed_health import FeedHealth
from actors.messages import MarketSnapshot, Order, Stats, StatusSnapshot, Trade, TradingState, utc_from_ms

REFRESH_S = 2  # the HTML page reloads itself this often


@dataclass(frozen=True, slots=True)
class View:
    """What the server last learnt from the keeper and the peers (immutable, swapped whole)."""

    status: StatusSnapshot | None = None
    status_mono: float | None = None  # monotonic time the keeper's answer arrived
    status_ms: int | None = None  # wall time of the same, for display
    stats: Mapping[str, Stats] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)  # source -> why its last ask failed
    refreshes: int = 0
    peers: tuple[str, ...] = ()
    snapshot_seen_ms: int | None = None  # wall time the page first saw the keeper's current snapshot


# -- JSON ----------------------------------------------------------------------------


def jsonable(obj: Any) -> Any:
    """Decimals as exact strings, enums as values; a snapshot's raw ticks are noise on a status page."""
    return plain(obj, {MarketSnapshot: ("trades",)})


def status_json(st: StatusSnapshot) -> dict[str, Any]:
    """The keeper's StatusSnapshot as JSON: the same fields, counters as an object."""
    out = jsonable(st)
    out["counters"] = dict(st.counters)
    return out


def page_json(view: View, now_mono: float, now_ms: int) -> dict[str, Any]:
    """The `/status` document: the keeper's snapshot plus the peers' stats and the data's age."""
    st = view.status
    doc: dict[str, Any] = {
        "ok": st is not None and not view.errors.get("keeper"),
        "data_age_s": _age_s(view, now_mono),
        "refreshed_at": _iso(view.status_ms),
        "refreshes": view.refreshes,
        "feed_age_s": feed_age_s(view, now_ms),
        "market_time": _iso(st.last_snapshot.ts_data_ms) if st is not None and st.last_snapshot else None,
        "halted": bool(st is not None and st.halted_reason),
        "stopped": bool(st is not None and st.stopped_reason),
        "status": status_json(st) if st is not None else None,
        "stats": {name: jsonable(s) for name, s in sorted(view.stats.items())},
        "errors": dict(sorted(view.errors.items())),
    }
    return doc


def _age_s(view: View, now_mono: float) -> float | None:
    if view.status_mono is None:
        return None
    return round(max(0.0, now_mono - view.status_mono), 3)


LIVE_SKEW_MS = 60_000


def feed_age_s(view: View, now_ms: int) -> float | None:
    """Wall-clock seconds since the newest market data the keeper has.

    Live, the data's own timestamp is a wall-clock time and is used as is. A
    replay or a synthetic market runs on the market clock, so a timestamp
    that was already older than `LIVE_SKEW_MS` when the page first saw it is
    not a wall time: the age is then counted from when the page saw it.
    """
    st = view.status
    if st is None or st.last_snapshot is None:
        return None
    data_ms = st.last_snapshot.ts_data_ms
    seen = view.snapshot_seen_ms
    if seen is not None and not -LIVE_SKEW_MS <= seen - data_ms <= LIVE_SKEW_MS:
        data_ms = seen
    return round(max(0, now_ms - data_ms) / 1000, 3)


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")


# -- Prometheus ----------------------------------------------------------------------


class _Metrics:
    """Prometheus text exposition (version 0.0.4): HELP and TYPE once per family, samples after."""

    def __init__(self) -> None:
        self._families: dict[str, tuple[str, str, list[str]]] = {}

    def add(self, name: str, kind: str, help_: str, value: Any, labels: Mapping[str, str] | None = None) -> None:
        text = _prom_value(value)
        if text is None:
            return
        fam = self._families.setdefault(name, (kind, help_, []))
        label_text = ""
        if labels:
            label_text = "{" + ",".join(f'{k}="{_prom_label(v)}"' for k, v in labels.items()) + "}"
        fam[2].append(f"{name}{label_text} {text}")

    def text(self) -> str:
        lines: list[str] = []
        for name, (kind, help_, samples) in self._families.items():
            lines.append(f"# HELP {name} {_prom_help(help_)}")
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(samples)
        return "\n".join(lines) + "\n"


def _prom_value(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    return None


def _prom_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _prom_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _num(value: Any) -> int | Decimal | float | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, Decimal, float)):
        return value
    return None


def render_metrics(view: View, now_mono: float, now_ms: int) -> str:
    m = _Metrics()
    st = view.status
    sources = ("keeper", *view.peers)
    for source in sources:
        up = source not in view.errors and (st is not None if source == "keeper" else source in view.stats)
        m.add("trader_status_source_up", "gauge", "1 if the last ask to this actor was answered in time",
              up, {"source": source})
    m.add("trader_status_data_age_seconds", "gauge", "Seconds since the keeper last answered the status page",
          _age_s(view, now_mono))
    m.add("trader_status_refreshes_total", "counter", "Refresh rounds the status page has run", view.refreshes)
    if st is not None:
        m.add("trader_info", "gauge", "The traded symbol", 1, {"symbol": st.symbol})
        for state in TradingState:
            m.add("trader_state", "gauge", "The trading state, one-hot", int(st.state is state), {"state": state.value})
        m.add("trader_halted", "gauge", "1 if trading is halted (see halted_reason on /status)", bool(st.halted_reason))
        m.add("trader_stopped", "gauge", "1 if the keeper places no new orders (a signal, the end of data)",
              bool(st.stopped_reason))
        m.add("trader_realized_pnl", "gauge", "Realised profit and loss in the quote asset", st.realized_pnl)
        m.add("trader_fees_paid", "gauge", "Every fee paid, valued in the quote asset", st.fees_paid)
        pos = st.position
        m.add("trader_position_qty", "gauge", "Base asset held (net of fees taken in the base asset)", pos.quantity)
        m.add("trader_position_dust", "gauge", "Held but below the lot step or minimum notional", pos.dust)
        m.add("trader_position_entry_price", "gauge", "Average entry price of what is held", pos.entry_price)
        m.add("trader_position_cost", "gauge", "Quote spent on what is held, buy fees included", pos.cost_quote)
        m.add("trader_active_order", "gauge", "1 if an order is working", st.active_order is not None)
        counters = dict(st.counters)
        m.add("trader_orders_total", "counter", "Orders the keeper placed", counters.get("orders", 0))
        m.add("trader_fills_total", "counter", "Fills the keeper applied", counters.get("fills", 0))
        m.add("trader_trades_closed_total", "counter", "Round trips closed", counters.get("trades_closed", 0))
        for name, value in sorted(counters.items()):
            m.add("trader_keeper_events_total", "counter", "The keeper's counters by name", value, {"name": name})
        m.add("trader_feed_stale", "gauge", "1 if the market feed is stale or down", st.feed_stale)
        m.add("trader_feed_age_seconds", "gauge", "Seconds since the newest market data the keeper saw",
              feed_age_s(view, now_ms))
        snap = st.last_snapshot
        if snap is not None:
            m.add("trader_mid_price", "gauge", "Mid price of the last market snapshot", snap.mid)
            m.add("trader_spread_bps", "gauge", "Spread of the last market snapshot in basis points", snap.spread_bps)
        adv = st.last_advice
        if adv is not None:
            m.add("trader_advice_confidence", "gauge", "Confidence of the last advice", adv.confidence,
                  {"action": adv.action.value, "source": adv.source.value})
    ai = view.stats.get("ai")
    if ai is not None:
        a = ai.as_dict()
        m.add("trader_ai_latency_ms", "gauge", "Model call latency in milliseconds",
              _num(a.get("latency_ms_last")), {"stat": "last"})
        m.add("trader_ai_latency_ms", "gauge", "Model call latency in milliseconds",
              _num(a.get("latency_ms_p50")), {"stat": "p50"})
        calls, hits = _num(a.get("calls")), _num(a.get("cache_hits"))
        if calls is not None and hits is not None:
            m.add("trader_ai_cache_hit_ratio", "gauge", "Advice requests answered from the cache",
                  round(float(hits) / float(calls), 6) if calls else 0.0)
        m.add("trader_ai_calls_total", "counter", "Advice requests answered", _num(a.get("calls")))
        m.add("trader_ai_fallbacks_total", "counter", "Advice requests answered by the fallback",
              _num(a.get("fallbacks")))
        m.add("trader_ai_cost_usd_total", "counter", "OpenRouter spend in USD", _num(a.get("cost")))
    ex = view.stats.get("executor")
    if ex is not None:
        e = ex.as_dict()
        m.add("trader_executor_orders_sent_total", "counter", "Orders the executor sent to the venue",
              _num(e.get("orders_sent")))
        m.add("trader_rejects_total", "counter", "Orders the venue rejected", _num(e.get("rejects")))
    for source, stats in sorted(view.stats.items()):
        for name, value in stats.values:
            m.add("trader_stat", "gauge", "Every numeric counter an actor reports with GetStats", _num(value),
                  {"source": source, "name": name})
    return m.text()


# -- HTML ----------------------------------------------------------------------------


def e(value: Any) -> str:
    """HTML-escape anything (quotes too, so it is safe inside attributes)."""
    if value is None:
        return "—"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime):
        value = value.strftime("%Y-%m-%d %H:%M:%S")
    return html.escape(str(value), quote=True)


_CSS = """
:root{--bg:#0f1419;--card:#182029;--fg:#d9e1e8;--mut:#8a98a6;--acc:#4fb3ff;--pos:#3fca7f;--neg:#ff6b6b;--warn:#ffb547}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif}
header{display:flex;align-items:center;gap:16px;padding:14px 22px;background:#121a22;border-bottom:1px solid #24303c;flex-wrap:wrap}
h1{font-size:18px;margin:0;font-weight:600}h2{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:var(--mut);margin:0 0 10px}
.badge{padding:3px 10px;border-radius:999px;font-weight:600;font-size:13px;background:#24303c}
.state-ready_to_buy{background:#1d3b2a;color:var(--pos)}.state-buying{background:#173049;color:var(--acc)}
.state-ready_to_sell{background:#3b331b;color:var(--warn)}.state-selling{background:#3d2530;color:#ff9fb5}
.muted{color:var(--mut)}main{padding:18px 22px;display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(260px,1fr))}
.card{background:var(--card);border:1px solid #24303c;border-radius:10px;padding:14px 16px}
.wide{grid-column:1/-1}.two{grid-column:span 2}@media(max-width:620px){.two{grid-column:auto}}dl{display:grid;grid-template-columns:auto 1fr;gap:4px 14px;margin:0}dt{color:var(--mut);white-space:nowrap}dd{margin:0;font-variant-numeric:tabular-nums;text-align:right}
.big{font-size:24px;font-weight:600;font-variant-numeric:tabular-nums}.pos{color:var(--pos)}.neg{color:var(--neg)}
.alert{background:#4a1f24;color:#ffd0d0;border:1px solid #7a2e36;padding:10px 16px;margin:14px 22px 0;border-radius:8px}
.warnbox{background:#4a3a1a;color:#ffe2a8;border:1px solid #7a6128;padding:10px 16px;margin:14px 22px 0;border-radius:8px}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}th,td{padding:5px 8px;border-bottom:1px solid #24303c;text-align:right;white-space:nowrap}
th{color:var(--mut);font-weight:500}td:first-child,th:first-child{text-align:left}
.reasoning{white-space:pre-wrap;word-break:break-word;background:#121a22;border-radius:6px;padding:8px 10px;margin-top:10px;color:#c4ced8;max-height:12em;overflow:auto}
footer{padding:6px 22px 18px;color:var(--mut);font-size:12px}
"""


def _pnl_class(value: Decimal | None) -> str:
    if value is None or value == 0:
        return ""
    return "pos" if value > 0 else "neg"


def _dl(rows: Iterable[tuple[str, str, Any]]) -> str:
    return "<dl>" + "".join(f'<dt>{e(label)}</dt><dd id="{e(id_)}">{e(value)}</dd>' for label, id_, value in rows) + "</dl>"


def _order_html(order: Order | None) -> str:
    if order is None:
        return '<p class="muted" id="active-order">no working order</p>'
    return '<div id="active-order">' + _dl([
        ("side", "order-side", order.side),
        ("price", "order-price", order.price),
        ("quantity", "order-qty", order.quantity),
        ("filled", "order-filled", order.filled_qty),
        ("average price", "order-avg", order.avg_price),
        ("status", "order-status", order.status),
        ("client id", "order-id", order.id),
        ("placed", "order-time", order.timestamp),
    ]) + "</div>"


def _trades_html(trades: tuple[Trade, ...]) -> str:
    if not trades:
        return '<p class="muted" id="trades-empty">no trades yet</p>'
    rows = []
    for i, t in enumerate(reversed(trades)):
        rows.append(
            f'<tr class="trade" id="trade-{i}"><td>{e(t.timestamp)}</td><td>{e(t.status)}</td>'
            f"<td>{e(t.quantity)}</td><td>{e(t.entry_price)}</td><td>{e(t.exit_price)}</td>"
            f"<td>{e(t.fees_quote)}{' ~' if t.fee_estimated else ''}</td>"
            f'<td class="pnl {_pnl_class(t.profit_loss)}">{e(t.profit_loss)}</td></tr>'
        )
    return (
        '<table id="trades"><thead><tr><th>opened (UTC)</th><th>status</th><th>qty</th><th>entry</th><th>exit</th>'
        "<th>fees</th><th>P&amp;L</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _stats_html(view: View) -> str:
    if not view.stats and not view.errors:
        return ""
    parts = []
    for name in sorted(set(view.stats) | (set(view.errors) - {"keeper"})):
        stats = view.stats.get(name)
        err = view.errors.get(name)
        body = ""
        if err:
            body += f'<p class="neg">{e(err)}</p>'
        if stats is not None:
            body += _dl((k, f"stat-{name}-{k}", v) for k, v in stats.values)
        parts.append(f'<section class="card" id="stats-{e(name)}"><h2>{e(name)}</h2>{body}</section>')
    return "".join(parts)


def _feed_health(view: View, now_ms: int) -> tuple[str, list[tuple[str, str, Any]]]:
    """The live feed's cause, since when, attempts and the next one, from the market's stats."""
    stats = view.stats.get("market")
    h = FeedHealth.from_stats(stats.as_dict()) if stats is not None else None
    if h is None:
        return "", []
    return h.cause, [(label, f"feed-{slug}", value) for label, slug, value in h.fields(now_ms)]


def render_html(view: View, now_mono: float, now_ms: int, refresh_s: int = REFRESH_S) -> str:
    st = view.status
    age = _age_s(view, now_mono)
    head = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="refresh" content="{int(refresh_s)}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{e(st.symbol if st else 'trader')} · {e(st.state.value if st else 'no data')}</title>"
        f"<style>{_CSS}</style></head><body>"
    )
    if st is None:
        why = view.errors.get("keeper") or "waiting for the first answer from the state keeper"
        return (head + '<header><h1>trader status</h1><span class="badge" id="state">no data</span></header>'
                f'<div class="warnbox" id="no-data">{e(why)}</div></body></html>')
    pos, adv, snap = st.position, st.last_advice, st.last_snapshot
    banners = ""
    if st.halted_reason:
        banners += f'<div class="alert" id="halted">Trading halted: {e(st.halted_reason)}</div>'
    if st.stopped_reason and not st.halted_reason:
        banners += f'<div class="warnbox" id="stopped">No new orders: {e(st.stopped_reason)}</div>'
    cause, health_rows = _feed_health(view, now_ms)
    if st.feed_stale:
        why = f" ({e(cause)})" if cause else ""
        banners += f'<div class="warnbox" id="feed-stale-banner">Market feed is stale{why}: no new orders</div>'
    if view.errors.get("keeper"):
        banners += (f'<div class="warnbox" id="keeper-error">State keeper did not answer: {e(view.errors["keeper"])}'
                    f" (showing data {e(age)} s old)</div>")
    header = (
        f'<header><h1 id="symbol">{e(st.symbol)}</h1>'
        f'<span class="badge state-{e(st.state.value)}" id="state">{e(st.state.value)}</span>'
        f'<span class="muted">data age <span id="data-age">{e(age)}</span> s</span></header>'
    )
    pnl = (
        '<section class="card"><h2>Profit and loss</h2>'
        f'<div class="big {_pnl_class(st.realized_pnl)}" id="realized-pnl">{e(st.realized_pnl)}</div>'
        '<div class="muted">realised, quote asset</div>'
        + _dl([("fees paid", "fees-paid", st.fees_paid), ("trades shown", "trade-count", len(st.trades)),
               ("halted", "halted-flag", "yes" if st.halted_reason else "no")])
        + "</section>"
    )
    position = (
        '<section class="card"><h2>Position</h2>'
        + _dl([("quantity", "position-qty", pos.quantity), ("entry price", "position-entry", pos.entry_price),
               ("cost", "position-cost", pos.cost_quote), ("dust", "position-dust", pos.dust),
               ("since", "position-time", pos.timestamp if pos.quantity else None)])
        + "</section>"
    )
    feed_rows: list[tuple[str, str, Any]] = [
        ("stale", "feed-stale", "yes" if st.feed_stale else "no"),
        ("age (s)", "feed-age", feed_age_s(view, now_ms)),
        ("market time", "market-time", utc_from_ms(snap.ts_data_ms) if snap is not None else None),
        *health_rows,
    ]
    if snap is not None:
        feed_rows += [("bid", "bid", snap.bid), ("ask", "ask", snap.ask), ("mid", "mid", snap.mid),
                      ("spread (bps)", "spread", round(snap.spread_bps, 2)), ("snapshot", "snapshot-seq", snap.seq)]
    feed = '<section class="card"><h2>Market</h2>' + _dl(feed_rows) + "</section>"
    order = '<section class="card"><h2>Active order</h2>' + _order_html(st.active_order) + "</section>"
    if adv is None:
        advice = '<section class="card"><h2>Last advice</h2><p class="muted" id="advice-none">no advice yet</p></section>'
    else:
        rng = f"{adv.price_range[0]} – {adv.price_range[1]}" if adv.price_range else None
        advice = (
            '<section class="card two"><h2>Last advice</h2>'
            + _dl([("action", "advice-action", adv.action), ("price", "advice-price", adv.base_price),
                   ("range", "advice-range", rng), ("confidence", "advice-confidence", adv.confidence),
                   ("source", "advice-source", adv.source), ("model", "advice-model", adv.model),
                   ("rejected", "advice-rejected", adv.rejected_reason)])
            + f'<div class="reasoning" id="advice-reasoning">{e(adv.reasoning)}</div></section>'
        )
    trades = f'<section class="card wide"><h2>Recent trades</h2>{_trades_html(st.trades)}</section>'
    counters = ""
    if st.counters:
        counters = '<section class="card"><h2>Keeper counters</h2>' + _dl(
            (k, f"counter-{k}", v) for k, v in st.counters) + "</section>"
    footer = (
        f'<footer>refreshed <span id="refreshed-at">{e(_iso(view.status_ms))}</span> · page reloads every '
        f'{int(refresh_s)} s · <a href="status" style="color:var(--acc)">JSON</a> · '
        '<a href="metrics" style="color:var(--acc)">metrics</a></footer>'
    )
    return (head + header + banners + "<main>" + pnl + position + order + feed + advice + trades + counters
            + _stats_html(view) + "</main>" + footer + "</body></html>")
