"""Start-up checks with `--exchange binance` (testnet or mainnet): what a careful trader checks by hand first.

- the key can trade spot (`canTrade` of `GET /api/v3/account`), and Binance
  accepts it at all (a -2015 means a wrong key, IP or network);
- the key cannot withdraw (`enableWithdrawals` of `GET /sapi/v1/account/apiRestrictions`):
  a warning, not a refusal; the Spot Testnet has no `/sapi`, so there (or
  wherever it cannot be read) that is said once instead;
- the symbol is TRADING and takes LIMIT orders (exchangeInfo `status`, `orderTypes`);
- the clock's offset from Binance's (`GET /api/v3/time`), shown, and a warning
  when it is large enough to matter.

`read` asks Binance on a short-lived loop of its own, before any actor starts
(`actors/app.py`); `judge` is pure: answers in, refusals (each naming what to
change), warnings and notes out.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from actors._lib.secrets import Secret
from actors.binance import constants as c
from actors.binance.errors import OutcomeUnknown, Refused, why
from actors.binance.rest import BinanceRest
from actors.binance.signing import Signer
from actors.settings import Settings

CLOCK_WARN_MS = 1000  # Binance refuses a timestamp more than 1000 ms ahead of its clock


@dataclass(frozen=True, slots=True)
class Answers:
    """What Binance said; a field is None when it could not be read, and the `*_error` says why."""

    offset_ms: int | None = None  # Binance's clock minus this machine's
    round_trip_ms: int | None = None
    time_error: str = ""
    symbol_status: str | None = None
    order_types: tuple[str, ...] | None = None
    info_error: str = ""
    can_trade: bool | None = None
    account_error: str = ""
    key_refused: bool = False  # Binance answered no to the key itself (a definitive refusal)
    withdrawals: bool | None = None
    ip_restricted: bool | None = None
    restrictions_error: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    refusals: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


async def _time(rest: BinanceRest) -> tuple[int, int]:
    t0 = time.monotonic()
    await rest.sync_time()  # offset = serverTime - (t_send + t_recv) / 2; signed requests use it
    return rest.offset_ms, round((time.monotonic() - t0) * 1000)


async def _ask(rest: BinanceRest, symbol: str) -> Answers:
    out: dict[str, Any] = {}
    try:
        out["offset_ms"], out["round_trip_ms"] = await _time(rest)
    except (Refused, OutcomeUnknown, KeyError, ValueError, TypeError) as exc:
        out["time_error"] = why(exc)
    answers: tuple[Any, ...] = await asyncio.gather(
        rest.request("GET", c.EXCHANGE_INFO_PATH, {"symbol": symbol}),
        rest.signed("GET", c.ACCOUNT_PATH, {"omitZeroBalances": "true"}),
        rest.signed("GET", c.API_RESTRICTIONS_PATH),
        return_exceptions=True)
    info, account, limits = answers
    if isinstance(info, BaseException):
        out["info_error"] = why(info)
    else:
        entry = next((s for s in (info or {}).get("symbols", ()) if s.get("symbol") == symbol), None)
        if entry is None:
            out["info_error"] = f"{symbol} is not listed"
        else:
            out["symbol_status"] = str(entry.get("status", ""))
            out["order_types"] = tuple(str(t) for t in entry.get("orderTypes", ()))
    if isinstance(account, BaseException):
        out["account_error"] = why(account)
        out["key_refused"] = isinstance(account, Refused)
    elif isinstance(account, dict) and isinstance(account.get("canTrade"), bool):
        out["can_trade"] = account["canTrade"]
    else:
        out["account_error"] = "the account answer has no canTrade"
    if isinstance(limits, BaseException):
        out["restrictions_error"] = why(limits)
    elif isinstance(limits, dict) and isinstance(limits.get("enableWithdrawals"), bool):
        out["withdrawals"] = limits["enableWithdrawals"]
        ip = limits.get("ipRestrict")
        out["ip_restricted"] = ip if isinstance(ip, bool) else None
    else:
        out["restrictions_error"] = "the answer has no enableWithdrawals"
    return Answers(**out)


def read(settings: Settings, api_key: Secret, api_secret: Secret, timeout_s: float) -> Answers:
    """Ask Binance (blocking the caller, the main thread before any actor runs) for at most `timeout_s`."""
    async def run() -> Answers:
        rest = BinanceRest(settings.exchange.rest_url, api_key, Signer(api_secret),
                           recv_window_ms=settings.exchange.recv_window_ms, timeout_s=timeout_s,
                           max_rate_limit_retries=0)
        try:
            return await asyncio.wait_for(_ask(rest, settings.symbol), timeout_s)
        except TimeoutError:
            return Answers(time_error="no answer", info_error="no answer", account_error="no answer",
                           restrictions_error="no answer")
        finally:
            await rest.close()

    return asyncio.run(run())


def judge(a: Answers, settings: Settings) -> Verdict:
    """Refusals (each names what to change), warnings, and notes to show; pure."""
    testnet = settings.exchange.network == "testnet"
    venue = "the Spot Testnet" if testnet else "Binance"
    keys = "BINANCE_TESTNET_API_KEY / BINANCE_TESTNET_API_SECRET" if testnet else "BINANCE_API_KEY / BINANCE_API_SECRET"
    sym = settings.symbol
    refusals: list[str] = []
    warnings: list[str] = []
    notes: list[str] = []
    if a.key_refused:
        refusals.append(f"{venue} refused the API key ({a.account_error}): set {keys} to a key of "
                        f"{'testnet.binance.vision' if testnet else 'your Binance account'}, and check its IP "
                        "restriction allows this machine.")
    elif a.can_trade is False:
        refusals.append(f"the API key cannot trade spot (canTrade = false): enable \"Spot & Margin Trading\" for it "
                        f"in {'the testnet key page' if testnet else 'API Management'}, or set {keys} to a key that has it.")
    elif a.can_trade is None:
        warnings.append(f"could not check that the key can trade spot ({a.account_error})")
    if a.symbol_status is not None and a.symbol_status != c.SYMBOL_TRADING:
        refusals.append(f"{sym} is {a.symbol_status} on {venue}, not TRADING: no order could be placed. Start again "
                        "when it trades, or set symbol to a pair that does.")
    if a.order_types is not None and "LIMIT" not in a.order_types:
        refusals.append(f"{sym} takes no LIMIT orders on {venue} (orderTypes {', '.join(a.order_types) or 'none'}): "
                        "this bot places only LIMIT orders; set symbol to a pair that takes them.")
    if a.symbol_status is None:
        if a.info_error.endswith("is not listed") or "-1121" in a.info_error:
            refusals.append(f"{sym} is not listed on {venue}: set symbol to a pair it lists.")
        else:
            warnings.append(f"could not check that {sym} is TRADING and takes LIMIT orders ({a.info_error})")
    if a.withdrawals:
        warnings.append("the API key can WITHDRAW (enableWithdrawals = true): whoever steals it can empty the account. "
                        "Turn off \"Enable Withdrawals\" for this key in API Management: the bot never withdraws.")
    if a.ip_restricted is False:
        warnings.append("the API key is not restricted to trusted IPs: restrict it to this machine's address "
                        "in API Management.")
    if a.withdrawals is None:
        where = "the Spot Testnet has no /sapi endpoints" if testnet else a.restrictions_error
        notes.append(f"whether the key can withdraw could not be read ({c.API_RESTRICTIONS_PATH}: {where}): "
                     "check by hand that withdrawals are off for it")
    if a.offset_ms is None:
        warnings.append(f"the clock skew could not be measured ({a.time_error})")
    else:
        side = "behind" if a.offset_ms >= 0 else "ahead of"
        text = (f"clock: this machine is {abs(a.offset_ms)} ms {side} {venue} (round trip {a.round_trip_ms} ms); "
                "signed requests are corrected by it")
        if abs(a.offset_ms) >= CLOCK_WARN_MS:
            warnings.append(f"{text}, but a clock this far off drifts: run NTP (recvWindow is "
                            f"{settings.exchange.recv_window_ms} ms)")
        else:
            notes.append(text)
    return Verdict(tuple(refusals), tuple(warnings), tuple(notes))


__all__ = ["Answers", "Verdict", "judge", "read"]
