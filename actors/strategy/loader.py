"""`[strategy] name` to a running strategy object: a built-in, a file of the user's, or a module.

    "trend" | "maker"                    the built-ins (actors/strategy/builtin/)
    "ema_trend" | "breakout" | "rsi_dip" the examples in strategies/, by name
    "strategies/rsi_dip.py:RSIDip"       a file, relative to the working directory
    "mypackage.mymodule:MyStrategy"      a module on the Python path

Everything that can go wrong before the first bar (no such file, a file that
does not import, no such class, a class that is not a Strategy, a constructor
that rejects its params, a bad timeframe or lookback) is a `StrategyError`
whose message names the file and the class: the start stops with it (exit 2).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from actors.settings import Settings
from actors.strategy.bars import timeframe_ms
from actors.strategy.base import Strategy

EXAMPLES = Path(__file__).resolve().parents[2] / "strategies"  # the checkout's strategies/, to read and to copy
BUILTIN = {"trend": "actors.strategy.builtin.trend:TrendStrategy",
           "maker": "actors.strategy.builtin.maker:MakerStrategy",
           # the examples are built-ins too, by name: one copy of the code, the one a trader reads
           "ema_trend": f"{EXAMPLES / 'ema_trend.py'}:EMATrend",
           "breakout": f"{EXAMPLES / 'donchian_breakout.py'}:DonchianBreakout",
           "rsi_dip": f"{EXAMPLES / 'rsi_dip.py'}:RSIDip"}

__all__ = ["BUILTIN", "Loaded", "StrategyError", "load", "strategy_class"]


class StrategyError(ValueError):
    """The configured strategy cannot run; the message names the file, the class and why."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """A constructed strategy and what the bot needs to know about it."""

    strategy: Strategy
    label: str  # "trend", or "rsi_dip.py:RSIDip": what reports and logs call it
    where: str  # the file or module it came from
    timeframe_ms: int | None
    lookback: int


def _split(name: str) -> tuple[str, str]:
    target = BUILTIN.get(name, name)
    where, sep, cls = target.rpartition(":")
    if not sep or not where or not cls:
        raise StrategyError(f"[strategy] name {name!r} is not one of {', '.join(BUILTIN)}, a file "
                            f"'path/to/file.py:ClassName' or a module 'package.module:ClassName'")
    return where, cls


def _module(where: str, cwd: Path) -> ModuleType:
    if where.endswith(".py"):
        path = (cwd / where).resolve()
        if not path.is_file():
            raise StrategyError(f"strategy file {where} does not exist (looked in {cwd})")
        # a stable name per file, so a Ray worker or a second load finds the same module
        name = f"trader_strategy_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:10]}"
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise StrategyError(f"strategy file {where} cannot be loaded as Python")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:
            sys.modules.pop(name, None)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise StrategyError(f"strategy file {where} does not import: {type(exc).__name__}: {exc}") from None
        return module
    try:
        return importlib.import_module(where)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's to read, named
        raise StrategyError(f"strategy module {where} does not import: {type(exc).__name__}: {exc}") from None


def strategy_class(name: str, cwd: Path | None = None) -> tuple[type[Strategy], str, str]:
    """(the class, its label, where it came from) for a `[strategy] name`."""
    where, cls_name = _split(name)
    module = _module(where, cwd or Path.cwd())
    cls = getattr(module, cls_name, None)
    if cls is None:
        found = sorted(n for n, v in vars(module).items()
                       if inspect.isclass(v) and issubclass(v, Strategy) and v is not Strategy)
        raise StrategyError(f"{where} has no class {cls_name}" + (f"; it defines {', '.join(found)}" if found else ""))
    if not (inspect.isclass(cls) and issubclass(cls, Strategy)):
        raise StrategyError(f"{where}:{cls_name} is not a Strategy subclass "
                            f"(from actors.strategy import Strategy; class {cls_name}(Strategy): ...)")
    label = name if name in BUILTIN else f"{Path(where).name if where.endswith('.py') else where}:{cls_name}"
    return cls, label, where


def _builtin_params(name: str, settings: Settings) -> dict[str, Any]:
    """The trend built-in's defaults come from its historical keys ([ai] rule_*)."""
    if name not in BUILTIN:
        return {}
    ai = settings.ai
    if name == "trend":
        return {"horizon_s": ai.rule_horizon_s, "target_vol": ai.rule_target_vol, "stop_vol": ai.rule_stop_vol,
                "fee_margin": ai.rule_fee_margin}
    return {}


def load(settings: Settings, cwd: Path | None = None) -> Loaded:
    """Build the strategy `settings` name with its `[strategy.params]`; StrategyError says what is wrong."""
    name = settings.strategy.name
    cls, label, where = strategy_class(name, cwd)
    params = {**_builtin_params(name, settings), **dict(settings.strategy.params)}
    try:
        inspect.signature(cls).bind(**params)
    except TypeError as exc:
        raise StrategyError(f"{label}: [strategy.params] {sorted(settings.strategy.params)} do not fit "
                            f"{cls.__name__}{inspect.signature(cls)}: {exc}") from None
    try:
        strategy = cls(**params)
    except Exception as exc:  # noqa: BLE001 - the constructor's refusal, named for the user
        raise StrategyError(f"{label}: the constructor refused [strategy.params] {dict(settings.strategy.params)}: "
                            f"{type(exc).__name__}: {exc}") from None
    try:
        tf = timeframe_ms(getattr(strategy, "timeframe", None))
    except ValueError as exc:
        raise StrategyError(f"{label}: {exc}") from None
    lookback = getattr(strategy, "lookback", 0)
    if not isinstance(lookback, int) or isinstance(lookback, bool) or not 0 <= lookback <= 100_000:
        raise StrategyError(f"{label}: lookback must be a whole number of bars from 0 to 100000, not {lookback!r}")
    return Loaded(strategy, label, where, tf, lookback)
