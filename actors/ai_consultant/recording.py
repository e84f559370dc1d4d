"""Record and replay model exchanges (`[ai] mode`), as hooks the consultant calls on its own thread.

- live: ask the model, store nothing (the hooks only count cost per model).
- record: ask the model and append every exchange, answered or failed, to the store.
- replay: never ask anyone, and need no key: `ReplayClient` stands in for the
  provider and answers from the store, so the actor's cache, single flight,
  pauses after bad replies and breaker run exactly the code they ran when the
  run was recorded. A prompt the store does not hold is a miss: counted, and
  answered by the rule-based advisor.

Replay is exact when the market data gives the same prompts: a backtest
recorded and replayed on the same data takes the same decisions (the tests
check the trades to the digit). An answer that came after its requester's
deadline is stored as late and replayed as the timeout it was (the answer is
still cached, as it was). What it cannot reproduce is the rest of what wall
time decided in the recorded run: the hourly spend cap and the breaker.

A live or paper session sees snapshots (the live book, its trades) that a
backtest rebuilt from archives never sees again, so its prompts do not
recur. `[ai] replay_match = "nearest"` replays such a session: a prompt the
store lacks gets the latest answer the model gave for the same symbol and
state at most `cache_ttl_s` of market time EARLIER (never a later one: that
would be look-ahead), re-validated against the backtest's own prices by the
same rules as a fresh answer. Those are counted apart (`replay_nearest`),
so a report always says how much of a replay is the model's exact word.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Sequence
from decimal import Decimal

from loguru import logger

from actors.ai_consultant.client import ChatClient, ChatError, Completion, Messages, Usage, Verdict
from actors.ai_consultant.store import AdviceStore, Exchange, StoreError, prompt_hash, prompt_text
from actors.messages import ZERO, Advice, AdviceRequest
from actors.settings import AISettings

StatValue = int | Decimal | str | None
MODEL_COST = "cost_model:"  # Stats key prefix: cost (paid, or recorded when replaying) per answering model
MODEL_CALLS = "calls_model:"


class RecordedError(ChatError):
    """A failure replayed from the store, with the verdict the provider's rules gave it then."""

    def __init__(self, ex: Exchange) -> None:
        super().__init__(ex.reason or "recorded failure", status=ex.error_status, kind=ex.error_kind or "http",  # type: ignore[arg-type]
                         usage=Usage(ex.prompt_tokens, ex.completion_tokens, ex.cost), attempts=ex.attempts,
                         latency_ms=ex.latency_ms, hint=ex.hint)
        self.verdict = Verdict(ex.verdict or "retry")


class ReplayClient:
    """A `ChatClient` that answers from the store: the exchange `Recording.asked` queued for each call."""

    name = "the advice store"

    def __init__(self, queued: dict[str, deque[Exchange]], models: Sequence[str]) -> None:
        self._queued = queued  # prompt hash -> answers; the actor appends before it submits the call, FIFO
        self._models = frozenset(models)

    async def complete(self, messages: Messages, deadline_s: float, models: Sequence[str] | None = None) -> Completion:
        queue = self._queued.get(prompt_hash(prompt_text(messages)))
        if not queue:
            raise ChatError("replay miss: the store has no answer to this prompt", kind="reply")
        ex = queue.popleft()
        if ex.outcome == "failed" or ex.reply is None:
            raise RecordedError(ex)
        usage = Usage(ex.prompt_tokens, ex.completion_tokens, ex.cost)
        return Completion(ex.reply, ex.answered_by, usage, ex.latency_ms, ex.attempts)

    async def list_models(self, deadline_s: float) -> frozenset[str]:
        return self._models

    def classify(self, error: ChatError) -> Verdict:
        return error.verdict if isinstance(error, RecordedError) else Verdict.RETRY

    def model_hint(self, ids: Sequence[str]) -> str:
        return f"the advice store has no answers of {', '.join(ids)}"

    async def close(self) -> None:
        return None


