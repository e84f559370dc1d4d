#!/usr/bin/env python3
"""Replay every dev-set month in ../shared/data/klines alone and print return and drawdown per unit deployed.

    python scripts/dev_months.py [--config extra.toml] [--root CHECKOUT] [--json FILE] [--only S ...]
                                 [--oos S ...] [--markdown]

Each month runs `bootstrap.py` in a subprocess (so any checkout can be measured,
old or new), with the symbol's grid given in a generated config. Returns and
drawdowns are divided by the month's largest position cost (the quote actually
deployed), as issues 13 and 15 define them; buy-and-hold is the month's
first-to-last price change. The runs matching `--oos` (March 2025 by default)
are the walk-forward's out-of-sample months: the defaults were chosen on the
others, and the totals are printed for both sets.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from decimal import Decimal as D
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
DATA = HERE.parent / "shared" / "data" / "klines"
GRIDS = {  # symbol: (base, quote, tick, step, min_qty, min_notional)
    "TRUMPUSDT": ("TRUMP", "USDT", "0.001", "0.001", "0.001", "1"),
    "TRUMPUSDC": ("TRUMP", "USDC", "0.001", "0.001", "0.001", "1"),
    "PEPEUSDT": ("PEPE", "USDT", "0.00000001", "1", "1", "1"),
    "WIFUSDT": ("WIF", "USDT", "0.0001", "0.01", "0.01", "1"),
}
RUNS = [*(f"TRUMPUSDT-5m/TRUMPUSDT-5m-2025-0{m}.csv" for m in (1, 2, 3)),
        *(f"PEPEUSDT-5m/PEPEUSDT-5m-2025-0{m}.csv" for m in (1, 2, 3)),
        *(f"WIFUSDT-5m/WIFUSDT-5m-2025-0{m}.csv" for m in (1, 2, 3)),
        "TRUMPUSDC-1m"]


def config_for(symbol: str, extra: str) -> str:
    base, quote, tick, step, min_qty, notional = GRIDS[symbol]
    own = (f'symbol = "{symbol}"\n[exchange]\nbase_asset = "{base}"\nquote_asset = "{quote}"\ntick_size = "{tick}"\n'
           f'step_size = "{step}"\nmin_qty = "{min_qty}"\nmin_notional = "{notional}"\n')
    return merge_toml(own, extra)


def merge_toml(a: str, b: str) -> str:
    """Append b's keys to a's sections (b wins); enough for flat settings files."""
    import tomllib

    da, db = tomllib.loads(a), tomllib.loads(b)
    for k, v in db.items():
        if isinstance(v, dict):
            da.setdefault(k, {}).update(v)
        else:
            da[k] = v
    lines = [f"{k} = {json.dumps(v)}" for k, v in da.items() if not isinstance(v, dict)]
    for sec, vals in da.items():
        if isinstance(vals, dict):
            lines.append(f"[{sec}]")
            lines += [f"{k} = {json.dumps(v) if not isinstance(v, bool) else str(v).lower()}" for k, v in vals.items()]
    return "\n".join(lines) + "\n"


def measure(summary: dict) -> dict:
    trades = summary["trades"]
    deployed = max((D(t["entry_price"] or 0) * D(t["quantity"] or 0) for t in trades), default=D(0))
    pnl = D(summary["realized_pnl"]) + D(summary.get("unrealized_pnl") or summary.get("final_unrealized_pnl") or 0)
    dd = D((summary.get("max_drawdown") or {}).get("quote") or 0)
    closed = [t for t in trades if t["status"] == "CLOSED"]
    return {
        "deployed": float(deployed), "return": float(pnl / deployed) if deployed else 0.0,
        "hold": float(D(summary.get("hold_return") or 0)), "max_dd": float(dd / deployed) if deployed else 0.0,
        "trades": len(closed), "fees": float(D(summary["fees_paid"])),
        "halted": summary.get("halted_reason") or "",
    }


def totals(rows: list[dict]) -> str:
    worst = max(r["max_dd"] for r in rows)
    beat = sum(r["return"] >= r["hold"] for r in rows)
    return (f"worst maxdd {worst:.2%}  beat hold {beat}/{len(rows)}  sum of returns {sum(r['return'] for r in rows):+.2%}"
            f"  months with trades {sum(r['trades'] > 0 for r in rows)}/{len(rows)}")


def markdown(rows: list[dict]) -> str:
    out = ["| month | return | buy-and-hold | excess | max drawdown | trades | fees |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        name = r["run"].split("/")[-1].removesuffix(".csv") + (" (out of sample)" if r["oos"] else "")
        out.append(f"| {name} | {r['return']:+.2%} | {r['hold']:+.2%} | {r['return'] - r['hold']:+.2%} | "
                   f"{r['max_dd']:.2%} | {r['trades']} | {r['fees']:.4f} |")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--config", help="extra settings (TOML) laid over each month's generated config")
    p.add_argument("--root", default=str(HERE), help="the checkout whose bootstrap.py runs")
    p.add_argument("--json", help="write the rows here")
    p.add_argument("--only", nargs="*", help="substrings of the runs to keep")
    p.add_argument("--oos", nargs="*", default=["2025-03"], help="substrings marking the out-of-sample runs")
    p.add_argument("--markdown", action="store_true", help="also print the rows as a markdown table")
    args = p.parse_args()
    extra = Path(args.config).read_text() if args.config else ""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in RUNS:
            if args.only and not any(o in run for o in args.only):
                continue
            symbol = run.split("-")[0].split("/")[0]
            cfg = Path(tmp) / f"{symbol}.toml"
            cfg.write_text(config_for(symbol, extra))
            out = Path(tmp) / run.replace("/", "_")
            proc = subprocess.run(
                [sys.executable, str(Path(args.root) / "bootstrap.py"), "--config", str(cfg), "--market", "replay",
                 "--replay-path", str(DATA / run), "--report-dir", str(out), "--status-port", "0"],
                capture_output=True, text=True, env={"TRADER_NO_DOTENV": "1", "PATH": "/usr/bin:/bin"}, check=False)
            if proc.returncode != 0:
                print(f"{run}: exit {proc.returncode}: {proc.stderr[-500:]}", file=sys.stderr)
                continue
            row = {"run": run, "oos": any(o in run for o in args.oos),
                   **measure(json.loads((out / "summary.json").read_text()))}
            rows.append(row)
            print(f"{run:45s} ret {row['return']:+8.2%} hold {row['hold']:+8.2%} maxdd {row['max_dd']:7.2%} "
                  f"trades {row['trades']:5d} fees {row['fees']:9.4f} {'OOS ' if row['oos'] else ''}{row['halted'][:50]}",
                  flush=True)
    for label, part in (("all", rows), ("in-sample", [r for r in rows if not r["oos"]]),
                        ("out-of-sample", [r for r in rows if r["oos"]])):
        if part:
            print(f"{label:13s}: " + totals(part))
    if args.markdown:
        print(markdown(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
