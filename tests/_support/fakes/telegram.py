"""A stand-in for the Telegram Bot API on 127.0.0.1: `POST /bot<token>/sendMessage` and `getMe`.

    tg = FakeTelegram(token="123456:TEST-token")
    base = tg.start()            # "http://127.0.0.1:PORT": [notify] telegram_api_url
    tg.retry_after = 3           # answer 429 with parameters.retry_after (0: answer normally)
    tg.messages()                # what was sent: [{"chat_id": ..., "text": ...}, ...]
    tg.stop()

A wrong token gets 401 Unauthorized, as from Telegram. Answers carry the
fields aiogram's `Message` model needs.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from tests._support.fakes.webhook import LocalServer


class FakeTelegram(LocalServer):
    def __init__(self, token: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.token = token
        self.retry_after = 0
        self._next_id = 1

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self._method)

    def messages(self) -> list[dict[str, str]]:
        return [r.form for r in self.received() if r.path.endswith("/sendMessage")]

    async def _method(self, request: web.Request) -> web.Response:
        rec = await self.record(request)
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        if self.retry_after:
            return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests",
                                      "parameters": {"retry_after": self.retry_after}}, status=429)
        method = request.match_info["method"].lower()
        if method == "getme":
            return web.json_response({"ok": True, "result": {"id": 123456, "is_bot": True, "first_name": "Trader"}})
        if method != "sendmessage":
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        chat = rec.form.get("chat_id", "")
        message_id, self._next_id = self._next_id, self._next_id + 1
        chat_id: int | str = int(chat) if chat.lstrip("-").isdigit() else chat
        return web.json_response({"ok": True, "result": {
            "message_id": message_id, "date": int(time.time()), "text": rec.form.get("text", ""),
            "chat": {"id": chat_id if isinstance(chat_id, int) else -1001, "type": "private"}}})
