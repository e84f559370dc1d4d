"""Settings: `settings.toml` (or `--config FILE`) over built-in defaults, validated at start.

The key names are an interface (DESIGN.md); a missing key takes its default,
an unknown key or a bad value stops the start with a message that names the
key and what is allowed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """A setting is missing, unknown or out of range; the message names it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeSettings:
    kind: str = "paper"
    network: str = "mainnet"  # mainnet | testnet (Binance's Spot Testnet: real orders, fake funds)
    rest_url: str = "https://api.binance.com"
    ws_api_url: str = "wss://ws-api.binance.com:443/ws-api/v3"
    recv_window_ms: int = 5000
    confirm_real_money: bool = False
    cancel_on_exit: bool = False
    exchange_info_refresh_s: int = 3600
    # The paper exchange's rules and wallet (the binance exchange reads its own).
    base_asset: str = "TRUMP"
    quote_asset: str = "USDC"
    tick_size: Decimal = Decimal("0.01")
    step_size: Decimal = Decimal("0.001")
    min_qty: Decimal = Decimal("0.001")
    max_qty: Decimal = Decimal("9000000")
    min_notional: Decimal = Decimal("1")
    paper_quote_balance: Decimal = Decimal("1000")


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketSettings:
    source: str = "synthetic"
    stream_url: str = "wss://stream.binance.com:9443"
    rest_url: str = ""  # depth snapshots; "" = [exchange] rest_url (or https://data-api.binance.vision)
    replay_path: str = ""
    speed: Decimal = Decimal(0)
    seed: int = 4  # a week in which the default strategy completes round trips (settings.toml says why)
    duration_s: int = 604800  # a week: regimes to meet, after the default strategy's 4-day channel warms up
    start_price: Decimal = Decimal("10.00")
    snapshot_interval_ms: int = 1000
    significant_move_bps: Decimal = Decimal(20)
    book_levels: int = 10
    window_s: int = 300
    candles: int = 5
    stale_after_s: int = 10
    depth_limit: int = 1000
    skip_idle_snapshots: bool = True  # backtests: subscribers skip snapshots they cannot act on
    candle_fills: str = "next_bar"  # kline replays: next_bar (fills on later bars only) | path (the guessed path)
    touch_fill_prob: Decimal = Decimal(0)  # next_bar: chance a limit exactly at a bar's low/high fills
    wide_bar_share: Decimal = Decimal("0.2")  # kline replays: the report names bars whose range is above this share
    trend_fast_s: int = 3600  # the fast price EMA's time constant (trend, regime, hourly volatility)
    trend_slow_s: int = 14400  # the slow one; nothing is published before this much market time
    regime_band: Decimal = Decimal("1.5")  # up/down needs the EMAs this many hourly volatilities apart

    @property
    def live(self) -> bool:
        """Conflated live delivery (`live_delivery.py`); else lockstep, where the market waits for every ack."""
        return self.source == "binance"


