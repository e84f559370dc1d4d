"""The notifier's plain parts, without threads: what it says (Composer), when it sends (Outbox), its settings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from actors.messages import (
    BlockedCondition,
    Order,
    OrderDenied,
    RiskState,
    RiskStateChanged,
    Side,
    Trade,
    TradeClosed,
    TradingBlocked,
    TradingHalted,
    TradingStopped,
)
from actors.notify.notes import Composer, Note
from actors.notify.outbox import Outbox
from actors.settings import SettingsError, load_settings
from tests._support.paths import ROOT

DAY = 86_400_000
T0 = 1_738_108_800_000  # 2025-01-29 00:00 UTC
ALL = frozenset({"trade_closed", "halted", "risk", "denials", "blocked", "errors", "daily_summary", "stopped"})


def trade(pnl: str, ts_ms: int = T0, reason: str = "take_profit") -> Trade:
    at = datetime.fromtimestamp(ts_ms / 1000, UTC)
    buy = Order(id="b1", symbol="TRUMPUSDC", side="BUY", quantity=Decimal("1.000"), price=Decimal("10.00"),
                status="FILLED", timestamp=at)
    return Trade(buy_order=buy, sell_order=None, profit_loss=Decimal(pnl), status="CLOSED", timestamp=at,
                 quantity=Decimal("1.000"), entry_price=Decimal("10.00"), exit_price=Decimal("10.20"),
                 fees_quote=Decimal("0.02"), closed_at=datetime.fromtimestamp((ts_ms + 3_600_000) / 1000, UTC),
                 exit_reason=reason, entry_reason="adv-1")


def denied(code: str = "halted", ts_ms: int = T0) -> OrderDenied:
    return OrderDenied(side=Side.BUY, price=Decimal("10.00"), quantity=Decimal("1.000"), code=code,
                       detail="trading is halted", proposed_by="model", ts_ms=ts_ms)


def composer(events: frozenset[str] = ALL, market_time: bool = True) -> Composer:
    return Composer("TRUMPUSDC", "USDC", events, burst_ms=60_000, market_time=market_time)


def note(text: str = "n") -> Note:
    return Note("trade_closed", text, 0)


# -- Composer ---------------------------------------------------------------------------


def test_a_closed_trade_says_its_profit_prices_and_exit() -> None:
    [n] = composer().on_event(TradeClosed(trade=trade("0.1800"), ts_ms=T0), wall_ms=0)
    assert n.kind == "trade_closed"
    assert "+0.1800 USDC (+1.80 %)" in n.text and "10.00" in n.text and "10.20" in n.text
    assert "take_profit" in n.text and "held 1h 0m" in n.text
    assert dict(n.data)["profit_loss"] == "0.1800"


def test_a_halt_and_a_stop_are_one_note_each() -> None:
    c = composer()
    [h] = c.on_event(TradingHalted(reason="max drawdown 10 % reached", ts_ms=T0), 0)
    [s] = c.on_event(TradingStopped(reason="SIGINT received", ts_ms=T0), 0)
    assert h.kind == "halted" and "HALTED: max drawdown 10 % reached" in h.text
    assert s.kind == "stopped" and "SIGINT" in s.text
    # the gate's own HALTED change repeats the halt: no second note
    assert c.on_event(RiskStateChanged(state=RiskState.HALTED, reason="x", until_ms=None, ts_ms=T0), 0) == []


def test_events_not_asked_for_say_nothing() -> None:
    c = composer(frozenset({"halted"}))
    assert c.on_event(TradeClosed(trade=trade("1"), ts_ms=T0), 0) == []
    assert c.on_event(RiskStateChanged(state=RiskState.REDUCING, reason="cooldown", until_ms=T0, ts_ms=T0), 0) == []
    cond = BlockedCondition(condition="balance", detail="0 USDC free", since_ms=T0)
    assert c.on_event(TradingBlocked(condition=cond), 0) == []
    assert c.on_event(denied(), 0) == [] and c.on_tick(10**9) == []


def test_a_burst_of_denials_is_one_note_when_its_window_closes() -> None:
    c = composer()
    for i in range(7):
        assert c.on_event(denied("halted" if i < 5 else "below_min_notional"), wall_ms=1_000 + i) == []
    assert c.on_tick(30_000) == []  # the window is still open
    [n] = c.on_tick(61_000)
    assert n.kind == "denials" and "7 orders denied" in n.text
    assert "halted ×5" in n.text and "below_min_notional ×2" in n.text
    assert c.on_tick(200_000) == []  # nothing new: nothing said
    c.on_event(denied(), wall_ms=300_000)
    [one] = [n for n in c.flush(300_001) if n.kind == "denials"]  # at stop an open burst goes out at once
    assert "1 order denied" in one.text


def test_at_stop_the_day_so_far_is_summarised_if_anything_happened() -> None:
    c = composer(market_time=False)
    c.on_tick(T0)
    assert c.flush(T0 + 1) == []  # a quiet day: nothing to say
    c.on_event(TradeClosed(trade=trade("-0.05"), ts_ms=T0), wall_ms=T0 + 2)
    [n] = c.flush(T0 + 3)
    assert n.kind == "daily_summary" and "2025-01-29 (UTC) so far: 1 trades (0 won, 1 lost)" in n.text
    assert c.flush(T0 + 4) == []


def test_error_lines_gather_like_denials_and_are_redacted() -> None:
    from actors._lib.secrets import Secret

    key = Secret("sk-or-v1-abcdefSECRET")
    c = composer()
    for _ in range(3):
        c.on_error(f"call failed with {key.reveal()}", wall_ms=0)
    [n] = c.on_tick(60_000)
    assert n.kind == "errors" and "3 errors logged" in n.text
    assert key.reveal() not in n.text


def test_the_daily_summary_follows_market_time_in_a_backtest() -> None:
    c = composer()
    assert c.on_event(TradeClosed(trade=trade("0.10"), ts_ms=T0 + 1000), 0)[0].kind == "trade_closed"
    c.on_event(TradeClosed(trade=trade("-0.04"), ts_ms=T0 + 2000), 0)
    c.on_event(denied(ts_ms=T0 + 3000), 0)
    assert all(n.kind != "daily_summary" for n in c.on_tick(10 * DAY))  # ticks are wall time: no day in it
    notes = c.on_event(TradingStopped(reason="end of data", ts_ms=T0 + DAY + 5), 0)
    summary = [n for n in notes if n.kind == "daily_summary"]
    assert len(summary) == 1
    assert "2025-01-29" in summary[0].text and "2 trades (1 won, 1 lost)" in summary[0].text
    assert "P&L +0.0600 USDC" in summary[0].text and "1 denials" in summary[0].text
    assert notes[-1].kind == "stopped"  # the summary of the day before, then what happened today


def test_the_daily_summary_follows_the_wall_clock_live() -> None:
    c = composer(market_time=False)
    assert c.on_tick(T0 + 5) == []
    c.on_event(TradeClosed(trade=trade("0.10"), ts_ms=T0 + 10 * DAY), wall_ms=T0 + 10)  # market time ignored
    [n] = c.on_tick(T0 + DAY)
    assert n.kind == "daily_summary" and "day 2025-01-29" in n.text and "1 trades" in n.text
    assert c.on_tick(T0 + DAY + 1000) == []


# -- Outbox -------------------------------------------------------------------------


def _send_all(box: Outbox, now: int) -> list[Note]:
    out = []
    while (n := box.take(now)) is not None:
        out.append(n)
        box.done(now, None)
    return out


def test_the_rate_limit_holds_and_releases_a_minute_later() -> None:
    box = Outbox(per_minute=3)
    for i in range(10):
        box.put(note(str(i)))
    assert [n.text for n in _send_all(box, 0)] == ["0", "1", "2"]
    assert _send_all(box, 59_999) == []
    assert [n.text for n in _send_all(box, 60_000)] == ["3", "4", "5"]
    assert box.delivered == 6 and box.queued == 4


def test_one_note_in_flight_at_a_time() -> None:
    box = Outbox(per_minute=10)
    box.put(note("a"))
    box.put(note("b"))
    assert box.take(0) is not None and box.take(0) is None
    box.done(0, None)
    assert box.take(0) is not None


def test_a_full_queue_drops_and_the_next_note_says_so() -> None:
    box = Outbox(per_minute=1, queue_max=2)
    assert box.put(note("a")) and box.put(note("b")) and not box.put(note("c"))
    assert box.dropped == 1
    assert "1 earlier notifications dropped" in _send_all(box, 0)[0].text


def test_a_failing_channel_changes_state_once_and_retries_with_backoff() -> None:
    box = Outbox(per_minute=100, retry_initial_ms=5_000)
    for i in range(5):
        box.put(note(str(i)))
    first = box.take(0)
    assert first is not None
    change = box.done(0, "connection refused")
    assert change is not None and not change.up and change.error == "connection refused"
    assert box.down and box.take(4_999) is None  # backing off
    again = box.take(5_000)
    assert again is not None and again.text == first.text  # the failed note first
    assert box.done(5_000, "connection refused") is None  # still down: nothing new to say
    assert box.take(14_999) is None  # the backoff doubled
    assert box.take(15_000) is not None
    back = box.done(15_000, None)
    assert back is not None and back.up and back.failures == 2
    assert [n.text for n in _send_all(box, 15_000)] == ["1", "2", "3", "4"]


def test_at_stop_a_working_channel_drains_what_the_rate_allows() -> None:
    box = Outbox(per_minute=3)
    for i in range(5):
        box.put(note(str(i)))
    assert box.take(0) is not None  # one in flight: the drain does not wait for it
    assert [n.text for n in box.drain(0)] == ["1", "2"]
    down = Outbox(per_minute=3)
    down.put(note())
    down.take(0)
    down.done(0, "refused")
    assert down.drain(10**9) == []  # a channel that is down sends nothing more


def test_a_note_is_given_up_after_max_attempts() -> None:
    box = Outbox(per_minute=100, max_attempts=2, retry_initial_ms=1)
    box.put(note("a"))
    box.put(note("b"))
    box.take(0)
    box.done(0, "down")
    box.take(10)
    box.done(10, "down")
    assert box.dropped == 1
    n = box.take(1000)
    assert n is not None and n.text.startswith("b")


def test_retry_after_from_the_endpoint_is_respected() -> None:
    box = Outbox(per_minute=100, retry_initial_ms=1_000)
    box.put(note())
    box.take(0)
    box.done(0, "429", retry_after_ms=30_000)
    assert box.take(29_999) is None and box.take(30_000) is not None


# -- settings -----------------------------------------------------------------------


def test_notify_settings_defaults_and_validation(tmp_path) -> None:
    s = load_settings(None)
    assert s.notify.channels == () and "trade_closed" in s.notify.events and s.notify.rate_per_minute == 20
    path = tmp_path / "s.toml"
    path.write_text('[notify]\nchannels = ["telegram", "webhook"]\nevents = ["halted"]\nrate_per_minute = 5\n')
    s = load_settings(path)
    assert s.notify.channels == ("telegram", "webhook") and s.notify.events == ("halted",)
    for bad, word in (('channels = ["sms"]', "notify.channels"), ('events = ["everything"]', "notify.events"),
                      ("rate_per_minute = 0", "notify.rate_per_minute"),
                      ('telegram_api_url = "ftp://x"', "notify.telegram_api_url")):
        path.write_text(f"[notify]\n{bad}\n")
        with pytest.raises(SettingsError, match=word):
            load_settings(path)


def test_the_shipped_settings_file_has_every_notify_key() -> None:

    from actors.settings import NotifySettings

    text = (ROOT / "settings.toml").read_text()
    section = text.split("[notify]", 1)[1]
    for key in NotifySettings.__dataclass_fields__:
        assert f"\n{key} = " in section, key
