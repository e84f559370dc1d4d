"""A sweep that finishes and survives: every (set, file) run once, its row kept as it lands, the board from the file.

Run `index` is set `index // files` on file `index % files`: the same grid
and data give the same indices, killed or not. Before anything runs, each
run's cache key is worked out (`cache.py`); a run is then, in this order:

1. kept: `--resume` and the folder's `rows.jsonl` already holds it finished,
   with the same key (same code, settings and data);
2. from the cache: another sweep (or an earlier one) finished the same key;
3. run: as a Ray task (or in this process), its row appended to
   `rows.jsonl` and put in the cache as it lands.

Only the runs of 3 go through the engine, at most `in_flight` at a time, the
jobs made as they are submitted; the driver holds one key per run and never
the rows. The leaderboard reads `rows.jsonl` back (the last row of each index
whose key matches), in index order, so a killed and resumed sweep ranks
exactly the rows an uninterrupted one does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actors.research import engine, objective, progress, rowlog
from actors.research.cache import Cache
from actors.research.paths import ResearchError, RunSpec

MANIFEST_FILE = "sweep.json"
IDENT = ("index", "key", "label", "period", "set_id", "params", "error", "source", "node")


@dataclass(frozen=True, slots=True)
class Sweep:
    sets: tuple[dict[str, Any], ...]
    specs: tuple[RunSpec, ...]
    base: dict[str, Any]
    out: Path
    keep_journals: bool = False

    @property
    def total(self) -> int:
        return len(self.sets) * len(self.specs)

    def job(self, index: int, key: str = "") -> engine.Job:
        k, spec = divmod(index, len(self.specs))
        set_id = objective.set_name(k)
        return engine.make_job(index, self.specs[spec], self.base, self.out / "runs" / set_id / self.specs[spec].label,
                               set_id=set_id, params=self.sets[k], keep_journal=self.keep_journals, key=key)

    def manifest(self) -> dict[str, Any]:
        """What a resumed sweep must share with the killed one (the grid's sets, the data, the base settings)."""
        return {"sets": [dict(s) for s in self.sets], "files": [[s.label, s.path] for s in self.specs],
                "base": self.base}


@dataclass(slots=True)
class Outcome:
    rows: list[dict[str, Any]]  # one per index that has a row, in index order
    total: int
    kept: int = 0  # from the killed sweep (--resume)
    cached: int = 0
    ran: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.rows) == self.total


def figures(row: Mapping[str, Any]) -> dict[str, Any]:
    """What the cache keeps of a finished row: its measures and the folder of its summary, not who asked."""
    return {k: v for k, v in row.items() if k not in IDENT}


def _check_manifest(sw: Sweep, path: Path) -> None:
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    new = json.loads(json.dumps(sw.manifest(), default=str))
    for part, what in (("sets", "grid's parameter sets"), ("files", "data files"), ("base", "base settings")):
        if old.get(part) != new[part]:
            raise ResearchError(f"--resume: the {what} differ from those of the sweep in {sw.out}; resume with the "
                                "same grid, paths and --config, or drop --resume to start afresh (the cache keeps "
                                "every finished run)")


def _plan(sw: Sweep, cache: Cache, resume: bool, out: Outcome) -> tuple[list[str], set[int]]:
    data = [cache.file_hash(s.path) for s in sw.specs]
    keys = []
    for i in range(sw.total):
        job = sw.job(i)
        keys.append(cache.run_key(dict(job.keys), data[i % len(sw.specs)]))
    kept: set[int] = set()
    rows_path = sw.out / rowlog.ROWS_FILE
    if resume:
        for row in rowlog.read(rows_path):
            n = row.get("index")
            if isinstance(n, int) and 0 <= n < sw.total and row.get("key") == keys[n] and not row.get("error"):
                kept.add(n)
        if not rows_path.is_file():
            out.notes.append(f"--resume: no {rowlog.ROWS_FILE} in {sw.out}: nothing to keep, every run starts now")
    elif rows_path.is_file() and rows_path.stat().st_size:
        out.notes.append(f"{rows_path} held an earlier sweep's rows: starting afresh (--resume would keep them)")
    return keys, kept


def run(sw: Sweep, cache: Cache, *, workers: int, address: str | None, resume: bool,
        in_flight: int | None = None, where: str = "this process") -> Outcome:
    """Run what is missing (see the module's docstring); the rows of `rows.jsonl` in index order."""
    sw.out.mkdir(parents=True, exist_ok=True)
    manifest_path = sw.out / MANIFEST_FILE
    if resume:
        _check_manifest(sw, manifest_path)
    tmp = manifest_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(sw.manifest(), indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
    tmp.replace(manifest_path)
    out = Outcome(rows=[], total=sw.total)
    keys, kept = _plan(sw, cache, resume, out)
    out.kept = len(kept)
    rows_path = sw.out / rowlog.ROWS_FILE
    with rowlog.RowLog(rows_path, resume=resume) as log:
        todo: list[int] = []
        for i in range(sw.total):
            if i in kept:
                continue
            hit = cache.get(keys[i])
            if hit is None:
                todo.append(i)
                continue
            log.append({**engine.ident(sw.job(i, keys[i])), **hit, "error": "", "source": "cache"})
            out.cached += 1
        sizes = [_size(s.path) for s in sw.specs]
        todo.sort(key=lambda i: -sizes[i % len(sw.specs)])  # largest files first: no big month starts last
        out.ran = len(todo)
        for note in out.notes:
            progress.console(stderr=True).print(note, highlight=False)
        progress.console(stderr=True).print(
            f"sweep: {len(sw.sets)} parameter sets × {len(sw.specs)} files = {sw.total} runs: {out.kept} kept "
            f"(--resume), {out.cached} from the cache, {out.ran} to run on {where}", highlight=False)

        def jobs() -> Iterator[engine.Job]:
            for i in todo:
                yield sw.job(i, keys[i])

        with progress.track(f"sweep {len(todo)} runs", len(todo)) as step:
            def land(row: dict[str, Any]) -> None:
                log.append(row)
                if not row.get("error"):
                    cache.put(str(row["key"]), figures(row))
                step(row)

            if todo:
                engine.stream(jobs(), land, workers=workers, address=address, in_flight=in_flight)
    out.rows = final_rows(rows_path, keys)
    out.failed = sum(1 for r in out.rows if r.get("error"))
    return out


def final_rows(path: Path, keys: Sequence[str]) -> list[dict[str, Any]]:
    """The last row of each index whose key matches this sweep's, a finished row winning over a failed one."""
    best: dict[int, dict[str, Any]] = {}
    for row in rowlog.read(path):
        i = row.get("index")
        if not isinstance(i, int) or not 0 <= i < len(keys) or row.get("key") != keys[i]:
            continue
        if i in best and not best[i].get("error") and row.get("error"):
            continue
        best[i] = row
    return [best[i] for i in sorted(best)]


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


__all__ = ["MANIFEST_FILE", "Outcome", "Sweep", "figures", "final_rows", "run"]
