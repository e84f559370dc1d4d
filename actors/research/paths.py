"""PATH arguments → runs: a file is one run, a folder one run per file, folders of folders per symbol folder.

Binance's public-data names carry the symbol and the period (`PEPEUSDT-5m-2025-01.zip`,
`TRUMPUSDC-1m-2025-01-28.csv`): the symbol picks the run's settings, the period
orders runs for walk-forward. Files are taken as they come: csv or zip, in place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from actors.market_data.replay_check import file_symbol

DATA_SUFFIXES = (".csv", ".zip")
_PERIOD = re.compile(r"-(\d{4}-\d{2}(?:-\d{2})?)(?:\.[A-Za-z]+)*$")


class ResearchError(ValueError):
    """A research command cannot start: the message says which argument and why."""


@dataclass(frozen=True, slots=True)
class RunSpec:
    label: str  # unique, readable, usable as a folder name: "TRUMPUSDT-5m/TRUMPUSDT-5m-2025-01"
    path: str  # the file the run replays, absolute (a Ray worker does not start in the caller's folder)
    symbol: str | None  # from the file name; None = the base settings' symbol
    period: str  # "2025-01" or "2025-01-28" from the name; "" when it has none


def period_of(name: str) -> str:
    m = _PERIOD.search(Path(name).name)
    return m.group(1) if m else ""


def _stem(p: Path) -> str:
    name = p.name
    for suffix in DATA_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _files(folder: Path) -> Iterable[Path]:
    """Every data file under `folder`: its own files first (sorted), then each sub-folder's, recursively."""
    entries = sorted(folder.iterdir())
    yield from (f for f in entries if f.is_file() and f.suffix.lower() in DATA_SUFFIXES)
    for sub in entries:
        if sub.is_dir() and not sub.name.startswith("."):
            yield from _files(sub)


def expand(paths: Iterable[str | Path]) -> list[RunSpec]:
    """One `RunSpec` per data file, in argument order, each file once; `ResearchError` if a path is missing or empty."""
    specs: list[RunSpec] = []
    seen: set[Path] = set()
    labels: set[str] = set()
    for arg in paths:
        root = Path(arg)
        if root.is_file():
            files: list[Path] = [root]
        elif root.is_dir():
            files = list(_files(root))
            if not files:
                raise ResearchError(f"{str(root)!r} holds no .csv or .zip data files")
        else:
            raise ResearchError(f"{str(root)!r}: no such file or folder")
        for f in files:
            key = f.resolve()
            if key in seen:
                continue
            seen.add(key)
            label = f"{f.parent.name}/{_stem(f)}" if f.parent.name else _stem(f)
            while label in labels:  # the same folder and file name under two arguments
                label += "_"
            labels.add(label)
            specs.append(RunSpec(label=label, path=str(key), symbol=file_symbol(f.name), period=period_of(f.name)))
    if not specs:
        raise ResearchError("no data to run: give files or folders of Binance kline csv/zip files")
    return specs


__all__ = ["DATA_SUFFIXES", "ResearchError", "RunSpec", "expand", "period_of"]
