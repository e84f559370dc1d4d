"""One backtest IN PROCESS through the live bot's own actors, ended by the keeper's `TradingStopped` event.

`actors.app.start` starts the same actors and decision code as a live run
(paper exchange, replay market, no OpenRouter key: the rule-based advisor, the
default strategy, decides). A small listener actor sends the keeper
`Subscribe` and sets an event when `TradingStopped` arrives: no polling. The
keeper handles messages in order, so a status asked right after `Subscribe`
says whether the end came before the listener was there.

The modules are imported once per process (a warm Ray worker keeps them), the
summary is written as JSON and the chart only when asked.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pykka

from actors import app
from actors.logging_setup import configure_logging, remove_logging
from actors.messages import GetEquityCurve, GetStatus, StatusSnapshot, Subscribe, TradingStopped
from actors.report import build_summary, to_jsonable
from actors.report.summary import CHART_FILE, SUMMARY_FILE
from actors.settings import Settings

RUN_TIMEOUT_S = 6 * 3600.0  # a safety net only: a run that never ends is reported as failed, not waited on forever
ASK_TIMEOUT_S = 60.0


class RunTimeout(RuntimeError):
    """The feed never finished within RUN_TIMEOUT_S."""


class StopListener(pykka.ThreadingActor):
    """Subscribed to the keeper's domain events; sets `done` on `TradingStopped`."""

    def __init__(self, done: threading.Event) -> None:
        super().__init__()
        self.done = done
        self.reason = ""

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, TradingStopped):
            self.reason = message.reason
            self.done.set()
        return None


def run_backtest(settings: Settings, out_dir: Path, *, chart: bool = False,
                 timeout_s: float = RUN_TIMEOUT_S) -> dict[str, Any]:
    """Run `settings` (a replay) to its end; write `summary.json` (and `equity.png` if `chart`); return the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    configure_logging(settings.logging)
    wall0 = time.monotonic()
    shared = app.shared_thread_for(settings, f"backtest-{out_dir.name}")
    try:
        running = app.start(settings, app.Keys(), out_dir, status_port=0, shared=shared)
    except BaseException:
        remove_logging()
        raise
    try:
        keeper = running["keeper"]
        done = threading.Event()
        listener = shared.start(StopListener, done) if shared is not None else StopListener.start(done)
        keeper.tell(Subscribe(subscriber=listener))
        first = keeper.ask(GetStatus(recent_trades=0), timeout=ASK_TIMEOUT_S)
        if isinstance(first, StatusSnapshot) and first.stopped_reason:
            done.set()  # it ended before the listener subscribed
        if not done.wait(timeout_s):
            raise RunTimeout(f"the replay of {settings.market.replay_path} did not finish within {timeout_s:.0f} s")
        status = keeper.ask(GetStatus(), timeout=ASK_TIMEOUT_S)
        equity = tuple(keeper.ask(GetEquityCurve(), timeout=ASK_TIMEOUT_S))
        assert isinstance(status, StatusSnapshot)
        stats = {name: running.stats(name) for name in ("ai", "market", "executor")}
    finally:
        app.stop(running)
        remove_logging()  # closes the run's log file; the next run (or nothing) logs next
    mode = f"{settings.market.source} market, {settings.exchange.kind} exchange"
    summary = build_summary(status, equity, stats["ai"], stats["market"], stats["executor"], settings,
                            time.monotonic() - wall0, mode)
    path = out_dir / SUMMARY_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(to_jsonable(summary), indent=1, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    if chart:
        from actors.report.chart import draw_chart  # matplotlib only when a chart is asked for

        draw_chart(summary, equity, out_dir / CHART_FILE)
    return summary


__all__ = ["RUN_TIMEOUT_S", "RunTimeout", "StopListener", "run_backtest"]
