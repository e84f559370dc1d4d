"""The journal: committed facts survive, damage is reported clearly, old schemas are migrated."""

from __future__ import annotations

import sqlite3
from decimal import Decimal as D

import pytest

from actors.messages import OrderStatus, PlaceOrder, Side
from actors.state_keeper.journal import SCHEMA_VERSION, Journal, JournalError, Owner, fingerprint
from tests._support.helpers import update


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
    from actors._lib.codec import dumps
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


# -- who wrote it (issue 11: a paper journal must never carry into real money) ------------------

PAPER = Owner("paper-live", "stream.binance.com:9443", "paper")
REAL = Owner("real", "api.binance.com", fingerprint("the-api-key"))


def test_the_first_opener_is_recorded_and_the_same_owner_continues(tmp_path) -> None:
    path = tmp_path / "j.sqlite3"
    Journal(path, REAL).close()
    j = Journal(path, REAL)
    assert j.owner == REAL
    j.close()
    assert Journal(path).owner == REAL  # a reader (status, trades) sees who wrote it, and claims nothing


def test_another_mode_or_account_is_refused_naming_both(tmp_path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(path, PAPER)
    j.append("intent", intent())
    j.close()
    with pytest.raises(JournalError) as err:
        Journal(path, REAL)
    assert "mode paper-live" in str(err.value) and "mode real" in str(err.value)
    other = Owner("real", "api.binance.com", fingerprint("another-key"))
    Journal(tmp_path / "r.sqlite3", REAL).close()
    with pytest.raises(JournalError) as err:
        Journal(tmp_path / "r.sqlite3", other)
    assert REAL.account in str(err.value) and other.account in str(err.value)
    assert [k for _s, k, _p in Journal(path).facts()] == ["intent"]  # nothing was changed


def test_a_journal_without_an_owner_still_opens_and_is_claimed(tmp_path) -> None:
    path = tmp_path / "old.sqlite3"
    j = Journal(path)  # as every journal was before owners were recorded
    j.append("intent", intent())
    j.close()
    assert Journal(path).owner is None
    assert Journal(path, REAL).owner == REAL


def test_the_fingerprint_never_holds_the_key() -> None:
    key = "fakeKey0vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7"
    fp = fingerprint(key)
    assert fp.startswith("sha256:") and len(fp) == len("sha256:") + 16
    assert key not in fp and key[:8] not in fp and fingerprint(key) == fp


def test_live_modes_journal_apart_from_each_other_and_from_backtests(tmp_path) -> None:
    from pathlib import Path

    from actors.app import journal_path, mode
    from actors.settings import load_settings

    paper = load_settings(None, {"market.source": "binance"})
    real = load_settings(None, {"market.source": "binance", "exchange.kind": "binance"})
    backtest = load_settings(None, {})
    assert (mode(paper), mode(real), mode(backtest)) == ("paper-live", "real", "backtest")
    assert journal_path(paper, tmp_path) == Path("data/trader.paper.sqlite3")
    assert journal_path(real, tmp_path) == Path("data/trader.real.sqlite3")
    assert journal_path(backtest, tmp_path) == tmp_path / "journal.sqlite3"


def test_the_journal_text_of_a_message_is_what_earlier_versions_wrote() -> None:
    """Byte for byte what the dict-building encoder wrote (kept so journals read both ways), including values
    that are not of their field's declared type: an enum in a str field, an int in a Decimal field."""
    from actors._lib.codec import dumps, loads
    from actors.messages import EquityPoint, OrderReason, OrderUpdate

    u = OrderUpdate(symbol="TRUMPUSDC", client_order_id="t-1-B", status=OrderStatus.PARTIALLY_FILLED, side=Side.BUY,
                    price=D("9.99"), cum_qty=D("0.50"), cum_quote=D("4.995"), last_qty=D("0.5"), commission=D("1E-9"),
                    commission_asset="TRUMP", trade_id=7, ts_ms=1748736000123)
    assert dumps(u) == (
        '{"_t":"OrderUpdate","symbol":"TRUMPUSDC","client_order_id":"t-1-B","status":"PARTIALLY_FILLED","side":"BUY",'
        '"exchange_order_id":"","price":"9.99","orig_qty":null,"cum_qty":"0.50","cum_quote":"4.995","last_qty":"0.5",'
        '"last_price":null,"commission":"1E-9","commission_asset":"TRUMP","trade_id":7,"ts_ms":1748736000123,'
        '"reject_reason":""}')
    cmd = PlaceOrder(client_order_id="t-1-B", symbol="TRUMPUSDC", side=Side.BUY, price=D("9.99"),
                     quantity=D("1.001"), ts_ms=5, correlation_id='naïve "q"', reason=OrderReason.STOP_LOSS)
    assert dumps(cmd) == (
        '{"_t":"PlaceOrder","client_order_id":"t-1-B","symbol":"TRUMPUSDC","side":"BUY","price":"9.99",'
        '"quantity":"1.001","ts_ms":5,"correlation_id":"na\\u00efve \\"q\\"","time_in_force":"GTC","reason":"stop_loss"}')
    p = EquityPoint(ts_ms=1, mid=D("10.005"), realized_pnl=D("-0"), unrealized_pnl=0)  # type: ignore[arg-type]
    assert dumps(p) == '{"_t":"EquityPoint","ts_ms":1,"mid":"10.005","realized_pnl":"-0","unrealized_pnl":0}'
    assert loads(dumps(u)) == u and loads(dumps(cmd)) == cmd


def test_appended_facts_are_read_back_before_the_commit_and_lost_without_it(tmp_path) -> None:
    """Appended facts wait in memory for the commit: the same connection still reads them, nothing else does."""
    path = tmp_path / "j.sqlite3"
    j = Journal(path)
    j.append("IntentRecorded", intent(), 1, "t-1-B")
    assert j.pending == 1 and j.count() == 1 and [p for _s, _k, p in j.facts()] == [intent()]
    assert Journal(path).count() == 0  # not committed: another reader sees nothing
    j.commit()
    assert j.pending == 0 and Journal(path).count() == 1
