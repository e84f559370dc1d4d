"""A real local Ray instance (2 CPUs) runs a small sweep end to end on dev data; the same sweep, the same leaderboard."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

import bootstrap  # noqa: E402
from actors.research import engine  # noqa: E402
from actors.research.paths import expand  # noqa: E402
from tests._support.paths import DATA  # noqa: E402

DAY_DIR = DATA / "klines" / "TRUMPUSDC-1m"
DAYS = [DAY_DIR / f"TRUMPUSDC-1m-2025-01-{d}.csv" for d in (28, 29, 30)]
pytestmark = pytest.mark.skipif(not all(d.exists() for d in DAYS), reason="../shared/data is not beside the checkout")
GRID = """
[grid]
"trading.min_profit" = ["0.002", "0.006"]
[objective]
name = "excess"
max_drawdown = 0.5
"""
STABLE = ("label", "period", "set_id", "return", "hold", "excess", "max_dd", "trades", "fees", "pnl", "error")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    started = engine.ray_init(2, None)
    yield
    if started:
        ray.shutdown()


def _sweep(tmp_path: Path, name: str) -> Path:
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    out = tmp_path / name
    rc = bootstrap.main(["sweep", "--grid", str(grid), *map(str, DAYS), "--out", str(out), "--workers", "2"])
    assert rc == 0
    return out


def test_a_sweep_on_ray_ranks_sets_with_walk_forward_and_repeats_exactly(tmp_path: Path, local_ray: None) -> None:
    a, b = _sweep(tmp_path, "a"), _sweep(tmp_path, "b")
    board = json.loads((a / "leaderboard.json").read_text())
    assert [e["rank"] for e in board["leaderboard"]] == [1, 2]
    assert {e["set_id"] for e in board["leaderboard"]} == {"set000", "set001"}
    folds = board["walk_forward"]
    assert [f["period"] for f in folds] == ["2025-01-29", "2025-01-30"]  # each day judged by the days before it
    assert all(f["sample"] == "out-of-sample" for f in folds)
    with (a / "leaderboard.csv").open() as fh:
        samples = [r["sample"] for r in csv.DictReader(fh)]
    assert samples == ["in-sample", "in-sample", "out-of-sample", "out-of-sample"]
    assert (a / "leaderboard.png").is_file() and (a / "runs" / "set001" / "TRUMPUSDC-1m" / "TRUMPUSDC-1m-2025-01-30"
                                                  / "summary.json").is_file()
    assert not list(a.glob("runs/**/journal.sqlite3"))  # a sweep keeps summaries, not journals
    # the same sweep gives the same leaderboard, byte for byte
    assert (a / "leaderboard.json").read_text() == (b / "leaderboard.json").read_text()
    assert (a / "leaderboard.csv").read_text() == (b / "leaderboard.csv").read_text()


def test_ray_tasks_give_the_rows_an_in_process_run_gives(tmp_path: Path, local_ray: None) -> None:
    specs = expand(DAYS[:2])
    params = {"trading.min_profit": "0.004", "strategy.name": "trend", "market.trend_fast_s": 600, "market.trend_slow_s": 2400,
              "market.regime_band": "1"}  # trend windows short enough to trade within a day
    jobs = [engine.make_job(i, s, {}, tmp_path / "ray" / str(i), params=params) for i, s in enumerate(specs)]
    local = [engine.make_job(i, s, {}, tmp_path / "here" / str(i), params=params) for i, s in enumerate(specs)]
    seen: list[str] = []
    on_ray = engine.execute(jobs, workers=2, progress=lambda r: seen.append(r["label"]))
    here = engine.execute(local)
    assert [{k: r[k] for k in STABLE} for r in on_ray] == [{k: r[k] for k in STABLE} for r in here]
    assert sorted(seen) == sorted(s.label for s in specs)  # the progress callback saw every run
    assert any(r["trades"] for r in on_ray)


def test_ray_tasks_are_drawn_as_room_frees_never_all_at_once(tmp_path: Path, local_ray: None) -> None:
    """A 10,000-run sweep must not hold 10,000 task refs: jobs are drawn from the iterator as rows land."""
    tiny = tmp_path / "d" / DAYS[0].name
    tiny.parent.mkdir()
    tiny.write_text("".join(DAYS[0].read_text().splitlines(keepends=True)[:5]))
    spec = expand([tiny])[0]
    drawn, landed, most = [0], [0], [0]

    def jobs() -> Iterator[engine.Job]:
        for i in range(12):
            drawn[0] += 1
            most[0] = max(most[0], drawn[0] - landed[0])
            yield engine.make_job(i, spec, {}, tmp_path / "o" / str(i))

    def land(row: dict[str, object]) -> None:
        assert not row["error"], row["error"]
        landed[0] += 1

    engine.stream(jobs(), land, workers=2, in_flight=3)
    assert landed[0] == 12 and most[0] <= 3  # never more than 3 drawn and not landed
