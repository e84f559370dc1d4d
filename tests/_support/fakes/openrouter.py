"""A stand-in for OpenRouter on 127.0.0.1, so no test ever touches the internet.

In a test:

    fake = FakeOpenRouter(api_key="sk-or-v1-test...")
    base_url = fake.start()              # "http://127.0.0.1:PORT/api/v1"
    fake.push(Reply.hang())              # scripted replies, one per chat request, in order
    fake.push(Reply.drop_connection())   # close the connection without an answer
    ...
    fake.chat_requests()                 # what was sent: headers, body
    fake.stop()

With no script left it answers like a sensible model ("smart" mode: buy at
the best bid, sell at the best ask or min_sell_price, whichever is higher,
read from the prompt), so an end-to-end run can trade through it:

    python -m tests.fakes.openrouter --port 8799

`Reply.quirk(name, ...)` builds each way DeepSeek output breaks
(reference/openrouter.md section 4); `QUIRKS` lists the names.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

from aiohttp import web

from actors.messages import AdviceRequest, Candle, MarketSnapshot, SymbolFilters, TradingState

DEFAULT_MODELS = (
    "deepseek/deepseek-chat",
    "deepseek/deepseek-chat-v3-0324",
    "deepseek/deepseek-chat-v3.1",
    "deepseek/deepseek-v3.2",
    "deepseek/deepseek-r1-0528",
)
USAGE = {"prompt_tokens": 480, "completion_tokens": 60, "total_tokens": 540, "cost": 0.00021}
HANG_LIMIT_S = 120.0


def advice_text(
    action: str = "buy",
    base_price: Any = "9.99",
    price_range: Any = ("9.98", "10.00"),
    confidence: Any = "0.85",
    reasoning: str = "bids lean on the book",
) -> str:
    """The seed's advice object as json text; numbers given as str are written bare (exact)."""
    def num(v: Any) -> str:
        return str(v) if isinstance(v, (str, int, Decimal)) else json.dumps(v)

    rng = "[" + ", ".join(num(x) for x in price_range) + "]" if price_range is not None else "null"
    return (
        f'{{"action": "{action}", "base_price": {num(base_price)}, "price_range": {rng}, '
        f'"confidence": {num(confidence)}, "reasoning": {json.dumps(reasoning)}}}'
    )


def completion(
    content: str | None,
    *,
    finish_reason: str | None = "stop",
    model: str = "deepseek/deepseek-chat-v3.1",
    reasoning: str | None = None,
    usage: dict[str, Any] | None = None,
    choice_error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A chat.completion body in OpenRouter's shape."""
    return {
        "id": f"gen-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "provider": "FakeProvider",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "native_finish_reason": finish_reason,
                "message": {"role": "assistant", "content": content, "reasoning": reasoning, "refusal": None},
                "error": choice_error,
            }
        ],
        "usage": dict(USAGE if usage is None else usage),
    }


