"""The account side of the venue: the symbol's rules (exchangeInfo) and the balances.

Runs on the actor thread; requests go through `Tasks`. exchangeInfo is read at
start and every `exchange_info_refresh_s`. While the symbol is not TRADING
(BREAK, HALT...) it is also read every `closed_poll_s` (a minute), and at once
after an order meets "Market is closed.", so the reopening is seen (and
`FiltersUpdated` told) within a minute instead of within the hour. The
balances are read at start, after a reconnect, and shortly after fills; the
stream's `outboundAccountPosition` updates them in between. The account's
commission for the symbol is read after every periodic exchangeInfo read and
told as `FeesUpdated` when it changes (the account's `commissionRates` stand
in when the per-symbol endpoint refuses); one line says where it differs
from the settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loguru import logger

from actors.binance import constants as c
from actors.binance import parse
from actors.binance.errors import Refused, why
from actors.binance.rest import BinanceRest
from actors.binance.tasks import Tasks, noop
from actors.domain.fees import FeeSchedule
from actors.messages import BalanceUpdated, FeesUpdated, FiltersUpdated, SymbolFilters

if TYPE_CHECKING:
    from actors.binance.config import BinanceTuning
    from actors.settings import Settings

PERIODIC, ONCE, WATCH = "periodic", "once", "watch"


class Account:
    def __init__(self, *, settings: Settings, rest: BinanceRest, tasks: Tasks, tuning: BinanceTuning,
                 publish: Callable[[Any, bool], None]) -> None:
        self.symbol = settings.symbol
        self._refresh_s = float(settings.exchange.exchange_info_refresh_s)
        self._rest = rest
        self._tasks = tasks
        self._tuning = tuning
        self._publish = publish
        self.filters: SymbolFilters | None = None
        self.balances: dict[str, BalanceUpdated] = {}
        self.assets = (settings.exchange.base_asset, settings.exchange.quote_asset)
        self._account_inflight = False
        self._account_again = False
        self._account_scheduled = False
        self._info_loads = 0
        self._info_now = False  # a load outside the periodic one is in flight or waiting
        self.info_reads = 0
        self.fees: FeesUpdated | None = None  # the account's commission, once read
        self._settings_fees = FeeSchedule.from_settings(settings.trading)
        self._account_fees: FeesUpdated | None = None  # commissionRates of the last account read
        self._fees_refused = False  # the per-symbol endpoint said no: the account's rates stand in
        self._fees_failing = False  # the last read failed (said once, not on every retry)

    # -- exchange rules ------------------------------------------------------------------

    def load_info(self, kind: str = PERIODIC, delay: float = 0.0) -> None:
        """Read exchangeInfo: `PERIODIC` keeps the hourly chain, `ONCE` now, `WATCH` the closed-market poll."""
        if kind != PERIODIC:
            if self._info_now:
                return  # one is on its way: its answer serves this caller too
            self._info_now = True
        self._tasks.spawn(
            lambda: self._rest.request("GET", c.EXCHANGE_INFO_PATH, {"symbol": self.symbol}),
            self._on_info,
            kind,
            delay,
        )

    def market_closed(self) -> None:
        """An order met "Market is closed.": the rules are stale, read them now."""
        self.load_info(ONCE)

    def _on_info(self, result: Any, error: BaseException | None, kind: str) -> None:
        self.info_reads += 1
        if kind != PERIODIC:
            self._info_now = False
        if error is None:
            try:
                filters = parse.exchange_info(result, self.symbol)
            except (KeyError, ValueError, ArithmeticError, TypeError) as exc:
                error = exc
        if error is not None:
            logger.warning("exchangeInfo for {} failed: {}", self.symbol, why(error))
            if kind == PERIODIC:
                self.load_info(PERIODIC, delay=self._tuning.retry_s)
            else:  # the rules may be stale (a closed market): keep reading them every minute
                self.load_info(WATCH, delay=self._tuning.closed_poll_s)
            return
        if filters.base_asset and filters.quote_asset:
            self.assets = (filters.base_asset, filters.quote_asset)
        old = self.filters
        if filters != old:
            if old is not None:
                logger.warning("{} rules changed: {} -> {}", self.symbol, old, filters)
            self.filters = filters
            self._publish(FiltersUpdated(filters=filters), True)
        trading = filters.status == c.SYMBOL_TRADING
        if not trading and (old is None or old.status != filters.status):  # logged when it starts, not per read
            logger.warning("{} status is {}: new orders are refused locally; reading exchangeInfo every {}s "
                           "until it trades again", self.symbol, filters.status, self._tuning.closed_poll_s)
        elif trading and old is not None and old.status != c.SYMBOL_TRADING:
            logger.warning("{} is TRADING again", self.symbol)
        if not trading:
            self.load_info(WATCH, delay=self._tuning.closed_poll_s)
        if kind == PERIODIC:
            self.load_fees()
            self.load_info(PERIODIC, delay=self._refresh_s)
            if self._info_loads > 0:
                self._tasks.spawn(self._rest.sync_time, _ignore)  # re-sync the clock now and then too
            self._info_loads += 1

    # -- the account's fees --------------------------------------------------------------

    def load_fees(self, delay: float = 0.0) -> None:
        self._tasks.spawn(lambda: self._rest.signed("GET", c.COMMISSION_PATH, {"symbol": self.symbol}),
                          self._on_fees, None, delay)

    def _on_fees(self, result: Any, error: BaseException | None, _ctx: Any) -> None:
        if error is None:
            try:
                fees = parse.commission(result, self.symbol)
            except (ValueError, ArithmeticError) as exc:
                error = exc
            else:
                self._fees_failing = self._fees_refused = False
                self._set_fees(fees, c.COMMISSION_PATH)
                return
        if not self._fees_failing:
            logger.warning("the account's commission for {} could not be read ({}): {}", self.symbol, why(error),
                           "the account's commissionRates stand in" if self._account_fees is not None
                           else "break-even uses the settings' rates until it can")
        self._fees_failing = True
        if isinstance(error, (Refused, ValueError, ArithmeticError)):  # a definitive no (or nonsense): the
            # account-wide rates stand in until the next periodic read
            self._fees_refused = True
            if self._account_fees is not None:
                self._set_fees(self._account_fees, f"{c.ACCOUNT_PATH} commissionRates")
        elif self.fees is None:
            self.load_fees(delay=self._tuning.retry_s)

    def _set_fees(self, fees: FeesUpdated, where: str) -> None:
        old = self.fees
        if old is not None and (old.maker, old.taker, old.bnb_discount) == (fees.maker, fees.taker, fees.bnb_discount):
            return
        self.fees = fees
        mine, theirs = self._settings_fees, FeeSchedule.from_update(fees)
        if not mine.same_rates(theirs):  # one line, when the rates are first read or change
            logger.warning("fees: the account pays {} on {} ({}), the settings say {}: break-even and the "
                           "report use the account's", theirs.describe(), self.symbol, where, mine.describe())
        else:
            logger.info("fees: the account pays {} on {}, as the settings say", theirs.describe(), self.symbol)
        self._publish(fees, True)

    # -- balances ------------------------------------------------------------------------

    def load(self, delay: float = 0.0) -> None:
        if self._account_inflight:
            self._account_again = True
            return
        self._account_inflight = True
        self._tasks.spawn(lambda: self._rest.signed("GET", c.ACCOUNT_PATH), self._on_account, None, delay)

    def _on_account(self, result: Any, error: BaseException | None, _ctx: Any) -> None:
        self._account_inflight = False
        balances: list[BalanceUpdated] = []
        if error is None:
            try:
                balances = parse.account_balances(result, self.assets)
                self._account_fees = parse.account_commission(result, self.symbol) or self._account_fees
            except ValueError as exc:
                error = exc
        if error is not None:
            logger.warning("account read failed: {}", why(error))
            self.load(delay=self._tuning.retry_s)
            return
        for b in balances:
            self.set_balance(b)
        if self._fees_refused and self.fees is None and self._account_fees is not None:
            self._set_fees(self._account_fees, f"{c.ACCOUNT_PATH} commissionRates")
        if self._account_again:
            self._account_again = False
            self.load()

    def schedule_refresh(self) -> None:
        """Read the balances soon (after a burst of fills, once)."""
        if self._account_scheduled:
            return
        self._account_scheduled = True

        def fire(_r: Any, _e: BaseException | None, _c: Any) -> None:
            self._account_scheduled = False
            self.load()

        self._tasks.spawn(noop, fire, None, self._tuning.account_refresh_delay_s)

    def set_balance(self, b: BalanceUpdated) -> None:
        if b.asset not in self.assets:
            return
        old = self.balances.get(b.asset)
        if old is not None and b.ts_ms < old.ts_ms:
            return  # older than what is held (REST account vs. stream event)
        self.balances[b.asset] = b
        if old is None or (old.free, old.locked) != (b.free, b.locked):
            self._publish(b, True)

    def current_balances(self) -> list[BalanceUpdated]:
        return [self.balances[a] for a in self.assets if a in self.balances]


def _ignore(_result: Any, error: BaseException | None, _ctx: Any) -> None:
    if error is not None:
        logger.warning("order executor: background request failed: {}", why(error))
