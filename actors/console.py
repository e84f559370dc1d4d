"""The run's console: a progress bar with ETA for backtests, one line updated in place live.

    console = Console(settings, progress_line)   # progress_line(status) -> str: the plain line
    console.update(status, market_stats)         # every second or so, from the run loop
    console.close()                              # before the report is printed

On a terminal it draws with `rich`: a backtest shows market time done out
of the replay's (or synthetic market's) span with elapsed time and ETA; a
live run shows one line (market time, state, trades, P&L, feed health)
redrawn in place. Warnings and errors print above it: while it is shown,
`sys.stdout` and (when it is a terminal too) `sys.stderr` are rich's
proxies, and the loguru console sink looks `sys.stderr` up at each write
(`actors/logging_setup.py`), so its lines go through the proxy and above
the display. When stdout is not a terminal (tests, CI, pipes, TERM=dumb)
nothing is drawn: each `update` prints `progress_line(status)`, as before.
"""

from __future__ import annotations

import os
import sys
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TextIO

from rich.console import Console as RichConsole
from rich.console import RenderableType
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from actors.market_data.synthetic import EPOCH_MS
from actors.settings import Settings

MAX_SCAN_BYTES = 64 * 1024 * 1024  # a zip member larger than this is not read through for its last row
_TAIL = 64 * 1024


# -- the market time a backtest covers ----------------------------------------------


def run_span(settings: Settings) -> tuple[int, int] | None:
    """(first, last) market ms a backtest will cover, or None when it cannot be known cheaply."""
    m = settings.market
    if m.source == "synthetic":
        return EPOCH_MS, EPOCH_MS + m.duration_s * 1000
    if m.source == "replay" and m.replay_path:
        return replay_span(Path(m.replay_path))
    return None


def replay_span(path: Path) -> tuple[int, int] | None:
    """First and last timestamps of a Binance public-data CSV, zip or folder, from each file's ends."""
    if path.is_dir():
        files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in (".csv", ".zip"))
    elif path.is_file():
        files = [path]
    else:
        return None
    spans = [s for f in files for s in _spans_of(f) if s is not None]
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)


def _spans_of(f: Path) -> Iterator[tuple[int, int] | None]:
    try:
        if f.suffix.lower() == ".zip":
            with zipfile.ZipFile(f) as zf:
                for info in zf.infolist():
                    if info.filename.lower().endswith(".csv") and info.file_size <= MAX_SCAN_BYTES:
                        with zf.open(info) as raw:
                            lines = (b.decode("utf-8", "replace") for b in raw)
                            first = _first_row(lines)
                            rest = deque(lines, maxlen=1)
                            yield _span(first, rest[0] if rest else first)
            return
        with f.open("rb") as fh:
            first = _first_row(b.decode("utf-8", "replace") for b in fh)
            yield _span(first, _last_line(fh))
    except (OSError, zipfile.BadZipFile):
        yield None


def _first_row(lines: Iterable[str]) -> str | None:
    for n, line in enumerate(lines):
        if line.strip() and line.split(",", 1)[0].strip().isdigit():
            return line
        if n > 5:
            return None
    return None


def _last_line(fh: IO[bytes]) -> str | None:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - _TAIL))
    rows = [r for r in fh.read().decode("utf-8", "replace").splitlines() if r.strip()]
    return rows[-1] if rows else None


def _span(first: str | None, last: str | None) -> tuple[int, int] | None:
    if first is None or last is None:
        return None
    a, b = _times(first), _times(last)
    if a is None or b is None:
        return None
    return a[0], b[1]


def _times(row: str) -> tuple[int, int] | None:
    """(time, end time) of one row: a kline's open and close, a trade's time twice; ms."""
    cells = [c.strip() for c in row.split(",")]
    stamps = [i for i, c in enumerate(cells) if c.isdigit() and 12 <= len(c) <= 16]
    if not stamps:
        return None
    start = int(cells[stamps[0]])
    end = int(cells[6]) if len(cells) >= 12 and 6 in stamps else start  # klines: the close time
    unit = 1000 if start > 10**14 else 1  # microseconds (Binance spot data from 2025 on)
    return start // unit, end // unit


# -- the display ---------------------------------------------------------------------


def _utc(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000))


def market_ms(status: Any, market_stats: dict[str, Any] | None) -> int | None:
    snap = getattr(status, "last_snapshot", None)
    if snap is not None:
        return int(snap.ts_snapshot_ms)
    last = (market_stats or {}).get("last_data_ms")
    return int(last) if isinstance(last, int) and last > 0 else None


def feed_health(market_stats: dict[str, Any] | None, now_ms: int) -> str:
    """What the feed is doing, in a few words (live runs)."""
    if not market_stats:
        return "feed ?"
    warming = ""
    if market_stats.get("warming"):
        warming = f"warming up: {market_stats.get('warm_minutes', 0)} of {market_stats.get('warm_of', 0)} minutes"
        if not market_stats.get("stale") or market_stats.get("warm_kind") == "backfill":  # the stream is back
            return warming
    if market_stats.get("stale"):
        cause = str(market_stats.get("stale_cause") or market_stats.get("last_error") or "no data")
        return f"feed STALE: {cause[:60]}" + (f"; {warming}" if warming else "")
    last = market_stats.get("last_data_ms")
    age = f", data {max(0, now_ms - last) / 1000:.1f} s old" if isinstance(last, int) and last > 0 else ""
    reconnects = market_stats.get("reconnects") or 0
    return f"feed ok{age}" + (f", {reconnects} reconnects" if reconnects else "")


