"""The replay reader's columns and the cutter's lazy snapshots: what is made later is what was read."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from actors.market_data.columns import TradeColumns
from actors.market_data.cutter import Chunk, SnapshotCutter
from actors.market_data.features import Features
from actors.market_data.lockstep_delivery import LockstepDelivery
from actors.market_data.replay import ReplaySource
from actors.market_data.snapshot_builder import SnapshotBuilder
from actors.market_data.subscribers import Subscribers
from actors.market_data.wake import Wanted
from actors.messages import FeedFinished, MarketSnapshot, TradeTick, WakeWhen
from tests.market_data.test_market_replay import T0_MS, agg_line, write


def test_the_reader_hands_out_columns_and_ticks_made_from_them_are_the_rows(tmp_path: Path) -> None:
    lines = [agg_line(1, "10.0", "1.50", T0_MS, True), agg_line(2, "10.00", "1.5", T0_MS + 5, False),
             agg_line(3, "10.0", "1.50", T0_MS + 9, True)]
    src = ReplaySource(write(tmp_path / "a.csv", lines))
    [(book, cols)] = list(src.chunks())
    assert book is None and isinstance(cols, TradeColumns) and len(cols) == 3
    ticks = cols.ticks(0, 3)
    assert ticks == [TradeTick(trade_id=1, price=D("10.0"), qty=D("1.50"), ts_ms=T0_MS, buyer_is_maker=True),
                     TradeTick(trade_id=2, price=D("10.00"), qty=D("1.5"), ts_ms=T0_MS + 5, buyer_is_maker=False),
                     TradeTick(trade_id=3, price=D("10.0"), qty=D("1.50"), ts_ms=T0_MS + 9, buyer_is_maker=True)]
    # each spelling keeps its own digits (equal values, different exponents), and is parsed once
    assert [str(t.price) for t in ticks] == ["10.0", "10.00", "10.0"] and ticks[0].price is ticks[2].price


def test_a_known_spelling_does_not_hide_a_bad_row_or_change_its_reason(tmp_path: Path) -> None:
    lines = [agg_line(1, "10.00", "1", T0_MS, True),
             agg_line(2, "10.00", "x", T0_MS + 1, True),  # known price, size not a number
             agg_line(3, "-1", "x", T0_MS + 2, True),  # out of range price, size not a number: not a number
             agg_line(4, "-1", "1", T0_MS + 3, True),  # known size, negative price
             agg_line(5, "10.00", "0", T0_MS + 4, True),  # known price, zero size
             agg_line(6, "10.00", "0", T0_MS + 5, True),  # and again: a bad value is never remembered as good
             agg_line(7, "10.00", "1", T0_MS + 6, False)]
    src = ReplaySource(write(tmp_path / "b.csv", lines))
    assert [t.trade_id for t in src] == [1, 7]
    assert src.bad_rows == {"not a number": 2, "negative, zero or out of range": 3}


def test_a_lazy_snapshot_makes_its_trades_once_and_builds_with_them(tmp_path: Path) -> None:
    lines = [agg_line(i, "10.01" if i % 2 else "10.00", "1", T0_MS + i * 300, bool(i % 2)) for i in range(1, 20)]
    builder = SnapshotBuilder("TRUMPUSDC", D("0.01"), D("0.001"), Features(300, 5))
    cutter = SnapshotCutter(ReplaySource(write(tmp_path / "c.csv", lines), chunk_size=4).chunks(), builder,
                            interval_ms=1000, significant_move_bps=D(20))
    seen: list[int] = []
    while (cut := cutter.next_cut(len(seen) + 1)) is not None:
        trades = cut.trades
        assert cut.trades is trades  # made once
        snap = cut.snapshot()
        assert snap.trades is trades and (snap.bid, snap.ask, snap.mid) == (cut.bid, cut.ask, cut.mid)
        seen += [t.trade_id for t in trades]
    assert seen == list(range(1, 20))  # across chunks of 4, each trade once, in order


def test_a_long_quiet_stretch_nobody_wants_is_walked_through_not_recursed_into(monkeypatch: pytest.MonkeyPatch) -> None:
    # 5000 one-second cuts in a row that neither subscriber wants; each is asked (no passing over)
    monkeypatch.setattr(Wanted, "of", classmethod(lambda cls, wakes, samplers=(): None))
    chunks: Iterator[Chunk] = iter([((i * 1000, D("10.00"), D(1), D("10.02"), D(1), None), [])
                                    for i in range(5000)])
    builder = SnapshotBuilder("TRUMPUSDC", D("0.01"), D("0.001"), Features(60, 0))

    class Ref:
        def __init__(self, urn: str) -> None:
            self.actor_urn, self.got = urn, []  # type: ignore[var-annotated]

        def tell(self, message: object) -> None:
            self.got.append(message)

    subs = Subscribers()
    a, b = Ref("a"), Ref("b")
    subs.add(a)
    subs.add(b)
    d = LockstepDelivery(subs, symbol="TRUMPUSDC", source="replay")
    d.start(SnapshotCutter(chunks, builder, interval_ms=1000, significant_move_bps=D(50)))
    d.on_ack(1, "a", WakeWhen())
    d.on_ack(1, "b", WakeWhen())
    assert d.finished and d.snapshots == 5000 and d.skipped == 2 * 4999
    done = a.got[-1]
    assert isinstance(a.got[0], MarketSnapshot) and isinstance(done, FeedFinished)
    assert done.last is not None and done.last.seq == 5000
