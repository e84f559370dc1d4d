"""Many runs: in this process one after another, or as Ray tasks on local cores or a cluster.

A `Job` is plain data (the run's dotted keys, its folder, its identity), so it
travels to a Ray worker as is; `run_job` derives the settings there (reading
the file's grid in parallel too), runs the backtest and returns one row, never
raising: a run that fails is a row with `error`, the others go on. A Ray worker
is reused for many tasks and keeps this module's imports (the actors, the
report) warm: only the first task in a worker pays them.

Rows come back in job order whatever order they finished in, so the same
jobs give the same rows.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actors.research import measures, runs
from actors.research.paths import RunSpec
from actors.research.runner import run_backtest

ROOT = Path(__file__).resolve().parents[2]  # the checkout: a Ray worker imports `actors` from here
Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Job:
    index: int
    spec: RunSpec
    keys: tuple[tuple[str, Any], ...]  # the run's dotted settings keys (research's own included)
    out_dir: str
    set_id: str = ""  # the parameter set ("" for a plain backtest)
    params: tuple[tuple[str, Any], ...] = ()
    chart: bool = False
    keep_journal: bool = True  # a sweep's thousands of runs keep their summary.json, not their journals (MBs each)


def make_job(index: int, spec: RunSpec, base: Mapping[str, Any], out_dir: Path, *, set_id: str = "",
             params: Mapping[str, Any] | None = None, chart: bool = False, keep_journal: bool = True) -> Job:
    p = dict(params or {})
    keys = runs.run_keys(base, spec, p, out_dir)
    return Job(index=index, spec=spec, keys=tuple(keys.items()), out_dir=str(out_dir), set_id=set_id,
               params=tuple(p.items()), chart=chart, keep_journal=keep_journal)


def run_job(job: Job) -> dict[str, Any]:
    """One run → one row (identity + `measures.row`); a failure is a row with `error` set."""
    ident: dict[str, Any] = {"index": job.index, "label": job.spec.label, "period": job.spec.period,
                             "set_id": job.set_id, "params": dict(job.params), "out_dir": job.out_dir}
    try:
        settings = runs.run_settings(dict(job.keys))
        summary = run_backtest(settings, Path(job.out_dir), chart=job.chart)
        if not job.keep_journal:
            for suffix in ("", "-wal", "-shm"):
                (Path(job.out_dir) / f"journal.sqlite3{suffix}").unlink(missing_ok=True)
    except Exception as exc:  # noqa: BLE001 - one failed run is reported in its row; the sweep goes on
        Path(job.out_dir).mkdir(parents=True, exist_ok=True)
        (Path(job.out_dir) / "error.txt").write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        return {**ident, "symbol": job.spec.symbol, "error": f"{type(exc).__name__}: {exc}"}
    return {**ident, **measures.row(summary), "error": ""}


def execute(jobs: Sequence[Job], *, workers: int = 1, address: str | None = None,
            progress: Progress | None = None) -> list[dict[str, Any]]:
    """Run every job; `workers` 1 and no `address` = in this process, else Ray. Rows in job order."""
    if workers <= 1 and not address:
        rows = []
        for job in jobs:
            rows.append(run_job(job))
            if progress is not None:
                progress(rows[-1])
        return rows
    return _on_ray(jobs, workers, address, progress)


def ray_init(workers: int, address: str | None) -> bool:
    """Connect to `address` (a cluster), or start Ray in this process with `workers` CPUs; True if we started it."""
    import ray  # the research extra: only sweeps and parallel backtests need it

    if ray.is_initialized():
        return False
    if address:  # a cluster: ship this checkout's code; the data paths must exist on the workers
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False,
                 runtime_env={"working_dir": str(ROOT), "excludes": [".git", ".venv", "reports", "data", "*.sqlite3"]})
    else:
        pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": pythonpath, "TRADER_NO_DOTENV": "1"}})
    return True


def _size(job: Job) -> int:
    try:
        return os.path.getsize(job.spec.path)
    except OSError:
        return 0


def _on_ray(jobs: Sequence[Job], workers: int, address: str | None, progress: Progress | None) -> list[dict[str, Any]]:
    import ray

    started = ray_init(workers, address)
    try:
        task = ray.remote(num_cpus=1)(run_job)
        by_job = {job.index: job for job in jobs}
        # largest files first, so a big month does not start last while the other workers sit idle
        pending = {task.remote(job): job.index for job in sorted(jobs, key=_size, reverse=True)}
        by_index: dict[int, dict[str, Any]] = {}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                index = pending.pop(ref)
                try:
                    row = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a worker that died is one failed run, not a failed sweep
                    job = by_job[index]
                    row = {"index": index, "label": job.spec.label, "period": job.spec.period, "set_id": job.set_id,
                           "params": dict(job.params), "out_dir": job.out_dir, "symbol": job.spec.symbol,
                           "error": f"{type(exc).__name__}: {exc}"}
                by_index[index] = row
                if progress is not None:
                    progress(row)
        return [by_index[j.index] for j in jobs]
    finally:
        if started:
            ray.shutdown()


__all__ = ["Job", "execute", "make_job", "ray_init", "run_job"]
