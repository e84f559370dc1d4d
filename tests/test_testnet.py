"""Testnet as a mode: its addresses, a refused mix, its keys (by hash prefix), its journal, its banner everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actors import app, preflight
from actors.settings import load_settings
from actors.state_keeper.journal import fingerprint
from actors.status.dashboard import mode_of, render_html
from actors.status.view import View, page_json
from tests._support.paths import ROOT

STAND_IN = {"exchange.rest_url": "http://127.0.0.1:1", "exchange.ws_api_url": "ws://127.0.0.1:1/ws-api/v3",
            "market.stream_url": "ws://127.0.0.1:2"}


def on_testnet(**overrides: Any) -> Any:
    return load_settings(ROOT / "settings.toml", {"exchange.network": "testnet", "exchange.kind": "binance",
                                                  "market.source": "binance", **overrides})


# -- a mix is refused -------------------------------------------------------------------------------


def test_the_testnet_on_its_own_addresses_or_a_stand_in_passes() -> None:
    assert preflight.refusals(on_testnet()) == []
    assert preflight.refusals(on_testnet(**STAND_IN)) == []  # 127.0.0.1 belongs to neither network


@pytest.mark.parametrize(("overrides", "named"), [
    ({"market.stream_url": "wss://stream.binance.com:443"}, "market.stream_url = 'wss://stream.binance.com:443'"),
    ({"market.rest_url": "https://data-api.binance.vision"}, "market.rest_url"),
    ({"exchange.rest_url": "https://api1.binance.com"}, "exchange.rest_url"),
])
def test_testnet_orders_priced_from_mainnet_data_are_refused(overrides: dict[str, str], named: str) -> None:
    [refusal] = preflight.refusals(on_testnet(**overrides))
    assert named in refusal and "on the mainnet" in refusal and "same venue's live data" in refusal


def test_mainnet_orders_priced_from_testnet_data_are_refused() -> None:
    s = load_settings(None, {"exchange.kind": "binance", "market.source": "binance",
                             "market.stream_url": "wss://stream.testnet.binance.vision"})
    [refusal] = preflight.refusals(s)
    assert "REAL money" in refusal and "on the testnet" in refusal and "--testnet" in refusal
    paper = load_settings(None, {"market.source": "binance", "market.stream_url": "wss://stream.testnet.binance.vision"})
    assert preflight.network_refusal(paper) is None  # paper orders are not real orders on either network


def test_the_testnet_with_the_paper_exchange_or_a_recorded_market_is_refused() -> None:
    s = load_settings(None, {"exchange.network": "testnet", "exchange.kind": "paper"})
    assert "python bootstrap.py --testnet" in (preflight.network_refusal(s) or "")
    replay = on_testnet(**{"market.source": "replay", "market.replay_path": "x.csv"})
    assert "python bootstrap.py --testnet" in (preflight.mode_refusal(replay) or "")


def test_the_refusal_stops_the_start_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import bootstrap

    cfg = tmp_path / "mixed.toml"
    cfg.write_text('[market]\nstream_url = "wss://data-stream.binance.vision"\n')
    assert bootstrap.main(["--config", str(cfg), "--testnet", "--status-port", "0"]) == 2
    assert "refusing to start" in capsys.readouterr().err


# -- keys: the testnet's, else the usual names; said by hash prefix ---------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("BINANCE_API_KEY", "BINANCE_API_SECRET", "BINANCE_TESTNET_API_KEY", "BINANCE_TESTNET_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_testnet_keys_come_first_and_the_usual_names_are_the_fallback(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BINANCE_API_KEY", "main-key-aaaaaaaaaaaaaaaa")
    clean_env.setenv("BINANCE_API_SECRET", "main-secret-aaaaaaaaaaaaa")
    fallback = app.Keys.from_env("testnet")
    assert fallback.binance_key is not None and fallback.binance_key.reveal() == "main-key-aaaaaaaaaaaaaaaa"
    assert fallback.describe_binance() == f"BINANCE_API_KEY {fingerprint('main-key-aaaaaaaaaaaaaaaa')}"
    clean_env.setenv("BINANCE_TESTNET_API_KEY", "test-key-bbbbbbbbbbbbbbbb")
    clean_env.setenv("BINANCE_TESTNET_API_SECRET", "test-secret-bbbbbbbbbbbbb")
    keys = app.Keys.from_env("testnet")
    assert keys.binance_key is not None and keys.binance_secret is not None
    assert (keys.binance_key.reveal(), keys.binance_secret.reveal()) == ("test-key-bbbbbbbbbbbbbbbb",
                                                                         "test-secret-bbbbbbbbbbbbb")
    said = keys.describe_binance()
    assert said == f"BINANCE_TESTNET_API_KEY {fingerprint('test-key-bbbbbbbbbbbbbbbb')}" and "bbbb" not in said
    main = app.Keys.from_env("mainnet")  # mainnet never reads the testnet's keys
    assert main.binance_key is not None and main.binance_key.reveal() == "main-key-aaaaaaaaaaaaaaaa"


def test_a_testnet_key_without_its_secret_is_never_paired_with_the_mainnet_secret(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BINANCE_API_KEY", "main-key-aaaaaaaaaaaaaaaa")
    clean_env.setenv("BINANCE_API_SECRET", "main-secret-aaaaaaaaaaaaa")
    clean_env.setenv("BINANCE_TESTNET_API_KEY", "test-key-bbbbbbbbbbbbbbbb")
    keys = app.Keys.from_env("testnet")
    assert keys.binance_secret is None  # the start is refused for want of it (bootstrap.real_money_gate)
    import bootstrap

    assert "BINANCE_TESTNET_API_SECRET" in (bootstrap.real_money_gate(on_testnet(), keys, confirmed=False) or "")


def test_the_testnet_needs_no_real_money_confirmation(clean_env: pytest.MonkeyPatch) -> None:
    import bootstrap

    clean_env.setenv("BINANCE_TESTNET_API_KEY", "test-key-bbbbbbbbbbbbbbbb")
    clean_env.setenv("BINANCE_TESTNET_API_SECRET", "test-secret-bbbbbbbbbbbbb")
    assert bootstrap.real_money_gate(on_testnet(), app.Keys.from_env("testnet"), confirmed=False) is None
    real = load_settings(None, {"exchange.kind": "binance", "market.source": "binance"})
    clean_env.setenv("BINANCE_API_KEY", "main-key-aaaaaaaaaaaaaaaa")
    clean_env.setenv("BINANCE_API_SECRET", "main-secret-aaaaaaaaaaaaa")
    assert "--yes-real-money" in (bootstrap.real_money_gate(real, app.Keys.from_env(), confirmed=False) or "")


# -- its own journal, its own banner ---------------------------------------------------------------------


def test_the_testnet_keeps_its_own_journal_and_owner(tmp_path: Path) -> None:
    s = on_testnet(**{"storage.path": str(tmp_path / "trader.sqlite3")})
    assert app.mode(s) == "testnet"
    assert app.journal_path(s, tmp_path) == tmp_path / "trader.testnet.sqlite3"
    owner = app.journal_owner(s, app.Keys(binance_key=_secret("k-cccccccccccccccccccc")))
    assert (owner.mode, owner.venue, owner.account) == ("testnet", "testnet.binance.vision",
                                                        fingerprint("k-cccccccccccccccccccc"))
    real = load_settings(None, {"exchange.kind": "binance", "market.source": "binance",
                                "storage.path": str(tmp_path / "trader.sqlite3")})
    assert app.journal_path(real, tmp_path) == tmp_path / "trader.real.sqlite3"


def _secret(value: str) -> Any:
    from actors._lib.secrets import Secret

    return Secret(value)


def test_the_console_banner_says_testnet_and_the_cli_flag_sets_the_mode() -> None:
    import bootstrap

    args = bootstrap.parse_args(["--testnet"])
    s = bootstrap.settings_from(args)
    assert (s.exchange.network, s.exchange.kind, s.market.source) == ("testnet", "binance", "binance")
    assert s.exchange.rest_url == "https://testnet.binance.vision"
    text = bootstrap.banner(s)
    assert "TESTNET" in text and "FAKE funds" in text and "REAL money" not in text.replace("REAL orders", "")
    assert "LIVE TRADING WITH REAL MONEY" not in text


def test_the_dashboard_says_testnet_and_shows_the_start_up_checks() -> None:
    assert mode_of("binance", "binance", "testnet") == "TESTNET"
    assert mode_of("binance", "binance") == "LIVE" and mode_of("paper", "binance", "testnet") == "PAPER"
    view = View(mode="TESTNET", notices=(("warning", "the API key can WITHDRAW"), ("note", "clock: 3 ms behind")))
    html = render_html(view, 0.0, 0)
    assert 'class="banner mode-testnet"' in html and "TESTNET (Binance Spot Testnet: fake funds)" in html
    assert "the API key can WITHDRAW" not in html  # the live part needs a status; the checks ride with it
    from actors.state_keeper.core import KeeperCore
    from actors.status.dashboard import alerts
    from tests._support.helpers import settings

    shown = alerts(View(mode="TESTNET", notices=view.notices), KeeperCore(settings()).status(), 0.0, 0)
    assert 'class="warnbox startup-check">Start-up check: the API key can WITHDRAW' in shown
    assert 'class="notebox startup-check">Start-up check: clock: 3 ms behind' in shown
    assert page_json(view, 0.0, 0)["startup_checks"][0] == {"level": "warning", "text": "the API key can WITHDRAW"}
