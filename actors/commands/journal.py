"""`bootstrap.py trades | status | resume`: read (or, for resume, append one fact to) a journal, the bot stopped."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from actors.settings import Settings


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
        "strategy_answers": sum(1 for a in advice if a.source is AdviceSource.STRATEGY),
        "model_answers": sum(1 for a in advice if a.source is AdviceSource.MODEL),
        "cost": sum((a.cost for a in advice), Decimal(0)),
    }
    strategies = sorted({a.strategy for a in advice if a.strategy})
    if strategies:
        out["strategy"] = ", ".join(strategies)
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
