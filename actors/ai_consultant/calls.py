"""The consultant's loop-thread side: model calls and timers that only ever `tell` the actor.

Nothing here reads actor state or waits on a pykka future; each coroutine ends
in exactly one private message to the actor, whatever happens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pykka

from actors._lib.secrets import redact
from actors.ai_consultant.client import ChatClient, ChatError, Completion, Messages


@dataclass(frozen=True, slots=True)
class CallDone:
    flight_id: int
    completion: Completion


@dataclass(frozen=True, slots=True)
class CallFailed:
    flight_id: int
    error: ChatError


@dataclass(frozen=True, slots=True)
class Deadline:
    ticket: int


@dataclass(frozen=True, slots=True)
class ModelsChecked:
    known: frozenset[str] | None
    error: str | None = None


def tell(ref: pykka.ActorRef[Any], message: Any) -> None:
    try:
        ref.tell(message)
    except pykka.ActorDeadError:
        pass


def arm_timer(loop: asyncio.AbstractEventLoop, delay_s: float, ref: pykka.ActorRef[Any], message: Any) -> None:
    loop.call_later(delay_s, tell, ref, message)


async def run_call(
    ref: pykka.ActorRef[Any], client: ChatClient, messages: Messages, deadline_s: float,
    models: Sequence[str], flight_id: int,
) -> None:
    try:
        msg: Any = CallDone(flight_id, await client.complete(messages, deadline_s, models))
    except ChatError as e:
        msg = CallFailed(flight_id, e)
    except Exception as e:  # noqa: BLE001 - a surprise still ends in exactly one answer
        msg = CallFailed(flight_id, ChatError(f"{type(e).__name__}: {e}", kind="network"))
    tell(ref, msg)


async def check_models(ref: pykka.ActorRef[Any], client: ChatClient, deadline_s: float) -> None:
    try:
        msg = ModelsChecked(await client.list_models(deadline_s))
    except ChatError as e:
        msg = ModelsChecked(None, e.reason)
    except Exception as e:  # noqa: BLE001
        msg = ModelsChecked(None, redact(f"{type(e).__name__}: {e}"))
    tell(ref, msg)
