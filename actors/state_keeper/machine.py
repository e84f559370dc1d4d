"""The trading machine: the seed's four states and exactly its six transitions."""

from __future__ import annotations

from loguru import logger

from actors.messages import TradingState

S = TradingState

TRANSITIONS: frozenset[tuple[TradingState, TradingState]] = frozenset(
    {
        (S.READY_TO_BUY, S.BUYING),  # a buy order is placed
        (S.BUYING, S.READY_TO_SELL),  # the buy filled (or a sellable part of it)
        (S.BUYING, S.READY_TO_BUY),  # the buy failed with nothing sellable
        (S.READY_TO_SELL, S.SELLING),  # a sell order is placed
        (S.SELLING, S.READY_TO_BUY),  # the sell filled and the position is flat
        (S.SELLING, S.READY_TO_SELL),  # the sell failed; what is held stays
    }
)


class Machine:
    """Holds the state; refuses, logs and ignores anything but the six transitions."""

    __slots__ = ("refused", "state")

    def __init__(self, state: TradingState = S.READY_TO_BUY) -> None:
        self.state = state
        self.refused = 0

    def can(self, to: TradingState) -> bool:
        return (self.state, to) in TRANSITIONS

    def transition(self, to: TradingState, reason: str = "", correlation_id: str = "") -> bool:
        if not isinstance(to, TradingState):
            self.refused += 1
            logger.warning("refused transition to {!r}: not a TradingState", to)
            return False
        if not self.can(to):
            self.refused += 1
            logger.bind(correlation_id=correlation_id).warning(
                "refused transition {} -> {} ({})", self.state.name, to.name, reason or "no reason given"
            )
            return False
        logger.bind(correlation_id=correlation_id).info(
            "transition {} -> {} ({})", self.state.name, to.name, reason
        )
        self.state = to
        return True
