"""Each run's settings: the base settings, the file's symbol and grid, a parameter set, and research's own keys.

The base is a settings file (flattened to dotted keys, so a run travels to a
Ray worker as plain data). A run of ANOTHER symbol than the base's drops the
base's grid and assets (they describe another market): its assets come from the
symbol (`split_symbol`), its tick and lot from the data (`replay_check.prepare`,
which also refuses a file of the wrong symbol or too coarse a tick). A run of
the base's own symbol keeps a grid the base gives. A parameter set is dotted
keys over that (`risk.take_profit = "0.02"`), validated like a settings file.

Research never trades for real and never serves a page: the exchange is paper,
the market a fast replay, the status page off, the console quiet.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actors.market_data import replay_check
from actors.research.paths import ResearchError, RunSpec
from actors.settings import Settings, SettingsError, load_settings

GRID_KEYS = ("exchange.tick_size", "exchange.step_size", "exchange.min_qty")
ASSET_KEYS = ("exchange.base_asset", "exchange.quote_asset")
FORCED_KEYS = ("symbol", "exchange.kind", "market.source", "market.replay_path", "market.speed", "status.port")


def flatten(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"risk": {"capital": 10}} -> {"risk.capital": 10}; a key already dotted stays as written."""
    out: dict[str, Any] = {}
    for k, v in raw.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, f"{key}."))
        else:
            out[key] = v
    return out


def base_keys(config: str | Path | None) -> dict[str, Any]:
    """The base settings file as dotted keys (validated once here, so a bad file fails before any run)."""
    if config is None:
        return {}
    p = Path(config)
    load_settings(p)  # SettingsError names the bad key
    return flatten(tomllib.loads(p.read_text(encoding="utf-8")))


def run_keys(base: Mapping[str, Any], spec: RunSpec, params: Mapping[str, Any], out_dir: Path) -> dict[str, Any]:
    """The dotted keys of one run (before its grid is inferred from the data)."""
    for key in params:
        if key in FORCED_KEYS:
            raise ResearchError(f"parameter {key!r} cannot be swept: research sets it for every run")
    keys = dict(base)
    base_symbol = str(keys.get("symbol", Settings().symbol))
    symbol = spec.symbol or base_symbol
    b, q = replay_check.split_symbol(symbol)
    if symbol != base_symbol:
        for k in (*GRID_KEYS, *ASSET_KEYS):
            keys.pop(k, None)
    if b:
        keys.setdefault("exchange.base_asset", b)
        keys.setdefault("exchange.quote_asset", q)
    keys.update(params)
    name = str(keys.get("strategy.name", ""))
    file, sep, cls = name.partition(":")
    if sep and file.endswith(".py") and not Path(file).is_absolute():  # a worker starts elsewhere: the full path
        keys["strategy.name"] = f"{Path(file).resolve()}:{cls}"
    keys.update({
        "symbol": symbol, "exchange.kind": "paper", "market.source": "replay", "market.replay_path": spec.path,
        "market.speed": 0, "status.port": 0,
        "logging.file": str(out_dir / "trader.jsonl"), "logging.console_level": "ERROR",
        "logging.file_level": str(keys.get("logging.file_level") or "WARNING"),
    })
    return keys


def overrides(keys: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys as `load_settings` overrides: a key deeper than `section.key` ("strategy.params.fast")
    becomes a table under its first two parts ({"strategy.params": {"fast": ...}}), so research passes any
    key the settings know, today's or a new section's, and leaves judging it to `load_settings`."""
    out: dict[str, Any] = {}
    for dotted, value in keys.items():
        parts = dotted.split(".")
        if len(parts) <= 2:
            out[dotted] = copy.deepcopy(value) if isinstance(value, dict) else value  # deeper keys may add to it
            continue
        table = out.setdefault(".".join(parts[:2]), {})
        if not isinstance(table, dict):
            raise SettingsError(f"{dotted} is given, but so is {'.'.join(parts[:2])} = {table!r}")
        for part in parts[2:-1]:
            table = table.setdefault(part, {})
        table[parts[-1]] = value
    return out


def resolve(keys: Mapping[str, Any]) -> Settings:
    """The run's settings from its dotted keys, validated (`SettingsError` names a bad key); no data read."""
    return load_settings(None, overrides(keys))


def run_settings(keys: Mapping[str, Any]) -> Settings:
    """Validated settings on the grid the run trades on; `SettingsError` / `ReplayRefused` say why not."""
    return replay_check.prepare(resolve(keys))


def check_params(base: Mapping[str, Any], params: Mapping[str, Any]) -> None:
    """A parameter set's keys and values, validated before anything runs (names the bad key)."""
    try:
        resolve({**base, **params})
    except SettingsError as exc:
        raise ResearchError(f"parameter set {dict(params)}: {exc}") from None


__all__ = ["FORCED_KEYS", "GRID_KEYS", "base_keys", "check_params", "flatten", "overrides", "resolve", "run_keys", "run_settings"]
