"""The local order book and Binance's diff-depth synchronisation, without threads."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.market_data.book import Action, BookError, BookSync, DepthDiff, OrderBook, SyncState, parse_levels

D = Decimal


def lv(*pairs: tuple[str, str]) -> list[tuple[Decimal, Decimal]]:
    return [(D(p), D(q)) for p, q in pairs]


def diff(first: int, final: int, bids=(), asks=()) -> DepthDiff:
    return DepthDiff(first_id=first, final_id=final, event_ms=0, bids=tuple(lv(*bids)), asks=tuple(lv(*asks)))


# -- OrderBook --------------------------------------------------------------------------------------


def test_levels_are_set_and_removed_and_the_best_prices_follow() -> None:
    book = OrderBook.from_levels(lv(("10.00", "5"), ("9.99", "7")), lv(("10.01", "4"), ("10.02", "6")))
    assert book.best_bid == (D("10.00"), D("5")) and book.best_ask == (D("10.01"), D("4"))
    book.apply(lv(("10.00", "0"), ("9.98", "1")), lv(("10.01", "0")))
    assert book.best_bid == (D("9.99"), D("7")) and book.best_ask == (D("10.02"), D("6"))
    book.apply(lv(("10.005", "2")), [])
    assert book.best_bid == (D("10.005"), D("2"))
    book.apply(lv(("9.5", "0")), [])  # removing an unknown level is harmless
    assert len(book) == 4
    assert book.top(2) == ([(D("10.005"), D("2")), (D("9.99"), D("7"))], [(D("10.02"), D("6"))])


def test_imbalance_and_microprice() -> None:
    book = OrderBook.from_levels(lv(("10.00", "3"), ("9.99", "1")), lv(("10.02", "1"), ("10.03", "1")))
    assert book.imbalance(1) == pytest.approx(0.5)  # 3 vs 1
    assert book.imbalance(2) == pytest.approx(2 / 6)
    # the microprice leans towards the thin side (the ask here)
    assert book.microprice() == (D("10.00") * 1 + D("10.02") * 3) / 4
    assert OrderBook().imbalance(5) == 0.0 and OrderBook().microprice() is None


def test_crossed_books_and_negative_sizes_are_refused() -> None:
    with pytest.raises(BookError):
        OrderBook.from_levels(lv(("10.01", "1")), lv(("10.01", "1")))
    book = OrderBook.from_levels(lv(("10.00", "1")), lv(("10.01", "1")))
    with pytest.raises(BookError):
        book.apply(lv(("10.02", "1")), [])
    with pytest.raises(BookError):
        parse_levels([["10.00", "-1"]])
    with pytest.raises(BookError):
        parse_levels([["abc", "1"]])
    with pytest.raises(BookError):
        parse_levels([["10.00"]])
    with pytest.raises(BookError):
        parse_levels([["0", "1"]])
    assert parse_levels([["10.00", "0"]]) == [(D("10.00"), D(0))]


# -- BookSync: the official procedure ---------------------------------------------------------------------


def test_diffs_are_buffered_until_the_snapshot_and_old_ones_dropped() -> None:
    sync = BookSync()
    assert sync.on_diff(diff(101, 103, bids=[("10.00", "1")])) is Action.FETCH_SNAPSHOT
    assert sync.on_diff(diff(104, 104, asks=[("10.05", "2")])) is Action.NONE  # one fetch at a time
    assert sync.on_diff(diff(105, 107, bids=[("9.90", "4")])) is Action.NONE
    assert sync.state is SyncState.BUFFERING
    # the snapshot already holds up to 104: 101-103 and 104 are dropped, 105-107 applied
    action = sync.on_snapshot(104, lv(("10.00", "1"), ("9.95", "1")), lv(("10.05", "2")))
    assert action is Action.APPLIED and sync.synced and sync.book_id == 107
    assert sync.book is not None and sync.book.bids == {D("10.00"): D(1), D("9.95"): D(1), D("9.90"): D(4)}
    # the next one follows on; an old one is ignored
    assert sync.on_diff(diff(108, 108, asks=[("10.04", "1")])) is Action.APPLIED
    assert sync.on_diff(diff(100, 106, asks=[("10.03", "1")])) is Action.NONE
    assert sync.book.best_ask == (D("10.04"), D(1))


def test_a_snapshot_older_than_the_first_buffered_event_is_fetched_again() -> None:
    sync = BookSync()
    sync.on_diff(diff(200, 201))
    assert sync.on_snapshot(150, lv(("10", "1")), lv(("11", "1"))) is Action.FETCH_SNAPSHOT
    assert not sync.synced
    assert sync.on_snapshot(199, lv(("10", "1")), lv(("11", "1"))) is Action.APPLIED  # 199 + 1 == U: contiguous
    assert sync.book_id == 201


def test_a_gap_discards_the_book_and_starts_again() -> None:
    sync = BookSync()
    sync.on_diff(diff(11, 11))
    sync.on_snapshot(10, lv(("10", "1")), lv(("11", "1")))
    assert sync.synced
    assert sync.on_diff(diff(14, 15, bids=[("10", "3")])) is Action.FETCH_SNAPSHOT  # 12-13 missing
    assert sync.gaps == 1 and not sync.synced and sync.book is None
    assert sync.on_snapshot(15, lv(("10", "3")), lv(("11", "1"))) is Action.APPLIED
    assert sync.book_id == 15 and sync.resyncs == 2


def test_a_snapshot_that_leaves_a_hole_before_the_buffer_restarts() -> None:
    sync = BookSync()
    sync.on_diff(diff(50, 52))
    sync.on_diff(diff(60, 61))  # 53-59 were lost while buffering
    assert sync.on_snapshot(53, lv(("10", "1")), lv(("11", "1"))) is Action.FETCH_SNAPSHOT
    assert sync.gaps == 1 and not sync.synced


def test_a_crossed_snapshot_or_diff_forces_a_rebuild() -> None:
    sync = BookSync()
    sync.on_diff(diff(5, 5))
    assert sync.on_snapshot(5, lv(("11", "1")), lv(("10", "1"))) is Action.FETCH_SNAPSHOT
    assert sync.rejected == 1
    assert sync.on_snapshot(5, lv(("10", "1")), lv(("11", "1"))) is Action.APPLIED
    assert sync.on_diff(diff(6, 6, bids=[("12", "1")])) is Action.FETCH_SNAPSHOT
    assert sync.rejected == 2 and not sync.synced


def test_reset_forgets_a_connection() -> None:
    sync = BookSync()
    sync.on_diff(diff(5, 5))
    sync.reset()
    assert sync.state is SyncState.IDLE and not sync.buffer
    assert sync.on_snapshot(5, [], []) is Action.NONE  # a late answer for the old connection
    assert sync.on_diff(diff(9, 9)) is Action.FETCH_SNAPSHOT


class Exchange:
    """The reference: the exchange's own book, and the diffs it publishes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.bids = {D("10.00") - D("0.01") * i: D(rng.randint(1, 9)) for i in range(10)}
        self.asks = {D("10.01") + D("0.01") * i: D(rng.randint(1, 9)) for i in range(10)}
        self.uid = 1000

    def step(self) -> DepthDiff:
        first = self.uid + 1
        self.uid += self.rng.randint(1, 3)
        bids, asks = [], []
        for _ in range(self.rng.randint(1, 4)):
            if self.rng.random() < 0.5:
                p = D("10.00") - D("0.01") * self.rng.randint(0, 14)
                q = D(0) if self.rng.random() < 0.3 else D(self.rng.randint(1, 9))
                bids.append((p, q))
            else:
                p = D("10.01") + D("0.01") * self.rng.randint(0, 14)
                q = D(0) if self.rng.random() < 0.3 else D(self.rng.randint(1, 9))
                asks.append((p, q))
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for p, q in levels:
                if q:
                    side[p] = q
                else:
                    side.pop(p, None)
        return DepthDiff(first_id=first, final_id=self.uid, event_ms=0, bids=tuple(bids), asks=tuple(asks))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), lost=st.sets(st.integers(5, 60), max_size=4), delay=st.integers(0, 6))
