"""Checks a replay must pass before it starts, and the symbol's grid it trades on.

A replay of another symbol's file, or of prices a few ticks apart, runs for
minutes and trades nothing (or nonsense). So before the start:

- the symbol in the file names (Binance names carry it: `BTCUSDT-1m-2020-01-01.csv`)
  must be `symbol`: a refusal names `symbol` and the value to set;
- the grid (tick, lot step, minimum quantity) is taken from the settings when
  they were given (`Settings.given`), otherwise inferred from the data's own
  decimals (a Binance file writes prices on the tick grid and sizes on the lot grid);
- the tick must be fine against the prices: at least `MIN_TICKS_IN_PRICE` ticks
  in the lowest price, else a refusal names `exchange.tick_size` and a value that works.

Pure functions over settings and a sample of the files' first rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from actors.market_data.replay import ReplayError, ReplaySource
from actors.market_data.replay_info import sample
from actors.settings import Settings

MIN_TICKS_IN_PRICE = 100  # a tick above 1 % of the price: the bot's 0.4 % round trip cannot be priced
SAMPLE_ROWS = 2000
QUOTES = ("FDUSD", "USDT", "USDC", "TUSD", "BUSD", "USDP", "DAI", "EUR", "TRY", "BRL", "JPY", "BTC", "ETH", "BNB")

# SYMBOL[-UMFUTURES]-(aggTrades|trades|1m...)-YYYY-MM[-DD], possibly after a "spot-" prefix or a folder
_NAME = re.compile(r"(?:^|[^A-Z0-9])([A-Z0-9]{4,20})(?:-(?:UM|CM)FUTURES)?-(?:aggTrades|trades|\d+[smhdwM])-\d{4}-\d{2}")


class ReplayRefused(ValueError):
    """The replay cannot trade as configured; the message names the setting and a value that works."""


@dataclass(frozen=True, slots=True)
class DataFacts:
    symbols: dict[str, str]  # file label -> the symbol its name carries
    tick: Decimal | None  # the finest price step written in the data
    step: Decimal | None  # the finest size step written
    low: Decimal | None  # the lowest price seen
    high: Decimal | None


def file_symbol(label: str) -> str | None:
    """The symbol a Binance public-data file name carries, or None (a zip member's own name wins)."""
    for part in reversed(label.split(":")):
        m = _NAME.search(Path(part).name)
        if m:
            return m.group(1)
    return None


def _places(cell: str) -> int:
    """Decimal places as written, trailing zeros aside: "7195.24000000" -> 2."""
    _, dot, frac = cell.partition(".")
    return len(frac.rstrip("0")) if dot else 0


def data_facts(src: ReplaySource, rows_per_file: int = SAMPLE_ROWS) -> DataFacts:
    symbols: dict[str, str] = {}
    px_places = qty_places = -1
    low: Decimal | None = None
    high: Decimal | None = None
    for label, _kind, prices, qtys in sample(src, rows_per_file):
        sym = file_symbol(label)
        if sym:
            symbols[label] = sym
        for cell in prices:
            px_places = max(px_places, _places(cell))
            p = Decimal(cell)
            if p > 0:
                low = p if low is None or p < low else low
                high = p if high is None or p > high else high
        for cell in qtys:
            qty_places = max(qty_places, _places(cell))
    return DataFacts(
        symbols=symbols,
        tick=Decimal(1).scaleb(-px_places) if px_places >= 0 else None,
        step=Decimal(1).scaleb(-qty_places) if qty_places >= 0 else None,
        low=low,
        high=high,
    )


def check_symbol(settings: Settings, facts: DataFacts) -> None:
    wrong = {label: sym for label, sym in facts.symbols.items() if sym != settings.symbol}
    if not wrong:
        return
    label, sym = next(iter(wrong.items()))
    base, quote = split_symbol(sym)
    assets = f' with [exchange] base_asset = "{base}" and quote_asset = "{quote}"' if base else ""
    raise ReplayRefused(
        f"replay file {label!r} holds {sym} data, but symbol = {settings.symbol!r}: "
        f'set symbol = "{sym}"{assets}, or replay a {settings.symbol} file'
    )


def split_symbol(symbol: str) -> tuple[str, str]:
    """("PEPE", "USDT") for "PEPEUSDT"; ("", "") when no known quote asset ends it."""
    for q in QUOTES:
        if symbol.endswith(q) and len(symbol) > len(q):
            return symbol[: -len(q)], q
    return "", ""


def grid_source(settings: Settings, key: str) -> str:
    """Where `exchange.<key>` came from: the settings, the replay's data (`apply_grid`), or the defaults."""
    if f"exchange.{key}" in settings.given:
        return "settings"
    return "inferred from the data" if f"exchange.{key}.inferred" in settings.given else "default"


def apply_grid(settings: Settings, facts: DataFacts) -> Settings:
    """The settings with the grid keys that were not given replaced by the data's own."""
    inferred = {"tick_size": facts.tick, "step_size": facts.step, "min_qty": facts.step}
    changes: dict[str, Any] = {k: v for k, v in inferred.items() if v is not None and f"exchange.{k}" not in settings.given}
    if not changes:
        return settings
    return replace(settings, exchange=replace(settings.exchange, **changes),
                   given=settings.given | {f"exchange.{k}.inferred" for k in changes})


def check_tick(settings: Settings, facts: DataFacts) -> None:
    tick, low = settings.exchange.tick_size, facts.low
    source = grid_source(settings, "tick_size")
    if low is None or low >= tick * MIN_TICKS_IN_PRICE:
        return
    good = facts.tick if facts.tick is not None and low >= facts.tick * MIN_TICKS_IN_PRICE else None
    if good is None:
        good = Decimal(1).scaleb(low.adjusted() - 3)  # a thousandth of the price's magnitude
    raise ReplayRefused(
        f"exchange.tick_size = {tick} ({source}) is too coarse for these prices (from {low} to {facts.high}): "
        f"the lowest is only {int(low / tick)} ticks, and an order needs prices a fraction of a percent apart; "
        f'set [exchange] tick_size = "{good:f}"'
    )


def prepare(settings: Settings) -> Settings:
    """For a replay: refuse what cannot trade (`ReplayRefused`), and return the settings on the grid
    it will trade on. Other sources pass through unchanged."""
    if settings.market.source != "replay":
        return settings
    try:
        src = ReplaySource(settings.market.replay_path)
    except ReplayError as exc:
        raise ReplayRefused(f"market.replay_path: {exc}") from None
    facts = data_facts(src)
    check_symbol(settings, facts)
    settings = apply_grid(settings, facts)
    check_tick(settings, facts)
    return settings


def checked(settings: Settings) -> tuple[Settings, str | None]:
    """`prepare` for the start: (settings to run with, None) or (settings, why the run must not start)."""
    try:
        return prepare(settings), None
    except ReplayRefused as exc:
        return settings, f"cannot start the replay: {exc}"


__all__ = ["DataFacts", "ReplayRefused", "apply_grid", "check_symbol", "check_tick", "checked", "data_facts",
           "file_symbol", "grid_source", "prepare", "split_symbol"]
