"""The download itself: every planned file settled (there already, fetched and verified, missing, or refused),
a few at a time; then the months not published yet as days, the symbols with nothing at all, and `--recent`.

A zip takes its final name only once its checksum and its CSV layout are
right; until then it is `NAME.zip.part`, which the replay and the research
commands do not read. Beside each kept zip goes its `.CHECKSUM`, so a later
run verifies what is on disk without asking the server again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from actors.download import checksum, layout, plan, recent
from actors.download.fetch import Http, HttpError, session
from actors.download.plan import FileJob
from actors.download.progress import Reporter

FETCHED, PRESENT, MISSING, BAD, FAILED, LAGGING = "fetched", "present", "missing", "bad", "failed", "recent"
GOOD = (FETCHED, PRESENT, LAGGING)
LATE_MONTH_DAYS = 31  # a monthly file missing this soon after its month ended may just not be out yet: try its days


ReporterFactory = Callable[[int], Reporter]  # files in the pass -> its progress display


@dataclass(frozen=True, slots=True)
class Outcome:
    job: FileJob
    status: str
    detail: str = ""
    size: int = 0


@dataclass(frozen=True, slots=True)
class Request:
    symbols: tuple[str, ...]
    kind: str
    interval: str
    start: date
    end: date
    today: date
    now_ms: int
    base_url: str
    out: Path
    parallel: int
    recent: bool = False
    rest_url: str = ""


@dataclass(slots=True)
class SymbolResult:
    symbol: str
    folder: Path
    outcomes: list[Outcome]
    note: str = ""  # nothing at all exists: misspelt, or not listed in the range
    recent_file: Path | None = None
    recent_rows: int = 0
    recent_error: str = ""
    recent_note: str = ""
    tidied: list[str] = field(default_factory=list)  # older --recent files the archive caught up with

    @property
    def complete(self) -> bool:
        return all(o.status in GOOD for o in self.outcomes) and not self.recent_error and not self.note


def checksum_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".CHECKSUM")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def verify_file(path: Path, text: str, kind: str) -> str | None:
    """None when `path` matches the checksum `text` and is a readable `kind` zip; else what is wrong."""
    try:
        want = checksum.parse(text, path.name)
    except checksum.ChecksumError as exc:
        return str(exc)
    if checksum.sha256_file(path) != want:
        return "checksum mismatch"
    return layout.check_zip(path, kind)


async def settle(j: FileJob, http: Http, rep: Reporter) -> Outcome:
    """One file, from whatever state an earlier run left it in, to kept or reported."""
    sums = checksum_path(j.dest)
    replaced = ""
    if j.dest.exists():
        text = sums.read_text(encoding="utf-8") if sums.exists() else await http.text(j.url + ".CHECKSUM")
        if text is None:
            return Outcome(j, MISSING, "not published; the copy on disk cannot be verified and was left alone")
        problem = await asyncio.to_thread(verify_file, j.dest, text, j.kind)
        if problem is None:
            if not sums.exists():
                _write_atomic(sums, text)
            return Outcome(j, PRESENT, "already there", j.dest.stat().st_size)
        j.dest.unlink()
        sums.unlink(missing_ok=True)
        replaced = f"the copy on disk was bad ({problem}): fetched again"
    sums.unlink(missing_ok=True)  # no checksum stays behind without its zip
    text = await http.text(j.url + ".CHECKSUM")
    if text is None:
        return Outcome(j, MISSING)
    try:
        want = checksum.parse(text, j.name)
    except checksum.ChecksumError as exc:
        return Outcome(j, BAD, str(exc))
    j.dest.parent.mkdir(parents=True, exist_ok=True)
    part = j.dest.with_name(j.name + ".part")
    # a part already whole (a run stopped between its last byte and the rename) needs no request at all
    whole = part.exists() and await asyncio.to_thread(checksum.sha256_file, part) == want
    for attempt in () if whole else (1, 2):
        found = await http.download(j.url, part, lambda have, total: rep.begin(j.name, have, total),
                                    lambda n: rep.advance(j.name, n))
        if not found:
            part.unlink(missing_ok=True)
            return Outcome(j, MISSING, "the checksum is published but the zip is not")
        if await asyncio.to_thread(checksum.sha256_file, part) == want:
            break
        part.unlink()
        if attempt == 2:
            return Outcome(j, BAD, "checksum mismatch twice: not kept")
        replaced = "checksum mismatch: fetched again"
    problem = await asyncio.to_thread(layout.check_zip, part, j.kind)
    if problem is not None:
        part.unlink()
        return Outcome(j, BAD, f"{problem}: not kept")
    _write_atomic(sums, text)
    size = part.stat().st_size
    part.replace(j.dest)
    return Outcome(j, FETCHED, replaced, size)


async def settle_all(jobs: list[FileJob], http: Http, parallel: int, rep: Reporter) -> list[Outcome]:
    gate = asyncio.Semaphore(parallel)

    async def one(j: FileJob) -> Outcome:
        async with gate:
            try:
                o = await settle(j, http, rep)
            except HttpError as exc:  # what is on disk stays: a rerun resumes it
                o = Outcome(j, FAILED, str(exc))
            except OSError as exc:
                o = Outcome(j, FAILED, f"{type(exc).__name__}: {exc}")
        rep.finish(j.name, o.status, o.detail)
        return o

    return list(await asyncio.gather(*(one(j) for j in jobs)))


async def _listed(req: Request, symbol: str, http: Http) -> bool:
    """Does the archive know the symbol at all? Its file of two days ago says (yesterday's may not be out yet)."""
    probe = plan.job(req.base_url, req.out, symbol, req.kind, req.interval, (req.today - timedelta(days=2)).isoformat())
    try:
        return await http.text(probe.url + ".CHECKSUM") is not None
    except HttpError:
        return False


def _nothing_note(req: Request, symbol: str, listed: bool) -> str:
    what = f"{req.kind} {req.interval}".strip()
    if listed:
        return (f"{symbol}: no {what} file exists from {req.start} to {req.end} (it is published for recent days: "
                "listed later, or a gap?)")
    return (f"{symbol}: nothing exists for this symbol on {req.base_url} ({what}, {req.start} to {req.end}, nor "
            "two days ago): is it spelt right? Spot symbols are the pair without a separator, such as TRUMPUSDC")


async def _late_months_as_days(req: Request, outcomes: list[Outcome], http: Http, new_reporter: ReporterFactory,
                               skip: set[str]) -> list[Outcome]:
    """A monthly file missing soon after its month ended may not be out yet: its days instead, where they exist
    (a month none of whose days exist either stays one missing URL)."""
    late = {o.job: plan.as_days(o.job, base_url=req.base_url, out=req.out) for o in outcomes
            if o.status == MISSING and o.job.monthly and o.job.symbol not in skip
            and (req.today - o.job.last_day).days <= LATE_MONTH_DAYS}
    if not late:
        return outcomes
    day_jobs = [d for days in late.values() for d in days]
    rep = new_reporter(len(day_jobs))
    try:
        settled = dict(zip(day_jobs, await settle_all(day_jobs, http, req.parallel, rep), strict=True))
    finally:
        rep.close()
    out: list[Outcome] = []
    for o in outcomes:
        days = [settled[d] for d in late.get(o.job, ())]
        out.extend(days if days and any(d.status != MISSING for d in days) else [o])
    return out


async def _top_up(req: Request, res: SymbolResult, http: Http) -> None:
    """REST klines from the first day the archive lacks (the trailing missing files, or the day after the range)."""
    lagging: list[int] = []
    for i in range(len(res.outcomes) - 1, -1, -1):
        if res.outcomes[i].status != MISSING:
            break
        lagging.append(i)
    first = res.outcomes[lagging[-1]].job.first_day if lagging else req.end + timedelta(days=1)
    try:
        rows = await recent.fetch(http, req.rest_url, res.symbol, req.interval, recent.day_ms(first), req.now_ms)
    except recent.RecentError as exc:
        res.recent_error = str(exc)
        return
    if not rows:  # no file: an empty CSV would be a backtest run that fails
        res.recent_note = f"nothing to add: no closed {req.interval} bar since {first} 00:00 UTC yet"
        return
    res.recent_file = recent.write(res.folder, res.symbol, req.interval, first, rows)
    res.recent_rows = len(rows)
    for i in lagging:
        o = res.outcomes[i]
        res.outcomes[i] = Outcome(o.job, LAGGING, f"not in the archive yet: in {res.recent_file.name}")


async def download(req: Request, new_reporter: ReporterFactory) -> list[SymbolResult]:
    """Every symbol's files, then the late months as days, then the verdicts and `--recent` (klines only)."""
    jobs = [j for s in req.symbols for j in plan.plan(s, req.kind, req.interval, req.start, req.end, req.today,
                                                       base_url=req.base_url, out=req.out)]
    async with session() as sess:
        http = Http(sess)
        rep = new_reporter(len(jobs))
        try:
            outcomes = await settle_all(jobs, http, req.parallel, rep)
        finally:
            rep.close()
        listed = {s: await _listed(req, s, http) for s in req.symbols
                  if all(o.status == MISSING for o in outcomes if o.job.symbol == s)}
        outcomes = await _late_months_as_days(req, outcomes, http, new_reporter,
                                              skip={s for s, known in listed.items() if not known})
        results = []
        for s in req.symbols:
            res = SymbolResult(s, plan.folder(req.out, req.kind, s, req.interval),
                               [o for o in outcomes if o.job.symbol == s])
            topping = req.recent and req.kind == plan.KLINES
            if topping:
                await _top_up(req, res, http)
            if all(o.status == MISSING for o in res.outcomes) and (not topping or res.recent_error):
                res.note = _nothing_note(req, s, listed.get(s, True))
            if req.kind == plan.KLINES:
                res.tidied = recent.trim(res.folder, s, req.interval)
            results.append(res)
    return results
