"""A sweep's grid file (TOML): dotted settings keys with lists of values, optional random sampling, data, objective.

    [grid]                       # every combination is a parameter set, in this order
    "risk.take_profit" = ["0", "0.01", "0.02"]
    risk.trailing_stop = ["0", "0.005"]   # bare dotted keys work too
    [sample]                     # optional: n sets drawn (seeded) from the grid instead of all
    n = 20
    seed = 7
    [objective]                  # optional; the command line wins
    name = "excess"              # excess | return | return_capital | calmar
    max_drawdown = 0.5           # per unit deployed; 0 = no constraint
    [data]                       # optional; PATH arguments win
    paths = ["../shared/data/klines/TRUMPUSDC-1m"]

Instead of a product, or after it, explicit sets, each a table of dotted keys (a family of
strategies with their own parameters does not make one product):

    [[set]]
    "strategy.name" = "strategies/donchian_breakout.py:DonchianBreakout"
    "strategy.params.entry_bars" = 48

The same file gives the same sets in the same order (sampling is seeded).
"""

from __future__ import annotations

import itertools
import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors.research.paths import ResearchError
from actors.research.runs import flatten

MAX_SETS = 100_000


@dataclass(frozen=True, slots=True)
class Grid:
    sets: tuple[dict[str, Any], ...]
    axes: dict[str, list[Any]] = field(default_factory=dict)
    paths: tuple[str, ...] = ()
    objective: str | None = None
    max_dd: float | None = None
    sampled: int | None = None  # n when drawn at random


def load_grid(path: str | Path) -> Grid:
    p = Path(path)
    if not p.is_file():
        raise ResearchError(f"grid file {str(p)!r} does not exist")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ResearchError(f"grid file {str(p)!r} is not valid TOML: {exc}") from None
    unknown = set(raw) - {"grid", "sample", "objective", "data", "set"}
    if unknown:
        raise ResearchError(f"grid file: unknown table(s) {', '.join(sorted(unknown))}; "
                            "allowed: [grid], [[set]], [sample], [objective], [data]")
    explicit = raw.get("set") or []
    if not isinstance(explicit, list) or not all(isinstance(x, dict) and x for x in explicit):
        raise ResearchError("grid file: each [[set]] must be a table of dotted settings keys")
    axes = flatten(raw.get("grid") or {})
    if not axes and not explicit:
        raise ResearchError("grid file: [grid] names no settings keys to sweep (and there is no [[set]])")
    for key, values in axes.items():
        if not isinstance(values, list) or not values:
            raise ResearchError(f"grid file: {key} must be a non-empty list of values, not {values!r}")
    total = 1
    for values in axes.values():
        total *= len(values)
    if total > MAX_SETS and "sample" not in raw:
        raise ResearchError(f"grid file: {total} combinations; add [sample] n = ... to draw some of them")
    combos = itertools.product(*axes.values()) if axes else iter(())
    sets = [dict(zip(axes, c, strict=True)) for c in combos] if total <= MAX_SETS else []
    sampled = None
    sample = raw.get("sample")
    if sample is not None:
        n, seed = sample.get("n"), sample.get("seed", 0)
        if not isinstance(n, int) or n < 1 or not isinstance(seed, int):
            raise ResearchError("grid file: [sample] needs n = a whole number >= 1 (and seed = a whole number)")
        rng = random.Random(seed)
        if sets:
            keep = sorted(rng.sample(range(len(sets)), min(n, len(sets))))
            sets = [sets[i] for i in keep]
        else:  # too many to list: draw each key's value
            seen: list[dict[str, Any]] = []
            while len(seen) < min(n, total):
                s = {k: rng.choice(v) for k, v in axes.items()}
                if s not in seen:
                    seen.append(s)
            sets = seen
        sampled = len(sets)
    sets += [flatten(x) for x in explicit]
    objective = raw.get("objective") or {}
    data = raw.get("data") or {}
    paths = data.get("paths", [])
    if not isinstance(paths, list) or not all(isinstance(x, str) for x in paths):
        raise ResearchError("grid file: [data] paths must be a list of strings")
    max_dd = objective.get("max_drawdown")
    return Grid(sets=tuple(sets), axes=axes, paths=tuple(paths), objective=objective.get("name"),
                max_dd=float(max_dd) if max_dd is not None else None, sampled=sampled)


__all__ = ["Grid", "load_grid"]
