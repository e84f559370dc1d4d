"""The state keeper: the only writer of the trading state, the position, the trades and the journal.

Exports load on first use, so the plain modules (`facts`, `risk`, `ledger`...) import without the actor.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Journal", "KeeperCore", "StateKeeperActor"]


def __getattr__(name: str) -> Any:
    if name == "StateKeeperActor":
        from actors.state_keeper.actor import StateKeeperActor

        return StateKeeperActor
    if name == "KeeperCore":
        from actors.state_keeper.core import KeeperCore

        return KeeperCore
    if name == "Journal":
        from actors.state_keeper.journal import Journal

        return Journal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
