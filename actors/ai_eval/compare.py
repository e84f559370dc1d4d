"""`bootstrap.py compare`: the same data with the strategy alone and with each recorded model, run by run.

    python bootstrap.py compare PATH... [--store FILE] [--model ID]... [--role advisor|confirm]...
                                        [--match exact|nearest] [--config FILE] [--report-dir DIR]

PATH is a Binance public-data file or folder (replayed), or `synthetic` (the
config's synthetic market). For every PATH, one run per arm:

- `strategy`: the configured `[strategy]` alone, no model at all (`[ai] role = "off"`);
- per model in the store (or each `--model`) and per `--role` (default both):
  `MODEL advisor` (the model prices every decision, the strategy answers for
  it when it fails) and `MODEL confirm` (the strategy decides, the model
  confirms, adjusts or vetoes its proposals), with `[ai] mode = "replay"`: the
  model's recorded answers decide, nothing is paid and no key is needed. A
  prompt the store lacks is a counted miss (record each role to replay it).

Each run is `bootstrap.py run` in a subprocess (its own report folder under
`--report-dir`), so a run cannot disturb the next; the table compares their
summary.json files, and `compare.json` keeps the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from actors.ai_consultant.store import AdviceStore, StoreError
from actors.market_data.replay_check import file_symbol, split_symbol

ROOT = Path(__file__).resolve().parents[2]
RULE_BASED = "strategy"  # the arm without a model
ROLES = ("advisor", "confirm")
KEYS_OUT = ("OPENROUTER_API_KEY", "BINANCE_API_KEY", "BINANCE_API_SECRET")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bootstrap.py compare", description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="+", metavar="PATH", help="replay data (file or folder), or `synthetic`")
    p.add_argument("--store", help="the advice store (default: [ai] store_path of the config)")
    p.add_argument("--model", action="append", help="a recorded model to replay (default: every model in the store)")
    p.add_argument("--role", action="append", choices=ROLES, help="the model's [ai] role in its arms (default: both)")
    p.add_argument("--match", choices=("exact", "nearest"), help="[ai] replay_match for the model runs "
                   "(nearest: replay a recorded live session on archive data)")
    p.add_argument("--config", help="settings laid under every run (default: settings.toml beside bootstrap.py)")
    p.add_argument("--report-dir", default="reports/compare", help="one folder per run and arm, and compare.json")
    return p


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def to_toml(d: dict[str, Any], prefix: str = "") -> str:
    """Settings as TOML: keys first, then each table (and nested ones, such as [strategy.params])."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in d.items() if not isinstance(v, dict)]
    for sec, vals in d.items():
        if isinstance(vals, dict):
            lines += [f"[{prefix}{sec}]", to_toml(vals, f"{prefix}{sec}.").rstrip("\n")]
    return "\n".join(line for line in lines if line) + "\n"


def arm_config(base: dict[str, Any], path: str, arm: str, store: str, match: str | None = None) -> dict[str, Any]:
    """The base settings with this run's market and advisor (`arm`: "strategy" or "MODEL ROLE")."""
    cfg = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    ai = cfg.setdefault("ai", {})
    if arm == RULE_BASED:
        ai.update(mode="live", role="off")
    else:
        model, _, role = arm.partition(" ")
        ai.update(mode="replay", store_path=store, model=model, role=role or "advisor")
        if match:
            ai["replay_match"] = match
    strategy = cfg.get("strategy")
    if isinstance(strategy, dict):
        file, sep, cls = str(strategy.get("name", "")).partition(":")
        if sep and file.endswith(".py"):  # each run starts in its own folder: the file's full path
            cfg["strategy"] = {**strategy, "name": f"{Path(file).resolve()}:{cls}"}
    if path != "synthetic":
        cfg.setdefault("market", {}).update(source="replay", replay_path=str(Path(path).resolve()))
        symbol = file_symbol(str(path)) or file_symbol(next((p.name for p in Path(path).glob("*")), "")
                                                         if Path(path).is_dir() else "")
        if symbol:
            cfg["symbol"] = symbol
            base_asset, quote = split_symbol(symbol)
            if base_asset:
                cfg.setdefault("exchange", {}).update(base_asset=base_asset, quote_asset=quote)
    return cfg


