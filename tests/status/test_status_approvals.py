"""The dashboard's pending-approval card: shown, answered with the page's token and same-origin only."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from actors.messages import GetStatus, PlaceOrder
from actors.settings import MarketSettings, NotifySettings
from actors.state_keeper.actor import StateKeeperActor
from tests._support.helpers import FILTERS, settings
from tests._support.probes import eventually
from tests.status import test_status_browser as browser_tests
from tests.status.status_cdp import Browser
from tests.status.test_status_controls import page_token, post, same_origin
from tests.status.test_status_page import IdText, Rig, fetch

chromium, browser = browser_tests.chromium, browser_tests.browser  # the browser tests' fixtures, shared
INSTALL_TIMEOUT_S, _loaded, artefacts = browser_tests.INSTALL_TIMEOUT_S, browser_tests._loaded, browser_tests.artefacts


def approving_rig() -> Rig:
    """The status tests' rig, its keeper on a live market with every entry waiting for approval."""
    rig = Rig()
    rig.keeper.stop()
    s = dataclasses.replace(settings(), market=MarketSettings(source="binance"),
                            notify=NotifySettings(approve_entries="true", approve_timeout_s=300))
    rig.keeper = StateKeeperActor.start(s, market=rig.market.ref, executor=rig.executor.ref,
                                        consultant=rig.consultant.ref, filters=FILTERS, id_prefix="t")
    return rig


def waiting(rig: Rig) -> str:
    rig.tick(1)
    pending = eventually(lambda: [a for a in rig.keeper.ask(GetStatus(), timeout=5).approvals if a.outcome == "pending"])
    return str(pending[0].approval_id)


def test_the_waiting_entry_shows_with_its_buttons_and_approve_places_it() -> None:
    rig = approving_rig()
    approval_id = waiting(rig)
    _ref, port = rig.serve()
    page = eventually(lambda: (p := fetch(port, "/")[2]) and f"approval-{approval_id}" in p and p)
    ids = IdText(page).text
    assert "Entry waiting for your approval" in page
    assert ids["approval-size"] == "0.250 at 39.95" and ids["approval-quote"] == "9.98750"
    assert 'form="controls" id="btn-approve"' in page and f'name="approval_id" value="{approval_id}"' in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page  # the model's reasoning, escaped
    assert ids["approval-reasoning"].startswith("Bid support at 39.9 <script>")
    token = page_token(port)
    assert post(port, "/control/approve", {"reason": "ok"}, same_origin(port, token))[0] == 400  # names no entry
    status, doc = post(port, "/control/approve", {"approval_id": approval_id, "reason": "looks right"},
                       same_origin(port, token))
    assert status == 200 and isinstance(doc, dict) and doc["outcome"] == "approved"
    order = rig.executor.wait_for(PlaceOrder)[0]
    assert doc["order"] == order.client_order_id and order.price == D("39.95")
    page = fetch(port, "/")[2]
    assert "Entry approvals" in page and "APPROVED by dashboard (127.0.0.1)" in page and "btn-approve" not in page
    status, doc = post(port, "/control/approve", {"approval_id": approval_id}, same_origin(port, token))
    assert status == 200 and doc["outcome"] is None  # answered already: nothing more happens  # type: ignore[index]
    assert len(rig.executor.all(PlaceOrder)) == 1


def test_an_answer_needs_the_token_and_the_same_origin_and_reject_places_nothing() -> None:
    rig = approving_rig()
    approval_id = waiting(rig)
    _ref, port = rig.serve()
    token = page_token(port)
    for headers in ({"Origin": f"http://127.0.0.1:{port}"}, {"Origin": "http://evil.example", "X-Trader-Token": token}):
        status, _doc = post(port, "/control/approve", {"approval_id": approval_id}, headers)
        assert status == 403
    status, _doc = post(port, "/control/approve", headers={"Origin": "http://evil.example"},
                        form=f"token={token}&approval_id={approval_id}")  # a cross-site form post
    assert status == 403
    assert rig.executor.all(PlaceOrder) == []
    status, doc = post(port, "/control/reject", form=f"token={token}&approval_id={approval_id}&reason=not+now",
                       headers={"Origin": f"http://127.0.0.1:{port}"})  # the page's own form, without script
    assert status == 200 and isinstance(doc, dict) and doc["outcome"] == "rejected"
    rig.tick(2)
    assert rig.executor.all(PlaceOrder) == []
    assert "REJECTED by dashboard (127.0.0.1)" in fetch(port, "/")[2]


@pytest.mark.timeout(INSTALL_TIMEOUT_S + 120)
def test_browser_approve_button_in_the_pushed_card_places_the_entry(browser: Browser) -> None:
    rig = approving_rig()
    _ref, port = rig.serve()
    _loaded(browser, f"http://127.0.0.1:{port}/")
    assert browser.eval("document.getElementById('btn-approve')") is None  # nothing waits yet
    rig.tick(1)
    eventually(lambda: browser.text("approval-size") == "0.250 at 39.95", timeout=10)  # pushed, no reload
    browser.eval("window.notReloaded = 1")
    browser.eval("document.getElementById('btn-approve').click()")
    eventually(lambda: "approved" in (browser.text("control-result") or ""), timeout=10)
    order = rig.executor.wait_for(PlaceOrder)[0]
    assert order.price == D("39.95") and browser.eval("window.notReloaded") == 1
    eventually(lambda: "APPROVED by dashboard (127.0.0.1)" in (browser.text("approvals-done") or ""), timeout=10)
    assert browser.eval("document.getElementById('btn-approve')") is None
    data = browser.screenshot(artefacts() / "dashboard-approved.png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
