"""Record a backtest against the OpenRouter stand-in, replay it offline with no key, compare it with the rules.

Each run is `bootstrap.py` in a subprocess, as a user runs it; the stand-in
listens on 127.0.0.1 in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.ai_consultant.store import AdviceStore
from tests._support.fakes.openrouter import FakeOpenRouter
from tests._support.paths import ROOT

KEY = "sk-or-v1-" + "e2eRECOGNISABLEkey0123456789abcdef"
MODEL = "deepseek/deepseek-chat-v3.1"
MODEL_B = "qwen/qwen3-235b-a22b"


@pytest.fixture
def fake() -> Iterator[FakeOpenRouter]:
    server = FakeOpenRouter(api_key=KEY)
    server.start()
    yield server
    server.stop()


def config(tmp: Path, fake: FakeOpenRouter, mode: str, model: str = MODEL) -> Path:
    cfg = tmp / f"{mode}-{model.replace('/', '_')}.toml"
    cfg.write_text(f'[strategy]\nname = "trend"\n[market]\nduration_s = 14400\nseed = 7\n[ai]\nbase_url = "{fake.base_url}"\nmode = "{mode}"\n'
                   f'store_path = "{tmp / "advice.sqlite3"}"\ncheck_models_at_start = false\nmodel = "{model}"\n')
    return cfg


def bootstrap(tmp: Path, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_KEY", "BINANCE_API_KEY", "BINANCE_API_SECRET")}
    env.update(TRADER_NO_DOTENV="1", PYTHONPATH=str(ROOT))
    if key:
        env["OPENROUTER_API_KEY"] = key
    return subprocess.run([sys.executable, str(ROOT / "bootstrap.py"), *args], cwd=tmp, env=env,
                          capture_output=True, text=True, timeout=300)


def run(tmp: Path, cfg: Path, out: str, key: str | None = None) -> dict[str, Any]:
    proc = bootstrap(tmp, "run", "--config", str(cfg), "--report-dir", out, "--status-port", "0", key=key)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data: dict[str, Any] = json.loads((tmp / out / "summary.json").read_text())
    data["_stdout"] = proc.stdout
    return data


def digits(s: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every figure of every trade (the order ids carry a per-run prefix and are left out)."""
    return [(t["entry_price"], t["exit_price"], t["quantity"], t["fees"], t["pnl"], t["status"], t["opened_at_ms"],
             t["closed_at_ms"], t["entry_reason"], t["exit_reason"], t["entry_advice"], t["exit_advice"])
            for t in s["trades"]]


def test_record_replay_offline_same_trades_then_compare(fake: FakeOpenRouter, tmp_path: Path) -> None:
    recorded = run(tmp_path, config(tmp_path, fake, "record"), "rec", key=KEY)
    asked = len(fake.chat_requests())
    assert asked > 0 and recorded["ai"]["recorded"] == asked
    assert recorded["closed_trades"] > 0

    # the store holds every exchange, keyed by model and prompt, and no secret
    db = AdviceStore(tmp_path / "advice.sqlite3")
    try:
        rows = db.exchanges()
        assert len(rows) == asked and {r.model for r in rows} == {MODEL}
        assert all(r.outcome == "advice" and r.reply and r.prompt and r.cost > 0 for r in rows)
    finally:
        db.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("advice.sqlite3*"))
    assert KEY.encode() not in raw and b"RECOGNISABLE" not in raw

    # replay: no key, nothing asked, the same trades to the digit, twice
    fake.clear()
    replays = [run(tmp_path, config(tmp_path, fake, "replay"), name) for name in ("rep1", "rep2")]
    assert fake.chat_requests() == []
    for rep in replays:
        assert digits(rep) == digits(recorded)
        assert rep["realized_pnl"] == recorded["realized_pnl"] and rep["fees_paid"] == recorded["fees_paid"]
        assert rep["ai"]["replay_misses"] == 0 and rep["ai"]["cost"] == "0"
        assert rep["attribution"]["ai_cost"] == recorded["attribution"]["ai_cost"]  # what it would cost live
        assert "replayed from" in rep["_stdout"]

    # every closed round trip names the model advice that opened and closed it
    t = recorded["trades"][0]
    assert t["entry_advice"]["source"] == "model" and t["entry_advice"]["model"] == MODEL
    assert t["entry_advice"]["id"] == t["entry_reason"] and t["exit_advice"]["source"] == "model"

    # a second model recorded on the same data: the store and the comparison are per model
    second = run(tmp_path, config(tmp_path, fake, "record", MODEL_B), "rec_b", key=KEY)
    assert second["attribution"]["by_model"][MODEL_B]["calls"] > 0
    fake.clear()

    # side by side: the rule-based advisor and each recorded model on the same data
    proc = bootstrap(tmp_path, "compare", "synthetic", "--store", str(tmp_path / "advice.sqlite3"),
                     "--config", str(config(tmp_path, fake, "live")), "--report-dir", "cmp", "--role", "advisor")
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    rows_out = json.loads((tmp_path / "cmp" / "compare.json").read_text())["rows"]
    by_arm = {r["arm"]: r for r in rows_out}
    a, b = f"{MODEL} advisor", f"{MODEL_B} advisor"
    assert set(by_arm) == {"strategy", a, b}
    assert by_arm[b]["realized_pnl"] == second["realized_pnl"] and by_arm[b]["replay_misses"] == 0
    assert by_arm[a]["realized_pnl"] == recorded["realized_pnl"] and by_arm[a]["replay_misses"] == 0
    assert by_arm["strategy"]["model_answers"] == 0 and by_arm["strategy"]["ai_cost"] == "0"
    assert "strategy" in proc.stdout and MODEL in proc.stdout
    assert fake.chat_requests() == []


def test_a_replay_of_other_data_counts_its_misses(fake: FakeOpenRouter, tmp_path: Path) -> None:
    run(tmp_path, config(tmp_path, fake, "record"), "rec", key=KEY)
    other = config(tmp_path, fake, "replay")
    # other data, long enough for the rule-based advisor's trend to warm up and trade (so attribution shows)
    other.write_text(other.read_text().replace("seed = 7", "seed = 1").replace("duration_s = 14400", "duration_s = 21600"))
    rep = run(tmp_path, other, "other")
    assert rep["ai"]["replay_misses"] > 0 and rep["ai"]["fallbacks"] >= rep["ai"]["replay_misses"]
    assert rep["attribution"]["replay_misses"] == rep["ai"]["replay_misses"]
    assert "miss(es) answered by the strategy" in rep["_stdout"]