@dataclass(frozen=True, slots=True, kw_only=True)
class AISettings:
    base_url: str = "https://openrouter.ai/api/v1"
    model: str = "deepseek/deepseek-chat-v3.1"
    fallback_models: tuple[str, ...] = ("deepseek/deepseek-v3.2",)
    timeout_s: Decimal = Decimal(10)
    cache_ttl_s: int = 60
    min_confidence: Decimal = Decimal("0.7")
    cache_size: int = 256
    price_band_pct: Decimal = Decimal("0.02")
    max_reasoning_chars: int = 500
    max_tokens: int = 600
    spend_cap_per_hour: Decimal = Decimal("1.00")
    check_models_at_start: bool = True
    breaker_failures: int = 3  # failed calls in a row (no connection, no answer) that open the breaker; 0 = off
    breaker_cooldown_s: int = 30  # wall seconds the rule-based advisor answers alone once it opens, doubling...
    breaker_cooldown_cap_s: int = 600  # ...after each failed retry, up to this
    # the built-in "trend" strategy's parameters (actors/strategy/builtin/trend.py); sigma_H = vol_hourly over the horizon
    rule_strategy: str = "trend"  # deprecated alias of [strategy] name (trend | maker), kept for old files
    rule_horizon_s: int = 14400  # holding horizon: the time limit of its exit plan
    rule_target_vol: Decimal = Decimal("1")  # take profit this many sigma_H above the entry
    rule_stop_vol: Decimal = Decimal("1")  # stop this many sigma_H below the entry
    rule_fee_margin: Decimal = Decimal("2")  # buy only if the target clears (2 fees + min_profit) this many times
    mode: str = "live"  # live: ask, store nothing | record: ask and store | replay: answer from the store only
    store_path: str = "data/advice.sqlite3"  # the advice store (record and replay)
    replay_match: str = "exact"  # exact: the same prompt only | nearest: else the latest earlier answer (same state)
    role: str = "advisor"  # advisor: the model prices every decision | confirm: it confirms the strategy's | off
    confirm_default: str = "reject"  # confirm: what a timeout or a broken answer means (reject | accept)


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingSettings:
    quote_per_trade: Decimal = Decimal("10")
    fee_rate: Decimal = Decimal("0.001")  # the shortcut: sets maker_fee and taker_fee both
    maker_fee: Decimal = Decimal("0.001")  # a resting limit that fills later
    taker_fee: Decimal = Decimal("0.001")  # an order marketable when placed (a stop sold at the bid)
    bnb_discount: Decimal = Decimal(0)  # fraction off both when fees are paid in BNB (0.25 on Binance)
    min_profit: Decimal = Decimal("0.002")
    order_timeout_s: int = 120
    stop_loss: Decimal = Decimal("0.05")  # fraction below entry; 0 = off (break-even only: see settings.toml)
    max_trades: int = 0  # stop buying after this many round trips; 0 = no limit


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskSettings:
    """The one gate's limits; every order passes them, whoever proposed it (state_keeper/risk.py)."""

    capital: Decimal = Decimal(10)  # quote the bot may use; equity = capital + P&L
    sizing: str = "fixed"  # fixed: trading.quote_per_trade | equity: equity_fraction of equity
    equity_fraction: Decimal = Decimal(1)
    confidence_sizing: bool = False  # scale a buy by the advice's confidence...
    min_size_fraction: Decimal = Decimal("0.5")  # ...between these fractions of the size
    max_size_fraction: Decimal = Decimal(1)
    max_exposure: Decimal = Decimal(0)  # quote held at most (0 = no limit beyond equity)
    stop_loss_vol: Decimal = Decimal(0)  # stop this many volatilities below entry (0 = off)
    take_profit: Decimal = Decimal(0)  # fraction above cost (0 = off)
    trailing_stop: Decimal = Decimal(0)  # fraction below the highest bid since entry (0 = off)
    max_holding_s: int = 86400  # sell after this long in a position (0 = no limit)
    max_drawdown: Decimal = Decimal("0.12")  # equity this fraction of capital below its peak: HALTED
    flatten_on_halt: bool = True  # and sell what is held when halted
    daily_loss_limit: Decimal = Decimal("0.05")  # equity down this fraction of capital today: no buys till tomorrow
    cooldown_after_stop_s: int = 3600  # no buys this long after a stop-loss
    max_consecutive_losses: int = 3  # pause buying after this many losing trades in a row (0 = off)
    loss_pause_s: int = 21600  # ...for this long
    retry_initial_s: int = 5  # after a rejected order, wait this long (market time) before the next...
    retry_max_s: int = 300  # ...doubling up to this


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageSettings:
    path: str = "data/trader.sqlite3"  # live runs insert their mode: data/trader.paper.sqlite3, data/trader.real.sqlite3


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusSettings:
    host: str = "127.0.0.1"
    port: int = 8765
    token: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggingSettings:
    level: str = "INFO"
    file: str = "logs/trader.jsonl"
    rotation: str = "10 MB"
    retention: int = 5
    console_level: str = "WARNING"  # stderr: warnings and errors; progress lines go to stdout regardless
    file_level: str = ""  # the JSON file; "" = `level`


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifySettings:
    """Notifications (actors/notify/): secrets come from the environment, never from here."""

    channels: tuple[str, ...] = ()  # telegram, webhook; none = the notifier does not start
    events: tuple[str, ...] = ("trade_closed", "halted", "denials", "errors", "daily_summary", "stopped")
    rate_per_minute: int = 20  # messages a channel sends at most in any minute; more wait (a few are dropped)
    burst_s: int = 60  # denials and errors within this many seconds make one message
    backtests: bool = False  # also notify from synthetic and replay runs
    telegram_api_url: str = "https://api.telegram.org"  # the Bot API (a local Bot API server, a test stand-in)
    timeout_s: int = 10  # one delivery attempt
    # the owner's chat (issue 28): commands, and entries that wait for approval
    telegram_commands: bool = False  # answer commands from TELEGRAM_CHAT_ID (long polling); needs "telegram" in channels
    telegram_admins: tuple[int, ...] = ()  # Telegram user ids allowed to change anything (pause, halt, approve...)
    approve_entries: str = "false"  # "false" | "true" (every entry waits for Approve) | "model" (the model's only)
    approve_timeout_s: int = 300  # an entry nobody answered within this (market time) is dropped


