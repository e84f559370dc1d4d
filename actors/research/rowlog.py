"""A sweep's rows as they land: JSON lines, appended and flushed one at a time, so a kill loses no finished run.

Each row is one `write` of one line then a flush: after a SIGKILL the file
holds every row that landed, and at worst a last line cut short. Reading
takes the complete lines and ignores a torn last one (a line without its
newline, or one that is not a JSON object); reopening to append first cuts
the file back to its last complete line, so a resumed sweep never glues a
row onto a torn one. A flush reaches the kernel, which outlives the
process; only a power cut could lose the last rows, and those are run again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

ROWS_FILE = "rows.jsonl"


def read(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete row, in the order written (a torn or unreadable line is skipped)."""
    if not path.is_file():
        return
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                return  # torn: the process died while writing it
            try:
                row = json.loads(raw)
            except ValueError:
                continue
            if isinstance(row, dict):
                yield row


def _complete_length(path: Path) -> int:
    """Bytes up to and including the last newline (0 for a missing or newline-free file)."""
    if not path.is_file():
        return 0
    size = path.stat().st_size
    with path.open("rb") as fh:
        pos = size
        while pos > 0:
            step = min(1 << 16, pos)
            fh.seek(pos - step)
            chunk = fh.read(step)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                return pos - step + cut + 1
            pos -= step
    return 0


class RowLog:
    """Appends rows to `path`; `resume` keeps the complete rows already there, else the file starts empty."""

    def __init__(self, path: Path, *, resume: bool) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume and path.is_file():
            keep = _complete_length(path)
            if keep != path.stat().st_size:
                os.truncate(path, keep)
            self._fh: IO[str] = path.open("a", encoding="utf-8")
        else:
            self._fh = path.open("w", encoding="utf-8")

    def append(self, row: Mapping[str, Any]) -> None:
        self._fh.write(json.dumps(dict(row), sort_keys=True, allow_nan=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> RowLog:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


__all__ = ["ROWS_FILE", "RowLog", "read"]
