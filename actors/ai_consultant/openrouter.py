"""The OpenRouter HTTP client: coroutines that run on the consultant's own loop thread.

One hard deadline covers connecting, every retry and reading the body: a
price advice that arrives late is worse than none. Inside it, 429/503 honour
`Retry-After` when it fits, other 5xx, 408 and network errors back off with
full jitter, and 400/401/402/403/404 are never retried (reference/openrouter.md
section 2). Bodies are read as text and parsed here, because edge errors can be
HTML. The API key goes into one header and nowhere else: every error text is
passed through `redact` before it leaves this module.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp

from actors.ai_consultant.advice import RETRYABLE_CODES, ReplyError, content_from_body
from actors.messages import ZERO
from actors.secrets import Secret, redact
from actors.settings import AISettings

SUGGESTED_MODEL = "deepseek/deepseek-chat-v3.1"
MAX_ATTEMPTS = 4
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 4.0
NEVER_RETRY = frozenset({400, 401, 402, 403, 404, 413, 422})
CONFIG_ERRORS = frozenset({400, 401, 402, 403, 404})  # a bad key, model id or account: stop calling


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = ZERO

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cost + other.cost,
        )


@dataclass(frozen=True, slots=True)
class Completion:
    """A chat completion that passed the envelope checks; `content` is not parsed yet."""

    content: str
    model: str | None
    usage: Usage
    latency_ms: int
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """One HTTP attempt, classified: either `content`, or a reason and whether to retry."""

    content: str | None = None
    model: str | None = None
    usage: Usage = Usage()
    reason: str = ""
    status: int | None = None
    retryable: bool = False
    retry_after: float | None = None


class OpenRouterError(Exception):
    """A call that produced no answer; the text is redacted and safe to log."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        kind: str = "http",
        usage: Usage = Usage(),
        attempts: int = 0,
        latency_ms: int = 0,
    ) -> None:
        self.reason = redact(reason)
        super().__init__(self.reason)
        self.status = status
        self.kind = kind  # http | reply | network | timeout
        self.usage = usage
        self.attempts = attempts
        self.latency_ms = latency_ms

    @property
    def fatal(self) -> bool:
        """A key, credit or model-id problem that another call will not fix."""
        return self.status in CONFIG_ERRORS


# -- pure helpers -------------------------------------------------------------------


def build_body(ai: AISettings, messages: list[dict[str, str]], fallbacks: Sequence[str] | None = None) -> dict[str, Any]:
    """The chat request: deterministic, JSON mode, reasoning off so it cannot eat max_tokens."""
    models = [m for m in (ai.fallback_models if fallbacks is None else fallbacks) if m != ai.model]
    body: dict[str, Any] = {
        "model": ai.model,
        "messages": messages,
        "temperature": 0,
        "max_tokens": ai.max_tokens,
        "response_format": {"type": "json_object"},
        "reasoning": {"enabled": False},
    }
    if models:
        body["models"] = models
    return body


def _usage_from(body: Any) -> Usage:
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return Usage()

    def count(name: str) -> int:
        value = usage.get(name)
        try:
            return max(int(value), 0) if value is not None and not isinstance(value, bool) else 0
        except (ValueError, TypeError, ArithmeticError):
            return 0

    try:
        cost = Decimal(str(usage.get("cost") or 0))
    except (InvalidOperation, ValueError):
        cost = ZERO
    if not cost.is_finite() or cost < 0:
        cost = ZERO
    return Usage(count("prompt_tokens"), count("completion_tokens"), cost)


def _retry_after(headers: Mapping[str, str], body: Any) -> float | None:
    """Seconds from `Retry-After` (or the body's `availability.retry_after`); dates are ignored."""
    candidates: list[Any] = [headers.get("Retry-After")]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("availability"), dict):
        candidates.append(error["availability"].get("retry_after"))
    for value in candidates:
        try:
            seconds = float(str(value).strip())
        except (TypeError, ValueError):
            continue
        if 0 <= seconds < 86400:
            return seconds
    return None


def _error_text(body: Any, text: str) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        meta = error.get("metadata")
        kind = meta.get("error_type") if isinstance(meta, dict) else None
        avail = error.get("availability")
        code = avail.get("code") if isinstance(avail, dict) else None
        extra = ", ".join(str(x) for x in (kind, code) if x)
        return f"{str(error.get('message', ''))[:200]}" + (f" ({extra})" if extra else "")
    return " ".join(text[:120].split()) or "(empty body)"


def classify_response(status: int, text: str, headers: Mapping[str, str]) -> Outcome:
    """Decide what one HTTP answer means: content, a retryable failure or a final one."""
    try:
        body = json.loads(text, parse_float=Decimal) if text.strip() else None
    except (ValueError, RecursionError):
        body = None
    usage = _usage_from(body)
    if status != 200:
        retryable = status not in NEVER_RETRY and (status in RETRYABLE_CODES or status >= 500)
        return Outcome(
            reason=f"HTTP {status}: {_error_text(body, text)}", status=status, usage=usage,
            retryable=retryable, retry_after=_retry_after(headers, body),
        )
    if body is None:
        return Outcome(reason=f"HTTP 200 with a body that is not json: {_error_text(None, text)}", status=200, retryable=True)
    try:
        content = content_from_body(body)
    except ReplyError as e:
        return Outcome(
            reason=e.reason, status=e.code or 200, usage=usage,
            retryable=e.retryable, retry_after=_retry_after(headers, body),
        )
    model = body.get("model") if isinstance(body.get("model"), str) else None
    return Outcome(content=content, model=model, usage=usage, status=200)


