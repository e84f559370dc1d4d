"""Sweep memory: a 10,000-run sweep must hold as much in the driver and in Ray's object store at its end as at its start.

The sweep is research's own (`actors.research.sweep.run` on a local Ray with
every core, then the leaderboard read back from `rows.jsonl`), over tiny
5-bar files (copies of the first bars of a TRUMPUSDC 1m day under 50 day
names) × 200 parameter sets (`trading.min_profit`), so 10,000 runs take
minutes. The cache is a fresh one: every run is run, and its row put there as
it lands, as in a default sweep. A thread samples every 0.5 s:

- the driver's RSS (`/proc/self/statm`);
- the object store's used bytes (Ray's `object_store_memory`, total − available,
  which the raylet keeps as plasma's use) and the driver's own in-process
  store (small rows come back there, not through plasma) with the count of
  refs the driver owns;
- the Ray workers' RSS (this process's descendants titled `ray::IDLE`, `ray::run_job`),
  for information: a run that leaked would show there;
- the rows landed so far (the newlines of `rows.jsonl`).

Growth = the mean over the last quarter of the runs (75-100 % landed) / the
mean over the first quarter (0-25 %): `sweep_memory_driver_growth_ratio`,
`sweep_memory_store_growth_ratio` (1.0 when the store held nothing in either,
as a bounded sweep's small rows never reach plasma). `--in-flight N` changes
the driver's bound (default: twice the CPUs); `--in-flight 0` submits every
task at once, as the engine did before, for comparison.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import ray  # imported before the sampler thread looks at it
from _common import ROOT, emit, parse_args, quiet_logging, stop_all_actors

from actors.research import cache, objective, report, rowlog
from actors.research import sweep as sweep_run
from actors.research.paths import expand

DAY = ROOT.parent / "shared" / "data" / "klines" / "TRUMPUSDC-1m" / "TRUMPUSDC-1m-2025-01-28.csv"
PAGE = os.sysconf("SC_PAGE_SIZE")
EVERY_S = 0.5


def rss(pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def workers_rss() -> int:
    """RSS of this process's descendants that are Ray workers."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                title = fh.read()
        except OSError:
            continue
        # a worker names itself ray::IDLE or ray::run_job once started (default_worker.py before)
        if b"default_worker" in title or (title.startswith(b"ray::") and b"Agent" not in title):
            total += rss(pid)
    return total


def store_used() -> tuple[int, int, int]:
    """(plasma bytes used, the driver's in-process store bytes, refs the driver owns); zeros before Ray is up."""
    if not ray.is_initialized():
        return 0, 0, 0
    try:
        total = ray.cluster_resources().get("object_store_memory", 0.0)
        avail = ray.available_resources().get("object_store_memory", total)
        core = ray._private.worker.global_worker.core_worker
        return int(total - avail), int(core.get_local_memory_store_bytes_used()), len(core.get_all_reference_counts())
    except Exception:  # noqa: BLE001 - a sample missed while Ray starts or stops is skipped, not fatal
        return 0, 0, 0


