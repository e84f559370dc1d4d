"""Runs one strategy for the AI consultant: feeds it closed bars, asks it, checks what it answers.

The host is what makes a strategy that misbehaves cost nothing. An exception
(in `on_bar` or `decide`), an answer of the wrong type, an answer that took
more CPU time than `[strategy] timeout_ms` on one bar, a price off the grid
or outside the band: each becomes a HOLD whose `rejected_reason` says what
happened, is counted, and is logged once per kind with the file, the class and
the bar. Nothing else changes and no order can follow from it. A decision
that passes becomes an `Advice` exactly as a model's does, and goes on to the
keeper's one risk gate like every other proposal.

Pure logic on the consultant's thread: no I/O, and the CPU clock is injected.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from loguru import logger

from actors.ai_consultant.reply import AdviceRejected, clean_text
from actors.ai_consultant.rules import check_exit_plan, check_strategy_price, valid_until
from actors.domain.rules import round_down, round_up
from actors.messages import (
    Advice,
    AdviceAction,
    AdviceRequest,
    AdviceSource,
    Candle,
    TradingState,
    utc_from_ms,
)
from actors.settings import AISettings
from actors.strategy.bars import BarBuilder, CoarserData
from actors.strategy.base import Bar, Context, Decision
from actors.strategy.loader import Loaded

CpuClock = Callable[[], float]
_DECIDING = (TradingState.READY_TO_BUY, TradingState.READY_TO_SELL)


class Misbehaved(Exception):
    """What a strategy did wrong, in words; becomes a counted HOLD."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass
class HostStats:
    decisions: int = 0
    buys: int = 0
    sells: int = 0
    holds: int = 0
    bars: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # by kind
    last_error: str = ""
    cpu_s: float = 0.0  # spent in on_bar and decide

    def values(self, label: str) -> tuple[tuple[str, int | str], ...]:
        return (("strategy", label), ("strategy_decisions", self.decisions), ("strategy_buys", self.buys),
                ("strategy_sells", self.sells), ("strategy_holds", self.holds), ("strategy_bars", self.bars),
                ("strategy_errors", sum(self.errors.values())),
                ("strategy_error_kinds", ", ".join(f"{k} {n}" for k, n in sorted(self.errors.items()))),
                ("strategy_last_error", self.last_error), ("strategy_cpu_ms", int(self.cpu_s * 1000)))


