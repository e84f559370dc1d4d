"""The strategy interface: what a trader writes to make the bot trade an idea of their own.

A strategy is a class with two methods, because a strategy does two different
things at two different rates:

- `on_bar(bar)` is called once for every closed bar of its `timeframe`, in
  order, and never for a bar that has not closed: that is where indicators are
  updated, and it is why a strategy cannot see the future through this API.
  It is called whether or not the bot asks for a decision (a bar during which
  an order was working, or the keeper was blocked, still reaches it).
- `decide(ctx)` is called when the bot has a decision to make (flat: buy or
  not; holding: sell or not) and answers with a `Decision`. It never places an
  order: the answer is validated (state, grid, band, break-even) and then goes
  through the one risk gate, which sizes buys and may refuse anything.

Two class attributes say what it needs, so the bot can feed it, warm it up and
skip what cannot change its mind:

- `timeframe`: the bar size it decides on ("5m", "1h", ...). With one, the bot
  asks it once per closed bar (and when its state changes), and a hold lasts
  until the next close: the market in between is skipped in backtests. `None`
  means "ask me at every decision the bot makes" (on the snapshot's features,
  as the built-in `trend` and `maker` do).
- `lookback`: how many closed bars it needs before it can decide; the bot
  holds for it until it has them, and a live start fetches that much history.

Both may be set per instance in `__init__` (a 55-bar channel needs 55 bars).
Prices are `Decimal` (money is never a float here); bars are floats, for
indicators. `ctx.buy_price(x)` / `ctx.sell_price(x)` put any number on the
exchange's tick grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from actors.domain.rules import round_price
from actors.messages import (
    AdviceAction,
    AdvisedExits,
    MarketSnapshot,
    Side,
    SymbolFilters,
    TradingState,
)

FULL_CONFIDENCE = Decimal(1)

__all__ = ["Bar", "Context", "Decision", "Strategy", "buy", "hold", "sell"]


@dataclass(frozen=True, slots=True)
class Bar:
    """A closed bar of the strategy's timeframe. Floats: for indicators, never for an order's price."""

    open_ms: int
    close_ms: int  # the last millisecond the bar covers (Binance's close_time)
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class Decision:
    """A strategy's answer. Build it with `buy`, `sell` or `hold`."""

    action: AdviceAction
    price: Decimal | None = None  # the limit price, on the tick grid
    reason: str = ""  # shown in the journal, the log and the status page
    confidence: Decimal = FULL_CONFIDENCE  # 0..1; under [ai] min_confidence it is not acted on
    exit_plan: AdvisedExits | None = None  # a buy's target, stop and time limit (bounded by [risk])
    price_range: tuple[Decimal, Decimal] | None = None  # low <= price <= high; default (price, price)


def buy(price: Decimal, reason: str = "", *, target: Decimal | None = None, stop: Decimal | None = None,
        time_limit_s: int | None = None, invalidation: str = "", confidence: Decimal = FULL_CONFIDENCE,
        price_range: tuple[Decimal, Decimal] | None = None) -> Decision:
    """Buy with a limit at `price`; `target`, `stop` and `time_limit_s` are the position's exit plan."""
    plan = None
    if target is not None or stop is not None or time_limit_s is not None or invalidation:
        plan = AdvisedExits(target_price=target, stop_price=stop, time_limit_s=time_limit_s, invalidation=invalidation)
    return Decision(AdviceAction.BUY, price, reason, confidence, plan, price_range)


def sell(price: Decimal, reason: str = "", *, confidence: Decimal = FULL_CONFIDENCE,
         price_range: tuple[Decimal, Decimal] | None = None) -> Decision:
    """Sell what is held with a limit at `price` (never under `ctx.min_sell_price`: only the keeper's
    stops may sell at a loss)."""
    return Decision(AdviceAction.SELL, price, reason, confidence, None, price_range)


def hold(reason: str = "") -> Decision:
    return Decision(AdviceAction.HOLD, None, reason)


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a decision may use: the market now, the closed bars, the position, fees and the grid."""

    ts_ms: int  # market time of the decision
    state: TradingState  # READY_TO_BUY (flat) or READY_TO_SELL (holding)
    snapshot: MarketSnapshot  # bid, ask, mid, volatility, trend_fast/slow, vol_hourly, regime, candles...
    bars: Sequence[Bar]  # closed bars of the timeframe, oldest first (at least `lookback` of them)
    bar_closed: bool  # a bar closed since the strategy was last asked
    position_qty: Decimal
    entry_price: Decimal | None
    break_even_price: Decimal | None  # the sell price that returns the cost after both fees
    min_sell_price: Decimal | None  # break-even plus min_profit, on the grid: the lowest sell accepted
    exit_target: Decimal | None  # the open position's take-profit, if its plan has one
    fee_rate: Decimal  # per side, the most any fill pays (as the break-even assumes)
    maker_fee: Decimal  # a resting limit that fills later
    taker_fee: Decimal  # an order that takes liquidity when it arrives
    min_profit: Decimal
    quote_per_trade: Decimal
    filters: SymbolFilters  # tick_size, step_size, min_notional...

    @property
    def flat(self) -> bool:
        return self.state is TradingState.READY_TO_BUY

    @property
    def holding(self) -> bool:
        return self.state is TradingState.READY_TO_SELL

    @property
    def bid(self) -> Decimal:
        return self.snapshot.bid

    @property
    def ask(self) -> Decimal:
        return self.snapshot.ask

    @property
    def mid(self) -> Decimal:
        return self.snapshot.mid

    def buy_price(self, x: Decimal | float) -> Decimal:
        """`x` on the tick grid, rounded down (a buy never pays more than asked)."""
        return round_price(_dec(x), Side.BUY, self.filters)

    def sell_price(self, x: Decimal | float) -> Decimal:
        """`x` on the tick grid, rounded up (a sell never takes less than asked)."""
        return round_price(_dec(x), Side.SELL, self.filters)


def _dec(x: Decimal | float) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(repr(float(x)))


class Strategy:
    """Subclass this in a file of your own; `[strategy] name = "my_file.py:MyStrategy"` runs it.

    The constructor takes the `[strategy.params]` table as keyword arguments.
    """

    timeframe: str | None = None  # class defaults; an instance may set its own in __init__
    lookback: int = 0

    def on_bar(self, bar: Bar) -> None:
        """A bar of `timeframe` closed: update indicators (called once per bar, in order)."""

    def decide(self, ctx: Context) -> Decision:
        """Buy, sell or hold now."""
        raise NotImplementedError

    def features(self) -> Mapping[str, float | None]:
        """Optional: the numbers it decides on, by name (its indicators now). The model's prompt carries them,
        so that a model advising or confirming sees what the strategy saw."""
        return {}
