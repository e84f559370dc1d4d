"""Checks before the first order: a run that must not trade, or never could, stops at start with one message.

Pure functions over the settings (no threads, no network): each returns the
refusals it finds, and each refusal names the setting and a value that would
work. `bootstrap.py` prints them and exits 2. Checks that need the data
(a replay file's symbol and price scale) are added beside these, with one
call in `bootstrap.py`.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from urllib.parse import urlsplit

from actors.settings import Settings

CENT = Decimal("0.01")
HEADROOM = Decimal("1.05")  # a trade size this much above the minimum survives the lot-size rounding


def mode_refusal(s: Settings) -> str | None:
    """Real orders are only ever priced from the same venue's live data."""
    if s.exchange.kind != "binance" or s.market.source == "binance":
        return None
    if s.exchange.network == "testnet":
        return (f"exchange.network = 'testnet' places orders on the Spot Testnet, but market.source = "
                f"{s.market.source!r} would price them from a simulated or recorded market, not the testnet's live "
                "one. Type: python bootstrap.py --testnet  (it trades on the testnet's own streams).")
    return (f"exchange.kind = 'binance' places REAL orders, but market.source = {s.market.source!r} would price "
            f"them from a {'simulated' if s.market.source == 'synthetic' else 'recorded'} market, not Binance's "
            "live one. Real orders are only priced from the same venue's live data. Type: "
            "python bootstrap.py --exchange binance --market binance --yes-real-money  "
            "(or --exchange paper to test against the simulated or recorded market).")


def network_of(url: str) -> str | None:
    """"testnet" or "mainnet" for Binance's own hosts; None for any other (a proxy, a stand-in): it cannot be told."""
    from actors.binance import constants as c

    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if any(host == h or host.endswith("." + h) for h in c.TESTNET_HOST_SUFFIXES):
        return "testnet"
    if any(host == h or host.endswith("." + h) for h in c.MAINNET_HOST_SUFFIXES):
        return "mainnet"
    return None


def network_refusal(s: Settings) -> str | None:
    """Testnet orders only from testnet streams, mainnet orders only from mainnet ones: any mix is refused."""
    e, m = s.exchange, s.market
    testnet = e.network == "testnet"
    if testnet and e.kind != "binance":
        return ("exchange.network = 'testnet' trades real orders on Binance's Spot Testnet, but exchange.kind = "
                f"{e.kind!r} would not send them there. Type: python bootstrap.py --testnet  (or set exchange.kind = "
                "'binance'); for paper trading on live data drop exchange.network and use --market binance.")
    if e.kind != "binance":
        return None
    urls = {"exchange.rest_url": e.rest_url, "exchange.ws_api_url": e.ws_api_url, "market.stream_url": m.stream_url,
            "market.rest_url": m.rest_url}
    other = "mainnet" if testnet else "testnet"
    wrong = [f"{key} = {url!r}" for key, url in urls.items() if url and network_of(url) == other]
    if not wrong:
        return None
    here = "Binance's Spot Testnet" if testnet else "Binance mainnet (REAL money)"
    return (f"exchange.network = {e.network!r} places orders on {here}, but {', '.join(wrong)} "
            f"{'is' if len(wrong) == 1 else 'are'} on the {other}: orders are only ever priced from the same "
            f"venue's live data. Remove {'it' if len(wrong) == 1 else 'them'} (an address left at its mainnet "
            f"default follows exchange.network) or set {e.network} addresses"
            + (", or run on the testnet with --testnet." if not testnet else "."))


def replay_refusal(s: Settings) -> str | None:
    """A replay file with another market source is a contradiction, not something to ignore."""
    if s.market.replay_path and s.market.source != "replay":
        return (f"market.replay_path = {s.market.replay_path!r} is set but market.source = {s.market.source!r}: "
                "a replay path means --market replay. Drop --market (a replay path implies replay), "
                "or drop the replay path.")
    return None


def _round_up(value: Decimal, unit: Decimal) -> Decimal:
    return (value / unit).to_integral_value(rounding=ROUND_CEILING) * unit


