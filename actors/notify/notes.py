"""What the notifier says: keeper events turned into short plain-text notes (pure, no I/O).

`Composer` keeps the little state a human-sized message stream needs:
denials and error lines gathered into one note per burst, and the tally
behind the daily summary. Times: bursts run on the notifier's clock (wall
time: they exist to spare a person's phone); the summary's day is the
market's in a backtest (the events' own times) and the wall clock's live.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from actors._lib.secrets import redact
from actors.messages import (
    OrderDenied,
    RiskState,
    RiskStateChanged,
    TradeClosed,
    TradingBlocked,
    TradingHalted,
    TradingStopped,
)

MAX_TEXT = 1000  # one note's text at most (Telegram allows 4096; a phone shows far less)
MAX_DETAIL = 300  # a denial's detail or an error line, quoted


@dataclass(frozen=True, slots=True)
class Note:
    """One message to send: `kind` is its event name in `[notify] events`."""

    kind: str
    text: str
    ts_ms: int  # when what it tells happened (market time for trades, wall time for bursts)
    data: tuple[tuple[str, str | int | None], ...] = ()

    def payload(self, symbol: str) -> dict[str, Any]:
        """The webhook's JSON body: numbers as strings, exact."""
        return {"source": "trump-trader", "symbol": symbol, "kind": self.kind, "text": self.text,
                "ts_ms": self.ts_ms, "data": dict(self.data)}


def utc(ts_ms: int, seconds: bool = False) -> str:
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime(fmt) + " UTC"


