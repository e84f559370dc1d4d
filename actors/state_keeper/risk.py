"""The one pre-trade gate: every order, whoever proposed it, is checked here and nowhere else.

`check` is pure: a proposal and what the account looks like in, an approved
quantity or a denial with a reason out. The keeper sends only what it
approves, so neither the model, the rule-based advisor, a stop nor the
operator can place an order the limits do not allow, and the model never
sizes a buy: the gate does.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from actors.domain.rules import FilterError, check_order, round_qty
from actors.messages import ZERO, OrderReason, RiskState, Side, SymbolFilters
from actors.settings import RiskSettings


@dataclass(frozen=True, slots=True)
class Proposal:
    side: Side
    price: Decimal
    reason: OrderReason
    proposed_by: str  # "model", "cache", "strategy NAME", "fallback NAME", "risk", "operator"
    quantity: Decimal | None = None  # a sell's quantity (what is held); a buy is sized by the gate
    confidence: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class Account:
    """What the gate needs to know, taken from the keeper's state at the moment of the check."""

    state: RiskState
    state_reason: str
    equity: Decimal  # capital + realised + unrealised at the bid
    exposure: Decimal  # cost of what is held
    free_quote: Decimal | None  # the exchange's free quote balance, if reported
    filters: SymbolFilters
    min_sell_price: Decimal | None  # break-even after both fees plus min_profit, on the grid
    bid: Decimal = ZERO  # the market the proposal is checked against (0 = unknown: no collar)
    ask: Decimal = ZERO
    price_band: Decimal = ZERO  # a limit this far through the touch is refused (a fat finger, a stale answer)
    taker_min_sell_price: Decimal | None = None  # the same for a sell at or below the bid (taker); None = min_sell_price


@dataclass(frozen=True, slots=True)
class Approved:
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Denial:
    code: str
    detail: str


def check(p: Proposal, a: Account, limits: RiskSettings, quote_per_trade: Decimal) -> Approved | Denial:
    if p.price <= 0 or not p.price.is_finite():
        return Denial("bad_price", f"price {p.price} is not a positive number")
    if a.price_band and a.ask > 0 and p.side is Side.BUY and p.price > a.ask * (1 + a.price_band):
        return Denial("price_collar", f"buy at {p.price} is more than {a.price_band:%} above the ask {a.ask}")
    if a.price_band and a.bid > 0 and p.side is Side.SELL and p.price < a.bid * (1 - a.price_band):
        return Denial("price_collar", f"sell at {p.price} is more than {a.price_band:%} below the bid {a.bid}")
    if p.side is Side.BUY:
        return _check_buy(p, a, limits, quote_per_trade)
    return _check_sell(p, a)


def buy_budget(a: Account, limits: RiskSettings, quote_per_trade: Decimal, confidence: Decimal = Decimal(1)) -> Decimal:
    """The quote one buy may spend now: the sizing rule, capped by equity, free balance and exposure."""
    size = quote_per_trade if limits.sizing == "fixed" else a.equity * limits.equity_fraction
    if limits.confidence_sizing:
        c = min(max(confidence, ZERO), Decimal(1))
        size *= limits.min_size_fraction + (limits.max_size_fraction - limits.min_size_fraction) * c
    caps = [a.equity - a.exposure]
    if a.free_quote is not None:
        caps.append(a.free_quote)
    if limits.max_exposure:
        caps.append(limits.max_exposure - a.exposure)
    return max(ZERO, min(size, *caps))


def _check_buy(p: Proposal, a: Account, limits: RiskSettings, quote_per_trade: Decimal) -> Approved | Denial:
    if a.state is not RiskState.ACTIVE:
        return Denial(a.state.value, f"no new buys while {a.state.name}: {a.state_reason}")
    if a.equity <= 0:
        return Denial("no_equity", f"equity is {a.equity}: nothing left of the capital to buy with")
    budget = buy_budget(a, limits, quote_per_trade, p.confidence)
    qty = round_qty(budget / p.price, a.filters)
    if qty <= 0 or qty * p.price < a.filters.min_notional or qty < a.filters.min_qty:
        why = _budget_limit(a, limits, quote_per_trade)
        return Denial("below_min_notional",
                      f"{budget:.8f} {a.filters.quote_asset} to spend ({why}) buys {qty} at {p.price}, under the "
                      f"exchange minimum ({a.filters.min_notional} {a.filters.quote_asset}, {a.filters.min_qty} min qty)")
    try:
        check_order(Side.BUY, p.price, qty, a.filters)
    except FilterError as exc:
        return Denial("filter", str(exc))
    return Approved(qty)


def _check_sell(p: Proposal, a: Account) -> Approved | Denial:
    qty = p.quantity or ZERO
    if qty <= 0:
        return Denial("nothing_to_sell", "nothing sellable is held (dust below the lot step or minimum notional)")
    floor = a.min_sell_price
    if a.taker_min_sell_price is not None and a.bid > 0 and p.price <= a.bid:
        floor = a.taker_min_sell_price  # it takes: the sell pays the taker rate
    if not p.reason.may_sell_below_break_even and floor is not None and p.price < floor:
        return Denial("below_break_even", f"{p.reason.value} sell at {p.price} is below break-even plus min_profit "
                                          f"({floor}); only a stop or a time exit may sell lower")
    try:
        check_order(Side.SELL, p.price, qty, a.filters)
    except FilterError as exc:
        return Denial("filter", str(exc))
    return Approved(qty)


def _budget_limit(a: Account, limits: RiskSettings, quote_per_trade: Decimal) -> str:
    if a.free_quote is not None and a.free_quote < min(quote_per_trade, a.equity):
        return f"the free balance is {a.free_quote}"
    if limits.sizing == "fixed" and quote_per_trade <= a.equity:
        return f"trading.quote_per_trade = {quote_per_trade}"
    return f"equity {a.equity:.8f}"
