"""The strategy host in one call, for tests that ask a built-in for its advice without the actor."""

from __future__ import annotations

from actors.messages import Advice, AdviceRequest, AdviceSource
from actors.settings import AISettings, Settings, StrategySettings
from actors.strategy.host import StrategyHost
from actors.strategy.loader import load


def strategy_advice(req: AdviceRequest, ai: AISettings | None = None, why: str = "", *,
                    rejected_reason: str | None = None, name: str | None = None) -> Advice:
    """What the built-in `ai.rule_strategy` (or `name`) answers to `req`, as the fallback for `why`
    (the strategy in its own right when `why` is empty), from a fresh host."""
    ai = ai or AISettings()
    settings = Settings(ai=ai, strategy=StrategySettings(name=name or ai.rule_strategy))
    host = StrategyHost(load(settings), ai, settings.strategy.timeout_ms)
    source = AdviceSource.FALLBACK if why else AdviceSource.STRATEGY
    return host.advise(req, source, why, rejected_reason)
