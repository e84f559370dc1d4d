"""The cutter passes over cuts nobody wants: `Wanted` must say exactly what the subscribers' wakes say."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.market_data import wake as wake_mod
from actors.market_data.cutter import Chunk, SnapshotCutter
from actors.market_data.features import Features
from actors.market_data.lockstep_delivery import LockstepDelivery
from actors.market_data.snapshot_builder import SnapshotBuilder
from actors.market_data.subscribers import Subscribers
from actors.market_data.wake import Wanted
from actors.messages import FeedFinished, MarketSnapshot, TradeTick, WakeWhen
from tests._support.helpers import snap

PRICES = st.integers(min_value=990, max_value=1010).map(lambda c: D(c) / 100)  # 9.90 .. 10.10
MAYBE = st.none() | PRICES


@st.composite
def wakes(draw: Any) -> WakeWhen:
    band = draw(st.none() | st.tuples(PRICES, PRICES).map(lambda b: (min(b), max(b))))
    at = draw(st.none() | st.integers(min_value=0, max_value=10_000))
    return WakeWhen(at_ms=at, mid_outside=band, bid_below=draw(MAYBE), buy_fills_at=draw(MAYBE),
                    sell_fills_at=draw(MAYBE))


def test_wanted_knows_every_condition_of_wake_when() -> None:
    # a new WakeWhen condition must be taught to actors/market_data/wake.py (until then nothing is passed over)
    assert wake_mod.COMPLETE


def test_no_union_when_someone_wants_everything() -> None:
    assert Wanted.of([WakeWhen(), None]) is None and Wanted.of([]) is None
    assert Wanted.of([WakeWhen(), WakeWhen(at_ms=5)]) is not None


@settings(max_examples=400, deadline=None)
@given(st.lists(wakes(), min_size=1, max_size=3), st.integers(min_value=0, max_value=10_000), PRICES,
       st.integers(min_value=1, max_value=3), st.lists(PRICES, max_size=4))
def test_the_union_is_met_exactly_when_some_wake_is(ws: list[WakeWhen], ts: int, bid: D, ticks: int,
                                                   trade_prices: list[D]) -> None:
    ask = bid + ticks * D("0.01")
    trades = tuple(TradeTick(trade_id=i, price=p, qty=D(1), ts_ms=ts, buyer_is_maker=False)
                   for i, p in enumerate(trade_prices))
    s = snap(1, bid=str(bid), ask=str(ask), ts_ms=ts, trades=trades)
    union = Wanted.of(ws)
    assert union is not None
    low = min(trade_prices) if trade_prices else None
    high = max(trade_prices) if trade_prices else None
    assert union.met(ts, s.bid, s.ask, s.mid, low, high) == any(w.met_by(s) for w in ws)


# -- the whole delivery, with and without passing over ----------------------------------------------


class Ref:
    """A subscriber that answers each snapshot with a wake made from it (deterministic per seed)."""

    def __init__(self, urn: str, seed: int) -> None:
        self.actor_urn = urn
        self.rng = random.Random(seed)
        self.got: list[Any] = []

    def tell(self, message: Any) -> None:
        self.got.append(message)

    def wake(self, s: MarketSnapshot) -> WakeWhen | None:
        r = self.rng.random()
        if r < 0.05:
            return None
        if r < 0.3:
            return WakeWhen(at_ms=s.ts_snapshot_ms + self.rng.randint(1_000, 60_000))
        if r < 0.6:
            half = D(self.rng.randint(1, 4)) / 100
            return WakeWhen(at_ms=s.ts_snapshot_ms + 600_000, mid_outside=(s.mid - half, s.mid + half))
        if r < 0.8:
            return WakeWhen(buy_fills_at=s.bid - D("0.02"), sell_fills_at=s.ask + D("0.03"))
        return WakeWhen(bid_below=s.bid - D("0.01"))


def trades(n: int, seed: int) -> list[TradeTick]:
    rng = random.Random(seed)
    out, ts, c = [], 0, 1000
    for i in range(n):
        ts += rng.choice((20, 150, 400, 1500, 7000))
        c += rng.choice((-1, 0, 0, 0, 1))
        out.append(TradeTick(trade_id=i, price=D(c) / 100, qty=D(rng.randint(1, 9)), ts_ms=ts,
                             buyer_is_maker=rng.random() < 0.5))
    return out


def deliver(tt: list[TradeTick], seed: int, pass_over: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    with monkeypatch.context() as m:
        if not pass_over:
            m.setattr(Wanted, "of", classmethod(lambda cls, wakes, samplers=(): None))
        chunks: Iterator[Chunk] = iter([(None, tt[i : i + 50]) for i in range(0, len(tt), 50)])
        builder = SnapshotBuilder("TRUMPUSDC", D("0.01"), D("0.001"), Features(60, 3))
        subs = Subscribers()
        refs = (Ref("a", seed), Ref("b", seed + 1))
        for r in refs:
            subs.add(r)
        d = LockstepDelivery(subs, symbol="TRUMPUSDC", source="replay")
        d.start(SnapshotCutter(chunks, builder, interval_ms=1000, significant_move_bps=D(10)))
        while not d.finished:
            ref = next(r for r in refs if subs.get(r.actor_urn).pending_ack is not None)  # type: ignore[union-attr]
            s = ref.got[-1]
            d.on_ack(s.seq, ref.actor_urn, ref.wake(s), sent_events=s.seq % 97 == 0)
    return tuple(r.got for r in refs), d.skipped, d.snapshots, d.seq, d.ts_data


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_passing_over_unwanted_cuts_delivers_the_same_snapshots(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    tt = trades(3000, seed)
    fast = deliver(tt, seed, True, monkeypatch)
    slow = deliver(tt, seed, False, monkeypatch)
    assert fast == slow
    got_a = fast[0][0]
    assert isinstance(got_a[-1], FeedFinished) and got_a[-1].last is not None
    assert got_a[-1].last.seq == fast[2]  # the last cut, even when nobody wanted it
    assert 0 < len(got_a) < fast[2] // 2  # most cuts were passed over
