"""The AI consultant: answers every AdviceRequest exactly once, and never blocks its own thread.

Threads: `on_receive` runs on the actor thread and owns all state (cache,
flights, waiting requesters, counters, the breaker). Model calls run on the
`ai-consultant-io` loop thread (`calls.py`) and report back only by telling
this actor a private message; nothing on the loop reads actor state or waits
on a pykka future. Every requester has its own deadline timer on the loop: if
it fires first, the requester gets the rule-based advice, and the model's
answer, if it still comes, is cached for the next request but never delivered
twice. So a hung model delays nothing: cache hits, other requests and GetStats
are answered while the call hangs. And an unreachable one costs nothing once
the breaker (`breaker.py`) is open; `gate.py` says when a call may go out.

Clocks: the cache and the pause after a failure run on market time
(`request.ts_ms`), so a replay hits and misses as it did before; the deadline
timers, the spend window and the breaker on wall time (`gate.py` says why).

The provider is whatever `client_factory` builds (OpenRouter by default, its
module and aiohttp imported only when a key asks for it: an offline backtest
never loads them); the actor only knows the `ChatClient` protocol.
"""

from __future__ import annotations

import time
from typing import Any

import pykka
from loguru import logger

from actors._lib.aio import LoopThread
from actors._lib.secrets import Secret, redact
from actors.ai_consultant import confirm
from actors.ai_consultant.cache import AdviceCache, CacheKey, Flight, Flights, cache_key, readdressed
from actors.ai_consultant.calls import (
    CallDone,
    CallFailed,
    Deadline,
    ModelsChecked,
    arm_timer,
    check_models,
    run_call,
)
from actors.ai_consultant.client import ChatClient, ClientFactory, Messages, Usage
from actors.ai_consultant.gate import Gate
from actors.ai_consultant.prompt import build_messages
from actors.ai_consultant.recording import Recording
from actors.ai_consultant.reply import AdviceRejected, ReplyError, parse_reply
from actors.ai_consultant.rules import ReplyMeta, advice_from_fields, hold_advice, recheck
from actors.ai_consultant.tally import StatValue, Tally
from actors.messages import (
    Advice,
    AdviceAction,
    AdviceRequest,
    AdviceSource,
    CandlesClosed,
    Clock,
    GetStats,
    Stats,
)
from actors.settings import Settings, deprecations
from actors.strategy.host import StrategyHost
from actors.strategy.loader import Loaded, load

LOOP_NAME = "ai-consultant-io"
CLOSE_TIMEOUT_S = 2.0


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _openrouter() -> ClientFactory:
    """The default provider, imported on first use (it brings aiohttp)."""
    from actors.ai_consultant.openrouter import OpenRouterClient

    return OpenRouterClient.from_settings


# -- the actor -------------------------------------------------------------------------


