"""The dashboard's controls and pushed updates, over HTTP against a real keeper with probes for its peers."""

from __future__ import annotations

import dataclasses
import http.client
import json
import re
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from actors.messages import (
    CancelOrder,
    GetStatus,
    HaltTrading,
    PauseBuying,
    PlaceOrder,
    ResumeTrading,
    RiskState,
    Side,
    TradingState,
)
from actors.settings import RiskSettings, StatusSettings
from actors.state_keeper.actor import StateKeeperActor
from actors.state_keeper.journal import Journal
from actors.status import controls
from tests._support.helpers import FILTERS, settings, update
from tests._support.probes import eventually
from tests.status.test_status_page import TOKEN, Rig, fetch

PAGE_TOKEN = re.compile(r'id="control-token" value="([^"]+)"')


def post(port: int, path: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
         form: str | None = None) -> tuple[int, dict[str, Any] | str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        if form is not None:
            data, ctype = form.encode(), "application/x-www-form-urlencoded"
        else:
            data, ctype = json.dumps(body or {}).encode(), "application/json"
        conn.request("POST", path, body=data, headers={"Content-Type": ctype, **(headers or {})})
        resp = conn.getresponse()
        text = resp.read().decode()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text
    finally:
        conn.close()


def page_token(port: int, headers: dict[str, str] | None = None) -> str:
    _s, _h, page = fetch(port, "/", headers)
    m = PAGE_TOKEN.search(page)
    assert m, "the page embeds its token"
    return m.group(1)


def same_origin(port: int, token: str) -> dict[str, str]:
    return {"Origin": f"http://127.0.0.1:{port}", "X-Trader-Token": token, "Sec-Fetch-Site": "same-origin"}


def risk_state(rig: Rig) -> RiskState:
    st = rig.keeper.ask(GetStatus(recent_trades=0), timeout=5)
    assert st.risk is not None
    return st.risk.state


# -- refusals -------------------------------------------------------------------------


def test_controls_refuse_no_token_a_wrong_one_and_cross_site_requests() -> None:
    rig = Rig()
    _ref, port = rig.serve()
    token = page_token(port)
    here = f"http://127.0.0.1:{port}"
    refused = [
        ({"Origin": here}, "token"),  # no token at all
        ({"Origin": here, "X-Trader-Token": "not-the-token"}, "token"),
        ({"Origin": "http://evil.example", "X-Trader-Token": token}, "cross-site"),  # a stolen token from elsewhere
        ({"Referer": "http://evil.example/page", "X-Trader-Token": token}, "cross-site"),
        ({"Sec-Fetch-Site": "cross-site", "X-Trader-Token": token}, "cross-site"),
        ({"Origin": "null", "X-Trader-Token": token}, "cross-site"),  # a sandboxed frame
    ]
    for headers, why in refused:
        for action in controls.ACTIONS:
            status, doc = post(port, f"/control/{action}", {"reason": "x"}, headers)
            assert status == 403 and isinstance(doc, dict) and why in doc["error"], (headers, action, doc)
    # a cross-site form post (the classic CSRF) carrying the right token is refused too
    status, _doc = post(port, "/control/halt", headers={"Origin": "http://evil.example"}, form=f"token={token}")
    assert status == 403
    assert risk_state(rig) is RiskState.ACTIVE  # nothing of the above reached the keeper
    assert fetch(port, "/control/pause")[0] == 405  # a GET never controls anything
    assert post(port, "/control/explode", {}, same_origin(port, token))[0] == 404


def test_off_loopback_a_control_needs_the_configured_token() -> None:
    rig = Rig()
    s = dataclasses.replace(settings(), status=StatusSettings(host="0.0.0.0", port=0, token=TOKEN))  # noqa: S104
    _ref, port = rig.serve(settings=s)
    assert post(port, "/control/pause", {}, {"Origin": f"http://127.0.0.1:{port}"})[0] == 401
    _s, _h, page = fetch(port, "/", {"Authorization": f"Bearer {TOKEN}"})
    assert "control-token" not in page and TOKEN not in page  # the configured token is never written out
    status, doc = post(port, "/control/pause", {"reason": "off-loopback"}, same_origin(port, TOKEN))
    assert status == 200 and isinstance(doc, dict) and doc["risk_state"] == "reducing"


# -- what each control does -------------------------------------------------------------


def test_controls_are_journaled_with_who_and_why(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    rig = Rig()
    rig.keeper.stop()
    rig.keeper = StateKeeperActor.start(settings(), market=rig.market.ref, executor=rig.executor.ref,
                                        consultant=rig.consultant.ref, journal=journal, filters=FILTERS, id_prefix="t")
    _ref, port = rig.serve()
    token = page_token(port)
    status, doc = post(port, "/control/pause", {"reason": "news at 14:00 <b>"}, same_origin(port, token))
    assert status == 200 and isinstance(doc, dict)
    assert doc["risk_state"] == "reducing" and doc["by"] == "dashboard (127.0.0.1)"
    assert risk_state(rig) is RiskState.REDUCING
    _s, _h, page = fetch(port, "/")  # shows at once: the answer refreshed the page's view
    assert "buying paused by dashboard (127.0.0.1): news at 14:00 &lt;b&gt;" in page
    assert post(port, "/control/resume", {"reason": "news done"}, same_origin(port, token))[0] == 200
    assert risk_state(rig) is RiskState.ACTIVE
    rig.tick(1)
    rig.executor.wait_for(PlaceOrder)
    assert post(port, "/control/cancel", {"reason": "too far"}, same_origin(port, token))[0] == 200
    rig.executor.wait_for(CancelOrder)
    rig.keeper.stop()
    text = json.dumps([(kind, p) for _seq, kind, p in Journal(tmp_path / "j.sqlite3").facts()], default=str)
    assert "buying paused by dashboard (127.0.0.1): news at 14:00 <b>" in text
    assert "resumed by dashboard (127.0.0.1): news done" in text
    assert "cancelled by dashboard (127.0.0.1): too far" in text


def test_pause_then_no_buy_follows() -> None:
    rig = Rig()
    _ref, port = rig.serve()
    assert post(port, "/control/pause", {"reason": "test"}, same_origin(port, page_token(port)))[0] == 200
    rig.tick(1)  # the keeper acknowledges the snapshot only after everything it decided was sent
    rig.tick(2)
    assert rig.executor.all(PlaceOrder) == []
    assert "paused" in {b.condition for b in rig.status().blocked}


def test_cancel_sends_a_cancel_for_the_working_order() -> None:
    rig = Rig()
    _ref, port = rig.serve()
    rig.tick(1)
    buy = rig.executor.wait_for(PlaceOrder)[0]
    token = page_token(port)
    status, doc = post(port, "/control/cancel", {"reason": "price ran away"}, same_origin(port, token))
    assert status == 200 and isinstance(doc, dict)
    cancel = rig.executor.wait_for(CancelOrder)[0]
    assert cancel.client_order_id == buy.client_order_id
    assert cancel.reason == "cancelled by dashboard (127.0.0.1): price ran away"
    post(port, "/control/cancel", {}, same_origin(port, token))  # again: the cancel is already asked for
    assert len(rig.executor.all(CancelOrder)) == 1


def test_halt_and_flatten_sells_through_the_gate() -> None:
    rig = Rig()
    rig.trade()  # holding 0.25075
    _ref, port = rig.serve()
    status, doc = post(port, "/control/flatten", {"reason": "get out"}, same_origin(port, page_token(port)))
    assert status == 200 and isinstance(doc, dict) and doc["risk_state"] == "halted"
    rig.tick(4)
    sell = rig.executor.wait_for(PlaceOrder, lambda m: m.side is Side.SELL and m.reason == "flatten")[0]
    assert sell.price == D("39.99")  # at the bid, sized by the gate to what can be sold
    assert rig.status().halted_reason == "halted by dashboard (127.0.0.1): get out"


def test_plain_form_post_without_script_goes_back_to_the_page() -> None:
    rig = Rig()
    _ref, port = rig.serve()
    token = page_token(port)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("POST", "/control/pause", body=f"token={token}&reason=form", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://127.0.0.1:{port}", "Accept": "text/html"})
    resp = conn.getresponse()
    assert resp.status == 303 and resp.getheader("Location") == "./"
    conn.close()
    assert risk_state(rig) is RiskState.REDUCING


def test_keeper_handles_the_controls_as_messages() -> None:
    keeper = StateKeeperActor.start(settings(), filters=FILTERS, id_prefix="t")
    st = keeper.ask(PauseBuying(by="cli", reason="r"), timeout=5)
    assert st.risk.state is RiskState.REDUCING
    st = keeper.ask(HaltTrading(by="cli", flatten=False), timeout=5)
    assert st.risk.state is RiskState.HALTED and st.halted_reason == "halted by cli"
    st = keeper.ask(ResumeTrading(by="cli"), timeout=5)
    assert st.risk.state is RiskState.ACTIVE and st.state is TradingState.READY_TO_BUY


# -- the exit plan and pushed updates ------------------------------------------------------


def test_status_exposes_the_exit_plan_while_holding() -> None:
    s = dataclasses.replace(settings(stop_loss=D("0.02")), risk=dataclasses.replace(
        RiskSettings(), take_profit=D("0.05"), trailing_stop=D("0.01")))
    rig = Rig()
    rig.keeper.stop()
    rig.keeper = StateKeeperActor.start(s, market=rig.market.ref, executor=rig.executor.ref,
                                        consultant=rig.consultant.ref, filters=FILTERS, id_prefix="t")
    assert rig.status().exit_plan is None  # flat
    rig.tick(1)
    buy = rig.executor.wait_for(PlaceOrder)[0]
    rig.keeper.tell(update(buy.client_order_id, "FILLED", "0.250", "9.9875", commission="0.0099875", asset="USDC",
                           last="0.250", trade_id=1))
    plan = eventually(lambda: rig.status().exit_plan)
    unit = (D("9.9875") + D("0.0099875")) / D("0.250")
    assert plan.stop_price == unit * (1 - D("0.02")) and plan.take_profit_price == unit * D("1.05")
    assert plan.trailing_stop_price is not None and plan.break_even is not None and plan.break_even > unit


def _read_update(resp: http.client.HTTPResponse) -> dict[str, Any]:
    event = ""
    while True:
        line = resp.fp.readline().decode()
        if not line:
            raise AssertionError("the event stream ended")
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "update":
            doc: dict[str, Any] = json.loads(line[5:])
            return doc


def test_a_keeper_event_is_pushed_without_waiting_for_the_next_round() -> None:
    rig = Rig()
    _ref, port = rig.serve(refresh_s=3600)  # the periodic round never comes again in this test
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/events")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type", "").startswith("text/event-stream")
    first = _read_update(resp)  # what the page had when it connected
    assert 'id="active-order">no working order' in first["html"]
    rig.tick(1)  # the keeper buys: OrderPlaced and StateChanged go to the page's actor, which pushes
    doc = _read_update(resp)
    while "order-price" not in doc["html"]:
        doc = _read_update(resp)
    assert doc["seq"] > first["seq"] and "order placed: buy 0.250 @ 39.95" in doc["html"]
    assert "BACKTEST" in doc["title"]
    conn.close()


def test_cross_site_check_in_isolation() -> None:
    assert controls.cross_site({}, "127.0.0.1:1") is None  # a command-line client
    assert controls.cross_site({"Origin": "http://127.0.0.1:1"}, "127.0.0.1:1") is None
    assert controls.cross_site({"Referer": "https://bot.example/x?y"}, "bot.example") is None  # behind TLS
    assert controls.cross_site({"Origin": "http://127.0.0.1:2"}, "127.0.0.1:1") is not None  # another port
    assert controls.cross_site({"Sec-Fetch-Site": "same-site"}, "a") is not None
    assert controls.clean_reason("a\nb\x00c   d" + "x" * 500) == ("a b c d" + "x" * 500)[:200]
    assert not controls.token_ok("", "") and not controls.token_ok(None, "t") and controls.token_ok(" t ", "t")


@pytest.mark.parametrize("action", controls.ACTIONS)
def test_every_action_maps_to_a_keeper_control(action: str) -> None:
    msg = controls.to_control(action, "why", "me", approval_id="t-a1")  # approve and reject name the entry
    assert msg is not None and msg.by == "me" and msg.reason == "why"


def test_page_needs_nothing_from_elsewhere() -> None:
    rig = Rig()
    _ref, port = rig.serve()
    _s, headers, page = fetch(port, "/")
    assert not re.search(r'(src|href)="(https?:)?//', page)  # no CDN: everything from this server
    for name, kind in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        status, h, body = fetch(port, f"/static/{name}")
        assert status == 200 and h["Content-Type"].startswith(kind) and not re.search(r"https?://", body)
    assert fetch(port, "/static/../server.py")[0] == 404 and fetch(port, "/static/x.js")[0] == 404
    assert "connect-src 'self'" in headers["Content-Security-Policy"]


def test_static_exemption_does_not_open_a_path_around_the_token() -> None:
    rig = Rig()
    s = dataclasses.replace(settings(), status=StatusSettings(host="0.0.0.0", port=0, token=TOKEN))  # noqa: S104
    _ref, port = rig.serve(settings=s)
    for path in ("/static/../status", "/static/%2e%2e/status", "/static/..%2fstatus", "//static/../metrics"):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read().decode()
        conn.close()
        assert resp.status in (401, 404) and '"status"' not in body and "trader_" not in body, (path, resp.status)
