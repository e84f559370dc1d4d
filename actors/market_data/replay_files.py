"""Where a replay's rows come from: a plain CSV, or a CSV inside a zip read in place (split out of `replay.py`)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import IO


class FileSpec:
    """One file (or zip member) to read: its kind, time unit, header row and first timestamp (ms)."""

    __slots__ = ("first_ts", "header", "kind", "label", "micros", "opener")

    def __init__(self, label: str, opener: PlainFile | ZipMember, kind: str, micros: bool, header: bool,
                 first_ts: int) -> None:
        self.label = label
        self.opener = opener
        self.kind = kind
        self.micros = micros
        self.header = header
        self.first_ts = first_ts


def _open_text(raw: IO[bytes]) -> IO[str]:
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")


class PlainFile:
    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def open(self) -> IO[str]:
        return open(self.path, encoding="utf-8", errors="replace", newline="")


class ZipMember:
    __slots__ = ("member", "path")

    def __init__(self, path: Path, member: str) -> None:
        self.path = path
        self.member = member

    def open(self) -> IO[str]:
        # The archive stays open until the member stream is closed (zipfile counts references).
        with zipfile.ZipFile(self.path) as zf:
            raw = zf.open(self.member)
        return _open_text(raw)
