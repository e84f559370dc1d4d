"""The backtest runtime: many actors on one thread behave as pykka actors do, in arrival order."""

from __future__ import annotations

import threading
from typing import Any

import pykka
import pytest

from actors._lib.shared_thread import SharedThread


class Recorder(pykka.ThreadingActor):
    """Remembers what it got and on which thread; forwards "pass:" messages to a peer."""

    def __init__(self, name: str, log: list[tuple[str, Any]], peer: pykka.ActorRef[Any] | None = None) -> None:
        super().__init__()
        self.name, self.log, self.peer = name, log, peer
        self.started_on = ""

    def on_start(self) -> None:
        self.started_on = threading.current_thread().name

    def on_receive(self, message: Any) -> Any:
        if message == "where":
            return threading.current_thread().name, self.started_on
        if message == "boom-ask":
            raise ValueError("asked for it")
        if message == "boom-tell":
            raise RuntimeError("told to fail")
        if message == "inbox":
            return self.actor_inbox.empty()
        self.log.append((self.name, message))
        if isinstance(message, str) and message.startswith("pass:") and self.peer is not None:
            self.peer.tell(message[5:])
        return None

    def on_failure(self, *_exc: object) -> None:
        self.log.append((self.name, "failed"))


def test_actors_share_one_thread_and_answer_asks_from_outside() -> None:
    rt = SharedThread("test-shared")
    log: list[tuple[str, Any]] = []
    b = rt.start(Recorder, "b", log)
    a = rt.start(Recorder, "a", log, peer=b)
    try:
        where_a, where_b = a.ask("where", timeout=5), b.ask("where", timeout=5)
        assert where_a == where_b == ("test-shared", "test-shared")  # on_start ran there too
        assert isinstance(a.proxy().name.get(timeout=5), str)  # pykka's proxies work as usual
    finally:
        pykka.ActorRegistry.stop_all()
    rt.join(5)


def test_messages_are_handled_in_the_order_they_were_sent_across_actors() -> None:
    rt = SharedThread()
    log: list[tuple[str, Any]] = []
    b = rt.start(Recorder, "b", log)
    a = rt.start(Recorder, "a", log, peer=b)
    for i in range(200):
        a.tell(f"pass:{i}")
    a.ask("where", timeout=5)
    b.ask("where", timeout=5)  # b's forwarded messages were queued before this ask
    assert [m for n, m in log if n == "a"] == [f"pass:{i}" for i in range(200)]
    assert [m for n, m in log if n == "b"] == [str(i) for i in range(200)]
    a.stop()
    b.stop()
    rt.join(5)


def test_a_failed_ask_raises_in_the_caller_and_a_failed_tell_stops_only_that_actor() -> None:
    rt = SharedThread()
    log: list[tuple[str, Any]] = []
    a, b = rt.start(Recorder, "a", log), rt.start(Recorder, "b", log)
    with pytest.raises(ValueError, match="asked for it"):
        a.ask("boom-ask", timeout=5)
    assert a.is_alive()
    a.tell("boom-tell")
    b.ask("where", timeout=5)
    assert ("a", "failed") in log
    with pytest.raises(pykka.ActorDeadError):
        a.ask("where", timeout=5)
    assert b.ask("inbox", timeout=5) is True  # its own mailbox, not the shared queue
    b.stop()
    rt.join(5)


def test_the_thread_ends_with_its_last_actor_and_is_not_reused() -> None:
    rt = SharedThread("ending")
    a = rt.start(Recorder, "a", [])
    a.stop()
    rt.join(5)
    assert not any(t.name == "ending" for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="start a new SharedThread"):
        rt.start(Recorder, "b", [])


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the defect is re-raised
def test_a_defect_in_the_loop_stops_its_actors_instead_of_leaving_asks_to_time_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rt = SharedThread("broken")
    a = rt.start(Recorder, "a", [])
    assert a.ask("where", timeout=5)[0] == "broken"

    def broken(_actor: Any) -> None:
        raise RuntimeError("a defect in the loop")

    monkeypatch.setattr(rt, "_handle", broken)
    a.tell("anything")
    rt.join(5)
    assert not a.is_alive()
    with pytest.raises(pykka.ActorDeadError):
        a.ask("where", timeout=5)


@pytest.mark.parametrize(("overrides", "shared"), [
    ({}, True),  # the default synthetic backtest, as fast as it goes
    ({"market.source": "replay", "market.replay_path": "x.csv"}, True),
    ({"market.speed": "10"}, False),  # paced by a timer: a thread per actor
    ({"market.source": "binance"}, False),  # live data: never shared
])
def test_only_a_lockstep_backtest_shares_a_thread(overrides: dict[str, Any], shared: bool) -> None:
    from actors.app import shared_thread_for
    from actors.settings import load_settings

    got = shared_thread_for(load_settings(None, overrides))
    assert (got is not None) is shared
