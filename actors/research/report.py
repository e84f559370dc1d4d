"""What research writes: the combined backtest report and the sweep's leaderboard (console table, CSV, JSON, chart).

Files carry no wall times in the fields that rank or compare, so the same
sweep writes the same leaderboard; `runs.csv` keeps each run's wall time.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from actors.research import charts
from actors.research.measures import totals

RUN_COLUMNS = ("label", "symbol", "period", "set_id", "return", "return_capital", "hold", "excess", "max_dd",
               "max_dd_capital", "trades", "fees", "pnl", "deployed", "time_in_position", "events", "tick_size",
               "grid_source", "wide_bars", "wick_fills", "halted", "error", "wall_s", "params", "out_dir")
BOARD_COLUMNS = ("sample", "rank", "period", "trained_on", "set_id", "score", "feasible", "in_sample_score",
                 "rank_on_period", "best_on_period", "mean_excess", "mean_return", "mean_return_capital", "mean_hold",
                 "worst_max_dd", "trades", "runs", "failed", "params")


def pct(v: Any) -> str:
    return "" if v is None or v == "" else f"{float(v):+.2%}"


def frac(v: Any) -> str:
    return "" if v is None or v == "" else f"{float(v):.2%}"


def _cell(v: Any) -> Any:
    return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v


def write_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: _cell(r.get(k, "")) for k in columns})
    return path


def write_json(data: Any, path: Path) -> Path:
    path.write_text(json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    return path


# -- backtest ---------------------------------------------------------------------------------


def runs_table(rows: Sequence[Mapping[str, Any]], title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for name in ("run", "return", "on capital", "hold", "excess", "max dd", "trades", "fees", "in position"):
        t.add_column(name, justify="left" if name == "run" else "right")
    for r in rows:
        if r.get("error"):
            t.add_row(str(r["label"]), f"[red]failed: {str(r['error'])[:70]}[/red]", *[""] * 7)
            continue
        t.add_row(str(r["label"]), pct(r["return"]), pct(r["return_capital"]), pct(r["hold"]), pct(r["excess"]),
                  f"{float(r['max_dd']):.2%}", str(r["trades"]), f"{float(r['fees']):.4f}",
                  f"{float(r['time_in_position']):.0%}")
    return t


def totals_lines(tot: Mapping[str, Any]) -> list[str]:
    return [
        f"runs {tot['finished']}/{tot['runs']} finished" + (f", {tot['failed']} failed" if tot["failed"] else ""),
        (f"mean return per unit deployed {pct(tot['mean_return'])}, on capital {pct(tot['mean_return_capital'])}, "
         f"buy-and-hold {pct(tot['mean_hold'])}, excess {pct(tot['mean_excess'])}; beat holding in "
         f"{tot['beat_hold']}/{tot['finished']}"),
        (f"worst max drawdown per unit deployed {float(tot['worst_max_dd']):.2%}; trades {tot['trades']}, "
         f"P&L {float(tot['pnl']):+.4f}, fees {float(tot['fees']):.4f}; "
         f"mean time in position {float(tot['mean_time_in_position']):.0%}; events {tot['events']:,}"),
    ] + ([(f"WARNING: {tot['wick_fills']} fill(s) on bars wider than market.wide_bar_share, in "
          f"{tot['wick_fill_runs']} run(s) (column wick_fills): those results may rest on one wick")]
         if tot.get("wick_fills") else [])


def write_backtest(rows: Sequence[Mapping[str, Any]], out_dir: Path, *, wall_s: float,
                   console: Console | None = None) -> dict[str, Path]:
    """backtest.csv, backtest.json, backtest.png in `out_dir`; the table and totals on the console."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tot = totals(rows)
    files = {
        "csv": write_csv(rows, RUN_COLUMNS, out_dir / "backtest.csv"),
        "json": write_json({"runs": list(rows), "totals": tot, "wall_s": round(wall_s, 3)}, out_dir / "backtest.json"),
        "chart": charts.backtest_chart(rows, out_dir / "backtest.png"),
    }
    if console is not None:
        console.print(runs_table(rows, "Backtest (returns and drawdowns per unit deployed unless said)"))
        for line in totals_lines(tot):
            console.print(line, highlight=False)
        console.print(f"wall time {wall_s:.1f} s; per-run summaries in {out_dir}/runs/; "
                      f"report: {files['csv']}, {files['json']}, {files['chart']}", highlight=False)
    return files