def test_the_book_matches_the_exchange_after_gaps_and_rebuilds(seed: int, lost: set[int], delay: int) -> None:
    rng = random.Random(seed)
    ex = Exchange(rng)
    sync = BookSync()
    fetch_at: int | None = None
    for n in range(80):
        d = ex.step()
        if n not in lost:
            if sync.on_diff(d) is Action.FETCH_SNAPSHOT:
                fetch_at = n + delay  # the REST answer comes a few events later
        if fetch_at is not None and n >= fetch_at:
            fetch_at = None
            if sync.on_snapshot(ex.uid, list(ex.bids.items()), list(ex.asks.items())) is Action.FETCH_SNAPSHOT:
                fetch_at = n + 1
    # drain: a few more events and any pending snapshot
    for _ in range(3):
        if fetch_at is not None:
            fetch_at = None
            if sync.on_snapshot(ex.uid, list(ex.bids.items()), list(ex.asks.items())) is Action.FETCH_SNAPSHOT:
                fetch_at = 0
        if sync.on_diff(ex.step()) is Action.FETCH_SNAPSHOT:
            fetch_at = 0
    if fetch_at is not None:
        sync.on_snapshot(ex.uid, list(ex.bids.items()), list(ex.asks.items()))
    assert sync.synced
    assert sync.book is not None
    assert sync.book.bids == ex.bids and sync.book.asks == ex.asks
    assert sync.book_id == ex.uid
    assert sync.resyncs == 1 + sync.gaps + sync.rejected or sync.gaps >= 1
