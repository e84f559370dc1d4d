"""The advice store and `[ai] mode`: record against the OpenRouter stand-in, replay with no key and no network."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pykka
import pytest

from actors._lib.secrets import Secret
from actors.ai_consultant.actor import AIConsultantActor
from actors.ai_consultant.prompt import build_messages
from actors.ai_consultant.store import AdviceStore, Exchange, prompt_hash, prompt_text
from actors.messages import Advice, AdviceSource, GetStats, Stats, TradingState
from actors.settings import Settings, SettingsError, load_settings
from tests._support.fakes.openrouter import FakeOpenRouter, Reply, sample_request
from tests._support.probes import ProbeHandle, eventually

KEY = "sk-or-v1-storetest-RECOGNISABLE-0123456789abcdef"
D = Decimal


@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    server = FakeOpenRouter(api_key=KEY)
    server.start()
    yield server
    server.stop()


def settings(store: Path, mode: str, base_url: str = "http://127.0.0.1:9/api/v1", **ai: Any) -> Settings:
    s = Settings()
    values: dict[str, Any] = {"timeout_s": D(3), "check_models_at_start": False, "base_url": base_url,
                              "mode": mode, "store_path": str(store), **ai}
    return dataclasses.replace(s, ai=dataclasses.replace(s.ai, **values))


def stats(ref: pykka.ActorRef[Any]) -> dict[str, Any]:
    reply = ref.ask(GetStats(), timeout=2)
    assert isinstance(reply, Stats)
    return reply.as_dict()


def ask_all(ref: pykka.ActorRef[Any], ids_and_kw: list[tuple[str, dict[str, Any]]]) -> list[Advice]:
    """One request at a time (the keeper's pace), each answer awaited before the next."""
    probe = ProbeHandle()
    out = []
    for rid, kw in ids_and_kw:
        ref.tell(sample_request(rid, reply_to=probe.ref, **kw))
        (a,) = probe.wait_for(Advice, lambda m, rid=rid: m.request_id == rid, timeout=5)
        out.append(a)
    return out


REQUESTS = [
    ("a", {"ts_ms": 1_000_000}),
    ("b", {"ts_ms": 2_000_000, "mid": "10.505"}),  # another situation: not a cache hit
    ("c", {"ts_ms": 3_000_000, "state": TradingState.READY_TO_SELL, "mid": "11.005"}),
]


def _view(a: Advice) -> tuple[Any, ...]:
    return (a.request_id, a.action, a.base_price, a.price_range, a.confidence, a.source, a.model, a.cost,
            a.rejected_reason)


def test_record_then_replay_offline_gives_the_same_advice(fake: FakeOpenRouter, tmp_path: Path) -> None:
    store = tmp_path / "advice.sqlite3"
    rec = AIConsultantActor.start(settings(store, "record", fake.base_url), Secret(KEY))
    try:
        recorded = ask_all(rec, REQUESTS)
        rs = stats(rec)
    finally:
        rec.stop()
    assert [a.source for a in recorded] == [AdviceSource.MODEL] * 3
    assert rs["recorded"] == 3 and rs["ai_mode"] == "record"
    assert len(fake.chat_requests()) == 3

    fake.clear()
    rep = AIConsultantActor.start(settings(store, "replay"), None)  # no key, and nothing listens there
    try:
        replayed = ask_all(rep, REQUESTS)
        st = stats(rep)
    finally:
        rep.stop()
    assert [_view(a) for a in replayed] == [_view(a) for a in recorded]
    assert replayed[0].cost == D("0.00021")  # the recorded cost travels with the advice...
    assert st["cost"] == 0 and st["replay_cost"] == D("0.00063")  # ...but nothing was paid
    assert st["replay_misses"] == 0 and st["replayed"] == 3 and st["fallbacks"] == 0
    assert fake.chat_requests() == []


def test_store_rows_hold_the_exchange_and_no_secret(fake: FakeOpenRouter, tmp_path: Path) -> None:
    store = tmp_path / "advice.sqlite3"
    fake.push(Reply.content("this is not json"), Reply.status_error(401, "No auth credentials found"))
    ref = AIConsultantActor.start(settings(store, "record", fake.base_url), Secret(KEY))
    try:
        got = ask_all(ref, [("bad", {"ts_ms": 1_000}), ("refused", {"ts_ms": 900_000, "mid": "12.005"})])
    finally:
        ref.stop()
    assert all(a.source is AdviceSource.FALLBACK for a in got)
    db = AdviceStore(store)
    try:
        rows = db.exchanges()
    finally:
        db.close()
    assert [r.outcome for r in rows] == ["unusable", "failed"]
    first = rows[0]
    assert first.model == "deepseek/deepseek-chat-v3.1" and first.reply == "this is not json"
    assert first.prompt_hash == prompt_hash(first.prompt) and '\\"best_bid\\":10' in first.prompt
    assert first.reason and first.market_ts_ms == 1_000 and first.cost == D("0.00021")
    assert rows[1].verdict == "fatal" and rows[1].error_status == 401
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("advice.sqlite3*"))
    assert KEY.encode() not in raw and b"Bearer" not in raw and b"storetest" not in raw