def retry_delay(attempt: int, outcome: Outcome, remaining_s: float, rand: Callable[[], float]) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None to give up now."""
    if not outcome.retryable or attempt >= MAX_ATTEMPTS:
        return None
    if outcome.retry_after is not None and outcome.status in (429, 503):
        return outcome.retry_after if outcome.retry_after < remaining_s else None
    delay = rand() * min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
    return delay if delay < remaining_s else None


def unknown_models(configured: Sequence[str], known: frozenset[str]) -> list[str]:
    return [m for m in configured if m not in known]


def model_hint(ids: Sequence[str]) -> str:
    """One clear sentence for a wrong model id, with the id to use instead."""
    names = ", ".join(repr(m) for m in ids)
    text = (
        f"OpenRouter does not know the model id {names}: set [ai] model and fallback_models to "
        f"OpenRouter ids such as {SUGGESTED_MODEL!r}"
    )
    hf = [m for m in ids if m.startswith("deepseek-ai/")]
    if hf:
        text += (
            f" ({', '.join(repr(m) for m in hf)} is a Hugging Face repo id; OpenRouter rejects it with "
            "400 model_not_found, and its DeepSeek ids start with 'deepseek/')"
        )
    return text


# -- the client ---------------------------------------------------------------------


class OpenRouterClient:
    """Owns one aiohttp session; every method must run on the loop that created it."""

    def __init__(self, base_url: str, api_key: Secret, *, title: str = "trump-trader") -> None:
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._title = title
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"OpenRouterClient({self._base!r}, key={self._key!r})"

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._key.reveal()}",
            "Content-Type": "application/json",
            "X-OpenRouter-Title": self._title,
        }

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8))
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def _send(self, method: str, path: str, data: str | None, timeout_s: float) -> tuple[int, str, Mapping[str, str]]:
        session = self._get_session()
        timeout = aiohttp.ClientTimeout(total=max(timeout_s, 0.001))
        async with session.request(method, self._base + path, data=data, headers=self._headers(), timeout=timeout) as resp:
            text = await resp.text(errors="replace")
            return resp.status, text, resp.headers

    async def complete(
        self, body: dict[str, Any], deadline_s: float, rand: Callable[[], float] = random.random
    ) -> Completion:
        """POST /chat/completions with retries, all inside `deadline_s`; raises OpenRouterError."""
        data = json.dumps(body)
        started = time.monotonic()
        usage, attempt, last = Usage(), 0, Outcome()

        def elapsed_ms() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            async with asyncio.timeout(deadline_s):
                while True:
                    attempt += 1
                    try:
                        status, text, headers = await self._send(
                            "POST", "/chat/completions", data, deadline_s - (time.monotonic() - started)
                        )
                        last = classify_response(status, text, headers)
                    except (aiohttp.ClientError, OSError) as e:
                        if isinstance(e, TimeoutError):
                            raise
                        last = Outcome(reason=f"network error: {type(e).__name__}: {e}", retryable=True)
                    usage += last.usage
                    if last.content is not None:
                        return Completion(last.content, last.model, usage, elapsed_ms(), attempt)
                    delay = retry_delay(attempt, last, deadline_s - (time.monotonic() - started), rand)
                    if delay is None:
                        kind = "http" if last.status not in (None, 200) else ("reply" if last.status else "network")
                        raise OpenRouterError(
                            last.reason, status=last.status, kind=kind, usage=usage, attempts=attempt,
                            latency_ms=elapsed_ms(),
                        )
                    await asyncio.sleep(delay)
        except TimeoutError:
            why = f"no answer within {deadline_s:g} s after {attempt} attempt(s)"
            if last.reason:
                why += f"; last: {last.reason}"
            raise OpenRouterError(why, kind="timeout", usage=usage, attempts=attempt, latency_ms=elapsed_ms()) from None

    async def list_models(self, deadline_s: float) -> frozenset[str]:
        """GET /models: the ids OpenRouter serves now (to check the configured ones at start)."""
        try:
            async with asyncio.timeout(deadline_s):
                status, text, _headers = await self._send("GET", "/models", None, deadline_s)
        except TimeoutError:
            raise OpenRouterError(f"GET /models: no answer within {deadline_s:g} s", kind="timeout") from None
        except (aiohttp.ClientError, OSError) as e:
            raise OpenRouterError(f"GET /models: {type(e).__name__}: {e}", kind="network") from None
        if status != 200:
            raise OpenRouterError(f"GET /models: HTTP {status}: {_error_text(None, text)}", status=status)
        try:
            data = json.loads(text).get("data")
            return frozenset(m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str))
        except (ValueError, AttributeError, TypeError, KeyError):
            raise OpenRouterError("GET /models: the answer is not a model list", status=status, kind="reply") from None
