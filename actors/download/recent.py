"""`--recent`: the hours the archive does not have yet, from the REST klines endpoint, as one CSV beside the zips.

The file is `SYMBOL-INTERVAL-YYYY-MM-DD.recent.csv` (its first day), in the
folder of the zips and in their 12-column kline layout (no header; times in ms,
as the REST API gives them: the replay finds the unit per file). It starts at
the first day the archive lacks, so a folder replays each bar once; only closed
bars are written. A later run replaces it, and a run that finds the archive has
caught up with some of its days keeps only the bars after them (`trim`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from actors.download.fetch import Http, HttpError

REST_LIMIT = 1000  # bars a klines request returns at most
MAX_PAGES = 10_000  # a guard: 1s bars for a week are 605 pages
SUFFIX = ".recent.csv"
_DAY = re.compile(r"-(\d{4}-\d{2}-\d{2})\.recent\.csv$")
_PERIOD = re.compile(r"-(\d{4}-\d{2}(?:-\d{2})?)\.zip$")


class RecentError(ValueError):
    """The REST top-up failed or answered something that is not klines; the message says which."""


def file_name(symbol: str, interval: str, first_day: date) -> str:
    return f"{symbol}-{interval}-{first_day.isoformat()}{SUFFIX}"


def day_ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


def rest_interval(interval: str) -> str:
    return "1M" if interval == "1mo" else interval  # the month bar: "1mo" in the archive, "1M" on the REST API


def _row(raw: Any) -> list[str] | None:
    """A REST kline as its 12 CSV cells, or None when it is not one."""
    if not isinstance(raw, list) or len(raw) < 12:
        return None
    cells = [str(c) for c in raw[:12]]
    if not (cells[0].isdigit() and cells[6].isdigit()):
        return None
    try:
        [float(c) for c in cells[1:6]]
    except ValueError:
        return None
    return cells


async def fetch(http: Http, rest_url: str, symbol: str, interval: str, start_ms: int, now_ms: int) -> list[list[str]]:
    """Every bar closed before `now_ms` from `start_ms` on, paged by `startTime`, `REST_LIMIT` a request."""
    url = f"{rest_url.rstrip('/')}/api/v3/klines"
    rows: list[list[str]] = []
    start = start_ms
    for _ in range(MAX_PAGES):
        try:
            page = await http.json(url, {"symbol": symbol, "interval": rest_interval(interval),
                                         "startTime": str(start), "limit": str(REST_LIMIT)})
        except HttpError as exc:
            raise RecentError(str(exc)) from None
        if not isinstance(page, list):
            raise RecentError(f"{url} answered {str(page)[:80]!r}, not a list of klines")
        cells = [_row(raw) for raw in page]
        if any(c is None for c in cells):
            raise RecentError(f"{url} answered a row that is not a kline: {str(page)[:80]!r}")
        got = [c for c in cells if c is not None]
        rows.extend(c for c in got if int(c[6]) < now_ms and int(c[0]) >= start)
        if len(got) < REST_LIMIT or int(got[-1][6]) >= now_ms:
            return rows
        nxt = int(got[-1][0]) + 1
        if nxt <= start:
            raise RecentError(f"{url} answered the same bars again from startTime={start}")
        start = nxt
    raise RecentError(f"{url}: more than {MAX_PAGES} pages; narrow the range")


def write(folder: Path, symbol: str, interval: str, first_day: date, rows: list[list[str]]) -> Path:
    """The CSV, through a temporary name; older top-ups of this symbol and interval go."""
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / file_name(symbol, interval, first_day)
    tmp = dest.with_name(dest.name + ".part")
    tmp.write_text("".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    for old in existing(folder, symbol, interval):
        if old != dest:
            old.unlink()
    tmp.replace(dest)
    return dest


def existing(folder: Path, symbol: str, interval: str) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{symbol}-{interval}-*{SUFFIX}") if _DAY.search(p.name))


def trim(folder: Path, symbol: str, interval: str) -> list[str]:
    """Top-ups the archive has caught up with lose the days a zip in the folder now holds (replaying both would
    read those bars twice); what is left keeps its place under its new first day. One line per file touched."""
    zips = [m.group(1) for p in folder.glob(f"{symbol}-{interval}-*.zip") if (m := _PERIOD.search(p.name))] \
        if folder.is_dir() else []
    if not zips:
        return []
    last = max(_last_day(z) for z in zips)
    cut = day_ms(last + timedelta(days=1))
    said = []
    for p in existing(folder, symbol, interval):
        m = _DAY.search(p.name)
        if m is None or date.fromisoformat(m.group(1)) > last or not p.exists():
            continue
        rows = [line.split(",") for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        keep = [r for r in rows if r[0].isdigit() and _ms(int(r[0])) >= cut]
        if keep:
            kept = write(folder, symbol, interval, last + timedelta(days=1), keep)
            said.append(f"{p.name}: the archive now holds its days to {last}; the {len(keep)} bars after are "
                        f"in {kept.name}")
        else:
            p.unlink()
            said.append(f"removed {p.name}: the archive now holds all its days")
    return said


def _ms(ts: int) -> int:
    return ts // 1000 if ts > 10**14 else ts


def _last_day(period: str) -> date:
    if len(period) == 10:
        return date.fromisoformat(period)
    y, m = int(period[:4]), int(period[5:7])
    nxt = date(y + m // 12, m % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


__all__ = ["REST_LIMIT", "SUFFIX", "RecentError", "day_ms", "existing", "fetch", "file_name", "trim", "write"]
