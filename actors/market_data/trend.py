"""Longer-window trend, hourly volatility and the regime, from candle closes (split out of `features.py`)."""

from __future__ import annotations

import math
from decimal import Decimal


def q_vol(x: float) -> Decimal:
    """A float volatility as a Decimal with 6 places (no negative zero)."""
    return Decimal(f"{x:.6f}") + 0


class Trend:
    """Longer-window trend and volatility, sampled once per closed candle (or kline bar).

    Time-weighted EMAs of the price (a fast and a slow one) and an EWMA of the
    variance per second, so irregular samples (one-minute candles from trades,
    five-minute bars from a kline replay) give comparable numbers. Nothing is
    published until `slow_s` of market time has been seen: a trend needs that
    much history to mean anything.
    """

    __slots__ = ("_read", "band", "fast", "fast_s", "first_ms", "last_ms", "last_px", "slow", "slow_s", "var_rate")

    def __init__(self, fast_s: int, slow_s: int, band: Decimal) -> None:
        self.fast_s, self.slow_s, self.band = float(max(fast_s, 1)), float(max(slow_s, 1)), float(band)
        self.fast = self.slow = self.var_rate = 0.0
        self.first_ms = self.last_ms = -1
        self.last_px = 0.0
        self._read: tuple[Decimal | None, Decimal | None, Decimal | None, str] | None = None  # until the next fold

    def fold(self, ts_ms: int, price: Decimal) -> None:
        p = float(price)
        if p <= 0 or ts_ms <= self.last_ms:
            return
        self._read = None
        if self.last_ms < 0:
            self.first_ms, self.last_ms, self.last_px, self.fast, self.slow = ts_ms, ts_ms, p, p, p
            return
        dt = (ts_ms - self.last_ms) / 1000.0
        r = math.log(p / self.last_px)
        a_f = 1.0 - math.exp(-dt / self.fast_s)
        a_s = 1.0 - math.exp(-dt / self.slow_s)
        self.fast += a_f * (p - self.fast)
        self.slow += a_s * (p - self.slow)
        self.var_rate += a_f * (r * r / dt - self.var_rate)  # volatility follows the fast window
        self.last_ms, self.last_px = ts_ms, p

    def read(self) -> tuple[Decimal | None, Decimal | None, Decimal | None, str]:
        """(fast EMA, slow EMA, volatility per square root of an hour, regime), or Nones while warming up."""
        if self._read is None:
            if self.last_ms < 0 or self.last_ms - self.first_ms < self.slow_s * 1000:
                self._read = None, None, None, ""
            else:
                vol_h = math.sqrt(max(self.var_rate, 0.0) * 3600.0)
                self._read = (Decimal(f"{self.fast:.8g}"), Decimal(f"{self.slow:.8g}"), q_vol(vol_h),
                              regime_of(self.fast, self.slow, self.last_px, vol_h, self.band))
        return self._read


def regime_of(fast: float, slow: float, price: float, vol_h: float, band: float) -> str:
    """up: the fast EMA is over the slow one by more than `band` hourly volatilities and the price holds
    above the fast one; down: the mirror image; otherwise range."""
    if slow <= 0:
        return ""
    gap = fast / slow - 1.0
    width = band * vol_h
    if gap > width and price >= fast:
        return "up"
    if gap < -width and price <= fast:
        return "down"
    return "range"
