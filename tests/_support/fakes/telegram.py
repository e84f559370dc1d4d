"""A stand-in for the Telegram Bot API on 127.0.0.1: `getMe`, `sendMessage`, `getUpdates`, `editMessageText`,
`answerCallbackQuery`.

    tg = FakeTelegram(token="123456:TEST-token")
    base = tg.start()            # "http://127.0.0.1:PORT": [notify] telegram_api_url
    tg.retry_after = 3           # answer 429 with parameters.retry_after (0: answer normally)
    tg.messages()                # what was sent: [{"chat_id": ..., "text": ..., "reply_markup": ...}, ...]
    tg.command("/status", chat_id=42, user_id=7)      # a message the bot will read with getUpdates
    tg.press("approve:tb-a1", message_id=3, chat_id=42, user_id=7)   # an inline button tapped
    tg.edits(), tg.pop_ups()     # editMessageText and answerCallbackQuery calls
    tg.stop()

`getUpdates` works as Telegram's does: updates wait until a call with an
`offset` above their id confirms them, and a long poll (`timeout`) returns
as soon as one arrives (at most `max_wait_s` later: tests stay quick). A
wrong token gets 401 Unauthorized. Answers carry the fields aiogram's models
need.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from aiohttp import web

from tests._support.fakes.webhook import LocalServer


class FakeTelegram(LocalServer):
    def __init__(self, token: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.token = token
        self.retry_after = 0
        self.max_wait_s = 0.5
        self._next_id = 1
        self._update_ids = itertools.count(1)
        self._updates: list[dict[str, Any]] = []  # not yet confirmed, oldest first
        self.offsets: list[int | None] = []  # the offset of every getUpdates call
        self._arrived: asyncio.Event | None = None

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self._method)

    # -- what the bot sent --------------------------------------------------------------

    def _calls(self, method: str) -> list[dict[str, str]]:
        return [r.form for r in self.received() if r.path.endswith("/" + method)]

    def messages(self) -> list[dict[str, str]]:
        return self._calls("sendMessage")

    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages()]

    def edits(self) -> list[dict[str, str]]:
        return self._calls("editMessageText")

    def pop_ups(self) -> list[dict[str, str]]:
        return self._calls("answerCallbackQuery")

    def polls(self) -> int:
        return len(self.offsets)

    # -- what the owner (or a stranger) does --------------------------------------------

    def pending(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._updates)

    def _push(self, kind: str, body: dict[str, Any]) -> int:
        with self._cond:
            uid = next(self._update_ids)
            self._updates.append({"update_id": uid, kind: body})
        loop, arrived = self._loop, self._arrived
        if loop is not None and arrived is not None:
            loop.call_soon_threadsafe(arrived.set)
        return uid

    @staticmethod
    def _user(user_id: int, username: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Owner"}
        if username:
            user["username"] = username
        return user

    def command(self, text: str, *, chat_id: int, user_id: int, username: str | None = "owner",
                date: int | None = None) -> int:
        """A message in `chat_id` from `user_id`; `date` (unix seconds) defaults to now. Returns its update id."""
        msg_id, self._next_id = self._next_id, self._next_id + 1
        return self._push("message", {
            "message_id": msg_id, "date": int(time.time()) if date is None else date,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": self._user(user_id, username), "text": text})

    def press(self, data: str, *, message_id: int, chat_id: int, user_id: int, username: str | None = "owner",
              text: str = "") -> int:
        """An inline button tapped under the bot's message `message_id`."""
        return self._push("callback_query", {
            "id": f"cq{self._next_id}-{time.monotonic_ns()}", "from": self._user(user_id, username),
            "chat_instance": "ci", "data": data,
            "message": {"message_id": message_id, "date": int(time.time()), "text": text,
                        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                        "from": {"id": 123456, "is_bot": True, "first_name": "Trader"}}})

    # -- the API ----------------------------------------------------------------------

    async def _method(self, request: web.Request) -> web.Response:
        rec = await self.record(request)
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        if self.retry_after:
            return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests",
                                      "parameters": {"retry_after": self.retry_after}}, status=429)
        method = request.match_info["method"].lower()
        form = rec.form
        if method == "getme":
            return _ok({"id": 123456, "is_bot": True, "first_name": "Trader"})
        if method == "getupdates":
            return _ok(await self._get_updates(form))
        if method == "answercallbackquery":
            return _ok(True)
        if method == "editmessagetext":
            return _ok(self._message(form, int(form.get("message_id", 0))))
        if method != "sendmessage":
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        message_id, self._next_id = self._next_id, self._next_id + 1
        return _ok(self._message(form, message_id))

    def _message(self, form: dict[str, str], message_id: int) -> dict[str, Any]:
        chat = form.get("chat_id", "")
        chat_id: int | str = int(chat) if chat.lstrip("-").isdigit() else chat
        out: dict[str, Any] = {"message_id": message_id, "date": int(time.time()), "text": form.get("text", ""),
                               "chat": {"id": chat_id if isinstance(chat_id, int) else -1001, "type": "private"}}
        if form.get("reply_markup"):
            out["reply_markup"] = json.loads(form["reply_markup"])
        return out

    async def _get_updates(self, form: dict[str, str]) -> list[dict[str, Any]]:
        offset = int(form["offset"]) if form.get("offset") else None
        wait = min(float(form.get("timeout") or 0), self.max_wait_s)
        self.offsets.append(offset)
        if self._arrived is None:
            self._arrived = asyncio.Event()
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            with self._cond:
                if offset is not None:  # confirmed: never sent again
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                found = list(self._updates)
                self._arrived.clear()
            left = deadline - asyncio.get_running_loop().time()
            if found or left <= 0:
                return found
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                pass


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})
