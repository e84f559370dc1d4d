"""The AI consultant: the strategy's advice (actors/strategy/) and the model's (DeepSeek via OpenRouter),
cached, timed out, broken when unreachable; `[ai] role` says which decides and which confirms.

    actor.py       AIConsultantActor: requests, cache, single flight, deadlines, stats
    gate.py        whether a model call may go out: model off, spend cap, pause, calls in flight, breaker
    calls.py       the loop-thread side: model calls and timers that only tell the actor
    client.py      ChatClient, the protocol a provider implements (complete, list models, classify)
    openrouter.py  OpenRouter: the HTTP client, its envelope and status rules
    breaker.py     the circuit breaker (pure)
    prompt.py      the two chat messages sent
    reply.py       a reply's json, read defensively
    rules.py       what an answer may become: validation against state, band, tick, break-even
    confirm.py     role "confirm": the model's verdict on the strategy's proposals
    cache.py       the advice cache and the single-flight table, with the requesters waiting on it
    tally.py       counters, spend and latencies for GetStats and the spend cap
"""

from typing import TYPE_CHECKING, Any

from actors.ai_consultant.client import ChatClient, ChatError, ClientFactory, Completion, Usage, Verdict

if TYPE_CHECKING:
    from actors.ai_consultant.actor import AIConsultantActor
    from actors.ai_consultant.openrouter import OpenRouterClient

__all__ = [
    "AIConsultantActor",
    "ChatClient",
    "ChatError",
    "ClientFactory",
    "Completion",
    "OpenRouterClient",
    "Usage",
    "Verdict",
]


def __getattr__(name: str) -> Any:
    """`OpenRouterClient` loads on first use: it brings aiohttp, which an offline run never needs; the
    actor too, so that the strategy host can use this package's validation without importing it."""
    if name == "AIConsultantActor":
        from actors.ai_consultant.actor import AIConsultantActor

        return AIConsultantActor
    if name == "OpenRouterClient":
        from actors.ai_consultant.openrouter import OpenRouterClient

        return OpenRouterClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
