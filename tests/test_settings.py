"""Settings: defaults, the interface's key names, and errors that name the key and what is allowed."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from actors.settings import Settings, SettingsError, load_settings
from tests._support.paths import ROOT


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def test_the_shipped_settings_file_is_the_defaults() -> None:
    assert load_settings(ROOT / "settings.toml") == Settings()


def test_missing_keys_take_their_defaults(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, '[trading]\nquote_per_trade = "25"\n'))
    assert s.trading.quote_per_trade == D("25") and s.trading.fee_rate == D("0.001")
    assert s.exchange.kind == "paper" and s.market.source == "synthetic"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[exchange]\nkind = "live"\n', "exchange.kind = 'live' is not allowed; choose one of: paper, binance"),
        ('[market]\nsource = "kraken"\n', "market.source"),
        ('[market]\nsource = "replay"\n', "market.replay_path"),
        ('[trading]\nquote_per_trade = "-5"\n', "trading.quote_per_trade must be > 0"),
        ('[trading]\nfee_rate = "abc"\n', "trading.fee_rate must be a number"),
        ('[trading]\norder_timeout_s = "soon"\n', "trading.order_timeout_s must be a whole number"),
        ('[ai]\nmin_confidence = 1.5\n', "ai.min_confidence must be in [0, 1]"),
        ('[ai]\nmodel = "deepseek-chat"\n', "ai.model"),
        ('[ai]\nmodle = "x"\n', "unknown setting ai.modle"),
        ("[status]\nport = 70000\n", "status.port"),
        ('bogus = 1\n', "unknown setting 'bogus'"),
        ('symbol = "trump/usdc"\n', "symbol"),
        ("[trading\n", "not valid TOML"),
        ('[trading]\nfee_rate = "NaN"\n', "finite"),
        ('[logging]\nconsole_level = "LOUD"\n', "logging.console_level = 'LOUD' is not allowed"),
        ('[logging]\nfile_level = "chatty"\n', "logging.file_level"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(write(tmp_path, text))
    assert fragment in str(err.value)


def test_overrides_beat_the_file(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, '[market]\nsource = "synthetic"\n'),
                      {"market.source": "replay", "market.replay_path": "x.csv", "exchange.kind": None})
    assert s.market.source == "replay" and s.market.replay_path == "x.csv" and s.exchange.kind == "paper"


def test_missing_file_is_an_error() -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings("/nonexistent/settings.toml")


def test_logging_levels_default_to_a_quiet_console_and_an_info_file() -> None:
    s = load_settings(None)
    assert (s.logging.level, s.logging.console_level, s.logging.file_level) == ("INFO", "WARNING", "")
