"""The journal: committed facts survive, damage is reported clearly, old schemas are migrated."""

from __future__ import annotations

import sqlite3
from decimal import Decimal as D

import pytest

from actors.messages import OrderStatus, PlaceOrder, Side
from actors.state_keeper.journal import SCHEMA_VERSION, Journal, JournalError
from tests.helpers import update


def intent(cid: str = "t-1-B") -> PlaceOrder:
    return PlaceOrder(client_order_id=cid, symbol="TRUMPUSDC", side=Side.BUY, price=D("40.00"), quantity=D("0.25"),
                      ts_ms=1)


def test_committed_facts_come_back_in_order(tmp_path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    j.append("intent", intent(), 1, "t-1-B")
    j.append("update", update("t-1-B", "FILLED", "0.25", "10.00"), 2, "t-1-B")
    j.commit()
    j.append("update", update("t-1-B", "NEW"))  # never committed: as if killed here
    j.db.close()
    facts = list(Journal(path).facts())
    assert [k for _s, k, _p in facts] == ["intent", "update"]
    assert facts[0][2] == intent()
    assert facts[1][2].status is OrderStatus.FILLED and facts[1][2].cum_qty == D("0.25")


def test_wal_mode(tmp_path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    assert j.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_file_that_is_not_a_journal_gives_a_way_out(tmp_path) -> None:
    path = tmp_path / "j.sqlite3"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(JournalError, match="move it aside|Move it aside"):
        Journal(path)
    assert path.read_bytes().startswith(b"this is not sqlite")  # left as it was


def test_truncated_journal_is_reported(tmp_path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    for i in range(2000):
        j.append("intent", intent(f"t-{i}-B"))
    j.commit()
    j.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(JournalError):
        list(Journal(path).facts())


def test_an_unreadable_row_stops_recovery_with_its_number(tmp_path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    j.append("intent", intent())
    j.commit()
    j.db.execute("UPDATE events SET payload = '{\"_t\": \"NoSuchMessage\"}'")
    j.commit()
    with pytest.raises(JournalError, match="event 1"):
        list(j.facts())


def test_version_1_journal_is_migrated(tmp_path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, payload TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    from actors.codec import dumps
    db.execute("INSERT INTO events (kind, payload) VALUES ('intent', ?)", (dumps(intent()),))
    db.commit()
    db.close()
    j = Journal(path)
    assert j.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert [p for _s, _k, p in j.facts()] == [intent()]
    j.append("update", update("t-1-B", "NEW"), 5, "t-1-B")  # the new columns work
    j.commit()


def test_a_newer_journal_is_refused(tmp_path) -> None:
    path = tmp_path / "new.sqlite3"
    Journal(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="newer than this bot"):
        Journal(path)
