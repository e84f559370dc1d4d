"""`bootstrap.py [run]`: settings + .env → checks → actors → progress → report.

Everything that could never trade is refused before any actor starts (exit 2, one message
saying why and what to type instead): a replay of the wrong symbol or grid, the contradictions
of `actors/preflight.py`, real money without keys or without `--yes-real-money`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from actors.settings import Settings

PROGRESS_EVERY_S = 1.0
SETTLE_S = 10.0  # at a signal: how long the report waits to learn what became of the open order


def start(settings: Settings, args: argparse.Namespace) -> int:
    """The run command once its settings are read: refuse what cannot trade, then run."""
    from actors import app, preflight
    from actors.logging_setup import configure_logging
    from actors.market_data import replay_check

    settings, refusal = replay_check.checked(settings)  # a replay's symbol and price grid (exit 2 if wrong)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    refused = preflight.refusals(settings)
    if refused:
        print("\n".join(f"refusing to start: {r}" for r in refused), file=sys.stderr)
        return 2
    from actors.strategy.loader import StrategyError, load

    try:  # a strategy that cannot run stops the start here, before any actor (the consultant builds its own)
        load(settings)
    except StrategyError as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)
        return 2
    report_dir = Path(args.report_dir)
    if app.is_backtest(settings):  # a backtest logs beside its report, never rotating the live bot's logs away
        settings = replace(settings, logging=replace(settings.logging, file=str(report_dir / "trader.jsonl")))
    configure_logging(settings.logging)
    keys = app.Keys.from_env(settings.exchange.network)
    refusal = real_money_gate(settings, keys, args.yes_real_money)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    if settings.exchange.kind == "binance":
        print(banner(settings), file=sys.stderr, flush=True)
    return run(settings, keys, report_dir)


def real_money_gate(settings: Settings, keys: Any, confirmed: bool) -> str | None:
    """None if the run may start; otherwise why it must not."""
    if settings.exchange.kind != "binance":
        return None
    if settings.exchange.network == "testnet":  # fake funds: no confirmation, but its keys
        return None if keys.binance_key and keys.binance_secret else (
            "exchange.network = 'testnet' needs a Spot Testnet key: BINANCE_TESTNET_API_KEY and "
            "BINANCE_TESTNET_API_SECRET (or BINANCE_API_KEY and BINANCE_API_SECRET) in the environment or .env.")
    if not (keys.binance_key and keys.binance_secret):
        return ("exchange.kind = 'binance' places REAL orders and needs BINANCE_API_KEY and BINANCE_API_SECRET "
                "in the environment or .env; they are not set, so the bot will not start.")
    if not (confirmed or settings.exchange.confirm_real_money):
        return ("exchange.kind = 'binance' places REAL orders with REAL money on "
                f"{settings.symbol} ({settings.trading.quote_per_trade} {settings.exchange.quote_asset} a trade). "
                "Refusing to start without --yes-real-money (or [exchange] confirm_real_money = true).")
    return None


def banner(settings: Settings) -> str:
    line = "!" * 78
    if settings.exchange.network == "testnet":
        return (f"\n{line}\n!!  TESTNET: real orders on Binance's Spot Testnet with FAKE funds: {settings.symbol}, "
                f"{settings.trading.quote_per_trade} {settings.exchange.quote_asset} per trade\n"
                f"!!  endpoint {settings.exchange.rest_url}, streams {settings.market.stream_url}\n{line}\n")
    return (f"\n{line}\n!!  LIVE TRADING WITH REAL MONEY on Binance: {settings.symbol}, "
            f"{settings.trading.quote_per_trade} {settings.exchange.quote_asset} per trade\n"
            f"!!  endpoint {settings.exchange.rest_url}   stop with Ctrl-C (open orders are "
            f"{'cancelled' if settings.exchange.cancel_on_exit else 'left resting'})\n{line}\n")


def run(settings: Settings, keys: Any, report_dir: Path) -> int:
    from loguru import logger

    from actors import app
    from actors.console import Console
    from actors.messages import EquityPoint, GetEquityCurve, GetStatus, StatusSnapshot
    from actors.state_keeper.journal import JournalError

    report_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    signals: list[str] = []

    def on_signal(signum: int, _frame: Any) -> None:
        signals.append(signal.Signals(signum).name)
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    wall0 = time.monotonic()
    mode = f"{settings.market.source} market, {settings.exchange.kind} exchange" + (
        " (Spot Testnet)" if settings.exchange.network == "testnet" else "")
    strategy = f"strategy {settings.strategy.name}"
    advisor = f"OpenRouter {settings.ai.model} ({settings.ai.role})" if keys.openrouter and settings.ai.role != "off" \
        else ("none (ai.role = off)" if settings.ai.role == "off" else "none (no OPENROUTER_API_KEY)")
    if settings.ai.mode != "live" and settings.ai.role != "off":  # record / replay the advice store (recording.py)
        advisor = f"{settings.ai.model} replayed from {settings.ai.store_path}" if settings.ai.mode == "replay" else (
            f"{advisor}, recording into {settings.ai.store_path}")
    print(f"starting: {settings.symbol}, {mode}, {strategy}, AI: {advisor}", flush=True)
    try:
        running = app.start(settings, keys, report_dir, shared=app.shared_thread_for(settings))
    except (JournalError, ValueError, OSError) as exc:  # SettingsError is a ValueError
        print(f"cannot start: {exc}", file=sys.stderr)
        if isinstance(exc, OSError):
            print("(another bot running? choose another [status] port, or --status-port 0 to turn the page off)",
                  file=sys.stderr)
        return 2
    keeper = running["keeper"]
    console = Console(settings, progress_line)  # a bar or a live line on a terminal, else the plain lines
    try:
        last = 0.0
        while True:
            status: StatusSnapshot = keeper.ask(GetStatus(recent_trades=0), timeout=30)  # type: ignore[assignment]
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY_S:
                console.update(status, running.stats("market", timeout=1.0) if console.interactive else None)
                last = now
            if status.stopped_reason and app.is_backtest(settings):
                break
            if stop.wait(0.2):
                break
        console.close(status)
        if signals:
            logger.info("{} received: stopping cleanly", signals[0])
            print(f"{signals[0]} received: stopping cleanly", flush=True)  # the console shows warnings only
            app.stop_trading(running, f"{signals[0]} received", settings.exchange.cancel_on_exit)
            settle_open_order(running, settings.exchange.cancel_on_exit, SETTLE_S)
        status = keeper.ask(GetStatus(), timeout=30)  # type: ignore[assignment]
        equity: tuple[EquityPoint, ...] = keeper.ask(GetEquityCurve(), timeout=30)  # type: ignore[assignment]
        stats = {name: running.stats(name) for name in ("ai", "market", "executor")}
    finally:
        console.close()
        app.stop(running)
        for s, handler in old.items():
            signal.signal(s, handler)
    from actors import report

    summary = report.build_summary(status, equity, stats["ai"], stats["market"], stats["executor"], settings,
                                   time.monotonic() - wall0, mode)
    summary_path, chart_path = report.write_report(summary, equity, report_dir)
    print(report.format_report(summary), flush=True)
    print(f"report: {summary_path}  chart: {chart_path}", flush=True)
    return 0


def settle_open_order(running: Any, cancelled: bool, deadline_s: float) -> bool:
    """Before the report: wait until the keeper has booked what became of its open order, or `deadline_s`.

    A fixed pause raced the exchange: a fill that happened just before the
    signal is booked only once its report arrives, and a report written before
    that showed a position the account no longer held. A cancelled order is
    settled when it is terminal (cancelled, or filled and booked); one left
    resting is asked about (`QueryOrder`), and settled when the executor has no
    look-up left in flight, its answer then being ahead of ours in the keeper's
    mailbox.
    """
    from loguru import logger

    from actors.messages import GetStatus, OrderStatus, QueryOrder

    keeper = running["keeper"]
    end = time.monotonic() + deadline_s
    order = keeper.ask(GetStatus(recent_trades=0), timeout=30).active_order
    if order is None or OrderStatus(order.status).is_terminal:
        return True
    if not cancelled and "executor" in running.actors:
        running["executor"].tell(QueryOrder(client_order_id=order.id, symbol=order.symbol))
    while True:
        if cancelled:
            now = keeper.ask(GetStatus(recent_trades=0), timeout=30).active_order
            done = now is None or OrderStatus(now.status).is_terminal
        else:
            done = not ((running.stats("executor", timeout=5.0) or {}).get("lookups_pending") or 0)
        if done:
            return True
        if time.monotonic() >= end:
            logger.warning("what became of order {} was not settled within {} s: the report may miss its last fill "
                           "(the next start reconciles it with the exchange)", order.id, deadline_s)
            return False
        time.sleep(0.05)


def progress_line(status: Any) -> str:
    snap = status.last_snapshot
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(snap.ts_snapshot_ms / 1000)) if snap else "waiting for data"
    closed = sum(1 for t in status.trades if t.status == "CLOSED") if status.trades else dict(status.counters).get(
        "trades_closed", 0)
    mid = f" mid {snap.mid:.4f}" if snap else ""
    return (f"[{when}]{mid} state {status.state.name:<13} trades {closed:>4}  realised P&L "
            f"{status.realized_pnl:+.8f}  fees {status.fees_paid:.8f}"
            + (f"  HALTED: {status.halted_reason}" if status.halted_reason else ""))
