"""The status page against a real StateKeeper (with probes for its peers) on an ephemeral port."""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import threading
import urllib.error
import urllib.request
from decimal import Decimal as D
from html.parser import HTMLParser
from typing import Any

import pykka
import pytest

from actors.messages import (
    AdviceRequest,
    GetStats,
    GetStatus,
    PlaceOrder,
    Side,
    SnapshotProcessed,
    Stats,
    StatusSnapshot,
    StopTrading,
    TradingState,
)
from actors.settings import SettingsError, StatusSettings
from actors.state_keeper.actor import StateKeeperActor
from actors.status import GetBoundPort, StatusServerActor
from actors.status.render import View, feed_age_s, render_html, render_metrics, status_json
from tests._support.helpers import FILTERS, advice, settings, snap, update
from tests._support.probes import ProbeHandle, eventually

REASONING = "Bid support at 39.9 <script>alert('pwned')</script> & \"quotes\" </div><b>bold</b>"
TOKEN = "status-token-Zx81qPw"
AI_STATS = Stats(source="ai", values=(("calls", 10), ("cache_hits", 4), ("fallbacks", 1), ("cost", D("0.0123")),
                                      ("latency_ms_last", 812), ("latency_ms_p50", 640), ("model", "deepseek/x")))
EXEC_STATS = Stats(source="executor", values=(("kind", "paper"), ("orders_sent", 3), ("fills", 3), ("rejects", 0)))

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# -- helpers shared with test_status_browser.py ------------------------------------------


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with _NO_PROXY.open(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def fetch_json(port: int, path: str = "/status", headers: dict[str, str] | None = None) -> dict[str, Any]:
    status, _h, body = fetch(port, path, headers)
    assert status == 200, (status, body)
    return json.loads(body)


class Rig:
    """A keeper with one closed round trip and an open position, driven through probes."""

    def __init__(self) -> None:
        self.market = ProbeHandle()
        self.executor = ProbeHandle()
        self.consultant = ProbeHandle(self._answer)
        self.keeper = StateKeeperActor.start(settings(), market=self.market.ref, executor=self.executor.ref,
                                             consultant=self.consultant.ref, filters=FILTERS, id_prefix="t")
        self.ai = ProbeHandle(lambda m: AI_STATS if isinstance(m, GetStats) else None)
        self.exec_stats = ProbeHandle(lambda m: EXEC_STATS if isinstance(m, GetStats) else None)

    def _answer(self, req: Any) -> None:
        if isinstance(req, AdviceRequest):
            buying = req.state is TradingState.READY_TO_BUY
            a = advice(req.request_id, "buy" if buying else "sell", "39.95" if buying else "40.50")
            assert req.reply_to is not None
            req.reply_to.tell(dataclasses.replace(a, reasoning=REASONING))

    def tick(self, seq: int) -> None:
        self.keeper.tell(snap(seq))
        self.market.wait_for(SnapshotProcessed, lambda m: m.seq == seq)

    def status(self) -> StatusSnapshot:
        return self.keeper.ask(GetStatus(recent_trades=20), timeout=5)

    def trade(self) -> None:
        """Buy, sell above break-even, buy again: a closed trade, dust, an open position."""
        self.tick(1)
        buy = self.executor.wait_for(PlaceOrder)[0]
        self.keeper.tell(update(buy.client_order_id, "FILLED", "0.250", "9.9875", commission="0.00025",
                                asset="TRUMP", last="0.250", trade_id=1))
        eventually(lambda: self.status().state is TradingState.READY_TO_SELL)
        self.tick(2)
        sell = self.executor.wait_for(PlaceOrder, lambda m: m.side is Side.SELL)[0]
        self.keeper.tell(update(sell.client_order_id, "FILLED", "0.249", "10.0845", commission="0.0100845",
                                asset="USDC", last="0.249", trade_id=2))
        eventually(lambda: self.status().state is TradingState.READY_TO_BUY)
        self.tick(3)
        buy2 = self.executor.wait_for(PlaceOrder, count=3)[2]
        self.keeper.tell(update(buy2.client_order_id, "FILLED", "0.250", "9.9875", commission="0.0099875",
                                asset="USDC", last="0.250", trade_id=3))
        eventually(lambda: self.status().state is TradingState.READY_TO_SELL)

    def serve(self, **kw: Any) -> tuple[pykka.ActorRef[Any], int]:
        s = kw.pop("settings", settings())
        ref = StatusServerActor.start(s, self.keeper, {"ai": self.ai.ref, "executor": self.exec_stats.ref},
                                      port=0, refresh_s=kw.pop("refresh_s", 0.05), **kw)
        return ref, ref.ask(GetBoundPort(), timeout=5)


def served_rig() -> tuple[Rig, int]:
    rig = Rig()
    rig.trade()
    _ref, port = rig.serve()
    want = status_json(rig.status())
    eventually(lambda: fetch_json(port)["status"] == want)  # the cache has caught up with the keeper
    return rig, port


class IdText(HTMLParser):
    """The text inside every element that has an id (nested ids both get the text)."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text: dict[str, str] = {}
        self._open: list[str | None] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("meta", "br", "img", "link", "input"):
            return
        ident = dict(attrs).get("id")
        self._open.append(ident)
        if ident:
            self.text.setdefault(ident, "")

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for ident in self._open:
            if ident:
                self.text[ident] += data


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def parse_metrics(text: str) -> dict[str, float]:
    """A strict line-by-line parse of the text format; returns {'name{labels}': value}."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    helps: set[str] = set()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        assert line, "no blank lines"
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert name not in helps, f"HELP twice for {name}"
            helps.add(name)
        elif line.startswith("# TYPE "):
            _h, _t, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "untyped", "histogram", "summary"), line
            assert name not in types, f"TYPE twice for {name}"
            types[name] = kind
        else:
            m = _SAMPLE.match(line)
            assert m, f"not a valid sample line: {line!r}"
            name, labels, value = m.group(1), m.group(2) or "", m.group(3)
            assert name in types, f"sample before its TYPE: {line!r}"
            key = name + labels
            assert key not in samples, f"duplicate sample {key}"
            samples[key] = float(value)
    return samples


