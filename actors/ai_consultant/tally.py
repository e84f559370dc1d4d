"""The consultant's counters, spend and latencies: what `GetStats` reports and the spend cap reads.

Plain and single-threaded (the actor thread owns it). Spend is kept per call
with its time on the consultant's clock, so the cap looks at the last hour.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from actors.ai_consultant.client import Usage
from actors.messages import ZERO, AdviceSource

LATENCY_WINDOW = 101
HOUR_MS = 3_600_000

StatValue = int | Decimal | str | None


@dataclass(slots=True)
class Tally:
    calls: int = 0  # requests answered, whatever the source
    model_calls: int = 0
    http_attempts: int = 0
    model_answers: int = 0
    cache_hits: int = 0
    shared: int = 0  # requests that joined a call already in flight
    fallbacks: int = 0  # answered by the strategy because the model failed (timeout, bad reply, cap, breaker)
    strategy_answers: int = 0  # answered by the strategy in its own right (no model, or role confirm/off)
    proposals: int = 0  # confirm: entries and exits the strategy proposed (each asks the model once)
    confirmed: int = 0
    adjusted: int = 0
    vetoed: int = 0
    confirm_defaults: int = 0  # confirm: no usable answer, [ai] confirm_default applied
    rejected: int = 0
    errors: int = 0
    timeouts: int = 0
    late_replies: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = ZERO
    spend: deque[tuple[int, Decimal]] = field(default_factory=deque)
    latencies: deque[int] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    def answered(self, source: AdviceSource) -> None:
        self.calls += 1
        if source is AdviceSource.MODEL:
            self.model_answers += 1
        elif source is AdviceSource.CACHE:
            self.cache_hits += 1
        elif source is AdviceSource.STRATEGY:
            self.strategy_answers += 1
        else:
            self.fallbacks += 1

    def account(self, usage: Usage, attempts: int, latency_ms: int | None, now_ms: int) -> None:
        self.http_attempts += attempts
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cost += usage.cost
        if usage.cost > 0:
            self.spend.append((now_ms, usage.cost))
        if latency_ms is not None:
            self.latencies.append(latency_ms)

    def spend_last_hour(self, now_ms: int) -> Decimal:
        horizon = now_ms - HOUR_MS
        while self.spend and self.spend[0][0] <= horizon:
            self.spend.popleft()
        return sum((cost for _, cost in self.spend), ZERO)

    def values(self, now_ms: int) -> tuple[tuple[str, StatValue], ...]:
        lat = sorted(self.latencies)
        return (
            ("calls", self.calls),
            ("model_calls", self.model_calls),
            ("cache_hits", self.cache_hits),
            ("fallbacks", self.fallbacks),
            ("strategy_answers", self.strategy_answers),
            ("errors", self.errors),
            ("cost", self.cost),
            ("prompt_tokens", self.prompt_tokens),
            ("completion_tokens", self.completion_tokens),
            ("latency_ms_last", self.latencies[-1] if self.latencies else 0),
            ("latency_ms_p50", lat[len(lat) // 2] if lat else 0),
            ("spend_last_hour", self.spend_last_hour(now_ms)),
            ("model_answers", self.model_answers),
            ("shared", self.shared),
            ("rejected", self.rejected),
            ("timeouts", self.timeouts),
            ("late_replies", self.late_replies),
            ("http_attempts", self.http_attempts),
            ("proposals", self.proposals),
            ("confirmed", self.confirmed),
            ("adjusted", self.adjusted),
            ("vetoed", self.vetoed),
            ("confirm_defaults", self.confirm_defaults),
        )
