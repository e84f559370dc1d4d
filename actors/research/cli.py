"""`bootstrap.py backtest PATH...` and `bootstrap.py sweep --grid FILE [PATH...]`.

backtest: one run per data file through the live bot's actors, a progress bar
with ETA, one combined report (table, totals, CSV/JSON, chart) and each run's
summary in `OUT/runs/<label>/`. In this process by default; `--workers N` or
`--address` runs them as Ray tasks.

sweep: every parameter set of the grid × every file, as Ray tasks (local with
the machine's cores, or a cluster with `--address ray://host:10001` / `auto`),
ranked by the objective into a leaderboard with walk-forward folds.
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

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from actors.research import engine, grid, objective, report, runs
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
    bt.add_argument("--out", default="reports/backtest", help="report folder (default reports/backtest)")
    bt.add_argument("--chart", action="store_true", help="also draw each run's equity chart (slower)")
    sw = sub.add_parser("sweep", parents=[common], help="parameter sets × data on Ray, a leaderboard with walk-forward",
                        description="Every parameter set of the grid × every data file, as Ray tasks.")
    sw.add_argument("--grid", required=True, help="the grid file (TOML; see actors/research/grid.py)")
    sw.add_argument("paths", nargs="*", metavar="PATH", help="data (default: the grid file's [data] paths)")
    sw.add_argument("--objective", choices=objective.OBJECTIVES, help="what ranks the sets (default excess)")
    sw.add_argument("--max-drawdown", type=float, help="worst drawdown per unit deployed a set may have "
                                                       "(default 0.5; 0 = no constraint)")
    sw.add_argument("--out", default="reports/sweep", help="leaderboard folder (default reports/sweep)")
    sw.add_argument("--top", type=int, default=15, help="sets shown on the console (all are in the files)")
    sw.add_argument("--keep-journals", action="store_true", help="keep each run's journal beside its summary.json "
                                                                 "(a few MB a run; dropped by default)")
    return p


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("elapsed"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[last]}"),
                    console=console, transient=False)


def _console(stderr: bool = False) -> Console:
    """Wide enough for the tables when the output is a file or a pipe (rich would assume 80 columns)."""
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=170)


def _execute(jobs: Sequence[engine.Job], workers: int, address: str | None, what: str) -> list[dict[str, Any]]:
    err = _console(stderr=True)
    if not err.is_terminal:  # a log file or a pipe: a plain line every tenth of the way instead of a live bar
        return engine.execute(jobs, workers=workers, address=address, progress=_lines(err, what, len(jobs)))
    with _progress(err) as bar:
        task = bar.add_task(what, total=len(jobs), last="")
        failed = 0

        def step(row: dict[str, Any]) -> None:
            nonlocal failed
            failed += bool(row.get("error"))
            note = f"{row['label']}" + (f" [red]{failed} failed[/red]" if failed else "")
            bar.update(task, advance=1, last=note)

        return engine.execute(jobs, workers=workers, address=address, progress=step)


def _lines(console: Console, what: str, total: int) -> engine.Progress:
    t0 = time.monotonic()
    every = max(1, total // 10)
    count = {"done": 0, "failed": 0}

    def step(row: dict[str, Any]) -> None:
        count["done"] += 1
        count["failed"] += bool(row.get("error"))
        done = count["done"]
        if done % every and done != total:
            return
        elapsed = time.monotonic() - t0
        eta = elapsed / done * (total - done)
        failed = f", {count['failed']} failed" if count["failed"] else ""
        console.print(f"{what}: {done}/{total}{failed}, elapsed {elapsed:.0f} s, ETA {eta:.0f} s", highlight=False)

    return step


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
    out = Path(args.out).resolve()  # a Ray worker does not start in this folder
    jobs = [engine.make_job(i, s, base, out / "runs" / s.label, chart=args.chart) for i, s in enumerate(specs)]
    t0 = time.monotonic()
    rows = _execute(jobs, workers, args.address, f"backtest {len(jobs)} runs")
    report.write_backtest(rows, out, wall_s=time.monotonic() - t0, console=_console())
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
    out = Path(args.out).resolve()  # a Ray worker does not start in this folder
    jobs: list[engine.Job] = []
    for k, params in enumerate(g.sets):
        set_id = objective.set_name(k)
        for s in specs:
            jobs.append(engine.make_job(len(jobs), s, base, out / "runs" / set_id / s.label, set_id=set_id,
                                        params=params, keep_journal=args.keep_journals))
    where = args.address or f"{workers} local worker{'s' if workers > 1 else ''}"
    _console(stderr=True).print(f"sweep: {len(g.sets)} parameter sets × {len(specs)} files = {len(jobs)} runs on {where}",
                               highlight=False)
    t0 = time.monotonic()
    rows = _execute(jobs, workers, args.address, f"sweep {len(jobs)} runs")
    wall = time.monotonic() - t0
    ranked = objective.rank(rows, g.sets, obj)
    folds = objective.walk_forward(rows, g.sets, obj)
    meta = {"objective": obj.describe(), "grid": str(args.grid), "axes": g.axes, "sampled": g.sampled,
            "sets": len(g.sets), "files": [s.label for s in specs], "runs": len(rows),
            "failed": sum(1 for r in rows if r.get("error"))}
    console = _console()
    report.write_sweep(rows, ranked, folds, meta, out, console=console, top=args.top)
    console.print(f"{len(rows)} runs in {wall:.1f} s on {where}", highlight=False)
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