def _closed(status: Any) -> int:
    if status.trades:
        return sum(1 for t in status.trades if t.status == "CLOSED")
    return int(dict(status.counters).get("trades_closed", 0))


def _state(status: Any) -> str:
    risk = getattr(status, "risk", None)
    text = str(status.state.name)
    if risk is not None and risk.state.value != "active":
        text += f" {risk.state.name}: {risk.reason}"[:60]
    if status.halted_reason and "HALTED" not in text:
        text += f" HALTED: {status.halted_reason}"[:60]
    return text


def _pnl(status: Any) -> str:
    text = f"P&L {status.realized_pnl:+.4f}"
    risk = getattr(status, "risk", None)
    if risk is not None:
        unrealized = risk.equity - risk.capital - status.realized_pnl
        if abs(unrealized) >= Decimal("0.00005"):  # shown to 4 places: no "+0.0000"
            text += f" (open {unrealized:+.4f})"
    return text


def live_line(settings: Settings, status: Any, market_stats: dict[str, Any] | None, now_ms: int) -> str:
    kind = "REAL" if settings.exchange.kind == "binance" else "PAPER"
    when = market_ms(status, market_stats)
    snap = status.last_snapshot
    mid = f"  mid {snap.mid:.4f}" if snap is not None else ""
    return (f"{kind} {settings.symbol}  {_utc(when) + ' UTC' if when else 'waiting for data'}{mid}  "
            f"{_state(status)}  trades {_closed(status)}  {_pnl(status)}  {feed_health(market_stats, now_ms)}")


def backtest_info(status: Any) -> str:
    return f"{_state(status)} · trades {_closed(status)} · {_pnl(status)}"


class _Bar(Progress):
    """rich's Progress with a second line under the bar (symbol, state, trades, P&L): both fit 80 columns."""

    def __init__(self, **kw: Any) -> None:
        self.info = ""  # before Progress starts drawing
        super().__init__(TextColumn("{task.description}"), BarColumn(bar_width=24), TaskProgressColumn(),
                         TextColumn("{task.fields[market]}"), TimeElapsedColumn(), TextColumn("ETA"),
                         TimeRemainingColumn(), refresh_per_second=4, redirect_stdout=True, **kw)

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        yield Text(self.info, no_wrap=True, overflow="ellipsis")


class Console:
    """See the module docstring. `interactive` None: draw when stdout is a terminal (and TERM is not dumb)."""

    def __init__(self, settings: Settings, plain_line: Callable[[Any], str], *, stream: TextIO | None = None,
                 interactive: bool | None = None, span: tuple[int, int] | None = None,
                 clock: Callable[[], int] | None = None) -> None:
        self._settings = settings
        self._plain = plain_line
        self._stream = stream
        out = stream if stream is not None else sys.stdout
        if interactive is None:
            interactive = out.isatty() and os.environ.get("TERM", "") != "dumb"
        self.interactive = interactive
        self.backtest = settings.market.source in ("synthetic", "replay")
        self._span = span if span is not None or not (self.backtest and interactive) else run_span(settings)
        self._clock = clock or (lambda: time.time_ns() // 1_000_000)
        self._shown: Any = None  # the rich Progress or Live while drawn
        self._task: Any = None
        self._market: dict[str, Any] | None = None  # the last market stats: a final update without them keeps them

    def update(self, status: Any, market_stats: dict[str, Any] | None = None) -> None:
        market_stats = self._market = market_stats if market_stats is not None else self._market
        if not self.interactive:
            print(self._plain(status), file=self._stream or sys.stdout, flush=True)
            return
        if self._shown is None:
            self._open()
        if self.backtest:
            self._update_bar(status, market_stats)
        else:
            from rich.text import Text

            self._shown.update(Text(live_line(self._settings, status, market_stats, self._clock())), refresh=True)

    def close(self, status: Any = None) -> None:
        """Stop drawing (the display stays on screen as last drawn, with `status` if given); idempotent."""
        if self._shown is not None and status is not None:
            self.update(status, None)
        shown, self._shown = self._shown, None
        if shown is not None:
            shown.stop()

    # -- rich ---------------------------------------------------------------------------

    def _open(self) -> None:

        out = self._stream if self._stream is not None else sys.stdout
        rich = RichConsole(file=out, force_terminal=True) if self._stream is not None else RichConsole()
        errors_above = sys.stderr.isatty() or self._stream is not None  # a redirected stderr stays where it goes
        if self.backtest:
            self._shown = _Bar(console=rich, redirect_stderr=errors_above)
            total = (self._span[1] - self._span[0]) if self._span else None
            self._task = self._shown.add_task("backtest", total=total or None, market="")
        else:
            from rich.live import Live

            self._shown = Live("", console=rich, refresh_per_second=4, transient=False, redirect_stdout=True,
                               redirect_stderr=errors_above)
        self._shown.start()

    def _update_bar(self, status: Any, market_stats: dict[str, Any] | None) -> None:
        now = market_ms(status, market_stats)
        done: Decimal | int | None = None
        if now is not None and self._span is not None:
            done = max(0, min(now, self._span[1]) - self._span[0])
        finished = bool(status.stopped_reason)
        if finished and self._span is not None:
            done = self._span[1] - self._span[0]
        self._shown.info = f"{self._settings.symbol} " + backtest_info(status)
        self._shown.update(self._task, completed=done, market=_utc(now)[:16] if now else "waiting for data",
                           refresh=True)