# -- sweep -----------------------------------------------------------------------------------


def leaderboard(ranked: Sequence[Mapping[str, Any]], folds: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The leaderboard's rows: every set over all periods (in-sample), then the walk-forward folds (out-of-sample)."""
    return [{"sample": "in-sample", **e} for e in ranked] + [dict(f) for f in folds]


def board_table(ranked: Sequence[Mapping[str, Any]], folds: Sequence[Mapping[str, Any]], top: int) -> Table:
    t = Table(title=f"Leaderboard (top {min(top, len(ranked))} of {len(ranked)} sets, all periods) "
                    "and walk-forward (out of sample)", title_justify="left")
    for name in ("sample", "rank/period", "set", "score", "excess", "return", "hold", "worst dd", "trades",
                 "params"):
        t.add_column(name, justify="left" if name in ("sample", "set", "params", "rank/period") else "right")
    for e in ranked[:top]:
        flag = "" if e["feasible"] else " [yellow](dd)[/yellow]"
        t.add_row("in-sample", str(e["rank"]), str(e["set_id"]), pct(e["score"]) + flag, pct(e.get("mean_excess")),
                  pct(e.get("mean_return")), pct(e.get("mean_hold")), frac(e.get("worst_max_dd")),
                  str(e.get("trades", "")), _params(e["params"]))
    for f in folds:
        t.add_row("[bold]OUT-OF-SAMPLE[/bold]", str(f["period"]), str(f["set_id"]), pct(f["score"]),
                  pct(f.get("mean_excess")), pct(f.get("mean_return")), pct(f.get("mean_hold")),
                  frac(f.get("worst_max_dd")), str(f.get("trades", "")),
                  f"rank {f['rank_on_period']} there; in-sample {pct(f['in_sample_score'])}")
    return t


def _params(p: Mapping[str, Any]) -> str:
    """Each key without its section ("trading.min_profit" → min_profit, "strategy.params.fast" → params.fast)."""
    return ", ".join(f"{k.split('.', 1)[-1]}={v}" for k, v in p.items())


def write_sweep(rows: Sequence[Mapping[str, Any]], ranked: Sequence[Mapping[str, Any]],
                folds: Sequence[Mapping[str, Any]], meta: Mapping[str, Any], out_dir: Path, *,
                console: Console | None = None, top: int = 15) -> dict[str, Path]:
    """leaderboard.csv / .json / .png and runs.csv in `out_dir`; the table on the console."""
    out_dir.mkdir(parents=True, exist_ok=True)
    board = leaderboard(ranked, folds)
    files = {
        "csv": write_csv(board, BOARD_COLUMNS, out_dir / "leaderboard.csv"),
        "json": write_json({**meta, "leaderboard": [{"sample": "in-sample", **e} for e in ranked],
                            "walk_forward": list(folds)}, out_dir / "leaderboard.json"),
        "runs": write_csv(rows, RUN_COLUMNS, out_dir / "runs.csv"),
        "chart": charts.leaderboard_chart(ranked, folds, str(meta.get("objective", "")).split(",")[0],
                                          out_dir / "leaderboard.png"),
    }
    if console is not None:
        console.print(board_table(ranked, folds, top))
        if folds:
            oos = [float(f["score"]) for f in folds if f["score"] is not None]
            if oos:
                console.print(f"walk-forward: mean out-of-sample score {pct(sum(oos) / len(oos))} over {len(oos)} "
                              f"periods (in-sample best {pct(ranked[0]['score'])})", highlight=False)
        wick = [r for r in rows if r.get("wick_fills")]
        if wick:
            console.print(f"WARNING: {sum(int(r['wick_fills']) for r in wick)} fill(s) on bars wider than "
                          f"market.wide_bar_share, in {len(wick)} run(s) of {len(rows)} (runs.csv, column wick_fills): "
                          "a set's score may rest on a wick", highlight=False)
        console.print(f"leaderboard: {files['csv']}, {files['json']}, {files['chart']}; every run: {files['runs']}",
                      highlight=False)
    return files


__all__ = ["BOARD_COLUMNS", "RUN_COLUMNS", "board_table", "leaderboard", "runs_table", "write_backtest", "write_csv",
           "write_json", "write_sweep"]
