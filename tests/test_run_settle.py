"""At a signal, the report waits until the keeper has booked what became of its open order, instead of a
fixed pause that raced the exchange (a helper saw the books at 1.000002 and the account at 0.000002)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from actors.commands.run import settle_open_order
from actors.messages import QueryOrder


@dataclass(frozen=True)
class _Order:
    id: str
    status: str
    symbol: str = "TRUMPUSDC"


@dataclass(frozen=True)
class _Status:
    active_order: _Order | None


class _Seq:
    """Gives the values in order, the last one forever."""

    def __init__(self, *values: Any) -> None:
        self.values, self.asked = list(values), 0

    def next(self) -> Any:
        self.asked += 1
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


class _Keeper(_Seq):
    def ask(self, _message: Any, timeout: float) -> _Status:
        return _Status(self.next())


@dataclass
class _Executor:
    told: list[Any] = field(default_factory=list)

    def tell(self, message: Any) -> None:
        self.told.append(message)


class _Running:
    def __init__(self, keeper: _Keeper, lookups: _Seq | None = None) -> None:
        self.executor = _Executor()
        self.actors: dict[str, Any] = {"keeper": keeper, "executor": self.executor}
        self.lookups = lookups or _Seq(0)

    def __getitem__(self, name: str) -> Any:
        return self.actors[name]

    def stats(self, name: str, timeout: float = 5.0) -> dict[str, Any] | None:
        assert name == "executor"
        return {"lookups_pending": self.lookups.next()}


def test_a_cancelled_order_is_waited_for_until_it_is_terminal() -> None:
    keeper = _Keeper(_Order("b-1", "NEW"), _Order("b-1", "NEW"), _Order("b-1", "NEW"), _Order("b-1", "FILLED"))
    run = _Running(keeper)
    assert settle_open_order(run, True, 5.0) is True
    assert keeper.asked == 4 and run.executor.told == []  # not before the fill was booked; no query


def test_an_order_left_resting_is_asked_about_and_its_answer_waited_for() -> None:
    lookups = _Seq(1, 1, 0)
    run = _Running(_Keeper(_Order("s-3", "NEW")), lookups)
    assert settle_open_order(run, False, 5.0) is True
    assert run.executor.told == [QueryOrder(client_order_id="s-3", symbol="TRUMPUSDC")]
    assert lookups.asked == 3  # until no look-up was left in flight


def test_nothing_open_means_nothing_to_wait_for() -> None:
    for order in (None, _Order("b-1", "CANCELED"), _Order("b-1", "FILLED")):
        run = _Running(_Keeper(order), _Seq(1))
        assert settle_open_order(run, False, 5.0) is True
        assert run.executor.told == [] and run.lookups.asked == 0


def test_an_order_never_settled_is_reported_once_after_the_deadline() -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, level="WARNING", format="{message}")
    try:
        run = _Running(_Keeper(_Order("s-7", "NEW")), _Seq(1))
        assert settle_open_order(run, False, 0.2) is False
    finally:
        logger.remove(sink)
    assert run.lookups.asked > 1
    assert len(lines) == 1 and "what became of order s-7 was not settled within 0.2 s" in lines[0]
