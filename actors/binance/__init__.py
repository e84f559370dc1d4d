"""The Binance spot adapter: everything about Binance's wire for orders and accounts.

`constants` (paths, codes), `errors` (refused / outcome unknown / retry after /
fatal), `signing`, `rest`, `parse` (one parser per wire message), `user_stream`,
`orders` (the venue), `lookup` (the unknown-outcome verdict), `reconcile`,
`account`, `tasks`, `config`. The market streams are `market_stream`.

Exports load on first use, so `actors.binance.parse` stays a light import
(the seed facade uses it) and nothing here imports in a circle.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "BinanceTuning": "actors.binance.config",
    "BinanceVenue": "actors.binance.orders",
    "BinanceRest": "actors.binance.rest",
    "Signer": "actors.binance.signing",
    "UserStream": "actors.binance.user_stream",
    "BinanceError": "actors.binance.errors",
    "Refused": "actors.binance.errors",
    "RetryAfter": "actors.binance.errors",
    "Fatal": "actors.binance.errors",
    "OutcomeUnknown": "actors.binance.errors",
    "ParseError": "actors.binance.parse",
}
__all__ = ["BinanceError", "BinanceRest", "BinanceTuning", "BinanceVenue", "Fatal", "OutcomeUnknown", "ParseError",
           "Refused", "RetryAfter", "Signer", "UserStream"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
