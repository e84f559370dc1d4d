"""Checks a replay must pass before it starts, and the symbol's grid it trades on.

A replay of another symbol's file, or of prices a few ticks apart, runs for
minutes and trades nothing (or nonsense). So before the start:

- the symbol in the file names (Binance names carry it: `BTCUSDT-1m-2020-01-01.csv`)
  must be `symbol`: a refusal names `symbol` and the value to set;
- the grid (tick, lot step, minimum quantity) is taken from the settings when
  they were given (`Settings.given`), otherwise inferred from the data's own
  decimals (a Binance file writes prices on the tick grid and sizes on the lot grid);
- the tick must be fine against the prices the bot would trade at: at least
  `MIN_TICKS_IN_PRICE` ticks in a low percentile (`TYPICAL_PERCENTILE`) of the
  closes (klines) or trade prices, else a refusal names `exchange.tick_size`
  and a value that works. Not the lowest print: a flash crash wicks one bar
  down to a few ticks (ATOMUSDT printed 0.001 against a close of about 4 on
  2025-10-10), and that month is the one a trader most wants to replay; a file
  on the wrong grid has all its prices a few ticks apart, not one.

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
TYPICAL_PERCENTILE = 1  # the tick is judged at this percentile of the traded prices: one wick is not the month
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
    low: Decimal | None  # the lowest price seen (a wick's, maybe)
    high: Decimal | None
    typical_low: Decimal | None = None  # TYPICAL_PERCENTILE of the closes or trade prices: what the tick is judged on


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
    traded: list[Decimal] = []
    for label, _kind, prices, qtys, traded_cells in sample(src, rows_per_file):
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
        traded.extend(p for p in map(Decimal, traded_cells) if p > 0)
    return DataFacts(
        symbols=symbols,
        tick=Decimal(1).scaleb(-px_places) if px_places >= 0 else None,
        step=Decimal(1).scaleb(-qty_places) if qty_places >= 0 else None,
        low=low,
        high=high,
        typical_low=percentile(traded, TYPICAL_PERCENTILE),
    )


def _f(x: Decimal | None) -> str:
    return "-" if x is None else format(x, "f")


def percentile(values: list[Decimal], pct: int) -> Decimal | None:
    """The value `pct` % of the way up the sorted values (nearest rank, from below); None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[len(ordered) * pct // 100]


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
    """Judged on the prices the bot would trade at (`DataFacts.typical_low`), not on the lowest print."""
    tick = settings.exchange.tick_size
    low = facts.typical_low if facts.typical_low is not None else facts.low
    source = grid_source(settings, "tick_size")
    if low is None or low >= tick * MIN_TICKS_IN_PRICE:
        return
    good = facts.tick if facts.tick is not None and low >= facts.tick * MIN_TICKS_IN_PRICE else None
    if good is None:
        good = Decimal(1).scaleb(low.adjusted() - 3)  # a thousandth of the price's magnitude
    raise ReplayRefused(
        f"exchange.tick_size = {tick:f} ({source}) is too coarse for these prices (from {_f(facts.low)} to "
        f"{_f(facts.high)}): the lowest is only {int(low / tick)} ticks (at {low:f}: percentile {TYPICAL_PERCENTILE} of the closes or "
        "trades, so that one wick is not judged), and an order needs prices a fraction of a percent apart; "
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
           "file_symbol", "grid_source", "percentile", "prepare", "split_symbol"]
