"""Many runs: in this process one after another, or as Ray tasks on local cores or a cluster.

A `Job` is plain data (the run's dotted keys, its folder, its identity), so it
travels to a Ray worker as is; `run_job` derives the settings there (reading
the file's grid in parallel too), runs the backtest and returns one row, never
raising: a run that fails is a row with `error`, the others go on. A Ray worker
is reused for many tasks and keeps this module's imports (the actors, the
report) warm: only the first task in a worker pays them.

`stream` hands each row to a callback as it lands and holds at most
`in_flight` tasks (and so task refs and rows) at a time, drawing jobs from an
iterator: a sweep of 10,000 runs costs the driver and the object store what a
sweep of 10 does. `execute` collects the rows in job order, so the same jobs
give the same rows.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actors.research import measures, runs
from actors.research.paths import RunSpec
from actors.research.runner import run_backtest

ROOT = Path(__file__).resolve().parents[2]  # the checkout: a Ray worker imports `actors` from here
# never shipped to a cluster: secrets (.env), the virtualenv, reports, journals and data
SHIP_EXCLUDES = [".git", ".venv", ".env", ".env.*", "reports", "data", "logs", "*.sqlite3", "*.sqlite3-*",
                 "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.egg-info"]
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
    key: str = ""  # the run's cache key (code version, settings, file hash); "" outside a sweep


def make_job(index: int, spec: RunSpec, base: Mapping[str, Any], out_dir: Path, *, set_id: str = "",
             params: Mapping[str, Any] | None = None, chart: bool = False, keep_journal: bool = True,
             key: str = "") -> Job:
    p = dict(params or {})
    keys = runs.run_keys(base, spec, p, out_dir)
    return Job(index=index, spec=spec, keys=tuple(keys.items()), out_dir=str(out_dir), set_id=set_id,
               params=tuple(p.items()), chart=chart, keep_journal=keep_journal, key=key)


def ident(job: Job) -> dict[str, Any]:
    """Who a row is: the same fields whether it was run, failed, or came from the cache."""
    return {"index": job.index, "key": job.key, "label": job.spec.label, "period": job.spec.period,
            "set_id": job.set_id, "params": dict(job.params), "out_dir": job.out_dir}


def failed_row(job: Job, exc: BaseException) -> dict[str, Any]:
    return {**ident(job), "symbol": job.spec.symbol, "error": f"{type(exc).__name__}: {exc}", "source": "run"}


def _node() -> str:
    """The Ray node this runs on (first 8 hex digits), "" outside Ray: which machine ran a row."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return ""
    return str(ray.get_runtime_context().get_node_id())[:8]


def run_job(job: Job) -> dict[str, Any]:
    """One run → one row (identity + `measures.row`); a failure is a row with `error` set."""
    try:
        settings = runs.run_settings(dict(job.keys))
        summary = run_backtest(settings, Path(job.out_dir), chart=job.chart)
        if not job.keep_journal:
            for suffix in ("", "-wal", "-shm"):
                (Path(job.out_dir) / f"journal.sqlite3{suffix}").unlink(missing_ok=True)
    except Exception as exc:  # noqa: BLE001 - one failed run is reported in its row; the sweep goes on
        Path(job.out_dir).mkdir(parents=True, exist_ok=True)
        (Path(job.out_dir) / "error.txt").write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        return {**failed_row(job, exc), "node": _node()}
    return {**ident(job), **measures.row(summary), "error": "", "source": "run", "node": _node()}


def stream(jobs: Iterable[Job], on_row: Progress, *, workers: int = 1, address: str | None = None,
           in_flight: int | None = None) -> None:
    """Run every job, calling `on_row` with each row as it lands (completion order); `workers` 1 and no
    `address` = in this process, else Ray with at most `in_flight` tasks submitted at once
    (default: twice the cluster's CPUs, so no worker waits for the driver)."""
    if workers <= 1 and not address:
        for job in jobs:
            on_row(run_job(job))
        return
    _on_ray(iter(jobs), on_row, workers, address, in_flight)


def execute(jobs: Sequence[Job], *, workers: int = 1, address: str | None = None,
            progress: Progress | None = None) -> list[dict[str, Any]]:
    """Run every job; rows in job order. Largest files first on Ray, so a big month does not start last."""
    by_index: dict[int, dict[str, Any]] = {}

    def land(row: dict[str, Any]) -> None:
        by_index[int(row["index"])] = row
        if progress is not None:
            progress(row)

    order = jobs if workers <= 1 and not address else sorted(jobs, key=_size, reverse=True)
    stream(order, land, workers=workers, address=address)
    return [by_index[j.index] for j in jobs]


def ray_init(workers: int, address: str | None) -> bool:
    """Connect to `address` (a cluster), or start Ray in this process with `workers` CPUs; True if we started it."""
    import ray  # the research extra: only sweeps and parallel backtests need it

    if ray.is_initialized():
        return False
    if address:  # a cluster: ship this checkout's code (never .env); the data paths must exist on the workers
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False,
                 runtime_env={"working_dir": str(ROOT), "excludes": SHIP_EXCLUDES,
                              "env_vars": {"TRADER_NO_DOTENV": "1"}})
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


def _on_ray(jobs: Iterator[Job], on_row: Progress, workers: int, address: str | None,
            in_flight: int | None) -> None:
    import ray

    started = ray_init(workers, address)
    try:
        # SPREAD: on a cluster every node gets work from the start (one node is the same as the default)
        task = ray.remote(num_cpus=1, scheduling_strategy="SPREAD")(run_job)
        cap = in_flight or max(2, 2 * int(ray.cluster_resources().get("CPU", workers)))
        pending: dict[Any, Job] = {}
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < cap:
                job = next(jobs, None)
                if job is None:
                    exhausted = True
                else:
                    pending[task.remote(job)] = job
            if not pending:
                break
            done, _ = ray.wait(list(pending), num_returns=1)
            ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)  # others already landed too
            for ref in {*done, *ready}:
                job = pending.pop(ref)
                try:
                    row = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a worker that died is one failed run, not a failed sweep
                    row = failed_row(job, exc)
                del ref  # the driver holds no ref, so Ray frees the row at once
                on_row(row)
    finally:
        if started:
            ray.shutdown()


__all__ = ["Job", "execute", "failed_row", "ident", "make_job", "ray_init", "run_job", "stream"]
