"""Binance spot's fixed names: URLs, paths, the error codes this bot handles by name, wire enums.

One place, so a code read in the executor, the lookup policy and the tests
means the same thing everywhere (binance.md sections 1, 5 and 8).
"""

from __future__ import annotations

from actors.messages import OrderStatus

REST_URL = "https://api.binance.com"
WS_API_URL = "wss://ws-api.binance.com:443/ws-api/v3"
STREAM_URL = "wss://stream.binance.com:9443"
# Which network a host belongs to (preflight.network_refusal): a host that is neither is a proxy or a stand-in.
MAINNET_HOST_SUFFIXES = ("binance.com", "data-api.binance.vision", "data-stream.binance.vision")
TESTNET_HOST_SUFFIXES = ("testnet.binance.vision",)

# -- REST paths ------------------------------------------------------------------------
TIME_PATH = "/api/v3/time"
EXCHANGE_INFO_PATH = "/api/v3/exchangeInfo"
ACCOUNT_PATH = "/api/v3/account"
COMMISSION_PATH = "/api/v3/account/commission"  # the account's rates for one symbol (weight 20)
API_RESTRICTIONS_PATH = "/sapi/v1/account/apiRestrictions"  # the key's permissions (mainnet only: not on the testnet)
ORDER_PATH = "/api/v3/order"
OPEN_ORDERS_PATH = "/api/v3/openOrders"
MY_TRADES_PATH = "/api/v3/myTrades"

# -- WebSocket API methods ---------------------------------------------------------------
WS_SUBSCRIBE = "userDataStream.subscribe.signature"

# -- error codes -------------------------------------------------------------------------
UNKNOWN = -1000
DISCONNECTED = -1001
TOO_MANY_REQUESTS = -1003  # request weight
UNEXPECTED_RESP = -1006
TIMEOUT = -1007
SERVER_BUSY = -1008
INVALID_MESSAGE = -1013  # "Filter failure: ..." (the rules may have changed)
TOO_MANY_ORDERS = -1015
INVALID_TIMESTAMP = -1021
INVALID_SIGNATURE = -1022
NEW_ORDER_REJECTED = -2010  # insufficient balance, duplicate, market closed, would match...
CANCEL_REJECTED = -2011  # "Unknown order sent.": filled, cancelled or missing
NO_SUCH_ORDER = -2013
BAD_API_KEY_FMT = -2014
REJECTED_MBX_KEY = -2015  # invalid key, IP or permissions
ORDER_ARCHIVED = -2026

# The request may or may not have taken effect (binance.md section 5).
UNKNOWN_OUTCOME_CODES = frozenset({UNKNOWN, DISCONNECTED, UNEXPECTED_RESP, TIMEOUT, SERVER_BUSY})
# Every request signed with these credentials will fail the same way.
FATAL_CODES = frozenset({INVALID_SIGNATURE, BAD_API_KEY_FMT, REJECTED_MBX_KEY})
RATE_LIMIT_CODES = frozenset({TOO_MANY_REQUESTS, TOO_MANY_ORDERS})
RATE_LIMIT_STATUSES = frozenset({429, 418})

# Fragments of -2010 messages (codes are stable, texts vary: matched lower-case, in part).
MSG_DUPLICATE = "duplicate order"
MSG_MARKET_CLOSED = "market is closed"

# -- wire enums --------------------------------------------------------------------------
ORDER_STATUS: dict[str, OrderStatus] = {s.value: s for s in OrderStatus}
SYMBOL_TRADING = "TRADING"
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
