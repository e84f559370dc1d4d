"""Where notes go: Telegram (through aiogram) and a generic JSON webhook (aiohttp).

Both run on the notifier's loop thread only: `send` is a coroutine that
delivers one note or raises `ChannelError` with a redacted, secret-free
message; `close` releases the HTTP session. Secrets (the bot token, the
webhook URL and its signing key) are `Secret`s: they appear in no note, no
log line and no exception text.

aiogram rather than python-telegram-bot: it runs on aiohttp, the HTTP client
the bot already uses (one HTTP stack, one kind of session and timeout), is
asynchronous throughout, and takes any Bot API base URL
(`TelegramAPIServer.from_base`), so tests point it at a stand-in on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Protocol

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import LinkPreviewOptions
from aiogram.utils.token import TokenValidationError, validate_token

from actors._lib.secrets import Secret, redact
from actors.notify.notes import Note

SIGNATURE_HEADER = "X-Trader-Signature"  # sha256=HMAC(secret, "<timestamp>.<body>"), hex
TIMESTAMP_HEADER = "X-Trader-Timestamp"  # unix seconds, signed with the body: a receiver can refuse replays
TELEGRAM_MAX = 4096


class ChannelError(Exception):
    """A delivery failed; the text is safe to log. `retry_after_s` is the endpoint's own wait, if it gave one."""

    def __init__(self, text: str, retry_after_s: float = 0.0) -> None:
        super().__init__(redact(text))
        self.retry_after_s = retry_after_s


class Channel(Protocol):
    name: str

    async def send(self, note: Note) -> None: ...

    async def close(self) -> None: ...


def _why(exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {exc}")


def chat_id_of(text: str) -> int | str:
    """A numeric chat id as a number (users, groups: -100...), a @channel name as it is."""
    t = text.strip()
    return int(t) if t.lstrip("-").isdigit() else t


class TelegramChannel:
    """Sends each note as a plain-text message (no parse mode: nothing in a note needs escaping)."""

    name = "telegram"

    def __init__(self, token: Secret, chat_id: str, *, api_url: str, timeout_s: float) -> None:
        try:
            validate_token(token.reveal())
        except TokenValidationError:
            raise ValueError("TELEGRAM_BOT_TOKEN is not a bot token (BotFather gives one like 123456:ABC-...)") from None
        if not chat_id.strip():
            raise ValueError("TELEGRAM_CHAT_ID is empty")
        self._token = token
        self._chat: int | str = chat_id_of(chat_id)
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_url), timeout=timeout_s)
        self._bot = Bot(token.reveal(), session=session)

    async def send(self, note: Note) -> None:
        try:
            await self._bot.send_message(chat_id=self._chat, text=note.text[:TELEGRAM_MAX],
                                         link_preview_options=LinkPreviewOptions(is_disabled=True))
        except TelegramRetryAfter as exc:
            raise ChannelError(f"Telegram asks to wait {exc.retry_after} s (rate limit)", exc.retry_after) from None
        except TelegramAPIError as exc:
            raise ChannelError(f"Telegram: {_why(exc)}") from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ChannelError(f"Telegram unreachable: {_why(exc)}") from None

    async def close(self) -> None:
        await self._bot.session.close()


class WebhookChannel:
    """POSTs each note as JSON (`Note.payload`); signed with HMAC-SHA256 when a secret is set."""

    name = "webhook"

    def __init__(self, url: Secret, secret: Secret | None, *, symbol: str, timeout_s: float) -> None:
        if not url.reveal().startswith(("http://", "https://")):
            raise ValueError("NOTIFY_WEBHOOK_URL must start with http:// or https://")
        self._url, self._secret, self._symbol = url, secret, symbol
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def headers(self, body: bytes, now_s: int | None = None) -> dict[str, str]:
        out = {"Content-Type": "application/json"}
        if self._secret:
            ts = str(int(time.time()) if now_s is None else now_s)
            out[TIMESTAMP_HEADER] = ts
            out[SIGNATURE_HEADER] = "sha256=" + sign(self._secret, ts, body)
        return out

    async def send(self, note: Note) -> None:
        body = json.dumps(note.payload(self._symbol), sort_keys=True).encode()
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(self._url.reveal(), data=body, headers=self.headers(body),
                                          allow_redirects=False) as resp:
                if resp.status >= 300:
                    raise ChannelError(f"webhook answered HTTP {resp.status}", _retry_after(resp.headers))
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ChannelError(f"webhook unreachable: {_why(exc)}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def sign(secret: Secret, timestamp: str, body: bytes) -> str:
    """What a receiver recomputes: hex HMAC-SHA256 of "<timestamp>.<body>" under the shared secret."""
    return hmac.new(secret.reveal().encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _retry_after(headers: Any) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After", 0)))
    except (TypeError, ValueError):
        return 0.0
