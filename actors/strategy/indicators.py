"""Incremental indicators for strategies: one value in, O(1) work, the current value out.

Written here rather than taken from a library: TA-Lib and pandas-ta compute
over whole arrays (every bar would recompute the past, and a vectorised call
is where look-ahead creeps in), and talipp, the maintained incremental one,
keeps every input and output in lists and builds an object per value, which
costs more than the strategy's own decision on every bar of a sweep. These are
the textbook definitions (Wilder's smoothing for RSI and ATR), checked against
a direct computation over the whole series in `tests/strategy/test_indicators.py`.

Each has `update(x)`, returning the new value or None while it warms up, and
`value` (the last one). Floats: indicators are not money.
"""

from __future__ import annotations

import math
from collections import deque

__all__ = ["ATR", "EMA", "RSI", "SMA", "Donchian", "StdDev"]


class EMA:
    """Exponential moving average, seeded with the SMA of its first `period` values (as TA-Lib does)."""

    __slots__ = ("_alpha", "_n", "_seed", "period", "value")

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError(f"EMA period must be at least 1, not {period}")
        self.period = period
        self._alpha = 2.0 / (period + 1)
        self._n = 0
        self._seed = 0.0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        if self.value is not None:
            self.value += self._alpha * (x - self.value)
            return self.value
        self._n += 1
        self._seed += x
        if self._n == self.period:
            self.value = self._seed / self.period
        return self.value


class SMA:
    """Simple moving average over the last `period` values."""

    __slots__ = ("_sum", "_window", "period", "value")

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError(f"SMA period must be at least 1, not {period}")
        self.period = period
        self._window: deque[float] = deque()
        self._sum = 0.0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        self._window.append(x)
        self._sum += x
        if len(self._window) > self.period:
            self._sum -= self._window.popleft()
        if len(self._window) == self.period:
            self.value = self._sum / self.period
        return self.value


class StdDev:
    """Population standard deviation over the last `period` values (Bollinger bands use it).

    Recomputed from the window (O(period)): running sums of squares lose the digits that matter when
    the deviation is small beside the price."""

    __slots__ = ("_window", "period", "value")

    def __init__(self, period: int) -> None:
        if period < 2:
            raise ValueError(f"StdDev period must be at least 2, not {period}")
        self.period = period
        self._window: deque[float] = deque(maxlen=period)
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        w = self._window
        w.append(x)
        if len(w) == self.period:
            mean = sum(w) / self.period
            self.value = math.sqrt(sum((v - mean) * (v - mean) for v in w) / self.period)
        return self.value


class RSI:
    """Wilder's relative strength index, 0..100: the first average is the mean of `period` changes."""

    __slots__ = ("_gain", "_loss", "_n", "_prev", "period", "value")

    def __init__(self, period: int = 14) -> None:
        if period < 1:
            raise ValueError(f"RSI period must be at least 1, not {period}")
        self.period = period
        self._prev: float | None = None
        self._gain = 0.0
        self._loss = 0.0
        self._n = 0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        prev, self._prev = self._prev, x
        if prev is None:
            return None
        change = x - prev
        gain, loss = (change, 0.0) if change > 0 else (0.0, -change)
        n = self.period
        if self._n < n:
            self._n += 1
            self._gain += gain
            self._loss += loss
            if self._n < n:
                return None
            self._gain /= n
            self._loss /= n
        else:
            self._gain = (self._gain * (n - 1) + gain) / n
            self._loss = (self._loss * (n - 1) + loss) / n
        self.value = 100.0 if self._loss == 0 else 100.0 - 100.0 / (1.0 + self._gain / self._loss)
        return self.value


class ATR:
    """Wilder's average true range: the mean of the first `period` true ranges, then smoothed."""

    __slots__ = ("_n", "_prev_close", "_sum", "period", "value")

    def __init__(self, period: int = 14) -> None:
        if period < 1:
            raise ValueError(f"ATR period must be at least 1, not {period}")
        self.period = period
        self._prev_close: float | None = None
        self._n = 0
        self._sum = 0.0
        self.value: float | None = None

    def update(self, high: float, low: float, close: float) -> float | None:
        pc, self._prev_close = self._prev_close, close
        tr = high - low if pc is None else max(high - low, abs(high - pc), abs(low - pc))
        n = self.period
        if self.value is None:
            self._n += 1
            self._sum += tr
            if self._n == n:
                self.value = self._sum / n
            return self.value
        self.value = (self.value * (n - 1) + tr) / n
        return self.value


class Donchian:
    """The highest high and lowest low of the last `period` bars (monotonic deques: O(1) per bar)."""

    __slots__ = ("_highs", "_i", "_lows", "lower", "period", "upper")

    def __init__(self, period: int = 20) -> None:
        if period < 1:
            raise ValueError(f"Donchian period must be at least 1, not {period}")
        self.period = period
        self._highs: deque[tuple[int, float]] = deque()  # (index, high), highs decreasing
        self._lows: deque[tuple[int, float]] = deque()  # (index, low), lows increasing
        self._i = -1
        self.upper: float | None = None
        self.lower: float | None = None

    def update(self, high: float, low: float) -> tuple[float, float] | None:
        self._i += 1
        i, highs, lows = self._i, self._highs, self._lows
        while highs and highs[-1][1] <= high:
            highs.pop()
        highs.append((i, high))
        while lows and lows[-1][1] >= low:
            lows.pop()
        lows.append((i, low))
        oldest = i - self.period + 1
        if highs[0][0] < oldest:
            highs.popleft()
        if lows[0][0] < oldest:
            lows.popleft()
        if i + 1 < self.period:
            return None
        self.upper, self.lower = highs[0][1], lows[0][1]
        return self.upper, self.lower

    @property
    def value(self) -> tuple[float, float] | None:
        return None if self.upper is None or self.lower is None else (self.upper, self.lower)
