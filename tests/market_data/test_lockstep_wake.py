"""Lockstep subscribers may skip snapshots they cannot act on: what wakes them, and what forces delivery."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pykka

from actors.market_data.actor import MarketDataActor
from actors.messages import FeedFinished, MarketSnapshot, SnapshotProcessed, StartFeed, Subscribe, TradeTick, WakeWhen
from actors.settings import ExchangeSettings, MarketSettings, Settings
from tests._support.data import write_agg_trades
from tests._support.helpers import snap
from tests._support.probes import ProbeHandle


def tick(price: str, ts: int = 5_000) -> TradeTick:
    return TradeTick(trade_id=1, price=D(price), qty=D(1), ts_ms=ts, buyer_is_maker=False)


def test_wake_conditions() -> None:
    s = snap(5, bid="39.99", ask="40.01", trades=(tick("39.95"),))  # ts 5000
    assert not WakeWhen().met_by(s)  # no condition: only when forced
    assert WakeWhen(at_ms=5_000).met_by(s) and not WakeWhen(at_ms=5_001).met_by(s)
    assert WakeWhen(mid_outside=(D("40.01"), D("41"))).met_by(s)
    assert not WakeWhen(mid_outside=(D("39.5"), D("40.5"))).met_by(s)
    assert WakeWhen(bid_below=D("40")).met_by(s) and not WakeWhen(bid_below=D("39.99")).met_by(s)
    assert WakeWhen(buy_fills_at=D("39.95")).met_by(s)  # a trade at the resting buy's price
    assert not WakeWhen(buy_fills_at=D("39.94")).met_by(s)
    assert WakeWhen(buy_fills_at=D("40.01")).met_by(snap(5))  # the ask reached it
    assert WakeWhen(sell_fills_at=D("39.99")).met_by(snap(5)) and not WakeWhen(sell_fills_at=D("40.02")).met_by(s)
    assert WakeWhen().met_by(replace(s, stale=True))  # stale data always goes through


class Sub:
    """A probe subscriber that acknowledges with a scripted wake condition and `sent_events` flag."""

    def __init__(self, market: pykka.ActorRef[Any], wake: WakeWhen | None, sent_at: set[int] | None = None) -> None:
        self.market, self.wake, self.sent_at = market, wake, sent_at or set()
        self.handle = ProbeHandle(self._respond)

    def _respond(self, msg: Any) -> None:
        if isinstance(msg, MarketSnapshot):
            self.market.tell(SnapshotProcessed(seq=msg.seq, subscriber_urn=self.handle.ref.actor_urn, wake=self.wake,
                                               sent_events=msg.seq in self.sent_at))

    def seqs(self) -> list[int]:
        return [m.seq for m in self.handle.all(MarketSnapshot)]


def run_feed(tmp_path: Path, first: WakeWhen | None, second: WakeWhen | None, sent_at: set[int]) -> tuple[Sub, Sub]:
    path = write_agg_trades(tmp_path / "agg.csv", 400, step_us=500_000)
    settings = Settings(market=replace(MarketSettings(), source="replay", replay_path=str(path)), exchange=ExchangeSettings())
    market = MarketDataActor.start(settings)
    a, b = Sub(market, first, sent_at), Sub(market, second)
    market.tell(Subscribe(subscriber=a.handle.ref))
    market.tell(Subscribe(subscriber=b.handle.ref))
    market.tell(StartFeed())
    a.handle.wait_for(FeedFinished, timeout=20)
    b.handle.wait_for(FeedFinished, timeout=20)
    return a, b


def test_sleeping_subscribers_are_skipped_and_woken(tmp_path: Path) -> None:
    a, b = run_feed(tmp_path, WakeWhen(), WakeWhen(), sent_at=set())
    # both got the first snapshot (no wake known yet), then nothing: they asked for nothing
    assert a.seqs() == [1] and b.seqs() == [1]


def test_everyone_before_a_wanting_subscriber_gets_the_snapshot(tmp_path: Path) -> None:
    a, b = run_feed(tmp_path, WakeWhen(), None, sent_at=set())
    assert b.seqs() == a.seqs() and len(b.seqs()) > 50  # b wants all, so a (before it) sees all too


def test_events_force_the_rest_of_this_snapshot_and_the_next(tmp_path: Path) -> None:
    a, b = run_feed(tmp_path, None, WakeWhen(), sent_at={10, 20})
    # b sleeps, but a told someone something on 10 and 20: b sees 10, 11, 20, 21 (and the first)
    assert b.seqs() == [1, 10, 11, 20, 21]
