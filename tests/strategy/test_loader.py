"""`[strategy] name` to a strategy: built-ins, files, modules; and every way that fails before the first bar."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.settings import SettingsError, deprecations, load_settings
from actors.strategy.builtin.trend import TrendStrategy
from actors.strategy.loader import StrategyError, load, strategy_class

GOOD = '''
from actors.strategy import Strategy, hold

class Mine(Strategy):
    timeframe = "15m"

    def __init__(self, period: int = 14, levels: tuple = ()):
        self.period, self.levels = period, levels
        self.lookback = period + 1

    def decide(self, ctx):
        return hold("nothing yet")
'''


def settings(tmp_path: Path, body: str) -> Path:
    cfg = tmp_path / "s.toml"
    cfg.write_text(body)
    return cfg


def test_the_default_is_the_breakout_on_two_hour_bars(tmp_path: Path) -> None:
    loaded = load(load_settings(settings(tmp_path, "")))
    assert loaded.label == "breakout" and type(loaded.strategy).__name__ == "DonchianBreakout"
    assert loaded.timeframe_ms == 2 * 3_600_000 and loaded.lookback == 49  # the 48-bar channel and the newest bar


def test_the_builtins_take_their_params_from_the_old_keys_unless_given(tmp_path: Path) -> None:
    trend = '[strategy]\nname = "trend"\n'
    loaded = load(load_settings(settings(tmp_path, trend + "[ai]\nrule_horizon_s = 7200\n")))
    assert isinstance(loaded.strategy, TrendStrategy) and loaded.label == "trend"
    assert loaded.strategy.horizon_s == 7200 and loaded.timeframe_ms is None and loaded.lookback == 0
    loaded = load(load_settings(settings(tmp_path, trend + "[ai]\nrule_horizon_s = 7200\n[strategy.params]\nhorizon_s = 3600\n")))
    assert loaded.strategy.horizon_s == 3600  # type: ignore[attr-defined]


def test_a_file_relative_to_the_working_directory_gets_its_params(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(GOOD)
    s = load_settings(settings(tmp_path, '[strategy]\nname = "mine.py:Mine"\n[strategy.params]\nperiod = 20\n'
                                         'levels = [1, 2]\n'))
    loaded = load(s, cwd=tmp_path)
    assert loaded.label == "mine.py:Mine" and loaded.timeframe_ms == 900_000 and loaded.lookback == 21
    assert loaded.strategy.levels == (1, 2)  # type: ignore[attr-defined]
    again, _label, _where = strategy_class("mine.py:Mine", tmp_path)
    assert again is type(loaded.strategy)  # loaded once per file, then found again


def test_a_module_path_works_too() -> None:
    cls, label, _where = strategy_class("actors.strategy.builtin.maker:MakerStrategy")
    assert cls.__name__ == "MakerStrategy" and label == "actors.strategy.builtin.maker:MakerStrategy"


@pytest.mark.parametrize(("file", "name", "params", "says"), [
    (None, "nothere.py:X", "", "does not exist"),
    ("raise RuntimeError('boom')\n", "bad.py:X", "", "does not import: RuntimeError: boom"),
    ("def broken(:\n", "bad.py:X", "", "does not import: SyntaxError"),
    (GOOD, "bad.py:Nope", "", "has no class Nope; it defines Mine"),
    ("class X:\n    pass\n", "bad.py:X", "", "is not a Strategy subclass"),
    (GOOD, "bad.py:Mine", "colour = 1\n", "do not fit Mine"),
    (GOOD, "bad.py:Mine", "period = -3\n", "lookback must be a whole number"),
    (GOOD.replace('"15m"', '"7m"'), "bad.py:Mine", "", "timeframe '7m' is not one of"),
    (GOOD.replace("self.period, self.levels = period, levels", "raise ValueError('period too short')"),
     "bad.py:Mine", "", "the constructor refused"),
    (None, "no_colon", "", "is not one of trend, maker"),
    (None, "no.such.module:X", "", "strategy module no.such.module does not import"),
])
def test_what_cannot_run_is_refused_naming_the_file_and_the_class(
        tmp_path: Path, file: str | None, name: str, params: str, says: str) -> None:
    if file is not None:
        (tmp_path / "bad.py").write_text(file)
    s = load_settings(settings(tmp_path, f'[strategy]\nname = "{name}"\n[strategy.params]\n{params}'))
    with pytest.raises(StrategyError, match=says.replace("(", r"\(").replace(")", r"\)")):
        load(s, cwd=tmp_path)


def test_the_old_key_still_chooses_and_says_it_is_deprecated(tmp_path: Path) -> None:
    s = load_settings(settings(tmp_path, '[ai]\nrule_strategy = "maker"\n'))
    assert s.strategy.name == "maker" and load(s).label == "maker"
    assert deprecations(s) == ["[ai] rule_strategy is deprecated: write [strategy] name = 'maker' instead"]
    both = load_settings(settings(tmp_path, '[ai]\nrule_strategy = "maker"\n[strategy]\nname = "trend"\n'))
    assert both.strategy.name == "trend"  # the new key wins
    assert deprecations(load_settings(settings(tmp_path, ""))) == []


def test_params_can_be_set_by_dotted_override_as_a_sweep_does() -> None:
    s = load_settings(None, {"strategy.name": "maker", "strategy.params.horizon_s": 60})
    assert s.strategy.params == (("horizon_s", 60),)
    with pytest.raises(SettingsError, match="strategy.timeout_ms"):
        load_settings(None, {"strategy.timeout_ms": 0})
    with pytest.raises(SettingsError, match="nested tables"):
        load_settings(None, {"strategy.params.x": {"y": 1}})


def test_a_strategy_that_cannot_run_stops_the_start_before_any_actor(tmp_path: Path) -> None:
    from tests._support.run import run_bot

    (tmp_path / "bad.py").write_text("raise RuntimeError('boom')\n")
    cfg = settings(tmp_path, '[strategy]\nname = "bad.py:X"\n')
    proc = run_bot(tmp_path, "--config", str(cfg), "--report-dir", "out")
    assert proc.returncode == 2 and "starting:" not in proc.stdout
    assert proc.stderr.strip() == "refusing to start: strategy file bad.py does not import: RuntimeError: boom"


@pytest.mark.parametrize(("name", "cls"), [("ema_trend", "EMATrend"), ("breakout", "DonchianBreakout"),
                                           ("rsi_dip", "RSIDip")])
def test_the_examples_are_built_ins_by_name_one_copy_of_their_code(name: str, cls: str) -> None:
    loaded = load(load_settings(None, {"strategy.name": name}))
    assert type(loaded.strategy).__name__ == cls and loaded.label == name
    assert loaded.where.endswith(f"strategies/{Path(loaded.where).name}")
