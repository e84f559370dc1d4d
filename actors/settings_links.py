"""Settings that set others: `[trading] fee_rate` (maker and taker both) and `[exchange] network` (the addresses).

Applied by `settings.from_dict` before validation, on what the file (and the
command line) gave, so a key's default and a key set explicitly can be told apart.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from actors.settings import ExchangeSettings, MarketSettings, Settings, SettingsError


def resolve(s: Settings, raw: dict[str, Any]) -> Settings:
    return resolve_network(resolve_fees(s, raw.get("trading") or {}), raw)


TESTNET_URLS = {  # Binance's Spot Testnet (reference/binance.md, section 1)
    "rest_url": "https://testnet.binance.vision",
    "ws_api_url": "wss://ws-api.testnet.binance.vision/ws-api/v3",
    "stream_url": "wss://stream.testnet.binance.vision",
}


def resolve_fees(s: Settings, given: dict[str, Any]) -> Settings:
    """`fee_rate` is the shortcut that sets maker and taker both; a file that also sets one otherwise is refused.

    Without `fee_rate` in the file, it becomes the higher of the two: the per-side rate no fill exceeds.
    """
    t = s.trading
    if "fee_rate" in given:
        for key in ("maker_fee", "taker_fee"):
            if key in given and getattr(t, key) != t.fee_rate:
                raise SettingsError(
                    f"trading.fee_rate = {t.fee_rate} sets trading.maker_fee and trading.taker_fee both, but "
                    f"trading.{key} = {getattr(t, key)} says otherwise: set fee_rate alone, or maker_fee and "
                    "taker_fee without fee_rate")
        return replace(s, trading=replace(t, maker_fee=t.fee_rate, taker_fee=t.fee_rate))
    if "maker_fee" in given or "taker_fee" in given:
        return replace(s, trading=replace(t, fee_rate=max(t.maker_fee, t.taker_fee)))
    return s


def resolve_network(s: Settings, raw: dict[str, Any]) -> Settings:
    """`network = "testnet"` points every Binance address left at its mainnet default at the Spot Testnet.

    An address set to anything else is kept (a proxy, a stand-in); `preflight.network_refusal`
    refuses one that belongs to the other network. Without an explicit `exchange.kind` and
    `market.source`, the testnet means real orders on the testnet's own live data.
    """
    if s.exchange.network != "testnet":
        return s
    e, m = s.exchange, s.market
    mainnet_e, mainnet_m = ExchangeSettings(), MarketSettings()
    exchange = replace(
        e,
        rest_url=TESTNET_URLS["rest_url"] if e.rest_url == mainnet_e.rest_url else e.rest_url,
        ws_api_url=TESTNET_URLS["ws_api_url"] if e.ws_api_url == mainnet_e.ws_api_url else e.ws_api_url,
        kind=e.kind if "kind" in (raw.get("exchange") or {}) else "binance",
    )
    given_m = raw.get("market") or {}
    market = replace(
        m,
        stream_url=TESTNET_URLS["stream_url"] if m.stream_url == mainnet_m.stream_url else m.stream_url,
        source=m.source if "source" in given_m or m.replay_path else "binance",
    )
    return replace(s, exchange=exchange, market=market)
