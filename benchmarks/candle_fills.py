"""Candle fill models compared on the dev-set klines: return and trade counts, path vs next_bar.

    python benchmarks/candle_fills.py [--stop-loss 0 0.03] [--only TRUMPUSDT]

For each dev-set month (TRUMPUSDT-5m, PEPEUSDT-5m, WIFUSDT-5m) and day
(TRUMPUSDC-1m) in `../shared/data/klines/`, the bot runs as a user would
(`bootstrap.py` in a subprocess, no OpenRouter key: the fallback advisor
decides, grid inferred from the data) once with `[market] candle_fills =
"path"` (the old model: four trades per bar on a guessed path) and once with
`"next_bar"` (the default: fills only on later bars). It prints a Markdown
table: total return, realized P&L, closed round trips, wins, and how many
round trips opened and closed inside the same bar (possible only on the
guessed path). The last stdout line is a JSON object of the same numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "klines"
SETS = ("TRUMPUSDT-5m", "PEPEUSDT-5m", "WIFUSDT-5m", "TRUMPUSDC-1m")
MODELS = ("path", "next_bar")
BAR_MS = {"1m": 60_000, "5m": 300_000}

sys.path.insert(0, str(ROOT))
from actors.market_data.replay_check import split_symbol  # noqa: E402


def run(path: Path, model: str, stop_loss: str, work: Path) -> dict:
    symbol, interval = path.name.split("-")[:2]
    base, quote = split_symbol(symbol)
    cfg = work / f"{path.stem}-{model}-{stop_loss}.toml"
    cfg.write_text(f'symbol = "{symbol}"\n[exchange]\nbase_asset = "{base}"\nquote_asset = "{quote}"\n'
                   f'[market]\nsource = "replay"\ncandle_fills = "{model}"\n[trading]\nstop_loss = "{stop_loss}"\n')
    out = work / f"out-{path.stem}-{model}-{stop_loss}"
    env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_KEY", "BINANCE_API_KEY", "BINANCE_API_SECRET")}
    env["TRADER_NO_DOTENV"] = "1"
    proc = subprocess.run([sys.executable, str(ROOT / "bootstrap.py"), "--status-port", "0", "--config", str(cfg),
                           "--report-dir", str(out), "--replay-path", str(path)],
                          cwd=work, env=env, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{path.name} {model}: exit {proc.returncode}: {proc.stderr[-2000:]}")
    s = json.loads((out / "summary.json").read_text())
    bar = BAR_MS[interval]
    closed = [t for t in s["trades"] if t["status"] == "CLOSED"]
    same_bar = sum(1 for t in closed if t["opened_at_ms"] // bar == t["closed_at_ms"] // bar)
    return {"data": path.stem, "model": model, "stop_loss": stop_loss, "total_return": s["total_return"],
            "hold_return": s["hold_return"], "realized_pnl": s["realized_pnl"], "trades": s["trade_count"],
            "closed": len(closed), "wins": s["wins"], "losses": s["losses"], "same_bar": same_bar,
            "wall_s": s["wall_time_s"]}


def pct(x: str | None) -> str:
    return "n/a" if x is None else f"{float(x) * 100:+.2f} %"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stop-loss", nargs="+", default=["0"], help="[trading] stop_loss values to run (default 0)")
    p.add_argument("--only", help="only data sets whose name contains this")
    args = p.parse_args()
    files = [f for s in SETS for f in sorted((DATA / s).glob("*.csv")) if not args.only or args.only in f.name]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for sl in args.stop_loss:
            for f in files:
                for model in MODELS:
                    rows.append(run(f, model, sl, Path(tmp)))
                    r = rows[-1]
                    print(f"  {r['data']} {model} stop_loss {sl}: {pct(r['total_return'])}, {r['closed']} closed, "
                          f"{r['same_bar']} same-bar ({r['wall_s']} s)", file=sys.stderr, flush=True)
    print("| data | stop_loss | hold | return path | return next_bar | closed path | closed next_bar "
          "| won/lost path | won/lost next_bar | same-bar round trips path | next_bar |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for i in range(0, len(rows), 2):
        a, b = rows[i], rows[i + 1]
        print(f"| {a['data']} | {a['stop_loss']} | {pct(a['hold_return'])} | {pct(a['total_return'])} "
              f"| {pct(b['total_return'])} | {a['closed']} | {b['closed']} | {a['wins']}/{a['losses']} "
              f"| {b['wins']}/{b['losses']} | {a['same_bar']} | {b['same_bar']} |")
    print(json.dumps({"candle_fills": rows}))


if __name__ == "__main__":
    main()
