"""Walk-forward over the universe: choose on the earlier months, judge on the later ones, with honest intervals.

    python scripts/research/leaderboard.py reports/universe/rows.jsonl [--is 2025-01,2025-02,2025-03]
        [--oos 2025-04,2025-05] [--tried N] [--markdown] [--per-month SET]

Reads a sweep's rows (`bootstrap.py sweep ... --report-dir DIR` writes DIR/rows.jsonl; one row per
parameter set and symbol-month) or the screening script's. For every set: the in-sample mean monthly
return (over cash) that chooses, and out of sample the mean monthly return and excess over holding,
each with a 95 % bootstrap interval that resamples whole months (then symbols within them), the
median month, trades, fees against the gross profit, the worst drawdown, the share of months it
traded in. A set whose out-of-sample return interval includes zero is "no evidence of an edge".
White's reality check over the out-of-sample returns of every set in the file, and each set's deflated
Sharpe ratio for the number of sets tried in all (`--tried`, at least the sets in the file; the screening's too).

The choice: per family (the strategy), the set with the best in-sample mean return among those that
traded in at least half of the in-sample months and never fell more than 20 % in one; the default
is the family winner that did best out of sample (the issue's rule: with no edge anywhere, the one
that lost least while trading in at least half of the months).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from actors.research import stats  # noqa: E402

MAX_DD = 0.20  # eligibility: a set whose worst in-sample month fell more is out ([risk] max_drawdown halts at 0.15,
               # and a month that gaps through it overshoots by a bar: the target is met with the default's own limit)
BOOT = 2000


def read(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue  # a torn last line
        if r.get("error"):
            continue
        if "month" in r:  # the screening script's rows
            r = {**r, "period": r["month"], "set_id": f"s{int(r['set']):03d}", "fees": r["fees"] * 10,
                 "pnl": (r["return"] * 10)}
        r["family"] = family(r)
        rows.append(r)
    return rows


def family(r: Mapping[str, Any]) -> str:
    if r.get("family"):
        return str(r["family"])
    name = str((r.get("params") or {}).get("strategy.name", "trend"))
    return Path(name.partition(":")[0]).stem if ":" in name else name


def describe(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k.removeprefix('strategy.params.')}={v}" for k, v in params.items()
                     if k != "strategy.name") or "(defaults)"


def summarise(rows: Sequence[Mapping[str, Any]], months: Iterable[str]) -> dict[str, Any]:
    mine = [r for r in rows if r["period"] in set(months)]
    if not mine:
        return {}
    ret = [float(r["return"]) for r in mine]
    by_month = defaultdict(list)
    for r in mine:
        by_month[r["period"]].append(r)
    fees = sum(Decimal(str(r["fees"])) for r in mine)
    pnl = sum(Decimal(str(r["pnl"])) for r in mine)
    return {
        "n": len(mine), "mean_return": statistics.fmean(ret), "median_return": statistics.median(ret),
        "mean_excess": statistics.fmean(float(r["excess"]) for r in mine),
        "sum_return": sum(ret), "worst_dd": max(float(r["max_dd"]) for r in mine),
        "beat_hold": sum(1 for r in mine if float(r["excess"]) >= 0) / len(mine),
        "traded": sum(1 for r in mine if int(r["trades"]) > 0) / len(mine),
        "trades_per_month": statistics.fmean(int(r["trades"]) for r in mine),
        "fees": float(fees), "gross": float(pnl + fees),
    }


def board(rows: list[dict[str, Any]], is_months: list[str], oos_months: list[str], tried: int) -> dict[str, Any]:
    sets: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        sets[r["set_id"]].append(r)
    oos_obs = sorted({(r["period"], r["symbol"]) for r in rows if r["period"] in oos_months})
    boot = stats.draws(oos_obs, BOOT, seed=7)
    entries = []
    per_set_oos: dict[str, list[float]] = {}
    for set_id, mine in sorted(sets.items()):
        by_obs = {(r["period"], r["symbol"]): r for r in mine}
        ins, oos = summarise(mine, is_months), summarise(mine, oos_months)
        ret = [float(by_obs[o]["return"]) if o in by_obs else 0.0 for o in oos_obs]  # a missing run: as cash
        exc = [float(by_obs[o]["excess"]) if o in by_obs else 0.0 for o in oos_obs]
        per_set_oos[set_id] = ret
        entries.append({"set_id": set_id, "family": mine[0]["family"], "params": describe(mine[0].get("params") or {}),
                        "in_sample": ins, "out_of_sample": oos,
                        "oos_return_ci": _iv(ret, oos_obs, boot),
                        "oos_excess_ci": _iv(exc, oos_obs, boot)})
    sharpes = [stats.sharpe(v) for v in per_set_oos.values()]
    best, p_value = stats.reality_check(per_set_oos, boot)
    for e in entries:
        e["label"] = "no evidence of an edge" if e["oos_return_ci"]["low"] <= 0 <= e["oos_return_ci"]["high"] else (
            "an edge" if e["oos_return_ci"]["low"] > 0 else "loses")
        e["deflated_sharpe"] = stats.deflated_sharpe(per_set_oos[e["set_id"]], sharpes + [0.0] * max(0, tried - len(sharpes)))
    winners = choose(entries)
    return {"is_months": is_months, "oos_months": oos_months, "sets": len(entries), "tried": max(tried, len(entries)),
            "symbol_months_oos": len(oos_obs), "reality_check": {"best": best, "p_value": p_value},
            "entries": entries, "family_winners": winners,
            "default": pick_default(entries, winners)}


def _iv(values: list[float], obs: Sequence[tuple[str, str]], boot: Sequence[Sequence[int]]) -> dict[str, float]:
    iv = stats.interval(values, obs, boot)
    return {"mean": iv.mean, "low": iv.low, "high": iv.high}


def eligible(e: Mapping[str, Any]) -> bool:
    s = e["in_sample"]
    return bool(s) and s["traded"] >= 0.5 and s["worst_dd"] <= MAX_DD


def choose(entries: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Per family, the best in-sample mean return among the eligible sets."""
    out: dict[str, str] = {}
    for fam in sorted({e["family"] for e in entries}):
        mine = [e for e in entries if e["family"] == fam and eligible(e)]
        if mine:
            out[fam] = max(mine, key=lambda e: (e["in_sample"]["mean_return"], e["set_id"]))["set_id"]
    return out