def day_of(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d")


def _clip(text: str, limit: int = MAX_DETAIL) -> str:
    text = redact(" ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _signed(x: Decimal) -> str:
    return f"{x:+.4f}"


def _span(ms: int) -> str:
    minutes = max(ms, 0) // 60_000
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return f"{days}d {hours}h" if days else (f"{hours}h {mins}m" if hours else f"{mins}m")


@dataclass(slots=True)
class _Burst:
    """Items gathered since `start_ms`; one note when the window closes."""

    start_ms: int
    count: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    last: str = ""


@dataclass(slots=True)
class DayTally:
    trades: int = 0
    wins: int = 0
    losses: int = 0
    pnl: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    denials: int = 0
    halts: int = 0
    errors: int = 0


class Composer:
    """Events in, notes out. `events` is the set of note kinds wanted (`[notify] events`)."""

    def __init__(self, symbol: str, quote: str, events: frozenset[str], burst_ms: int, *, market_time: bool) -> None:
        self.symbol, self.quote, self.events = symbol, quote, events
        self.burst_ms = burst_ms
        self.market_time = market_time
        self._bursts: dict[str, _Burst] = {}  # "denials" / "errors"
        self.day: str | None = None
        self.today = DayTally()
        self.total_pnl = Decimal(0)
        self.total_trades = 0

    # -- inputs ----------------------------------------------------------------------

    def on_event(self, event: Any, wall_ms: int) -> list[Note]:
        """A keeper event; in a backtest its market time also moves the summary's day."""
        ts = _event_ms(event)
        day_ms = ts if self.market_time else wall_ms
        out = self._roll_day(day_ms) if day_ms is not None else []
        match event:
            case TradeClosed(trade=trade):
                out += self._trade_closed(event, trade)
            case TradingHalted(reason=reason, ts_ms=ts_ms):
                self.today.halts += 1
                out += self._want("halted", f"{self.symbol} HALTED: {_clip(reason)}. No new buys until the operator "
                                            "resumes; exits go on.", ts_ms)
            case RiskStateChanged(state=state, reason=reason, until_ms=until, ts_ms=ts_ms) if state is not RiskState.HALTED:
                text = (f"{self.symbol} trading active again ({_clip(reason)})" if state is RiskState.ACTIVE else
                        f"{self.symbol} buying paused: {_clip(reason)}" + (f", until {utc(until)}" if until else ""))
                out += self._want("risk", text, ts_ms)
            case TradingStopped(reason=reason, ts_ms=ts_ms):
                out += self._want("stopped", f"{self.symbol} stopped trading: {_clip(reason)}", ts_ms)
            case TradingBlocked(condition=c):
                out += self._want("blocked", f"{self.symbol} blocked: {c.condition}: {_clip(c.detail)}", c.since_ms)
            case OrderDenied():
                self.today.denials += 1
                self._gather("denials", event.code, f"{event.side.value} {event.quantity} @ {event.price}: "
                                                    f"{event.detail}", wall_ms)
        return out

    def on_error(self, text: str, wall_ms: int) -> list[Note]:
        """An ERROR (or worse) log line, already redacted by the logging patcher (redacted again here)."""
        out = [] if self.market_time else self._roll_day(wall_ms)
        self.today.errors += 1
        self._gather("errors", "error", text, wall_ms)
        return out

    def on_tick(self, wall_ms: int) -> list[Note]:
        """Close the bursts whose window has passed; live, a new UTC day sends yesterday's summary."""
        out = [] if self.market_time else self._roll_day(wall_ms)
        for kind, burst in list(self._bursts.items()):
            if wall_ms - burst.start_ms >= self.burst_ms:
                out += self._close(kind, wall_ms)
        return out

    def flush(self, wall_ms: int) -> list[Note]:
        """At stop: every open burst, now, and the day so far if anything happened in it."""
        out = [n for kind in list(self._bursts) for n in self._close(kind, wall_ms)]
        t = self.today
        if self.day is not None and (t.trades or t.denials or t.halts or t.errors):
            out += self._summary(self.day, t, wall_ms, so_far=True)
            self.today = DayTally()
        return out

    # -- notes -----------------------------------------------------------------------

    def _want(self, kind: str, text: str, ts_ms: int, data: tuple[tuple[str, str | int | None], ...] = ()) -> list[Note]:
        return [Note(kind, text[:MAX_TEXT], ts_ms, data)] if kind in self.events else []

    def _trade_closed(self, event: TradeClosed, trade: Any) -> list[Note]:
        pnl = trade.profit_loss if trade.profit_loss is not None else Decimal(0)
        self.today.trades += 1
        self.today.wins += pnl > 0
        self.today.losses += pnl < 0
        self.today.pnl += pnl
        self.today.fees += trade.fees_quote
        self.total_pnl += pnl
        self.total_trades += 1
        cost = (trade.entry_price or Decimal(0)) * trade.quantity
        pct = f" ({pnl / cost * 100:+.2f} %)" if cost else ""
        held = ""
        if trade.closed_at is not None:
            held = f", held {_span(int((trade.closed_at - trade.timestamp).total_seconds() * 1000))}"
        text = (f"{self.symbol} trade closed: {_signed(pnl)} {self.quote}{pct}. {trade.quantity} bought at "
                f"{trade.entry_price} sold at {trade.exit_price}, fees {trade.fees_quote:.4f}{held}. "
                f"Exit: {trade.exit_reason or 'unknown'}.")
        data = (("profit_loss", str(pnl)), ("quantity", str(trade.quantity)), ("entry_price", str(trade.entry_price)),
                ("exit_price", str(trade.exit_price)), ("fees", str(trade.fees_quote)),
                ("exit_reason", trade.exit_reason), ("entry_reason", trade.entry_reason))
        return self._want("trade_closed", text, event.ts_ms, data)

    def _gather(self, kind: str, code: str, detail: str, wall_ms: int) -> None:
        if kind not in self.events:
            return
        burst = self._bursts.setdefault(kind, _Burst(start_ms=wall_ms))
        burst.count += 1
        burst.codes[code] += 1
        burst.last = _clip(detail)

    def _close(self, kind: str, wall_ms: int) -> list[Note]:
        burst = self._bursts.pop(kind, None)
        if burst is None or not burst.count:
            return []
        secs = max(1, (wall_ms - burst.start_ms) // 1000)
        if kind == "denials":
            codes = ", ".join(f"{code} ×{n}" for code, n in burst.codes.most_common())
            head = (f"{self.symbol}: 1 order denied by the risk gate ({codes})" if burst.count == 1 else
                    f"{self.symbol}: {burst.count} orders denied by the risk gate in {secs} s ({codes})")
        else:
            head = (f"{self.symbol}: 1 error logged" if burst.count == 1 else
                    f"{self.symbol}: {burst.count} errors logged in {secs} s")
        data = (("count", burst.count), *((f"code:{c}", n) for c, n in sorted(burst.codes.items())))
        return self._want(kind, f"{head}. Last: {burst.last}", wall_ms, data)

    def _roll_day(self, ts_ms: int) -> list[Note]:
        day = day_of(ts_ms)
        if self.day is None:
            self.day = day
            return []
        if day <= self.day:
            return []
        done, tally = self.day, self.today
        self.day, self.today = day, DayTally()
        return self._summary(done, tally, ts_ms)

    def _summary(self, day: str, t: DayTally, ts_ms: int, so_far: bool = False) -> list[Note]:
        text = (f"{self.symbol} day {day} (UTC){' so far' if so_far else ''}: {t.trades} trades ({t.wins} won, "
                f"{t.losses} lost), P&L {_signed(t.pnl)} {self.quote}, fees {t.fees:.4f}; {t.denials} denials, "
                f"{t.halts} halts, {t.errors} errors. Since the notifier started: {self.total_trades} trades, "
                f"{_signed(self.total_pnl)} {self.quote}.")
        data = (("day", day), ("so_far", int(so_far)), ("trades", t.trades), ("pnl", str(t.pnl)),
                ("fees", str(t.fees)), ("denials", t.denials), ("total_pnl", str(self.total_pnl)))
        return self._want("daily_summary", text, ts_ms, data)


def _event_ms(event: Any) -> int | None:
    if isinstance(event, TradingBlocked):
        return event.condition.since_ms
    ts = getattr(event, "ts_ms", None)
    return ts if isinstance(ts, int) else None
