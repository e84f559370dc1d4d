"""scripts/research/leaderboard.py: the walk-forward choice that set the default (issue 25), on rows made up here."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from tests._support.paths import ROOT

IS, OOS = ["2025-01", "2025-02", "2025-03"], ["2025-04", "2025-05"]
COINS = ["AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT"]


def leaderboard() -> ModuleType:
    spec = importlib.util.spec_from_file_location("leaderboard", ROOT / "scripts" / "research" / "leaderboard.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rows(set_id: str, name: str, is_ret: float, oos_ret: float, *, dd: float = 0.05, trades: int = 3) -> list[dict[str, Any]]:
    out = []
    for month in IS + OOS:
        for k, coin in enumerate(COINS):
            ret = (is_ret if month in IS else oos_ret) + 0.001 * k  # a little spread between coins
            out.append({"set_id": set_id, "params": {"strategy.name": name}, "symbol": coin, "period": month,
                        "return": ret, "hold": -0.05, "excess": ret + 0.05, "max_dd": dd, "trades": trades,
                        "fees": 0.01, "pnl": ret * 10, "error": ""})
    return out


def write(tmp_path: Path, *sets: list[dict[str, Any]]) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for s in sets for r in s) + '{"torn')  # a killed sweep's last line
    return path


def test_each_family_is_chosen_in_sample_and_the_default_is_the_winner_best_out_of_sample(tmp_path: Path) -> None:
    lb = leaderboard()
    path = write(tmp_path,
                 rows("set000", "a.py:A", is_ret=0.03, oos_ret=-0.02),  # best in sample, loses after
                 rows("set001", "a.py:A", is_ret=0.01, oos_ret=0.04),  # the best out of sample: never chosen
                 rows("set002", "b.py:B", is_ret=0.02, oos_ret=0.01),
                 rows("set003", "b.py:B", is_ret=0.05, oos_ret=0.02, dd=0.30),  # fell too far in sample
                 rows("set004", "c.py:C", is_ret=0.09, oos_ret=0.09, trades=0))  # never traded
    b = lb.board(lb.read(path), IS, OOS, tried=40)
    assert b["family_winners"] == {"a": "set000", "b": "set002"}  # c never traded: not eligible
    assert b["default"] == "set002"  # of the winners, the better out of sample; set001 was not a winner
    assert b["tried"] == 40 and b["symbol_months_oos"] == len(COINS) * len(OOS)
    label = {e["set_id"]: e["label"] for e in b["entries"]}
    assert label["set000"] == "loses" and label["set002"] == "an edge"
    assert b["reality_check"]["best"] == "set004"


def test_the_targets_table_reads_the_issues_thresholds(tmp_path: Path) -> None:
    lb = leaderboard()
    data = lb.read(write(tmp_path, rows("set000", "a.py:A", is_ret=-0.01, oos_ret=0.02, dd=0.16)))
    table = lb.targets(data, "set000", IS, OOS)
    oos = next(line for line in table.splitlines() if line.startswith("| out of sample"))
    cells = [c.strip() for c in oos.strip("|").split("|")]
    # symbol-months, sum of returns, median, worst DD, beat hold, traded, fees / gross
    assert cells[1:] == ["8", "+17.20%", "+2.15%", "16.00%", "100%", "100%", "0.04"]  # fees 0.08 of gross 1.80
    assert "gross" in next(line for line in table.splitlines() if line.startswith("| in sample"))  # gross <= 0
