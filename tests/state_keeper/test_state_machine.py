"""The machine allows exactly the seed's six transitions and refuses the rest, changing nothing."""

from __future__ import annotations

import itertools

import pytest

from actors.messages import TradingState as S
from actors.state_keeper.machine import TRANSITIONS, Machine

SEED_SIX = {
    (S.READY_TO_BUY, S.BUYING),
    (S.BUYING, S.READY_TO_SELL),
    (S.BUYING, S.READY_TO_BUY),
    (S.READY_TO_SELL, S.SELLING),
    (S.SELLING, S.READY_TO_BUY),
    (S.SELLING, S.READY_TO_SELL),
}


def test_exactly_the_seed_transitions() -> None:
    assert TRANSITIONS == SEED_SIX


@pytest.mark.parametrize(("src", "dst"), list(itertools.product(S, S)))
def test_every_pair(src: S, dst: S, logs) -> None:
    m = Machine(src)
    ok = m.transition(dst, "test")
    assert ok == ((src, dst) in SEED_SIX)
    assert m.state is (dst if ok else src)
    if not ok:
        assert m.refused == 1
        assert any("refused transition" in line for line in logs.messages("WARNING"))


def test_garbage_target_is_refused() -> None:
    m = Machine()
    assert m.transition("selling") is False  # type: ignore[arg-type]
    assert m.state is S.READY_TO_BUY
