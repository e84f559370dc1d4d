"""What `download` shows while it works: a rich bar (bytes, speed, ETA) on a terminal, plain lines when piped."""

from __future__ import annotations

from typing import IO, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


def human(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


class Reporter(Protocol):
    def begin(self, name: str, have: int, total: int | None) -> None: ...
    def advance(self, name: str, n: int) -> None: ...
    def finish(self, name: str, status: str, detail: str) -> None: ...
    def close(self) -> None: ...


class PlainReporter:
    """One line per file when it is settled; nothing per chunk (a log file wants lines, not redraws)."""

    def __init__(self, total_files: int, stream: IO[str]) -> None:
        self.total = total_files
        self.done = 0
        self.stream = stream

    def begin(self, name: str, have: int, total: int | None) -> None:
        if have:
            self.stream.write(f"resuming {name} at {human(have)}\n")
            self.stream.flush()

    def advance(self, name: str, n: int) -> None:
        pass

    def finish(self, name: str, status: str, detail: str) -> None:
        self.done += 1
        self.stream.write(f"[{self.done}/{self.total}] {status:<8} {name}{f'  {detail}' if detail else ''}\n")
        self.stream.flush()

    def close(self) -> None:
        pass


class RichReporter:
    """A bar for all the bytes seen so far (the total grows as each file announces its size) and one per file."""

    def __init__(self, total_files: int, console: Console) -> None:
        self.total_files = total_files
        self.done = 0
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TransferSpeedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console)
        self.all = self.progress.add_task(self._label(), total=0)
        self.tasks: dict[str, TaskID] = {}
        self.progress.start()

    def _label(self) -> str:
        return f"{self.done}/{self.total_files} files"

    def _task(self, task_id: TaskID) -> Task:
        return next(t for t in self.progress.tasks if t.id == task_id)

    def begin(self, name: str, have: int, total: int | None) -> None:
        whole = self._task(self.all)
        old = self.tasks.pop(name, None)
        if old is not None:  # a retry: take back what the failed attempt counted
            gone = self._task(old)
            self.progress.update(self.all, completed=whole.completed - gone.completed,
                                 total=(whole.total or 0) - (gone.total or 0))
            self.progress.remove_task(old)
        self.tasks[name] = self.progress.add_task(name, total=total, completed=have)
        self.progress.update(self.all, completed=whole.completed + have, total=(whole.total or 0) + (total or 0))

    def advance(self, name: str, n: int) -> None:
        task = self.tasks.get(name)
        if task is not None:
            self.progress.update(task, advance=n)
            self.progress.update(self.all, advance=n)

    def finish(self, name: str, status: str, detail: str) -> None:
        self.done += 1
        task = self.tasks.pop(name, None)
        if task is not None:
            self.progress.remove_task(task)
        if status in ("bad", "failed") or (status == "fetched" and detail):  # the missing are listed at the end
            self.progress.console.print(f"{status:<8} {name}{f'  {detail}' if detail else ''}")
        self.progress.update(self.all, description=self._label())

    def close(self) -> None:
        self.progress.stop()


def reporter(total_files: int, console: Console | None = None) -> Reporter:
    console = console or Console(stderr=True)
    if console.is_terminal:
        return RichReporter(total_files, console)
    return PlainReporter(total_files, console.file)


__all__ = ["PlainReporter", "Reporter", "RichReporter", "human", "reporter"]
