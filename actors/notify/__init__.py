"""Notifications: Telegram and a JSON webhook, told about trades, halts, denial bursts, errors, each day.

`start_notifier` is the one call `actors/app.py` makes: it reads the secrets
from the environment (`TELEGRAM_BOT_TOKEN`, `TELEGRAM_CHAT_ID`,
`NOTIFY_WEBHOOK_URL`, optional `NOTIFY_WEBHOOK_SECRET`), builds the channels
`[notify] channels` names, and starts the actor, which subscribes to the
keeper's events. A channel whose secrets are missing or malformed costs one
warning and stays off; the bot trades on. With `[notify] telegram_commands`,
`build_operator` adds the owner's chat (`telegram_bot.Operator`: commands and
the Approve / Reject buttons of entries that wait for approval).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import pykka
from loguru import logger

from actors._lib.secrets import from_env
from actors.messages import GetStats
from actors.settings import Settings

if TYPE_CHECKING:
    from actors.messages import Clock
    from actors.notify.channels import Channel
    from actors.notify.telegram_bot import Operator

__all__ = ["build_channels", "build_operator", "start_notifier"]


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The channels `[notify] channels` asks for whose secrets are in the environment."""
    from actors.notify.channels import TelegramChannel, WebhookChannel

    n, out = settings.notify, dict[str, "Channel"]()
    for name in n.channels:
        try:
            if name == "telegram":
                # the chat id is an address, not a secret: as a Secret its digits would be redacted from every log line
                token, chat = from_env("TELEGRAM_BOT_TOKEN"), os.environ.get("TELEGRAM_CHAT_ID", "").strip()
                if token is None or not chat:
                    raise ValueError("TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID must both be set in the environment or .env")
                out[name] = TelegramChannel(token, chat, api_url=n.telegram_api_url, timeout_s=n.timeout_s)
            elif name == "webhook":
                url = from_env("NOTIFY_WEBHOOK_URL")
                if url is None:
                    raise ValueError("NOTIFY_WEBHOOK_URL must be set in the environment or .env")
                out[name] = WebhookChannel(url, from_env("NOTIFY_WEBHOOK_SECRET"), symbol=settings.symbol,
                                           timeout_s=n.timeout_s)
        except ValueError as exc:
            logger.warning("notifier: the {} channel is off: {}", name, exc)
    return out


def build_operator(settings: Settings, keeper: pykka.ActorRef[Any], *, clock: Clock | None = None,
                   poll_s: int = 25) -> Operator | None:
    """The owner's chat (commands, approval buttons) when `[notify] telegram_commands` is on and Telegram is set up."""
    n = settings.notify
    if not n.telegram_commands or "telegram" not in n.channels:
        return None
    from actors.notify.telegram_bot import Operator

    token, chat = from_env("TELEGRAM_BOT_TOKEN"), os.environ.get("TELEGRAM_CHAT_ID", "").strip()
    if token is None or not chat:
        logger.warning("notifier: telegram commands are off: TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID must both be set")
        return None
    if not n.telegram_admins:
        logger.warning("notifier: notify.telegram_admins is empty: the chat may read (/status...) but not pause, "
                       "halt, sell, cancel or approve")
    kind, source = settings.exchange.kind, settings.market.source
    mode = "LIVE" if kind == "binance" else "BACKTEST" if source in ("synthetic", "replay") else "PAPER"
    return Operator(token, chat, api_url=n.telegram_api_url, timeout_s=n.timeout_s, admins=frozenset(n.telegram_admins),
                    keeper=keeper, mode=mode, symbol=settings.symbol, quote=settings.exchange.quote_asset,
                    clock=clock or (lambda: time.time_ns() // 1_000_000), poll_s=poll_s)


def start_notifier(settings: Settings, keeper: pykka.ActorRef[Any], *, backtest: bool) -> dict[str, pykka.ActorRef[Any]]:
    """{"notify": ref} when a channel is configured and usable, else {} (and nothing runs)."""
    n = settings.notify
    if not n.channels or (backtest and not n.backtests):
        return {}
    channels = build_channels(settings)
    if not channels:
        return {}
    from actors.notify.actor import NotifierActor

    operator = build_operator(settings, keeper) if "telegram" in channels else None
    ref = NotifierActor.start(settings, keeper, channels, market_time=backtest, operator=operator)
    ref.ask(GetStats(), timeout=30)  # ready: it has subscribed
    return {"notify": ref}
