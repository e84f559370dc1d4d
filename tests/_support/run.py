"""Running `bootstrap.py` as a user would: in a subprocess, without the developer's keys or .env."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

from tests._support.paths import ROOT

__all__ = ["ROOT", "png_size", "run_bot"]


def run_bot(tmp_path: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_KEY", "BINANCE_API_KEY", "BINANCE_API_SECRET")}
    env["TRADER_NO_DOTENV"] = "1"
    commands = ("trades", "status", "resume", "backtest", "sweep", "compare", "download", "check-strategy")
    port = [] if args and args[0] in commands else ["--status-port", "0"]  # a run-only flag
    return subprocess.run(
        [sys.executable, str(ROOT / "bootstrap.py"), *port, *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout,
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])
