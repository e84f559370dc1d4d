"""Research at scale: many backtests (files × symbols × parameter sets) through the live bot's own actors.

- `paths`: PATH arguments → one `RunSpec` per data file (Binance kline csv/zip, folders of them).
- `runs`: each run's settings: the base settings + the file's symbol and grid + a parameter set.
- `runner`: one run IN PROCESS (`actors.app.start`), ended by listening for the keeper's `TradingStopped`.
- `engine`: many runs, in process or as Ray tasks (local cores or a cluster), at most a few in flight.
- `sweep`: a sweep's runs, each row kept as it lands (`rowlog`), resumed after a kill, cached (`cache`).
- `progress`: a rich bar on a terminal, plain lines in a log.
- `measures`: a run's summary → one row; `objective` scores and ranks sets, walk-forward included.
- `report`: the combined backtest report and the sweep leaderboard (table, CSV, JSON, chart).
- `cli`: `bootstrap.py backtest ...` and `bootstrap.py sweep ...`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["expand", "run_backtest"]


def __getattr__(name: str) -> Any:
    if name == "run_backtest":
        from actors.research.runner import run_backtest

        return run_backtest
    if name == "expand":
        from actors.research.paths import expand

        return expand
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
