"""The venue's delays and limits (not settings: the defaults suit production, tests shrink them)."""

from __future__ import annotations

from dataclasses import dataclass

from actors.binance.lookup import LookupPolicy


@dataclass(frozen=True, slots=True, kw_only=True)
class BinanceTuning:
    """Delays and limits; the defaults suit production, tests shrink them."""

    request_timeout_s: float = 10.0
    query_backoff_s: float = 0.25  # first wait before looking up an order; doubles per try
    query_backoff_max_s: float = 5.0
    landing_grace_ms: int = 1000  # beyond recvWindow before -2013 may mean "never landed"
    min_not_found: int = 3  # -2013 answers needed (at least) before declaring that
    foreign_query_grace_s: float = 3.0  # the same wait (at least recvWindow + grace) for an order not sent by this run
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 30.0
    heartbeat_s: float = 20.0
    account_refresh_delay_s: float = 0.2  # coalesces the account reads after a burst of fills
    retry_s: float = 5.0  # exchangeInfo / account / openOrders after a failure
    poll_while_down_s: float = 10.0  # reconcile by REST this often while the user-data stream is down
    max_tracked_orders: int = 5000  # finished orders kept for duplicate-id checks and late events
    shutdown_grace_s: float = 5.0  # on stop, how long a place or cancel already sent may take to finish
    max_rate_limit_retries: int = 5
    default_retry_after_s: float = 5.0
    closed_poll_s: float = 60.0  # exchangeInfo this often while the symbol is not TRADING
    user_stream: bool = True

    @property
    def lookup(self) -> LookupPolicy:
        return LookupPolicy(backoff_s=self.query_backoff_s, backoff_max_s=self.query_backoff_max_s,
                            min_not_found=self.min_not_found)
