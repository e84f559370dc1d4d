"""Progress of many runs on stderr: a live rich bar with an ETA on a terminal, plain lines in a log or a pipe.

The count is of the runs this command actually runs: rows taken from the
cache or kept from a killed sweep are said once at the start, so they do not
make the ETA look faster than the runs left will be.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

Step = Callable[[dict[str, Any]], None]
LINE_EVERY_S = 60.0  # a plain line at least this often, and at every tenth of the way


def console(stderr: bool = False) -> Console:
    """Wide enough for the tables when the output is a file or a pipe (rich would assume 80 columns)."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=170)


@contextmanager
def track(what: str, total: int) -> Iterator[Step]:
    """A step function to call with each row as it lands."""
    err = console(stderr=True)
    if not err.is_terminal:
        yield _lines(err, what, total)
        return
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("elapsed"),
                   TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[last]}"),
                   console=err, transient=False)
    with bar:
        task = bar.add_task(what, total=total, last="")
        failed = 0

        def step(row: dict[str, Any]) -> None:
            nonlocal failed
            failed += bool(row.get("error"))
            note = f"{row['label']}" + (f" [red]{failed} failed[/red]" if failed else "")
            bar.update(task, advance=1, last=note)

        yield step


def _lines(out: Console, what: str, total: int, clock: Callable[[], float] = time.monotonic) -> Step:
    t0 = clock()
    every = max(1, total // 10)
    count = {"done": 0, "failed": 0}
    last = [t0]

    def step(row: dict[str, Any]) -> None:
        count["done"] += 1
        count["failed"] += bool(row.get("error"))
        done, now = count["done"], clock()
        if done % every and done != total and now - last[0] < LINE_EVERY_S:
            return
        last[0] = now
        elapsed = now - t0
        eta = elapsed / done * (total - done)
        failed = f", {count['failed']} failed" if count["failed"] else ""
        out.print(f"{what}: {done}/{total}{failed}, elapsed {elapsed:.0f} s, ETA {eta:.0f} s", highlight=False)

    return step


__all__ = ["console", "track"]
