"""Issue 11.5 end to end: the keeper and the Binance executor on the stand-in while the market closes and reopens.

A rejected order is not re-placed on every snapshot (the keeper waits, and a closed market
blocks it with one log line), and trading resumes as soon as the executor sees the reopening.
"""

from __future__ import annotations

from typing import Any

from actors.messages import AdviceRequest, GetStatus, SnapshotProcessed
from actors.state_keeper.actor import StateKeeperActor
from tests._support.fakes.binance_exchange import FakeBinance
from tests._support.helpers import advice, settings, snap
from tests._support.probes import ProbeHandle, eventually
from tests.order_executor.test_executor_binance import start_executor


def test_closed_market_backs_off_and_trading_resumes_on_the_reopening(logs: Any) -> None:
    with FakeBinance() as fake:
        ex, _sub = start_executor(fake, wait_stream=False)
        market = ProbeHandle()

        def answer(req: Any) -> None:
            if isinstance(req, AdviceRequest) and req.reply_to is not None:
                req.reply_to.tell(advice(req.request_id, "buy", "9.99"))

        consultant = ProbeHandle(answer)
        keeper = StateKeeperActor.start(settings(), market=market.ref, executor=ex, consultant=consultant.ref,
                                        id_prefix="k")
        eventually(lambda: keeper.ask(GetStatus(), timeout=5).last_snapshot is None)
        seq, now = 0, 1_000_000

        def tick(step_ms: int = 1000) -> None:
            nonlocal seq, now
            seq, now = seq + 1, now + step_ms
            keeper.tell(snap(seq, bid="9.99", ask="10.01", ts_ms=now))
            market.wait_for(SnapshotProcessed, lambda m: m.seq == seq)

        def posts() -> int:
            return len(fake.requests_to("POST", "/api/v3/order"))

        fake.set_symbol_status("BREAK")  # the executor still believes TRADING

        def placed() -> bool:
            # The executor's greeting (filters, balances) reaches the keeper on the executor's thread; on a
            # loaded machine the first snapshot can come before it, and a keeper without filters waits.
            if keeper.ask(GetStatus(), timeout=5).state.name == "READY_TO_BUY" and posts() == 0:
                tick()
            return posts() == 1

        eventually(placed, timeout=10, interval=0.05)
        eventually(lambda: keeper.ask(GetStatus(), timeout=5).state.name == "READY_TO_BUY")  # -2010: rejected

        def sees_closed() -> bool:
            tick(50)  # well within the 5 s retry wait until the executor's re-read says the market is closed
            return "market_closed" in {b.condition for b in keeper.ask(GetStatus(), timeout=5).blocked}

        eventually(sees_closed, timeout=10, interval=0.05)
        for _ in range(30):
            tick()
        assert posts() == 1, "a rejected order must not be re-placed on every snapshot"
        fake.set_symbol_status("TRADING")

        def placed_again() -> bool:
            tick()  # the keeper sees the reopening (FiltersUpdated from the executor's poll) on its next snapshot
            return posts() == 2

        eventually(placed_again, timeout=10, interval=0.05)
        keeper.stop()
        ex.stop(timeout=10)
    assert len([m for m in logs.messages("WARNING") if "not trading" in m and "market_closed" in m]) == 1