class Recording:
    """What `[ai] mode` asks of the consultant: open the store, note each call, serve replays, count."""

    def __init__(self, ai: AISettings) -> None:
        self.mode = ai.mode
        self._ai = ai
        self._store: AdviceStore | None = None
        self._answers: dict[str, list[Exchange]] = {}
        self._asked: dict[int, tuple[str, AdviceRequest]] = {}  # flight id -> (prompt text, request)
        self._by_time: dict[tuple[str, str], list[tuple[int, int, Exchange]]] = {}  # (symbol, state) -> by market ts
        self._queued: dict[str, deque[Exchange]] = {}  # prompt hash -> the answers of calls started (replay)
        self._served: dict[str, int] = {}  # prompt hash -> times asked so far (replay: the k-th gets the k-th row)
        self._flight_answer: dict[int, Exchange] = {}  # flight id -> the exchange it replays
        self._near: Exchange | None = None  # the stand-in found for the call about to start
        self.recorded = self.replayed = self.misses = self.nearest = 0
        self._calls: dict[str, int] = {}
        self._cost: dict[str, Decimal] = {}

    @property
    def replaying(self) -> bool:
        return self.mode == "replay"

    def open(self, key_given: bool) -> None:
        if self.mode == "live":
            return
        if self.mode == "record" and not key_given:
            logger.warning("AI consultant: [ai] mode = \"record\" but no OPENROUTER_API_KEY: the rule-based advisor "
                           "answers and nothing is recorded")
        try:
            self._store = AdviceStore(self._ai.store_path)
        except StoreError as e:  # one line, and the run goes on: a replay then misses every prompt (counted)
            logger.error("AI consultant: {}; {}", e, "every prompt is a replay miss" if self.replaying else
                         "nothing is recorded")
            return
        if self.replaying:
            self._answers = self._store.answers(self._ai.model)
            for rows in self._answers.values():
                for ex in rows:
                    if ex.reply is not None:
                        self._by_time.setdefault((ex.symbol, ex.state), []).append((ex.market_ts_ms, ex.id, ex))
            for entries in self._by_time.values():
                entries.sort(key=lambda e: (e[0], e[1]))
            n = sum(len(v) for v in self._answers.values())
            (logger.info if n else logger.warning)(
                "AI consultant: replaying {} recorded exchange(s) of {} from {} (no model is asked; a prompt not "
                "in the store is answered by the rule-based advisor)", n, self._ai.model, self._ai.store_path)
        else:
            logger.info("AI consultant: recording every model exchange into {}", self._ai.store_path)

    def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()

    def client(self) -> ChatClient | None:
        """The stand-in provider when replaying, else None (the configured provider is used)."""
        if not self.replaying:
            return None
        return ReplayClient(self._queued, (self._ai.model, *self._ai.fallback_models))

    def miss(self, messages: Messages, req: AdviceRequest) -> str | None:
        """Replay only: why this prompt cannot be answered from the store (counted), else None."""
        self._near = None
        if not self.replaying or prompt_hash(prompt_text(messages)) in self._answers:
            return None
        if self._ai.replay_match == "nearest":
            self._near = self._latest_before(req)
            if self._near is not None:
                return None
        self.misses += 1
        return "replay miss: the advice store has no answer to this prompt"

    def _latest_before(self, req: AdviceRequest) -> Exchange | None:
        """The latest answer for this symbol and state within cache_ttl_s of market time before `req` (no look-ahead)."""
        entries = self._by_time.get((req.symbol, req.state.value), [])
        i = bisect.bisect_right(entries, req.ts_ms, key=lambda e: e[0])
        if i == 0 or req.ts_ms - entries[i - 1][0] > self._ai.cache_ttl_s * 1000:
            return None
        return entries[i - 1][2]

    def billed(self, usage: Usage) -> Usage:
        """What this run really paid: nothing when replaying (the recorded cost stays on the advice)."""
        return Usage(usage.prompt_tokens, usage.completion_tokens, ZERO) if self.replaying else usage

    def asked(self, flight_id: int, messages: Messages, req: AdviceRequest) -> None:
        """A call starts: remember its prompt (record), or queue the answer it replays (the k-th ask of a
        prompt gets its k-th recorded answer, the last one again once they run out; or the stand-in `miss` found)."""
        if self.mode == "record":
            self._asked[flight_id] = (prompt_text(messages), req)
        if not self.replaying:
            return
        h = prompt_hash(prompt_text(messages))
        ex, self._near = self._near, None
        if ex is not None:
            self.nearest += 1
        elif h in self._answers:
            k = self._served.get(h, 0)
            self._served[h] = k + 1
            rows = self._answers[h]
            ex = rows[min(k, len(rows) - 1)]
        if ex is not None:
            self._queued.setdefault(h, deque()).append(ex)
            self._flight_answer[flight_id] = ex

    def late(self, flight_id: int) -> bool:
        """Replay: the recorded answer came after its first requester's deadline (so it gets the fallback again)."""
        ex = self._flight_answer.pop(flight_id, None)
        return ex is not None and ex.late

    def answered(self, flight_id: int, c: Completion, advice: Advice | None, unusable: str | None,
                 late: bool = False) -> None:
        """A call came back with text: `advice` is what its first requester would get, or why the text was
        unusable; `late`: that requester's deadline had passed (it got the rule-based advice)."""
        self._count(c.model, c.usage.cost)
        if self.replaying:
            self.replayed += 1
        asked = self._asked.pop(flight_id, None)
        if asked is None or self._store is None:
            return
        outcome = "unusable" if advice is None else ("rejected" if advice.rejected_reason else "advice")
        reason = unusable if advice is None else advice.rejected_reason
        self._add(asked, outcome=outcome, reply=c.text, answered_by=c.model, reason=reason,
                  action=advice.action.value if advice is not None else None,
                  base_price=advice.base_price if advice is not None else None,
                  confidence=advice.confidence if advice is not None else None,
                  latency_ms=c.latency_ms, attempts=c.attempts, prompt_tokens=c.usage.prompt_tokens,
                  completion_tokens=c.usage.completion_tokens, cost=c.usage.cost, late=late)

    def failed(self, flight_id: int, e: ChatError, verdict: Verdict) -> None:
        self._count(None, e.usage.cost)
        self._flight_answer.pop(flight_id, None)
        asked = self._asked.pop(flight_id, None)
        if asked is None or self._store is None:
            return
        self._add(asked, outcome="failed", reason=e.reason, error_kind=e.kind, error_status=e.status,
                  verdict=verdict.value, hint=e.hint, latency_ms=e.latency_ms, attempts=e.attempts,
                  prompt_tokens=e.usage.prompt_tokens, completion_tokens=e.usage.completion_tokens, cost=e.usage.cost)

    def _add(self, asked: tuple[str, AdviceRequest], **kw: object) -> None:
        text, req = asked
        assert self._store is not None
        try:
            self._store.add(Exchange(model=self._ai.model, prompt_hash=prompt_hash(text), prompt=text,
                                     market_ts_ms=req.ts_ms, recorded_ms=time.time_ns() // 1_000_000,
                                     symbol=req.symbol, state=req.state.value, **kw))  # type: ignore[arg-type]
            self.recorded += 1
        except Exception as e:  # noqa: BLE001 - a full disk must not stop the advice
            logger.error("AI consultant: could not record an exchange in {}: {}", self._ai.store_path, e)

    def _count(self, model: str | None, cost: Decimal) -> None:
        m = model or self._ai.model
        self._calls[m] = self._calls.get(m, 0) + 1
        self._cost[m] = self._cost.get(m, ZERO) + cost

    def values(self) -> tuple[tuple[str, StatValue], ...]:
        per_model: list[tuple[str, StatValue]] = [(f"{MODEL_CALLS}{m}", n) for m, n in sorted(self._calls.items())]
        per_model += [(f"{MODEL_COST}{m}", c) for m, c in sorted(self._cost.items())]
        replay_cost = sum(self._cost.values(), ZERO) if self.replaying else ZERO
        return (("ai_mode", self.mode), ("recorded", self.recorded), ("replayed", self.replayed),
                ("replay_misses", self.misses), ("replay_nearest", self.nearest), ("replay_cost", replay_cost),
                *per_model)