def error_body(code: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


@dataclass
class Reply:
    """One scripted answer. `body` dict → json, str → raw text; `hang` never answers (until stop)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    hang: bool = False
    content_type: str = "application/json"
    echo_auth: bool = False  # put the Authorization header the client sent into the error message
    disconnect: bool = False  # close the connection without any HTTP answer

    @classmethod
    def advice(cls, delay_s: float = 0.0, **fields: Any) -> Reply:
        return cls(body=completion(advice_text(**fields)), delay_s=delay_s)

    @classmethod
    def content(cls, content: str | None, **kw: Any) -> Reply:
        return cls(body=completion(content, **kw))

    @classmethod
    def hang_forever(cls) -> Reply:
        return cls(hang=True)

    @classmethod
    def drop_connection(cls) -> Reply:
        return cls(disconnect=True)

    @classmethod
    def status_error(cls, status: int, message: str = "", retry_after: float | None = None, **extra: Any) -> Reply:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return cls(status=status, body=error_body(status, message or f"error {status}", **extra), headers=headers)

    @classmethod
    def quirk(cls, name: str, **fields: Any) -> Reply:
        """A reply showing one DeepSeek failure mode around the advice `fields`."""
        text = advice_text(**fields)
        make = QUIRKS[name]
        return make(text)


QUIRKS: dict[str, Any] = {
    "valid": lambda t: Reply.content(t),
    "think": lambda t: Reply.content(f"<think>\nThe bid {{looks}} strong.\n</think>\n{t}"),
    "think_close_only": lambda t: Reply.content(f"thinking about it...</think>{t}"),
    "reasoning_only": lambda t: Reply.content("", reasoning=f"I would say {t}"),
    "reasoning_length": lambda t: Reply.content("", finish_reason="length", reasoning="Let me think " * 50),
    "fence": lambda t: Reply.content(f"```json\n{t}\n```"),
    "prose": lambda t: Reply.content(f"Here is my advice:\n{t}\nGood luck with {{your}} trade!"),
    "bom_zero_width": lambda t: Reply.content("\ufeff\u200b" + t),
    "blank": lambda t: Reply.content("   \n  "),
    "null_content": lambda t: Reply.content(None),
    "length": lambda t: Reply.content(t[: len(t) // 2], finish_reason="length"),
    "truncated_stop": lambda t: Reply.content(t[: len(t) // 2]),
    "nan": lambda t: Reply.content(t.replace('"confidence": ', '"confidence": NaN, "x": ', 1)),
    "infinity": lambda t: Reply.content(t.replace('"base_price": ', '"base_price": Infinity, "y": ', 1)),
    "duplicate_keys": lambda t: Reply.content(t[:-1] + ', "action": "sell"}'),
    "error_200": lambda t: Reply(body=error_body(502, "Provider returned error", metadata={"error_type": "provider_unavailable"})),
    "error_200_rate": lambda t: Reply(body=error_body(429, "Rate limit exceeded: free-models-per-day")),
    "choice_error": lambda t: Reply(body=completion("", finish_reason="error", choice_error={"code": 502, "message": "upstream died"})),
    "no_choices": lambda t: Reply(body={"id": "gen-x", "choices": [], "usage": USAGE}),
    "html_502": lambda t: Reply(status=502, body="<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html"),
    "html_200": lambda t: Reply(status=200, body="<html>cloudflare says hi</html>", content_type="text/html"),
}


def _smart_answer(body: dict[str, Any]) -> str:
    """Read the facts json from the user message and answer like a cautious maker."""
    try:
        user = [m for m in body.get("messages", []) if m.get("role") == "user"][-1]["content"]
        facts = json.loads(user[user.index("{"):], parse_float=Decimal, parse_int=Decimal)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return advice_text("hold", None, None, "0.5", "could not read the snapshot")
    proposal = facts.get("proposal")
    if isinstance(proposal, dict):  # [ai] role = "confirm": agree with the strategy
        return json.dumps({"action": proposal.get("action"), "confidence": 0.9, "reasoning": "fake model: agreed"})
    state, bid, ask = facts.get("state"), facts.get("best_bid"), facts.get("best_ask")
    tick = facts.get("tick_size") or Decimal("0.01")
    if state == "ready_to_buy" and bid:
        return advice_text("buy", str(bid), (str(bid - tick), str(bid)), "0.8", "fake model: join the best bid")
    if state == "ready_to_sell" and ask:
        floor = facts.get("min_sell_price") or facts.get("break_even_sell_price") or ask
        price = max(ask, floor)
        return advice_text("sell", str(price), (str(price), str(price + tick)), "0.8", "fake model: offer above the floor")
    return advice_text("hold", None, None, "0.6", "fake model: an order is working")


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    text: str
    json: Any


class FakeOpenRouter:
    """An aiohttp server on its own thread and loop; thread-safe to script and inspect from tests."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: tuple[str, ...] = DEFAULT_MODELS,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key  # None: any bearer token is accepted
        self.models = models
        self.host, self.port = host, port
        self.default: Reply | None = None  # None: the smart answer
        self.models_reply: Reply | None = None  # override GET /models
        self._script: deque[Reply] = deque()
        self._requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- control (any thread) --

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/v1"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._run, name="fake-openrouter", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise RuntimeError(f"the fake OpenRouter did not start: {self._error!r}")
        return self.base_url

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        fut.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def clear(self) -> None:
        with self._lock:
            self._script.clear()
            self._requests.clear()

    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests() if r.path.endswith("/chat/completions")]

    # -- server (its own thread) --

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._setup())
        except BaseException as e:  # noqa: BLE001 - reported by start()
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _setup(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_post("/api/v1/chat/completions", self._chat)
        app.router.add_get("/api/v1/models", self._models)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        assert self._release is not None and self._runner is not None
        self._release.set()
        await self._runner.cleanup()

    async def _record(self, request: web.Request) -> Recorded:
        text = await request.text()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        rec = Recorded(request.method, request.path, request.query_string, dict(request.headers), text, parsed)
        with self._lock:
            self._requests.append(rec)
        return rec

    def _unauthorised(self, rec: Recorded) -> web.Response | None:
        if self.api_key is None or rec.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        return web.json_response(error_body(401, "No auth credentials found"), status=401)

    async def _models(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        if (denied := self._unauthorised(rec)) is not None:
            return denied
        if self.models_reply is not None:
            return await self._send(self.models_reply, rec)
        data = [{"id": m, "context_length": 163840, "pricing": {"prompt": "0.0000002", "completion": "0.0000008"},
                 "supported_parameters": ["response_format", "reasoning", "max_tokens", "temperature"]}
                for m in self.models]
        return web.json_response({"data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        if (denied := self._unauthorised(rec)) is not None:
            return denied
        body = rec.json if isinstance(rec.json, dict) else {}
        model = body.get("model")
        if model is not None and model not in self.models:
            return web.json_response(
                error_body(400, f"{model} is not a valid model ID",
                           availability={"code": "model_not_found", "retryable": False}),
                status=400,
            )
        with self._lock:
            reply = self._script.popleft() if self._script else None
        if reply is None:
            reply = self.default or Reply(body=completion(_smart_answer(body)))
        if reply.disconnect and request.transport is not None:
            request.transport.close()  # the client sees the server disconnect, with no status
        return await self._send(reply, rec)

    async def _send(self, reply: Reply, rec: Recorded) -> web.StreamResponse:
        assert self._release is not None
        if reply.hang:
            try:
                await asyncio.wait_for(self._release.wait(), HANG_LIMIT_S)
            except TimeoutError:
                pass
            return web.json_response(error_body(504, "hung reply released"), status=504)
        if reply.delay_s:
            try:
                await asyncio.wait_for(self._release.wait(), reply.delay_s)
            except TimeoutError:
                pass
        body = reply.body
        if reply.echo_auth:
            body = error_body(reply.status, f"invalid credentials: {rec.headers.get('Authorization')}")
        text = body if isinstance(body, str) else json.dumps(body if body is not None else {})
        return web.Response(status=reply.status, text=text, headers=reply.headers, content_type=reply.content_type)


# -- requests to drive the consultant with (for tests and end-to-end runs) ------------------


def sample_filters(symbol: str = "TRUMPUSDC", tick: str = "0.01") -> SymbolFilters:
    return SymbolFilters(
        symbol=symbol, base_asset="TRUMP", quote_asset="USDC", tick_size=Decimal(tick),
        step_size=Decimal("0.001"), min_qty=Decimal("0.001"), max_qty=Decimal("9000000"), min_notional=Decimal(1),
    )


def sample_snapshot(
    mid: Decimal | str = "10.005", *, spread: Decimal | str = "0.01", seq: int = 1, ts_ms: int = 1_700_000_000_000,
    imbalance: str = "0.1", volatility: str | None = "0.001", symbol: str = "TRUMPUSDC", regime: str = "up",
) -> MarketSnapshot:
    """A quiet book in an up trend (slow EMA 2 % under the price, 1 % hourly volatility): the rule-based
    advisor buys it; pass regime="" for a market whose trend is not known yet."""
    mid, spread = Decimal(mid), Decimal(spread)
    bid, ask = mid - spread / 2, mid + spread / 2
    candles = tuple(
        Candle(open_ms=ts_ms - (5 - i) * 60_000, open=mid, high=ask, low=bid, close=mid, volume=Decimal(100))
        for i in range(5)
    )
    return MarketSnapshot(
        symbol=symbol, seq=seq, ts_data_ms=ts_ms, ts_snapshot_ms=ts_ms, bid=bid, bid_qty=Decimal(50), ask=ask,
        ask_qty=Decimal(40), mid=mid, spread_bps=spread / mid * 10000, imbalance=Decimal(imbalance), microprice=mid,
        last_price=mid, last_qty=Decimal(1), vwap=mid, volatility=Decimal(volatility) if volatility else None,
        trade_flow_imbalance=Decimal("0.05"), candles=candles, regime=regime,
        trend_fast=mid if regime else None, trend_slow=(mid * Decimal("0.98")).quantize(Decimal("0.0001")) if regime else None,
        vol_hourly=Decimal("0.01") if regime else None,
    )


def sample_request(
    request_id: str = "r1",
    *,
    state: TradingState = TradingState.READY_TO_BUY,
    mid: Decimal | str = "10.005",
    ts_ms: int = 1_700_000_000_000,
    entry_price: Decimal | str | None = None,
    min_sell_price: Decimal | str | None = None,
    reply_to: Any = None,
    **snapshot_kw: Any,
) -> AdviceRequest:
    """An AdviceRequest like the StateKeeper sends (position and break-even filled in for a sell)."""
    fee, profit = Decimal("0.001"), Decimal("0.002")
    held = state in (TradingState.READY_TO_SELL, TradingState.SELLING)
    entry = Decimal(entry_price) if entry_price is not None else (Decimal(mid) if held else None)
    break_even = (entry * (1 + fee) / (1 - fee)).quantize(Decimal("0.0001")) if entry is not None else None
    if min_sell_price is not None:
        min_sell = Decimal(min_sell_price)
    elif break_even is not None:
        min_sell = (break_even * (1 + profit)).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
    else:
        min_sell = None
    return AdviceRequest(
        request_id=request_id, symbol="TRUMPUSDC", state=state,
        snapshot=sample_snapshot(mid, ts_ms=ts_ms, **snapshot_kw), filters=sample_filters(),
        position_qty=Decimal("0.999") if held else Decimal(0), entry_price=entry, fee_rate=fee, min_profit=profit,
        break_even_price=break_even, min_sell_price=min_sell, quote_per_trade=Decimal(10), ts_ms=ts_ms,
        reply_to=reply_to,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fake OpenRouter (smart answers) on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-key", default=None, help="accept only this bearer token (default: any)")
    args = parser.parse_args()
    fake = FakeOpenRouter(api_key=args.api_key, host=args.host, port=args.port)
    print(f"fake OpenRouter at {fake.start()} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
