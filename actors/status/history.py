"""What the dashboard's charts draw: price and equity over time, bounded, kept by the server.

The keeper samples its equity curve once a market minute, too coarse for a
live price chart, so the server keeps its own samples, one per new market
snapshot it sees. The buffer stays bounded the way the keeper's curve does:
when full, every other point goes, so it always spans the whole session at a
coarser grain. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from actors.messages import EquityPoint, StatusSnapshot

MAX_POINTS = 720


@dataclass(frozen=True, slots=True)
class Sample:
    ts_ms: int  # market time
    mid: Decimal
    pnl: Decimal  # equity less capital: realised + unrealised


class History:
    def __init__(self, max_points: int = MAX_POINTS) -> None:
        if max_points < 4:
            raise ValueError("max_points must be >= 4")
        self.max_points = max_points
        self.samples: list[Sample] = []
        self._last_seq: int | None = None
        self._every = 1  # keep one new sample in `_every` after thinning
        self._skipped = 0

    def seed(self, curve: Iterable[EquityPoint]) -> None:
        """Start from the keeper's own curve (a restarted run's history), before any live sample."""
        if self.samples:
            return
        for p in curve:
            self._append(Sample(p.ts_ms, p.mid, p.equity))

    def observe(self, st: StatusSnapshot) -> bool:
        """Add the status's snapshot if it is new; True if a sample was added."""
        snap = st.last_snapshot
        if snap is None or snap.seq == self._last_seq:
            return False
        self._last_seq = snap.seq
        if self.samples and snap.ts_data_ms < self.samples[-1].ts_ms:
            return False  # never draw backwards
        self._skipped += 1
        if self._skipped < self._every:
            return False
        self._skipped = 0
        pnl = st.risk.equity - st.risk.capital if st.risk is not None else st.realized_pnl
        self._append(Sample(snap.ts_data_ms, snap.mid, pnl))
        return True

    def _append(self, s: Sample) -> None:
        self.samples.append(s)
        if len(self.samples) > self.max_points:
            self.samples = self.samples[::2]
            self._every *= 2
