"""A seeded synthetic TRUMP-like market: the default run's offline feed, one that does not flatter.

One step per market second. The log of the price moves by regime, and no
regime is pulled back to where the day began, so a strategy that buys every
dip and waits meets what it would meet on a real exchange:

- trend up / trend down: a drift of 1 % to 3 % an hour, for two hours
  on average, with noise of about 1 % per square root of an hour;
- chop: noisy (about 0.2 % per minute) but pulled back to where the chop
  began with a half-life of about two minutes: it swings and goes nowhere;
- jumpy: quiet between jumps of 0.5 % to 2.5 % either way (one
  every ten minutes on average) that stay: nothing takes them back.

Regimes last one to two hours on average (exponential durations, at least
ten minutes). A day ranges over several percent and may end far from its
start; which way depends on the seed (tests/test_market_synthetic.py).

The book is on the `tick_size` grid with a spread of one to a few ticks and
random sizes; trades (about three per second, more when the mid moves) hit
the bid or lift the ask, more often in the direction of the recent move.
Sizes are on the `step_size` grid. The same seed gives the same market, and
a day of market time takes well under a second to make.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from decimal import Decimal

from actors.market_data.features import make_tick
from actors.messages import TradeTick

# 2025-01-01T00:00:00Z: market time starts here, never at the wall clock.
EPOCH_MS = 1_735_689_600_000

Book = tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal | None]  # ts, bid, bid_qty, ask, ask_qty, imbalance
Chunk = tuple[Book, list[TradeTick]]

TREND_UP = "trend_up"
TREND_DOWN = "trend_down"
CHOP = "chop"
JUMPY = "jumpy"

# name: (weight, mean duration s, sigma per sqrt(s), pull towards the regime's start per s, trade rate per s)
REGIMES: dict[str, tuple[float, float, float, float, float]] = {
    TREND_UP: (0.25, 7200.0, 1.2e-4, 0.0, 2.5),
    TREND_DOWN: (0.25, 7200.0, 1.2e-4, 0.0, 2.5),
    CHOP: (0.3, 5400.0, 2.0e-4, 6.5e-3, 2.0),
    JUMPY: (0.2, 3600.0, 1.0e-4, 0.0, 1.5),
}


class SyntheticMarket:
    """`chunks()` yields, per market second, the book at that second and its trades."""

    def __init__(
        self,
        *,
        seed: int,
        duration_s: int,
        start_price: Decimal,
        tick_size: Decimal,
        step_size: Decimal,
        start_ms: int = EPOCH_MS,
    ) -> None:
        self.seed = seed
        self.duration_s = duration_s
        self.start_price = start_price
        self.tick = tick_size
        self.step = step_size
        self.start_ms = start_ms
        self.events = 0
        self.regime_log: list[tuple[int, str]] = []  # (second, regime) for inspection

    def chunks(self) -> Iterator[Chunk]:
        rng = random.Random(self.seed)
        rand = rng.random
        gauss = rng.gauss
        expo = rng.expovariate
        tick = self.tick
        step = self.step
        tick_f = float(tick)
        base = math.log(float(self.start_price))
        x = base  # log fair price
        anchor = base  # where the current regime began (chop swings around it)
        px_cache: dict[int, Decimal] = {}
        qty_cache: dict[int, Decimal] = {}
        # a typical trade is ~$40; book levels hold a few times that
        typical_qty = max(40.0 / float(self.start_price), float(step))
        steps_per_typical = typical_qty / float(step)
        names = list(REGIMES)
        weights = [REGIMES[n][0] for n in names]
        regime_end = 0
        sigma = pull = rate = drift = 0.0
        regime = names[0]
        jump_p = 0.0
        trade_id = 0
        prev_mid_ticks = None
        momentum = 0.0  # recent direction, for the side of trades
        start_ms = self.start_ms
        mk = make_tick
        exp = math.exp

        def price(ticks: int) -> Decimal:
            d = px_cache.get(ticks)
            if d is None:
                d = px_cache[ticks] = tick * ticks
            return d

        def qty(steps: int) -> Decimal:
            d = qty_cache.get(steps)
            if d is None:
                d = qty_cache[steps] = step * steps
            return d

        for sec in range(self.duration_s):
            if sec >= regime_end:
                regime = rng.choices(names, weights)[0]
                _, mean_len, sigma, pull, rate = REGIMES[regime]
                regime_end = sec + max(600, int(expo(1.0 / mean_len)))
                drift = 0.0
                jump_p = 0.0
                anchor = x
                if regime in (TREND_UP, TREND_DOWN):
                    # 1 % to 3 % an hour
                    drift = (0.01 + 0.02 * rand()) / 3600.0 * (1 if regime == TREND_UP else -1)
                elif regime == JUMPY:
                    jump_p = 1.0 / 600.0
                self.regime_log.append((sec, regime))
            move = drift + sigma * gauss(0.0, 1.0) + pull * (anchor - x)
            if jump_p and rand() < jump_p:
                move += (0.005 + 0.02 * rand()) * (1 if rand() < 0.5 else -1)
            x += move
            momentum = 0.9 * momentum + move
            fair = exp(x) / tick_f  # in ticks
            spread = 1 if rand() < 0.55 else (2 if rand() < 0.7 else 3)
            if regime == JUMPY and rand() < 0.3:
                spread += 1
            bid_t = int(fair - spread / 2.0 + 0.5)
            if bid_t < 1:
                bid_t = 1
            ask_t = bid_t + spread
            mid_t = bid_t + ask_t
            ts0 = start_ms + sec * 1000
            bid_q = qty(1 + int(steps_per_typical * (1.0 + 4.0 * rand())))
            ask_q = qty(1 + int(steps_per_typical * (1.0 + 4.0 * rand())))
            deep_b = float(bid_q) + typical_qty * 20.0 * rand()
            deep_a = float(ask_q) + typical_qty * 20.0 * rand()
            imbalance = Decimal(f"{(deep_b - deep_a) / (deep_b + deep_a):.4f}") + 0
            book: Book = (ts0, price(bid_t), bid_q, price(ask_t), ask_q, imbalance)
            # trades: Poisson, busier when the mid moved
            lam = rate * (1.0 + (1.0 if prev_mid_ticks is not None and mid_t != prev_mid_ticks else 0.0))
            prev_mid_ticks = mid_t
            n = 0
            limit = exp(-lam)
            prod = rand()
            while prod > limit:
                n += 1
                prod *= rand()
            trades: list[TradeTick] = []
            if n:
                p_buy = 0.5 + max(-0.35, min(0.35, momentum * 400.0))
                offsets = sorted(int(rand() * 1000) for _ in range(n))
                bid_px = book[1]
                ask_px = book[3]
                for off in offsets:
                    trade_id += 1
                    steps_n = 1 + int(steps_per_typical * expo(1.0))
                    if rand() < p_buy:
                        trades.append(mk(trade_id, ask_px, qty(steps_n), ts0 + off, False))
                    else:
                        trades.append(mk(trade_id, bid_px, qty(steps_n), ts0 + off, True))
                self.events += n
            self.events += 1  # the book update
            yield book, trades