def _row(path: str, arm: str, s: dict[str, Any]) -> dict[str, Any]:
    a = s.get("attribution") or {}
    cal = a.get("calibration") or {}
    own = cal.get("model" if arm != RULE_BASED else "strategy") or {}
    ai = s.get("ai") or {}
    return {"path": path, "arm": arm, "closed": s.get("closed_trades", 0), "realized_pnl": s.get("realized_pnl"),
            "total_pnl": s.get("total_pnl"), "win_rate": s.get("win_rate"),
            "max_drawdown": (s.get("max_drawdown") or {}).get("quote"), "fees": s.get("fees_paid"),
            "ai_cost": a.get("ai_cost", "0"), "net_after_ai_cost": a.get("net_pnl_after_ai_cost"),
            "replay_misses": a.get("replay_misses", 0), "replay_nearest": a.get("replay_nearest", 0),
            "model_answers": ai.get("model_answers", 0), "model_calls": ai.get("model_calls", 0),
            "proposals": ai.get("proposals", 0), "vetoed": ai.get("vetoed", 0),
            "brier": own.get("brier"), "trades": [(t["entry_price"], t["exit_price"], t["quantity"], t["pnl"])
                                                  for t in s.get("trades", [])]}


def run_arm(cfg: dict[str, Any], out: Path) -> dict[str, Any] | str:
    """One `bootstrap.py run`; its summary, or why it failed."""
    out.mkdir(parents=True, exist_ok=True)
    cfg_path = out / "settings.toml"
    cfg_path.write_text(to_toml(cfg), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in KEYS_OUT}  # replay needs no key; rule-based must have none
    env["TRADER_NO_DOTENV"] = "1"
    cmd = [sys.executable, str(ROOT / "bootstrap.py"), "run", "--config", str(cfg_path), "--report-dir", str(out),
           "--status-port", "0"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - our own bootstrap.py
    summary = out / "summary.json"
    if proc.returncode != 0 or not summary.is_file():
        return f"exit {proc.returncode}: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
    data: dict[str, Any] = json.loads(summary.read_text(encoding="utf-8"))
    return data


def _models(store: str) -> list[str]:
    if not Path(store).is_file():
        return []
    try:
        db = AdviceStore(store)
    except StoreError:
        return []
    try:
        return [m for m, _n, _c in db.models()]
    finally:
        db.close()


def table(rows: list[dict[str, Any]]) -> str:
    head = ["path", "arm", "closed", "realized", "total P&L", "win", "max DD", "model calls", "vetoed", "AI cost",
            "net", "misses", "nearest", "Brier"]
    body = [[Path(r["path"]).name, r["arm"], *(["-"] * 11), r["error"]] if "error" in r else
            [Path(r["path"]).name, r["arm"], str(r["closed"]), str(r["realized_pnl"]), str(r["total_pnl"]),
             f"{Decimal(r['win_rate']) * 100:.1f}%" if r["win_rate"] else "-", str(r["max_drawdown"]),
             str(r["model_calls"]), str(r["vetoed"]), str(r["ai_cost"]), str(r["net_after_ai_cost"]),
             str(r["replay_misses"]), str(r["replay_nearest"]), str(r["brier"] or "-")]
            for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=False)).rstrip() for line in [head, *body]]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    config = Path(args.config) if args.config else ROOT / "settings.toml"
    try:
        base = tomllib.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}
    except (OSError, tomllib.TOMLDecodeError) as e:
        print(f"compare: cannot read {config}: {e}", file=sys.stderr)
        return 2
    store = str(Path(args.store or (base.get("ai") or {}).get("store_path") or "data/advice.sqlite3").resolve())
    models = args.model or _models(store)
    if not models:
        print(f"compare: the advice store {store} holds no recorded model; record one first "
              "([ai] mode = \"record\"), or name it with --model", file=sys.stderr)
        return 2
    missing = [p for p in args.paths if p != "synthetic" and not Path(p).exists()]
    if missing:
        print(f"compare: no such data: {', '.join(missing)}", file=sys.stderr)
        return 2
    out_dir = Path(args.report_dir)
    rows: list[dict[str, Any]] = []
    for i, path in enumerate(args.paths, start=1):
        for arm in (RULE_BASED, *(f"{m} {role}" for m in models for role in (args.role or ROLES))):
            print(f"[{i}/{len(args.paths)}] {path}: {arm} ...", flush=True)
            got = run_arm(arm_config(base, path, arm, store, args.match), out_dir / f"{i:02d}-{Path(path).stem}" / arm.replace("/", "_"))
            rows.append({"path": path, "arm": arm, "error": got} if isinstance(got, str) else _row(path, arm, got))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "compare.json").write_text(json.dumps({"store": store, "rows": rows}, indent=2) + "\n", encoding="utf-8")
    print(table(rows))
    print(f"rows: {out_dir / 'compare.json'}")
    return 1 if any("error" in r for r in rows) else 0
