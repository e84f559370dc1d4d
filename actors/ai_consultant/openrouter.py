"""OpenRouter, one `ChatClient`: its HTTP client, its envelope and its status rules.

The coroutines run on the consultant's own loop thread. One hard deadline
covers connecting, every retry and reading the body: a price advice that
arrives late is worse than none. Inside it, 429/503 honour `Retry-After` when
it fits; other 5xx, 408, an unusable 200 and a broken connection back off with
full jitter (`Backoff`, band (0, 1)); 400/401/402/403/404 are never retried
(reference/openrouter.md section 2). A host that cannot be connected to at all
is not retried inside the call either: that is the breaker's job, across calls.
Bodies are read as text and parsed here, because edge errors can be HTML, and
errors can also come inside an HTTP 200 (`content_from_body`). The API key goes
into one header and nowhere else: every error text is passed through `redact`.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp

from actors._lib.backoff import Backoff
from actors._lib.secrets import Secret
from actors.ai_consultant.client import ChatError, Completion, FailureKind, Messages, Usage, Verdict
from actors.ai_consultant.reply import ReplyError
from actors.messages import ZERO
from actors.settings import AISettings

SUGGESTED_MODEL = "deepseek/deepseek-chat-v3.1"
MAX_ATTEMPTS = 4
BACKOFF_BASE_S = 0.25
BACKOFF_CAP_S = 4.0
NEVER_RETRY = frozenset({400, 401, 402, 403, 404, 413, 422})
CONFIG_ERRORS = frozenset({400, 401, 402, 403, 404})  # a bad key, model id or account: stop calling
RETRYABLE_CODES = frozenset({408, 429, 500, 502, 503, 504, 520, 522, 524, 529})
RETRY_JITTER = (0.0, 1.0)  # full jitter, as OpenRouter's and AWS's guidance recommend for many clients


@dataclass(frozen=True, slots=True)
class Outcome:
    """One HTTP attempt, classified: either `content`, or a reason and whether to retry."""

    content: str | None = None
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    reason: str = ""
    status: int | None = None
    retryable: bool = False
    retry_after: float | None = None
    kind: FailureKind | None = None  # connect | network: no HTTP answer; None: from the status


class OpenRouterError(ChatError):
    """A call to OpenRouter that produced no answer; the text is redacted and safe to log."""

    @property
    def fatal(self) -> bool:
        """A key, credit or model-id problem that another call will not fix."""
        return self.status in CONFIG_ERRORS


def classify_error(error: ChatError) -> Verdict:
    """Fatal for the config statuses, pause when OpenRouter was not reached, retry otherwise."""
    if error.status in CONFIG_ERRORS:
        return Verdict.FATAL
    if error.kind in ("connect", "timeout"):
        return Verdict.PAUSE
    return Verdict.RETRY


def fatal_hint(status: int | None, reason: str, model: str) -> str | None:
    """What to change after a fatal answer, in one sentence (None if `status` is not fatal)."""
    if status not in CONFIG_ERRORS:
        return None
    if status in (400, 404) and "model" in reason.lower():
        return f"{model_hint([model])} (OpenRouter said: {reason})"
    return f"OpenRouter refused the call, check the key and credit: {reason}"


# -- the envelope -------------------------------------------------------------------


def content_from_body(body: Any) -> str:
    """The answer text of a chat completion, after every error check OpenRouter needs.

    Errors can come with HTTP 200 (a top-level `error`, `choices[0].error`,
    `finish_reason == "error"`), so the status alone proves nothing.
    """
    if not isinstance(body, dict):
        raise ReplyError("reply is not a json object", retryable=True)
    if body.get("error"):
        raise _error_from(body["error"], "reply")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ReplyError("reply has no choices", retryable=True)
    choice = choices[0]
    if choice.get("error"):
        raise _error_from(choice["error"], "choice")
    finish = choice.get("finish_reason")
    if finish == "error":
        raise ReplyError("the model stopped with finish_reason error", retryable=True)
    if finish == "length":
        raise ReplyError("reply truncated at max_tokens (finish_reason length); never repaired")
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str) or not content.strip():
        where = " (the reasoning field is never read as the answer)" if _has_reasoning(message) else ""
        raise ReplyError(f"reply content is empty{where}", retryable=True)
    return content


def _has_reasoning(message: Any) -> bool:
    return isinstance(message, dict) and bool(message.get("reasoning") or message.get("reasoning_content"))


def _error_from(error: Any, where: str) -> ReplyError:
    code = error.get("code") if isinstance(error, dict) else None
    text = error.get("message") if isinstance(error, dict) else error
    code_int = code if isinstance(code, int) and not isinstance(code, bool) else None
    retryable = code_int is None or code_int in RETRYABLE_CODES
    return ReplyError(f"error in {where}: {code} {str(text)[:200]}", retryable=retryable, code=code_int)


# -- pure helpers -------------------------------------------------------------------


def build_body(ai: AISettings, messages: Messages, models: Sequence[str] | None = None) -> dict[str, Any]:
    """The chat request: deterministic, JSON mode, reasoning off so it cannot eat max_tokens.

    `models`: the model first, then OpenRouter's fallbacks (None: `ai.model`, `ai.fallback_models`).
    """
    ids = list(models) if models else [ai.model, *ai.fallback_models]
    fallbacks = [m for m in ids[1:] if m != ids[0]]
    body: dict[str, Any] = {
        "model": ids[0],
        "messages": messages,
        "temperature": 0,
        "max_tokens": ai.max_tokens,
        "response_format": {"type": "json_object"},
        "reasoning": {"enabled": False},
    }
    if fallbacks:
        body["models"] = fallbacks
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


def retry_backoff(rand: Callable[[], float] = random.random) -> Backoff:
    """The delays between attempts of one call: 0.25 s doubling up to 4 s, full jitter."""
    return Backoff(initial=BACKOFF_BASE_S, cap=BACKOFF_CAP_S, jitter=RETRY_JITTER, rand=rand)


def retry_delay(attempt: int, outcome: Outcome, remaining_s: float, backoff: Backoff) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None to give up now."""
    if not outcome.retryable or attempt >= MAX_ATTEMPTS:
        return None
    if outcome.retry_after is not None and outcome.status in (429, 503):
        return outcome.retry_after if outcome.retry_after < remaining_s else None
    backoff.attempt = attempt - 1  # the step follows the attempt number, Retry-After waits included
    delay = backoff.next()
    return delay if delay < remaining_s else None


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
    """A `ChatClient` owning one aiohttp session; every coroutine must run on the loop that created it."""

    name = "OpenRouter"

    def __init__(
        self, base_url: str, api_key: Secret, *, ai: AISettings | None = None, title: str = "trump-trader",
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._ai = ai or AISettings()
        self._title = title
        self._rand = rand
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, ai: AISettings, api_key: Secret) -> OpenRouterClient:
        """The `ClientFactory` the consultant uses by default."""
        return cls(ai.base_url, api_key, ai=ai)

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

    def classify(self, error: ChatError) -> Verdict:
        return classify_error(error)

    def model_hint(self, ids: Sequence[str]) -> str:
        return model_hint(ids)

    async def _send(self, method: str, path: str, data: str | None, timeout_s: float) -> tuple[int, str, Mapping[str, str]]:
        session = self._get_session()
        timeout = aiohttp.ClientTimeout(total=max(timeout_s, 0.001))
        async with session.request(method, self._base + path, data=data, headers=self._headers(), timeout=timeout) as resp:
            text = await resp.text(errors="replace")
            return resp.status, text, resp.headers

    async def _attempt(self, data: str, timeout_s: float) -> Outcome:
        """One POST, classified; a timeout propagates (the caller's deadline owns it)."""
        try:
            status, text, headers = await self._send("POST", "/chat/completions", data, timeout_s)
        except TimeoutError:
            raise
        except aiohttp.ClientConnectorError as e:  # refused, name not resolved, TLS: no connection at all
            return Outcome(reason=f"cannot connect: {type(e).__name__}: {e}", kind="connect")
        except (aiohttp.ClientError, OSError) as e:  # the connection broke: a retry usually works
            return Outcome(reason=f"network error: {type(e).__name__}: {e}", retryable=True, kind="network")
        return classify_response(status, text, headers)

    async def complete(self, messages: Messages, deadline_s: float, models: Sequence[str] | None = None) -> Completion:
        """POST /chat/completions with retries, all inside `deadline_s`; raises OpenRouterError."""
        body = build_body(self._ai, messages, models)
        data = json.dumps(body)
        started = time.monotonic()
        backoff = retry_backoff(self._rand)
        usage, attempt, last = Usage(), 0, Outcome()

        def elapsed_ms() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            async with asyncio.timeout(deadline_s):
                while True:
                    attempt += 1
                    last = await self._attempt(data, deadline_s - (time.monotonic() - started))
                    usage += last.usage
                    if last.content is not None:
                        return Completion(last.content, last.model, usage, elapsed_ms(), attempt)
                    delay = retry_delay(attempt, last, deadline_s - (time.monotonic() - started), backoff)
                    if delay is None:
                        kind = last.kind or ("http" if last.status not in (None, 200) else "reply")
                        raise OpenRouterError(
                            last.reason, status=last.status, kind=kind, usage=usage, attempts=attempt,
                            latency_ms=elapsed_ms(), hint=fatal_hint(last.status, last.reason, body["model"]),
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
        except aiohttp.ClientConnectorError as e:
            raise OpenRouterError(f"GET /models: cannot connect: {type(e).__name__}: {e}", kind="connect") from None
        except (aiohttp.ClientError, OSError) as e:
            raise OpenRouterError(f"GET /models: {type(e).__name__}: {e}", kind="network") from None
        if status != 200:
            raise OpenRouterError(f"GET /models: HTTP {status}: {_error_text(None, text)}", status=status)
        try:
            data = json.loads(text).get("data")
            return frozenset(m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str))
        except (ValueError, AttributeError, TypeError, KeyError):
            raise OpenRouterError("GET /models: the answer is not a model list", status=status, kind="reply") from None
