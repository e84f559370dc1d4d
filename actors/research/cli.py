"""`bootstrap.py backtest PATH...` and `bootstrap.py sweep --grid FILE [PATH...]`.

backtest: one run per data file through the live bot's actors, a progress bar
with ETA, one combined report (table, totals, CSV/JSON, chart) and each run's
summary in `OUT/runs/<label>/`. In this process by default; `--workers N` or
`--address` runs them as Ray tasks.

sweep: every parameter set of the grid × every file, as Ray tasks (local with
the machine's cores, or a cluster with `--address ray://host:10001` / `auto`),
ranked by the objective into a leaderboard with walk-forward folds. Each row
lands in `rows.jsonl` as it finishes (`--resume` continues a killed sweep) and
in the cache (`cache.py`), so a run already done by any sweep is not run again
(see `sweep.py`).

Both take `--report-dir` (`--out` is the same), as the bot's own run does.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actors.research import cache, engine, grid, objective, progress, report, rowlog, runs
from actors.research import sweep as sweep_run
from actors.research.paths import ResearchError, RunSpec, expand
from actors.settings import SettingsError

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "settings.toml"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bootstrap.py", description="Research: many backtests through the bot's actors.")
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="base settings (default: settings.toml beside bootstrap.py); each run "
                                         "takes its symbol from its file, and its grid from the data unless given")
    common.add_argument("--address", help="run on a Ray cluster: ray://host:10001 or auto (data paths must exist there)")
    common.add_argument("--workers", type=int, help="runs at a time on this machine, as Ray tasks; 1 = in this "
                                                    "process without Ray (default: 1 for backtest, every core for sweep)")
    bt = sub.add_parser("backtest", parents=[common], help="one run per data file, one combined report",
                        description="One run per data file (csv or zip; folders of them; folders of symbol folders).")
    bt.add_argument("paths", nargs="+", metavar="PATH")
    bt.add_argument("--report-dir", "--out", dest="report_dir", default="reports/backtest",
                    help="report folder (default reports/backtest; --out is the same)")
    bt.add_argument("--chart", action="store_true", help="also draw each run's equity chart (slower)")
    sw = sub.add_parser("sweep", parents=[common], help="parameter sets × data on Ray, a leaderboard with walk-forward",
                        description="Every parameter set of the grid × every data file, as Ray tasks.")
    sw.add_argument("--grid", required=True, help="the grid file (TOML; see actors/research/grid.py)")
    sw.add_argument("paths", nargs="*", metavar="PATH", help="data (default: the grid file's [data] paths)")
    sw.add_argument("--objective", choices=objective.OBJECTIVES, help="what ranks the sets (default excess)")
    sw.add_argument("--max-drawdown", type=float, help="worst drawdown per unit deployed a set may have "
                                                       "(default 0.5; 0 = no constraint)")
    sw.add_argument("--report-dir", "--out", dest="report_dir", default="reports/sweep",
                    help="leaderboard folder, with rows.jsonl, each run's row as it lands (default reports/sweep; "
                         "--out is the same)")
    sw.add_argument("--resume", action="store_true", help="continue a killed sweep in --report-dir: keep the runs "
                                                          "its rows.jsonl holds, run only the missing ones")
    sw.add_argument("--cache-dir", help="where finished runs are kept by (code, settings, data), for any sweep to "
                                        f"reuse (default {cache.default_dir()}; $XDG_CACHE_HOME moves it)")
    sw.add_argument("--no-cache", action="store_true", help="neither reuse nor keep cached runs")
    sw.add_argument("--top", type=int, default=15, help="sets shown on the console (all are in the files)")
    sw.add_argument("--keep-journals", action="store_true", help="keep each run's journal beside its summary.json "
                                                                 "(a few MB a run; dropped by default)")
    return p


def _execute(jobs: Sequence[engine.Job], workers: int, address: str | None, what: str) -> list[dict[str, Any]]:
    with progress.track(what, len(jobs)) as step:
        return engine.execute(jobs, workers=workers, address=address, progress=step)


def _workers(args: argparse.Namespace, default: int) -> int:
    n = args.workers if args.workers is not None else default
    if n < 1:
        raise ResearchError(f"--workers must be at least 1, not {n}")
    if (n > 1 or args.address) and importlib.util.find_spec("ray") is None:
        raise ResearchError("Ray is not installed: pip install -e '.[research]' (or --workers 1 for a backtest)")
    return n


def _base(args: argparse.Namespace) -> dict[str, Any]:
    config = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    return runs.base_keys(config)


def backtest(args: argparse.Namespace) -> int:
    specs = expand(args.paths)
    base = _base(args)
    workers = _workers(args, 1)
    out = Path(args.report_dir).resolve()  # a Ray worker does not start in this folder
    jobs = [engine.make_job(i, s, base, out / "runs" / s.label, chart=args.chart) for i, s in enumerate(specs)]
    t0 = time.monotonic()
    rows = _execute(jobs, workers, args.address, f"backtest {len(jobs)} runs")
    report.write_backtest(rows, out, wall_s=time.monotonic() - t0, console=progress.console())
    return 0 if any(not r.get("error") for r in rows) else 1


def sweep(args: argparse.Namespace) -> int:
    g = grid.load_grid(args.grid)
    specs: list[RunSpec] = expand(args.paths or g.paths)
    base = _base(args)
    for params in g.sets:
        runs.check_params(base, params)
    obj = objective.Objective(args.objective or g.objective or "excess",
                              args.max_drawdown if args.max_drawdown is not None else (
                                  g.max_dd if g.max_dd is not None else 0.5))
    workers = _workers(args, os.cpu_count() or 1)
    out = Path(args.report_dir).resolve()  # a Ray worker does not start in this folder
    sw = sweep_run.Sweep(sets=g.sets, specs=tuple(specs), base=base, out=out, keep_journals=args.keep_journals)
    where = args.address or f"{workers} local worker{'s' if workers > 1 else ''}"
    store = cache.Cache(None if args.no_cache else Path(args.cache_dir or cache.default_dir()).expanduser())
    t0 = time.monotonic()
    try:
        done = sweep_run.run(sw, store, workers=workers, address=args.address, resume=args.resume, where=where)
    except KeyboardInterrupt:
        print(f"sweep: interrupted; every finished run is in {out / rowlog.ROWS_FILE}: the same command with --resume "
              "runs only the rest", file=sys.stderr)
        return 130
    finally:
        store.close()
    wall = time.monotonic() - t0
    rows = done.rows
    ranked = objective.rank(rows, g.sets, obj)
    folds = objective.walk_forward(rows, g.sets, obj)
    meta = {"objective": obj.describe(), "grid": str(args.grid), "axes": g.axes, "sampled": g.sampled,
            "sets": len(g.sets), "files": [s.label for s in specs], "runs": len(rows), "failed": done.failed}
    console = progress.console()
    report.write_sweep(rows, ranked, folds, meta, out, console=console, top=args.top)
    console.print(f"{done.total} runs in {wall:.1f} s on {where}: {done.ran} run, {done.cached} from the cache, "
                  f"{done.kept} kept (--resume); {done.failed} failed", highlight=False)
    return 0 if any(not r.get("error") for r in rows) else 1


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    try:
        return backtest(args) if args.command == "backtest" else sweep(args)
    except (ResearchError, SettingsError, ValueError) as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