def test_replay_miss_is_counted_and_the_rule_based_advisor_answers(tmp_path: Path) -> None:
    store = tmp_path / "advice.sqlite3"
    AdviceStore(store).close()  # an empty store
    ref = AIConsultantActor.start(settings(store, "replay"), None)
    try:
        (a,) = ask_all(ref, [("x", {"ts_ms": 5_000})])
        st = stats(ref)
    finally:
        ref.stop()
    assert a.source is AdviceSource.FALLBACK and "replay miss" in a.reasoning
    assert st["replay_misses"] == 1 and st["fallbacks"] == 1 and st["model_calls"] == 0


def test_a_recorded_failure_replays_as_a_failure(fake: FakeOpenRouter, tmp_path: Path) -> None:
    store = tmp_path / "advice.sqlite3"
    fake.push(Reply.content("garbage"))
    ref = AIConsultantActor.start(settings(store, "record", fake.base_url), Secret(KEY))
    try:
        recorded = ask_all(ref, REQUESTS[:2])
    finally:
        ref.stop()
    rep = AIConsultantActor.start(settings(store, "replay"), None)
    try:
        replayed = ask_all(rep, REQUESTS[:2])
    finally:
        rep.stop()
    assert [_view(a) for a in replayed] == [_view(a) for a in recorded]
    assert [a.source for a in replayed] == [AdviceSource.FALLBACK, AdviceSource.MODEL]


def test_the_prompt_depends_on_market_data_only() -> None:
    ai = Settings().ai
    one = prompt_text(build_messages(sample_request("r1", ts_ms=1_000), ai))
    two = prompt_text(build_messages(sample_request("other-id", ts_ms=9_999_000), ai))
    moved = prompt_text(build_messages(sample_request("r1", ts_ms=1_000, mid="10.015"), ai))
    assert one == two and prompt_hash(one) == prompt_hash(two)
    assert prompt_hash(moved) != prompt_hash(one)


def test_the_kth_ask_of_a_prompt_gets_the_kth_answer(tmp_path: Path) -> None:
    db = AdviceStore(tmp_path / "s.sqlite3")
    try:
        for i in range(2):
            db.add(Exchange(model="m/a", prompt_hash="h", prompt="p", outcome="advice", reply=f"r{i}", cost=D("0.1")))
        db.add(Exchange(model="m/b", prompt_hash="h", prompt="p", outcome="advice", reply="other model"))
        answers = db.answers("m/a")
        assert [e.reply for e in answers["h"]] == ["r0", "r1"]
        assert db.models() == [("m/a", 2, D("0.2")), ("m/b", 1, D(0))]
    finally:
        db.close()


