"""What the consultant needs from an AI provider, so a second provider needs no change in the actor.

A provider is a `ChatClient`: its coroutines run on the consultant's loop
thread only (one client per loop), and every failure it raises is a
`ChatError` whose text is already redacted. `classify` turns a failure into
the one decision the actor makes about it:

- FATAL: the configuration is wrong (key, credit, model id); no later call can work, so calls stop.
- PAUSE: the provider could not be reached (no connection, no answer in time); the breaker counts it.
- RETRY: the provider answered, but not usefully this time (overloaded, an unusable reply).

OpenRouter (`openrouter.py`) is one implementation; `ClientFactory` builds one from the settings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Literal, Protocol

from actors._lib.secrets import Secret, redact
from actors.messages import ZERO
from actors.settings import AISettings

Messages = list[dict[str, str]]
FailureKind = Literal["connect", "network", "timeout", "http", "reply"]


class Verdict(str, Enum):
    FATAL = "fatal"
    PAUSE = "pause"
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens and cost of one call (all attempts), as the provider billed them."""

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
    """A chat answer that passed the provider's envelope checks; `text` is not parsed yet."""

    text: str
    model: str | None
    usage: Usage
    latency_ms: int
    attempts: int


class ChatError(Exception):
    """A call that produced no answer; the text is redacted and safe to log.

    `kind` says where it failed: connect (no connection at all), network (the
    connection broke), timeout, http (a status), reply (an unusable body).
    `hint` is set on a fatal error: what to change, in the provider's terms.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        kind: FailureKind = "http",
        usage: Usage = Usage(),
        attempts: int = 0,
        latency_ms: int = 0,
        hint: str | None = None,
    ) -> None:
        self.reason = redact(reason)
        super().__init__(self.reason)
        self.status = status
        self.kind = kind
        self.usage = usage
        self.attempts = attempts
        self.latency_ms = latency_ms
        self.hint = redact(hint) if hint else None


class ChatClient(Protocol):
    """One provider's chat API. Coroutines run on the loop that created the client."""

    name: str  # for log lines: "OpenRouter"

    async def complete(self, messages: Messages, deadline_s: float, models: Sequence[str] | None = None) -> Completion:
        """One chat completion with the provider's retries, all inside `deadline_s`; raises ChatError.

        `models`: the ids to use, first the model, then fallbacks (None: the configured ones).
        """
        ...

    async def list_models(self, deadline_s: float) -> frozenset[str]:
        """The model ids the provider serves now; raises ChatError."""
        ...

    def classify(self, error: ChatError) -> Verdict:
        ...

    def model_hint(self, ids: Sequence[str]) -> str:
        """One sentence for unknown model ids, with the id format to use instead."""
        ...

    async def close(self) -> None:
        ...


ClientFactory = Callable[[AISettings, Secret], ChatClient]


def unknown_models(configured: Sequence[str], known: frozenset[str]) -> list[str]:
    return [m for m in configured if m not in known]