StrategyParams = tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategySettings:
    """Which strategy decides (actors/strategy/): a built-in, a file of the user's or a module."""

    name: str = "breakout"  # breakout | trend | maker | ema_trend | rsi_dip | "file.py:Class" | "package.module:Class"
    timeout_ms: int = 250  # CPU time one bar may take (on_bar + decide); over it, the answer is a hold
    params: StrategyParams = ()  # [strategy.params]: the constructor's keyword arguments, sorted by name


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSettings:
    """`bootstrap.py download` (actors/download/): where Binance's public files come from, how many at a time."""

    base_url: str = "https://data.binance.vision"  # a mirror, or a test stand-in
    max_parallel: int = 4  # files fetched at a time


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    symbol: str = "TRUMPUSDC"
    exchange: ExchangeSettings = field(default_factory=ExchangeSettings)
    market: MarketSettings = field(default_factory=MarketSettings)
    ai: AISettings = field(default_factory=AISettings)
    trading: TradingSettings = field(default_factory=TradingSettings)
    risk: RiskSettings = field(default_factory=RiskSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    status: StatusSettings = field(default_factory=StatusSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    strategy: StrategySettings = field(default_factory=StrategySettings)
    data: DataSettings = field(default_factory=DataSettings)
    # dotted keys set explicitly (file or overrides), e.g. "exchange.tick_size"; not part of equality
    given: frozenset[str] = field(default=frozenset(), compare=False)


_SECTIONS: dict[str, type] = {
    "exchange": ExchangeSettings,
    "market": MarketSettings,
    "ai": AISettings,
    "trading": TradingSettings,
    "risk": RiskSettings,
    "storage": StorageSettings,
    "status": StatusSettings,
    "logging": LoggingSettings,
    "notify": NotifySettings,
    "strategy": StrategySettings,
    "data": DataSettings,
}

_CHOICES: dict[str, tuple[str, ...]] = {
    "exchange.kind": ("paper", "binance"),
    "exchange.network": ("mainnet", "testnet"),
    "market.source": ("synthetic", "replay", "binance"),
    "risk.sizing": ("fixed", "equity"),
    "ai.mode": ("live", "record", "replay"),
    "ai.replay_match": ("exact", "nearest"),
    "market.candle_fills": ("next_bar", "path"),
    "ai.rule_strategy": ("trend", "maker"),
    "ai.role": ("advisor", "confirm", "off"),
    "ai.confirm_default": ("reject", "accept"),
    "logging.level": ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"),
    "logging.console_level": ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"),
    "logging.file_level": ("", "TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"),
}


def load_settings(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Read FILE over the defaults, apply dotted `overrides` ("market.source"), validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise SettingsError(f"settings file {str(p)!r} does not exist")
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"settings file {str(p)!r} is not valid TOML: {exc}") from None
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        *parents, key = dotted.split(".")
        target = raw
        for part in parents:  # "strategy.params.period" reaches into [strategy.params]
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise SettingsError(f"{dotted}: {part} is not a table")
        target[key] = value
    given = frozenset(f"{k}.{sub}" if isinstance(v, dict) else k for k, v in raw.items()
                      for sub in (v if isinstance(v, dict) else (None,)))
    return replace(from_dict(raw), given=given)


def from_dict(raw: dict[str, Any]) -> Settings:
    settings = Settings()
    top: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise SettingsError(f"[{key}] must be a table")
            top[key] = _section(key, _SECTIONS[key], value)
        elif key == "symbol":
            top[key] = _convert("symbol", str, value)
        else:
            allowed = ", ".join(["symbol", *(f"[{s}]" for s in _SECTIONS)])
            raise SettingsError(f"unknown setting {key!r}; allowed at the top level: {allowed}")
    settings = replace(settings, **top)
    from actors.settings_links import resolve  # keys that set others: fee_rate, exchange.network

    settings = resolve(settings, raw)
    if "name" not in raw.get("strategy", {}) and "rule_strategy" in raw.get("ai", {}):
        # the old key still chooses: `deprecations` says so once at start
        settings = replace(settings, strategy=replace(settings.strategy, name=settings.ai.rule_strategy))
    validate(settings)
    return settings


def deprecations(settings: Settings) -> list[str]:
    """Old keys that still work, each with what to write instead (logged once at start)."""
    out = []
    if "ai.rule_strategy" in settings.given:
        out.append(f"[ai] rule_strategy is deprecated: write [strategy] name = {settings.strategy.name!r} instead")
    return out


def _params(values: Any) -> StrategyParams:
    """[strategy.params] as a sorted, hashable tuple; its values are the strategy's to check."""
    if not isinstance(values, dict):
        raise SettingsError("[strategy.params] must be a table of the strategy's constructor arguments")

    def frozen(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(frozen(x) for x in v)
        if isinstance(v, dict):
            raise SettingsError(f"strategy.params: nested tables are not supported ({v!r})")
        return v

    for key in values:
        if not str(key).isidentifier():
            raise SettingsError(f"strategy.params.{key} is not a Python argument name")
    return tuple(sorted((str(k), frozen(v)) for k, v in values.items()))


def _section(name: str, cls: type, values: dict[str, Any]) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            raise SettingsError(f"unknown setting {name}.{key}; allowed: {', '.join(sorted(known))}")
        if cls is StrategySettings and key == "params":
            kwargs[key] = _params(value)
            continue
        default = getattr(cls(), key)
        special = _SPECIAL.get(f"{name}.{key}")
        kwargs[key] = special(value) if special else _convert(f"{name}.{key}", type(default), value)
    return cls(**kwargs)


def _convert(key: str, kind: type, value: Any) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise SettingsError(f"{key} must be true or false, not {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{key} must be a whole number, not {value!r}")
        return value
    if kind is Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise SettingsError(f"{key} must be a number (a quoted string keeps it exact), not {value!r}")
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            raise SettingsError(f"{key} must be a number, not {value!r}") from None
        if not d.is_finite():
            raise SettingsError(f"{key} must be a finite number, not {value!r}")
        return d
    if kind is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{key} must be a list of strings, not {value!r}")
        return tuple(value)
    if not isinstance(value, str):
        raise SettingsError(f"{key} must be a string, not {value!r}")
    return value


def _approve_entries(value: Any) -> str:
    """TOML's false / true, or "model": kept as the text the file gives."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value in APPROVE_ENTRIES:
        return str(value)
    raise SettingsError(f"notify.approve_entries must be false, true or \"model\" (the model's entries only), "
                        f"not {value!r}")


def _user_ids(value: Any) -> tuple[int, ...]:
    """Telegram user ids: whole numbers (quoted ones are taken too)."""
    if isinstance(value, list):
        ids = [v if isinstance(v, int) and not isinstance(v, bool) else int(v) if isinstance(v, str)
               and v.strip().isdigit() else None for v in value]
        if all(i is not None and i > 0 for i in ids):
            return tuple(i for i in ids if i is not None)
    raise SettingsError(f"notify.telegram_admins must be a list of Telegram user ids (positive whole numbers, "
                        f"e.g. [123456789]), not {value!r}")


APPROVE_ENTRIES = ("false", "true", "model")
_SPECIAL: dict[str, Any] = {"notify.approve_entries": _approve_entries, "notify.telegram_admins": _user_ids}


from actors.settings_checks import validate  # noqa: E402 - the checks need the classes above