def least_trade_size(s: Settings, price: Decimal | None) -> Decimal:
    """The smallest `quote_per_trade` that buys at least the minimum notional and quantity at `price`."""
    e = s.exchange
    if price is None or price <= 0:
        return _round_up(e.min_notional * HEADROOM, CENT)
    qty = max(_round_up(e.min_notional / price, e.step_size), _round_up(e.min_qty, e.step_size))
    return _round_up(qty * price, CENT)


def trade_size_refusals(s: Settings, price: Decimal | None = None) -> list[str]:
    """`trading.quote_per_trade` against the paper exchange's minimum notional and its wallet.

    `price` (the synthetic market's start price, when known) makes the minimum
    exact; without it the minimum notional itself is checked. Binance's own
    minimum and balance are only known once it answers, so only the paper
    exchange is checked here.
    """
    if s.exchange.kind != "paper":
        return []
    out: list[str] = []
    e, q = s.exchange, s.trading.quote_per_trade
    least = least_trade_size(s, price)
    too_small = q < e.min_notional
    if price is not None and price > 0 and not too_small:
        qty = (q / price / e.step_size).to_integral_value(rounding="ROUND_FLOOR") * e.step_size
        too_small = qty < e.min_qty or qty * price < e.min_notional
    if too_small:
        at = f" at the start price {price}" if price is not None else ""
        out.append(f"trading.quote_per_trade = {q} buys less than exchange.min_notional = {e.min_notional} "
                   f"{e.quote_asset} (or exchange.min_qty = {e.min_qty}){at}: no order could ever be placed. "
                   f"Set trading.quote_per_trade = \"{least}\" or more.")
    if q > e.paper_quote_balance:
        out.append(f"trading.quote_per_trade = {q} is more than the paper wallet, exchange.paper_quote_balance = "
                   f"{e.paper_quote_balance} {e.quote_asset}: no buy could ever be paid for. Set "
                   f"trading.quote_per_trade = \"{e.paper_quote_balance}\" or less, or exchange.paper_quote_balance "
                   f"= \"{q}\" or more.")
    cap = s.risk.capital
    if cap > e.paper_quote_balance:
        out.append(f"risk.capital = {cap} is more than the paper wallet, exchange.paper_quote_balance = "
                   f"{e.paper_quote_balance} {e.quote_asset}: the bot may not use quote it does not have. Set "
                   f"risk.capital = \"{e.paper_quote_balance}\" or less.")
    return out


class PreflightRefused(ValueError):
    """The exchange's own rules or balance mean this run could never trade; the message says what would work."""


def live_trade_size_refusals(s: Settings, min_notional: Decimal, free_quote: Decimal | None, flat: bool) -> list[str]:
    """`trading.quote_per_trade` against what Binance answered: its minimum notional and the free quote balance.

    The balance only matters when the journal holds nothing: a position to
    sell, or a buy already resting, needs no more quote.
    """
    out: list[str] = []
    q, quote = s.trading.quote_per_trade, s.exchange.quote_asset
    if q < min_notional:
        least = _round_up(min_notional * HEADROOM, CENT)
        out.append(f"trading.quote_per_trade = {q} is below Binance's minimum notional for {s.symbol} "
                   f"({min_notional} {quote}): no order could ever be placed. Set trading.quote_per_trade = "
                   f"\"{least}\" or more.")
    if flat and free_quote is not None and free_quote < q:
        out.append(f"trading.quote_per_trade = {q} is more than the account's free balance ({free_quote} {quote}): "
                   f"no buy could be paid for. Set trading.quote_per_trade = \"{free_quote.quantize(CENT, 'ROUND_FLOOR')}\" "
                   f"or less, or add {quote} to the account.")
    if flat and free_quote is not None and free_quote < s.risk.capital:
        out.append(f"risk.capital = {s.risk.capital} is more than the account's free balance ({free_quote} {quote}): "
                   f"the bot may not use quote it does not have. Set risk.capital = "
                   f"\"{free_quote.quantize(CENT, 'ROUND_FLOOR')}\" or less, or add {quote} to the account.")
    return out


def refusals(s: Settings) -> list[str]:
    """Every refusal the settings alone reveal, the gravest first."""
    out = [r for r in (network_refusal(s), mode_refusal(s), replay_refusal(s)) if r]
    price = s.market.start_price if s.market.source == "synthetic" else None
    return out + trade_size_refusals(s, price)
