"""The market's closed candles, resampled into closed bars of a strategy's timeframe.

The market data closes a candle when it knows it is complete: a kline file's
bar at its own close, a one-minute candle made from trades when the next
minute's first trade arrives, a warm start's candles as they are read. A bar of
the timeframe (aligned to UTC: a 1h bar is 10:00-10:59:59.999) closes with the
candle that ends its period, or, when candles are missing, with the first
candle of a later period. Nothing here ever sees a candle before it closed, so
nothing downstream can see one either.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from actors.messages import Candle
from actors.strategy.base import Bar

MINUTE_MS = 60_000
TIMEFRAMES: dict[str, int] = {
    "1m": MINUTE_MS, "3m": 3 * MINUTE_MS, "5m": 5 * MINUTE_MS, "15m": 15 * MINUTE_MS, "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS, "2h": 120 * MINUTE_MS, "4h": 240 * MINUTE_MS, "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS, "12h": 720 * MINUTE_MS, "1d": 1440 * MINUTE_MS,
}

__all__ = ["TIMEFRAMES", "BarBuilder", "CoarserData", "timeframe_ms"]


class CoarserData(ValueError):
    """The market's candles are longer than the strategy's bars: they cannot be cut finer."""


def timeframe_ms(timeframe: str | None) -> int | None:
    """"1h" -> 3,600,000; None -> None (the strategy decides on snapshots). ValueError names the choices."""
    if timeframe is None:
        return None
    if not isinstance(timeframe, str) or timeframe not in TIMEFRAMES:
        raise ValueError(f"timeframe {timeframe!r} is not one of {', '.join(TIMEFRAMES)} (or None)")
    return TIMEFRAMES[timeframe]


class BarBuilder:
    """Candles in, closed bars out (and the last `keep` of them kept, oldest first)."""

    __slots__ = ("_c", "_h", "_l", "_o", "_period", "_v", "bars", "count", "tf_ms")

    def __init__(self, tf_ms: int | None, keep: int) -> None:
        self.tf_ms = tf_ms
        self.bars: deque[Bar] = deque(maxlen=max(keep, 1))
        self.count = 0  # bars closed so far
        self._period = -1  # the open period's start (ms), -1: none open
        self._o = self._h = self._l = self._c = self._v = 0.0

    def add(self, candles: Sequence[Candle], interval_ms: int) -> list[Bar]:
        """Fold closed candles of `interval_ms` each; returns the bars they closed, in order."""
        tf = self.tf_ms
        out: list[Bar] = []
        if tf is None:  # the market's own candles are the bars
            for c in candles:
                out.append(Bar(c.open_ms, c.open_ms + interval_ms - 1, float(c.open), float(c.high), float(c.low),
                               float(c.close), float(c.volume)))
        else:
            if interval_ms > tf:
                raise CoarserData(f"the market's candles are {interval_ms // 1000} s long, longer than the "
                                  f"strategy's {tf // 1000} s bars")
            for c in candles:
                period = c.open_ms - c.open_ms % tf
                if self._period >= 0 and period != self._period:
                    out.append(self._close())  # candles missing at the end of the last period
                h, l = float(c.high), float(c.low)
                if self._period < 0:
                    self._period = period
                    self._o, self._h, self._l, self._v = float(c.open), h, l, 0.0
                else:
                    if h > self._h:
                        self._h = h
                    if l < self._l:
                        self._l = l
                self._c = float(c.close)
                self._v += float(c.volume)
                if c.open_ms + interval_ms >= period + tf:
                    out.append(self._close())
        self.bars.extend(out)
        self.count += len(out)
        return out

    def _close(self) -> Bar:
        tf = self.tf_ms
        assert tf is not None
        bar = Bar(self._period, self._period + tf - 1, self._o, self._h, self._l, self._c, self._v)
        self._period = -1
        return bar

    def next_close_ms(self, now_ms: int) -> int:
        """When the next bar closes: one timeframe after the last closed bar (or the period now open).
        Never at or before `now_ms`, so a hold is never stale when it is given: a bar due by now whose
        candles have not come yet (they come with the next snapshot) makes it `now_ms + 1`, ask again then."""
        tf = self.tf_ms
        assert tf is not None
        if self.bars:
            due = self.bars[-1].close_ms + tf
            return due if due > now_ms else now_ms + 1
        return (now_ms + 1) // tf * tf + tf - 1
