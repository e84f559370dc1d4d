"""EMA trend on higher bars: a low-frequency trend follower. Copy this file and make it yours.

    [strategy]
    name = "strategies/ema_trend.py:EMATrend"

The idea: fees (0.1 % a side) eat a small edge traded often, so trade seldom and
only with the trend of hours, not minutes. Buy when the fast EMA of closes is
above the slow one by more than `min_gap` and the close is above both (an
established up-trend), at the bid; the stop sits `stop_atr` average ranges
under the entry, the target `target_atr` over it (0: none, ride the trend),
and the position is left after `max_bars` bars. Sell when the trend turns
(fast under slow) if the bid still pays break-even and fees.
"""

from __future__ import annotations

from decimal import Decimal

from actors.strategy import ATR, EMA, Bar, Context, Decision, Strategy, buy, hold, sell


class EMATrend(Strategy):
    def __init__(self, timeframe: str = "1h", fast: int = 12, slow: int = 48, atr_period: int = 14,
                 stop_atr: float = 2.0, target_atr: float = 0.0, min_gap: float = 0.0, max_bars: int = 48) -> None:
        if not 0 < fast < slow:
            raise ValueError(f"fast ({fast}) must be shorter than slow ({slow})")
        self.timeframe = timeframe
        self.lookback = slow + 1
        self.fast, self.slow, self.atr = EMA(fast), EMA(slow), ATR(atr_period)
        self.stop_atr, self.target_atr, self.min_gap, self.max_bars = stop_atr, target_atr, min_gap, max_bars

    def on_bar(self, bar: Bar) -> None:
        self.fast.update(bar.close)
        self.slow.update(bar.close)
        self.atr.update(bar.high, bar.low, bar.close)

    def features(self) -> dict[str, float | None]:
        """What the model's prompt shows of this strategy (advisor and confirm roles)."""
        return {"ema_fast": self.fast.value, "ema_slow": self.slow.value, "atr": self.atr.value}

    def decide(self, ctx: Context) -> Decision:
        fast, slow, atr = self.fast.value, self.slow.value, self.atr.value
        if fast is None or slow is None or atr is None:
            return hold("EMAs warming up")
        close = ctx.bars[-1].close
        up = fast > slow * (1 + self.min_gap) and close > fast
        if ctx.flat:
            if not (ctx.bar_closed and up):
                return hold(f"no up-trend: fast {fast:.6g}, slow {slow:.6g}, close {close:.6g}")
            price = ctx.buy_price(ctx.bid)
            stop = ctx.buy_price(price - Decimal(repr(self.stop_atr * atr)))
            if stop <= 0 or stop >= price:
                return hold("the stop would not be below the price")
            target = ctx.sell_price(price + Decimal(repr(self.target_atr * atr))) if self.target_atr > 0 else None
            bar_s = (ctx.bars[-1].close_ms + 1 - ctx.bars[-1].open_ms) // 1000
            return buy(price, f"up-trend: fast {fast:.6g} > slow {slow:.6g}, close {close:.6g}", stop=stop,
                       target=target, time_limit_s=self.max_bars * bar_s, invalidation="fast EMA under slow EMA")
        if fast < slow and ctx.min_sell_price is not None and ctx.bid >= ctx.min_sell_price:
            return sell(ctx.sell_price(ctx.bid), f"the trend turned: fast {fast:.6g} < slow {slow:.6g}")
        return hold("riding the trend")
