"""The seeded synthetic market, without threads."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

import pytest

from actors.market_data.synthetic import CHOP, EPOCH_MS, JUMPY, TREND_DOWN, TREND_UP, SyntheticMarket

TICK = Decimal("0.01")
STEP = Decimal("0.001")


def market(seed: int = 42, duration_s: int = 3600, start: str = "10.00") -> SyntheticMarket:
    return SyntheticMarket(seed=seed, duration_s=duration_s, start_price=Decimal(start), tick_size=TICK, step_size=STEP)


def test_the_same_seed_gives_the_same_market() -> None:
    a = list(market(seed=5, duration_s=1800).chunks())
    b = list(market(seed=5, duration_s=1800).chunks())
    c = list(market(seed=6, duration_s=1800).chunks())
    assert a == b
    assert a != c


def test_books_and_trades_are_on_the_grids_and_consistent() -> None:
    m = market(duration_s=3600)
    last_ts = 0
    trades = 0
    for sec, (book, tt) in enumerate(m.chunks()):
        ts, bid, bid_qty, ask, ask_qty, imbalance = book
        assert ts == EPOCH_MS + sec * 1000
        assert bid % TICK == 0 and ask % TICK == 0
        assert 1 <= (ask - bid) / TICK <= 5  # a spread of a few ticks
        assert bid_qty > 0 and ask_qty > 0 and bid_qty % STEP == 0 and ask_qty % STEP == 0
        assert imbalance is not None and -1 <= imbalance <= 1
        for t in tt:
            assert ts <= t.ts_ms < ts + 1000 and t.ts_ms >= last_ts
            last_ts = t.ts_ms
            # a taker sell hits the bid, a taker buy lifts the ask
            assert t.price == (bid if t.buyer_is_maker else ask)
            assert t.qty > 0 and t.qty % STEP == 0
        trades += len(tt)
    assert 1.0 <= trades / 3600 <= 6.0  # a few trades per second
    assert m.events == trades + 3600
    ids = [t.trade_id for _, tt in market(duration_s=600).chunks() for t in tt]
    assert ids == list(range(1, len(ids) + 1))


def test_a_day_meets_every_regime_and_is_not_pulled_home() -> None:
    m = market(seed=42, duration_s=86_400)
    mids = [float((b[1] + b[3]) / 2) for b, _ in m.chunks()]
    kinds = {r for _, r in m.regime_log}
    assert kinds == {TREND_UP, TREND_DOWN, CHOP, JUMPY}
    assert len(m.regime_log) >= 10
    day_range = (max(mids) - min(mids)) / 10.0
    assert 0.03 <= day_range <= 0.3  # several percent, like a meme coin's day
    hourly = [abs(mids[h + 3600] - mids[h]) / mids[h] for h in range(0, 86_400 - 3600, 3600)]
    assert max(hourly) >= 0.01  # it moves enough within hours to trade
    ends = [list(market(seed=s, duration_s=86_400).chunks())[-1][0][1] for s in (42, 1)]
    assert min(ends) < Decimal("9.5") and max(ends) > Decimal("10.5")  # days that fall and days that rise


def test_a_bot_buying_under_mid_and_selling_above_break_even_completes_round_trips() -> None:
    """The default run's logic, crudely: buy 0.1 % under mid, sell 0.4 % above the buy."""
    trips = 0
    state = "flat"
    buy = sell = Decimal(0)
    placed = 0
    for book, trades in market(seed=42, duration_s=86_400).chunks():
        ts, bid, _, ask, _, _ = book
        mid = (bid + ask) / 2
        if state == "flat" or (state == "buying" and ts - placed > 120_000):
            buy, placed, state = (mid * Decimal("0.999")).quantize(TICK), ts, "buying"
        for t in trades:
            if state == "buying" and t.buyer_is_maker and t.price <= buy:
                state, sell = "selling", (buy * Decimal("1.004")).quantize(TICK, rounding=ROUND_CEILING)
            elif state == "selling" and not t.buyer_is_maker and t.price >= sell:
                state, trips = "flat", trips + 1
    assert trips >= 5


@pytest.mark.parametrize("start", ["0.50", "10.00", "250.00"])
def test_any_start_price_keeps_a_sane_book(start: str) -> None:
    for book, _ in market(start=start, duration_s=300).chunks():
        assert Decimal(0) < book[1] < book[3]
