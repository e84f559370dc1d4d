"""Each incremental indicator against a direct computation over the whole series (the textbook formula)."""

from __future__ import annotations

import math
import random

import pytest

from actors.strategy.indicators import ATR, EMA, RSI, SMA, Donchian, StdDev


def series(n: int = 400, seed: int = 7) -> list[float]:
    rnd = random.Random(seed)
    x, out = 100.0, []
    for _ in range(n):
        x *= math.exp(rnd.gauss(0, 0.01))
        out.append(x)
    return out


def bars(n: int = 400, seed: int = 7) -> list[tuple[float, float, float]]:
    rnd = random.Random(seed + 1)
    return [(c * (1 + rnd.random() * 0.01), c * (1 - rnd.random() * 0.01), c) for c in series(n, seed)]


def close(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("period", [1, 5, 20])
def test_sma_is_the_mean_of_the_last_period_values(period: int) -> None:
    xs, sma = series(), SMA(period)
    for i, x in enumerate(xs):
        got = sma.update(x)
        want = sum(xs[i - period + 1:i + 1]) / period if i + 1 >= period else None
        assert got == want if want is None else close(got, want)


@pytest.mark.parametrize("period", [2, 10, 50])
def test_ema_is_seeded_with_the_sma_then_smoothed(period: int) -> None:
    xs, ema = series(), EMA(period)
    alpha, ref = 2 / (period + 1), None
    for i, x in enumerate(xs):
        got = ema.update(x)
        if i + 1 == period:
            ref = sum(xs[:period]) / period
        elif ref is not None:
            ref = alpha * x + (1 - alpha) * ref
        assert got == ref if ref is None else close(got, ref)


@pytest.mark.parametrize("period", [2, 20])
def test_stddev_is_the_population_deviation_of_the_window(period: int) -> None:
    xs, sd = series(), StdDev(period)
    for i, x in enumerate(xs):
        got = sd.update(x)
        if i + 1 < period:
            assert got is None
            continue
        w = xs[i - period + 1:i + 1]
        m = sum(w) / period
        assert math.isclose(got or -1, math.sqrt(sum((v - m) ** 2 for v in w) / period), rel_tol=1e-6)


def wilder_rsi(xs: list[float], n: int) -> list[float | None]:
    """Wilder's RSI written from his definition, over the whole list at once."""
    out: list[float | None] = [None] * len(xs)
    gains = [max(xs[i] - xs[i - 1], 0) for i in range(1, len(xs))]
    losses = [max(xs[i - 1] - xs[i], 0) for i in range(1, len(xs))]
    if len(gains) < n:
        return out
    g, l = sum(gains[:n]) / n, sum(losses[:n]) / n
    for k in range(n, len(gains) + 1):
        if k > n:
            g, l = (g * (n - 1) + gains[k - 1]) / n, (l * (n - 1) + losses[k - 1]) / n
        out[k] = 100.0 if l == 0 else 100 - 100 / (1 + g / l)
    return out


@pytest.mark.parametrize("period", [2, 14])
def test_rsi_matches_wilders_definition(period: int) -> None:
    xs, rsi = series(), RSI(period)
    ref = wilder_rsi(xs, period)
    for x, want in zip(xs, ref, strict=True):
        got = rsi.update(x)
        assert got == want if want is None else close(got, want)
    assert RSI(3).update(1.0) is None


def test_rsi_of_a_market_that_only_rises_is_100() -> None:
    rsi = RSI(5)
    for x in range(1, 20):
        rsi.update(float(x))
    assert rsi.value == 100.0


@pytest.mark.parametrize("period", [1, 14])
def test_atr_matches_wilders_definition(period: int) -> None:
    bs, atr = bars(), ATR(period)
    trs = [bs[0][0] - bs[0][1]] + [max(h - l, abs(h - bs[i - 1][2]), abs(l - bs[i - 1][2]))
                                   for i, (h, l, _c) in enumerate(bs) if i > 0]
    ref = None
    for i, (h, l, c) in enumerate(bs):
        got = atr.update(h, l, c)
        if i + 1 == period:
            ref = sum(trs[:period]) / period
        elif ref is not None:
            ref = (ref * (period - 1) + trs[i]) / period
        assert got == ref if ref is None else close(got, ref)


@pytest.mark.parametrize("period", [1, 3, 24])
def test_donchian_is_the_highest_high_and_lowest_low_of_the_window(period: int) -> None:
    bs, ch = bars(), Donchian(period)
    for i, (h, l, _c) in enumerate(bs):
        got = ch.update(h, l)
        if i + 1 < period:
            assert got is None and ch.value is None
            continue
        w = bs[i - period + 1:i + 1]
        assert got == (max(b[0] for b in w), min(b[1] for b in w)) == ch.value


@pytest.mark.parametrize("cls", [EMA, SMA, RSI, ATR, Donchian])
def test_a_period_that_cannot_work_is_refused(cls: type) -> None:
    with pytest.raises(ValueError, match="period"):
        cls(0)
