"""What the market and the exchange say: the symbol's rules, balances, trades, candles, snapshots, feed health."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from actors.messages.base import ZERO, _frozen


@dataclass(**_frozen)
class SymbolFilters:
    """The exchange rules an order must meet (Binance exchangeInfo, or the paper settings)."""

    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal
    max_notional: Decimal = ZERO  # 0 = no upper bound
    min_price: Decimal = ZERO
    max_price: Decimal = ZERO  # 0 = no upper bound
    status: str = "TRADING"


@dataclass(**_frozen)
class FiltersUpdated:
    """The executor read (or re-read) the symbol's rules."""

    filters: SymbolFilters


@dataclass(**_frozen)
class FeesUpdated:
    """The executor read the account's commission for the symbol (at start and with every exchangeInfo read).

    `maker` and `taker` are what a fill really pays, per side: Binance's standard rate (less the BNB
    discount when the account pays fees in BNB) plus its tax and special rates, and the buyer or
    seller extra, whichever is higher. `bnb_discount` is the fraction taken off the standard rate
    (0: fees are not paid in BNB). A fill's own commission (`n`/`N`) is still what gets booked.
    """

    symbol: str
    maker: Decimal
    taker: Decimal
    bnb_discount: Decimal = ZERO
    source: str = "account"  # where the rates came from: account (the venue), settings
    ts_ms: int = 0


@dataclass(**_frozen)
class BalanceUpdated:
    """Free and locked balance of one asset, as the exchange reports it."""

    asset: str
    free: Decimal
    locked: Decimal
    ts_ms: int


@dataclass(**_frozen)
class TradeTick:
    trade_id: int
    price: Decimal
    qty: Decimal
    ts_ms: int
    buyer_is_maker: bool  # True: the seller took liquidity (a sell-side aggressor)
    bar: Candle | None = None  # a kline replay's whole bar, on the one tick made at its close (candle fills)


@dataclass(**_frozen)
class Candle:
    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(**_frozen)
class CandlesClosed:
    """Candles the market data has closed since it last said so, oldest first, each `interval_ms` long.

    Sent to `SubscribeCandles` subscribers (the strategy's host) before the snapshot that follows
    them reaches anyone, so a decision always sees every candle closed before it, and never one that
    has not closed: a kline file's bars at their close, one-minute candles made from trades when the
    next minute's first trade arrives, a warm start's history as it is read.
    """

    symbol: str
    candles: tuple[Candle, ...]
    interval_ms: int


@dataclass(**_frozen)
class MarketSnapshot:
    """The local view of the market at one moment.

    `trades` holds every trade since the previous snapshot sent to the same
    subscriber (bounded), so the paper exchange can match against them.
    """

    symbol: str
    seq: int
    ts_data_ms: int  # market time of the newest data included
    ts_snapshot_ms: int  # when the snapshot was made (market time in replays)
    bid: Decimal
    bid_qty: Decimal
    ask: Decimal
    ask_qty: Decimal
    mid: Decimal
    spread_bps: Decimal
    imbalance: Decimal  # top-N book imbalance in [-1, 1]; positive = more bids
    microprice: Decimal
    last_price: Decimal | None = None
    last_qty: Decimal | None = None
    vwap: Decimal | None = None
    volatility: Decimal | None = None  # realised, as a fraction over the window
    trade_flow_imbalance: Decimal = ZERO  # taker buy minus sell volume over total, [-1, 1]
    candles: tuple[Candle, ...] = ()
    trades: tuple[TradeTick, ...] = ()
    stale: bool = False
    trend_fast: Decimal | None = None  # EMA of the price over market.trend_fast_s (None while warming up)
    trend_slow: Decimal | None = None  # ...and over market.trend_slow_s
    vol_hourly: Decimal | None = None  # realised volatility per square root of an hour (a fraction)
    regime: str = ""  # "up", "down", "range" (features.regime_of), "" while warming up


@dataclass(**_frozen)
class FeedStatusChanged:
    """The feed went stale or down (`stale=True`) or came back (`stale=False`)."""

    symbol: str
    stale: bool
    reason: str
    ts_ms: int
    cause: str = ""  # what is wrong, readable (the stream's last error; "" when it came back)
    since_ms: int = 0  # when the feed went stale (or came back)
    attempts: int = 0  # connection attempts failed in a row so far
    next_attempt_ms: int = 0  # when the next connection attempt starts (0 = connected or none planned)


@dataclass(**_frozen)
class FeedFinished:
    """A finite source (synthetic, replay) has no more data; `last` is its final snapshot."""

    symbol: str
    ts_ms: int
    events: int
    last: MarketSnapshot | None = None
