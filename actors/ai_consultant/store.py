"""The advice store: every model exchange in SQLite, found again by (model asked, prompt hash).

Why: what the model was told, answered, cost and earned can be checked after
the fact, and a backtest with the model re-runs for free and gives the same
trades (`[ai] mode = "replay"`), although a model never answers the same way
twice. Rows are only ever appended. A prompt asked again in one run is a new
row; replay serves a key's rows in the order they were recorded (the k-th ask
gets the k-th answer, the last one again once they run out), so a recorded
run replays exactly as it ran.

What goes in: the prompt (market facts only: `prompt.py` sends no key, no
account, no order id), the raw reply, what it became, latency, tokens, cost.
What never goes in: keys, signatures, headers. Every text passes `redact`
before it is written, and the tests grep the file for a recognisable key.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from actors._lib.secrets import redact
from actors.messages import ZERO

SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,            -- the model asked ([ai] model); the key with prompt_hash
    prompt_hash TEXT NOT NULL,      -- sha256 of prompt
    prompt TEXT NOT NULL,           -- the chat messages sent, as canonical json
    outcome TEXT NOT NULL,          -- advice | rejected | unusable | failed
    reply TEXT,                     -- the raw reply text (none when the call failed)
    answered_by TEXT,               -- the model that answered (a fallback model may)
    action TEXT,
    base_price TEXT,
    confidence TEXT,
    reason TEXT,                    -- why it was rejected, unusable or failed
    error_kind TEXT,
    error_status INTEGER,
    verdict TEXT,                   -- what the provider's rules made of a failure (fatal | pause | retry)
    hint TEXT,
    latency_ms INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost TEXT NOT NULL DEFAULT '0', -- USD, exact
    market_ts_ms INTEGER NOT NULL DEFAULT 0,  -- market time of the request
    recorded_ms INTEGER NOT NULL DEFAULT 0,
    symbol TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '',           -- the trading state asked about (ready_to_buy, ...)
    late INTEGER NOT NULL DEFAULT 0           -- 1: the answer came after its first requester's deadline
);
CREATE INDEX IF NOT EXISTS exchanges_key ON exchanges (model, prompt_hash, id);
"""
_DECIMALS = frozenset({"base_price", "confidence", "cost"})
_TEXTS = frozenset({"prompt", "reply", "reason", "hint"})


class StoreError(Exception):
    """The advice store cannot be opened or read (a wrong file, another schema)."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """One model call and what came of it."""

    model: str
    prompt_hash: str
    prompt: str
    outcome: str  # advice (usable), rejected (parsed, broke a rule: a hold), unusable (no advice json), failed
    reply: str | None = None
    answered_by: str | None = None
    action: str | None = None
    base_price: Decimal | None = None
    confidence: Decimal | None = None
    reason: str | None = None
    error_kind: str | None = None
    error_status: int | None = None
    verdict: str | None = None
    hint: str | None = None
    latency_ms: int = 0
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = ZERO
    market_ts_ms: int = 0
    recorded_ms: int = 0
    symbol: str = ""
    state: str = ""
    late: bool = False
    id: int = 0


_COLUMNS = tuple(f.name for f in fields(Exchange) if f.name != "id")


def prompt_text(messages: Sequence[Mapping[str, str]]) -> str:
    """The messages as one canonical json text: the same messages, the same text, the same hash."""
    return json.dumps([dict(m) for m in messages], sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def prompt_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _to_db(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _DECIMALS:
        return format(value, "f")
    if name in _TEXTS:
        return redact(str(value))
    return int(value) if isinstance(value, bool) else value


def _from_db(row: sqlite3.Row) -> Exchange:
    values: dict[str, Any] = {}
    for name in row.keys():
        v = row[name]
        values[name] = Decimal(v) if name in _DECIMALS and v is not None else (bool(v) if name == "late" else v)
    values.setdefault("prompt", "")
    return Exchange(**values)


class AdviceStore:
    """The SQLite file; one connection, used by one thread (the consultant's actor thread)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path))
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
                self._db.commit()
            elif row[0] != SCHEMA_VERSION:
                raise StoreError(f"advice store {path} has schema {row[0]}, this code reads {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as e:
            raise StoreError(f"advice store {path} cannot be opened: {e}") from None

    def add(self, ex: Exchange) -> int:
        """Append one exchange (committed at once: a crash loses nothing already paid for)."""
        cols = ", ".join(_COLUMNS)
        marks = ", ".join("?" for _ in _COLUMNS)
        cur = self._db.execute(f"INSERT INTO exchanges ({cols}) VALUES ({marks})",  # noqa: S608 - fixed names
                               [_to_db(c, getattr(ex, c)) for c in _COLUMNS])
        self._db.commit()
        return int(cur.lastrowid or 0)

    def answers(self, model: str) -> dict[str, list[Exchange]]:
        """Every exchange of `model` by prompt hash, in recording order (prompt text left out: replay needs the hash)."""
        cols = ", ".join(c for c in (*_COLUMNS, "id") if c != "prompt")
        out: dict[str, list[Exchange]] = {}
        for row in self._db.execute(f"SELECT {cols} FROM exchanges WHERE model = ? ORDER BY id", (model,)):  # noqa: S608
            ex = _from_db(row)
            out.setdefault(ex.prompt_hash, []).append(ex)
        return out

    def exchanges(self, model: str | None = None) -> list[Exchange]:
        """Every exchange (of one model), oldest first, prompt included."""
        where, args = ("WHERE model = ?", (model,)) if model else ("", ())
        rows = self._db.execute(f"SELECT * FROM exchanges {where} ORDER BY id", args)  # noqa: S608
        return [_from_db(r) for r in rows]

    def models(self) -> list[tuple[str, int, Decimal]]:
        """(model, exchanges, cost) for every model in the store."""
        rows = self._db.execute("SELECT model, COUNT(*), GROUP_CONCAT(cost, ' ') FROM exchanges GROUP BY model "
                                "ORDER BY model").fetchall()
        return [(m, n, sum((Decimal(c) for c in (costs or "").split()), ZERO)) for m, n, costs in rows]

    def close(self) -> None:
        self._db.close()
