"""`bootstrap.py compare` without running it: each arm's settings, the table, the refusals."""

from __future__ import annotations

import tomllib
from pathlib import Path

from actors.ai_consultant.store import AdviceStore, Exchange
from actors.ai_eval import compare
from actors.settings import from_dict


def test_each_arm_gets_its_advisor_and_the_files_symbol(tmp_path: Path) -> None:
    base = {"ai": {"model": "x/y", "timeout_s": 5}, "market": {"seed": 3}}
    path = str(tmp_path / "PEPEUSDT-5m-2025-01.csv")
    rules = compare.arm_config(base, path, compare.RULE_BASED, "/s.sqlite3")
    model = compare.arm_config(base, path, "m/one advisor", "/s.sqlite3", "nearest")
    confirming = compare.arm_config(base, path, "m/one confirm", "/s.sqlite3")
    assert rules["ai"]["mode"] == "live" and rules["ai"]["model"] == "x/y" and rules["ai"]["role"] == "off"
    assert model["ai"] == {"model": "m/one", "timeout_s": 5, "mode": "replay", "store_path": "/s.sqlite3",
                           "role": "advisor", "replay_match": "nearest"}
    assert confirming["ai"]["role"] == "confirm" and confirming["ai"]["model"] == "m/one"
    for cfg in (rules, model, confirming):
        assert cfg["symbol"] == "PEPEUSDT" and cfg["exchange"] == {"base_asset": "PEPE", "quote_asset": "USDT"}
        assert cfg["market"]["source"] == "replay" and cfg["market"]["seed"] == 3
        settings = from_dict(tomllib.loads(compare.to_toml(cfg)))  # what the subprocess will read
        assert settings.symbol == "PEPEUSDT" and settings.ai.mode == cfg["ai"]["mode"]
    assert base == {"ai": {"model": "x/y", "timeout_s": 5}, "market": {"seed": 3}}  # untouched
    assert "symbol" not in compare.arm_config(base, "synthetic", compare.RULE_BASED, "/s")


def test_a_strategy_file_travels_with_its_full_path_and_params(tmp_path: Path) -> None:
    base = {"strategy": {"name": "strategies/x.py:X", "params": {"period": 14, "levels": [1, 2]}}}
    cfg = compare.arm_config(base, "synthetic", compare.RULE_BASED, "/s")
    assert cfg["strategy"]["name"] == f"{Path('strategies/x.py').resolve()}:X"
    back = tomllib.loads(compare.to_toml(cfg))
    assert back["strategy"]["params"] == {"period": 14, "levels": [1, 2]}


def test_compare_refuses_an_empty_store_and_missing_data(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    assert compare.main(["synthetic", "--store", str(store)]) == 2
    db = AdviceStore(store)
    db.add(Exchange(model="m/one", prompt_hash="h", prompt="p", outcome="advice", reply="{}"))
    db.close()
    assert compare.main([str(tmp_path / "nothing-here"), "--store", str(store)]) == 2


def test_the_table_has_a_row_per_run_and_arm() -> None:
    rows = [{"path": "/d/A.csv", "arm": "strategy", "closed": 3, "realized_pnl": "0.1", "total_pnl": "0.2",
             "win_rate": "0.5", "max_drawdown": "0.3", "ai_cost": "0", "net_after_ai_cost": "0.1",
             "replay_misses": 0, "replay_nearest": 0, "brier": None, "model_calls": 0, "vetoed": 0},
            {"path": "/d/A.csv", "arm": "m/one", "error": "exit 2: refused"}]
    text = compare.table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["path", "arm", "closed", "realized"]
    assert lines[2].split()[:5] == ["A.csv", "strategy", "3", "0.1", "0.2"] and "50.0%" in lines[2]
    assert lines[3].endswith("exit 2: refused")
