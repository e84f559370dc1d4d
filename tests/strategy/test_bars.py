"""Candles in, bars of the timeframe out: aligned to UTC, closed with the candle that ends the period, never before."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from actors.messages import Candle
from actors.strategy.bars import BarBuilder, CoarserData, timeframe_ms

M = 60_000
T0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC


def candle(i: int, close: float, interval: int = M, high: float | None = None, low: float | None = None) -> Candle:
    c = D(str(close))
    return Candle(open_ms=T0 + i * interval, open=c, high=D(str(high or close)), low=D(str(low or close)), close=c,
                  volume=D(1))


def test_five_one_minute_candles_make_one_five_minute_bar_when_the_fifth_closes() -> None:
    b = BarBuilder(timeframe_ms("5m"), keep=10)
    assert b.add([candle(i, 10 + i) for i in range(4)], M) == []  # the period is not over
    (bar,) = b.add([candle(4, 14, high=20, low=1)], M)
    assert (bar.open_ms, bar.close_ms) == (T0, T0 + 5 * M - 1)
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (10.0, 20.0, 1.0, 14.0, 5.0)
    assert b.count == 1 and list(b.bars) == [bar]


def test_a_period_with_its_last_candles_missing_closes_with_the_next_periods_first() -> None:
    b = BarBuilder(timeframe_ms("5m"), keep=10)
    assert b.add([candle(0, 1), candle(1, 2)], M) == []
    bars = b.add([candle(7, 3)], M)  # minutes 2..6 never traded
    assert [(x.open_ms, x.close) for x in bars] == [(T0, 2.0)]
    (late,) = b.add([candle(9, 4)], M)
    assert (late.open_ms, late.open, late.close) == (T0 + 5 * M, 3.0, 4.0)


def test_kline_bars_resample_into_hours_and_the_last_keep_are_kept() -> None:
    b = BarBuilder(timeframe_ms("1h"), keep=2)
    closed = b.add([candle(i, i, interval=5 * M) for i in range(12 * 3)], 5 * M)
    assert [x.close for x in closed] == [11.0, 23.0, 35.0] and [x.close for x in b.bars] == [23.0, 35.0]


def test_without_a_timeframe_the_candles_are_the_bars() -> None:
    b = BarBuilder(None, keep=3)
    out = b.add([candle(i, i, interval=5 * M) for i in range(2)], 5 * M)
    assert [(x.open_ms, x.close_ms) for x in out] == [(T0, T0 + 5 * M - 1), (T0 + 5 * M, T0 + 10 * M - 1)]


def test_candles_longer_than_the_bars_are_refused() -> None:
    with pytest.raises(CoarserData, match="longer"):
        BarBuilder(timeframe_ms("1m"), keep=1).add([candle(0, 1, interval=5 * M)], 5 * M)


def test_the_next_close_is_one_bar_after_the_last_or_the_end_of_the_open_period() -> None:
    b = BarBuilder(timeframe_ms("1h"), keep=1)
    assert b.next_close_ms(T0 + 10 * M) == T0 + 60 * M - 1
    b.add([candle(i, 1, interval=5 * M) for i in range(12)], 5 * M)
    assert b.next_close_ms(T0 + 60 * M - 1) == T0 + 120 * M - 1
    # the bar due at T0 + 2 h has not come yet (its candles come with the next snapshot): never a close in the
    # past, which made a hold stale when given and the keeper ask again on the same snapshot, forever
    assert b.next_close_ms(T0 + 120 * M) == T0 + 120 * M + 1


@pytest.mark.parametrize("bad", ["7m", "1H", "", 5])
def test_a_timeframe_must_be_one_of_the_known(bad: object) -> None:
    with pytest.raises(ValueError, match="not one of"):
        timeframe_ms(bad)  # type: ignore[arg-type]
