"""The journal: every fact the StateKeeper records, in SQLite (WAL), in order.

The keeper's state is a fold over these facts, so a restart rebuilds it by
replaying them through the same code that applied them live. An order intent
is committed before its order is sent; other facts are committed once per
batch of messages drained from the mailbox.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from actors._lib import codec
from actors.state_keeper.facts import OLD_KINDS

SCHEMA_VERSION = 3

# Each migration takes the journal from version N-1 to N.
_MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, payload TEXT NOT NULL)",
    ],
    2: [
        "ALTER TABLE events ADD COLUMN ts_ms INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE events ADD COLUMN correlation_id TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX IF NOT EXISTS events_kind ON events (kind)",
    ],
    3: [  # typed facts: the kind is the fact's class name (state_keeper/facts.py)
        *(f"UPDATE events SET kind = '{new}' WHERE kind = '{old}'"  # noqa: S608 - our own constant names
          for old, new in OLD_KINDS.items()),
    ],
}


class JournalError(RuntimeError):
    """The journal cannot be opened or read; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Owner:
    """Who writes a journal: a paper run's position must never be "recovered" into real money.

    `account` is a fingerprint (see `fingerprint`), never a key.
    """

    mode: str  # backtest | paper-live | real
    venue: str  # where prices (and, for real, orders) come from
    account: str

    def describe(self) -> str:
        return f"mode {self.mode}, venue {self.venue}, account {self.account}"


def fingerprint(api_key: str) -> str:
    """A short, stable name for an account: the first 16 hex digits of the key's SHA-256."""
    return "sha256:" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


class Journal:
    def __init__(self, path: str | Path, owner: Owner | None = None) -> None:
        """Open (or create) the journal; with `owner`, refuse one that another mode or account wrote."""
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
            self.owner = self._claim(owner)
            self.db.execute("BEGIN")
        except sqlite3.DatabaseError as exc:
            raise JournalError(
                f"the journal {self.path!r} is damaged or not a journal ({exc}). Nothing was changed. "
                f"Move it aside (for example to {self.path}.broken) to start with an empty journal, "
                "and reconcile the account by hand: open orders on the exchange are not known to a fresh journal."
            ) from None
        self.pending = 0  # facts appended since the last commit
        self._rows: list[tuple[str, str, int, str]] = []  # encoded, not yet handed to SQLite

    def _migrate(self) -> None:
        version = self._version()
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"the journal {self.path!r} has schema version {version}, newer than this bot ({SCHEMA_VERSION}): "
                "upgrade the bot, or point [storage] path at another file"
            )
        for v in range(version + 1, SCHEMA_VERSION + 1):
            self.db.execute("BEGIN")
            for stmt in _MIGRATIONS[v]:
                self.db.execute(stmt)
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(v),))
            self.db.execute("COMMIT")

    def _claim(self, owner: Owner | None) -> Owner | None:
        """The recorded owner; a first opener (or an old file without one) records `owner`."""
        rows = dict(self.db.execute("SELECT key, value FROM meta WHERE key IN ('mode', 'venue', 'account')"))
        recorded = Owner(rows["mode"], rows.get("venue", "?"), rows.get("account", "?")) if "mode" in rows else None
        if owner is None:
            return recorded
        if recorded is None:
            if self.db.execute("SELECT 1 FROM events LIMIT 1").fetchone():
                logger.warning("journal {} records no owner (written by an older version): now claimed by {}",
                               self.path, owner.describe())
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                [("mode", owner.mode), ("venue", owner.venue), ("account", owner.account)])
            self.db.execute("COMMIT")
            return owner
        if (recorded.mode, recorded.account) != (owner.mode, owner.account):
            self.db.close()
            raise JournalError(
                f"the journal {self.path!r} was written by {recorded.describe()}; this run is {owner.describe()}. "
                "A journal is only ever continued by the mode and account that wrote it. Nothing was changed: "
                "point [storage] path at another file, or remove --exchange/--market to run in the journal's mode"
            )
        return recorded

    def _version(self) -> int:
        has_meta = self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        if not has_meta:
            return 0
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def append(self, kind: str, payload: Any, ts_ms: int = 0, correlation_id: str = "") -> None:
        self.append_many([(kind, payload, ts_ms, correlation_id)])

    def append_many(self, rows: list[tuple[str, Any, int, str]]) -> None:
        """Encode the facts now; they reach SQLite in one batch when committed (or read back).

        Nothing is durable before `commit` either way (the rows were in an open transaction
        before), so holding them here until then loses nothing a crash would not have lost.
        """
        dumps = codec.dumps
        self._rows += [(kind, dumps(payload), ts, cid) for kind, payload, ts, cid in rows]
        self.pending += len(rows)

    def _write(self) -> None:
        if self._rows:
            self.db.executemany("INSERT INTO events (kind, payload, ts_ms, correlation_id) VALUES (?, ?, ?, ?)",
                                self._rows)
            self._rows = []

    def commit(self) -> None:
        if self.pending:
            self._write()
            self.db.execute("COMMIT")
            self.db.execute("BEGIN")
            self.pending = 0

    def facts(self) -> Iterator[tuple[int, str, Any]]:
        """Every committed fact in order; a damaged row stops with a clear JournalError."""
        try:
            self._write()  # this connection's own appended facts too, as before (not committed by reading)
            cur = self.db.execute("SELECT seq, kind, payload FROM events ORDER BY seq")
            for seq, kind, payload in cur:
                try:
                    yield seq, kind, codec.loads(payload)
                except (ValueError, TypeError, KeyError) as exc:
                    raise JournalError(
                        f"journal {self.path!r}: event {seq} ({kind}) cannot be read: {exc}. "
                        "Restore a backup, or move the file aside to start afresh and reconcile by hand."
                    ) from None
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"journal {self.path!r} is damaged: {exc}. Move it aside to start afresh.") from None

    def count(self) -> int:
        self._write()
        return int(self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def close(self) -> None:
        try:
            self.commit()
            self.db.execute("COMMIT")
        except sqlite3.Error:
            pass
        self.db.close()
