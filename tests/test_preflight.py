"""Preflight: pure checks over the settings, each refusal naming the setting and a value that works."""

from __future__ import annotations

from decimal import Decimal as D

from actors import preflight
from actors.settings import load_settings


def test_the_defaults_pass() -> None:
    assert preflight.refusals(load_settings(None)) == []


def test_real_orders_need_the_live_market() -> None:
    for source in ("synthetic", "replay"):
        extra = {"market.replay_path": "x.csv"} if source == "replay" else {}
        s = load_settings(None, {"exchange.kind": "binance", "market.source": source, **extra})
        assert "--market binance" in (preflight.mode_refusal(s) or "")
    assert preflight.mode_refusal(load_settings(None, {"exchange.kind": "binance", "market.source": "binance"})) is None


def test_the_suggested_trade_size_buys_the_minimum_after_lot_rounding() -> None:
    s = load_settings(None, {"trading.quote_per_trade": "0.5", "exchange.min_notional": "5", "market.start_price": "7.77"})
    [refusal] = preflight.trade_size_refusals(s, D("7.77"))
    least = preflight.least_trade_size(s, D("7.77"))
    assert f'"{least}"' in refusal
    fixed = load_settings(None, {"trading.quote_per_trade": str(least), "exchange.min_notional": "5"})
    assert preflight.trade_size_refusals(fixed, D("7.77")) == []
    below = load_settings(None, {"trading.quote_per_trade": str(least - D("0.01")), "exchange.min_notional": "5"})
    assert preflight.trade_size_refusals(below, D("7.77"))  # it is the least


def test_a_size_above_the_minimum_that_rounds_below_it_is_caught() -> None:
    s = load_settings(None, {"trading.quote_per_trade": "1.00", "exchange.step_size": "1"})
    assert preflight.trade_size_refusals(s, D("0.6")) and preflight.least_trade_size(s, D("0.6")) == D("1.20")


def test_the_real_exchange_is_not_judged_by_paper_settings() -> None:
    s = load_settings(None, {"exchange.kind": "binance", "market.source": "binance", "trading.quote_per_trade": "5000"})
    assert preflight.trade_size_refusals(s) == []


def test_capital_may_not_exceed_the_wallet() -> None:
    s = load_settings(None, {"risk.capital": "5000"})
    [refusal] = preflight.trade_size_refusals(s)
    assert "risk.capital = 5000" in refusal and 'risk.capital = "1000"' in refusal
    live = preflight.live_trade_size_refusals(load_settings(None, {"risk.capital": "50"}), D(1), D("20.5"), flat=True)
    assert any('risk.capital = "20.50"' in r for r in live)
    assert preflight.live_trade_size_refusals(load_settings(None, {"risk.capital": "50"}), D(1), D("20.5"), flat=False) == []
