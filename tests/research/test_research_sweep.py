"""Sweeps that finish and survive: rows kept as they land, a killed sweep resumed, results cached by (code, settings, data)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import bootstrap
from actors.research import cache, cli, progress, rowlog, runs, sweep
from actors.research.paths import ResearchError, expand
from actors.settings import SettingsError
from tests._support.paths import DATA, ROOT

DAYS = [DATA / "klines" / "TRUMPUSDC-1m" / f"TRUMPUSDC-1m-2025-01-{d}.csv" for d in (28, 29, 30)]
needs_data = pytest.mark.skipif(not all(d.exists() for d in DAYS), reason="../shared/data is not beside the checkout")
TREND = '"strategy.name" = ["trend"]\n"market.trend_fast_s" = [600]\n"market.trend_slow_s" = [2400]\n"market.regime_band" = ["1"]\n'  # trades in a day


def _grid(tmp_path: Path, name: str, min_profits: list[str]) -> Path:
    p = tmp_path / name
    p.write_text(f'[grid]\n"trading.min_profit" = {json.dumps(min_profits)}\n{TREND}')
    return p


def _head(src: Path, rows: int, into: Path) -> Path:
    into.parent.mkdir(parents=True, exist_ok=True)
    into.write_text("".join(src.read_text().splitlines(keepends=True)[:rows]))
    return into


def _rows(folder: Path) -> list[dict[str, object]]:
    return list(rowlog.read(folder / rowlog.ROWS_FILE))


# -- the row log --------------------------------------------------------------------------


def test_a_torn_last_line_is_ignored_and_cut_off_before_appending(tmp_path: Path) -> None:
    path = tmp_path / rowlog.ROWS_FILE
    with rowlog.RowLog(path, resume=False) as log:
        log.append({"index": 0})
        log.append({"index": 1})
    with path.open("a") as fh:
        fh.write('{"index": 2, "lab')  # the process was killed while writing this row
    assert [r["index"] for r in rowlog.read(path)] == [0, 1]
    with rowlog.RowLog(path, resume=True) as log:
        log.append({"index": 3})
    assert [r["index"] for r in rowlog.read(path)] == [0, 1, 3]  # not glued onto the torn line
    assert path.read_text().count("\n") == 3
    with rowlog.RowLog(path, resume=False):
        pass
    assert list(rowlog.read(path)) == []  # without --resume a sweep starts afresh


# -- the cache key --------------------------------------------------------------------------


def test_a_run_key_changes_with_the_code_the_settings_a_named_file_and_the_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "TRUMPUSDC-1m-2025-01-28.csv"
    data.write_text("1737331200000,45.1,45.9,44.8,45.5,1200.5,1737331259999,0,0,0,0,0\n")
    spec = expand([data])[0]
    store = cache.Cache(tmp_path / "c")
    keys = runs.run_keys({}, spec, {"trading.min_profit": "0.004"}, tmp_path / "a")
    key = store.run_key(keys, store.file_hash(data))
    elsewhere = runs.run_keys({}, spec, {"trading.min_profit": "0.004"}, tmp_path / "b")
    assert store.run_key(elsewhere, store.file_hash(data)) == key  # the run's folder is not what it is
    other = runs.run_keys({}, spec, {"trading.min_profit": "0.005"}, tmp_path / "a")
    assert store.run_key(other, store.file_hash(data)) != key
    shuffled = dict(reversed(list(keys.items())))
    assert store.run_key(shuffled, store.file_hash(data)) == key  # the same settings in another order

    named = tmp_path / "advice.sqlite3"  # a file a setting names (an advice store, a strategy file) is an input
    named.write_text("one")
    with_file = {**keys, "ai.store_path": str(named)}
    k1 = store.run_key(with_file, "x")
    named.write_text("two, longer")
    assert cache.Cache(None).run_key(with_file, "x") != k1

    data.write_text(data.read_text() + "1737331260000,45.5,45.9,44.8,45.6,10,1737331319999,0,0,0,0,0\n")
    assert store.run_key(keys, store.file_hash(data)) != key

    src = tmp_path / "actors"
    (src / "research").mkdir(parents=True)
    (src / "research" / "x.py").write_text("A = 1\n")
    examples = tmp_path / "strategies"
    examples.mkdir()
    (examples / "breakout.py").write_text("P = 48\n")
    monkeypatch.setattr(cache, "ACTORS", src)
    monkeypatch.setattr(cache, "STRATEGIES", examples)
    cache.code_version.cache_clear()
    try:
        v1 = cache.code_version()
        (src / "research" / "x.py").write_text("A = 2\n")  # an uncommitted edit is another code version
        cache.code_version.cache_clear()
        v2 = cache.code_version()
        assert v2 != v1
        (examples / "breakout.py").write_text("P = 24\n")  # so is an edit of an example a built-in name loads
        cache.code_version.cache_clear()
        assert cache.code_version() != v2
    finally:
        cache.code_version.cache_clear()
    store.close()


def test_a_files_hash_is_remembered_by_path_size_and_mtime(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("aaaa")
    st = f.stat()
    store = cache.Cache(tmp_path / "c")
    first = store.file_hash(f)
    f.write_text("bbbb")  # same size; the same mtime put back: taken as unchanged, not read again
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.Cache(tmp_path / "c").file_hash(f) == first
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert store.file_hash(f) != first
    store.close()


def test_deeper_keys_reach_the_settings_as_tables_and_an_unknown_one_is_named() -> None:
    assert runs.overrides({"risk.capital": "5", "strategy.params.fast": 5, "strategy.params.slow": 20,
                           "strategy.name": "ema"}) == {
        "risk.capital": "5", "strategy.params": {"fast": 5, "slow": 20}, "strategy.name": "ema"}
    with pytest.raises(SettingsError, match="risk.nope"):
        runs.resolve({"risk.nope.deep": 1})
    with pytest.raises(ResearchError, match="market.nope"):
        runs.check_params({}, {"market.nope": 1})


# -- sweeps ------------------------------------------------------------------------------------


def _sweep(grid: Path, data: list[Path] | Path, out: Path, *extra: str) -> int:
    paths = [str(p) for p in data] if isinstance(data, list) else [str(data)]
    return bootstrap.main(["sweep", "--grid", str(grid), *paths, "--report-dir", str(out), "--workers", "1", *extra])


@needs_data
def test_a_second_sweep_sharing_sets_takes_them_from_the_cache(tmp_path: Path) -> None:
    data = [_head(d, 240, tmp_path / "data" / d.name) for d in DAYS[:2]]
    assert _sweep(_grid(tmp_path, "a.toml", ["0.002", "0.004"]), data, tmp_path / "a") == 0
    assert _sweep(_grid(tmp_path, "b.toml", ["0.004", "0.006"]), data, tmp_path / "b") == 0
    a, b = _rows(tmp_path / "a"), _rows(tmp_path / "b")
    assert [r["source"] for r in a] == ["run"] * 4
    shared = {r["label"]: r for r in a if r["params"]["trading.min_profit"] == "0.004"}
    from_cache = [r for r in b if r["source"] == "cache"]
    assert sorted(r["params"]["trading.min_profit"] for r in b if r["source"] == "run") == ["0.006", "0.006"]
    assert len(from_cache) == 2 and all(r["set_id"] == "set000" for r in from_cache)  # set000 here, set001 there
    for r in from_cache:
        want = shared[r["label"]]
        assert {k: r[k] for k in ("return", "excess", "trades", "fees", "key", "out_dir")} == {
            k: want[k] for k in ("return", "excess", "trades", "fees", "key", "out_dir")}
    assert _sweep(_grid(tmp_path, "b.toml", ["0.004", "0.006"]), data, tmp_path / "c", "--no-cache") == 0
    assert {r["source"] for r in _rows(tmp_path / "c")} == {"run"}
    assert (tmp_path / "b" / "leaderboard.json").read_text() == (tmp_path / "c" / "leaderboard.json").read_text()


@needs_data
@pytest.mark.timeout(180)
def test_a_killed_sweep_resumes_running_only_what_is_missing_and_ranks_the_same(tmp_path: Path) -> None:
    grid = _grid(tmp_path, "g.toml", ["0.002", "0.004", "0.006"])
    days = [_head(d, 720, tmp_path / "data" / d.name) for d in DAYS]  # half days: 9 runs of a few tenths of a second
    killed = tmp_path / "killed"
    cmd = [sys.executable, str(ROOT / "bootstrap.py"), "sweep", "--grid", str(grid), *map(str, days),
           "--report-dir", str(killed), "--workers", "1", "--no-cache"]
    env = {**os.environ, "TRADER_NO_DOTENV": "1"}
    proc = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(_rows(killed)) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
    before = _rows(killed)
    assert 3 <= len(before) < 9 and not (killed / "leaderboard.json").exists()
    with (killed / rowlog.ROWS_FILE).open("a") as fh:
        fh.write('{"index": 8, "label": "torn')  # as if killed mid-write
    assert bootstrap.main(["sweep", "--grid", str(grid), *map(str, days), "--out", str(killed), "--workers", "1",
                           "--no-cache", "--resume"]) == 0
    after = _rows(killed)
    assert after[:len(before)] == before  # kept as they were
    done_before = {r["index"] for r in before}
    assert sorted(r["index"] for r in after[len(before):]) == sorted(set(range(9)) - done_before)  # only the rest
    assert _sweep(grid, days, tmp_path / "whole", "--no-cache") == 0
    for name in ("leaderboard.json", "leaderboard.csv"):
        assert (killed / name).read_text() == (tmp_path / "whole" / name).read_text(), name
    board = json.loads((killed / "leaderboard.json").read_text())
    assert board["runs"] == 9 and any(e["trades"] for e in board["leaderboard"])


@needs_data
def test_resume_refuses_another_grid_and_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = [_head(DAYS[0], 60, tmp_path / "data" / DAYS[0].name)]
    assert _sweep(_grid(tmp_path, "a.toml", ["0.002"]), data, tmp_path / "s") == 0
    capsys.readouterr()
    assert _sweep(_grid(tmp_path, "b.toml", ["0.003"]), data, tmp_path / "s", "--resume") == 2
    err = capsys.readouterr().err
    assert "parameter sets differ" in err and "drop --resume" in err


def test_backtest_and_sweep_take_report_dir_and_out_alike() -> None:
    p = cli._parser()
    for cmd in (["backtest", "x.csv"], ["sweep", "--grid", "g.toml"]):
        assert p.parse_args([*cmd, "--report-dir", "r1"]).report_dir == "r1"
        assert p.parse_args([*cmd, "--out", "r2"]).report_dir == "r2"
    assert sweep.figures({"index": 3, "key": "k", "label": "l", "return": 0.1, "out_dir": "/o", "source": "run"}) == {
        "return": 0.1, "out_dir": "/o"}  # the cache keeps measures and where the summary is, not who asked


def test_plain_progress_says_where_it_is_every_tenth_and_at_least_every_minute() -> None:
    from rich.console import Console

    out = Console(width=200, record=True, force_terminal=False)
    now = [0.0]
    step = progress._lines(out, "sweep 100 runs", 100, clock=lambda: now[0])
    for i in range(1, 101):
        now[0] = i * 1.0 if i <= 10 else 10 + (i - 10) * 7.0  # the later runs are slower
        step({"label": str(i), "error": "boom" if i == 3 else ""})
    lines = out.export_text().splitlines()
    assert lines[0] == "sweep 100 runs: 10/100, 1 failed, elapsed 10 s, ETA 90 s"
    assert lines[-1].startswith("sweep 100 runs: 100/100, 1 failed, elapsed 640 s, ETA 0 s")
    assert 10 < len(lines) < 20  # every tenth, and in between when a minute passed without a line
