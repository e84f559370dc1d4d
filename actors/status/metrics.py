"""`/metrics`: the Prometheus text exposition (format 0.0.4), written by hand from a `View`.

Why not `prometheus_client`: its registry model wants metric objects updated
in place, while this page renders a snapshot it was handed; using it would
mean a custom collector per scrape, float conversion of every Decimal, and a
dependency for the ~60 lines of escaping and grouping below, which
`tests/test_status_page.py::parse_metrics` checks strictly line by line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from actors.messages import RiskState, TradingState
from actors.status.view import View, age_s, feed_age_s


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
          age_s(view, now_mono))
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
        for name, count in sorted(counters.items()):
            m.add("trader_keeper_events_total", "counter", "The keeper's counters by name", count, {"name": name})
        rv = st.risk
        if rv is not None:
            for rs in RiskState:
                m.add("trader_risk_state", "gauge", "The risk gate's state, one-hot (ACTIVE, REDUCING, HALTED)",
                      int(rv.state is rs), {"state": rs.value})
            m.add("trader_capital", "gauge", "The quote the bot may use (risk.capital)", rv.capital)
            m.add("trader_equity", "gauge", "Capital plus realised and unrealised P&L, at the bid", rv.equity)
            m.add("trader_unrealized_pnl", "gauge", "What is held, valued at the bid, less its cost",
                  rv.equity - rv.capital - st.realized_pnl)
            m.add("trader_drawdown_ratio", "gauge", "Equity below its peak, as a fraction of capital", rv.drawdown)
        m.add("trader_orders_denied_recent", "gauge", "Orders the risk gate denied lately (the last few kept)",
              len(st.denials))
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
        m.add("trader_ai_fallbacks_total", "counter", "Advice requests the strategy answered because the model failed",
              _num(a.get("fallbacks")))
        m.add("trader_strategy_answers_total", "counter", "Advice requests the strategy answered in its own right",
              _num(a.get("strategy_answers")), {"strategy": str(a.get("strategy") or "")})
        m.add("trader_strategy_errors_total", "counter", "Times the strategy misbehaved (each answered as a hold)",
              _num(a.get("strategy_errors")), {"strategy": str(a.get("strategy") or "")})
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
