"""Questions the edges ask (status, stats, the equity curve) and the operator's commands."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from actors.messages.base import TradingState, _frozen

if TYPE_CHECKING:
    from actors.messages.views import Order


@dataclass(**_frozen)
class GetStats:
    """Asked by the edges (report, status page, benchmarks); answered with `Stats`."""


@dataclass(**_frozen)
class Stats:
    """An actor's counters, e.g. `calls`, `cache_hits`, `cost` for the AI consultant."""

    source: str
    values: tuple[tuple[str, int | Decimal | str | None], ...]

    def as_dict(self) -> dict[str, int | Decimal | str | None]:
        return dict(self.values)


@dataclass(**_frozen)
class GetStatus:
    """Asked (not told) by the edges; answered with a `StatusSnapshot`.

    `recent_trades` bounds how many trades come back (None = all of them).
    """

    recent_trades: int | None = None


@dataclass(**_frozen)
class GetEquityCurve:
    """Asked by the report; answered with a tuple of `EquityPoint`s in market time."""


@dataclass(**_frozen)
class EquityPoint:
    ts_ms: int
    mid: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal  # what is held, valued at the bid, less its cost

    @property
    def equity(self) -> Decimal:
        return self.realized_pnl + self.unrealized_pnl


@dataclass(**_frozen)
class RequestTransition:
    """The seed's `transition(new_state, order)`: asked; answered True only if legal and done."""

    to: TradingState
    order: Order | None = None


@dataclass(**_frozen)
class StopTrading:
    """Place no new orders from now on (a signal, the end of a backtest, an operator).

    With `cancel_open_orders` the active order is cancelled too; by default it is left
    resting, and the journal lets the next start pick it up.
    """

    reason: str
    cancel_open_orders: bool = False


@dataclass(**_frozen)
class ResumeTrading:
    """The operator lifts a halt (or a pause); journaled with who and why."""

    by: str
    reason: str = ""


@dataclass(**_frozen)
class PauseBuying:
    """The operator stops new buys (REDUCING) until resumed; exits go on."""

    by: str
    reason: str = ""


@dataclass(**_frozen)
class HaltTrading:
    """The operator halts trading, optionally selling what is held at the bid."""

    by: str
    reason: str = ""
    flatten: bool = False


@dataclass(**_frozen)
class CancelOpenOrder:
    """The operator cancels the working order (nothing else changes); journaled with who and why."""

    by: str
    reason: str = ""
