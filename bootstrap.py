#!/usr/bin/env python3
"""settings + .env → actors → run → report.

    python bootstrap.py                       offline: synthetic market, paper exchange, report
    python bootstrap.py --replay-path FILE_OR_DIR [--speed 120]   replay Binance public data
    python bootstrap.py --market binance      paper trading on live data, until stopped
    python bootstrap.py --exchange binance --market binance --yes-real-money   REAL orders with REAL money
    python bootstrap.py trades | status       read the journal without running the bot

Contradictions and runs that could never trade are refused at start (exit 2),
before any actor starts: see `actors/preflight.py`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from actors.settings import Settings, SettingsError, load_settings

DEFAULT_CONFIG = Path(__file__).with_name("settings.toml")
PROGRESS_EVERY_S = 1.0


COMMANDS = ("run", "trades", "status", "resume")


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    p = argparse.ArgumentParser(prog="bootstrap.py", description="An actor-based TRUMP/USDC spot bot.",
                                epilog="`python bootstrap.py` alone means `run`; see `bootstrap.py trades --help`. Research: "
                                       "`backtest PATH...`, `sweep --grid FILE`, `compare PATH... --store FILE` "
                                       "(each with --help).")
    sub = p.add_subparsers(dest="command", metavar="{run,trades,status,resume}")
    run = sub.add_parser("run", help="run the bot (the default)", description="Run the bot.",
                         epilog="trades | status read the journal without running the bot: bootstrap.py trades --help")
    run.add_argument("--config", help="settings file (default: settings.toml beside this script)")
    run.add_argument("--exchange", choices=("paper", "binance"), help="overrides [exchange] kind")
    run.add_argument("--market", choices=("synthetic", "replay", "binance"), help="overrides [market] source")
    run.add_argument("--replay-path", help="overrides [market] replay_path (and implies --market replay): "
                                           "a Binance public-data CSV/zip or a folder")
    run.add_argument("--speed", help="overrides [market] speed: replay pace, 0 = as fast as possible, "
                                     "1 = real time, 120 = two market minutes a second")
    run.add_argument("--report-dir", default="reports",
                     help="where summary.json, equity.png and a backtest's journal and logs go (default reports/)")
    run.add_argument("--yes-real-money", action="store_true", help="confirm real orders with --exchange binance")
    run.add_argument("--testnet", action="store_true",
                     help="real orders on Binance's Spot Testnet (fake funds), priced from its own streams: sets "
                          "[exchange] network = testnet (and --exchange binance --market binance unless given); "
                          "keys from BINANCE_TESTNET_API_KEY/_SECRET (else the usual names)")
    run.add_argument("--status-port", type=int, help="overrides [status] port (0 = off)")
    readers = {"trades": "every trade in the journal", "status": "the journal's state and the last 30 trades",
               "resume": "(resume) lift a halt or a pause recorded in the journal; the bot must be stopped"}
    parsers = {"run": run}
    for name, what in readers.items():
        text = what[len("(resume) "):] if what.startswith("(resume) ") else f"print {what} without running the bot"
        r = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        r.add_argument("--config", help="settings file (default: settings.toml beside this script)")
        r.add_argument("--journal", help="the journal to read (default: the one --mode writes)")
        r.add_argument("--mode", choices=("backtest", "paper-live", "testnet", "real"),
                       help="whose journal: a backtest's (REPORT_DIR/journal.sqlite3), paper trading on live data's "
                            "or real money's (from [storage] path); default: the settings' mode")
        r.add_argument("--report-dir", default="reports", help="a backtest's report folder (default reports/)")
        if name == "resume":
            r.add_argument("--by", default=os.environ.get("USER", "operator"), help="who resumes (journaled)")
            r.add_argument("--reason", default="", help="why (journaled)")
        parsers[name] = r
    return p, parsers


def _with_command(argv: list[str]) -> list[str]:
    """The command first: `bootstrap.py` alone means `run`, and `bootstrap.py --config X trades` still works."""
    if argv and argv[0] in COMMANDS:
        return argv
    valued = {"--config", "--exchange", "--market", "--replay-path", "--speed", "--report-dir", "--status-port", "--mode",
              "--journal", "--by", "--reason"}
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in COMMANDS:
            return [token, *argv[:i], *argv[i + 1:]]
        i += 2 if token in valued else 1
    return ["run", *argv]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p, parsers = _parser()
    args = p.parse_args(_with_command(list(sys.argv[1:] if argv is None else argv)))
    if args.command == "run":
        if args.replay_path and args.market in (None, "replay"):
            args.market = "replay"  # a replay path implies replay
        elif args.replay_path:
            parsers["run"].error(f"--replay-path replays a recorded market, but --market {args.market} asks for "
                                 f"another one: drop --market (a replay path implies replay), or drop --replay-path")
    return args


def settings_from(args: argparse.Namespace) -> Settings:
    config = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    overrides = {}
    if args.command == "run":
        replay_path = args.replay_path
        if args.market not in (None, "replay") and replay_path is None:
            replay_path = ""  # --market on the command line wins over a file's replay_path
        overrides = {"exchange.kind": args.exchange, "market.source": args.market,
                     "market.replay_path": replay_path, "market.speed": args.speed, "status.port": args.status_port}
        if args.testnet:  # the Spot Testnet: its addresses (settings_links), real orders from its own live data
            overrides.update({"exchange.network": "testnet", "exchange.kind": args.exchange or "binance"})
            if args.market is None and not args.replay_path:
                overrides.update({"market.source": "binance", "market.replay_path": ""})
    return load_settings(config, overrides)


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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["compare"]:  # model vs rule-based on the same data (actors/ai_eval/compare.py)
        from actors.ai_eval import compare

        return compare.main(argv[1:])
    if argv[:1] == ["download"]:  # Binance's public data files for backtests (actors/download/cli.py)
        from actors.download import cli as download

        return download.main(argv[1:])
    if argv[:1] == ["check-strategy"]:  # look-ahead in a strategy: actors/commands/check_strategy.py
        from actors.commands import check_strategy

        return check_strategy.main(argv[1:])
    if argv[:1] in (["backtest"], ["sweep"]):  # research at scale: actors/research/cli.py
        from actors.research.cli import main as research

        return research(argv)
    args = parse_args(argv)
    if not os.environ.get("TRADER_NO_DOTENV"):  # tests keep a developer's .env out of their runs
        load_dotenv(Path(__file__).with_name(".env"), override=False)  # the environment wins over .env
    try:
        settings = settings_from(args)
    except SettingsError as exc:
        print(f"settings error: {exc}", file=sys.stderr)
        return 2
    if args.command == "resume":
        return resume(settings, args)
    if args.command != "run":
        return inspect(settings, args)

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
    advisor = 'OpenRouter ' + settings.ai.model if keys.openrouter else 'fallback advisor (no OPENROUTER_API_KEY)'
    if settings.ai.mode != "live":  # record / replay the advice store (actors/ai_consultant/recording.py)
        advisor = f"{settings.ai.model} replayed from {settings.ai.store_path}" if settings.ai.mode == "replay" else (
            f"{advisor}, recording into {settings.ai.store_path}")
    print(f"starting: {settings.symbol}, {mode}, AI: {advisor}", flush=True)
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
            if settings.exchange.cancel_on_exit:
                time.sleep(1.0)  # let the executor report what the cancel found
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


def progress_line(status: Any) -> str:
    snap = status.last_snapshot
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(snap.ts_snapshot_ms / 1000)) if snap else "waiting for data"
    closed = sum(1 for t in status.trades if t.status == "CLOSED") if status.trades else dict(status.counters).get(
        "trades_closed", 0)
    mid = f" mid {snap.mid:.4f}" if snap else ""
    return (f"[{when}]{mid} state {status.state.name:<13} trades {closed:>4}  realised P&L "
            f"{status.realized_pnl:+.8f}  fees {status.fees_paid:.8f}"
            + (f"  HALTED: {status.halted_reason}" if status.halted_reason else ""))


def _journal_of(settings: Settings, args: argparse.Namespace) -> tuple[Settings, Path | None]:
    """The settings of the mode asked for, and its journal (None, with a message, if there is none)."""
    from actors import app

    report_dir = Path(args.report_dir)
    if args.mode:
        market = {"backtest": settings.market.source if app.is_backtest(settings) else "synthetic"}.get(
            args.mode, "binance")
        kind = "binance" if args.mode in ("real", "testnet") else "paper"
        network = "testnet" if args.mode == "testnet" else "mainnet"
        settings = replace(settings, exchange=replace(settings.exchange, kind=kind, network=network),
                           market=replace(settings.market, source=market))
    candidates = [Path(args.journal)] if args.journal else [app.journal_path(settings, report_dir)]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        print(f"no journal found at {', '.join(str(p) for p in candidates)}"
              + ("" if args.journal or args.mode else " (--mode paper-live or --mode real for a live run's)"),
              file=sys.stderr)
    return settings, path


def resume(settings: Settings, args: argparse.Namespace) -> int:
    """Lift a halt (or a pause) that a journal keeps across restarts: one fact, who and why, appended."""
    from actors.state_keeper.journal import JournalError
    from actors.state_keeper.resume import resume_journal

    settings, path = _journal_of(settings, args)
    if path is None:
        return 2
    try:
        print(resume_journal(settings, path, by=args.by, reason=args.reason))
    except JournalError as exc:
        print(f"cannot resume: {exc}", file=sys.stderr)
        return 2
    return 0


def inspect(settings: Settings, args: argparse.Namespace) -> int:
    """Read the journal without running the bot: `trades` or `status`, with the figures the run reported."""
    from actors import report
    from actors.state_keeper.core import KeeperCore, replay
    from actors.state_keeper.journal import Journal, JournalError

    settings, path = _journal_of(settings, args)
    if path is None:
        return 2
    try:
        journal = Journal(path)
        core = KeeperCore(settings)
        advice: list[Any] = []
        n = replay(core, _noting_advice(journal.facts(), advice))
        owner = journal.owner
        journal.close()
    except JournalError as exc:
        print(f"cannot read the journal: {exc}", file=sys.stderr)
        return 2
    status, equity = core.status(), tuple(core.equity)
    if status.last_snapshot is None and core.mark is not None:
        status = replace(status, last_snapshot=core.mark)  # marked where the run stopped, as its report was
    summary = report.build_summary(status, equity, advice_stats(advice), None, None, settings, 0.0, f"journal {path}")
    print(f"journal {path}: {n} facts" + (f", written by {owner.describe()}" if owner else ""))
    print(report.format_report(summary, max_trades=10**9 if args.command == "trades" else 30))
    for line in journal_caveats(status, equity):
        print(line)
    return 0


def _noting_advice(facts: Any, into: list[Any]) -> Any:
    for fact in facts:
        if fact[1] in ("advice", "AdviceReceived"):
            into.append(fact[2])
        yield fact


def advice_stats(advice: list[Any]) -> dict[str, Any]:
    """The consultant's counters as far as the journal knows them: every advice the keeper received."""
    from decimal import Decimal

    from actors.messages import AdviceSource

    models = sorted({a.model for a in advice if a.model})
    out: dict[str, Any] = {
        "calls": len(advice),
        "cache_hits": sum(1 for a in advice if a.source is AdviceSource.CACHE),
        "fallbacks": sum(1 for a in advice if a.source is AdviceSource.FALLBACK),
        "cost": sum((a.cost for a in advice), Decimal(0)),
    }
    if models:
        out["model"] = ", ".join(models)
    return out


def journal_caveats(status: Any, equity: tuple[Any, ...]) -> list[str]:
    """What a journal cannot tell, said plainly rather than shown as a zero."""
    out = []
    if not equity:
        out.append("note: this journal holds no equity samples (written before they were journaled): "
                   "drawdown and buy-and-hold cannot be known from it")
    if status.position.quantity and status.last_snapshot is None:
        if equity:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(equity[-1].ts_ms / 1000))
            out.append(f"note: the position is marked at the last journaled equity sample ({when} UTC), "
                       "not at the current market")
        else:
            out.append("note: no price is journaled, so unrealized P&L cannot be known: it is shown as 0")
    return out


if __name__ == "__main__":
    sys.exit(main())
