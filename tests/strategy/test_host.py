"""The host: a strategy that misbehaves costs nothing (a counted hold, one log line per kind), one that
behaves becomes advice like a model's; bars reach it closed and in order; bar strategies hold till the next close."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import pytest
from loguru import logger

from actors.messages import AdviceAction, AdviceRequest, AdviceSource, Candle, TradingState
from actors.settings import AISettings
from actors.strategy import Bar, Context, Decision, Strategy, buy, hold, sell
from actors.strategy.host import StrategyHost
from actors.strategy.loader import Loaded
from tests._support.fakes.openrouter import sample_request

M = 60_000
T0 = 1_699_999_200_000  # a whole hour, before the sample request's time (1_700_000_000_000)


class Scripted(Strategy):
    """Answers with whatever `answer(ctx)` returns; records the bars it saw."""

    def __init__(self, answer: Callable[[Context], Any], timeframe: str | None = None, lookback: int = 0,
                 on_bar: Callable[[Bar], None] | None = None) -> None:
        self.answer, self.timeframe, self.lookback = answer, timeframe, lookback
        self.seen: list[Bar] = []
        self._on_bar = on_bar
        self.contexts: list[Context] = []

    def on_bar(self, bar: Bar) -> None:
        self.seen.append(bar)
        if self._on_bar is not None:
            self._on_bar(bar)

    def decide(self, ctx: Context) -> Decision:
        self.contexts.append(ctx)
        return self.answer(ctx)  # type: ignore[no-any-return]


def host(answer: Callable[[Context], Any], *, cpu: Callable[[], float] | None = None, **kw: Any) -> StrategyHost:
    s = Scripted(answer, **kw)
    tf = {None: None, "5m": 5 * M, "1h": 60 * M}[kw.get("timeframe")]
    loaded = Loaded(s, "mine.py:Scripted", "mine.py", tf, kw.get("lookback", 0))
    return StrategyHost(loaded, AISettings(), 250, **({"cpu": cpu} if cpu else {}))


def candles(n: int, start: int = 0, price: str = "10") -> list[Candle]:
    p = D(price)
    return [Candle(open_ms=T0 + (start + i) * M, open=p, high=p, low=p, close=p, volume=D(1)) for i in range(n)]


def flat(ts: int = 1_700_000_000_000) -> AdviceRequest:
    return sample_request(ts_ms=ts)


def holding() -> AdviceRequest:
    return sample_request(state=TradingState.READY_TO_SELL, mid="10.005", entry_price="9.90")


@pytest.fixture
def logged() -> Any:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="ERROR", format="{message}")
    yield lines
    logger.remove(sink)


def test_a_good_buy_becomes_strategy_advice_with_its_plan() -> None:
    h = host(lambda ctx: buy(ctx.buy_price(ctx.bid), "dip", target=D("10.30"), stop=D("9.80"), time_limit_s=600))
    a = h.advise(flat(), AdviceSource.STRATEGY)
    assert a.action is AdviceAction.BUY and a.base_price == D("10.00") and a.source is AdviceSource.STRATEGY
    assert a.strategy == "mine.py:Scripted" and a.reasoning == "mine.py:Scripted: dip" and a.rejected_reason is None
    assert a.exit_plan is not None and a.exit_plan.stop_price == D("9.80") and a.exit_plan.time_limit_s == 600
    assert a.wake_on_move and a.valid_until_ms == flat().ts_ms + AISettings().cache_ttl_s * 1000
    assert h.stats.buys == 1 and h.stats.errors == {}


BAD: list[tuple[str, Callable[[Context], Any], str]] = [
    ("exception", lambda ctx: 1 / 0, "decide raised ZeroDivisionError"),
    ("wrong_type", lambda ctx: "buy", "decide returned str, not a Decision"),
    ("wrong_type", lambda ctx: buy(10.0), "is a float, not a Decimal"),  # type: ignore[arg-type]
    ("rejected", lambda ctx: buy(D("10.001")), "not on the tick grid"),
    ("rejected", lambda ctx: buy(D("9.00")), "more than 2% under mid"),
    ("rejected", lambda ctx: buy(D("10.50")), "above the best ask"),
    ("rejected", lambda ctx: sell(D("10.00")), "sell does not fit state ready_to_buy"),
    ("wrong_type", lambda ctx: buy(D("10.00"), confidence=D(2)), "confidence 2 must be a number from 0 to 1"),
    ("rejected", lambda ctx: buy(D("10.00"), stop=D("10.50")), "stop_price 10.5 must lie below"),
]


@pytest.mark.parametrize(("kind", "answer", "says"), BAD)
def test_a_strategy_that_misbehaves_gets_a_hold_that_says_why(logged: list[str], kind: str, answer: Any, says: str) -> None:
    h = host(answer)
    for _ in range(3):
        a = h.advise(flat(), AdviceSource.STRATEGY)
        assert a.action is AdviceAction.HOLD and a.base_price is None and a.exit_plan is None
        assert says in (a.rejected_reason or "") and "mine.py:Scripted (mine.py) at 2023-11-14 22:13:20 UTC" in a.reasoning
    assert h.stats.errors == {kind: 3} and h.stats.buys == 0 and says in h.stats.last_error
    assert len(logged) == 1 and says in logged[0] and "mine.py" in logged[0]  # once per kind, not per bar


def test_a_sell_under_break_even_is_refused_and_one_above_accepted() -> None:
    low = host(lambda ctx: sell(D("9.91")))
    a = low.advise(holding(), AdviceSource.STRATEGY)
    assert a.action is AdviceAction.HOLD and "below min_sell_price" in (a.rejected_reason or "")
    ok = host(lambda ctx: sell(ctx.sell_price(ctx.min_sell_price)))
    assert ok.advise(holding(), AdviceSource.STRATEGY).action is AdviceAction.SELL


def test_too_slow_is_measured_in_cpu_time_and_held() -> None:
    clock = iter([0.0, 0.3, 1.0, 1.01])  # decide took 300 ms of CPU the first time, 10 ms the second
    h = host(lambda ctx: buy(ctx.buy_price(ctx.bid)), cpu=lambda: next(clock))
    slow = h.advise(flat(), AdviceSource.STRATEGY)
    assert slow.action is AdviceAction.HOLD and "decide took 300 ms of CPU (strategy.timeout_ms = 250)" in slow.reasoning
    assert h.advise(flat(), AdviceSource.STRATEGY).action is AdviceAction.BUY


def test_on_bar_failing_holds_the_decisions_on_that_bar_only(logged: list[str]) -> None:
    def explode(bar: Bar) -> None:
        if bar.open_ms == T0 + 5 * M:
            raise KeyError("x")

    h = host(lambda ctx: buy(ctx.buy_price(ctx.bid)), timeframe="5m", on_bar=explode)
    h.add_candles(candles(10), M)
    a = h.advise(flat(), AdviceSource.STRATEGY)
    assert a.action is AdviceAction.HOLD and "on_bar raised KeyError" in a.reasoning
    h.add_candles(candles(5, start=10), M)
    assert h.advise(flat(), AdviceSource.STRATEGY).action is AdviceAction.BUY
    assert len(logged) == 1


def test_bars_arrive_closed_in_order_and_decisions_wait_for_the_lookback() -> None:
    seen: list[Context] = []

    def answer(ctx: Context) -> Decision:
        seen.append(ctx)
        return hold("ok")

    h = host(answer, timeframe="5m", lookback=3)
    h.add_candles(candles(12), M)  # two 5m bars closed, the third forming
    a = h.advise(flat(T0 + 12 * M), AdviceSource.STRATEGY)
    assert a.action is AdviceAction.HOLD and "warming up: 2 of 3 bars" in a.reasoning and not seen
    h.add_candles(candles(3, start=12), M)
    h.advise(flat(T0 + 15 * M), AdviceSource.STRATEGY)
    ctx = seen[-1]
    assert [b.open_ms for b in ctx.bars] == [T0, T0 + 5 * M, T0 + 10 * M] and ctx.bar_closed
    h.advise(flat(T0 + 15 * M + 1), AdviceSource.STRATEGY)
    assert not seen[-1].bar_closed and seen[-1].bars is ctx.bars


def test_a_bar_strategys_hold_lasts_until_the_next_close_whatever_the_price() -> None:
    h = host(lambda ctx: hold("no"), timeframe="1h")
    h.add_candles(candles(60), M)  # the 00:00-00:59 bar closed
    a = h.advise(flat(T0 + 60 * M + 5), AdviceSource.STRATEGY)
    assert a.valid_until_ms == T0 + 120 * M - 2 and not a.wake_on_move  # woken at the next bar's last ms
    b = host(lambda ctx: buy(ctx.buy_price(ctx.bid)), timeframe="1h")
    assert not b.advise(flat(), AdviceSource.STRATEGY).wake_on_move


def test_data_coarser_than_the_timeframe_holds_and_says_so(logged: list[str]) -> None:
    h = host(lambda ctx: buy(ctx.buy_price(ctx.bid)), timeframe="5m")
    h.add_candles([dataclasses.replace(c, open_ms=T0) for c in candles(1)], 60 * M)
    a = h.advise(flat(), AdviceSource.STRATEGY)
    assert a.action is AdviceAction.HOLD and "longer than the strategy's 300 s bars" in a.reasoning
    assert len(logged) == 1


@pytest.mark.parametrize("state", [TradingState.BUYING, TradingState.SELLING])
def test_an_order_working_or_a_stale_market_never_asks_the_strategy(state: TradingState) -> None:
    s = Scripted(lambda ctx: buy(ctx.buy_price(ctx.bid)))
    h = StrategyHost(Loaded(s, "x", "x", None, 0), AISettings(), 250)
    assert h.advise(sample_request(state=state), AdviceSource.STRATEGY).action is AdviceAction.HOLD
    stale = sample_request()
    stale = dataclasses.replace(stale, snapshot=dataclasses.replace(stale.snapshot, stale=True))
    assert h.advise(stale, AdviceSource.STRATEGY).action is AdviceAction.HOLD and not s.contexts


def test_as_a_fallback_it_says_why_the_model_did_not_answer() -> None:
    h = host(lambda ctx: hold("quiet"))
    a = h.advise(flat(), AdviceSource.FALLBACK, "timeout", "slow")
    assert a.source is AdviceSource.FALLBACK and a.reasoning == "mine.py:Scripted (timeout): quiet"
    assert a.rejected_reason == "slow"


@pytest.mark.parametrize(("features", "want"), [
    (lambda: {"rsi": 27.5, "nan": float("nan"), "inf": float("inf"), "none": None},
     {"rsi": D("27.5"), "nan": None, "inf": None, "none": None}),  # what JSON cannot say is None
    (dict, None),  # publishes nothing: the prompt has no strategy part
    (lambda: 1 / 0, None),  # raises: the prompt goes without, nothing else changes
    (lambda: {"x": "not a number"}, None),
])
def test_the_prompt_facts_are_finite_numbers_or_nothing(features: Callable[[], Any], want: Any) -> None:
    h = host(lambda ctx: hold("x"), timeframe="5m")
    h.loaded.strategy.features = features  # type: ignore[method-assign]
    facts = h.facts()
    assert facts == (None if want is None else {"name": "mine.py:Scripted", "timeframe": "5m", "features": want})


def falling(n: int, top: float = 12.0, step: float = 0.05) -> list[Candle]:
    return [Candle(open_ms=T0 + i * M, open=D(repr(top - step * i)), high=D(repr(top - step * i + 0.01)),
                   low=D(repr(top - step * (i + 1))), close=D(repr(top - step * (i + 1))), volume=D(1))
            for i in range(n)]


@pytest.mark.parametrize(("trend_period", "action"), [(0, AdviceAction.BUY), (5, AdviceAction.HOLD)])
def test_rsi_dip_with_trend_period_zero_buys_any_dip_and_with_a_trend_only_above_it(
        trend_period: int, action: AdviceAction) -> None:
    """The screened `trend_period = 0`: no trend filter (it used to build EMA(0) and fail); with one, a dip in a
    fall (the close under the trend EMA) is not bought."""
    from actors.strategy.loader import strategy_class

    cls, label, where = strategy_class("rsi_dip")
    s = cls(timeframe="1m", rsi_period=2, oversold=20, trend_period=trend_period, atr_period=2)
    h = StrategyHost(Loaded(s, label, where, M, s.lookback), AISettings(), 250)
    h.add_candles(falling(8), M)
    a = h.advise(sample_request(ts_ms=T0 + 8 * M, mid="11.55"), AdviceSource.STRATEGY)
    assert a.action is action, a.reasoning
    if trend_period == 0:
        assert h.facts()["features"]["trend_ema"] is None  # type: ignore[index]  # no EMA to show the model
