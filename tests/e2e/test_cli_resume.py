"""`bootstrap.py resume`: a halt a run journaled stays until the operator lifts it, from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from tests._support.run import run_bot


def test_a_backtest_halted_by_its_drawdown_limit_is_resumed_by_the_operator(tmp_path: Path) -> None:
    cfg = tmp_path / "tight.toml"
    cfg.write_text('[strategy]\nname = "trend"\n[market]\nduration_s = 21600\nseed = 1\n[risk]\nmax_drawdown = "0.001"\n')
    proc = run_bot(tmp_path, "--config", str(cfg), "--report-dir", "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["risk"]["state"] == "halted" and "max_drawdown" in summary["halted_reason"]
    journal = str(tmp_path / "out" / "journal.sqlite3")
    resumed = run_bot(tmp_path, "resume", "--config", str(cfg), "--journal", journal, "--by", "ops", "--reason", "ok")
    assert resumed.returncode == 0, resumed.stderr
    assert "was halted" in resumed.stdout and "resumed by ops: ok" in resumed.stdout
    status = run_bot(tmp_path, "status", "--config", str(cfg), "--journal", journal)
    assert status.returncode == 0 and "HALTED" not in status.stdout
    again = run_bot(tmp_path, "resume", "--config", str(cfg), "--journal", journal)
    assert "nothing to resume" in again.stdout
