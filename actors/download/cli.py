"""`bootstrap.py download`: Binance's public data (data.binance.vision) for a backtest, in one command.

    python bootstrap.py download SYMBOL [SYMBOL...] --interval 5m --from 2025-01 [--to 2025-06]
                                 [--kind klines|aggTrades|trades] [--out DIR] [--base-url URL] [--recent]

Whole published months as monthly zips, the rest as daily zips (`plan.py`);
each verified against its `.CHECKSUM` and its CSV layout before it takes its
name, into `DIR/klines/SYMBOL-INTERVAL/` (or `DIR/aggTrades/SYMBOL/`), a folder
`bootstrap.py backtest` and `--replay-path` read as it is. Exit 0 only when
every file asked for is there; 1 when some are missing or refused (listed at
the end with their URLs); 2 for arguments that ask for nothing possible.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from actors.download import engine, plan, progress
from actors.download.engine import BAD, FAILED, FETCHED, MISSING, PRESENT, Request, SymbolResult
from actors.download.progress import human
from actors.settings import SettingsError, load_settings

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "settings.toml"
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bootstrap.py download", description=__doc__.split("\n\n")[0],
                                epilog="Then: python bootstrap.py backtest DIR/klines/SYMBOL-INTERVAL")
    p.add_argument("symbols", nargs="+", metavar="SYMBOL", help="spot symbols, such as TRUMPUSDC")
    p.add_argument("--interval", help=f"kline interval (klines only): {', '.join(plan.INTERVALS)}")
    p.add_argument("--from", dest="start", required=True, metavar="PERIOD",
                   help="first month (2025-01) or day (2025-01-05)")
    p.add_argument("--to", dest="end", metavar="PERIOD", help="last month or day (default: yesterday, UTC)")
    p.add_argument("--kind", choices=plan.KINDS, default=plan.KLINES, help="what to fetch (default klines)")
    p.add_argument("--out", default="data", help="root folder (default data/): DIR/klines/SYMBOL-INTERVAL/...")
    p.add_argument("--base-url", help="overrides [data] base_url: a mirror, or a test stand-in")
    p.add_argument("--parallel", type=int, help="overrides [data] max_parallel: files fetched at a time")
    p.add_argument("--recent", action="store_true",
                   help="also take the hours the archive lacks (today) from the REST klines endpoint, into "
                        "SYMBOL-INTERVAL-YYYY-MM-DD.recent.csv beside the zips")
    p.add_argument("--rest-url", help="overrides [exchange] rest_url for --recent")
    p.add_argument("--config", help="settings file (default: settings.toml beside bootstrap.py)")
    return p


def request(args: argparse.Namespace, now: datetime) -> Request:
    """The arguments and settings as one `Request`; `PlanError` or `SettingsError` says what does not fit."""
    config = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    settings = load_settings(config)
    today = now.astimezone(UTC).date()
    if args.kind == plan.KLINES:
        if args.interval not in plan.INTERVALS:
            raise plan.PlanError(f"klines need --interval, one of: {', '.join(plan.INTERVALS)}"
                                 + (f" (not {args.interval!r})" if args.interval else ""))
    elif args.interval:
        raise plan.PlanError(f"--interval is for klines; {args.kind} files have none")
    if args.recent and args.kind != plan.KLINES:
        raise plan.PlanError("--recent tops up klines only (the REST klines endpoint); drop it or use --kind klines")
    start, end = plan.date_range(args.start, args.end, today)
    if args.recent and end < today - timedelta(days=1):
        raise plan.PlanError(f"--recent tops up to now, but --to {args.end} ends on {end}: drop --to")
    parallel = settings.data.max_parallel if args.parallel is None else args.parallel
    if not 1 <= parallel <= 32:
        raise plan.PlanError(f"--parallel must be in 1..32, not {parallel}")
    base_url = args.base_url or settings.data.base_url
    rest_url = args.rest_url or settings.exchange.rest_url
    for flag, url in (("--base-url", base_url), ("--rest-url", rest_url)):
        if not url.startswith(("http://", "https://")):
            raise plan.PlanError(f"{flag} must start with http:// or https://, not {url!r}")
    symbols = tuple(dict.fromkeys(plan.parse_symbol(s) for s in args.symbols))
    return Request(symbols=symbols, kind=args.kind, interval=args.interval or "", start=start, end=end, today=today,
                   now_ms=int(now.timestamp() * 1000), base_url=base_url.rstrip("/"), out=Path(args.out),
                   parallel=parallel, recent=args.recent, rest_url=rest_url)


def render(req: Request, results: list[SymbolResult]) -> list[str]:
    """The closing report: per symbol what is there, then every missing URL and every refusal."""
    lines: list[str] = []
    what = f"{req.kind} {req.interval}".strip()
    for r in results:
        n_month = sum(o.job.monthly for o in r.outcomes)
        counts = {s: [o for o in r.outcomes if o.status == s] for s in (FETCHED, PRESENT, MISSING, BAD, FAILED)}
        size = sum(o.size for o in counts[FETCHED])
        parts = [f"{len(counts[FETCHED])} fetched ({human(size)})" if counts[FETCHED] else "",
                 f"{len(counts[PRESENT])} already there" if counts[PRESENT] else "",
                 *(f"{len(counts[s])} {s}" for s in (MISSING, BAD, FAILED) if counts[s])]
        lines.append(f"{r.symbol} {what}, {req.start} to {req.end}: {n_month} monthly and "
                     f"{len(r.outcomes) - n_month} daily files in {r.folder}/")
        lines.append("  " + (", ".join(p for p in parts if p) or "nothing"))
        if r.recent_file is not None:
            lines.append(f"  recent: {r.recent_file.name}, {r.recent_rows} closed bars from the REST API "
                         f"(up to {datetime.fromtimestamp(req.now_ms / 1000, UTC):%Y-%m-%d %H:%M} UTC)")
        if r.recent_error or r.recent_note:
            lines.append(f"  recent: {f'FAILED: {r.recent_error}' if r.recent_error else r.recent_note}")
        lines.extend(f"  {said}" for said in r.tidied)
        if r.note:
            lines.append(f"  {r.note}")
    missing = [o for r in results if not r.note for o in r.outcomes if o.status == MISSING]
    if missing:
        lines.append(f"missing ({len(missing)}; not published on {req.base_url}):")
        lines.extend(f"  {o.job.url}{f'  ({o.detail})' if o.detail else ''}" for o in missing)
        if any(o.job.last_day >= req.today - timedelta(days=2) for o in missing) and not req.recent:
            lines.append("  (a day's file appears the day after, a month's on the first Monday after it; "
                         "--recent takes the newest hours from the REST API)")
    for status, title in ((BAD, "not kept"), (FAILED, "failed (run the same command again to resume)")):
        bad = [o for r in results for o in r.outcomes if o.status == status]
        if bad:
            lines.append(f"{title} ({len(bad)}):")
            lines.extend(f"  {o.job.name}: {o.detail}  ({o.job.url})" for o in bad)
    good = [r for r in results if any(o.status in engine.GOOD for o in r.outcomes)]
    if good:
        lines.append("backtest: " + "; ".join(f"python bootstrap.py backtest {r.folder}" for r in good))
    return lines


def main(argv: list[str], *, clock: Clock = _utc_now) -> int:
    args = parser().parse_args(argv)
    try:
        req = request(args, clock())
    except (plan.PlanError, SettingsError) as exc:
        print(f"download: {exc}", file=sys.stderr)
        return 2
    try:
        results = asyncio.run(engine.download(req, progress.reporter))
    except KeyboardInterrupt:
        print("download: interrupted; the same command resumes where it stopped", file=sys.stderr)
        return 130
    for line in render(req, results):
        print(line)
    return 0 if all(r.complete for r in results) else 1


__all__ = ["main", "parser", "render", "request"]
