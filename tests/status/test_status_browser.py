"""The status page in a real browser: headless Chromium renders what /status says.

Chromium is found as `$TRADER_CHROMIUM`, or `chromium` / `chromium-browser` /
`google-chrome` on the PATH. When none is there the test is skipped with the
reason, unless installing it is allowed: running as root, `apt-get` present,
and `CI` or `TRADER_INSTALL_CHROMIUM=1` set. Then it runs
`apt-get update && apt-get install -y chromium` once (about a minute), so a
CI machine gets the browser test and a developer's laptop is never changed
behind their back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.status.test_status_page import REASONING, IdText, fetch_json, served_rig

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-proxy-server",
)
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


def _run(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, check=False, env={**os.environ, "HOME": str(tmp_path)})


@pytest.mark.timeout(INSTALL_TIMEOUT_S + 120)
def test_browser_shows_what_status_says(chromium: str, tmp_path: Path) -> None:
    _rig, port = served_rig()
    url = f"http://127.0.0.1:{port}/"
    done = _run(chromium, tmp_path, "--dump-dom", url)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    doc = fetch_json(port)["status"]
    shown = IdText(dom).text
    assert shown["state"] == doc["state"] == "ready_to_sell"
    assert shown["realized-pnl"] == doc["realized_pnl"]
    assert shown["fees-paid"] == doc["fees_paid"]
    assert shown["position-qty"] == doc["position"]["quantity"]
    assert shown["advice-reasoning"] == REASONING  # shown as text...
    assert "<script" not in dom.lower()  # ...and the browser built no script element from it

    png = tmp_path / "status.png"
    done = _run(chromium, tmp_path, f"--screenshot={png}", "--window-size=1200,900", url)
    assert done.returncode == 0, done.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
