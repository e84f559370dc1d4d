"""The owner's chat: which text is which command, and who may send it how often (pure, no I/O).

Only the chat in `TELEGRAM_CHAT_ID` is listened to; in it, anyone may read
(`/status`, `/profit`, `/trades`, `/why`, `/help`) but only the users in
`[notify] telegram_admins` may change anything (the controls and the
Approve / Reject buttons). Anything from another chat is ignored, logged
once per chat. Updates sent before the bot started are ignored (Telegram
keeps them while the bot is down: a restart must not act on yesterday's
`/sell`). The `Doorman` decides; the operator (`telegram_bot.py`) acts.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

READS = ("status", "profit", "trades", "why", "help")
CONTROLS = ("pause", "resume", "halt", "sell", "cancel")
ALIASES = {"start": "help"}  # Telegram's own first message
PER_MINUTE = 30  # updates acted on at most in any minute; more are ignored (one log line per minute)
MAX_ARGS = 200
_COMMAND = re.compile(r"^/([A-Za-z_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?:\s+(.*))?$", re.DOTALL)
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]+")
_NAME = re.compile(r"[^A-Za-z0-9_]")

HELP = """Commands:
/status - mode, state, position, equity, risk, feed
/profit - realised and unrealised P&L, today and since start
/trades [n] - the last n trades (5; at most 20)
/why - why the bot is in its state: blocks, last advice, last refusal
/pause [reason] - no new buys; exits go on
/resume - trade again
/halt - no new buys until /resume; the position stays
/sell - halt and sell what is held at the bid (through the risk gate)
/cancel - cancel the open order
/help - this list
Only admins (telegram_admins) may pause, resume, halt, sell, cancel, approve or reject."""


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # without the slash, lower case; unknown names too
    args: str  # one clean line, bounded (a reason is journaled)

    @property
    def changes_something(self) -> bool:
        return self.name in CONTROLS


def parse(text: str | None) -> Command | None:
    """`/trades 5`, `/pause@MyBot news at 14:00` -> Command; anything that is not a command -> None."""
    m = _COMMAND.match((text or "").strip())
    if m is None:
        return None
    name = m.group(1).lower()
    return Command(ALIASES.get(name, name), clean(m.group(3) or ""))


def clean(text: str, limit: int = MAX_ARGS) -> str:
    """One printable line, bounded: it is journaled and shown."""
    return " ".join(_UNPRINTABLE.sub(" ", text).split())[:limit]


def who(user_id: int, username: str | None) -> str:
    """How the journal names a Telegram user: the id (it never changes) and the @name (readable)."""
    name = _NAME.sub("", username or "")[:32]
    return f"telegram ({user_id}{' @' + name if name else ''})"


def count_arg(args: str, default: int = 5, most: int = 20) -> int:
    """`/trades [n]`: a number between 1 and `most`; anything else gives the default."""
    first = args.split(" ", 1)[0]
    return max(1, min(most, int(first))) if first.isdigit() else default


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    why: str = ""  # "old", "stranger", "not_admin", "flood"
    log: str | None = None  # the one line to log (None: said already)
    reply: str | None = None  # what to tell the sender, if anything


class Doorman:
    """Who may talk to the bot, and how often. `chat` is TELEGRAM_CHAT_ID: a number, or @channelname."""

    def __init__(self, chat: int | str, admins: frozenset[int], started_s: int, per_minute: int = PER_MINUTE) -> None:
        self.chat = chat
        self.admins = admins
        self.started_s = started_s
        self.per_minute = per_minute
        self._seen: deque[int] = deque()  # times (ms) of the updates acted on within the last minute
        self._strangers: set[int] = set()
        self._refused: set[int] = set()
        self._old = 0
        self._flood_logged_ms = -60_000
        self.ignored = 0

    def is_owner_chat(self, chat_id: int, chat_username: str | None) -> bool:
        if isinstance(self.chat, int):
            return chat_id == self.chat
        return ("@" + (chat_username or "")).lower() == self.chat.lower()

    def admit(self, chat_id: int, chat_username: str | None, user_id: int | None, *, control: bool,
              sent_s: int | None, now_ms: int) -> Verdict:
        """Whether to act on one update: a message (`sent_s` its date) or a button (`sent_s` None)."""
        if not self.is_owner_chat(chat_id, chat_username):
            self.ignored += 1
            first = chat_id not in self._strangers
            self._strangers.add(chat_id)
            return Verdict(False, "stranger", f"telegram: ignoring updates from chat {chat_id} (not TELEGRAM_CHAT_ID); "
                                              "said once per chat" if first else None)
        if sent_s is not None and sent_s < self.started_s:
            self.ignored += 1
            self._old += 1
            return Verdict(False, "old", "telegram: ignoring commands sent before the bot started (said once)"
                           if self._old == 1 else None)
        while self._seen and now_ms - self._seen[0] >= 60_000:
            self._seen.popleft()
        if len(self._seen) >= self.per_minute:
            self.ignored += 1
            log = None
            if now_ms - self._flood_logged_ms >= 60_000:
                self._flood_logged_ms = now_ms
                log = f"telegram: more than {self.per_minute} updates a minute; ignoring the rest of this minute"
            return Verdict(False, "flood", log)
        self._seen.append(now_ms)
        if control and (user_id is None or user_id not in self.admins):
            uid = user_id or 0
            first = uid not in self._refused
            self._refused.add(uid)
            return Verdict(False, "not_admin",
                           f"telegram: refused a control from user {uid} (not in notify.telegram_admins)" if first else None,
                           "Only an admin (notify.telegram_admins) may do that; /status, /profit, /trades and /why "
                           "are open to this chat.")
        return Verdict(True)
