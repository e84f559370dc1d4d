"""Protections: the limits that change the gate's state (Freqtrade's protections, Nautilus's HALTED).

Plain logic, no threads. `RiskBook` holds the gate's state and the running
marks it needs (peak equity, the UTC day's opening equity); the keeper asks
it after every equity change and every closed trade, and journals the
`RiskStateSet` facts it proposes, so a halt survives a restart. A pause
(REDUCING with an end) lapses by itself; a halt waits for the operator.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from actors.messages import ZERO, RiskState
from actors.settings import RiskSettings
from actors.state_keeper.facts import RiskStateSet

DAY_MS = 86_400_000
_RANK = {RiskState.ACTIVE: 0, RiskState.REDUCING: 1, RiskState.HALTED: 2}


class RiskBook:
    __slots__ = ("by", "capital", "day", "day_open", "limits", "peak", "reason", "state", "until_ms")

    def __init__(self, limits: RiskSettings) -> None:
        self.limits = limits
        self.capital = limits.capital
        self.state = RiskState.ACTIVE
        self.reason = ""
        self.until_ms: int | None = None
        self.by = "risk"
        self.peak = limits.capital
        self.day = -1
        self.day_open = limits.capital

    def apply(self, f: RiskStateSet) -> None:
        self.state, self.reason, self.until_ms, self.by = f.state, f.reason, f.until_ms, f.by

    def mark(self, equity: Decimal, now_ms: int) -> None:
        """Follow the equity: its peak, and its value when the UTC day began (also on recovery)."""
        if equity > self.peak:
            self.peak = equity
        day = now_ms // DAY_MS
        if day != self.day:
            self.day, self.day_open = day, equity

    def drawdown(self, equity: Decimal) -> Decimal:
        return max(ZERO, (self.peak - equity) / self.capital)

    def on_equity(self, equity: Decimal, now_ms: int) -> RiskStateSet | None:
        """A limit the equity crossed: max drawdown halts, the daily loss pauses until tomorrow."""
        self.mark(equity, now_ms)
        lim = self.limits
        if lim.max_drawdown and self.state is not RiskState.HALTED and self.drawdown(equity) >= lim.max_drawdown:
            return RiskStateSet(state=RiskState.HALTED, ts_ms=now_ms, reason=(
                f"equity {equity:.8f} is {self.drawdown(equity):.2%} of capital below its peak {self.peak:.8f} "
                f"(risk.max_drawdown = {lim.max_drawdown}); resume with `python bootstrap.py resume`"))
        if lim.daily_loss_limit and self.state is RiskState.ACTIVE:
            loss = (self.day_open - equity) / self.capital
            if loss >= lim.daily_loss_limit:
                return RiskStateSet(state=RiskState.REDUCING, ts_ms=now_ms, until_ms=(self.day + 1) * DAY_MS, reason=(
                    f"down {loss:.2%} of capital today (risk.daily_loss_limit = {lim.daily_loss_limit}): "
                    "no new buys until the next UTC day"))
        return None

    def on_trade_closed(self, pnls: Sequence[Decimal], exit_reason: str, now_ms: int) -> RiskStateSet | None:
        """After a loss: the stop-loss cooldown, or the pause after a losing streak (the longer wins)."""
        if self.state is RiskState.HALTED or not pnls or pnls[-1] >= 0:
            return None
        lim, pauses = self.limits, []
        if exit_reason == "stop_loss" and lim.cooldown_after_stop_s:
            pauses.append((now_ms + lim.cooldown_after_stop_s * 1000,
                           f"cooldown of {lim.cooldown_after_stop_s} s after a stop-loss (risk.cooldown_after_stop_s)"))
        streak = losing_streak(pnls)
        if lim.max_consecutive_losses and streak >= lim.max_consecutive_losses:
            why = (f"{streak} losing trades in a row (risk.max_consecutive_losses = {lim.max_consecutive_losses}): "
                   f"no buys for {lim.loss_pause_s} s")
            pauses.append((now_ms + lim.loss_pause_s * 1000, why))
        if not pauses:
            return None
        until, reason = max(pauses)
        if self.state is RiskState.REDUCING and (self.until_ms is None or self.until_ms >= until):
            return None  # a pause until resumed (the operator's), or a longer one, already holds
        return RiskStateSet(state=RiskState.REDUCING, reason=reason, ts_ms=now_ms, until_ms=until)

    def lapse(self, now_ms: int) -> RiskStateSet | None:
        """A pause whose time is up ends by itself."""
        if self.state is RiskState.REDUCING and self.until_ms is not None and now_ms >= self.until_ms:
            return RiskStateSet(state=RiskState.ACTIVE, reason=f"pause over ({self.reason})", ts_ms=now_ms)
        return None

    def stronger(self, f: RiskStateSet) -> bool:
        """Whether `f` would tighten (or, for ACTIVE, lift) the current state."""
        return f.state is RiskState.ACTIVE or _RANK[f.state] >= _RANK[self.state]


def losing_streak(pnls: Sequence[Decimal]) -> int:
    n = 0
    for pnl in reversed(pnls):
        if pnl >= 0:
            break
        n += 1
    return n
