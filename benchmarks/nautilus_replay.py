"""NautilusTrader 1.221 replaying the same 1,000,000 aggTrades: the yardstick for `replay.py`.

Method: the tape from `_tape.py` (the same file `replay.py` runs the bot on)
is read with pandas (pyarrow engine) and turned into Nautilus `TradeTick`s
with `TradeTick.from_raw_arrays_to_list` (its fast path: no per-row Python);
a `BacktestEngine` (logging at ERROR) with a BINANCE venue, CASH account,
1000 USDC, `trade_execution=True` (trades fill resting orders) and a
TRUMPUSDC `CurrencyPair` (tick 0.01, lot 0.001, fees 0.1 %) runs them through
a minimal limit-order strategy shaped like the bot: when flat, a limit BUY for
10 USDC one tick under the last trade; when it fills, a limit SELL 0.4 %
above the fill price (both fees plus the minimum profit); a buy not filled
within 120 s of market time is cancelled and placed again.

- `nautilus_events_per_s`: 1M / (reading the file + building the ticks + engine
  set-up + run): end to end, file read included, as `replay_events_per_s`.
- `nautilus_engine_events_per_s`: 1M / `engine.run()` alone.

If `nautilus_trader` cannot be imported, prints `nautilus_events_per_s: null`
and `nautilus_skipped` with the reason; no number is made up.
"""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from typing import Any

from _common import emit, parse_args
from _tape import FULL, QUICK, ensure_tape

COLUMNS = ["agg_id", "price", "qty", "first_id", "last_id", "ts_us", "buyer_maker", "best_match"]


def skipped(reason: str) -> None:
    emit({"nautilus_events_per_s": None, "nautilus_engine_events_per_s": None, "nautilus_skipped": reason})


