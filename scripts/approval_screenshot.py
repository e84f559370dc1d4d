"""The README's screenshot of an entry waiting for approval on the dashboard (headless Chromium).

A keeper on a live-like market (paper, `approve_entries = true`) with probes
for its peers, fed half an hour of snapshots up to now: one entry approved
(on Telegram) and filled and sold, one left to expire, and one waiting when
the picture is taken. Nothing here touches the network beyond 127.0.0.1.

    PYTHONPATH=$PWD python scripts/approval_screenshot.py [--out docs/approval.png]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from decimal import Decimal as D
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actors.messages import (  # noqa: E402
    AdviceRequest,
    AdvisedExits,
    ApproveEntry,
    GetStatus,
    PlaceOrder,
    Side,
    SnapshotProcessed,
    TradingState,
)
from actors.settings import MarketSettings, NotifySettings  # noqa: E402
from actors.state_keeper.actor import StateKeeperActor  # noqa: E402
from actors.status import GetBoundPort, StatusServerActor  # noqa: E402
from tests._support.helpers import FILTERS, advice, settings, snap, update  # noqa: E402
from tests._support.probes import ProbeHandle, eventually  # noqa: E402
from tests.status.status_cdp import Browser  # noqa: E402


def reasoning(mid: D) -> str:
    fast, slow = mid - D("0.14"), mid - D("0.45")
    return (f"Regime up: the 1 h EMA ({fast:.2f}) is 1.9 hourly volatilities over the 4 h EMA ({slow:.2f}) and the "
            f"price holds above it; buying at the bid. Target {mid + D('0.60'):.2f} (1 sigma over 4 h) clears both "
            f"fees plus min_profit 3.1 times; stop {mid - D('0.80'):.2f}. Invalidation: a close under the 1 h EMA.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "approval.png")
    args = ap.parse_args()
    chromium = os.environ.get("TRADER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("headless Chromium not found (apt-get install -y chromium)", file=sys.stderr)
        return 2
    s = dataclasses.replace(settings(), market=MarketSettings(source="binance"),
                            notify=NotifySettings(approve_entries="model", approve_timeout_s=300))
    market, executor = ProbeHandle(), ProbeHandle()

    def answer(req: Any) -> None:
        if isinstance(req, AdviceRequest):
            buying = req.state is TradingState.READY_TO_BUY
            mid = req.snapshot.mid
            price = f"{mid - D('0.01'):.2f}" if buying else f"{mid + D('0.60'):.2f}"
            a = advice(req.request_id, "buy" if buying else "sell", price, confidence="0.82", valid_ms=10**14)
            a = dataclasses.replace(a, reasoning=reasoning(mid) if buying else "Target reached: offering at the plan's target.",
                                    model="deepseek/deepseek-chat-v3.1",
                                    exit_plan=AdvisedExits(target_price=mid + D("0.60"), stop_price=mid - D("0.80"),
                                                           time_limit_s=14400,
                                                           invalidation="a close under the 1 h EMA") if buying else None)
            assert req.reply_to is not None
            req.reply_to.tell(a)

    consultant = ProbeHandle(answer)
    keeper = StateKeeperActor.start(s, market=market.ref, executor=executor.ref, consultant=consultant.ref,
                                    filters=FILTERS, id_prefix="tb7f3a")
    now = time.time_ns() // 1_000_000
    t0 = now - int(26.5 * 60_000)
    seq = 0

    def tick(minute: float, mid: str) -> None:
        nonlocal seq
        seq += 1
        m = D(mid)
        keeper.tell(snap(seq, bid=f"{m - D('0.01'):.2f}", ask=f"{m + D('0.01'):.2f}", ts_ms=int(t0 + minute * 60_000),
                         volatility=D("0.004"), regime="up"))
        market.wait_for(SnapshotProcessed, lambda msg, n=seq: msg.seq == n)

    def pending() -> Any:
        st = keeper.ask(GetStatus(), timeout=5)
        return next((a for a in st.approvals if a.outcome == "pending"), None)

    for i, mid in enumerate([39.62, 39.66]):
        tick(i, f"{mid}")
    a = eventually(pending)
    keeper.ask(ApproveEntry(approval_id=a.approval_id, by="telegram (123456789 @owner)"), timeout=5)
    buy = executor.wait_for(PlaceOrder)[0]
    keeper.tell(update(buy.client_order_id, "FILLED", str(buy.quantity), str(buy.quantity * buy.price),
                       commission=str(buy.quantity * buy.price / 1000), asset="USDC", last=str(buy.quantity),
                       trade_id=1, ts_ms=int(t0 + 2 * 60_000)))
    eventually(lambda: keeper.ask(GetStatus(), timeout=5).state is TradingState.READY_TO_SELL)
    for i, mid in enumerate([39.71, 39.70, 39.76, 39.80, 39.86, 39.95, 40.10, 40.22, 40.31, 40.38, 40.44], start=3):
        tick(i, f"{mid}")
    sell = executor.wait_for(PlaceOrder, lambda m: m.side is Side.SELL)[0]
    keeper.tell(update(sell.client_order_id, "FILLED", str(sell.quantity), str(sell.quantity * sell.price),
                       commission=str(sell.quantity * sell.price / 1000), asset="USDC", last=str(sell.quantity),
                       trade_id=2, ts_ms=int(t0 + 14 * 60_000)))
    eventually(lambda: keeper.ask(GetStatus(), timeout=5).state is TradingState.READY_TO_BUY)
    for i, mid in enumerate([40.52, 40.49, 40.55, 40.58, 40.56], start=15):
        tick(i, f"{mid}")  # an entry waits; nobody answers
    for i, mid in enumerate([40.57, 40.61, 40.64, 40.60, 40.66], start=20):
        tick(i, f"{mid}")  # expired at 20; no new entry for the next five minutes
    for k, mid in enumerate([40.70, 40.73, 40.71, 40.76, 40.80, 40.78, 40.83, 40.86, 40.90, 40.88, 40.91, 40.93]):
        tick(25 + k * 0.1, f"{mid}")  # the entry proposed at 25 waits now
    eventually(pending)
    port_ref = StatusServerActor.start(s, keeper, {}, port=0, refresh_s=0.5)
    port = port_ref.ask(GetBoundPort(), timeout=5)
    with tempfile.TemporaryDirectory() as tmp:
        b = Browser(chromium, Path(tmp) / "profile", width=1280, height=1000)
        try:
            b.goto(f"http://127.0.0.1:{port}/")
            eventually(lambda: b.eval("!!document.getElementById('btn-approve')"), timeout=20)
            time.sleep(1.0)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            shot = b.send("Page.captureScreenshot", format="png",
                          clip={"x": 0, "y": 0, "width": 1280, "height": 860, "scale": 1})
            data = base64.b64decode(shot["data"])
            args.out.write_bytes(data)
            print(f"screenshot: {args.out} ({len(data)} bytes)")
        finally:
            b.close()
    import pykka

    pykka.ActorRegistry.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
