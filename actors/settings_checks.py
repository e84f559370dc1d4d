"""Settings' range and cross-field checks: every one raises `SettingsError` naming the key and what is allowed.

Split out of `settings.py`, which holds the sections, their defaults and the reading of a file.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from actors.settings import _CHOICES, APPROVE_ENTRIES, SettingsError

if TYPE_CHECKING:
    from actors.settings import DataSettings, NotifySettings, RiskSettings, Settings


def _positive(key: str, value: Decimal | int, *, zero_ok: bool = False) -> None:
    if value < 0 or (value == 0 and not zero_ok):
        allowed = ">= 0" if zero_ok else "> 0"
        raise SettingsError(f"{key} must be {allowed}, not {value}")


def validate(s: Settings) -> None:
    """Cross-field and range checks; raises SettingsError naming the first bad key."""
    for dotted, allowed in _CHOICES.items():
        section, key = dotted.split(".")
        value = getattr(getattr(s, section), key)
        if value not in allowed:
            raise SettingsError(f"{dotted} = {value!r} is not allowed; choose one of: {', '.join(allowed)}")
    if not s.symbol.isalnum() or not s.symbol.isupper():
        raise SettingsError(f"symbol must be an upper-case Binance symbol such as TRUMPUSDC, not {s.symbol!r}")
    if s.symbol != s.exchange.base_asset + s.exchange.quote_asset and s.exchange.kind == "paper":
        raise SettingsError(
            f"symbol {s.symbol!r} does not match exchange.base_asset + exchange.quote_asset "
            f"({s.exchange.base_asset}{s.exchange.quote_asset})"
        )
    e, m, a, t = s.exchange, s.market, s.ai, s.trading
    for key in ("rest_url",):
        if not getattr(e, key).startswith(("http://", "https://")):
            raise SettingsError(f"exchange.{key} must start with http:// or https://")
    if not e.ws_api_url.startswith(("ws://", "wss://")):
        raise SettingsError("exchange.ws_api_url must start with ws:// or wss://")
    if m.rest_url and not m.rest_url.startswith(("http://", "https://")):
        raise SettingsError("market.rest_url must be empty or start with http:// or https://")
    if not m.stream_url.startswith(("ws://", "wss://")):
        raise SettingsError("market.stream_url must start with ws:// or wss://")
    if not a.base_url.startswith(("http://", "https://")):
        raise SettingsError("ai.base_url must start with http:// or https://")
    if not 0 < e.recv_window_ms <= 60000:
        raise SettingsError(f"exchange.recv_window_ms must be in 1..60000, not {e.recv_window_ms}")
    for key in ("tick_size", "step_size", "min_qty", "max_qty"):
        _positive(f"exchange.{key}", getattr(e, key))
    _positive("exchange.min_notional", e.min_notional, zero_ok=True)
    _positive("exchange.paper_quote_balance", e.paper_quote_balance, zero_ok=True)
    _positive("exchange.exchange_info_refresh_s", e.exchange_info_refresh_s)
    if m.source == "replay" and not m.replay_path:
        raise SettingsError("market.replay_path must name a Binance public-data CSV, zip or folder when market.source = 'replay'")
    _positive("market.speed", m.speed, zero_ok=True)
    _positive("market.duration_s", m.duration_s)
    _positive("market.start_price", m.start_price)
    _positive("market.snapshot_interval_ms", m.snapshot_interval_ms)
    _positive("market.significant_move_bps", m.significant_move_bps)
    if not m.wide_bar_share > 0:
        raise SettingsError(f"market.wide_bar_share must be above 0 (a share of a bar's open), not {m.wide_bar_share}")
    if not 0 <= m.touch_fill_prob <= 1:
        raise SettingsError(f"market.touch_fill_prob must be in [0, 1] (0 = a touch never fills), not {m.touch_fill_prob}")
    for key in ("book_levels", "window_s", "candles", "stale_after_s"):
        _positive(f"market.{key}", getattr(m, key))
    _positive("market.trend_fast_s", m.trend_fast_s)
    if m.trend_slow_s <= m.trend_fast_s:
        raise SettingsError(f"market.trend_slow_s must be > market.trend_fast_s ({m.trend_fast_s}), not {m.trend_slow_s}")
    _positive("market.regime_band", m.regime_band, zero_ok=True)
    if m.depth_limit not in (5, 10, 20, 50, 100, 500, 1000, 5000):
        raise SettingsError(f"market.depth_limit must be one of 5, 10, 20, 50, 100, 500, 1000, 5000, not {m.depth_limit}")
    if not a.model or "/" not in a.model:
        raise SettingsError(f"ai.model must be an OpenRouter model id such as 'deepseek/deepseek-chat-v3.1', not {a.model!r}")
    _positive("ai.timeout_s", a.timeout_s)
    _positive("ai.cache_ttl_s", a.cache_ttl_s, zero_ok=True)
    if not 0 <= a.min_confidence <= 1:
        raise SettingsError(f"ai.min_confidence must be in [0, 1], not {a.min_confidence}")
    _positive("ai.cache_size", a.cache_size)
    if not 0 < a.price_band_pct < 1:
        raise SettingsError(f"ai.price_band_pct must be in (0, 1), not {a.price_band_pct}")
    _positive("ai.max_reasoning_chars", a.max_reasoning_chars)
    _positive("ai.max_tokens", a.max_tokens)
    _positive("ai.spend_cap_per_hour", a.spend_cap_per_hour, zero_ok=True)
    _positive("ai.breaker_failures", a.breaker_failures, zero_ok=True)
    _positive("ai.breaker_cooldown_s", a.breaker_cooldown_s)
    if a.breaker_cooldown_cap_s < a.breaker_cooldown_s:
        raise SettingsError(f"ai.breaker_cooldown_cap_s must be >= ai.breaker_cooldown_s ({a.breaker_cooldown_s}), "
                            f"not {a.breaker_cooldown_cap_s}")
    for key in ("rule_horizon_s", "rule_target_vol", "rule_stop_vol"):
        _positive(f"ai.{key}", getattr(a, key))
    _positive("ai.rule_fee_margin", a.rule_fee_margin, zero_ok=True)
    if a.mode != "live" and not a.store_path:
        raise SettingsError(f"ai.mode = {a.mode!r} needs ai.store_path (the advice store file)")
    _positive("trading.quote_per_trade", t.quote_per_trade)
    for key in ("maker_fee", "taker_fee", "fee_rate"):  # fee_rate may be derived from the other two: named last
        if not 0 <= getattr(t, key) < Decimal("0.02"):
            raise SettingsError(f"trading.{key} must be in [0, 0.02), not {getattr(t, key)}")
    if not 0 <= t.bnb_discount < 1:
        raise SettingsError(f"trading.bnb_discount must be in [0, 1) (0.25 = a quarter off when fees are paid in BNB; "
                            f"0 = not paid in BNB), not {t.bnb_discount}")
    if not 0 <= t.min_profit < 1:
        raise SettingsError(f"trading.min_profit must be in [0, 1), not {t.min_profit}")
    _positive("trading.order_timeout_s", t.order_timeout_s)
    if not 0 <= t.stop_loss < 1:
        raise SettingsError(f"trading.stop_loss must be in [0, 1) (0 = off), not {t.stop_loss}")
    _positive("trading.max_trades", t.max_trades, zero_ok=True)
    _validate_risk(s.risk)
    if not s.storage.path:
        raise SettingsError("storage.path must name a file (':memory:' keeps the journal in memory)")
    if not 0 <= s.status.port <= 65535:
        raise SettingsError(f"status.port must be in 0..65535 (0 = off), not {s.status.port}")
    _validate_notify(s.notify)
    if not s.strategy.name.strip():
        raise SettingsError("strategy.name must be trend, maker, 'path/to/file.py:ClassName' or 'package.module:ClassName'")
    _positive("strategy.timeout_ms", s.strategy.timeout_ms)
    _validate_data(s.data)


def _validate_risk(r: RiskSettings) -> None:
    _positive("risk.capital", r.capital)
    for key in ("equity_fraction", "min_size_fraction", "max_size_fraction"):
        value = getattr(r, key)
        if not 0 < value <= 1:
            raise SettingsError(f"risk.{key} must be in (0, 1], not {value}")
    if r.min_size_fraction > r.max_size_fraction:
        raise SettingsError(f"risk.min_size_fraction ({r.min_size_fraction}) must not exceed risk.max_size_fraction "
                            f"({r.max_size_fraction})")
    for key in ("max_drawdown", "daily_loss_limit", "trailing_stop"):
        value = getattr(r, key)
        if not 0 <= value < 1:
            raise SettingsError(f"risk.{key} must be in [0, 1) (0 = off), not {value}")
    for key in ("max_exposure", "stop_loss_vol", "take_profit"):
        _positive(f"risk.{key}", getattr(r, key), zero_ok=True)
    for key in ("max_holding_s", "cooldown_after_stop_s", "max_consecutive_losses", "loss_pause_s"):
        _positive(f"risk.{key}", getattr(r, key), zero_ok=True)
    _positive("risk.retry_initial_s", r.retry_initial_s)
    if r.retry_max_s < r.retry_initial_s:
        raise SettingsError(f"risk.retry_max_s ({r.retry_max_s}) must be >= risk.retry_initial_s ({r.retry_initial_s})")
    if r.max_consecutive_losses and not r.loss_pause_s:
        raise SettingsError("risk.loss_pause_s must be > 0 when risk.max_consecutive_losses is set "
                            "(how long to pause buying after the losing streak)")


NOTIFY_CHANNELS = ("telegram", "webhook")
NOTIFY_EVENTS = ("trade_closed", "halted", "risk", "denials", "blocked", "errors", "daily_summary", "stopped")


def _validate_notify(n: NotifySettings) -> None:
    for key, allowed in (("channels", NOTIFY_CHANNELS), ("events", NOTIFY_EVENTS)):
        bad = [v for v in getattr(n, key) if v not in allowed]
        if bad:
            raise SettingsError(f"notify.{key} has {', '.join(map(repr, bad))}; choose from: {', '.join(allowed)}")
    for key in ("rate_per_minute", "burst_s", "timeout_s"):
        _positive(f"notify.{key}", getattr(n, key))
    if not n.telegram_api_url.startswith(("http://", "https://")):
        raise SettingsError("notify.telegram_api_url must start with http:// or https://")
    if n.approve_entries not in APPROVE_ENTRIES:
        raise SettingsError(f"notify.approve_entries must be false, true or \"model\", not {n.approve_entries!r}")
    _positive("notify.approve_timeout_s", n.approve_timeout_s)
    if n.telegram_commands and "telegram" not in n.channels:
        raise SettingsError('notify.telegram_commands = true needs "telegram" in notify.channels (the same bot '
                            "and chat answer the commands)")
    if any(not isinstance(i, int) or i <= 0 for i in n.telegram_admins):
        raise SettingsError(f"notify.telegram_admins must be Telegram user ids (positive whole numbers), "
                            f"not {list(n.telegram_admins)!r}")


DATA_MAX_PARALLEL = 32


def _validate_data(d: DataSettings) -> None:
    if not d.base_url.startswith(("http://", "https://")):
        raise SettingsError(f"data.base_url must start with http:// or https:// (default https://data.binance.vision), "
                            f"not {d.base_url!r}")
    if not 1 <= d.max_parallel <= DATA_MAX_PARALLEL:
        raise SettingsError(f"data.max_parallel must be in 1..{DATA_MAX_PARALLEL} (files fetched at a time), "
                            f"not {d.max_parallel}")
