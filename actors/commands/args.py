"""The arguments of the bot's own commands (run, trades, status, resume) and the settings they make.

`bootstrap.py` alone means `run`; `bootstrap.py --config X trades` still works: the command may
come anywhere. The research and data commands (backtest, sweep, compare, check-strategy,
download) parse their own arguments in their own modules.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from actors.settings import Settings, load_settings

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "settings.toml"


COMMANDS = ("run", "trades", "status", "resume")


def parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    p = argparse.ArgumentParser(prog="bootstrap.py", description="An actor-based TRUMP/USDC spot bot.",
                                epilog="`python bootstrap.py` alone means `run`; see `bootstrap.py trades --help`. Also: "
                                       "`download SYMBOL...`, `backtest PATH...`, `sweep --grid FILE`, "
                                       "`compare PATH... --store FILE`, `check-strategy PATH...` (each with --help).")
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


def with_command(argv: list[str]) -> list[str]:
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
    p, parsers = parser()
    args = p.parse_args(with_command(list(sys.argv[1:] if argv is None else argv)))
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
