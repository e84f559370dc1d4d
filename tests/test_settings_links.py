"""Keys that set others: `[trading] fee_rate` (maker and taker both) and `[exchange] network` (the addresses)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from actors.settings import SettingsError, load_settings
from actors.settings_links import TESTNET_URLS
from tests._support.paths import ROOT


def load(tmp_path: Path, text: str, overrides: dict[str, object] | None = None):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return load_settings(p, overrides)


def test_fee_rate_alone_sets_maker_and_taker_both(tmp_path: Path) -> None:
    t = load(tmp_path, '[trading]\nfee_rate = "0.002"\n').trading
    assert (t.fee_rate, t.maker_fee, t.taker_fee, t.bnb_discount) == (D("0.002"), D("0.002"), D("0.002"), D(0))


def test_maker_and_taker_without_fee_rate_make_it_the_higher(tmp_path: Path) -> None:
    t = load(tmp_path, '[trading]\nmaker_fee = "0.0002"\ntaker_fee = "0.0007"\n').trading
    assert (t.maker_fee, t.taker_fee, t.fee_rate) == (D("0.0002"), D("0.0007"), D("0.0007"))


def test_fee_rate_with_a_maker_fee_that_disagrees_is_refused_naming_both(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        load(tmp_path, '[trading]\nfee_rate = "0.001"\nmaker_fee = "0.0008"\n')
    text = str(err.value)
    assert "trading.fee_rate = 0.001" in text and "trading.maker_fee = 0.0008" in text and "without fee_rate" in text
    t = load(tmp_path, '[trading]\nfee_rate = "0.001"\ntaker_fee = "0.001"\n').trading  # agreeing is fine
    assert t.maker_fee == t.taker_fee == D("0.001")


@pytest.mark.parametrize(("text", "fragment"), [
    ('[trading]\nmaker_fee = "0.03"\n', "trading.maker_fee must be in [0, 0.02)"),
    ('[trading]\ntaker_fee = "-0.001"\n', "trading.taker_fee must be in [0, 0.02)"),
    ('[trading]\nbnb_discount = "1"\n', "trading.bnb_discount must be in [0, 1)"),
    ('[exchange]\nnetwork = "devnet"\n', "exchange.network = 'devnet' is not allowed; choose one of: mainnet, testnet"),
])
def test_bad_fee_and_network_values_name_the_key(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as err:
        load(tmp_path, text)
    assert fragment in str(err.value)


def test_the_testnet_moves_every_address_left_at_its_mainnet_default(tmp_path: Path) -> None:
    # the shipped file writes the mainnet defaults out: they still follow the network
    s = load_settings(ROOT / "settings.toml", {"exchange.network": "testnet", "exchange.kind": "binance",
                                                "market.source": "binance"})
    assert (s.exchange.rest_url, s.exchange.ws_api_url, s.market.stream_url) == (
        TESTNET_URLS["rest_url"], TESTNET_URLS["ws_api_url"], TESTNET_URLS["stream_url"])
    assert s.market.rest_url == ""  # depth snapshots follow exchange.rest_url, so the testnet too


def test_the_testnet_keeps_an_address_set_to_something_else_and_implies_real_orders_on_live_data(tmp_path: Path) -> None:
    s = load(tmp_path, '[exchange]\nnetwork = "testnet"\nrest_url = "http://127.0.0.1:9"\n')
    assert s.exchange.rest_url == "http://127.0.0.1:9"  # a stand-in or a proxy: kept
    assert s.exchange.ws_api_url == TESTNET_URLS["ws_api_url"]
    assert (s.exchange.kind, s.market.source) == ("binance", "binance")  # neither was given
    s = load(tmp_path, '[exchange]\nnetwork = "testnet"\nkind = "paper"\n')
    assert s.exchange.kind == "paper"  # given: kept (and refused at start, preflight.network_refusal)


def test_mainnet_changes_nothing(tmp_path: Path) -> None:
    s = load(tmp_path, '[exchange]\nnetwork = "mainnet"\n')
    assert s.exchange.rest_url == "https://api.binance.com" and s.exchange.kind == "paper"
