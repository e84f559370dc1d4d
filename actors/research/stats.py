"""Honest statistics for a leaderboard: confidence intervals by month, and a correction for trying many sets.

A symbol-month is the unit (one run), but the symbols of one month are not
independent: a market-wide crash hits sixty coins at once. So the bootstrap
resamples whole months (blocks), and the symbols inside each drawn month, and
the interval reflects how few months there are. Two corrections for the
number of parameter sets tried, both on the same resampling:

- White's reality check: how often the best of all the sets, each centred on
  its own mean (no edge anywhere), does as well by chance as the best one did;
- the deflated Sharpe ratio (Bailey and López de Prado): the probability that
  the chosen set's Sharpe ratio beats the best one expected from N tries of
  sets with no edge, given how much the sets' Sharpe ratios vary.

Pure functions over floats (measures, not money), seeded, so a leaderboard is
the same every time it is computed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

EULER_GAMMA = 0.5772156649015329
_N = NormalDist()

Obs = tuple[str, str]  # (month, symbol): one symbol-month


@dataclass(frozen=True, slots=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int  # symbol-months
    months: int

    @property
    def includes_zero(self) -> bool:
        return self.low <= 0 <= self.high


def resample(obs: Sequence[Obs], rng: random.Random) -> list[int]:
    """One bootstrap draw of indices into `obs`: months with replacement, then symbols within each."""
    by_month: dict[str, list[int]] = {}
    for i, (month, _symbol) in enumerate(obs):
        by_month.setdefault(month, []).append(i)
    months = sorted(by_month)
    out: list[int] = []
    for _ in months:
        members = by_month[rng.choice(months)]
        out.extend(rng.choice(members) for _ in members)
    return out


def draws(obs: Sequence[Obs], n_boot: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [resample(obs, rng) for _ in range(n_boot)]


def interval(values: Sequence[float], obs: Sequence[Obs], boot: Sequence[Sequence[int]],
             level: float = 0.95) -> Interval:
    """The mean of `values` (one per symbol-month in `obs`) with its percentile interval over `boot`."""
    if not values:
        return Interval(0.0, 0.0, 0.0, 0, 0)
    means = sorted(sum(values[i] for i in idx) / len(idx) for idx in boot if idx)
    tail = (1 - level) / 2
    lo = means[int(tail * (len(means) - 1))] if means else 0.0
    hi = means[math.ceil((1 - tail) * (len(means) - 1))] if means else 0.0
    return Interval(sum(values) / len(values), lo, hi, len(values), len({m for m, _ in obs}))


def reality_check(per_set: Mapping[str, Sequence[float]], boot: Sequence[Sequence[int]]) -> tuple[str, float]:
    """White's reality check: (the best set, the p-value that a set this good arises by chance among them).

    Every set's values are over the same symbol-months, in the same order."""
    means = {k: sum(v) / len(v) for k, v in per_set.items() if v}
    if not means:
        return "", 1.0
    best = max(means, key=lambda k: (means[k], k))
    hits = 0
    for idx in boot:
        v_max = max(sum(v[i] for i in idx) / len(idx) - means[k] for k, v in per_set.items() if v)
        hits += v_max >= means[best]
    return best, hits / len(boot) if boot else 1.0


def sharpe(values: Sequence[float]) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    m = sum(values) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in values) / (n - 1))
    return m / sd if sd > 0 else 0.0


def deflated_sharpe(values: Sequence[float], all_sharpes: Sequence[float]) -> float:
    """P(the true Sharpe ratio of `values` exceeds the best expected from len(all_sharpes) sets without an
    edge), per Bailey & López de Prado (2014), with the skew and kurtosis of `values`."""
    n, trials = len(values), max(len(all_sharpes), 1)
    if n < 3:
        return 0.0
    sr = sharpe(values)
    m = sum(values) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in values) / n)
    skew = sum((x - m) ** 3 for x in values) / n / sd**3 if sd > 0 else 0.0
    kurt = sum((x - m) ** 4 for x in values) / n / sd**4 if sd > 0 else 3.0
    k = len(all_sharpes)
    spread = math.sqrt(sum((s - sum(all_sharpes) / k) ** 2 for s in all_sharpes) / (k - 1)) if k > 1 else 0.0
    expected_max = 0.0
    if trials > 1:
        expected_max = spread * ((1 - EULER_GAMMA) * _N.inv_cdf(1 - 1 / trials)
                                 + EULER_GAMMA * _N.inv_cdf(1 - 1 / (trials * math.e)))
    denom = 1 - skew * sr + (kurt - 1) / 4 * sr * sr
    if denom <= 0:
        return 0.0
    return _N.cdf((sr - expected_max) * math.sqrt(n - 1) / math.sqrt(denom))


__all__ = ["Interval", "deflated_sharpe", "draws", "interval", "reality_check", "resample", "sharpe"]