def pick_default(entries: Sequence[dict[str, Any]], winners: Mapping[str, str]) -> str:
    """Among the family winners: the best out of sample (the issue's rule, with a floor on trading)."""
    by_id = {e["set_id"]: e for e in entries}
    cands = [by_id[s] for s in winners.values() if by_id[s]["out_of_sample"] and by_id[s]["out_of_sample"]["traded"] >= 0.5]
    if not cands:
        return ""
    return str(max(cands, key=lambda e: e["out_of_sample"]["mean_return"])["set_id"])


def pct(x: float) -> str:
    return f"{x * 100:+.2f}%"


def markdown(b: Mapping[str, Any], top: int) -> str:
    head = (f"Chosen on {', '.join(b['is_months'])} (in sample), judged on {', '.join(b['oos_months'])} "
            f"({b['symbol_months_oos']} symbol-months out of sample); {b['tried']} parameter sets tried in all, "
            f"{b['sets']} run here. White's reality check over the {b['sets']} run here: p = "
            f"{b['reality_check']['p_value']:.2f} for the best out-of-sample mean return ({b['reality_check']['best']}); "
            f"the deflated Sharpe ratio counts all {b['tried']}.")
    columns = ("| set | family | params | in-sample mean return | out-of-sample mean return (95 % CI) | excess over "
               "hold (95 % CI) | median month | trades/month | fees / gross | worst DD | traded | deflated Sharpe | label |")
    out = [head, "", columns, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    winners = set(b["family_winners"].values())
    rows = sorted((e for e in b["entries"] if e["out_of_sample"] and e["in_sample"]),
                  key=lambda e: -e["out_of_sample"]["mean_return"])
    shown = [e for e in rows if e["set_id"] in winners or e["set_id"] == b["default"] or e["family"] == "trend"]
    shown += [e for e in rows if e not in shown][:max(0, top - len(shown))]
    for e in sorted(shown, key=lambda e: -e["out_of_sample"].get("mean_return", -9)):
        i, o, r, x = e["in_sample"], e["out_of_sample"], e["oos_return_ci"], e["oos_excess_ci"]
        mark = " (default)" if e["set_id"] == b["default"] else (" (family winner)" if e["set_id"] in winners else "")
        ratio = f"{o['fees'] / o['gross']:.2f}" if o["gross"] > 0 else "gross ≤ 0"
        out.append(f"| {e['set_id']}{mark} | {e['family']} | {e['params']} | {pct(i.get('mean_return', 0))} | "
                   f"{pct(r['mean'])} ({pct(r['low'])}, {pct(r['high'])}) | {pct(x['mean'])} ({pct(x['low'])}, "
                   f"{pct(x['high'])}) | {pct(o['median_return'])} | {o['trades_per_month']:.1f} | {ratio} | "
                   f"{o['worst_dd'] * 100:.1f}% | {o['traded'] * 100:.0f}% | {e['deflated_sharpe']:.2f} | {e['label']} |")
    return "\n".join(out)


def per_month(rows: Sequence[Mapping[str, Any]], set_id: str, is_months: Sequence[str]) -> str:
    out = ["| symbol | month | return | buy-and-hold | excess | max DD | trades | fees |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in sorted((r for r in rows if r["set_id"] == set_id), key=lambda r: (r["symbol"], r["period"])):
        tag = "" if r["period"] in is_months else " (out of sample)"
        out.append(f"| {r['symbol']} | {r['period']}{tag} | {pct(float(r['return']))} | {pct(float(r['hold']))} | "
                   f"{pct(float(r['excess']))} | {float(r['max_dd']) * 100:.2f}% | {r['trades']} | {float(r['fees']):.4f} |")
    return "\n".join(out)


def per_coin(rows: Sequence[Mapping[str, Any]], set_id: str, is_months: Sequence[str]) -> str:
    """One line per coin, one column per month (out of sample marked *): return, and buy-and-hold under it."""
    mine = [r for r in rows if r["set_id"] == set_id]
    months = sorted({r["period"] for r in mine})
    head = [m if m in is_months else f"{m} *" for m in months]
    out = ["| symbol | " + " | ".join(head) + " |", "|---|" + "---:|" * len(months)]
    by = {(r["symbol"], r["period"]): r for r in mine}
    for sym in sorted({r["symbol"] for r in mine}):
        cells = []
        for m in months:
            r = by.get((sym, m))
            cells.append("" if r is None else f"{pct(float(r['return']))} ({pct(float(r['hold']))}, {r['trades']})")
        out.append(f"| {sym} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def targets(rows: Sequence[Mapping[str, Any]], set_id: str, is_months: Sequence[str], oos_months: Sequence[str]) -> str:
    """The issue's targets for one set, in and out of sample: what the README's verdict reads from."""
    mine = [r for r in rows if r["set_id"] == set_id]
    out = [("| months | symbol-months | sum of returns | median month | worst max DD | return >= hold | traded | "
           "fees / gross |"), "|---|---:|---:|---:|---:|---:|---:|---:|",
           "| target | | > 0 | >= 0 | <= 15 % | >= 60 % | >= 50 % | <= 0.5 |"]
    for label, months in (("out of sample", oos_months), ("in sample", is_months)):
        s = summarise(mine, months)
        if not s:
            continue
        ratio = f"{s['fees'] / s['gross']:.2f}" if s["gross"] > 0 else f"gross {s['gross']:+.2f} <= 0"
        out.append(f"| {label} ({', '.join(months)}) | {s['n']} | {pct(s['sum_return'])} | {pct(s['median_return'])} | "
                   f"{s['worst_dd'] * 100:.2f}% | {s['beat_hold'] * 100:.0f}% | {s['traded'] * 100:.0f}% | {ratio} |")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rows", type=Path)
    p.add_argument("--is", dest="is_months", default="2025-01,2025-02,2025-03")
    p.add_argument("--oos", default="2025-04,2025-05")
    p.add_argument("--tried", type=int, default=0, help="parameter sets tried in all (the screening's too)")
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--json", type=Path, help="write the whole board here")
    p.add_argument("--per-month", help="print a set's table per symbol and month (the default's: 'default')")
    p.add_argument("--targets", help="the issue's targets for a set, in and out of sample ('default')")
    p.add_argument("--per-coin", help="the same as one line per coin, months as columns ('default' for the default)")
    args = p.parse_args()
    rows = read(args.rows)
    b = board(rows, args.is_months.split(","), args.oos.split(","), args.tried)
    if args.json:
        args.json.write_text(json.dumps(b, indent=1))
    print(markdown(b, args.top))
    print(f"\nfamily winners (in sample): {b['family_winners']}; default (best of them out of sample): {b['default']}")
    if args.per_month:
        print()
        print(per_month(rows, b["default"] if args.per_month == "default" else args.per_month, args.is_months.split(",")))
    if args.targets:
        print()
        print(targets(rows, b["default"] if args.targets == "default" else args.targets, args.is_months.split(","),
                      args.oos.split(",")))
    if args.per_coin:
        print()
        print(per_coin(rows, b["default"] if args.per_coin == "default" else args.per_coin, args.is_months.split(",")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
