"""`bootstrap.py check-strategy [--config FILE] [--cuts N] PATH...`: look for look-ahead in the strategy.

Replays the configured strategy (`[strategy] name` in the config) on each
data file whole and on copies cut at N points, and lists every bar where a
decision changed once the later data was gone (actors/research/lookahead.py).
Exit 0: nothing found; 1: look-ahead found; 2: it could not run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from actors.research import lookahead, runs
from actors.research.paths import ResearchError, expand
from actors.settings import SettingsError, load_settings
from actors.strategy.loader import StrategyError, load

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "settings.toml"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bootstrap.py check-strategy", description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="+", metavar="PATH", help="kline (or trades) files or folders to replay")
    p.add_argument("--config", help="settings naming the strategy (default: settings.toml beside bootstrap.py)")
    p.add_argument("--cuts", type=int, default=4, help="cut copies per file (default 4)")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    config = Path(args.config) if args.config else (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    try:
        base = runs.base_keys(config)
        name = str(base.get("strategy.name", "trend"))
        file, sep, cls = name.partition(":")
        if sep and file.endswith(".py"):  # the runs resolve it from here, whatever their folder
            base["strategy.name"] = f"{Path(file).resolve()}:{cls}"
        specs = expand(args.paths)
        if args.cuts < 1:
            raise ResearchError(f"--cuts must be at least 1, not {args.cuts}")
        label = load(load_settings(None, dict(base))).label  # a strategy that cannot load stops here
    except (ResearchError, SettingsError, StrategyError) as exc:
        print(f"check-strategy: {exc}", file=sys.stderr)
        return 2
    print(f"check-strategy: {label} on {len(specs)} file(s), {args.cuts} cut(s) each", flush=True)
    checks = []
    for spec in specs:
        try:
            checks.append(lookahead.check(base, spec, args.cuts))
        except (ValueError, OSError) as exc:
            print(f"check-strategy: {spec.label}: {exc}", file=sys.stderr)
            return 2
        print(lookahead.report(checks[-1:]), flush=True)
    return 1 if any(c.differences for c in checks) else 0
