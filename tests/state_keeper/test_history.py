"""Finished trades are kept packed: exactly (every digit and exponent), and still found and updated by id."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from actors.messages import AdviceRef, OrderStatus, Side
from actors.state_keeper.history import pack_order, pack_trade, unpack_order, unpack_trade
from actors.state_keeper.ledger import Ledger, OrderRecord, TradeRecord
from tests._support.helpers import update

decimals = st.decimals(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [D("0"), D("-0"), D("0E-8"), D("1E+3"), D("1.000"), D("0.00100100"), D("sNaN")])
texts = st.text(max_size=12)
ints = st.integers(min_value=-(2**70), max_value=2**70)


def same(a: object, b: object) -> bool:
    """Equal field by field, a Decimal by its text (digits and exponent: `==` would call 1.0 and 1.00 equal)."""
    fa, fb = a.__slots__, b.__slots__  # type: ignore[attr-defined]
    return fa == fb and all(_same(getattr(a, f), getattr(b, f)) for f in fa)


def _same(x: object, y: object) -> bool:
    if isinstance(x, D) or isinstance(y, D):
        return type(x) is type(y) and str(x) == str(y)
    if isinstance(x, AdviceRef) and isinstance(y, AdviceRef):
        return all(_same(getattr(x, f), getattr(y, f)) for f in ("advice_id", "source", "model", "confidence", "cost"))
    return type(x) is type(y) and x == y


@given(side=st.sampled_from(Side), status=st.sampled_from(OrderStatus), d=st.lists(decimals, min_size=7, max_size=7),
       ms=st.lists(ints, min_size=2, max_size=2), s=st.lists(texts, min_size=4, max_size=4),
       flags=st.lists(st.booleans(), min_size=2, max_size=2), ids=st.none() | st.sets(ints, max_size=3),
       advice=st.none() | st.builds(AdviceRef, advice_id=texts, source=texts, model=st.none() | texts,
                                    confidence=st.none() | decimals, cost=decimals))
def test_an_order_reads_back_exactly_or_is_not_packed(side, status, d, ms, s, flags, ids, advice) -> None:
    rec = OrderRecord("cid-1", side, d[0], d[1], ms[0], s[0], s[1], status, s[2], d[2], d[3], d[4], d[5], d[6],
                      flags[0], ids, ms[1], flags[1], s[3], advice)
    packed = pack_order(rec)
    if packed is None:  # a separator in one of the strings: kept as it was
        assert any(c in t for t in [*s, *(vars_of(advice))] for c in "\x1c\x1d\x1e\x1f")
        return
    assert same(unpack_order("cid-1", packed), rec)


def vars_of(a: AdviceRef | None) -> list[str]:
    return [] if a is None else [a.advice_id, a.source, a.model or ""]


@given(d=st.lists(decimals, min_size=7, max_size=7), opened=ints, closed=st.none() | ints,
       s=st.lists(texts, min_size=3, max_size=3), sells=st.lists(texts, max_size=3), est=st.booleans())
def test_a_trade_reads_back_exactly_or_is_not_packed(d, opened, closed, s, sells, est) -> None:
    t = TradeRecord(s[0], opened, s[1], sells, *d, est, closed, s[2])
    packed = pack_trade(t)
    if packed is None:
        assert any(c in x for x in [*s, *sells] for c in "\x1c\x1d\x1e\x1f")
        return
    assert same(unpack_trade(packed), t)


def round_trip(led: Ledger, n: int) -> None:
    b, s = f"b{n}", f"s{n}"
    led.add_order(OrderRecord(b, Side.BUY, D("40.00"), D("0.25"), n))
    led.apply_update(update(b, "FILLED", "0.25", "10.00", commission="0.00025", asset="TRUMP", last="0.25",
                            trade_id=2 * n, ts_ms=n))
    led.add_order(OrderRecord(s, Side.SELL, D("41.00"), D("0.249"), n))
    led.apply_update(update(s, "FILLED", "0.249", "10.209", commission="0.010209", asset="USDC", last="0.249",
                            trade_id=2 * n + 1, ts_ms=n))
    led.close_trade(n)


def test_finished_trades_are_packed_and_read_back_the_same() -> None:
    led, plain = Ledger("TRUMPUSDC", "TRUMP", "USDC", D("0.001")), []
    for n in range(5):
        round_trip(led, n)
        plain.append((led.trade_view(led.trades[-1]), led.orders.peek(f"b{n}")))
    packed = [cid for cid, v in led.orders._d.items() if isinstance(v, str)]
    assert packed == ["b0", "s0", "b1", "s1", "b2", "s2", "b3", "s3"]  # all but the last trade's orders
    assert [led.trade_view(t) for t in led.trades] == [v for v, _r in plain]
    assert led.closed_pnls_since_last_win() == [led.trades[-1].pnl]  # every trade won: back to the last one


def test_a_late_repeat_of_a_packed_order_is_recognised_and_changes_nothing() -> None:
    led = Ledger("TRUMPUSDC", "TRUMP", "USDC", D("0.001"))
    for n in range(3):
        round_trip(led, n)
    before = (led.qty, led.cost, led.realized_pnl, led.fees_paid)
    assert isinstance(led.orders._d["b0"], str)
    applied = led.apply_update(update("b0", "FILLED", "0.25", "10.00", commission="0.00025", asset="TRUMP",
                                      last="0.25", trade_id=0, ts_ms=99))
    assert not (applied.fill_qty or applied.status_changed)
    assert (led.qty, led.cost, led.realized_pnl, led.fees_paid) == before
    assert led.orders["b0"].status is OrderStatus.FILLED and not isinstance(led.orders._d["b0"], str)
    round_trip(led, 3)
    round_trip(led, 4)
    assert isinstance(led.orders._d["b0"], str)  # packed again with the next finished trade


def test_a_record_that_cannot_be_packed_is_kept_as_it_is() -> None:
    led = Ledger("TRUMPUSDC", "TRUMP", "USDC", D("0.001"))
    led.add_order(OrderRecord("b0", Side.BUY, D("40.00"), D("0.25"), 0, reason="odd\x1freason"))
    led.apply_update(update("b0", "FILLED", "0.25", "10.00", last="0.25", trade_id=1))
    led.add_order(OrderRecord("s0", Side.SELL, D("41.00"), D("0.25"), 0))
    led.apply_update(update("s0", "FILLED", "0.25", "10.25", last="0.25", trade_id=2))
    led.close_trade(1)
    round_trip(led, 1)
    round_trip(led, 2)
    assert isinstance(led.orders._d["b0"], OrderRecord) and isinstance(led.orders._d["s0"], str)
    assert led.orders["b0"].reason == "odd\x1freason"
