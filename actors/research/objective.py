"""Scoring parameter sets and walk-forward: which set is best, and how the set chosen on the past did next.

An objective is a name, a measure averaged over a set's runs:
- `excess` (the default): return per unit deployed − buy-and-hold;
- `return`: return per unit deployed; `return_capital`: return on the capital;
- `calmar`: mean return per unit deployed / the worst drawdown per unit deployed.
with a drawdown constraint: a set whose worst run fell more than `max_dd`
(per unit deployed) ranks below every set that did not (`feasible` false).
Ties break on the set's order in the grid, so a ranking is reproducible.

Walk-forward over the runs' periods (months or days from the file names),
expanding window: for each period with data before it, the set that scored best
on every EARLIER period (ended before this one began) is chosen, and its score on THIS period is reported,
marked out-of-sample, beside the best score any set had there in hindsight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

OBJECTIVES = ("excess", "return", "return_capital", "calmar")
PLACES = 6


@dataclass(frozen=True, slots=True)
class Objective:
    name: str = "excess"
    max_dd: float = 0.5  # worst drawdown per unit deployed allowed (0 = no constraint)

    def __post_init__(self) -> None:
        if self.name not in OBJECTIVES:
            raise ValueError(f"objective {self.name!r} is not one of: {', '.join(OBJECTIVES)}")
        if self.max_dd < 0:
            raise ValueError(f"the drawdown constraint must be >= 0, not {self.max_dd}")

    def describe(self) -> str:
        limit = f", worst drawdown per unit deployed <= {self.max_dd:.0%}" if self.max_dd else ""
        return f"{self.name}{limit}"


def score(rows: Sequence[Mapping[str, Any]], objective: Objective) -> dict[str, Any]:
    """The objective over one set's finished runs: value, feasible, and the figures behind them."""
    ok = [r for r in rows if not r.get("error")]
    n = len(ok)
    if not n:
        return {"score": None, "feasible": False, "runs": len(rows), "failed": len(rows)}

    def mean(key: str) -> float:
        return sum(float(r[key]) for r in ok) / n

    worst = max(float(r["max_dd"]) for r in ok)
    if objective.name == "calmar":
        value = mean("return") / max(worst, 1e-6)
    else:
        value = mean(objective.name)
    return {
        "score": round(value, PLACES),
        "feasible": not objective.max_dd or worst <= objective.max_dd,
        "runs": len(rows), "failed": len(rows) - n,
        "mean_excess": round(mean("excess"), PLACES), "mean_return": round(mean("return"), PLACES),
        "mean_return_capital": round(mean("return_capital"), PLACES), "mean_hold": round(mean("hold"), PLACES),
        "worst_max_dd": round(worst, PLACES), "trades": sum(int(r["trades"]) for r in ok),
        "mean_time_in_position": round(mean("time_in_position"), PLACES),
    }


def _key(entry: Mapping[str, Any]) -> tuple[bool, float, int]:
    s = entry["score"]
    return (not entry["feasible"], -(s if s is not None else float("-inf")), int(entry["set_index"]))


def rank(rows: Sequence[Mapping[str, Any]], sets: Sequence[Mapping[str, Any]], objective: Objective) -> list[dict[str, Any]]:
    """One entry per set (its params and score over `rows`), best first, with `rank` 1..n."""
    by_set: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:  # one pass, not one per set: a 10,000-run sweep ranks in milliseconds
        by_set.setdefault(str(r["set_id"]), []).append(r)
    entries = []
    for i, params in enumerate(sets):
        set_id = set_name(i)
        entries.append({"set_id": set_id, "set_index": i, "params": dict(params),
                        **score(by_set.get(set_id, []), objective)})
    entries.sort(key=_key)
    for n, e in enumerate(entries, start=1):
        e["rank"] = n
    return entries


def span(period: str) -> tuple[date, date]:
    """[first day, day after the last) of "2025-01" (a month) or "2025-01-28" (a day)."""
    parts = [int(x) for x in period.split("-")]
    if len(parts) == 3:
        start = date(*parts)
        return start, start + timedelta(days=1)
    y, m = parts
    return date(y, m, 1), date(y + m // 12, m % 12 + 1, 1)


def walk_forward(rows: Sequence[Mapping[str, Any]], sets: Sequence[Mapping[str, Any]],
                 objective: Objective) -> list[dict[str, Any]]:
    """One out-of-sample fold per period that has earlier data (see the module's docstring); [] with one period.

    "Earlier" means ended before this period began, so a month never trains a day inside it.
    """
    periods = sorted({str(r["period"]) for r in rows if r["period"]}, key=span)
    ends = {p: span(p)[1] for p in periods}
    folds = []
    for p in periods:
        start = span(p)[0]
        train = [r for r in rows if r["period"] and ends[str(r["period"])] <= start]
        if not train:
            continue
        test = [r for r in rows if r["period"] == p]
        trained = sorted({str(r["period"]) for r in train}, key=span)
        chosen = rank(train, sets, objective)[0]
        on_test = rank(test, sets, objective)
        mine = next(e for e in on_test if e["set_id"] == chosen["set_id"])
        folds.append({
            "sample": "out-of-sample", "period": p, "trained_on": f"{trained[0]}..{trained[-1]}",
            "set_id": chosen["set_id"], "params": chosen["params"], "in_sample_score": chosen["score"],
            "score": mine["score"], "feasible": mine["feasible"],
            "rank_on_period": 1 + sum(1 for e in on_test if _key(e)[:2] < _key(mine)[:2]),  # ties share a rank
            "best_on_period": on_test[0]["score"], "best_set_on_period": on_test[0]["set_id"],
            "mean_excess": mine.get("mean_excess"), "mean_return": mine.get("mean_return"),
            "mean_return_capital": mine.get("mean_return_capital"),
            "mean_hold": mine.get("mean_hold"), "worst_max_dd": mine.get("worst_max_dd"),
            "trades": mine.get("trades"), "runs": mine["runs"],
        })
    return folds


def set_name(index: int) -> str:
    return f"set{index:03d}"


__all__ = ["OBJECTIVES", "Objective", "rank", "score", "set_name", "span", "walk_forward"]
