"""The local order book and Binance's diff-depth synchronisation procedure.

Pure logic, no threads and no I/O: the market data actor feeds it parsed
stream events and REST snapshots and acts on what it answers.

The procedure (reference/binance.md, section 7):

1. buffer diff events from the stream, noting the first `U`;
2. fetch a REST snapshot (`GET /api/v3/depth`);
3. if the snapshot's `lastUpdateId` is below that first `U`, fetch again;
4. drop buffered events with `u <= lastUpdateId`; the first one left must
   satisfy `U <= lastUpdateId + 1 <= u`;
5. the book is the snapshot, its id `lastUpdateId`;
6. per event: `u <= book id` is ignored; `U > book id + 1` means events were
   missed: discard the book and start again; else apply (qty 0 removes the
   level) and set the book id to `u`.

A crossed book or a negative size is refused: the snapshot is fetched again
or, for a diff, the book is discarded and rebuilt.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

ZERO = Decimal(0)

Level = tuple[Decimal, Decimal]


class BookError(ValueError):
    """A book update that cannot be applied (crossed, negative, malformed)."""


def parse_levels(raw: Iterable[Sequence[str]]) -> list[Level]:
    """`[["10.01", "5.2"], ...]` as Binance sends them → Decimal pairs; raises BookError."""
    out: list[Level] = []
    try:
        for px, qty in raw:
            p, q = Decimal(px), Decimal(qty)
            if not (p.is_finite() and q.is_finite()):
                raise BookError(f"non-finite level {px!r} {qty!r}")
            if p <= 0:
                raise BookError(f"non-positive price {px!r}")
            if q < 0:
                raise BookError(f"negative size {qty!r} at {px}")
            out.append((p, q))
    except BookError:
        raise
    except Exception as exc:  # noqa: BLE001 - wrong shape, not a number: whatever it was, one clear BookError
        raise BookError(f"malformed levels: {exc!r}") from None
    return out


class OrderBook:
    """Price → quantity on each side, with the best prices cached."""

    __slots__ = ("_best_ask", "_best_bid", "asks", "bids")

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self._best_bid: Decimal | None = None
        self._best_ask: Decimal | None = None

    # -- building -------------------------------------------------------------

    @classmethod
    def from_levels(cls, bids: Iterable[Level], asks: Iterable[Level]) -> OrderBook:
        """A book from snapshot levels; zero sizes are left out. Raises BookError if crossed."""
        book = cls()
        for p, q in bids:
            if q < 0:
                raise BookError(f"negative bid size at {p}")
            if q > 0:
                book.bids[p] = q
        for p, q in asks:
            if q < 0:
                raise BookError(f"negative ask size at {p}")
            if q > 0:
                book.asks[p] = q
        book._best_bid = max(book.bids) if book.bids else None
        book._best_ask = min(book.asks) if book.asks else None
        book.check()
        return book

    def apply(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Set each level to its new size (0 removes it). Raises BookError if the result is crossed.

        Sizes must already be validated (non-negative); `parse_levels` does that.
        """
        side = self.bids
        best = self._best_bid
        lost = False  # the best level went: find the new one after the batch
        for p, q in bids:
            if q:
                side[p] = q
                if best is None or p > best:
                    best = p
            elif side.pop(p, None) is not None and p == best:
                lost = True
        if lost:
            best = max(side) if side else None
        self._best_bid = best
        side = self.asks
        best = self._best_ask
        lost = False
        for p, q in asks:
            if q:
                side[p] = q
                if best is None or p < best:
                    best = p
            elif side.pop(p, None) is not None and p == best:
                lost = True
        if lost:
            best = min(side) if side else None
        self._best_ask = best
        self.check()

    def check(self) -> None:
        if self._best_bid is not None and self._best_ask is not None and self._best_bid >= self._best_ask:
            raise BookError(f"crossed book: bid {self._best_bid} >= ask {self._best_ask}")

    # -- reading --------------------------------------------------------------

    @property
    def best_bid(self) -> Level | None:
        p = self._best_bid
        return None if p is None else (p, self.bids[p])

    @property
    def best_ask(self) -> Level | None:
        p = self._best_ask
        return None if p is None else (p, self.asks[p])

    def top(self, n: int) -> tuple[list[Level], list[Level]]:
        """The best `n` levels of each side, best first."""
        bids = [(p, self.bids[p]) for p in heapq.nlargest(n, self.bids)]
        asks = [(p, self.asks[p]) for p in heapq.nsmallest(n, self.asks)]
        return bids, asks

    def imbalance(self, n: int) -> float:
        """(bid size - ask size) / total over the best `n` levels, in [-1, 1]; 0 for an empty book."""
        bids, asks = self.top(n)
        b = sum((q for _, q in bids), ZERO)
        a = sum((q for _, q in asks), ZERO)
        total = b + a
        return float((b - a) / total) if total else 0.0

    def microprice(self) -> Decimal | None:
        """Size-weighted mid: leans towards the side with less size (the likelier next move)."""
        bb, ba = self.best_bid, self.best_ask
        if bb is None or ba is None:
            return None
        return microprice(bb[0], bb[1], ba[0], ba[1])

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks)


