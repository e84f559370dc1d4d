"""`maker`: the old passive market maker, kept for comparison and for the fill-model tests.

It bids at or under the best bid in any market (never into the spread) and
offers at the plan's target, the ask or the break-even floor, whichever is
higher. It buys into every fall and then holds: issue 15 replaced it with
`trend` as the default; the README's "before" rows are this strategy.
"""

from __future__ import annotations

from actors.domain.rules import fmt
from actors.messages import AdviceAction
from actors.strategy.base import Context, Decision, Strategy, hold
from actors.strategy.builtin.trend import CONFIDENCE, floor_of, offset, target_or_offer


class MakerStrategy(Strategy):
    def __init__(self) -> None:
        pass

    def decide(self, ctx: Context) -> Decision:
        if ctx.holding:
            floor = floor_of(ctx)
            if floor is None:
                return hold("no break-even price known, so no sell price is safe")
            return target_or_offer(ctx, floor)
        snap, off = ctx.snapshot, offset(ctx)
        price = ctx.buy_price(min(snap.bid, snap.mid - off))
        if price <= 0:
            return hold("no positive bid price")
        low = max(ctx.buy_price(price - off), ctx.filters.tick_size)
        text = f"maker bid {fmt(price)} at or under the best bid {fmt(snap.bid)}"
        return Decision(AdviceAction.BUY, price, text, CONFIDENCE, None, (min(low, price), price))