# -- the tests -------------------------------------------------------------------------


def test_status_json_matches_the_keeper_exactly() -> None:
    rig, port = served_rig()
    st = rig.status()
    doc = fetch_json(port)
    assert doc["ok"] is True and doc["errors"] == {}
    body = doc["status"]
    assert body == status_json(st)
    assert body["state"] == "ready_to_sell" == st.state.value
    assert body["realized_pnl"] == str(st.realized_pnl) and st.realized_pnl > 0  # exact Decimal text
    assert body["fees_paid"] == str(st.fees_paid)
    assert body["position"]["quantity"] == str(st.position.quantity) == "0.25075"  # 0.25 + 0.00075 dust
    assert body["position"]["entry_price"] == str(st.position.entry_price)
    closed = [t for t in body["trades"] if t["status"] == "CLOSED"]
    assert len(closed) == 1 and closed[0]["profit_loss"] == str(st.realized_pnl)
    assert closed[0]["exit_price"] == str(st.trades[0].exit_price)
    assert body["last_advice"]["reasoning"] == REASONING
    assert body["last_snapshot"]["seq"] == 3 and "trades" not in body["last_snapshot"]
    assert doc["stats"]["ai"]["cost"] == "0.0123" and doc["stats"]["executor"]["orders_sent"] == 3
    assert doc["data_age_s"] is not None and doc["data_age_s"] >= 0


