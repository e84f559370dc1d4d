"""The advice cache and the single-flight table: pay for one model call per market situation.

A situation is coarse on purpose (state, mid in buckets of ~20 bps, book
imbalance and volatility bands, position held or not): two snapshots a few
ticks apart ask the same question. The TTL runs on the market clock
(`request.ts_ms`), so a replay hits and misses exactly as it did the first
time. A hit is still re-checked against the new request (`rules.recheck`)
before it is served; that check is the actor's, not this module's.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from actors.messages import Advice, AdviceRequest, AdviceSource

CacheKey = tuple[str, str, int, int, int, int, bool]

BUCKET_BPS = Decimal(20)  # mid bucket width, rounded to whole ticks (at least one)
_IMBALANCE_EDGE = Decimal(1) / 3
_IMBALANCE_LOW = -_IMBALANCE_EDGE
_VOL_EDGES = (Decimal("0.0005"), Decimal("0.002"), Decimal("0.005"))
_VOL_LOW, _VOL_MID, _VOL_HIGH = _VOL_EDGES


def _floor(x: Decimal) -> int:
    """int(floor(x)); int() alone where that is the same (x not negative: it truncates), as on every bar.

    A NaN or an infinity raises what it raised through `to_integral_value` (ValueError, OverflowError).
    """
    return int(x) if not x.is_signed() else int(x.to_integral_value(rounding=ROUND_FLOOR))


def cache_key(request: AdviceRequest) -> CacheKey:
    """The market situation of `request`, coarse enough that nearby snapshots share it."""
    snap, tick = request.snapshot, request.filters.tick_size
    mid = snap.mid if snap.mid.is_finite() and snap.mid > 0 else Decimal(0)
    width = max(_floor(mid * BUCKET_BPS / 10000 / tick), 1)
    bucket = _floor(mid / (tick * width))
    imbalance = -1 if snap.imbalance < _IMBALANCE_LOW else (1 if snap.imbalance > _IMBALANCE_EDGE else 0)
    v = snap.volatility
    if v is None or not v.is_finite():
        vol = -1
    else:  # the number of edges at or under it (0..3), without a generator: this runs on every bar
        vol = (v >= _VOL_LOW) + (v >= _VOL_MID) + (v >= _VOL_HIGH)
    # `_value_` is `.value` without the enum property's lookup (a third of a µs, on every bar)
    return (request.symbol, request.state._value_, width, bucket, imbalance, vol, request.position_qty > 0)


class AdviceCache:
    """Bounded LRU of advice, each entry alive for `ttl_ms` of market time from when it was asked."""

    def __init__(self, size: int, ttl_ms: int) -> None:
        self._size = max(size, 1)
        self._ttl_ms = ttl_ms
        self._entries: OrderedDict[CacheKey, tuple[int, Advice]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: CacheKey, now_ms: int) -> Advice | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_ms, advice = entry
        if not stored_ms <= now_ms < stored_ms + self._ttl_ms:  # expired, or the clock went back
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return advice

    def put(self, key: CacheKey, advice: Advice, asked_ms: int) -> None:
        if self._ttl_ms <= 0:
            return
        self._entries[key] = (asked_ms, advice)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def discard(self, key: CacheKey) -> None:
        self._entries.pop(key, None)


@dataclass(slots=True)
class Flight:
    """One model call in flight and the tickets (requests) waiting on it; the first is the leader."""

    flight_id: int
    key: CacheKey
    leader: AdviceRequest
    tickets: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Waiter:
    """A requester waiting on a flight (a model call in progress), until its deadline."""

    request: AdviceRequest
    flight_id: int


class Flights:
    """Single flight: identical keys share the call already in flight; each requester waits on one by ticket."""

    def __init__(self) -> None:
        self._by_id: dict[int, Flight] = {}
        self._by_key: dict[CacheKey, int] = {}
        self._waiting: dict[int, Waiter] = {}
        self._next_id = 0
        self._next_ticket = 0

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def for_key(self, key: CacheKey) -> Flight | None:
        flight_id = self._by_key.get(key)
        return self._by_id.get(flight_id) if flight_id is not None else None

    def start(self, key: CacheKey, leader: AdviceRequest) -> Flight:
        """A new call for `key`; its leader then waits on it first (`wait`)."""
        self._next_id += 1
        flight = Flight(self._next_id, key, leader)
        self._by_id[flight.flight_id] = flight
        self._by_key[key] = flight.flight_id
        return flight

    def wait(self, req: AdviceRequest, flight: Flight) -> int:
        """`req` waits on `flight` until it is answered or its deadline passes: the ticket its timer names."""
        self._next_ticket += 1
        ticket = self._next_ticket
        flight.tickets.append(ticket)
        self._waiting[ticket] = Waiter(req, flight.flight_id)
        return ticket

    def take(self, flight: Flight) -> list[Waiter]:
        """The flight's requesters still waiting, in ticket order; each is answered once, by the caller."""
        return [self._waiting.pop(t) for t in flight.tickets if t in self._waiting]

    def expire(self, ticket: int) -> Waiter | None:
        """The deadline of `ticket` passed: its requester, unless it was answered already."""
        waiter = self._waiting.pop(ticket, None)
        if waiter is None:
            return None
        flight = self._by_id.get(waiter.flight_id)
        if flight is not None and ticket in flight.tickets:
            flight.tickets.remove(ticket)
        return waiter

    def drain(self) -> list[Waiter]:
        """Every requester still waiting, taken at once (the consultant is going)."""
        waiting, self._waiting = list(self._waiting.values()), {}
        return waiting

    def get(self, flight_id: int) -> Flight | None:
        return self._by_id.get(flight_id)

    def finish(self, flight_id: int) -> Flight | None:
        """Remove the flight; the caller answers whichever of its tickets are still waiting."""
        flight = self._by_id.pop(flight_id, None)
        if flight is not None and self._by_key.get(flight.key) == flight_id:
            del self._by_key[flight.key]
        return flight

    def all(self) -> list[Flight]:
        return list(self._by_id.values())


def readdressed(cached: Advice, req: AdviceRequest) -> Advice:
    """A cached advice re-addressed to `req`; it stays valid only as long as the entry does."""
    return Advice(
        request_id=req.request_id,
        action=cached.action,
        base_price=cached.base_price,
        price_range=cached.price_range,
        confidence=cached.confidence,
        reasoning=cached.reasoning,
        source=AdviceSource.CACHE,
        ts_ms=req.ts_ms,
        valid_until_ms=cached.valid_until_ms,
        model=cached.model,
        rejected_reason=cached.rejected_reason,
    )
