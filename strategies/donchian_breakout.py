"""Donchian breakout: a trend-following example strategy. Copy this file and make it yours.

Run it:

    [strategy]
    name = "strategies/donchian_breakout.py:DonchianBreakout"   # your copy; "breakout" is this file, built in

    [strategy.params]          # every constructor argument below can be set here
    entry_bars = 48

    python bootstrap.py backtest ../shared/data/klines/WIFUSDT-5m

The idea (the Turtles' rule): a close above the highest high of the last
`entry_bars` bars starts a move; ride it until a close under the lowest low of
the last `exit_bars` bars, with a stop `stop_atr` average ranges under the
entry. It trades rarely, and only when the market breaks out: a long-only bot
in a falling market mostly stands aside.
"""

from __future__ import annotations

from decimal import Decimal

from actors.strategy import ATR, Bar, Context, Decision, Donchian, Strategy, buy, hold, sell


class DonchianBreakout(Strategy):
    # The defaults are the bot's default strategy (`[strategy] name = "breakout"`), chosen by walk-forward on
    # the universe (README, "The default strategy"): 2 h bars, a 4-day channel to enter, a 12-hour one to leave.
    def __init__(self, timeframe: str = "2h", entry_bars: int = 48, exit_bars: int = 6, atr_period: int = 14,
                 stop_atr: float = 1.5, max_hold_bars: int = 48) -> None:
        self.timeframe = timeframe  # decided once per closed bar: the market in between is not looked at
        self.lookback = max(entry_bars, exit_bars, atr_period) + 1  # +1: the channel excludes the newest bar
        self.entry = Donchian(entry_bars)
        self.exit = Donchian(exit_bars)
        self.atr = ATR(atr_period)
        self.stop_atr, self.max_hold_bars = stop_atr, max_hold_bars
        # the channels as they stood BEFORE the newest bar: a breakout is a close beyond the previous bars
        self.prev_entry_high: float | None = None
        self.prev_exit_low: float | None = None

    def on_bar(self, bar: Bar) -> None:
        self.prev_entry_high = self.entry.upper
        self.prev_exit_low = self.exit.lower
        self.entry.update(bar.high, bar.low)
        self.exit.update(bar.high, bar.low)
        self.atr.update(bar.high, bar.low, bar.close)

    def features(self) -> dict[str, float | None]:
        """What the model's prompt shows of this strategy (advisor and confirm roles)."""
        return {"channel_high": self.prev_entry_high, "channel_low": self.prev_exit_low, "atr": self.atr.value}

    def decide(self, ctx: Context) -> Decision:
        high, low, atr = self.prev_entry_high, self.prev_exit_low, self.atr.value
        if high is None or low is None or atr is None:
            return hold("channels warming up")
        close = ctx.bars[-1].close
        if ctx.flat:
            if not ctx.bar_closed or close <= high:
                return hold(f"close {close:.6g} inside the {self.entry.period}-bar channel (high {high:.6g})")
            price = ctx.buy_price(ctx.bid)
            stop = ctx.buy_price(price - Decimal(repr(self.stop_atr * atr)))
            if stop <= 0 or stop >= price:
                return hold("the stop would not be below the price")
            limit_s = self.max_hold_bars * (ctx.bars[-1].close_ms + 1 - ctx.bars[-1].open_ms) // 1000
            return buy(price, f"breakout: close {close:.6g} over the {self.entry.period}-bar high {high:.6g}",
                       stop=stop, time_limit_s=limit_s, invalidation=f"a close under the {self.exit.period}-bar low")
        if close < low and ctx.min_sell_price is not None and ctx.bid >= ctx.min_sell_price:
            return sell(ctx.sell_price(ctx.bid), f"close {close:.6g} under the {self.exit.period}-bar low {low:.6g}")
        # Under break-even the strategy cannot sell (only a stop may): the keeper's stop and time limit do.
        return hold(f"riding the breakout; exit under {low:.6g}")