def microprice(bid: Decimal, bid_qty: Decimal, ask: Decimal, ask_qty: Decimal) -> Decimal:
    total = bid_qty + ask_qty
    if total <= 0:
        return (bid + ask) / 2
    return (bid * ask_qty + ask * bid_qty) / total


# -- the synchronisation procedure --------------------------------------------------


@dataclass(frozen=True, slots=True)
class DepthDiff:
    """One `depthUpdate` event, levels already parsed."""

    first_id: int  # U
    final_id: int  # u
    event_ms: int  # E
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class SyncState(str, Enum):
    IDLE = "idle"  # nothing buffered, no snapshot asked for
    BUFFERING = "buffering"  # diffs buffered, a REST snapshot is wanted
    SYNCED = "synced"


class Action(str, Enum):
    NONE = "none"
    FETCH_SNAPSHOT = "fetch_snapshot"  # ask REST for a (new) snapshot
    APPLIED = "applied"  # the book changed


class BookSync:
    """Keeps `book` equal to the exchange's by the official procedure.

    `on_diff` and `on_snapshot` answer what the caller must do next. Counters:
    `gaps` (missed events detected), `resyncs` (snapshots taken into use),
    `rejected` (crossed or bad updates that forced a rebuild).
    """

    def __init__(self, max_buffer: int = 10_000) -> None:
        self.max_buffer = max_buffer
        self.state = SyncState.IDLE
        self.book: OrderBook | None = None
        self.book_id = 0
        self.buffer: list[DepthDiff] = []
        self.snapshot_wanted = False  # a fetch is in flight or must be made
        self.gaps = 0
        self.resyncs = 0
        self.rejected = 0

    @property
    def synced(self) -> bool:
        return self.state is SyncState.SYNCED

    def reset(self) -> None:
        """Forget everything (a new connection): the next diff starts a new sync."""
        self.state = SyncState.IDLE
        self.book = None
        self.book_id = 0
        self.buffer.clear()
        self.snapshot_wanted = False

    def _restart(self, diff: DepthDiff | None) -> Action:
        self.book = None
        self.book_id = 0
        self.buffer.clear()
        if diff is not None:
            self.buffer.append(diff)
        self.state = SyncState.BUFFERING
        if self.snapshot_wanted:
            return Action.NONE  # the one in flight will do (it is checked against the buffer)
        self.snapshot_wanted = True
        return Action.FETCH_SNAPSHOT

    def on_diff(self, diff: DepthDiff) -> Action:
        if self.state is SyncState.SYNCED:
            assert self.book is not None
            if diff.final_id <= self.book_id:
                return Action.NONE  # old news
            if diff.first_id > self.book_id + 1:
                self.gaps += 1
                return self._restart(diff)
            try:
                self.book.apply(diff.bids, diff.asks)
            except BookError:
                self.rejected += 1
                return self._restart(None)
            self.book_id = diff.final_id
            return Action.APPLIED
        # idle or buffering
        if len(self.buffer) >= self.max_buffer:
            self.buffer.clear()  # the snapshot never came; keep memory bounded
        self.buffer.append(diff)
        if self.state is SyncState.IDLE:
            self.state = SyncState.BUFFERING
        if not self.snapshot_wanted:
            self.snapshot_wanted = True
            return Action.FETCH_SNAPSHOT
        return Action.NONE

    def on_snapshot_failed(self) -> Action:
        """The REST call failed: the caller retries (after a pause) if a book is still wanted."""
        self.snapshot_wanted = False
        if self.state is SyncState.BUFFERING:
            self.snapshot_wanted = True
            return Action.FETCH_SNAPSHOT
        return Action.NONE

    def on_snapshot(self, last_update_id: int, bids: Sequence[Level], asks: Sequence[Level]) -> Action:
        self.snapshot_wanted = False
        if self.state is not SyncState.BUFFERING:
            return Action.NONE  # idle (a new connection) or already synced: not wanted
        if self.buffer and last_update_id + 1 < self.buffer[0].first_id:
            # (3) the snapshot is older than the first event we hold: fetch again.
            # (`lastUpdateId + 1 == U` is contiguous and accepted; the official text
            # refetches then too, which can loop while the market is quiet.)
            self.snapshot_wanted = True
            return Action.FETCH_SNAPSHOT
        try:
            book = OrderBook.from_levels(bids, asks)
        except BookError:
            self.rejected += 1
            self.snapshot_wanted = True
            return Action.FETCH_SNAPSHOT
        # (4) drop what the snapshot already holds
        pending = [d for d in self.buffer if d.final_id > last_update_id]
        self.buffer.clear()
        book_id = last_update_id
        if pending:
            first = pending[0]
            if not first.first_id <= last_update_id + 1 <= first.final_id:
                # Events between the snapshot and the buffer are missing.
                self.gaps += 1
                return self._restart(None)
        for d in pending:
            if d.first_id > book_id + 1:
                self.gaps += 1
                return self._restart(d)
            try:
                book.apply(d.bids, d.asks)
            except BookError:
                self.rejected += 1
                return self._restart(None)
            book_id = d.final_id
        self.book = book
        self.book_id = book_id
        self.state = SyncState.SYNCED
        self.resyncs += 1
        return Action.APPLIED
