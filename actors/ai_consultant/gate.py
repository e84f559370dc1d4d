"""Whether a model call may go out now, and to which model ids: the consultant's rules in one place.

Apart from the actor so they read together and test without threads: model
calls off for the run (role, no key, an unknown model id, a fatal refusal),
the hourly spend cap, the pause after each failed call, the calls in flight,
and last the circuit breaker (`breaker.py`). Plain and single-threaded: the
actor thread owns the gate, calls it, and it logs each transition once.

Clocks: the pause runs on market time (`request.ts_ms`), so a replay pauses as
it did before; the spend window and the breaker run on the consultant's
`clock` (wall time unless injected), because what an unreachable host costs,
and when it comes back, is wall time: in a backtest a day of market time
passes in seconds.
"""

from __future__ import annotations

from loguru import logger

from actors._lib.backoff import Backoff
from actors.ai_consultant.breaker import OPEN, Breaker
from actors.ai_consultant.client import ChatClient, ChatError, Verdict, unknown_models
from actors.ai_consultant.tally import StatValue, Tally
from actors.messages import Clock
from actors.settings import AISettings

MAX_IN_FLIGHT = 4  # distinct situations asked at once; more get the rule-based advice ("model busy")
COOLDOWN_BASE_MS = 5_000  # market time without model calls after a failure, doubling...
COOLDOWN_CAP_MS = 300_000  # ...up to five minutes


class Gate:
    """Says why no model call may go out (or None), and keeps the failures that decide it."""

    def __init__(self, ai: AISettings, clock: Clock, tally: Tally, off: str | None) -> None:
        self._ai = ai
        self._clock = clock
        self._tally = tally  # the spend cap reads its spend
        self.off = off  # why model calls are off for this run, or None
        self.models: tuple[str, ...] = (ai.model, *ai.fallback_models)  # the ids each call offers, in order
        self.failures_in_row = 0
        self.paused_until_ms = 0  # market time
        cooldown = Backoff(initial=ai.breaker_cooldown_s, cap=ai.breaker_cooldown_cap_s, jitter=(1, 1))
        self.breaker = Breaker(ai.breaker_failures, cooldown)

    def why_not(self, ts_ms: int, in_flight: int) -> str | None:
        """Asked before the prompt is built; `breaker_holds` comes after it, just before the call."""
        if self.off is not None:
            return self.off
        cap = self._ai.spend_cap_per_hour
        if cap == 0:
            return "model calls are off (ai.spend_cap_per_hour = 0)"
        spent = self._tally.spend_last_hour(self._clock())
        if spent >= cap:
            return f"spend cap: {spent} of {cap} USD spent in the last hour"
        if ts_ms < self.paused_until_ms:
            return f"model paused after {self.failures_in_row} failed call(s)"
        if in_flight >= MAX_IN_FLIGHT:
            return f"model busy ({MAX_IN_FLIGHT} calls in flight)"
        return None

    def breaker_holds(self) -> str | None:
        """Asked last, just before a call: in half-open the breaker lets this one through as its probe."""
        now = self._clock()
        if self.breaker.allow(now):
            return None
        wait_s = max((self.breaker.retry_at_ms or now) - now, 0) / 1000
        return f"model unreachable ({self.breaker.in_row} failed calls in a row), next try in {wait_s:.0f} s"

    def answered(self) -> None:
        """A usable reply: the pause is over."""
        self.failures_in_row, self.paused_until_ms = 0, 0

    def pause(self, ts_ms: int, reason: str, *, quiet: bool = False) -> None:
        """No model calls for a while (market time, doubling): a failing model must not slow every request."""
        self.failures_in_row += 1
        pause = min(COOLDOWN_CAP_MS, COOLDOWN_BASE_MS * 2 ** min(self.failures_in_row - 1, 16))
        self.paused_until_ms = ts_ms + pause
        (logger.debug if quiet else logger.warning)(
            "AI call failed ({}); fallback advice for the next {} s of market time", reason, pause // 1000)

    def failed(self, verdict: Verdict, e: ChatError, ts_ms: int, provider: str) -> None:
        """A call failed, as the provider's client judged it: off for the run, unreachable, or paused."""
        if verdict is Verdict.FATAL:
            self.disable(e.hint or f"{provider} refused the call: {e.reason}")
        elif verdict is Verdict.PAUSE:
            self._unreachable(e.reason, provider)
            self.pause(ts_ms, e.reason, quiet=self.breaker.state == OPEN)
        else:
            self.reached(provider)
            self.pause(ts_ms, e.reason)

    def reached(self, provider: str) -> None:
        """A call reached the provider: the breaker closes, and says so once with what it held back."""
        recovered = self.breaker.succeeded(self._clock())
        if recovered is not None:
            logger.info("AI consultant: {} reachable again after {:.0f} s; the rule-based advisor answered {} "
                        "request(s) meanwhile", provider, recovered.open_ms / 1000, recovered.answered)

    def _unreachable(self, reason: str, provider: str) -> None:
        """A call that did not reach the provider: the breaker counts it, and says once when it opens."""
        now = self._clock()
        if self.breaker.failed(now, reason):
            b = self.breaker
            assert b.retry_at_ms is not None
            logger.warning(
                "AI consultant: {} unreachable after {} failed calls in a row ({}); the rule-based advisor "
                "answers at once for {:.0f} s, then one call tries again", provider, b.in_row, reason,
                (b.retry_at_ms - now) / 1000)
        else:
            logger.debug("AI consultant: model unreachable ({}), breaker {}", reason, self.breaker.state)

    def disable(self, reason: str) -> None:
        if self.off is None:
            self.off = reason
            logger.error("AI model calls are off for this run: {}", reason)

    def models_checked(self, known: frozenset[str] | None, error: str | None, client: ChatClient | None) -> None:
        """The provider's model ids at start: an unknown fallback is left out, an unknown model turns calls off."""
        if known is None:
            logger.warning("AI consultant: could not check the model ids at start: {}", error)
            return
        assert client is not None
        configured = [self._ai.model, *self._ai.fallback_models]
        unknown = unknown_models(configured, known)
        if not unknown:
            logger.info("AI consultant: {} lists {}", client.name, ", ".join(configured))
            return
        self.models = (self._ai.model, *(m for m in self.models[1:] if m in known))
        hint = client.model_hint(unknown)
        if self._ai.model in unknown:
            self.off = client.model_hint([self._ai.model])
            logger.error("{}. Model calls are off; the rule-based fallback advises.", hint)
        else:
            logger.error("{}. Those fallback ids are left out of the requests.", hint)

    def values(self) -> tuple[tuple[str, StatValue], ...]:
        """For GetStats: why calls are off, and the breaker."""
        return (("model_off", self.off), *self.breaker.values())
