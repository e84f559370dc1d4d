"""The owner's chat on the notifier's loop: long polling, the commands, and the Approve / Reject buttons.

`Operator` lives on the `notify-io` loop and nothing else touches it (like
the status page's server on its loop). It polls with aiogram's
`Bot.get_updates` (long polling on `[notify] telegram_api_url`), lets the
`Doorman` (commands.py) say who may do what, asks the keeper without ever
blocking the loop (`ask(block=False)`, then `asyncio.to_thread(future.get,
timeout)`), and answers in plain text (answers.py). Controls go to the
keeper as the dashboard's do (`PauseBuying`, `ResumeTrading`, `HaltTrading`,
`CancelOpenOrder`), journaled there with who (`telegram (<user id> @name)`)
and why.

Polling rather than aiogram's `Dispatcher`: the product's rules are in the
polling itself (acknowledge every update with its offset, drop what was sent
before the start, one line for an outage, a bounded rate), and the
Dispatcher owns its own error loop, logging and signal handling.

The token never leaves aiogram's request URL: errors are logged redacted,
and no message text is built from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp
import pykka
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import AiogramError, TelegramRetryAfter, TelegramUnauthorizedError
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from loguru import logger

from actors._lib.secrets import Secret, redact
from actors.messages import (
    ApproveEntry,
    CancelOpenOrder,
    Clock,
    EntryApproval,
    EntryApprovalRequested,
    EntryApprovalResolved,
    GetStatus,
    HaltTrading,
    PauseBuying,
    RejectEntry,
    ResumeTrading,
    StatusSnapshot,
)
from actors.notify import answers, commands
from actors.notify.channels import chat_id_of

ALLOWED_UPDATES = ["message", "callback_query"]
PROFIT_TRADES = 500  # /profit sums the trades closed today among the last this many
MAX_BACKOFF_S = 60.0
CLOSE_WAIT_S = 1.5  # at stop: how long the answers and edits under way may take (within the notifier's drain)


@dataclass(frozen=True, slots=True)
class TelegramHealth:
    """Told to the notifier when polling fails the first time and when it works again (one line each)."""

    down: bool
    error: str = ""


@dataclass(slots=True)
class _Prompt:
    text: str
    message_id: int | None = None
    final: str | None = None  # resolved before the prompt was delivered: edit as soon as it is


def _why(exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {exc}")


class Operator:
    """Args:
    token, chat: TELEGRAM_BOT_TOKEN (a Secret) and TELEGRAM_CHAT_ID.
    admins: user ids allowed to change anything.
    keeper: the StateKeeper (asked, never waited on from the loop).
    mode, symbol, quote: for the answers.
    clock: wall time in ms (the start, the rate limit, ages).
    poll_s: the long poll's wait; ask_timeout_s: how long a keeper answer may take.
    """

    def __init__(self, token: Secret, chat: str, *, api_url: str, timeout_s: float, admins: frozenset[int],
                 keeper: pykka.ActorRef[Any], mode: str, symbol: str, quote: str, clock: Clock,
                 poll_s: int = 25, ask_timeout_s: float = 5.0) -> None:
        self._chat: int | str = chat_id_of(chat)
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_url), timeout=timeout_s)
        self._bot = Bot(token.reveal(), session=session)
        self._timeout_s = timeout_s
        self._admins = admins
        self._keeper = keeper
        self._mode, self._symbol, self._quote = mode, symbol, quote
        self._clock = clock
        self._poll_s = poll_s
        self._ask_timeout_s = ask_timeout_s
        self._door: commands.Doorman | None = None
        self._notifier: pykka.ActorRef[Any] | None = None
        self._offset: int | None = None
        self._prompts: dict[str, _Prompt] = {}  # approval id -> its message, for the entries asked this session
        self._tasks: set[asyncio.Task[Any]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._down = False
        self._in_order: asyncio.Lock | None = None  # commands are answered one at a time, in the order sent
        self.counts = {"updates": 0, "commands": 0, "answers": 0, "ignored": 0, "poll_failures": 0}

    # -- lifecycle (loop thread) ------------------------------------------------------

    async def start(self, notifier: pykka.ActorRef[Any]) -> None:
        """Start polling; everything sent before now is ignored."""
        self._notifier = notifier
        self._door = commands.Doorman(self._chat, self._admins, self._clock() // 1000)
        self._in_order = asyncio.Lock()
        self._poller = asyncio.create_task(self._poll_forever(), name="telegram-poll")

    async def close(self) -> None:
        """Stop polling, let the last answers and edits go out (briefly), acknowledge what was read (a restart
        must not see it again), close the session."""
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        if self._tasks:  # "CANCELLED: trading stopped" edits the waiting entry's message on the way out
            await asyncio.wait(list(self._tasks), timeout=CLOSE_WAIT_S)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            if self._offset is not None and not self._down:
                await self._bot.get_updates(offset=self._offset, timeout=0, limit=1, request_timeout=2)
        except (AiogramError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            logger.info("telegram: could not acknowledge the last updates at stop: {}", _why(exc))
        finally:
            await self._bot.session.close()

    def on_event(self, event: Any) -> None:
        """A keeper event handed over by the notifier (`call_soon`): approval prompts and their outcomes."""
        if isinstance(event, EntryApprovalRequested):
            self._spawn(self._prompt(event.approval))
        elif isinstance(event, EntryApprovalResolved):
            self._spawn(self._resolved(event.approval))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- polling ----------------------------------------------------------------------

    async def _poll_forever(self) -> None:
        delay = 1.0
        while True:
            try:
                updates = await self._bot.get_updates(offset=self._offset, timeout=self._poll_s,
                                                      allowed_updates=ALLOWED_UPDATES,
                                                      request_timeout=int(self._poll_s + self._timeout_s))
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
                continue
            except TelegramUnauthorizedError as exc:
                self._health(True, f"Telegram refused the bot token ({_why(exc)}); commands are off until a restart")
                return
            except (AiogramError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                self.counts["poll_failures"] += 1
                self._health(True, _why(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            delay = 1.0
            self._health(False)
            for update in updates:
                self._offset = update.update_id + 1  # acknowledged by the next poll
                self.counts["updates"] += 1
                try:
                    self._on_update(update)
                except Exception as exc:  # noqa: BLE001 - one bad update must not end the polling
                    logger.error("telegram: an update could not be handled: {}", _why(exc))

    def _health(self, down: bool, error: str = "") -> None:
        if down == self._down:
            return
        self._down = down
        if self._notifier is not None:
            try:
                self._notifier.tell(TelegramHealth(down, error))
            except pykka.ActorDeadError:
                pass

    # -- updates (sync: decide, then spawn the I/O) -----------------------------------

    def _on_update(self, update: Update) -> None:
        assert self._door is not None
        if update.message is not None:
            self._on_message(update.message)
        elif update.callback_query is not None:
            self._on_button(update.callback_query)

    def _admit(self, chat_id: int, chat_name: str | None, user_id: int | None, control: bool,
               sent_s: int | None) -> commands.Verdict:
        assert self._door is not None
        v = self._door.admit(chat_id, chat_name, user_id, control=control, sent_s=sent_s, now_ms=self._clock())
        if not v.ok:
            self.counts["ignored"] += 1
        if v.log is not None:
            (logger.info if v.why == "old" else logger.warning)("{}", v.log)
        return v

    def _on_message(self, m: Message) -> None:
        cmd = commands.parse(m.text)
        user = m.from_user
        sent_s = int(m.date.timestamp())
        v = self._admit(m.chat.id, m.chat.username, user.id if user else None,
                        bool(cmd and cmd.changes_something), sent_s)
        if not v.ok:
            if v.reply is not None:
                self._spawn(self._send(v.reply))
            return
        if cmd is None:
            return  # a chat line, not a command
        self.counts["commands"] += 1
        by = commands.who(user.id, user.username) if user else "telegram"
        logger.info("telegram: /{} from {}", cmd.name, by)
        self._spawn(self._command(cmd, by))

    def _on_button(self, q: CallbackQuery) -> None:
        msg = q.message
        verb, _, approval_id = (q.data or "").partition(":")
        chat_id = msg.chat.id if msg is not None else 0
        chat_name = msg.chat.username if msg is not None else None
        v = self._admit(chat_id, chat_name, q.from_user.id, True, None)
        if not v.ok:
            if v.why == "not_admin":
                self._spawn(self._pop_up(q.id, "Only an admin (notify.telegram_admins) may approve or reject."))
            return
        if verb not in ("approve", "reject") or approval_id not in self._prompts:
            # not asked this session (a restart expired it), or not ours: never forwarded to the keeper
            self._spawn(self._pop_up(q.id, answers.callback_answer(None)))
            if msg is not None and verb in ("approve", "reject"):
                self._spawn(self._edit(msg.message_id, "This entry no longer waits (from before a restart): "
                                                       "nothing was placed."))
            return
        by = commands.who(q.from_user.id, q.from_user.username)
        logger.info("telegram: {} {} from {}", verb, approval_id, by)
        self._spawn(self._answer(q.id, verb, approval_id, by))

    # -- I/O (loop tasks) ------------------------------------------------------------

    async def _ask(self, msg: Any) -> tuple[Any, str | None]:
        """The keeper's answer, waited for on a worker thread: the loop never blocks on an actor."""
        try:
            fut = self._keeper.ask(msg, block=False)
            return await asyncio.to_thread(fut.get, timeout=self._ask_timeout_s), None
        except pykka.Timeout:
            return None, f"the state keeper did not answer within {self._ask_timeout_s:g} s; try again"
        except pykka.ActorDeadError:
            return None, "the state keeper is not running (the bot is stopping?)"

    async def _command(self, cmd: commands.Command, by: str) -> None:
        assert self._in_order is not None
        async with self._in_order:  # "/pause" then "/status": the status already shows the pause
            text = await self._run_command(cmd, by)
            await self._send(text)

    async def _run_command(self, cmd: commands.Command, by: str) -> str:
        now = self._clock()
        reads: dict[str, tuple[int, Callable[[StatusSnapshot], str]]] = {
            "status": (0, lambda st: answers.status(st, self._mode, self._quote, now)),
            "profit": (PROFIT_TRADES, lambda st: answers.profit(st, self._quote, now)),
            "trades": (commands.count_arg(cmd.args), lambda st: answers.trades(st, commands.count_arg(cmd.args))),
            "why": (0, lambda st: answers.why(st, now)),
        }
        if cmd.name == "help":
            return commands.HELP
        if cmd.name in reads:
            recent, render = reads[cmd.name]
            st, error = await self._ask(GetStatus(recent_trades=recent))
            return render(st) if isinstance(st, StatusSnapshot) else f"No answer: {error or 'unexpected reply'}"
        controls: dict[str, Any] = {
            "pause": PauseBuying(by=by, reason=cmd.args), "resume": ResumeTrading(by=by, reason=cmd.args),
            "halt": HaltTrading(by=by, reason=cmd.args, flatten=False),
            "sell": HaltTrading(by=by, reason=cmd.args, flatten=True), "cancel": CancelOpenOrder(by=by, reason=cmd.args)}
        if cmd.name not in controls:
            return f"Unknown command /{cmd.name}. /help lists them."
        before = None
        if cmd.name == "cancel":  # what there was to cancel: the answer names it
            before, _error = await self._ask(GetStatus(recent_trades=0))
        st, error = await self._ask(controls[cmd.name])
        if not isinstance(st, StatusSnapshot):
            return f"Not done: {error or 'unexpected reply'}"
        return answers.control(cmd.name, st, before if isinstance(before, StatusSnapshot) else None)

    async def _answer(self, query_id: str, verb: str, approval_id: str, by: str) -> None:
        msg = ApproveEntry(approval_id=approval_id, by=by) if verb == "approve" else (
            RejectEntry(approval_id=approval_id, by=by))
        result, error = await self._ask(msg)
        done = result if isinstance(result, EntryApprovalResolved) else None
        text = answers.callback_answer(done.approval if done else None) if error is None else f"Not done: {error}"
        await self._pop_up(query_id, text)

    async def _prompt(self, a: EntryApproval) -> None:
        text = answers.prompt(a, self._symbol, self._quote)
        p = self._prompts[a.approval_id] = _Prompt(text)
        keys = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="Approve", callback_data=f"approve:{a.approval_id}"),
            InlineKeyboardButton(text="Reject", callback_data=f"reject:{a.approval_id}")]])
        sent = await self._call("send an approval request", self._bot.send_message(
            chat_id=self._chat, text=text, reply_markup=keys))
        if isinstance(sent, Message):
            p.message_id = sent.message_id
            if p.final is not None:
                await self._edit(sent.message_id, p.final)

    async def _resolved(self, a: EntryApproval) -> None:
        p = self._prompts.get(a.approval_id)
        line = answers.resolution(a)
        if p is None:
            return  # asked before this notifier started: there is no message to edit
        final = f"{p.text}\n\n{line}"
        if p.message_id is None:
            p.final = final  # the prompt is still on its way (or failed): it is edited when it arrives
            return
        await self._edit(p.message_id, final)

    async def _edit(self, message_id: int, text: str) -> None:
        await self._call("edit a message", self._bot.edit_message_text(
            chat_id=self._chat, message_id=message_id, text=text[:answers.MAX_MESSAGE]))

    async def _pop_up(self, query_id: str, text: str) -> None:
        await self._call("answer a button", self._bot.answer_callback_query(query_id, text=text[:200]))

    async def _send(self, text: str) -> None:
        self.counts["answers"] += 1
        await self._call("answer", self._bot.send_message(chat_id=self._chat, text=text[:answers.MAX_MESSAGE]))

    async def _call(self, what: str, request: Coroutine[Any, Any, Any]) -> Any:
        """One Bot API call; a failure is one INFO line (an outage is the poller's one warning)."""
        try:
            return await request
        except (AiogramError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            logger.info("telegram: could not {}: {}", what, _why(exc))
            return None
