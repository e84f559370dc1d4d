"""Measure the dashboard's latencies and take the README's screenshot, in headless Chromium.

Part 1 (in-process, a keeper with probes for its peers): the page's response
time (GET / and GET /status, N times each) and the update latency, from the
moment a market snapshot is told to the keeper to the moment the page's
script has swapped in the pushed update that shows it (the page's own
Date.now(), same machine, same clock).

Part 2 (optional, --shot): runs `bootstrap.py run` on a real TRUMPUSDC kline
replay at --speed with its status page, waits --wait seconds, and saves a
screenshot of the dashboard (docs/dashboard.png by default).

    PYTHONPATH=$PWD python scripts/dashboard_check.py [--shot docs/dashboard.png]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.status_cdp import Browser  # noqa: E402
from tests.test_status_page import Rig  # noqa: E402

DATA = ROOT.parent.parent / "shared" / "data" / "klines" / "TRUMPUSDC-1m"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _ms(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, int(len(xs) * 0.95))]
    return f"median {statistics.median(xs):.1f} ms, p95 {p95:.1f} ms, max {xs[-1]:.1f} ms (n={len(xs)})"


def _get(url: str) -> float:
    t0 = time.perf_counter()
    with _NO_PROXY.open(url, timeout=10) as resp:
        resp.read()
    return (time.perf_counter() - t0) * 1000


def _wait(check, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.005)
    raise TimeoutError("the page did not show it")


def measure(chromium: str, n: int) -> None:
    from tests.helpers import snap

    from actors.messages import PauseBuying, ResumeTrading

    rig = Rig()
    rig.trade()  # a keeper with a closed trade and an open position
    _ref, port = rig.serve(refresh_s=0.5)  # the actor's default round
    base = f"http://127.0.0.1:{port}"
    page = [_get(base + "/") for _ in range(n)]
    status = [_get(base + "/status") for _ in range(n)]
    print(f"GET /        : {_ms(page)}")
    print(f"GET /status  : {_ms(status)}")
    with tempfile.TemporaryDirectory() as tmp:
        b = Browser(chromium, Path(tmp) / "profile")
        try:
            b.goto(base + "/")
            _wait(lambda: b.eval("!!(window.traderDashboard && window.traderDashboard.updates)"))
            event, tick = [], []
            for i in range(n):
                time.sleep(0.1)  # one event at a time: a burst is paced at MIN_GAP_S
                want = "REDUCING" if i % 2 == 0 else "ACTIVE"
                msg = PauseBuying(by="bench") if i % 2 == 0 else ResumeTrading(by="bench")
                t0 = time.time() * 1000
                rig.keeper.tell(msg)  # publishes RiskStateChanged: the page's actor pushes at once
                _wait(lambda want=want: b.text("risk-state") == want)
                event.append(b.eval("window.traderDashboard.receivedMs") - t0)
            for i in range(n):
                time.sleep(random.uniform(0, 0.5))  # at any point of the round
                bid = f"{39.50 + i / 100:.2f}"
                t0 = time.time() * 1000
                rig.keeper.tell(snap(10 + i, bid=bid, ask="40.60"))  # no keeper event: the next round shows it
                _wait(lambda bid=bid: b.text("bid") == bid)
                tick.append(b.eval("window.traderDashboard.receivedMs") - t0)
            print(f"update on a keeper event (told -> page shows it): {_ms(event)}")
            print(f"update on market data only (next 0.5 s round): {_ms(tick)}")
        finally:
            b.close()


def shot(chromium: str, out: Path, speed: str, wait_s: float) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "dash.toml"
        cfg.write_text('[risk]\nmax_drawdown = "0.25"\ndaily_loss_limit = "0.08"\nmax_consecutive_losses = 4\nloss_pause_s = 3600\n'
                       'max_exposure = "20"\ntake_profit = "0.03"\ntrailing_stop = "0.02"\n'
                       '[trading]\nstop_loss = "0.03"\n', encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TRADER_NO_DOTENV": "1"}
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bootstrap.py"), "run", "--config", str(cfg), "--replay-path", str(DATA),
             "--speed", speed, "--status-port", str(port), "--report-dir", str(Path(tmp) / "report")],
            cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        b = None
        try:
            try:
                _wait(lambda: _up(port), timeout=30)
            except TimeoutError:
                proc.terminate()
                raise SystemExit(f"the bot did not start: {proc.communicate(timeout=30)[1][-2000:]!r}") from None
            b = Browser(chromium, Path(tmp) / "profile", width=1280, height=1500)
            b.goto(f"http://127.0.0.1:{port}/")
            time.sleep(wait_s)
            out.parent.mkdir(parents=True, exist_ok=True)
            b.screenshot(out)
            print(f"screenshot: {out} ({out.stat().st_size} bytes)")
        finally:
            if b is not None:
                b.close()
            proc.terminate()
            proc.wait(30)


def _up(port: int) -> bool:
    try:
        return _get(f"http://127.0.0.1:{port}/status") >= 0
    except OSError:
        return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--shot", type=Path, help="save a screenshot of a replay run's dashboard here")
    ap.add_argument("--speed", default="900")
    ap.add_argument("--wait", type=float, default=45.0)
    args = ap.parse_args()
    chromium = os.environ.get("TRADER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("headless Chromium not found (apt-get install -y chromium)", file=sys.stderr)
        return 2
    measure(chromium, args.n)
    if args.shot:
        shot(chromium, args.shot, args.speed, args.wait)
    import pykka

    pykka.ActorRegistry.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