class AIConsultantActor(pykka.ThreadingActor):
    """Advice from the strategy and the model (DeepSeek via OpenRouter): cached, single-flighted, timed out.

    Handles `AdviceRequest` (told; the answer goes to `request.reply_to`),
    `CandlesClosed` (told by the market data: the strategy's bars) and `GetStats`
    (asked; returns `Stats(source="ai", ...)`). `[ai] role` says who decides:
    advisor (the model, the strategy when the model fails), confirm (the
    strategy, the model confirming its proposals) or off (the strategy alone).
    With `api_key=None` it never touches the network: the strategy decides.
    """

    def __init__(
        self, settings: Settings, api_key: Secret | None, clock: Clock | None = None,
        client_factory: ClientFactory | None = None, strategy: Loaded | None = None,
    ) -> None:
        super().__init__()
        self._ai = settings.ai
        self._role = settings.ai.role
        self._host = StrategyHost(strategy or load(settings), settings.ai, settings.strategy.timeout_ms)
        self._deprecated = deprecations(settings)
        self._key = api_key if api_key and self._role != "off" else None
        self._clock: Clock = clock or _wall_ms
        self._client_factory = client_factory
        self._cache = AdviceCache(self._ai.cache_size, self._ai.cache_ttl_s * 1000)
        self._flights = Flights()  # model calls in flight, and the requesters waiting on them
        self._rec = Recording(self._ai)  # [ai] mode: live, record or replay (recording.py)
        self._alone = self._role == "off" or not (self._key or self._rec.replaying)  # the strategy decides alone
        model_off = None if not self._alone else ("ai.role = off" if self._role == "off" else "no OpenRouter API key")
        self._proposals: dict[str, Advice] = {}  # confirm: the strategy's proposal, by request id, while asked
        self._tally = Tally()
        self._gate = Gate(self._ai, self._clock, self._tally, model_off)  # may a model call go out now?
        self._io: LoopThread | None = None
        self._client: ChatClient | None = None

    # -- lifecycle (actor thread) --

    def on_start(self) -> None:
        for line in self._deprecated:
            logger.warning("settings: {}", line)
        if self._alone:
            logger.info("AI consultant: the strategy {} decides alone ({})", self._host.label, self._gate.off)
            return
        self._rec.open(self._key is not None)
        self._client = self._rec.client()  # the advice store stands in for the provider when replaying
        if self._client is None:
            if self._key is None:
                logger.info("AI consultant: no OpenRouter API key, the strategy {} decides", self._host.label)
                return
            self._client = (self._client_factory or _openrouter())(self._ai, self._key)
        self._io = LoopThread(LOOP_NAME)
        self._io.start()  # last: an on_start error after this would leak the thread
        logger.info("AI consultant: model {} via {} ({})", self._ai.model, self._client.name, self._ai.base_url)
        if self._ai.check_models_at_start:
            self._io.submit(check_models(self.actor_ref, self._client, float(self._ai.timeout_s)))

    def on_stop(self) -> None:
        self._answer_all_waiting("the consultant is stopping")
        self._shutdown_io()
        self._rec.close()

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        logger.error("AI consultant failed: {}", redact(f"{exception_type.__name__}: {exception_value}"))
        try:
            self._answer_all_waiting("the consultant failed")
        finally:
            self._shutdown_io()
            self._rec.close()

    def _answer_all_waiting(self, why: str) -> None:
        """Every requester still waiting gets its one answer before the actor goes."""
        for waiter in self._flights.drain():
            self._answer(waiter.request, self._no_answer(waiter.request, why))

    def _shutdown_io(self) -> None:
        io, self._io = self._io, None
        if io is None:
            return
        if self._client is not None and io.alive:
            try:
                io.submit(self._client.close()).result(timeout=CLOSE_TIMEOUT_S)
            except Exception as e:  # noqa: BLE001 - stopping anyway
                logger.warning("AI consultant: closing the HTTP session: {}", redact(f"{type(e).__name__}: {e}"))
        io.stop()

    # -- messages (actor thread) --

    def on_receive(self, message: Any) -> Any:
        match message:
            case CandlesClosed():
                self._on_candles(message)
            case AdviceRequest():
                self._on_request_guarded(message)
            case CallDone():
                self._on_call_done(message)
            case CallFailed():
                self._on_call_failed(message)
            case Deadline():
                self._on_deadline(message)
            case ModelsChecked():
                self._gate.models_checked(message.known, message.error, self._client)
            case GetStats():
                return self._stats()
            case _:
                return super().on_receive(message)
        return None

    def _on_request_guarded(self, req: AdviceRequest) -> None:
        """A malformed request gets a HOLD; it must not take the consultant down for everyone."""
        try:
            self._on_request(req)
        except Exception as e:  # noqa: BLE001
            reason = redact(f"{type(e).__name__}: {e}")
            logger.error("AI consultant: cannot handle request {}: {}", getattr(req, "request_id", "?"), reason)
            if getattr(req, "reply_to", None) is None:
                return
            try:
                advice = hold_advice(req, self._ai, f"request not usable: {reason}",
                                     source=AdviceSource.FALLBACK, rejected_reason=reason)
            except Exception:  # noqa: BLE001 - too broken to answer at all; logged above
                return
            self._answer(req, advice)

    def _on_request(self, req: AdviceRequest) -> None:
        if req.reply_to is None:
            logger.warning("AI consultant: AdviceRequest {} has no reply_to; ignored", req.request_id)
            return
        if self._alone or req.snapshot.stale:  # no model, or old data: no call is worth its money
            self._answer(req, self._host.advise(req, AdviceSource.STRATEGY))
            return
        if self._role == "confirm":
            self._confirm(req)
            return
        key = cache_key(req)
        cached = self._cache.get(key, req.ts_ms)
        if cached is not None:
            stale = recheck(cached, req, self._ai)
            if stale is None:
                self._answer(req, readdressed(cached, req))
                return
            self._cache.discard(key)
        flight = self._flights.for_key(key) if self._io is not None else None
        messages = None
        if flight is None:
            why = self._gate.why_not(req.ts_ms, len(self._flights))
            if why is None:
                messages = build_messages(req, self._ai, self._host.facts())  # may raise: before the breaker
                why = self._rec.miss(messages, req) or self._gate.breaker_holds()
            if why is not None:
                self._answer(req, self._no_answer(req, why))
                return
        self._wait(req, key, flight, messages)

    def _wait(self, req: AdviceRequest, key: CacheKey, flight: Flight | None, messages: Messages | None) -> None:
        """Join `flight`, or start one with `messages`; the requester's deadline starts now."""
        if flight is None:
            assert messages is not None
            flight = self._start_flight(key, req, messages)
        else:
            self._tally.shared += 1
        ticket = self._flights.wait(req, flight)
        assert self._io is not None
        self._io.call_soon(arm_timer, self._io.loop, float(self._ai.timeout_s), self.actor_ref, Deadline(ticket))

    def _start_flight(self, key: CacheKey, req: AdviceRequest, messages: Messages) -> Flight:
        assert self._io is not None and self._client is not None
        flight = self._flights.start(key, req)
        # The call may outlive the requester's deadline a little, so a late answer can still be cached.
        timeout_s = float(self._ai.timeout_s)
        deadline_s = timeout_s + min(timeout_s, 2.0)
        self._tally.model_calls += 1
        self._rec.asked(flight.flight_id, messages, req)
        self._io.submit(run_call(self.actor_ref, self._client, messages, deadline_s, self._gate.models, flight.flight_id))
        return flight

    def _on_call_done(self, msg: CallDone) -> None:
        flight = self._flights.finish(msg.flight_id)
        if flight is None:
            return
        c = msg.completion
        self._account(self._rec.billed(c.usage), c.attempts, c.latency_ms)
        assert self._client is not None
        self._gate.reached(self._client.name)
        waiters = self._flights.take(flight)
        late = not any(w.request is flight.leader for w in waiters)
        if self._rec.late(msg.flight_id) and not late:  # replaying an answer that missed its leader's deadline
            self._tally.timeouts += 1
            waiters = [w for w in waiters if w.request is not flight.leader]
            self._answer(flight.leader, self._no_answer(flight.leader, "timeout (as recorded)"))
        try:
            fields = parse_reply(c.text)
        except ReplyError as e:
            self._tally.errors += 1
            self._rec.answered(msg.flight_id, c, None, e.reason, late)
            self._gate.pause(flight.leader.ts_ms, f"unusable reply: {e.reason}; it began {redact(c.text[:120])!r}")
            for w in waiters:
                self._answer(w.request, self._no_answer(w.request, f"invalid reply: {e.reason}", e.reason))
            return
        self._gate.answered()
        meta = ReplyMeta(c.model, c.latency_ms, c.usage.cost, c.usage.prompt_tokens, c.usage.completion_tokens)
        if self._role == "confirm":
            self._rec.answered(msg.flight_id, c, None, None, late)
            for w in waiters:
                self._answer(w.request, self._judged(w.request, fields, meta))
            return
        leader = advice_from_fields(fields, flight.leader, self._ai, meta)
        self._rec.answered(msg.flight_id, c, leader, None, late)
        self._cache.put(flight.key, leader, flight.leader.ts_ms)
        if leader.rejected_reason:
            self._tally.rejected += 1
            logger.info("AI advice rejected, holding: {}", leader.rejected_reason)
        if not waiters:
            self._tally.late_replies += 1
            logger.debug("AI reply after every requester's deadline: cached, not delivered")
        shared_meta = ReplyMeta(c.model, c.latency_ms)
        for w in waiters:
            if w.request is flight.leader:
                self._answer(w.request, leader)
            else:
                self._answer(w.request, advice_from_fields(fields, w.request, self._ai, shared_meta))

    def _on_call_failed(self, msg: CallFailed) -> None:
        flight = self._flights.finish(msg.flight_id)
        if flight is None:
            return
        e = msg.error
        self._account(self._rec.billed(e.usage), e.attempts, None)
        self._tally.errors += 1
        assert self._client is not None
        verdict = self._client.classify(e)
        self._rec.failed(msg.flight_id, e, verdict)
        self._gate.failed(verdict, e, flight.leader.ts_ms, self._client.name)
        rejected = e.reason if e.kind == "reply" else None
        why = {"timeout": "timeout", "reply": "invalid reply"}.get(e.kind, "model call failed")
        for w in self._flights.take(flight):
            self._answer(w.request, self._no_answer(w.request, f"{why}: {e.reason}", rejected))

    def _on_deadline(self, msg: Deadline) -> None:
        waiter = self._flights.expire(msg.ticket)
        if waiter is None:
            return  # answered already
        self._tally.timeouts += 1
        why = f"timeout: no model answer within {self._ai.timeout_s} s"
        self._answer(waiter.request, self._no_answer(waiter.request, why))

    # -- the strategy, and the model as its second opinion --

    def _no_answer(self, req: AdviceRequest, why: str, rejected: str | None = None) -> Advice:
        """The model did not answer `req` usefully: the strategy's advice (a FALLBACK), or in confirm
        mode what `confirm_default` makes of the proposal it was asked about."""
        proposal = self._proposals.pop(req.request_id, None)
        if proposal is not None:
            self._tally.confirm_defaults += 1
            return confirm.by_default(req, proposal, self._ai, why)
        return self._host.advise(req, AdviceSource.FALLBACK, why, rejected)

    def _confirm(self, req: AdviceRequest) -> None:
        """Confirm role: the strategy decides; only an entry or an exit it proposes asks the model."""
        proposal = self._host.advise(req, AdviceSource.STRATEGY)
        if proposal.action is AdviceAction.HOLD:
            self._answer(req, proposal)
            return
        self._tally.proposals += 1
        self._proposals[req.request_id] = proposal
        messages = confirm.build_confirm_messages(req, proposal, self._ai, self._host.facts())
        why = (self._gate.why_not(req.ts_ms, len(self._flights)) or self._rec.miss(messages, req)
               or self._gate.breaker_holds())
        if why is not None:
            self._answer(req, self._no_answer(req, why))
            return
        key = (f"confirm:{req.request_id}", *cache_key(req)[1:])  # a proposal is asked once, never cached
        self._wait(req, key, None, messages)

    def _judged(self, req: AdviceRequest, fields: dict[str, Any], meta: ReplyMeta) -> Advice:
        proposal = self._proposals.pop(req.request_id, None)
        if proposal is None:
            return self._host.advise(req, AdviceSource.FALLBACK, "the proposal was already answered")
        try:
            kind, advice = confirm.verdict(fields, req, proposal, self._ai, meta)
        except (AdviceRejected, ArithmeticError, ValueError) as exc:
            self._tally.rejected += 1
            self._proposals[req.request_id] = proposal
            return self._no_answer(req, f"unusable verdict: {exc}", str(exc))
        setattr(self._tally, kind, getattr(self._tally, kind) + 1)
        logger.info("AI consultant: the model {} the {} proposal of {}", kind, proposal.action.value, self._host.label)
        return advice

    def _on_candles(self, msg: CandlesClosed) -> None:
        self._host.add_candles(msg.candles, msg.interval_ms)

    # -- bookkeeping --

    def _answer(self, req: AdviceRequest, advice: Advice) -> None:
        self._tally.answered(advice.source)
        # `_value_` is `.value` without the enum property's lookup: this line runs for every advice
        logger.debug("advice {} {} {} ({})", req.request_id, advice.action._value_, advice.base_price,
                     advice.source._value_)
        assert req.reply_to is not None
        try:
            req.reply_to.tell(advice)
        except pykka.ActorDeadError:
            logger.warning("AI consultant: the requester of {} is gone", req.request_id)

    def _account(self, usage: Usage, attempts: int, latency_ms: int | None) -> None:
        self._tally.account(usage, attempts, latency_ms, self._clock())

    def _stats(self) -> Stats:
        values: tuple[tuple[str, StatValue], ...] = (
            *self._tally.values(self._clock()),
            ("in_flight", len(self._flights)),
            ("waiting", self._flights.waiting),
            ("cache_entries", len(self._cache)),
            ("model", self._ai.model),
            *self._gate.values(),
            *self._rec.values(),
            ("role", self._role),
            *self._host.stats.values(self._host.label),
        )
        return Stats(source="ai", values=values)
