"""Entries that wait for the owner's approval, as pure keeper logic (KeeperCore, no threads)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from actors._lib import codec
from actors.messages import (
    AdviceRequest,
    AdviceSource,
    ApproveEntry,
    BalanceUpdated,
    EntryApprovalRequested,
    EntryApprovalResolved,
    PauseBuying,
    PlaceOrder,
    RejectEntry,
    Side,
    TradingState,
)
from actors.settings import MarketSettings, NotifySettings, Settings, SettingsError, load_settings
from actors.state_keeper.actor import StateKeeperActor
from actors.state_keeper.core import CONSULTANT, EXECUTOR, PUBLISH, KeeperCore, replay
from actors.state_keeper.facts import SessionStarted
from actors.state_keeper.journal import Journal
from tests._support.helpers import FILTERS, advice, settings, snap

TIMEOUT_S = 300


def live(approve: str = "true", **notify: Any) -> Settings:
    """A live market (approval is off on backtest markets) with `[notify] approve_entries`."""
    s = settings()
    return dataclasses.replace(s, market=MarketSettings(source="binance"),
                               notify=NotifySettings(approve_entries=approve, approve_timeout_s=TIMEOUT_S, **notify))


def of(effects: list[tuple[str, Any]], target: str, kind: type | None = None) -> list[Any]:
    return [m for t, m in effects if t == target and (kind is None or isinstance(m, kind))]


def proposed(core: KeeperCore, seq: int = 1, source: AdviceSource = AdviceSource.MODEL, **kw: Any) -> list[Any]:
    """A snapshot, the advice it asks for (a buy at 39.95), and what the keeper does with it."""
    effects = core.on_snapshot(snap(seq, **kw))
    req, = of(effects, CONSULTANT, AdviceRequest)
    a = dataclasses.replace(advice(req.request_id, "buy", "39.95"), source=source, reasoning="trend up, volume rising")
    return core.on_advice(a)


def held(core: KeeperCore, seq: int = 1, **kw: Any) -> Any:
    effects = proposed(core, seq, **kw)
    assert not of(effects, EXECUTOR), "nothing is placed while the entry waits"
    asked, = of(effects, PUBLISH, EntryApprovalRequested)
    return asked.approval


def kinds(core: KeeperCore) -> list[str]:
    return [k for k, _p in core.journal]


def test_an_entry_waits_and_the_keeper_places_nothing_meanwhile() -> None:
    core = KeeperCore(live(), FILTERS, "t")
    a = held(core)
    assert a.approval_id == "t-a1" and a.price == D("39.95") and a.quantity == D("0.25") and a.outcome == "pending"
    assert a.reasoning == "trend up, volume rising" and a.source == "model" and a.expires_ms == 1000 + TIMEOUT_S * 1000
    assert a.stop_price is not None and a.stop_price < a.price  # the exit plan the position would get
    assert "ApprovalRequested" in kinds(core) and "IntentRecorded" not in kinds(core)
    assert core.machine.state is TradingState.READY_TO_BUY
    for seq in range(2, 6):  # no advice asked, nothing placed, while it waits
        effects = core.on_snapshot(snap(seq))
        assert not of(effects, CONSULTANT) and not of(effects, EXECUTOR)
    assert [x.outcome for x in core.status().approvals] == ["pending"]


def test_approve_places_the_entry_sized_again_by_the_gate_and_journals_who_and_after_how_long() -> None:
    core = KeeperCore(live(), FILTERS, "t")
    a = held(core)
    core.on_snapshot(snap(40, ts_ms=40_000))
    effects, done = core.on_approval(ApproveEntry(approval_id=a.approval_id, by="telegram (7 @owner)"))
    cmd, = of(effects, EXECUTOR, PlaceOrder)
    assert cmd.side is Side.BUY and cmd.price == D("39.95") and cmd.quantity == D("0.25")
    assert cmd.correlation_id == a.advice_id  # attributed to the advice that proposed it
    assert done is not None and done.approval.outcome == "approved" and done.approval.by == "telegram (7 @owner)"
    assert done.approval.waited_ms == 39_000 and done.approval.client_order_id == cmd.client_order_id
    assert of(effects, PUBLISH, EntryApprovalResolved) == [done]
    assert core.machine.state is TradingState.BUYING
    assert kinds(core)[-1] == "ApprovalResolved" and "IntentRecorded" in kinds(core)
    again, none = core.on_approval(ApproveEntry(approval_id=a.approval_id, by="dashboard (127.0.0.1)"))
    assert again == [] and none is None  # answered once: a second tap places nothing
    assert core.counters["orders"] == 1


def test_reject_places_nothing_and_the_same_idea_is_not_asked_again_at_once() -> None:
    core = KeeperCore(live(), FILTERS, "t")
    a = held(core)
    effects, done = core.on_approval(RejectEntry(approval_id=a.approval_id, by="dashboard (127.0.0.1)", reason="no"))
    assert not of(effects, EXECUTOR) and done is not None and done.approval.outcome == "rejected"
    assert not of(core.on_snapshot(snap(2, ts_ms=2000 + (TIMEOUT_S - 10) * 1000)), CONSULTANT)  # quiet
    assert of(core.on_snapshot(snap(3, ts_ms=1000 + TIMEOUT_S * 1000)), CONSULTANT)  # then it asks again
    assert core.counters.get("orders", 0) == 0


def test_no_answer_within_the_timeout_expires_it_in_market_time() -> None:
    core = KeeperCore(live(), FILTERS, "t")
    held(core)
    assert not of(core.on_snapshot(snap(2, ts_ms=1000 + TIMEOUT_S * 1000 - 1)), PUBLISH, EntryApprovalResolved)
    effects = core.on_snapshot(snap(3, ts_ms=1000 + TIMEOUT_S * 1000))
    done, = of(effects, PUBLISH, EntryApprovalResolved)
    assert done.approval.outcome == "expired" and done.approval.waited_ms == TIMEOUT_S * 1000
    assert not of(effects, EXECUTOR)
    late, none = core.on_approval(ApproveEntry(approval_id=done.approval.approval_id, by="telegram (7)"))
    assert late == [] and none is None


def test_a_market_that_leaves_the_band_first_drops_it() -> None:
    core = KeeperCore(live(), FILTERS, "t")
    a = held(core)
    assert not of(core.on_snapshot(snap(2, bid="40.50", ask="40.52")), PUBLISH, EntryApprovalResolved)  # inside 2 %
    done, = of(core.on_snapshot(snap(3, bid="41.00", ask="41.02")), PUBLISH, EntryApprovalResolved)
    assert done.approval.outcome == "moved" and "beyond the advice's band" in done.approval.detail
    assert core.on_approval(ApproveEntry(approval_id=a.approval_id, by="x"))[1] is None


def test_approve_after_a_jump_is_checked_against_the_market_of_the_moment() -> None:
    core = KeeperCore(live(), FILTERS, "t")
    a = held(core)
    core.last_snapshot = snap(2, bid="38.00", ask="38.02")  # no snapshot decided on yet: the answer comes first
    effects, done = core.on_approval(ApproveEntry(approval_id=a.approval_id, by="x"))
    assert done is not None and done.approval.outcome == "moved" and not of(effects, EXECUTOR)


def test_a_pause_cancels_a_waiting_entry_and_an_approval_before_the_next_snapshot_is_refused() -> None:
    core = KeeperCore(live(), FILTERS, "t")
    a = held(core)
    core.on_control(PauseBuying(by="ops", reason="news"))
    effects, done = core.on_approval(ApproveEntry(approval_id=a.approval_id, by="telegram (7)"))
    assert done is not None and done.approval.outcome == "refused" and "buying paused by ops" in done.approval.detail
    assert not of(effects, EXECUTOR)
    core2 = KeeperCore(live(), FILTERS, "t")
    held(core2)
    core2.on_control(PauseBuying(by="ops"))
    done2, = of(core2.on_snapshot(snap(2)), PUBLISH, EntryApprovalResolved)
    assert done2.approval.outcome == "cancelled"


def test_the_gate_checks_again_on_approve() -> None:
    core = KeeperCore(live(), FILTERS, "t")
    a = held(core)
    core.on_balance(BalanceUpdated(asset="USDC", free=D("0.5"), locked=D(0), ts_ms=1500))  # spent elsewhere
    effects, done = core.on_approval(ApproveEntry(approval_id=a.approval_id, by="x"))
    assert done is not None and done.approval.outcome == "refused"
    assert "cannot be sized" in done.approval.detail and "free balance is 0.5" in done.approval.detail  # the gate's words
    assert not of(effects, EXECUTOR)


def test_model_mode_waits_only_for_the_models_entries_and_backtests_never_wait() -> None:
    core = KeeperCore(live("model"), FILTERS, "t")
    effects = proposed(core, source=AdviceSource.FALLBACK)
    assert of(effects, EXECUTOR, PlaceOrder) and not of(effects, PUBLISH, EntryApprovalRequested)
    core = KeeperCore(live("model"), FILTERS, "t")
    assert held(core, source=AdviceSource.CACHE).source == "cache"
    for source in ("synthetic", "replay"):
        backtest = dataclasses.replace(live("true"), market=MarketSettings(source=source))
        core = KeeperCore(backtest, FILTERS, "t")
        assert of(proposed(core), EXECUTOR, PlaceOrder)  # never waits
    assert of(proposed(KeeperCore(live("false"), FILTERS, "t")), EXECUTOR, PlaceOrder)


def test_stopping_cancels_a_waiting_entry() -> None:
    core = KeeperCore(live(), FILTERS, "t")
    held(core)
    done, = of(core.on_stop_trading("SIGTERM"), PUBLISH, EntryApprovalResolved)
    assert done.approval.outcome == "cancelled" and "SIGTERM" in done.approval.detail


def test_a_waiting_entry_found_in_the_journal_at_a_restart_is_expired_never_placed(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    core = KeeperCore(live(), FILTERS, "t")
    core.record(SessionStarted("t"))
    a = held(core)
    j = Journal(path)
    for kind, payload in core.journal:
        j.append(kind, payload, 0, "")
    j.commit()
    j.close()
    journal = Journal(path)
    again = StateKeeperActor(live(), journal=journal, filters=FILTERS).core  # recovery runs in __init__
    journal.close()
    assert again.approvals.pending is None
    last = again.approvals.recent[-1]
    assert last.approval_id == a.approval_id and last.outcome == "expired" and last.by == "restart"
    assert [k for _s, k, _p in Journal(path).facts()][-1] == "ApprovalResolved"  # journaled at once
    effects, none = again.on_approval(ApproveEntry(approval_id=a.approval_id, by="telegram (7)"))
    assert effects == [] and none is None  # a tap on the old message places nothing
    # no quiet period after a restart, and ids go on from the journal: an old button never approves a new entry
    assert held(again, 2).approval_id == "t-a2"


def test_approvals_round_trip_through_the_journal_encoding() -> None:
    core = KeeperCore(live(), FILTERS, "t")
    a = held(core)
    core.on_approval(ApproveEntry(approval_id=a.approval_id, by="telegram (7 @owner)"))
    rows = [(i, k, codec.loads(codec.dumps(p))) for i, (k, p) in enumerate(core.journal)]
    again = KeeperCore(live(), FILTERS, "t")
    replay(again, rows)
    assert again.status().approvals == core.status().approvals
    assert again.machine.state is TradingState.BUYING and again.approvals.count == 1


def test_the_settings_name_the_key_and_the_allowed_values(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cases = {
        "approve_entries = true": ("approve_entries", "true"),
        "approve_entries = false": ("approve_entries", "false"),
        'approve_entries = "model"': ("approve_entries", "model"),
        "telegram_admins = [123, \"456\"]": ("telegram_admins", (123, 456)),
    }
    for line, (key, want) in cases.items():
        cfg.write_text(f"[notify]\n{line}\n")
        assert getattr(load_settings(cfg).notify, key) == want
    for line, words in {'approve_entries = "yes"': "false, true or \"model\"",
                        "telegram_admins = [\"bob\"]": "user ids", "approve_timeout_s = 0": "approve_timeout_s",
                        "telegram_commands = true": '"telegram" in notify.channels'}.items():
        cfg.write_text(f"[notify]\n{line}\n")
        with pytest.raises(SettingsError, match=words.replace('"', '.').replace("(", ".")):
            load_settings(cfg)


def test_one_line_at_start_says_when_approval_is_off_or_nobody_can_answer(logs: Any) -> None:
    from actors.state_keeper.approval import say_at_start

    say_at_start(dataclasses.replace(live(), market=MarketSettings(source="replay")), dashboard=True)
    say_at_start(live(), dashboard=False)
    say_at_start(live(), dashboard=True)  # the dashboard can answer: nothing to say
    say_at_start(live("false"), dashboard=False)
    assert [m for m in logs.messages("INFO") if "approve_entries" in m] == [
        "notify.approve_entries = true is off in this backtest: backtests never wait for approval"]
    warned = [m for m in logs.messages("WARNING") if "approve_entries" in m]
    assert len(warned) == 1 and "every entry will expire" in warned[0]
