"""The leaderboard's statistics: month-block intervals, White's reality check, the deflated Sharpe ratio."""

from __future__ import annotations

import random

from actors.research import stats

MONTHS = ["2025-01", "2025-02", "2025-03"]


def obs(symbols: int = 20) -> list[tuple[str, str]]:
    return [(m, f"S{i}") for m in MONTHS for i in range(symbols)]


def test_a_draw_keeps_each_months_symbols_together_and_its_size() -> None:
    o = obs(5)
    idx = stats.resample(o, random.Random(1))
    assert len(idx) == len(o)
    months = [o[i][0] for i in idx]
    for k in range(3):  # each block of 5 comes from one month
        assert len(set(months[k * 5:(k + 1) * 5])) == 1


def test_a_common_shock_widens_the_interval_beyond_what_sixty_symbols_suggest() -> None:
    o = obs(60)
    shocks = {"2025-01": -0.10, "2025-02": 0.08, "2025-03": 0.01}
    rnd = random.Random(3)
    values = [shocks[m] + rnd.gauss(0, 0.01) for m, _ in o]
    boot = stats.draws(o, 400, seed=5)
    iv = stats.interval(values, o, boot)
    naive_se = (sum((v - iv.mean) ** 2 for v in values) / len(values)) ** 0.5 / len(values) ** 0.5
    assert iv.low < iv.mean < iv.high and iv.includes_zero
    assert (iv.high - iv.low) > 4 * 1.96 * naive_se  # months, not symbol-months, are what the data has
    assert (iv.n, iv.months) == (180, 3)


def test_a_real_edge_excludes_zero_and_noise_does_not() -> None:
    o = obs(40)
    rnd = random.Random(7)
    edge = [0.02 + rnd.gauss(0, 0.005) for _ in o]
    noise = [rnd.gauss(0, 0.02) for _ in o]
    boot = stats.draws(o, 400, seed=1)
    assert not stats.interval(edge, o, boot).includes_zero
    assert stats.interval(noise, o, boot).includes_zero


def test_the_reality_check_finds_the_best_of_many_noise_sets_unremarkable() -> None:
    o = obs(30)
    rnd = random.Random(11)
    noise = {f"set{k}": [rnd.gauss(0, 0.03) for _ in o] for k in range(40)}
    boot = stats.draws(o, 300, seed=2)
    _best, p = stats.reality_check(noise, boot)
    assert p > 0.1  # the best of 40 coin flips is what chance gives
    noise["edge"] = [0.03 + rnd.gauss(0, 0.01) for _ in o]
    best, p = stats.reality_check(noise, boot)
    assert best == "edge" and p < 0.05


def test_the_deflated_sharpe_ratio_falls_as_more_sets_are_tried() -> None:
    rnd = random.Random(4)
    values = [0.004 + rnd.gauss(0, 0.02) for _ in range(120)]
    few = stats.deflated_sharpe(values, [stats.sharpe(values), 0.0])
    many = stats.deflated_sharpe(values, [rnd.gauss(0, 0.1) for _ in range(200)])
    assert 0 <= many < few <= 1