def main() -> None:
    args = parse_args(__doc__)
    try:
        import nautilus_trader
        import numpy as np
        import pandas as pd
        from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
        from nautilus_trader.config import LoggingConfig, StrategyConfig
        from nautilus_trader.model.currencies import USDC
        from nautilus_trader.model.data import TradeTick
        from nautilus_trader.model.enums import AccountType, OmsType, OrderSide, TimeInForce
        from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
        from nautilus_trader.model.instruments import CurrencyPair
        from nautilus_trader.model.objects import Currency, Money, Price, Quantity
        from nautilus_trader.trading.strategy import Strategy
    except ImportError as exc:
        skipped(f"nautilus_trader cannot be imported: {exc}")
        return

    n = QUICK if args.quick else FULL
    tape, meta = ensure_tape(n)

    from nautilus_trader.model.enums import CurrencyType

    TRUMP = Currency("TRUMP", 8, 0, "Official Trump", CurrencyType.CRYPTO)
    Currency.register(TRUMP, overwrite=True)
    venue = Venue("BINANCE")
    inst_id = InstrumentId(Symbol("TRUMPUSDC"), venue)
    instrument = CurrencyPair(
        instrument_id=inst_id, raw_symbol=Symbol("TRUMPUSDC"), base_currency=TRUMP, quote_currency=USDC,
        price_precision=2, size_precision=3, price_increment=Price(0.01, 2), size_increment=Quantity(0.001, 3),
        lot_size=None, max_quantity=Quantity(9_000_000, 3), min_quantity=Quantity(0.001, 3), max_notional=None,
        min_notional=Money(1, USDC), max_price=Price(1_000_000, 2), min_price=Price(0.01, 2),
        margin_init=Decimal(0), margin_maint=Decimal(0), maker_fee=Decimal("0.001"), taker_fee=Decimal("0.001"),
        ts_event=0, ts_init=0,
    )

    class BotLikeConfig(StrategyConfig, frozen=True):
        instrument_id: InstrumentId
        quote_per_trade: Decimal = Decimal(10)
        markup: Decimal = Decimal("0.004")
        buy_timeout_ns: int = 120 * 1_000_000_000

    class BotLike(Strategy):
        """Buy one tick under the last trade when flat, sell 0.4 % above the fill, cancel stale buys."""

        def __init__(self, config: BotLikeConfig) -> None:
            super().__init__(config)
            self.order: Any = None
            self.placed_ns = 0
            self.held = Decimal(0)
            self.buys = self.sells = self.round_trips = 0

        def on_start(self) -> None:
            self.subscribe_trade_ticks(self.config.instrument_id)

        def on_trade_tick(self, tick: TradeTick) -> None:
            o = self.order
            if o is not None and not o.is_closed:
                if o.side == OrderSide.BUY and tick.ts_event - self.placed_ns > self.config.buy_timeout_ns \
                        and not o.is_pending_cancel:
                    self.cancel_order(o)
                return
            if self.held > 0:
                return  # the sell is placed from on_order_filled
            price = tick.price.as_decimal() - Decimal("0.01")
            qty = (self.config.quote_per_trade / price).quantize(Decimal("0.001"), rounding="ROUND_DOWN")
            self.order = self.order_factory.limit(self.config.instrument_id, OrderSide.BUY, Quantity(qty, 3),
                                                  Price(price, 2), time_in_force=TimeInForce.GTC)
            self.placed_ns = tick.ts_event
            self.submit_order(self.order)
            self.buys += 1

        def on_order_filled(self, event: Any) -> None:
            if event.order_side == OrderSide.BUY:
                self.held += event.last_qty.as_decimal()
                o = self.order
                if o is not None and o.is_closed:
                    px = (event.last_px.as_decimal() * (1 + self.config.markup)).quantize(
                        Decimal("0.01"), rounding="ROUND_CEILING")
                    self.order = self.order_factory.limit(self.config.instrument_id, OrderSide.SELL,
                                                          Quantity(self.held, 3), Price(px, 2))
                    self.submit_order(self.order)
                    self.sells += 1
            else:
                self.held -= event.last_qty.as_decimal()
                if self.held <= 0:
                    self.held = Decimal(0)
                    self.round_trips += 1

        def on_order_canceled(self, event: Any) -> None:
            o = self.order
            if o is not None and o.side == OrderSide.BUY and o.filled_qty.as_decimal() > 0:
                self.order = None  # partly filled: sell what was bought
                px = (o.avg_px * Decimal("1.004")) if o.avg_px else None
                if px is not None:
                    self.order = self.order_factory.limit(self.config.instrument_id, OrderSide.SELL,
                                                          Quantity(self.held, 3),
                                                          Price(Decimal(px).quantize(Decimal("0.01"), rounding="ROUND_CEILING"), 2))
                    self.submit_order(self.order)
                    self.sells += 1

    t0 = time.perf_counter()
    df = pd.read_csv(tape, header=None, names=COLUMNS, engine="pyarrow")
    t_read = time.perf_counter()
    ts_ns = (df["ts_us"].to_numpy(dtype=np.uint64) * np.uint64(1000))
    sides = np.where(df["buyer_maker"].to_numpy(dtype=bool), np.uint8(2), np.uint8(1)).astype(np.uint8)  # SELLER=2, BUYER=1
    ticks = TradeTick.from_raw_arrays_to_list(
        inst_id, 2, 3, df["price"].to_numpy(dtype=np.float64), df["qty"].to_numpy(dtype=np.float64), sides,
        df["agg_id"].astype(str).tolist(), ts_ns, ts_ns,
    )
    t_ticks = time.perf_counter()
    engine = BacktestEngine(config=BacktestEngineConfig(trader_id="BACKTESTER-001",
                                                        logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(venue=venue, oms_type=OmsType.NETTING, account_type=AccountType.CASH, base_currency=None,
                     starting_balances=[Money(1000, USDC), Money(0, TRUMP)], trade_execution=True)
    engine.add_instrument(instrument)
    engine.add_data(ticks)
    strategy = BotLike(BotLikeConfig(instrument_id=inst_id))
    engine.add_strategy(strategy)
    t_setup = time.perf_counter()
    engine.run()
    t_run = time.perf_counter()
    orders = len(engine.cache.orders())
    filled = len(engine.cache.orders_closed())
    fills = sum(len(o.trade_ids) for o in engine.cache.orders())
    engine.dispose()
    total = t_run - t0
    run_s = t_run - t_setup
    print(f"nautilus: read {t_read - t0:.2f} s, ticks {t_ticks - t_read:.2f} s, setup {t_setup - t_ticks:.2f} s, "
          f"run {run_s:.2f} s", file=sys.stderr, flush=True)
    emit({
        "nautilus_version": nautilus_trader.__version__,
        "nautilus_events": len(ticks),
        "nautilus_events_per_s": round(n / total),
        "nautilus_engine_events_per_s": round(n / run_s),
        "nautilus_wall_s": round(total, 2),
        "nautilus_read_s": round(t_read - t0, 2),
        "nautilus_build_ticks_s": round(t_ticks - t_read, 2),
        "nautilus_setup_s": round(t_setup - t_ticks, 2),
        "nautilus_run_s": round(run_s, 2),
        "nautilus_orders": orders,
        "nautilus_orders_closed": filled,
        "nautilus_fills": fills,
        "nautilus_round_trips": strategy.round_trips,
        "nautilus_file_span_days": meta["span_days"],
    })


if __name__ == "__main__":
    main()
