"""Random markets (gaps included), hostile advice, fills and restarts against the risk limits.

Properties: equity never falls below `capital × (1 − max_drawdown)` by more than
one position's gap between two snapshots (plus the spread and fees of one round
trip); nothing is bought while halted; a restart keeps the halt.

The exchange here answers a cancel, and a snapshot at the same price follows,
before the market's next move (a fill may still race the cancel in between):
live, Binance answers the DELETE and the next snapshot comes within
`snapshot_interval_ms`, long before a move of these sizes. One that never
answered would keep any keeper from selling; that is the executor's look-ups'
business. The market runs as live: snapshots keep coming while an answer is
awaited (`answer` is a rule that may come late or never).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D
from typing import Any

from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from actors._lib import codec
from actors.messages import AdviceRequest, CancelOrder, PlaceOrder, RiskState, Side
from actors.settings import RiskSettings
from actors.state_keeper.core import CONSULTANT, EXECUTOR, KeeperCore, replay
from tests._support.helpers import FILTERS, advice, settings, snap, update

CAPITAL, MAX_DD = D(10), D("0.2")
SETTINGS = dataclasses.replace(
    settings(), risk=RiskSettings(capital=CAPITAL, max_drawdown=MAX_DD, flatten_on_halt=True),
    market=dataclasses.replace(settings().market, source="binance"))
FEE = D("0.001")


class RiskMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.core = self._new()
        self.rows: list[tuple[str, Any]] = []
        self.seq, self.bid = 0, D("40.00")
        self.pending: AdviceRequest | None = None
        self.worst_gap = D(0)  # the largest loss one snapshot's move caused on what was held
        self.was_halted = False
        self.trade_id = 0
        self.cancels: list[str] = []  # asked for, not answered yet

    def _new(self) -> KeeperCore:
        return KeeperCore(SETTINGS, FILTERS, "t")

    def _run(self, effects: list[tuple[str, Any]]) -> None:
        self.rows += self.core.journal
        self.core.journal.clear()
        for target, msg in effects:
            if target == CONSULTANT:
                self.pending = msg
            elif target == EXECUTOR and isinstance(msg, CancelOrder):
                self.cancels.append(msg.client_order_id)
            elif target == EXECUTOR and isinstance(msg, PlaceOrder):
                assert not (msg.side is Side.BUY and self.core.risk.state is RiskState.HALTED), "bought while halted"
                if (msg.side is Side.SELL and msg.price <= self.bid) or (msg.side is Side.BUY and msg.price >= self.ask):
                    self._fill(msg)  # marketable: it takes the touch at once

    @property
    def ask(self) -> D:
        return self.bid + D("0.02")

    def _fill(self, cmd: PlaceOrder) -> None:
        """At the limit, or at the touch when that is better (a marketable order takes the book)."""
        self.trade_id += 1
        price = min(cmd.price, self.ask) if cmd.side is Side.BUY else max(cmd.price, self.bid)
        quote = cmd.quantity * price
        self._run(self.core.on_order_update(update(
            cmd.client_order_id, "FILLED", str(cmd.quantity), str(quote), side=cmd.side, commission=str(quote * FEE),
            asset="USDC", trade_id=self.trade_id, last=str(cmd.quantity), ts_ms=self.seq * 60_000)))

    @rule(move=st.sampled_from(["-0.3", "-0.1", "-0.03", "-0.01", "0", "0.01", "0.03", "0.1", "0.2"]))
    def tick(self, move: str) -> None:
        answered = False
        for cid in self.cancels:
            rec = self.core.ledger.orders.get(cid)
            if rec is not None and not rec.status.is_terminal:  # orders here fill whole or not at all
                self._run(self.core.on_order_update(update(cid, "CANCELED", side=rec.side, ts_ms=self.seq * 60_000)))
                answered = True
        self.cancels.clear()
        if answered:  # the cancel's answer and the next snapshot come long before a move of this size
            self._snapshot()
        held = self.core.ledger.qty
        new_bid = max(D("0.10"), (self.bid * (1 + D(move))).quantize(D("0.01")))
        self.worst_gap = max(self.worst_gap, held * (self.bid - new_bid))
        self.bid = new_bid
        self._snapshot()

    def _snapshot(self) -> None:
        self.seq += 1
        self._run(self.core.on_snapshot(snap(self.seq, bid=str(self.bid), ask=str(self.ask), ts_ms=self.seq * 60_000)))
        self.was_halted |= self.core.risk.state is RiskState.HALTED

    @precondition(lambda self: self.pending is not None)
    @rule(action=st.sampled_from(["buy", "sell", "hold"]),
          price=st.sampled_from(["-1", "0", "0.01", "1", "39", "40", "41", "1000000"]),
          confidence=st.sampled_from(["0", "0.7", "1", "100"]))
    def answer(self, action: str, price: str, confidence: str) -> None:
        assert self.pending is not None
        req, self.pending = self.pending, None
        self._run(self.core.on_advice(advice(req.request_id, action, price, confidence)))

    @rule()
    def fill_resting(self) -> None:
        rec = self.core.ledger.orders.get(self.core.active_id or "")
        if rec is None or rec.status.is_terminal:
            return
        if (rec.side is Side.SELL and rec.price <= self.bid) or (rec.side is Side.BUY and rec.price >= self.ask):
            cmd = PlaceOrder(client_order_id=rec.client_order_id, symbol="TRUMPUSDC", side=rec.side, price=rec.price,
                             quantity=rec.quantity, ts_ms=0)
            self._fill(cmd)

    @rule()
    def restart(self) -> None:
        halted = self.core.risk.state
        fresh = self._new()
        replay(fresh, [(i, k, codec.loads(codec.dumps(p))) for i, (k, p) in enumerate(self.rows)])
        assert fresh.risk.state is halted, "a restart must keep the gate's state"
        assert fresh.ledger.qty == self.core.ledger.qty
        self.core, self.pending = fresh, None

    @invariant()
    def equity_stays_within_the_limit(self) -> None:
        equity = self.core.equity_at(self.bid)
        slack = D("0.05") * CAPITAL * FEE * 100  # spread and fees of a round trip at this size
        assert equity >= CAPITAL * (1 - MAX_DD) - self.worst_gap - slack, (equity, self.worst_gap)

    @invariant()
    def no_buy_after_a_halt(self) -> None:
        if self.was_halted:
            assert self.core.risk.state is RiskState.HALTED  # only the operator lifts it


TestRiskStateful = RiskMachine.TestCase
TestRiskStateful.settings = hsettings(max_examples=120, stateful_step_count=50, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])
