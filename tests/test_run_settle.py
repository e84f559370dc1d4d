"""At a signal, the report waits for the cancelled order to settle instead of a fixed pause (a sell that
filled just before the cancel is booked before the report is written)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loguru import logger

from actors.commands.run import settle_open_order


@dataclass(frozen=True)
class _Order:
    id: str
    status: str


@dataclass(frozen=True)
class _Status:
    active_order: _Order | None


class _Keeper:
    """Answers GetStatus with the statuses given, the last one forever."""

    def __init__(self, *orders: _Order | None) -> None:
        self.orders = list(orders)
        self.asked = 0

    def ask(self, _message: Any, timeout: float) -> _Status:
        self.asked += 1
        return _Status(self.orders.pop(0) if len(self.orders) > 1 else self.orders[0])


def test_it_waits_until_the_exchange_has_settled_the_order() -> None:
    keeper = _Keeper(_Order("b-1", "NEW"), _Order("b-1", "NEW"), _Order("b-1", "FILLED"))
    assert settle_open_order(keeper, 5.0) is True
    assert keeper.asked == 3  # not before the fill was booked
    assert settle_open_order(_Keeper(None), 5.0) is True
    assert settle_open_order(_Keeper(_Order("b-1", "CANCELED")), 5.0) is True


def test_an_order_never_settled_is_reported_once_after_the_deadline() -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, level="WARNING", format="{message}")
    try:
        keeper = _Keeper(_Order("s-7", "PENDING_CANCEL"))
        assert settle_open_order(keeper, 0.2) is False
    finally:
        logger.remove(sink)
    assert keeper.asked > 1
    assert len(lines) == 1 and "the cancel of s-7 was not settled within 0.2 s" in lines[0]
