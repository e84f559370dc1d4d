"""Random sequences of snapshots, advice, order updates (repeated, reordered, partial, garbage),
manual transitions and restarts from the journal, checked against a small reference model."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from hypothesis import HealthCheck, event
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from actors._lib import codec
from actors.messages import (
    AdviceRequest,
    Order,
    OrderStatus,
    OrderUpdate,
    Side,
    TradingState,
    utc_from_ms,
)
from actors.state_keeper.core import CONSULTANT, KeeperCore
from actors.state_keeper.machine import TRANSITIONS
from tests._support.helpers import FILTERS, advice, settings, snap

STATUSES = [s for s in OrderStatus if s is not OrderStatus.PENDING_NEW]
FRACTIONS = [D(0), D("0.25"), D("0.5"), D("0.75"), D(1)]


def rebuild(facts: list[tuple[str, Any]]) -> KeeperCore:
    core = KeeperCore(settings(), FILTERS, "t")
    core.replaying = True
    for kind, payload in facts:
        core.apply(kind, codec.loads(codec.dumps(payload)))  # through the journal's own encoding
    core.replaying = False
    return core


def view(core: KeeperCore) -> tuple:
    s = core.status()
    return (s.state, s.active_order, s.position, s.trades, s.realized_pnl, s.fees_paid, s.halted_reason,
            s.last_advice)


class KeeperMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.core = KeeperCore(settings(), FILTERS, "t")
        self.facts: list[tuple[str, Any]] = []
        self.seq = 0
        self.sent: list[OrderUpdate] = []
        self.ref_cum: dict[str, D] = {}  # the reference: accepted cumulative fill per order
        self.prev_state = self.core.machine.state
        self.mid = D("40.00")

    # -- plumbing --------------------------------------------------------------------

    def _drain(self) -> None:
        self.facts.extend(self.core.journal)
        self.core.journal.clear()

    def _check_step(self) -> None:
        now = self.core.machine.state
        event(f"reached {now.name}")
        if any(t.status == "CLOSED" for t in self.core.ledger.trades):
            event("a trade closed")
        assert now == self.prev_state or (self.prev_state, now) in TRANSITIONS, (self.prev_state, now)
        self.prev_state = now

    def _orders(self) -> list[str]:
        return list(self.core.ledger.orders)

    def _expect_accept(self, u: OrderUpdate) -> bool:
        rec = self.core.ledger.orders.get(u.client_order_id)
        if rec is None or u.symbol != "TRUMPUSDC" or u.cum_qty < 0 or u.cum_qty > rec.quantity:
            return False
        if u.status is OrderStatus.FILLED and u.cum_qty != rec.quantity:
            return False
        return not (rec.side is Side.SELL and u.cum_qty - rec.cum_qty > self.core.ledger.qty)

    # -- rules -----------------------------------------------------------------------

    @rule(move=st.sampled_from(["-0.30", "-0.05", "0", "0.05", "0.40"]),
          action=st.sampled_from(["buy", "sell", "hold"]), offset=st.sampled_from(["-0.10", "0", "0.25", "1.00"]))
    def market(self, move: str, action: str, offset: str) -> None:
        self.seq += 1
        self.mid = max(D("1.00"), self.mid + D(move))
        effects = self.core.on_snapshot(snap(self.seq, str(self.mid - D("0.01")), str(self.mid + D("0.01"))))
        for target, msg in effects:
            if target == CONSULTANT and isinstance(msg, AdviceRequest):
                price = str(self.mid + D(offset)) if action != "hold" else None
                self.core.on_advice(advice(msg.request_id, action, price))
        self._drain()
        self._check_step()

    @rule(data=st.data(), status=st.sampled_from(STATUSES), frac=st.sampled_from(FRACTIONS),
          fee=st.sampled_from([None, "USDC", "TRUMP", "BNB"]), trade_id=st.integers(-1, 6))
    def order_update(self, data: st.DataObject, status: OrderStatus, frac: D, fee: str | None, trade_id: int) -> None:
        ids = self._orders()
        if not ids:
            return
        cid = data.draw(st.sampled_from(ids))
        rec = self.core.ledger.orders[cid]
        cum = (rec.quantity * frac).quantize(D("0.001"))
        price = rec.price
        u = OrderUpdate(
            symbol="TRUMPUSDC", client_order_id=cid, status=status, side=rec.side, cum_qty=cum,
            cum_quote=(cum * price).quantize(D("1e-8")), last_qty=cum - rec.cum_qty if cum > rec.cum_qty else D(0),
            last_price=price, commission=None if fee is None else (cum * D("0.001") * (price if fee == "USDC" else 1)),
            commission_asset=fee, trade_id=trade_id,
        )
        self._send(u)

    @rule(data=st.data())
    def repeat_an_old_update(self, data: st.DataObject) -> None:
        if self.sent:
            self._send(data.draw(st.sampled_from(self.sent)))

    @rule(kind=st.sampled_from(["symbol", "negative", "overfill", "unknown"]))
    def garbage(self, kind: str) -> None:
        ids = self._orders() or ["none"]
        base = OrderUpdate(symbol="TRUMPUSDC", client_order_id=ids[-1], status=OrderStatus.PARTIALLY_FILLED,
                           cum_qty=D("0.001"), cum_quote=D("0.04"))
        bad = {
            "symbol": OrderUpdate(symbol="BTCUSDC", client_order_id=ids[-1], status=OrderStatus.FILLED, cum_qty=D(1)),
            "negative": OrderUpdate(symbol="TRUMPUSDC", client_order_id=ids[-1], status=OrderStatus.PARTIALLY_FILLED,
                                    cum_qty=D("-1")),
            "overfill": OrderUpdate(symbol="TRUMPUSDC", client_order_id=ids[-1], status=OrderStatus.PARTIALLY_FILLED,
                                    cum_qty=D(10**6), cum_quote=D(1)),
            "unknown": OrderUpdate(symbol="TRUMPUSDC", client_order_id="ghost", status=OrderStatus.FILLED,
                                   cum_qty=D(1), cum_quote=D(40)),
        }[kind]
        before = view(self.core)
        never_placed = bad.client_order_id not in self.core.ledger.orders and bad.symbol == "TRUMPUSDC" and bad.cum_qty > 0
        self.core.on_order_update(bad if kind != "none" else base)
        self._drain()
        after = view(self.core)
        if never_placed:  # a fill on an order never placed: trading stops, and nothing else changes
            assert after[6] is not None and after[:6] == before[:6]
        else:
            assert after == before  # garbage changes nothing
        self._check_step()

    @rule(to=st.sampled_from(list(TradingState)), with_order=st.booleans(), side=st.sampled_from(["BUY", "SELL"]))
    def manual_transition(self, to: TradingState, with_order: bool, side: str) -> None:
        self.seq += 1
        order = Order(id=f"m-{self.seq}-X", symbol="TRUMPUSDC", side=side, quantity=D("0.25"), price=self.mid,
                      status="NEW", timestamp=utc_from_ms(self.seq * 1000)) if with_order else None
        self.core.request_transition(to, order)
        self._drain()
        self._check_step()

    @rule()
    def restart(self) -> None:
        before = view(self.core)
        self.core = rebuild(self.facts)
        assert view(self.core) == before
        self.prev_state = self.core.machine.state

    def _send(self, u: OrderUpdate) -> None:
        accept = self._expect_accept(u)
        self.core.on_order_update(u)
        if accept:
            self.ref_cum[u.client_order_id] = max(self.ref_cum.get(u.client_order_id, D(0)), u.cum_qty)
            self.sent.append(u)
        self._drain()
        self._check_step()

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def state_is_one_of_four(self) -> None:
        assert self.core.machine.state in set(TradingState)

    @invariant()
    def holdings_add_up(self) -> None:
        led = self.core.ledger
        assert led.qty >= 0 and led.cost >= 0
        for cid, rec in led.orders.items():
            assert rec.cum_qty == self.ref_cum.get(cid, D(0)), cid
        bought = sum((r.cum_qty - r.fee_base for r in led.orders.values() if r.side is Side.BUY), D(0))
        sold = sum((r.cum_qty for r in led.orders.values() if r.side is Side.SELL), D(0))
        assert led.qty == bought - sold

    @invariant()
    def realised_is_the_sum_of_closed_trades(self) -> None:
        led = self.core.ledger
        assert led.realized_pnl == sum((t.pnl for t in led.trades if t.status == "CLOSED"), D(0))

    @invariant()
    def busy_states_have_an_active_order(self) -> None:
        if self.core.machine.state in (TradingState.BUYING, TradingState.SELLING):
            assert self.core.active_id in self.core.ledger.orders


TestKeeperStateful = KeeperMachine.TestCase
TestKeeperStateful.settings = hsettings(max_examples=150, stateful_step_count=40, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
