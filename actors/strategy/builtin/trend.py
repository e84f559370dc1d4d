"""`trend`: a trend follower with exits scaled to volatility, on the market's own features.

It decides on the snapshot (no `timeframe`: asked at every decision the bot
makes), from the EMAs, the hourly volatility and the regime the market data
publishes (`[market] trend_fast_s`, `trend_slow_s`, `regime_band`):

- no buy until the trend is known (the regime is "" while the slow EMA warms up);
- buy only in an up regime (the fast EMA over the slow one by more than
  `regime_band` hourly volatilities, the price above the fast EMA), at the bid;
- buy only when the expected move, `target_vol` volatilities over the holding
  horizon `horizon_s`, clears both fees plus `min_profit` `fee_margin` times over;
- each buy carries its exit plan (target, stop, time limit, invalidation), which
  the keeper bounds by `[risk]` and enforces;
- holding: offer at the plan's target (never under the break-even floor), or at
  the bid once the regime turns down while the bid still pays the floor.

Its parameters default to `[ai] rule_horizon_s`, `rule_target_vol`,
`rule_stop_vol` and `rule_fee_margin`; `[strategy.params]` overrides them.
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal

from actors.domain.rules import fmt
from actors.messages import AdviceAction, AdvisedExits
from actors.strategy.base import Context, Decision, Strategy, hold

CONFIDENCE = Decimal("0.8")  # above the default min_confidence (0.7), so the bot acts on it
VOL_FRACTION = Decimal("0.25")  # how much of the short-window volatility to stand back from mid (no plan known)
_PCT = Decimal("0.01")


@functools.lru_cache(maxsize=16)
def sqrt_hours(horizon_s: int) -> Decimal:
    """√(hours) as the Decimal of its float's repr; one horizon per run, so computed once, not per bar."""
    return Decimal(str(math.sqrt(horizon_s / 3600)))


def pct(x: Decimal) -> str:
    return f"{(x * 100).quantize(_PCT)}%"


def offset(ctx: Context) -> Decimal:
    """How far from mid to stand when there is no plan: half the spread, or a quarter of the volatility."""
    snap = ctx.snapshot
    half_spread = (snap.ask - snap.bid) / 2
    return max(half_spread, snap.mid * snap.volatility * VOL_FRACTION if snap.volatility else Decimal(0))


def floor_of(ctx: Context) -> Decimal | None:
    return ctx.min_sell_price if ctx.min_sell_price is not None else ctx.break_even_price


def target_or_offer(ctx: Context, floor: Decimal) -> Decision:
    """Holding: offer at the plan's target, else at the ask or the floor, whichever is higher."""
    snap, target = ctx.snapshot, ctx.exit_target
    if target is not None:
        price = ctx.sell_price(max(floor, target, snap.ask))
        text = (f"target exit: offer {fmt(price)}, the plan's target {fmt(target)} "
                f"(or the floor {fmt(floor)} or the ask, whichever is higher)")
        return Decision(AdviceAction.SELL, price, text, CONFIDENCE, None, (price, price))
    off = offset(ctx)
    price = ctx.sell_price(max(floor, snap.ask, snap.mid + off))
    text = f"offer {fmt(price)}: the best ask {fmt(snap.ask)} or the break-even floor {fmt(floor)}, whichever is higher"
    return Decision(AdviceAction.SELL, price, text, CONFIDENCE, None, (price, ctx.sell_price(price + off)))


class TrendStrategy(Strategy):
    def __init__(self, horizon_s: int = 14400, target_vol: Decimal = Decimal(1), stop_vol: Decimal = Decimal(1),
                 fee_margin: Decimal = Decimal(2)) -> None:
        self.horizon_s = int(horizon_s)
        self.target_vol, self.stop_vol = Decimal(str(target_vol)), Decimal(str(stop_vol))
        self.fee_margin = Decimal(str(fee_margin))
        if self.horizon_s <= 0 or self.target_vol <= 0 or self.stop_vol <= 0 or self.fee_margin < 0:
            raise ValueError("horizon_s, target_vol and stop_vol must be > 0 and fee_margin >= 0")

    def decide(self, ctx: Context) -> Decision:
        return self._entry(ctx) if ctx.flat else self._exit(ctx)

    def _entry(self, ctx: Context) -> Decision:
        snap = ctx.snapshot
        fast, slow = snap.trend_fast, snap.trend_slow
        sigma = snap.vol_hourly * sqrt_hours(self.horizon_s) if snap.vol_hourly is not None else None
        if not snap.regime or fast is None or slow is None or sigma is None or slow <= 0:
            return hold("no trend yet (the slow EMA is still warming up): no buys")
        gap = fast / slow - 1
        trend = f"fast EMA {fmt(fast)} vs slow EMA {fmt(slow)} ({pct(gap)}), price {fmt(snap.mid)}"
        if snap.regime != "up":
            return hold(f"regime {snap.regime}: {trend}; buys only in an up trend")
        hours = Decimal(self.horizon_s) / 3600
        target_move = self.target_vol * sigma
        hurdle = (2 * ctx.fee_rate + ctx.min_profit) * self.fee_margin
        if target_move < hurdle:
            return hold(f"regime up ({trend}) but the expected move {pct(target_move)} over {fmt(hours)} h "
                        f"does not clear 2 fees + min_profit × {fmt(self.fee_margin)} = {pct(hurdle)}")
        price = ctx.buy_price(snap.bid)
        if price <= 0:
            return hold("no positive bid price")
        stop_move = self.stop_vol * sigma
        target = ctx.sell_price(price * (1 + target_move))
        stop = ctx.buy_price(price * (1 - stop_move))
        plan = AdvisedExits(target_price=target, stop_price=stop, time_limit_s=self.horizon_s,
                            invalidation=f"the trend turns down (fast EMA under slow EMA {fmt(slow)})")
        text = (f"trend entry: regime up, {trend}; volatility over {fmt(hours)} h {pct(sigma)}; bid {fmt(price)}, "
                f"target {fmt(target)} (+{pct(target_move)}, clears {pct(hurdle)}), "
                f"stop {fmt(stop)} (-{pct(stop_move)}), time limit {fmt(hours)} h")
        return Decision(AdviceAction.BUY, price, text, CONFIDENCE, plan, (price, price))

    def _exit(self, ctx: Context) -> Decision:
        snap = ctx.snapshot
        floor = floor_of(ctx)
        if floor is None:
            return hold("no break-even price known, so no sell price is safe")
        if snap.regime == "down" and snap.bid >= floor and snap.trend_fast is not None and snap.trend_slow is not None:
            price = ctx.sell_price(max(floor, snap.bid))
            text = (f"trend exit: the regime turned down (fast EMA {fmt(snap.trend_fast)} under slow EMA "
                    f"{fmt(snap.trend_slow)}) while the bid {fmt(snap.bid)} still pays the floor {fmt(floor)}: sell")
            return Decision(AdviceAction.SELL, price, text, CONFIDENCE, None, (price, price))
        return target_or_offer(ctx, floor)
