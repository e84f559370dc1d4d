"""Strategies: the interface a trader implements, the built-ins, and what runs them.

    base.py        Strategy, Context, Bar, Decision and buy / sell / hold: the whole interface
    indicators.py  incremental indicators (EMA, SMA, RSI, ATR, Donchian, StdDev)
    bars.py        the market's closed candles resampled into the strategy's timeframe
    loader.py      `[strategy] name` -> a constructed strategy (built-in, file or module)
    host.py        runs it inside the AI consultant: feeds bars, asks, checks every answer
    builtin/       `trend` (the default) and `maker`, on the same interface

A user's strategy is a file of its own (see `strategies/` at the top of the
repository for complete examples to copy):

    from actors.strategy import Strategy, Context, Decision, Bar, EMA, buy, sell, hold
"""

from actors.strategy.base import Bar, Context, Decision, Strategy, buy, hold, sell
from actors.strategy.indicators import ATR, EMA, RSI, SMA, Donchian, StdDev

__all__ = ["ATR", "EMA", "RSI", "SMA", "Bar", "Context", "Decision", "Donchian", "StdDev", "Strategy", "buy", "hold",
           "sell"]
