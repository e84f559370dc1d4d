#!/usr/bin/env python3
"""settings + .env → actors → run → report.

    python bootstrap.py                       offline: synthetic market, paper exchange, report
    python bootstrap.py --replay-path FILE_OR_DIR [--speed 120]   replay Binance public data
    python bootstrap.py --market binance      paper trading on live data, until stopped
    python bootstrap.py --exchange binance --market binance --yes-real-money   REAL orders with REAL money
    python bootstrap.py trades | status | resume   read (or resume) the journal without running the bot
    python bootstrap.py download | backtest | sweep | compare | check-strategy ...   data and research

The entry point only dispatches: each command lives in a module of its own
(`actors/commands/`, and the research, data and compare packages).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

# One module per command: the name chooses it, the module parses the rest.
_COMMANDS: dict[str, tuple[str, str]] = {
    "compare": ("actors.ai_eval.compare", "recorded models against the strategy on the same data"),
    "download": ("actors.download.cli", "Binance's public data files for backtests"),
    "check-strategy": ("actors.commands.check_strategy", "look-ahead in a strategy"),
    "backtest": ("actors.research.cli", "many backtests, one report (research)"),
    "sweep": ("actors.research.cli", "parameter sets x data on Ray, a leaderboard (research)"),
}


def _command(name: str) -> Callable[[list[str]], int]:
    import importlib

    module = importlib.import_module(_COMMANDS[name][0])
    main: Callable[[list[str]], int] = module.main
    return main


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in _COMMANDS:
        name = argv[0]
        return _command(name)(argv if name in ("backtest", "sweep") else argv[1:])
    from dotenv import load_dotenv

    from actors.commands import args as cli
    from actors.settings import SettingsError

    args = cli.parse_args(argv)
    if not os.environ.get("TRADER_NO_DOTENV"):  # tests keep a developer's .env out of their runs
        load_dotenv(Path(__file__).with_name(".env"), override=False)  # the environment wins over .env
    try:
        settings = cli.settings_from(args)
    except SettingsError as exc:
        print(f"settings error: {exc}", file=sys.stderr)
        return 2
    if args.command == "run":
        from actors.commands import run

        return run.start(settings, args)
    from actors.commands import journal

    return journal.resume(settings, args) if args.command == "resume" else journal.inspect(settings, args)


# what tests and scripts used from here, where it lives now
from actors.commands.args import parse_args, settings_from  # noqa: E402
from actors.commands.run import banner, progress_line, real_money_gate  # noqa: E402

__all__ = ["banner", "main", "parse_args", "progress_line", "real_money_gate", "settings_from"]

if __name__ == "__main__":
    sys.exit(main())