def test_mode_is_validated(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('[ai]\nmode = "replay"\nstore_path = "x.sqlite3"\n')
    assert load_settings(cfg).ai.mode == "replay"
    cfg.write_text('[ai]\nmode = "cached"\n')
    with pytest.raises(SettingsError, match=r"ai\.mode"):
        load_settings(cfg)
    cfg.write_text('[ai]\nmode = "record"\nstore_path = ""\n')
    with pytest.raises(SettingsError, match="store_path"):
        load_settings(cfg)


def test_nearest_match_replays_the_latest_earlier_answer_and_never_a_later_one(fake: FakeOpenRouter,
                                                                                 tmp_path: Path) -> None:
    store = tmp_path / "advice.sqlite3"
    rec = AIConsultantActor.start(settings(store, "record", fake.base_url), Secret(KEY))
    try:
        (recorded,) = ask_all(rec, [("live", {"ts_ms": 1_000_000})])
    finally:
        rec.stop()
    later = [("soon", {"ts_ms": 1_030_000, "mid": "10.025"}),  # 30 s later, another book: not the same prompt
             ("before", {"ts_ms": 990_000, "mid": "12.025"}),  # before the answer was given: look-ahead
             ("stale", {"ts_ms": 1_200_000, "mid": "14.025"})]  # beyond cache_ttl_s (60 s)
    for match, want in (("exact", [AdviceSource.FALLBACK] * 3),
                        ("nearest", [AdviceSource.MODEL, AdviceSource.FALLBACK, AdviceSource.FALLBACK])):
        ref = AIConsultantActor.start(settings(store, "replay", replay_match=match), None)
        try:
            got = ask_all(ref, later)
            st = stats(ref)
        finally:
            ref.stop()
        assert [a.source for a in got] == want, match
        assert st["replay_nearest"] == want.count(AdviceSource.MODEL)
        assert st["replay_misses"] == want.count(AdviceSource.FALLBACK)
    assert got[0].base_price == recorded.base_price and got[0].confidence == recorded.confidence


def test_an_unreadable_store_is_one_error_and_every_prompt_misses(tmp_path: Path) -> None:
    store = tmp_path / "advice.sqlite3"
    store.write_text("not a database")
    ref = AIConsultantActor.start(settings(store, "replay"), None)
    try:
        (a,) = ask_all(ref, [("x", {"ts_ms": 5_000})])
        st = stats(ref)
    finally:
        ref.stop()
    assert a.source is AdviceSource.FALLBACK and st["replay_misses"] == 1


def test_an_answer_recorded_after_its_deadline_replays_as_the_timeout_it_was(fake: FakeOpenRouter,
                                                                           tmp_path: Path) -> None:
    store = tmp_path / "advice.sqlite3"
    fake.push(Reply.advice(delay_s=1.5, base_price="9.99"))  # after the 1 s deadline, inside the 2 s call
    rec = AIConsultantActor.start(settings(store, "record", fake.base_url, timeout_s=D(1)), Secret(KEY))
    try:
        (first,) = ask_all(rec, [("slow", {"ts_ms": 1_000_000})])
        _wait_recorded(rec)
        (second,) = ask_all(rec, [("cached", {"ts_ms": 1_010_000})])  # the late answer was cached
    finally:
        rec.stop()
    assert first.source is AdviceSource.FALLBACK and "timeout" in first.reasoning
    assert second.source is AdviceSource.CACHE
    db = AdviceStore(store)
    try:
        (row,) = db.exchanges()
    finally:
        db.close()
    assert row.late and row.outcome == "advice"
    rep = AIConsultantActor.start(settings(store, "replay"), None)
    try:
        replayed = ask_all(rep, [("slow", {"ts_ms": 1_000_000}), ("cached", {"ts_ms": 1_010_000})])
        st = stats(rep)
    finally:
        rep.stop()
    assert [_view(a) for a in replayed] == [_view(first), _view(second)]
    assert st["timeouts"] == 1


def _wait_recorded(ref: pykka.ActorRef[Any], n: int = 1) -> None:
    eventually(lambda: stats(ref)["recorded"] >= n, timeout=5)