class StrategyHost:
    def __init__(self, loaded: Loaded, ai: AISettings, timeout_ms: int, cpu: CpuClock = time.thread_time) -> None:
        self.loaded = loaded
        self.label = loaded.label
        self.ai = ai
        self._limit_s = timeout_ms / 1000
        self._cpu = cpu
        self._tf = loaded.timeframe_ms
        self._bars = BarBuilder(self._tf, loaded.lookback)
        self._view: tuple[Bar, ...] = ()
        self._view_count = -1
        self._asked_at_count = -1  # the bar count when decide was last called
        self._tainted_count = -1  # on_bar failed or was too slow on this bar: decisions on it are holds
        self._tainted_why = ""
        self._coarse = ""  # the data cannot make this strategy's bars
        self.stats = HostStats()

    # -- bars ------------------------------------------------------------------------------------

    def add_candles(self, candles: Sequence[Candle], interval_ms: int) -> None:
        """Closed candles from the market data: make bars of the timeframe, and feed each to on_bar."""
        if self._coarse:
            return
        try:
            bars = self._bars.add(candles, interval_ms)
        except CoarserData as exc:
            self._coarse = f"{exc}: it cannot run on this data"
            logger.error("strategy {}: {}", self.label, self._coarse)
            return
        on_bar, cpu = self.loaded.strategy.on_bar, self._cpu
        for bar in bars:
            self.stats.bars += 1
            t0 = cpu()
            try:
                on_bar(bar)
            except Exception as exc:  # noqa: BLE001 - the user's code: any failure is a counted hold
                self._taint("exception", f"on_bar raised {type(exc).__name__}: {exc}", bar.close_ms)
                continue
            finally:
                spent = cpu() - t0
                self.stats.cpu_s += spent
            if spent > self._limit_s:
                self._taint("too_slow", f"on_bar took {spent * 1000:.0f} ms of CPU "
                                        f"(strategy.timeout_ms = {self._limit_s * 1000:.0f})", bar.close_ms)

    def facts(self) -> dict[str, object] | None:
        """What the model's prompt says of the strategy: its name, bar size and features (None when it
        publishes none, so the built-ins' prompts stay as they were). A failing `features` says nothing."""
        try:
            feats = self.loaded.strategy.features()
            clean = {str(k): (Decimal(repr(round(float(v), 8))) if v is not None and math.isfinite(float(v)) else None)
                     for k, v in dict(feats).items()}
        except Exception:  # noqa: BLE001 - the user's code: the prompt goes without, the decision is unaffected
            return None
        if not clean:
            return None
        return {"name": self.label, "timeframe": self.loaded.strategy.timeframe, "features": clean}

    def _taint(self, kind: str, detail: str, bar_close_ms: int) -> None:
        self._tainted_count = self._bars.count
        self._tainted_why = self._note(kind, detail, bar_close_ms)

    # -- decisions ----------------------------------------------------------------------------------

    def advise(self, request: AdviceRequest, source: AdviceSource, why: str = "",
               rejected_reason: str | None = None) -> Advice:
        """The strategy's answer to `request` as an Advice from `source`; `why` says why the model is
        not answering (a fallback), shown in the reasoning."""
        label = f"{self.label} ({why})" if why else self.label
        snap = request.snapshot
        if request.state not in _DECIDING:
            return self._hold(request, source, label, f"an order is working ({request.state.value})", rejected_reason)
        if snap.stale:
            return self._hold(request, source, label, "the market data is stale", rejected_reason)
        if not (snap.bid > 0 and snap.ask > snap.bid and snap.mid > 0):
            return self._hold(request, source, label, "the book is empty or crossed", rejected_reason)
        if self._coarse:
            return self._hold(request, source, label, self._coarse, rejected_reason)
        have, need = len(self._bars.bars), self.loaded.lookback
        if have < need:
            return self._hold(request, source, label, f"warming up: {have} of {need} bars", rejected_reason)
        count = self._bars.count
        if self._tainted_count == count and count >= 0 and self._tainted_why:
            return self._hold(request, source, label, self._tainted_why, self._tainted_why)
        if self._view_count != count:
            self._view, self._view_count = tuple(self._bars.bars), count
        closed = count != self._asked_at_count
        self._asked_at_count = count
        ctx = Context(ts_ms=request.ts_ms, state=request.state, snapshot=snap, bars=self._view, bar_closed=closed,
                      position_qty=request.position_qty, entry_price=request.entry_price,
                      break_even_price=request.break_even_price, min_sell_price=request.min_sell_price,
                      exit_target=request.exit_target, fee_rate=request.fee_rate, maker_fee=request.maker_rate,
                      taker_fee=request.taker_rate, min_profit=request.min_profit,
                      quote_per_trade=request.quote_per_trade, filters=request.filters)
        cpu = self._cpu
        t0 = cpu()
        try:
            decision = self.loaded.strategy.decide(ctx)
        except Exception as exc:  # noqa: BLE001 - the user's code: any failure is a counted hold
            self.stats.cpu_s += cpu() - t0
            return self._misbehaved(request, source, label, "exception",
                                    f"decide raised {type(exc).__name__}: {exc}")
        spent = cpu() - t0
        self.stats.cpu_s += spent
        if spent > self._limit_s:
            return self._misbehaved(request, source, label, "too_slow", f"decide took {spent * 1000:.0f} ms of CPU "
                                    f"(strategy.timeout_ms = {self._limit_s * 1000:.0f})")
        try:
            return self._advice(decision, request, source, label, rejected_reason)
        except Misbehaved as exc:
            return self._misbehaved(request, source, label, exc.kind, str(exc))
        except (AdviceRejected, ArithmeticError) as exc:
            return self._misbehaved(request, source, label, "rejected", str(exc) or type(exc).__name__)

    def _advice(self, d: object, request: AdviceRequest, source: AdviceSource, label: str,
                rejected_reason: str | None) -> Advice:
        if not isinstance(d, Decision):
            raise Misbehaved("wrong_type", f"decide returned {type(d).__name__}, not a Decision "
                                           f"(return buy(...), sell(...) or hold(...))")
        if d.action is AdviceAction.HOLD:
            return self._hold(request, source, label, d.reason if isinstance(d.reason, str) else "", rejected_reason)
        if not isinstance(d.action, AdviceAction):
            raise Misbehaved("wrong_type", f"action {d.action!r} is not buy, sell or hold")
        price = d.price
        if not isinstance(price, Decimal):
            raise Misbehaved("wrong_type", f"{d.action.value} price {price!r} is a {type(price).__name__}, not a "
                                           f"Decimal (use ctx.buy_price(x) / ctx.sell_price(x))")
        check_strategy_price(d.action, price, request, self.ai)
        confidence = _confidence(d.confidence)
        f = request.filters
        low, high = d.price_range if d.price_range is not None else (price, price)
        if not (isinstance(low, Decimal) and isinstance(high, Decimal) and low <= price <= high):
            raise Misbehaved("wrong_type", f"price_range {d.price_range!r} must be two Decimals around {price}")
        rng = (min(round_down(low, f.tick_size).quantize(f.tick_size), price),
               max(round_up(high, f.tick_size).quantize(f.tick_size), price))
        plan = check_exit_plan(d.exit_plan, price, request) if d.action is AdviceAction.BUY else None
        reason = d.reason if isinstance(d.reason, str) else ""
        self.stats.decisions += 1
        if d.action is AdviceAction.BUY:
            self.stats.buys += 1
        else:
            self.stats.sells += 1
        return Advice(request_id=request.request_id, action=d.action, base_price=price, price_range=rng,
                      confidence=confidence, reasoning=clean_text(f"{label}: {reason}", self.ai.max_reasoning_chars),
                      source=source, ts_ms=request.ts_ms, valid_until_ms=self._valid_until(request),
                      rejected_reason=rejected_reason, exit_plan=plan, strategy=self.label,
                      wake_on_move=self._tf is None)

    def _hold(self, request: AdviceRequest, source: AdviceSource, label: str, reason: str,
              rejected_reason: str | None) -> Advice:
        self.stats.decisions += 1
        self.stats.holds += 1
        return Advice(request_id=request.request_id, action=AdviceAction.HOLD, base_price=None, price_range=None,
                      confidence=_HOLD_CONFIDENCE, reasoning=clean_text(f"{label}: {reason}", self.ai.max_reasoning_chars),
                      source=source, ts_ms=request.ts_ms, valid_until_ms=self._valid_until(request),
                      rejected_reason=rejected_reason, strategy=self.label, wake_on_move=self._tf is None)

    def _misbehaved(self, request: AdviceRequest, source: AdviceSource, label: str, kind: str, detail: str) -> Advice:
        note = self._note(kind, detail, request.ts_ms)
        return self._hold(request, source, label, note, note)

    def _note(self, kind: str, detail: str, ts_ms: int) -> str:
        """Count it; log the first of each kind with the file, the class and the bar."""
        errors = self.stats.errors
        first = kind not in errors
        errors[kind] = errors.get(kind, 0) + 1
        when = utc_from_ms(ts_ms).strftime("%Y-%m-%d %H:%M:%S UTC")
        note = f"strategy {self.label} ({self.loaded.where}) at {when}: {detail}: holding"
        self.stats.last_error = note
        if first:
            logger.error("{} (each later {} is counted, not logged)", note, kind.replace("_", " "))
        return note

    def _valid_until(self, request: AdviceRequest) -> int:
        """Without a timeframe: the cache TTL, as the model's. With one: until the next bar closes,
        so the keeper asks nothing in between (it wakes at valid_until + 1: the next close)."""
        if self._tf is None:
            return valid_until(request, self.ai)
        return self._bars.next_close_ms(request.ts_ms) - 1


_HOLD_CONFIDENCE = Decimal("0.8")  # the built-ins' holds always carried it: kept for the same journal


def _confidence(c: object) -> Decimal:
    try:
        value = c if isinstance(c, Decimal) else Decimal(str(c)) if isinstance(c, (int, float)) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not 0 <= value <= 1:
        raise Misbehaved("wrong_type", f"confidence {c} must be a number from 0 to 1")
    return value


__all__ = ["HostStats", "Misbehaved", "StrategyHost"]
