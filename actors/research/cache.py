"""Finished runs, kept by what decides their figures: (code version, settings, data), so no run is done twice.

A run's key is the SHA-256 of three parts:

- the code version: every `.py` file under `actors/` (path and bytes, not a
  git commit, which says nothing of uncommitted edits) and the Python version;
- the run's settings: its full resolved `Settings` (every key, defaults
  included, so a changed default changes the key even where no file names it),
  less the two that name where a run is (`market.replay_path`, the data, is
  keyed by content; `logging.file` is the run's own folder); with the content
  of any other file a setting names (a strategy file, an advice store), so
  editing that file changes the key too;
- the data: the SHA-256 of the file's bytes, remembered by (path, size,
  mtime) so the 300 files of the universe are hashed once, not every sweep.

The store is one SQLite file (WAL; a row committed as it lands, so a killed
sweep loses nothing it finished). Only finished runs are kept: a failed run is
tried again next time. `Cache(None)` keeps file hashes in memory and no results.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from actors.research import runs

ACTORS = Path(__file__).resolve().parents[1]
STRATEGIES = ACTORS.parent / "strategies"
CACHE_FILE = "research.sqlite3"
NOT_SETTINGS = ("market.replay_path", "logging.file")  # where a run is, not what it is
NO_CONTENT = ("storage.path",)  # a backtest journals into its own folder: the live journal is not an input
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT);
CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, figures TEXT NOT NULL, created REAL NOT NULL);
"""


def default_dir() -> Path:
    """$XDG_CACHE_HOME/trump-trader (else ~/.cache/trump-trader): shared by every checkout and report folder."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "trump-trader"


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 of the `actors/` and `strategies/` sources (relative path and bytes, sorted) and the Python version."""
    h = hashlib.sha256(f"python {sys.version_info.major}.{sys.version_info.minor}\n".encode())
    for path in sorted(ACTORS.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        h.update(path.relative_to(ACTORS).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    for path in sorted(STRATEGIES.glob("*.py")):  # the built-in names that load the examples
        h.update(b"strategies/" + path.name.encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _plain(value: Any) -> Any:
    """Settings as JSON-ready data, in a stable form (whatever sections and field types they grow)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (frozenset, set)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: value}


class Cache:
    """Results by key, and file hashes by (path, size, mtime), in `folder/research.sqlite3` (None: in memory)."""

    def __init__(self, folder: Path | None) -> None:
        self.path = folder / CACHE_FILE if folder is not None else None
        self.keeps_results = folder is not None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path) if self.path else ":memory:", timeout=30.0)
        if self.path:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._digests: dict[str, str] = {}  # the keys' digest → the resolved settings' digest
        self.hits = 0

    def close(self) -> None:
        self._db.close()

    # -- keys --------------------------------------------------------------------------------

    def file_hash(self, path: str | Path) -> str:
        """SHA-256 of the file's bytes; hashed again only when its size or mtime changed."""
        p = str(Path(path).resolve())
        st = os.stat(p)
        row = self._db.execute("SELECT size, mtime_ns, sha256 FROM files WHERE path = ?", (p,)).fetchone()
        if row is not None and row[0] == st.st_size and row[1] == st.st_mtime_ns:
            return str(row[2])
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        digest = h.hexdigest()
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", (p, st.st_size, st.st_mtime_ns, digest))
        return digest

    def settings_digest(self, keys: Mapping[str, Any]) -> str:
        """SHA-256 of the resolved settings (see the module's docstring); `SettingsError` if they are bad."""
        memo = hashlib.sha256(json.dumps({k: v for k, v in keys.items() if k not in NOT_SETTINGS}, sort_keys=True,
                                         default=str).encode()).hexdigest()
        digest = self._digests.get(memo)
        if digest is None:
            flat = _flat(_plain(runs.resolve(keys)))
            given = [k for k in flat.pop("given", []) if k not in NOT_SETTINGS]
            resolved = {k: v for k, v in flat.items() if k not in NOT_SETTINGS}
            named = {k: self.file_hash(v) for k, v in sorted(resolved.items())
                     if k not in NO_CONTENT and isinstance(v, str) and v and os.path.isfile(v)}
            text = json.dumps({"settings": resolved, "given": given, "files": named}, sort_keys=True, default=str)
            digest = self._digests[memo] = hashlib.sha256(text.encode()).hexdigest()
        return digest

    def run_key(self, keys: Mapping[str, Any], data_hash: str) -> str:
        """The key of a run of `keys` on the file whose `file_hash` is `data_hash`."""
        parts = f"{code_version()}\n{self.settings_digest(keys)}\n{data_hash}"
        return hashlib.sha256(parts.encode()).hexdigest()

    # -- results -----------------------------------------------------------------------------

    def get(self, key: str) -> dict[str, Any] | None:
        if not self.keeps_results:
            return None
        row = self._db.execute("SELECT figures FROM results WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        self.hits += 1
        figures: dict[str, Any] = json.loads(row[0])
        return figures

    def put(self, key: str, figures: Mapping[str, Any]) -> None:
        if not self.keeps_results or not key:
            return
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?)",
                             (key, json.dumps(dict(figures), sort_keys=True, allow_nan=False), time.time()))


__all__ = ["CACHE_FILE", "Cache", "code_version", "default_dir"]
