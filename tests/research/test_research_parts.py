"""Research's pure parts: PATH expansion, each run's settings, the grid file, measures, ranking, walk-forward."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from actors.market_data.replay_check import ReplayRefused
from actors.research import grid, measures, objective, runs
from actors.research.paths import ResearchError, RunSpec, expand, period_of

KLINE = "1737331200000,45.1,45.9,44.8,45.5,1200.5,1737331259999,0,0,0,0,0\n"


def _write(path: Path, rows: int = 3, price: str = "45.123") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = 1737331200000
    lines = [f"{t0 + i * 60000},{price},{price},{price},{price},12.5,{t0 + i * 60000 + 59999},0,0,0,0,0\n"
             for i in range(rows)]
    path.write_text("".join(lines))
    return path


def test_a_file_is_one_run_a_folder_one_per_file_and_folders_of_folders_per_symbol_folder(tmp_path: Path) -> None:
    a = _write(tmp_path / "klines" / "PEPEUSDT-5m" / "PEPEUSDT-5m-2025-01.csv")
    _write(tmp_path / "klines" / "PEPEUSDT-5m" / "PEPEUSDT-5m-2025-02.zip")
    _write(tmp_path / "klines" / "WIFUSDT-5m" / "WIFUSDT-5m-2025-01.csv")
    (tmp_path / "klines" / "WIFUSDT-5m" / "notes.txt").write_text("not data")

    assert [s.label for s in expand([a])] == ["PEPEUSDT-5m/PEPEUSDT-5m-2025-01"]
    assert len(expand([a.parent])) == 2
    specs = expand([tmp_path / "klines", a])  # a file already under a folder runs once
    assert [(s.label, s.symbol, s.period) for s in specs] == [
        ("PEPEUSDT-5m/PEPEUSDT-5m-2025-01", "PEPEUSDT", "2025-01"),
        ("PEPEUSDT-5m/PEPEUSDT-5m-2025-02", "PEPEUSDT", "2025-02"),
        ("WIFUSDT-5m/WIFUSDT-5m-2025-01", "WIFUSDT", "2025-01"),
    ]


def test_missing_or_empty_paths_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ResearchError, match="no such file"):
        expand([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResearchError, match=r"no \.csv or \.zip"):
        expand([tmp_path / "empty"])


def test_period_comes_from_the_binance_name() -> None:
    assert period_of("TRUMPUSDC-1m-2025-01-28.csv") == "2025-01-28"
    assert period_of("PEPEUSDT-5m-2025-03.zip") == "2025-03"
    assert period_of("prices.csv") == ""


def test_another_symbols_run_drops_the_base_grid_and_infers_its_own(tmp_path: Path) -> None:
    f = _write(tmp_path / "PEPEUSDT-5m-2025-01.csv", price="0.00001234")
    base = {"symbol": "TRUMPUSDC", "exchange.tick_size": "0.01", "exchange.base_asset": "TRUMP", "risk.capital": "20"}
    spec = RunSpec("x/PEPEUSDT-5m-2025-01", str(f), "PEPEUSDT", "2025-01")
    keys = runs.run_keys(base, spec, {"risk.take_profit": "0.02"}, tmp_path / "out")
    s = runs.run_settings(keys)
    assert (s.symbol, s.exchange.base_asset, s.exchange.quote_asset) == ("PEPEUSDT", "PEPE", "USDT")
    assert s.exchange.tick_size == Decimal("0.00000001")  # from the data, not the base's 0.01
    assert (s.risk.capital, s.risk.take_profit) == (Decimal(20), Decimal("0.02"))
    assert (s.exchange.kind, s.market.source, s.status.port) == ("paper", "replay", 0)


def test_the_base_symbols_run_keeps_a_grid_the_base_gives(tmp_path: Path) -> None:
    f = _write(tmp_path / "TRUMPUSDC-1m-2025-01-28.csv")
    spec = RunSpec("x/t", str(f), "TRUMPUSDC", "2025-01-28")
    s = runs.run_settings(runs.run_keys({"symbol": "TRUMPUSDC", "exchange.tick_size": "0.01"}, spec, {}, tmp_path))
    assert s.exchange.tick_size == Decimal("0.01")


def test_a_run_never_trades_real_money_and_forced_keys_cannot_be_swept(tmp_path: Path) -> None:
    f = _write(tmp_path / "TRUMPUSDC-1m-2025-01-28.csv")
    spec = RunSpec("x/t", str(f), "TRUMPUSDC", "")
    keys = runs.run_keys({"exchange.kind": "binance", "exchange.confirm_real_money": True}, spec, {}, tmp_path)
    assert keys["exchange.kind"] == "paper"
    with pytest.raises(ResearchError, match=r"exchange\.kind"):
        runs.run_keys({}, spec, {"exchange.kind": "binance"}, tmp_path)
    with pytest.raises(ResearchError, match=r"risk\.take_profit"):
        runs.check_params({}, {"risk.take_profit": "lots"})


def test_a_file_of_a_coarse_grid_is_refused_by_the_replay_checks(tmp_path: Path) -> None:
    f = _write(tmp_path / "PEPEUSDT-5m-2025-01.csv", price="0.00001234")
    spec = RunSpec("x/p", str(f), "PEPEUSDT", "")
    with pytest.raises(ReplayRefused, match="tick_size"):
        runs.run_settings(runs.run_keys({"symbol": "PEPEUSDT", "exchange.tick_size": "0.01"}, spec, {}, tmp_path))


def _grid(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "grid.toml"
    p.write_text(text)
    return p


def test_grid_gives_every_combination_in_order_and_sampling_is_seeded(tmp_path: Path) -> None:
    text = '[grid]\n"risk.take_profit" = ["0", "0.01"]\nrisk.trailing_stop = ["0", "0.005", "0.01"]\n'
    g = grid.load_grid(_grid(tmp_path, text))
    assert len(g.sets) == 6
    assert g.sets[0] == {"risk.take_profit": "0", "risk.trailing_stop": "0"}
    assert g.sets[1] == {"risk.take_profit": "0", "risk.trailing_stop": "0.005"}
    s1 = grid.load_grid(_grid(tmp_path, text + "[sample]\nn = 3\nseed = 4\n"))
    s2 = grid.load_grid(_grid(tmp_path, text + "[sample]\nn = 3\nseed = 4\n"))
    assert s1.sets == s2.sets and len(s1.sets) == 3 and s1.sampled == 3
    assert all(s in g.sets for s in s1.sets)


@pytest.mark.parametrize(("text", "match"), [
    ("[grid]\n", "names no settings"),
    ('[grid]\n"risk.take_profit" = "0.01"\n', "non-empty list"),
    ('[grids]\n"risk.take_profit" = ["0"]\n', "unknown table"),
    ('[grid]\n"risk.take_profit" = ["0"]\n[sample]\nn = 0\n', "sample"),
    ("[[set]]\n", r"each \[\[set\]\] must be a table"),  # an empty set would be the defaults, unasked for
    ('set = [1, 2]\n', r"each \[\[set\]\] must be a table"),
])
def test_a_bad_grid_file_is_one_clear_error(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ResearchError, match=match):
        grid.load_grid(_grid(tmp_path, text))


def test_row_measures_per_unit_deployed_and_time_in_position() -> None:
    summary = {
        "symbol": "PEPEUSDT", "market_start_ms": 0, "market_end_ms": 1000, "total_return": "0.01",
        "hold_return": "-0.05", "max_drawdown": {"fraction": "0.02"}, "total_pnl": "0.2", "fees_paid": "0.04",
        "closed_trades": 1, "risk": {"deployed": {"max_position_cost": "5", "return": "0.04", "max_drawdown": "0.1"}},
        "trades": [{"opened_at_ms": 100, "closed_at_ms": 300}, {"opened_at_ms": 900, "closed_at_ms": None}],
    }
    r = measures.row(summary)
    assert (r["return"], r["return_capital"], r["hold"], r["excess"]) == (0.04, 0.01, -0.05, 0.09)
    assert r["max_dd"] == 0.1 and r["time_in_position"] == 0.3
    tot = measures.totals([{**r, "error": ""}, {"error": "boom"}])
    assert (tot["runs"], tot["finished"], tot["failed"], tot["beat_hold"]) == (2, 1, 1, 1)


def _r(set_id: str, period: str, excess: float, dd: float = 0.1) -> dict[str, object]:
    return {"set_id": set_id, "period": period, "excess": excess, "return": excess, "return_capital": excess,
            "hold": 0.0, "max_dd": dd, "trades": 1, "time_in_position": 0.5, "error": ""}


def test_ranking_puts_sets_breaking_the_drawdown_limit_last_and_breaks_ties_by_grid_order() -> None:
    sets = [{"a": 1}, {"a": 2}, {"a": 3}]
    rows = [_r("set000", "p1", 0.01), _r("set001", "p1", 0.05, dd=0.9), _r("set002", "p1", 0.01)]
    ranked = objective.rank(rows, sets, objective.Objective("excess", max_dd=0.5))
    assert [e["set_id"] for e in ranked] == ["set000", "set002", "set001"]
    assert not ranked[-1]["feasible"]
    assert objective.rank(rows, sets, objective.Objective("excess", max_dd=0))[0]["set_id"] == "set001"
    with pytest.raises(ValueError, match="objective"):
        objective.Objective("sharpe")


def test_walk_forward_reports_the_set_chosen_on_earlier_periods_on_the_next_one() -> None:
    sets = [{"a": 1}, {"a": 2}]
    rows = [_r("set000", "2025-01", 0.10), _r("set001", "2025-01", 0.00),
            _r("set000", "2025-02", -0.20), _r("set001", "2025-02", 0.30),
            _r("set000", "2025-03", 0.00), _r("set001", "2025-03", 0.05)]
    folds = objective.walk_forward(rows, sets, objective.Objective())
    assert [(f["period"], f["set_id"], f["score"], f["sample"]) for f in folds] == [
        ("2025-02", "set000", -0.2, "out-of-sample"),  # set000 won January, lost February
        ("2025-03", "set001", 0.05, "out-of-sample"),  # over Jan+Feb set001 leads (0.15 vs -0.05)
    ]
    assert folds[0]["best_on_period"] == 0.3 and folds[0]["rank_on_period"] == 2
    assert objective.walk_forward([_r("set000", "2025-01", 0.1)], sets[:1], objective.Objective()) == []


def test_walk_forward_never_trains_on_a_month_that_holds_the_day_it_judges() -> None:
    sets = [{"a": 1}, {"a": 2}]
    rows = [_r("set000", "2025-01", 0.5), _r("set001", "2025-01", 0.0),
            _r("set000", "2025-01-28", 0.0), _r("set001", "2025-01-28", 0.1),
            _r("set000", "2025-02", 0.0), _r("set001", "2025-02", 0.2)]
    folds = objective.walk_forward(rows, sets, objective.Objective())
    assert [(f["period"], f["trained_on"]) for f in folds] == [("2025-02", "2025-01..2025-01-28")]
    assert objective.span("2024-12") == (objective.date(2024, 12, 1), objective.date(2025, 1, 1))


def test_a_set_tied_for_best_on_a_period_ranks_first_there() -> None:
    sets = [{"a": 1}, {"a": 2}]
    rows = [_r("set000", "2025-01", 0.0), _r("set001", "2025-01", 0.1),
            _r("set000", "2025-02", 0.2), _r("set001", "2025-02", 0.2)]
    (fold,) = objective.walk_forward(rows, sets, objective.Objective())
    assert (fold["set_id"], fold["rank_on_period"]) == ("set001", 1)


def test_a_relative_path_becomes_absolute_for_the_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "d" / "TRUMPUSDC-1m-2025-01-28.csv")
    monkeypatch.chdir(tmp_path)
    (spec,) = expand(["d"])
    assert Path(spec.path).is_absolute() and Path(spec.path) == tmp_path / "d" / "TRUMPUSDC-1m-2025-01-28.csv"


def test_a_grid_may_list_its_sets_and_a_strategy_file_travels_with_its_full_path(tmp_path: Path) -> None:
    from actors.research import grid, runs
    from actors.research.paths import RunSpec

    g = tmp_path / "g.toml"
    g.write_text('[[set]]\n"strategy.name" = "strategies/ema_trend.py:EMATrend"\n"strategy.params.fast" = 6\n'
                 '[[set]]\n"strategy.name" = "trend"\n')
    sets = grid.load_grid(g).sets
    assert sets == ({"strategy.name": "strategies/ema_trend.py:EMATrend", "strategy.params.fast": 6},
                    {"strategy.name": "trend"})
    keys = runs.run_keys({}, RunSpec("x", "/d/PEPEUSDT-5m-2025-01.csv", "PEPEUSDT", "2025-01"), sets[0], tmp_path)
    assert keys["strategy.name"] == f"{Path('strategies/ema_trend.py').resolve()}:EMATrend"
