"""The research charts (matplotlib's object API on an Agg canvas: no windows, no global figure registry)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def backtest_chart(rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Left: each run's return per unit deployed against buy-and-hold (above the diagonal = beat holding).
    Right: the distribution of the runs' max drawdowns per unit deployed."""
    ok = [r for r in rows if not r.get("error")]
    fig = _figure(12, 5)
    ax, bx = fig.subplots(1, 2)
    holds = [float(r["hold"]) * 100 for r in ok]
    rets = [float(r["return"]) * 100 for r in ok]
    symbols = sorted({str(r["symbol"]) for r in ok})
    for sym in symbols:
        xs = [h for h, r in zip(holds, ok, strict=True) if r["symbol"] == sym]
        ys = [v for v, r in zip(rets, ok, strict=True) if r["symbol"] == sym]
        ax.scatter(xs, ys, label=sym, alpha=0.8)
    if ok:
        lo, hi = min([*holds, *rets, 0.0]), max([*holds, *rets, 0.0])
        ax.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8, linestyle="--", label="return = hold")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xlabel("buy-and-hold (%)")
    ax.set_ylabel("bot return per unit deployed (%)")
    ax.set_title(f"{len(ok)} runs: return against holding")
    ax.legend(fontsize=8)
    dds = [float(r["max_dd"]) * 100 for r in ok]
    bx.hist(dds, bins=min(20, max(5, len(dds))), color="tab:red", alpha=0.75)
    bx.set_xlabel("max drawdown per unit deployed (%)")
    bx.set_ylabel("runs")
    bx.set_title("drawdown distribution")
    fig.tight_layout()
    fig.savefig(path)
    return path


def leaderboard_chart(ranked: Sequence[Mapping[str, Any]], folds: Sequence[Mapping[str, Any]], objective: str,
                      path: Path, top: int = 20) -> Path:
    """Left: the top sets' scores (hatched: breaks the drawdown constraint). Right: walk-forward, the set
    chosen on earlier periods against the best any set had on each later period."""
    fig = _figure(13, 5)
    ax, bx = fig.subplots(1, 2)
    shown = [e for e in ranked if e["score"] is not None][:top]
    names = [str(e["set_id"]) for e in shown]
    scores = [float(e["score"]) * 100 for e in shown]
    bars = ax.barh(names[::-1], scores[::-1], color="tab:blue")
    for bar, e in zip(bars, shown[::-1], strict=True):
        if not e["feasible"]:
            bar.set_hatch("//")
            bar.set_color("tab:grey")
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_xlabel(f"{objective} (%)")
    ax.set_title(f"top {len(shown)} parameter sets (all periods; grey: over the drawdown limit)")
    if folds:
        xs = list(range(len(folds)))
        bx.plot(xs, [float(f["score"] or 0) * 100 for f in folds], marker="o", label="chosen on earlier periods")
        bx.plot(xs, [float(f["best_on_period"] or 0) * 100 for f in folds], marker="x", linestyle="--",
                label="best in hindsight")
        bx.set_xticks(xs, [str(f["period"]) for f in folds], rotation=30, fontsize=8)
        bx.axhline(0, color="black", linewidth=0.5)
        bx.legend(fontsize=8)
    else:
        bx.text(0.5, 0.5, "one period only: no walk-forward", ha="center", va="center", transform=bx.transAxes)
    bx.set_ylabel(f"{objective} out of sample (%)")
    bx.set_title("walk-forward")
    fig.tight_layout()
    fig.savefig(path)
    return path


__all__ = ["backtest_chart", "leaderboard_chart"]