class Sampler(threading.Thread):
    def __init__(self, rows_path: Path) -> None:
        super().__init__(daemon=True, name="sampler")
        self.rows_path = rows_path
        self.samples: list[dict[str, float]] = []
        self.stop = threading.Event()
        self._offset = 0
        self._rows = 0

    def _landed(self) -> int:
        try:
            with self.rows_path.open("rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except OSError:
            return self._rows
        self._offset += len(chunk)
        self._rows += chunk.count(b"\n")
        return self._rows

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.stop.wait(EVERY_S):
            plasma, inproc, refs = store_used()
            self.samples.append({"t": time.monotonic() - t0, "rows": self._landed(), "driver": rss(),
                                 "plasma": plasma, "inproc": inproc, "refs": refs, "workers": workers_rss()})


def quarters(samples: list[dict[str, float]], total: int, key: str) -> tuple[float, float]:
    first = [s[key] for s in samples if 0 < s["rows"] <= total / 4]
    last = [s[key] for s in samples if 3 * total / 4 <= s["rows"] < total]
    return (statistics.fmean(first) if first else float("nan")), (statistics.fmean(last) if last else float("nan"))


def growth(first: float, last: float) -> float | None:
    if first != first or last != last:  # NaN: a quarter without samples
        return None
    if first == 0:
        return 1.0 if last == 0 else None
    return round(last / first, 3)


def main() -> None:
    def extra(p: Any) -> None:
        p.add_argument("--in-flight", type=int, help="tasks submitted at once (default twice the CPUs; 0 = all)")

    args = parse_args(__doc__, extra)
    quiet_logging()
    files, sets = (20, 50) if args.quick else (50, 200)
    cores = os.cpu_count() or 1
    head = "".join(DAY.read_text().splitlines(keepends=True)[:5])
    with tempfile.TemporaryDirectory(prefix="bench-sweep-mem-") as t:
        tmp = Path(t)
        data = tmp / "data" / "TRUMPUSDC-1m"
        data.mkdir(parents=True)
        for d in range(files):
            day = time.strftime("%Y-%m-%d", time.gmtime(1735689600 + 86400 * d))  # 2025-01-01 onwards
            (data / f"TRUMPUSDC-1m-{day}.csv").write_text(head)
        grid = tuple({"trading.min_profit": f"{0.001 + 0.0001 * k:.4f}"} for k in range(sets))
        out = tmp / "sweep"
        sw = sweep_run.Sweep(sets=grid, specs=tuple(expand([data])), base={}, out=out)
        total = sw.total
        in_flight = None if args.in_flight is None else (args.in_flight or total)
        sampler = Sampler(out / rowlog.ROWS_FILE)
        sampler.start()
        t0 = time.monotonic()
        store = cache.Cache(tmp / "cache")  # as a sweep runs by default: every row put in the cache as it lands
        try:
            done = sweep_run.run(sw, store, workers=cores, address=None, resume=False, in_flight=in_flight,
                                 where=f"{cores} local workers")
        finally:
            store.close()
        wall = time.monotonic() - t0
        ranked = objective.rank(done.rows, grid, objective.Objective())
        folds = objective.walk_forward(done.rows, grid, objective.Objective())
        report.write_sweep(done.rows, ranked, folds, {"runs": len(done.rows)}, out)
        board_s = time.monotonic() - t0 - wall
        sampler.stop.set()
        sampler.join()
    assert done.complete and not done.failed, f"{len(done.rows)}/{total} rows, {done.failed} failed"
    s = sampler.samples
    res: dict[str, Any] = {"sweep_memory_runs": total, "sweep_memory_wall_s": round(wall, 1),
                           "sweep_memory_leaderboard_s": round(board_s, 2), "sweep_memory_samples": len(s),
                           "sweep_memory_in_flight": in_flight or 2 * cores, "sweep_memory_cores": cores}
    for key, name in (("driver", "driver"), ("plasma", "store"), ("inproc", "driver_store"), ("workers", "workers"),
                      ("refs", "refs")):
        first, last = quarters(s, total, key)
        scale = 1 if key == "refs" else 2**20
        unit = "" if key == "refs" else "_mb"
        res[f"sweep_memory_{name}_first_quarter{unit}"] = round(first / scale, 2) if first == first else None
        res[f"sweep_memory_{name}_last_quarter{unit}"] = round(last / scale, 2) if last == last else None
        res[f"sweep_memory_{name}_growth_ratio"] = growth(first, last)
    res["sweep_memory_driver_peak_mb"] = round(max(x["driver"] for x in s) / 2**20, 1) if s else None
    res["sweep_memory_store_peak_mb"] = round(max(x["plasma"] for x in s) / 2**20, 2) if s else None
    res["sweep_memory_refs_peak"] = max(int(x["refs"]) for x in s) if s else None
    print(f"sweep memory: {total} runs in {wall:.0f} s; driver RSS {res['sweep_memory_driver_first_quarter_mb']} → "
          f"{res['sweep_memory_driver_last_quarter_mb']} MB (x{res['sweep_memory_driver_growth_ratio']}), object store "
          f"{res['sweep_memory_store_first_quarter_mb']} → {res['sweep_memory_store_last_quarter_mb']} MB, refs "
          f"{res['sweep_memory_refs_first_quarter']} → {res['sweep_memory_refs_last_quarter']}, workers "
          f"{res['sweep_memory_workers_first_quarter_mb']} → {res['sweep_memory_workers_last_quarter_mb']} MB",
          file=sys.stderr, flush=True)
    emit(res)


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all_actors()
