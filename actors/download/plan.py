"""Which files to fetch: data.binance.vision's paths, monthly where a month is complete and published, daily for the rest.

Binance publishes a day's file the next day and a month's file on the first
Monday of the month after (reference/binance.md, section 9). So a month wholly
inside the range whose monthly file is out is one file; a month cut by the
range, the current month and a month not yet published are its days. Pure:
"today" comes from the caller's clock.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

KLINES = "klines"
KINDS = (KLINES, "aggTrades", "trades")
# data.binance.vision's spot kline intervals (the month bar is "1mo" there, "1M" on the REST API)
INTERVALS = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1mo")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")


class PlanError(ValueError):
    """The command's arguments ask for nothing that can exist; the message says which and why."""


@dataclass(frozen=True, slots=True)
class FileJob:
    """One zip to have on disk: where it is published and where it goes."""

    symbol: str
    kind: str
    interval: str  # "" for aggTrades and trades
    period: str  # "2025-01" (a month) or "2025-01-05" (a day)
    url: str
    dest: Path

    @property
    def name(self) -> str:
        return self.dest.name

    @property
    def monthly(self) -> bool:
        return len(self.period) == 7

    @property
    def first_day(self) -> date:
        return date.fromisoformat(self.period + "-01" if self.monthly else self.period)

    @property
    def last_day(self) -> date:
        d = self.first_day
        return d.replace(day=calendar.monthrange(d.year, d.month)[1]) if self.monthly else d


def parse_symbol(text: str) -> str:
    sym = text.strip().upper()
    if not _SYMBOL.match(sym):
        raise PlanError(f"{text!r} is not a Binance spot symbol: the pair without a separator, such as TRUMPUSDC")
    return sym


def parse_period(text: str, *, end: bool, flag: str) -> date:
    """A month (`2025-01`: its first day, or its last with `end`) or a day (`2025-01-05`)."""
    try:
        if m := _MONTH.match(text):
            year, month = int(m.group(1)), int(m.group(2))
            first = date(year, month, 1)
            return first.replace(day=calendar.monthrange(year, month)[1]) if end else first
        if _DAY.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise PlanError(f"{flag} {text!r}: give a month (2025-01) or a day (2025-01-05)")


def first_monday(year: int, month: int) -> date:
    d = date(year, month, 1)
    return d + timedelta(days=(7 - d.weekday()) % 7)


def monthly_published(year: int, month: int, today: date) -> bool:
    """Binance publishes a month's file on the first Monday of the month after."""
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return today >= first_monday(nxt.year, nxt.month)


def folder(out: Path, kind: str, symbol: str, interval: str) -> Path:
    """`out/klines/SYMBOL-INTERVAL/` or `out/aggTrades/SYMBOL/`: one folder is one replay (`--replay-path`)."""
    return out / kind / (f"{symbol}-{interval}" if kind == KLINES else symbol)


def file_name(symbol: str, kind: str, interval: str, period: str) -> str:
    return f"{symbol}-{interval if kind == KLINES else kind}-{period}.zip"


def job(base_url: str, out: Path, symbol: str, kind: str, interval: str, period: str) -> FileJob:
    name = file_name(symbol, kind, interval, period)
    span = "monthly" if len(period) == 7 else "daily"
    sub = f"{symbol}/{interval}" if kind == KLINES else symbol
    url = f"{base_url.rstrip('/')}/data/spot/{span}/{kind}/{sub}/{name}"
    return FileJob(symbol, kind, interval if kind == KLINES else "", period, url,
                   folder(out, kind, symbol, interval) / name)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def plan(symbol: str, kind: str, interval: str, start: date, end: date, today: date, *,
         base_url: str, out: Path) -> list[FileJob]:
    """The files that make up [start, end], in time order: whole published months, days for the rest."""
    jobs: list[FileJob] = []
    d = start.replace(day=1)
    while d <= end:
        last = d.replace(day=calendar.monthrange(d.year, d.month)[1])
        if start <= d and last <= end and monthly_published(d.year, d.month, today):
            jobs.append(job(base_url, out, symbol, kind, interval, f"{d:%Y-%m}"))
        else:
            jobs.extend(job(base_url, out, symbol, kind, interval, day.isoformat())
                        for day in days(max(d, start), min(last, end)))
        d = last + timedelta(days=1)
    return jobs


def as_days(j: FileJob, *, base_url: str, out: Path) -> list[FileJob]:
    """A monthly file's days, for a month whose file is not out yet."""
    return [job(base_url, out, j.symbol, j.kind, j.interval, day.isoformat()) for day in days(j.first_day, j.last_day)]


def date_range(start_text: str, end_text: str | None, today: date) -> tuple[date, date]:
    """`--from`/`--to` as days; `--to` defaults to yesterday and never goes past it (today's file cannot exist)."""
    start = parse_period(start_text, end=False, flag="--from")
    yesterday = today - timedelta(days=1)
    end = parse_period(end_text, end=True, flag="--to") if end_text else yesterday
    end = min(end, yesterday)
    if start > end:
        raise PlanError(f"--from {start_text} is after the last day that can be published ({end.isoformat()}): "
                        "nothing to download")
    return start, end


__all__ = ["INTERVALS", "KINDS", "KLINES", "FileJob", "PlanError", "as_days", "date_range", "first_monday",
           "folder", "job", "monthly_published", "parse_period", "parse_symbol", "plan"]
