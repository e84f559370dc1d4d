"""Does a strategy decide anything it could only know from later data? Replay it whole, and cut.

The strategy interface gives a strategy nothing that has not closed, so a
strategy that looks ahead does it outside the interface: it reads the data
file itself, keeps state across runs, or depends on chance. Each shows the same
way (Freqtrade's lookahead-analysis checks this): replay the data in full, then
copies of it cut after several points, and compare every decision made up to
each cut. A causal strategy decides the same on a bar whether or not later bars
exist; every bar where it does not is reported, with both decisions.

Each run is `bootstrap.py run --replay-path FILE` in a process of its own, as
a user starts a backtest: nothing a strategy keeps in memory carries from one
run to the next, and the decisions compared are the advice the keeper
received, after the same checks, read from each run's journal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from actors.market_data.replay_files import PlainFile, ZipMember
from actors.messages import Advice, utc_from_ms
from actors.research import runs
from actors.research.paths import RunSpec
from actors.state_keeper.journal import Journal

ROOT = Path(__file__).resolve().parents[2]
KEYS_OUT = ("OPENROUTER_API_KEY", "BINANCE_API_KEY", "BINANCE_API_SECRET")

Decision = tuple[str, Decimal | None]  # (action, price)


@dataclass(frozen=True, slots=True)
class Difference:
    cut_ms: int  # the cut copy's last row starts at this time
    ts_ms: int  # the bar where the decisions differ
    full: tuple[Decision, ...]
    cut: tuple[Decision, ...]

    def describe(self) -> str:
        def said(ds: tuple[Decision, ...]) -> str:
            return ", ".join(f"{a}" + (f" @ {p}" if p is not None else "") for a, p in ds) or "nothing"

        when = utc_from_ms(self.ts_ms).strftime("%Y-%m-%d %H:%M:%S")
        cut = utc_from_ms(self.cut_ms).strftime("%Y-%m-%d %H:%M:%S")
        return (f"{when} UTC: with all the data {said(self.full)}; with the data ending at the row of {cut} "
                f"{said(self.cut)}")


@dataclass(frozen=True, slots=True)
class Check:
    label: str
    decisions: int  # in the full run
    cuts: tuple[int, ...]  # the time of each cut copy's last row
    differences: tuple[Difference, ...]


def _lines(path: Path) -> list[str]:
    if path.suffix.lower() == ".zip":
        import zipfile

        with zipfile.ZipFile(path) as zf:
            member = next(n for n in zf.namelist() if n.lower().endswith(".csv"))
        with ZipMember(path, member).open() as fh:
            return fh.readlines()
    with PlainFile(path).open() as fh:
        return fh.readlines()


def _row_ms(line: str) -> int | None:
    head = line.split(",", 1)[0].strip()
    if not head.isdigit():
        return None
    ts = int(head)
    return ts // 1000 if ts > 10**14 else ts  # µs in the public data since 2025


def _decisions(out_dir: Path) -> dict[int, list[Decision]]:
    journal = Journal(out_dir / "journal.sqlite3")
    try:
        by_ts: dict[int, list[Decision]] = {}
        for _seq, kind, payload in journal.facts():
            if kind in ("advice", "AdviceReceived") and isinstance(payload, Advice):
                by_ts.setdefault(payload.ts_ms, []).append((payload.action.value, payload.base_price))
        return by_ts
    finally:
        journal.close()


def _nested(keys: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dotted, value in keys.items():
        *parents, key = dotted.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[key] = value
    return out


def _run(base: Mapping[str, Any], spec: RunSpec, out_dir: Path) -> dict[int, list[Decision]]:
    from actors.ai_eval.compare import to_toml

    out_dir.mkdir(parents=True, exist_ok=True)
    keys = {k: v for k, v in runs.run_keys(base, spec, {}, out_dir).items() if k != "market.replay_path"}
    cfg = out_dir / "settings.toml"
    cfg.write_text(to_toml(_nested(keys)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in KEYS_OUT}  # the strategy alone: no model, no venue
    env["TRADER_NO_DOTENV"] = "1"
    cmd = [sys.executable, str(ROOT / "bootstrap.py"), "run", "--config", str(cfg), "--replay-path", spec.path,
           "--report-dir", str(out_dir), "--status-port", "0"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - our bootstrap.py
    if proc.returncode != 0:
        raise ValueError(f"the run on {Path(spec.path).name} failed (exit {proc.returncode}): "
                         f"{(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return _decisions(out_dir)


def check(base: Mapping[str, Any], spec: RunSpec, cuts: int, work: Path | None = None) -> Check:
    """Replay `spec` whole and cut after `cuts` points spread over it; every differing decision."""
    path = Path(spec.path)
    lines = _lines(path)
    rows = [i for i, line in enumerate(lines) if _row_ms(line) is not None]
    if len(rows) < cuts + 2:
        raise ValueError(f"{path.name} has {len(rows)} rows: too few to cut {cuts} times")
    tmp = Path(tempfile.mkdtemp(prefix="check-strategy-", dir=work))
    try:
        full = _run(base, spec, tmp / "full")
        diffs: list[Difference] = []
        ends: list[int] = []
        for k in range(1, cuts + 1):
            last = rows[len(rows) * k // (cuts + 1)]
            end_ms = _row_ms(lines[last])
            assert end_ms is not None
            ends.append(end_ms)
            folder = tmp / f"cut{k}"
            folder.mkdir()
            name = path.name[:-4] + ".csv" if path.suffix.lower() == ".zip" else path.name
            (folder / name).write_text("".join(lines[:last + 1]), encoding="utf-8")
            cut = _run(base, RunSpec(spec.label, str(folder / name), spec.symbol, spec.period), folder / "run")
            horizon = max(cut, default=-1)  # the cut run's last decision: compare everything up to it
            for ts in sorted(set(full) | set(cut)):
                if ts > horizon:
                    break
                a, b = full.get(ts, []), cut.get(ts, [])
                if a != b:
                    diffs.append(Difference(end_ms, ts, tuple(a), tuple(b)))
        return Check(spec.label, sum(len(v) for v in full.values()), tuple(ends), tuple(diffs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(checks: Sequence[Check]) -> str:
    out = []
    for c in checks:
        if not c.differences:
            out.append(f"{c.label}: no look-ahead found: {c.decisions} decisions, the same with the data cut at "
                       f"{len(c.cuts)} points")
            continue
        bars = sorted({d.ts_ms for d in c.differences})
        out.append(f"{c.label}: LOOK-AHEAD: {len(bars)} bar(s) decided differently once later data was cut away")
        out += [f"  {d.describe()}" for d in c.differences[:50]]
        if len(c.differences) > 50:
            out.append(f"  ... and {len(c.differences) - 50} more")
    return "\n".join(out)


__all__ = ["Check", "Difference", "check", "report"]
