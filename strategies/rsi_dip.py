"""RSI dip buyer: a mean-reversion example strategy. Copy this file and make it yours.

Run it:

    # settings.toml (or a file of your own passed with --config)
    [strategy]
    name = "strategies/rsi_dip.py:RSIDip"

    [strategy.params]          # every constructor argument below can be set here
    oversold = 25

    python bootstrap.py backtest ../shared/data/klines/PEPEUSDT-5m      # or any data, or a live run

The idea: in a market that is not falling apart, a sharp dip (RSI under
`oversold`) tends to bounce. Buy the dip at the bid, take profit a few average
ranges higher, cut the loss an average range or two lower, and leave when the
bounce is over (RSI back above `exit_rsi`) or after `max_bars` bars.

What the bot does with the answer: it checks it (the state, the tick grid, the
price band, never a sell under break-even plus fees), sizes a buy and may
refuse anything in its one risk gate, and enforces the exit plan (target,
stop, time limit) itself, tighter than `[risk]` allows, never looser.
"""

from __future__ import annotations

from decimal import Decimal

from actors.strategy import ATR, EMA, RSI, Bar, Context, Decision, Strategy, buy, hold, sell


class RSIDip(Strategy):
    def __init__(self, timeframe: str = "15m", rsi_period: int = 14, oversold: float = 30, exit_rsi: float = 55,
                 trend_period: int = 200, atr_period: int = 14, target_atr: float = 3, stop_atr: float = 2,
                 max_bars: int = 24) -> None:
        # The bot asks once per closed bar of this size, and feeds every closed bar to on_bar.
        self.timeframe = timeframe
        # Bars needed before the first decision: the longest indicator's warm-up. A live start fetches
        # this much history first; a backtest holds until it has seen them.
        self.lookback = max(rsi_period + 1, trend_period, atr_period + 1)
        self.rsi = RSI(rsi_period)
        self.trend = EMA(trend_period) if trend_period else None  # only dips above the long average (0: any dip)
        self.atr = ATR(atr_period)
        self.oversold, self.exit_rsi = oversold, exit_rsi
        self.target_atr, self.stop_atr, self.max_bars = target_atr, stop_atr, max_bars

    def on_bar(self, bar: Bar) -> None:
        # Called once for every closed bar, in order, before any decision on it. Indicators only:
        # everything a decision needs is read in decide().
        self.rsi.update(bar.close)
        if self.trend is not None:
            self.trend.update(bar.close)
        self.atr.update(bar.high, bar.low, bar.close)

    def features(self) -> dict[str, float | None]:
        """Optional: the numbers the model's prompt shows of this strategy (advisor and confirm roles)."""
        return {"rsi": self.rsi.value, "trend_ema": self.trend.value if self.trend else None, "atr": self.atr.value}

    def decide(self, ctx: Context) -> Decision:
        rsi, atr = self.rsi.value, self.atr.value
        trend = self.trend.value if self.trend is not None else 0.0
        if rsi is None or trend is None or atr is None:
            return hold("indicators warming up")
        close = ctx.bars[-1].close
        if ctx.flat:
            if not ctx.bar_closed:
                return hold("waiting for the next bar")  # decide once per bar, not again on a state change
            if close < trend:
                return hold(f"close {close:.6g} under the trend EMA {trend:.6g}: no dips in a fall")
            if rsi >= self.oversold:
                return hold(f"RSI {rsi:.1f} not under {self.oversold}")
            price = ctx.buy_price(ctx.bid)  # rest at the bid: a maker order (the cheaper fee, when it fills)
            target = ctx.sell_price(price + Decimal(repr(self.target_atr * atr)))
            stop = ctx.buy_price(price - Decimal(repr(self.stop_atr * atr)))
            if stop <= 0 or stop >= price:
                return hold("the stop would not be below the price")
            return buy(price, f"RSI {rsi:.1f} < {self.oversold} above the trend: buy the dip at {price}",
                       target=target, stop=stop, time_limit_s=self.max_bars * bar_seconds(ctx),
                       invalidation=f"RSI back over {self.exit_rsi} without reaching the target")
        # Holding: the keeper watches the target, the stop and the time limit on every price; the strategy
        # only decides when the bounce is over. Never under ctx.min_sell_price: a sell under break-even
        # is not accepted (only the keeper's stop may sell at a loss).
        if rsi > self.exit_rsi and ctx.min_sell_price is not None and ctx.bid >= ctx.min_sell_price:
            return sell(ctx.sell_price(max(ctx.bid, ctx.min_sell_price)), f"RSI {rsi:.1f} > {self.exit_rsi}: the bounce is over")
        return hold(f"holding: RSI {rsi:.1f}")


def bar_seconds(ctx: Context) -> int:
    """The length of a bar, from the last one (close_ms is its last millisecond)."""
    bar = ctx.bars[-1]
    return (bar.close_ms + 1 - bar.open_ms) // 1000
