"""Start-up checks a trader would want: the key, the symbol, the clock; each failure names what to change."""

from __future__ import annotations

import dataclasses

import pytest

from actors._lib.secrets import Secret
from actors.binance import startup
from actors.binance.startup import Answers
from actors.settings import ExchangeSettings, Settings
from tests._support.fakes.binance_exchange import DEFAULT_API_KEY, DEFAULT_API_SECRET, FakeBinance

GOOD = Answers(offset_ms=12, round_trip_ms=3, symbol_status="TRADING", order_types=("LIMIT", "MARKET"),
               can_trade=True, withdrawals=False, ip_restricted=True)
MAINNET = Settings(exchange=ExchangeSettings(kind="binance"))
TESTNET = Settings(exchange=ExchangeSettings(kind="binance", network="testnet"))


def test_all_good_is_one_note_about_the_clock() -> None:
    v = startup.judge(GOOD, MAINNET)
    assert v.refusals == () and v.warnings == ()
    clock = "clock: this machine is 12 ms behind Binance (round trip 3 ms); signed requests are corrected by it"
    assert v.notes == (clock,)


@pytest.mark.parametrize(("change", "fragment"), [
    ({"can_trade": False}, 'enable "Spot & Margin Trading"'),
    ({"symbol_status": "BREAK"}, "TRUMPUSDC is BREAK on Binance, not TRADING"),
    ({"order_types": ("MARKET",)}, "takes no LIMIT orders"),
    ({"symbol_status": None, "order_types": None, "info_error": "-1121 Invalid symbol."}, "is not listed"),
    ({"can_trade": None, "key_refused": True, "account_error": "-2015 Invalid API-key, IP, or permissions"},
     "set BINANCE_API_KEY / BINANCE_API_SECRET"),
])
def test_a_failed_check_refuses_the_start_naming_what_to_change(change: dict, fragment: str) -> None:
    v = startup.judge(dataclasses.replace(GOOD, **change), MAINNET)
    assert len(v.refusals) == 1 and fragment in v.refusals[0]


def test_a_key_that_can_withdraw_or_is_not_ip_bound_is_warned_about_and_the_run_goes_on() -> None:
    v = startup.judge(dataclasses.replace(GOOD, withdrawals=True, ip_restricted=False), MAINNET)
    assert v.refusals == ()
    assert any("can WITHDRAW" in w and "Enable Withdrawals" in w for w in v.warnings)
    assert any("not restricted to trusted IPs" in w for w in v.warnings)


def test_what_could_not_be_read_is_said_once_and_a_skewed_clock_is_a_warning() -> None:
    v = startup.judge(dataclasses.replace(GOOD, withdrawals=None, ip_restricted=None, offset_ms=-2500,
                                          restrictions_error="HTTP 404 Not found"), TESTNET)
    assert v.refusals == ()
    [note] = v.notes
    assert "could not be read" in note and "the Spot Testnet has no /sapi endpoints" in note
    [clock] = v.warnings
    assert "2500 ms ahead of the Spot Testnet" in clock and "run NTP" in clock


def test_on_the_testnet_the_refusals_name_the_testnet_keys() -> None:
    v = startup.judge(dataclasses.replace(GOOD, can_trade=None, key_refused=True, account_error="-2015"), TESTNET)
    assert "BINANCE_TESTNET_API_KEY / BINANCE_TESTNET_API_SECRET" in v.refusals[0]
    assert "testnet.binance.vision" in v.refusals[0]


# -- read, against the stand-in ------------------------------------------------------------------


def settings_for(fake: FakeBinance) -> Settings:
    return Settings(exchange=ExchangeSettings(kind="binance", rest_url=fake.rest_url, ws_api_url=fake.ws_api_url))


def read(fake: FakeBinance, key: str = DEFAULT_API_KEY) -> Answers:
    return startup.read(settings_for(fake), Secret(key), Secret(DEFAULT_API_SECRET), timeout_s=5)


def test_read_asks_the_venue_what_the_checks_need() -> None:
    with FakeBinance(can_withdraw=True) as fake:
        fake.set_time_offset(300)
        a = read(fake)
    assert (a.can_trade, a.withdrawals, a.ip_restricted, a.symbol_status) == (True, True, False, "TRADING")
    assert a.order_types is not None and "LIMIT" in a.order_types
    assert a.offset_ms is not None and 250 <= a.offset_ms <= 350


def test_read_finds_what_refuses_the_start() -> None:
    with FakeBinance(can_trade=False, status="HALT", order_types=("MARKET",), api_restrictions=False) as fake:
        v = startup.judge(read(fake), settings_for(fake))
    assert len(v.refusals) == 3
    assert any("whether the key can withdraw could not be read" in n for n in v.notes)
    with FakeBinance() as fake:
        a = read(fake, key="not-the-key")
    assert a.key_refused and "-2015" in a.account_error
