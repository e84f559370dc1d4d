"""The shared trading rules, pricing and clock: pure functions, tested without actors or threads."""

from __future__ import annotations

import dataclasses
import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.domain import clock, pricing, rules
from actors.domain.rules import FilterError, check_order, fmt, round_price, round_qty, sellable_qty
from actors.messages import Side
from actors.settings import ExchangeSettings
from tests._support.helpers import FILTERS

D = Decimal
prices = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=6, allow_nan=False, allow_infinity=False)
qtys = st.decimals(min_value=D("0"), max_value=D("100000"), places=6, allow_nan=False, allow_infinity=False)


# -- rules ------------------------------------------------------------------------------


def test_passive_rounding_never_pays_more_or_takes_less() -> None:
    assert round_price(D("40.019"), Side.BUY, FILTERS) == D("40.01")
    assert round_price(D("40.011"), Side.SELL, FILTERS) == D("40.02")
    assert round_price(D("40.01"), Side.SELL, FILTERS) == D("40.01")
    assert round_qty(D("0.2509"), FILTERS) == D("0.250")
    assert str(round_price(D("40"), Side.BUY, FILTERS)) == "40.00"  # quantized to the tick


@given(prices)
def test_rounded_prices_are_on_the_grid_and_on_the_right_side(price: Decimal) -> None:
    buy, sell = round_price(price, Side.BUY, FILTERS), round_price(price, Side.SELL, FILTERS)
    assert buy <= price <= sell
    assert rules.on_grid(buy, FILTERS.tick_size) and rules.on_grid(sell, FILTERS.tick_size)
    assert sell - buy < FILTERS.tick_size * 2


@given(qtys, prices)
def test_sellable_qty_is_zero_or_a_valid_order(held: Decimal, price: Decimal) -> None:
    qty = sellable_qty(held, round_price(price, Side.SELL, FILTERS), FILTERS)
    assert 0 <= qty <= held
    if qty:
        check_order(Side.SELL, round_price(price, Side.SELL, FILTERS), qty, FILTERS)


@pytest.mark.parametrize(("price", "qty", "why"), [
    ("40.005", "1", "tick size"),
    ("40", "0.0005", "step size"),
    ("40", "0.02", "minimum notional"),
    ("0", "1", "must be positive"),
    ("40", "-1", "must be positive"),
    ("40", "9000001", "maximum quantity"),
])
def test_check_order_names_the_broken_rule(price: str, qty: str, why: str) -> None:
    with pytest.raises(FilterError, match=why):
        check_order(Side.BUY, D(price), D(qty), FILTERS)


def test_check_order_refuses_a_symbol_that_is_not_trading() -> None:
    with pytest.raises(FilterError, match="not trading"):
        check_order(Side.BUY, D("40"), D("1"), dataclasses.replace(FILTERS, status="BREAK"))


def test_fmt_is_plain_wire_text() -> None:
    assert [fmt(D(x)) for x in ("1E-8", "0.01000000", "40.00", "0", "12")] == ["0.00000001", "0.01", "40", "0", "12"]


# -- pricing ----------------------------------------------------------------------------------


def test_break_even_and_min_sell_price_cover_both_fees() -> None:
    cost, qty, fee = D("10.01"), D("1"), D("0.001")  # 10 at 10.00 plus a 0.1 % buy fee
    be = pricing.break_even_price(cost, qty, fee)
    assert be is not None and be * qty * (1 - fee) == cost
    msp = pricing.min_sell_price(cost, qty, fee, D("0.002"), FILTERS)
    assert msp == D("10.05")  # 10.01 * 1.002 / 0.999 = 10.04006..., up to the next tick
    assert pricing.min_sell_price(cost, D(0), fee, D("0.002"), FILTERS) is None
    assert pricing.break_even_price(cost, D(0), fee) is None


def test_buy_quantity_rounds_down_to_the_lot_and_refuses_a_bad_price() -> None:
    assert pricing.buy_quantity(D("10"), D("3"), FILTERS) == D("3.333")
    assert pricing.buy_quantity(D("10"), D("0"), FILTERS) == 0


# -- clock and the old paths --------------------------------------------------------------------


def test_wall_clock_is_integer_milliseconds_now() -> None:
    before = time.time_ns() // 1_000_000
    now = clock.wall_clock_ms()
    assert isinstance(now, int) and now >= before


def test_paper_filters_come_from_the_exchange_settings() -> None:
    from actors.order_executor.filters import paper_filters

    f = paper_filters("TRUMPUSDC", ExchangeSettings(tick_size=D("0.001")))
    assert f.tick_size == D("0.001") and f.step_size == FILTERS.step_size and f.symbol == "TRUMPUSDC"


def test_exchange_info_with_a_non_finite_filter_is_one_clear_error() -> None:
    from actors.binance.parse import symbol_filters as parse_symbol_filters

    info = {"symbol": "TRUMPUSDC", "filters": [{"filterType": "PRICE_FILTER", "tickSize": "NaN"}]}
    with pytest.raises(ValueError, match="not a finite number"):
        parse_symbol_filters(info)


def test_the_domain_imports_no_threads_io_or_settings() -> None:
    """`actors/domain` stays pure: what it may import is the standard library's arithmetic and the messages."""
    import ast
    from pathlib import Path

    banned = {"pykka", "asyncio", "threading", "socket", "aiohttp", "websockets", "loguru", "sqlite3",
              "subprocess", "actors.settings", "actors._lib", "actors.app"}
    root = Path(rules.__file__).parent
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not any(name == b or name.startswith(b + ".") for b in banned), f"{path.name} imports {name}"