def test_metrics_parse_and_carry_the_values() -> None:
    rig, port = served_rig()
    st = rig.status()
    status, headers, text = fetch(port, "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    m = parse_metrics(text)
    assert m['trader_state{state="ready_to_sell"}'] == 1
    assert sum(v for k, v in m.items() if k.startswith("trader_state{")) == 1  # one-hot
    assert m["trader_realized_pnl"] == float(st.realized_pnl)
    assert m["trader_fees_paid"] == float(st.fees_paid)
    assert m["trader_position_qty"] == float(st.position.quantity)
    assert m["trader_position_dust"] == float(st.position.dust)
    assert m["trader_orders_total"] == 3 and m["trader_fills_total"] == 3
    assert m["trader_halted"] == 0 and m["trader_feed_stale"] == 0
    assert st.risk is not None and m["trader_equity"] == float(st.risk.equity)
    assert m['trader_risk_state{state="active"}'] == 1 and m['trader_risk_state{state="halted"}'] == 0
    assert m["trader_unrealized_pnl"] == pytest.approx(float(st.risk.equity - st.risk.capital - st.realized_pnl))
    assert 0 <= m["trader_feed_age_seconds"] < 60  # a 1970 market clock: counted from when the page saw it
    assert m['trader_ai_latency_ms{stat="last"}'] == 812 and m['trader_ai_latency_ms{stat="p50"}'] == 640
    assert m["trader_ai_cache_hit_ratio"] == pytest.approx(0.4)
    assert m["trader_executor_orders_sent_total"] == 3
    assert m['trader_status_source_up{source="keeper"}'] == 1
    assert m['trader_status_source_up{source="ai"}'] == 1
    assert 'trader_stat{source="ai",name="model"}' not in m  # strings are not samples


def test_html_shows_state_position_pnl_trades_and_advice() -> None:
    rig, port = served_rig()
    st = rig.status()
    status, headers, page = fetch(port, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert 'http-equiv="refresh"' not in page  # updates are pushed (/events), the page never reloads
    assert 'src="static/dashboard.js"' in page
    t = IdText(page).text
    assert t["state"] == "ready_to_sell"
    assert t["realized-pnl"] == str(st.realized_pnl)
    assert t["fees-paid"] == str(st.fees_paid)
    assert t["position-qty"] == str(st.position.quantity)
    assert t["position-entry"] == str(st.position.entry_price)
    assert t["position-dust"] == str(st.position.dust)
    assert t["feed-stale"] == "no"
    assert t["advice-action"] == "buy" and t["advice-source"] == "model"
    assert t["advice-confidence"] == "0.9" and t["advice-price"] == "39.95"
    assert "CLOSED" in t["trades"] and str(st.trades[0].exit_price) in t["trades"]
    assert t["active-order"] == "no working order"
    assert "halted" not in t


def test_reasoning_from_the_model_is_escaped() -> None:
    _rig, port = served_rig()
    _s, headers, page = fetch(port, "/")
    assert page.lower().count("<script") == 1 and '<script src="static/dashboard.js" defer></script>' in page
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page
    assert IdText(page).text["advice-reasoning"] == REASONING  # shown as text, exactly
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp  # no inline script could run anyway
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_non_loopback_host_needs_a_token() -> None:
    keeper = StateKeeperActor.start(settings(), filters=FILTERS, id_prefix="t")
    s = dataclasses.replace(settings(), status=StatusSettings(host="0.0.0.0", port=0, token=""))  # noqa: S104
    with pytest.raises(SettingsError, match=r"status\.token"):
        StatusServerActor.start(s, keeper, port=0)
    assert pykka.ActorRegistry.get_by_class(StatusServerActor) == []


def test_token_is_required_on_every_route_and_never_shown() -> None:
    rig = Rig()
    rig.trade()
    s = dataclasses.replace(settings(), status=StatusSettings(host="0.0.0.0", port=0, token=TOKEN))  # noqa: S104
    _ref, port = rig.serve(settings=s)
    for path in ("/", "/status", "/metrics", "/nowhere"):
        status, headers, body = fetch(port, path)
        assert status == 401 and "Bearer" in headers["WWW-Authenticate"], path
        assert fetch(port, path, {"Authorization": "Bearer wrong-token"})[0] == 401
        assert fetch(port, path + "?token=wrong")[0] == 401
    for path in ("/", "/status", "/metrics"):
        ok, _h, body = fetch(port, path, {"Authorization": f"Bearer {TOKEN}"})
        assert ok == 200 and TOKEN not in body, path
        ok, _h, body = fetch(port, f"{path}?token={TOKEN}")
        assert ok == 200 and TOKEN not in body, path
    assert fetch(port, "/nowhere", {"Authorization": f"Bearer {TOKEN}"})[0] == 404
    assert fetch(port, "/static/dashboard.js")[0] == 200  # the page's code needs no token; its data does
    assert fetch(port, "/events")[0] == 401


def test_loopback_page_refuses_foreign_host_headers() -> None:
    rig = Rig()
    _ref, port = rig.serve()
    assert fetch(port, "/status", {"Host": "attacker.example:80"})[0] == 403  # DNS rebinding
    assert fetch(port, "/status", {"Host": f"localhost:{port}"})[0] == 200


def test_a_hung_keeper_does_not_hold_up_requests() -> None:
    release = threading.Event()
    hung = ProbeHandle(lambda m: release.wait(10) and None)
    try:
        ref = StatusServerActor.start(settings(), hung.ref, port=0, refresh_s=0.05, ask_timeout_s=0.2)
        port = ref.ask(GetBoundPort(), timeout=5)
        status, _h, body = fetch(port, "/status")  # the first round times out, the page says so
        assert status == 503 and "no answer within 0.2 s" in json.loads(body)["errors"]["keeper"]
        for _ in range(5):
            assert fetch(port, "/metrics")[0] == 200
            assert fetch(port, "/")[0] == 503
        assert not release.is_set() and hung.ref.is_alive()  # all of that while the keeper was still stuck
        m = parse_metrics(fetch(port, "/metrics")[2])
        assert m['trader_status_source_up{source="keeper"}'] == 0
    finally:
        release.set()


def test_keeper_gone_keeps_the_last_data_and_says_so() -> None:
    rig, port = served_rig()
    before = fetch_json(port)["status"]
    rig.keeper.stop(timeout=5)
    doc = eventually(lambda: (d := fetch_json(port))["errors"].get("keeper") and d)
    assert doc["ok"] is False and doc["status"] == before
    assert "not running" in doc["errors"]["keeper"]
    assert 'id="keeper-error"' in fetch(port, "/")[2]


def test_halt_and_stop_are_shown() -> None:
    rig, port = served_rig()
    rig.keeper.tell(StopTrading(reason="operator <b>said</b> so"))
    doc = eventually(lambda: (d := fetch_json(port))["status"]["stopped_reason"] and d)
    assert doc["stopped"] is True and doc["halted"] is False
    t = IdText(fetch(port, "/")[2]).text
    assert t["stopped"] == "No new orders: operator <b>said</b> so"
    assert parse_metrics(fetch(port, "/metrics")[2])["trader_stopped"] == 1
    halted = dataclasses.replace(rig.status(), halted_reason="balance below the position")
    page = render_html(View(status=halted, status_mono=0.0), 1.0, 0)
    assert IdText(page).text["halted"] == "Trading halted: balance below the position"
    assert parse_metrics(render_metrics(View(status=halted), 0.0, 0))["trader_halted"] == 1


def test_stop_closes_the_port_and_the_loop() -> None:
    rig = Rig()
    ref, port = rig.serve()
    assert fetch(port, "/metrics")[0] == 200
    assert ref.stop(timeout=5)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert not [t for t in threading.enumerate() if t.name == "status-server-io"]


def test_port_in_use_and_port_zero_in_settings_fail_at_start() -> None:
    rig = Rig()
    _ref, port = rig.serve()
    taken = dataclasses.replace(settings(), status=StatusSettings(port=port))
    with pytest.raises(OSError, match="cannot listen"):
        StatusServerActor.start(taken, rig.keeper)
    with pytest.raises(SettingsError, match=r"status\.port = 0"):
        StatusServerActor.start(settings(), rig.keeper)  # port 0 in settings means off


def test_metrics_without_data_and_with_odd_labels_stay_valid() -> None:
    assert parse_metrics(render_metrics(View(peers=("ai",)), 0.0, 0))['trader_status_source_up{source="keeper"}'] == 0
    odd = Stats(source='a"i\\x\n', values=(("n", 1), ("d", D("1E-8")), ("s", "text")))
    m = parse_metrics(render_metrics(View(stats={'a"i\\x\n': odd}), 0.0, 0))
    assert m['trader_stat{source="a\\"i\\\\x\\n",name="d"}'] == 1e-8


def test_feed_age_uses_the_data_timestamp_live_and_the_sighting_in_replays() -> None:
    rig = Rig()
    rig.tick(1)  # market time 1 s after the epoch
    st = rig.status()
    now = 1_800_000_000_000
    live = dataclasses.replace(st, last_snapshot=dataclasses.replace(st.last_snapshot, ts_data_ms=now - 5_000))
    assert feed_age_s(View(status=live, snapshot_seen_ms=now - 4_900), now) == 5.0
    assert feed_age_s(View(status=st, snapshot_seen_ms=now - 2_000), now) == 2.0
    assert feed_age_s(View(), now) is None


def test_the_advice_card_names_the_strategy_that_decided() -> None:
    from actors.messages import Advice, AdviceAction, AdviceSource
    from actors.status.dashboard import advice_card

    rig, _port = served_rig()
    adv = Advice(request_id="r", action=AdviceAction.HOLD, base_price=None, price_range=None, confidence=D("0.8"),
                 reasoning="donchian: inside the channel", source=AdviceSource.STRATEGY, ts_ms=1, valid_until_ms=2,
                 strategy="breakout")
    t = IdText(advice_card(dataclasses.replace(rig.status(), last_advice=adv))).text
    assert t["advice-source"] == "strategy" and t["advice-strategy"] == "breakout"
