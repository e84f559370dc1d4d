"""The dashboard in a real browser: headless Chromium, driven over the DevTools protocol.

It checks the banner, equity and state against /status, sees a pushed update
arrive without a reload, presses pause and sees no buy follow, and keeps a
screenshot as an artefact (`$TRADER_ARTIFACTS`, default `reports/artifacts/`).

Chromium is found as `$TRADER_CHROMIUM`, or `chromium` / `chromium-browser` /
`google-chrome` on the PATH. When none is there the test is skipped with the
reason, unless installing it is allowed: running as root, `apt-get` present,
and `CI` or `TRADER_INSTALL_CHROMIUM=1` set. Then it runs
`apt-get update && apt-get install -y chromium` once (about a minute), so a
CI machine gets the browser test and a developer's laptop is never changed
behind their back.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from actors.messages import PlaceOrder
from actors.settings import StatusSettings
from tests._support.helpers import settings
from tests._support.paths import ROOT
from tests._support.probes import eventually
from tests.status.status_cdp import Browser
from tests.status.test_status_page import REASONING, TOKEN, Rig, fetch_json, served_rig

INSTALL_TIMEOUT_S = 900
RUN_TIMEOUT_S = 60


def _find() -> str | None:
    explicit = os.environ.get("TRADER_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _may_install() -> str | None:
    """None if installing is allowed, else why not."""
    if os.environ.get("TRADER_INSTALL_CHROMIUM") != "1" and not os.environ.get("CI"):
        return "set TRADER_INSTALL_CHROMIUM=1 (or CI) to let the test install it"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "installing it needs root"
    if shutil.which("apt-get") is None:
        return "installing it needs apt-get"
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    found = _find()
    if found:
        return found
    if os.environ.get("TRADER_CHROMIUM"):
        pytest.skip(f"TRADER_CHROMIUM={os.environ['TRADER_CHROMIUM']} is not an executable")
    why = _may_install()
    if why is not None:
        pytest.skip(f"headless Chromium not found (apt-get install -y chromium); {why}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, env=env, check=False)
        if done.returncode != 0:
            pytest.skip(f"could not install Chromium ({' '.join(cmd)} exited {done.returncode}): "
                        f"{done.stderr.strip()[-300:]}")
    found = _find()
    if not found:
        pytest.skip("Chromium was installed but is not on the PATH")
    return found


def artefacts() -> Path:
    where = Path(os.environ.get("TRADER_ARTIFACTS") or ROOT / "reports" / "artifacts")
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[Browser]:
    b = Browser(chromium, tmp_path / "profile")
    try:
        yield b
    finally:
        b.close()


def _loaded(b: Browser, url: str) -> None:
    b.goto(url)
    eventually(lambda: b.eval("!!(window.traderDashboard && window.traderDashboard.updates > 0)"), timeout=20)


@pytest.mark.timeout(INSTALL_TIMEOUT_S + 120)
def test_browser_shows_what_status_says(browser: Browser) -> None:
    _rig, port = served_rig()
    _loaded(browser, f"http://127.0.0.1:{port}/")
    doc = fetch_json(port)
    st = doc["status"]
    assert browser.text("mode") == doc["mode"] == "BACKTEST"
    assert browser.text("symbol") == st["symbol"] == "TRUMPUSDC"
    assert browser.eval("document.body.firstElementChild.id") == "banner"  # the first thing on the page
    assert Decimal(browser.text("equity") or "") == Decimal(st["risk"]["equity"]).quantize(Decimal("1e-8"))
    assert browser.text("risk-state") == st["risk"]["state"].upper() == "ACTIVE"
    assert browser.text("state") == st["state"] == "ready_to_sell"
    assert browser.text("realized-pnl") == st["realized_pnl"]
    assert browser.text("position-qty") == st["position"]["quantity"]
    assert browser.text("advice-reasoning") == REASONING  # shown as text...
    assert browser.eval("document.scripts.length") == 1  # ...and no script came of it
    assert browser.eval("document.querySelectorAll('#price-chart polyline').length") == 1
    assert "break-even" in (browser.eval("document.querySelector('.legend').textContent") or "")
    data = browser.screenshot(artefacts() / "dashboard-holding.png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


@pytest.mark.timeout(INSTALL_TIMEOUT_S + 120)
def test_browser_pause_update_without_reload_and_no_buy(browser: Browser) -> None:
    rig = Rig()
    _ref, port = rig.serve(refresh_s=3600)  # every update below is pushed by a keeper event, not a round
    _loaded(browser, f"http://127.0.0.1:{port}/")
    assert browser.text("risk-state") == "ACTIVE"
    browser.eval("window.notReloaded = 42")
    browser.eval("document.getElementById('control-reason').value = 'browser test'")
    browser.eval("document.getElementById('btn-pause').click()")
    eventually(lambda: browser.text("risk-state") == "REDUCING", timeout=10)
    # the POST's answer and the pushed update race: either may arrive first
    eventually(lambda: "REDUCING" in (browser.text("control-result") or ""), timeout=10)
    assert "buying paused by dashboard (127.0.0.1): browser test" in (browser.text("risk-reason") or "")
    before = browser.eval("window.traderDashboard.updates")
    rig.tick(1)  # a snapshot the keeper would have bought on; it acknowledges after everything it sent
    rig.tick(2)
    eventually(lambda: browser.text("bid") == "39.99", timeout=10)  # the feed card arrived by push
    assert browser.eval("window.notReloaded") == 42 and browser.eval("window.traderDashboard.updates") > before
    assert rig.executor.all(PlaceOrder) == []  # paused: no buy followed
    assert fetch_json(port)["status"]["risk"]["state"] == "reducing"
    data = browser.screenshot(artefacts() / "dashboard-paused.png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.timeout(INSTALL_TIMEOUT_S + 120)
def test_browser_with_a_configured_token_streams_and_controls(browser: Browser) -> None:
    rig = Rig()
    s = dataclasses.replace(settings(), status=StatusSettings(host="0.0.0.0", port=0, token=TOKEN))  # noqa: S104
    _ref, port = rig.serve(settings=s)
    _loaded(browser, f"http://127.0.0.1:{port}/?token={TOKEN}")  # the stream authenticates with it too
    assert browser.eval("document.getElementById('control-token')") is None  # never written into the page
    browser.eval("document.getElementById('btn-pause').click()")
    eventually(lambda: browser.text("risk-state") == "REDUCING", timeout=10)
    assert rig.status().risk is not None and rig.status().risk.state.value == "reducing"
