"""NautilusTrader 1.221's bar engine on the 5m kline month: the yardstick for research's kline month (issue 24).

Method: the month research runs (`research.py`: PEPEUSDT 2025-01, 5m, 8,928
bars, Binance kline CSV without a header) is read with pandas (pyarrow engine),
put in the DataFrame `BarDataWrangler` expects (open, high, low, close, volume;
a UTC index at each bar's close, as Nautilus stamps bars) and turned into
`Bar`s (PEPEUSDT.BINANCE-5-MINUTE-LAST-EXTERNAL). A fresh `BacktestEngine`
(logging at ERROR) with a BINANCE venue, CASH account, 1000 USDT,
`bar_execution=True` (bars move the simulated market and fill resting orders)
and a PEPEUSDT `CurrencyPair` (tick 1e-8, lot 1, fees 0.1 %) runs them through a
Python strategy that decides on every bar: it updates a fast and a slow EMA
(Nautilus's own indicators, fed in `on_bar`); an order still open from the bar
before is cancelled; else when flat and fast > slow it places a limit BUY for
100 USDT at the close, and while holding with fast < slow a limit SELL of what
it holds at the close (no order before the slow EMA has seen `slow` bars).
`engine.run()` includes Nautilus's default post-run statistics (`run_analysis`),
as research's figure includes writing its summary.

The periods (`--fast 100 --slow 300` by default) are chosen so that it trades
about as much as the bot's research run on the same month (44 orders, 28 fills,
16 cancels with the default settings): 37 orders, 37 fills. Nautilus's cost is
mostly per order, not per bar (about 1 ms an order's life here; 10/30 EMAs give
338 orders and run two to three times slower), so a yardstick trading ten times
more than the bot would flatter the ratio.

One warm-up run first (imports, first-call costs, as research measures its
month warm), then `REPEATS` timed runs, each: read the file + build the bars +
engine set-up + run (imports not counted; `dispose()` after the clock stops).

- `nautilus_bars_per_s`: bars / that wall, median over the repeats; the
  per-repeat figures in `nautilus_bars_per_s_repeats`.
- `nautilus_bars_engine_per_s`: bars / `engine.run()` alone, median.

`run_all.py` divides research's `research_kline_events_per_s` (the same file,
warm, one event per bar) by `nautilus_bars_per_s`: `kline_month_vs_nautilus_bars_ratio`.
If `nautilus_trader` cannot be imported, or the month is not there, prints
`nautilus_bars_per_s: null` and `nautilus_bars_skipped` with the reason; no
number is made up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

from _common import ROOT, emit, parse_args

MONTH = ROOT.parent / "shared" / "data" / "klines" / "PEPEUSDT-5m" / "PEPEUSDT-5m-2025-01.csv"
QUICK_BARS = 2000  # research.py's quick month is the same 2,000 first rows
REPEATS, QUICK_REPEATS = 5, 2
BAR_MS = 5 * 60 * 1000
KEYS = ("nautilus_bars_per_s", "nautilus_bars_engine_per_s", "nautilus_bars_per_s_repeats")


def skipped(reason: str) -> None:
    print(f"nautilus_bars: skipped, {reason}", file=sys.stderr, flush=True)
    emit({**dict.fromkeys(KEYS), "nautilus_bars_skipped": reason})


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fast", type=int, default=100, help="fast EMA period, in bars (default 100)")
    p.add_argument("--slow", type=int, default=300, help="slow EMA period, in bars (default 300)")


def main() -> None:
    args = parse_args(__doc__, options)
    try:
        import nautilus_trader
        import numpy as np
        import pandas as pd
        from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
        from nautilus_trader.config import LoggingConfig, StrategyConfig
        from nautilus_trader.indicators import ExponentialMovingAverage
        from nautilus_trader.model.currencies import USDT
        from nautilus_trader.model.data import Bar, BarType
        from nautilus_trader.model.enums import AccountType, CurrencyType, OmsType, OrderSide, TimeInForce
        from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
        from nautilus_trader.model.instruments import CurrencyPair
        from nautilus_trader.model.objects import Currency, Money, Price, Quantity
        from nautilus_trader.persistence.wranglers import BarDataWrangler
        from nautilus_trader.trading.strategy import Strategy
    except ImportError as exc:
        skipped(f"nautilus_trader cannot be imported: {exc}")
        return
    if not MONTH.is_file():
        skipped(f"the kline month is not there: {MONTH}")
        return
    nrows = QUICK_BARS if args.quick else None
    repeats = QUICK_REPEATS if args.quick else REPEATS

    PEPE = Currency("PEPE", 8, 0, "Pepe", CurrencyType.CRYPTO)
    Currency.register(PEPE, overwrite=True)
    venue = Venue("BINANCE")
    inst_id = InstrumentId(Symbol("PEPEUSDT"), venue)
    instrument = CurrencyPair(
        instrument_id=inst_id, raw_symbol=Symbol("PEPEUSDT"), base_currency=PEPE, quote_currency=USDT,
        price_precision=8, size_precision=0, price_increment=Price(1e-8, 8), size_increment=Quantity(1, 0),
        lot_size=None, max_quantity=Quantity(10_000_000_000_000, 0), min_quantity=Quantity(1, 0), max_notional=None,
        min_notional=Money(1, USDT), max_price=Price(1000, 8), min_price=Price(1e-8, 8),
        margin_init=Decimal(0), margin_maint=Decimal(0), maker_fee=Decimal("0.001"), taker_fee=Decimal("0.001"),
        ts_event=0, ts_init=0,
    )
    bar_type = BarType.from_str(f"{inst_id}-5-MINUTE-LAST-EXTERNAL")

    class EmaLimitConfig(StrategyConfig, frozen=True):
        instrument_id: InstrumentId
        bar_type: BarType
        fast: int
        slow: int
        quote_per_trade: float = 100.0

    class EmaLimit(Strategy):
        """Two EMAs updated on every bar; a limit at the close when they say buy (flat) or sell (holding)."""

        def __init__(self, config: EmaLimitConfig) -> None:
            super().__init__(config)
            self.fast = ExponentialMovingAverage(config.fast)
            self.slow = ExponentialMovingAverage(config.slow)
            self.order: Any = None
            self.held = 0
            self.bars = self.buys = self.sells = self.cancels = self.round_trips = 0

        def on_start(self) -> None:
            self.subscribe_bars(self.config.bar_type)

        def on_bar(self, bar: Bar) -> None:
            self.bars += 1
            self.fast.handle_bar(bar)
            self.slow.handle_bar(bar)
            if not self.slow.initialized:
                return
            o = self.order
            if o is not None and not o.is_closed:
                if not o.is_pending_cancel:
                    self.cancel_order(o)  # a limit not filled within one bar is stale
                    self.cancels += 1
                return
            fast, slow = self.fast.value, self.slow.value
            if self.held == 0 and fast > slow:
                qty = int(self.config.quote_per_trade / bar.close.as_double())
                self.order = self.order_factory.limit(self.config.instrument_id, OrderSide.BUY,
                                                      Quantity(qty, 0), bar.close, time_in_force=TimeInForce.GTC)
                self.submit_order(self.order)
                self.buys += 1
            elif self.held > 0 and fast < slow:
                self.order = self.order_factory.limit(self.config.instrument_id, OrderSide.SELL,
                                                      Quantity(self.held, 0), bar.close, time_in_force=TimeInForce.GTC)
                self.submit_order(self.order)
                self.sells += 1

        def on_order_filled(self, event: Any) -> None:
            qty = int(event.last_qty.as_double())
            if event.order_side == OrderSide.BUY:
                self.held += qty
            else:
                self.held -= qty
                if self.held <= 0:
                    self.held = 0
                    self.round_trips += 1

    def load() -> list[Bar]:
        df = pd.read_csv(MONTH, header=None, usecols=range(6), engine="pyarrow")  # 5x pandas' C reader here
        if nrows is not None:
            df = df.iloc[:nrows]
        open_ms = df[0].to_numpy(dtype=np.int64)
        if open_ms[0] > 10**14:  # Binance's spot files from 2025 on may stamp microseconds
            open_ms = open_ms // 1000
        frame = pd.DataFrame(
            {"open": df[1].to_numpy(np.float64), "high": df[2].to_numpy(np.float64),
             "low": df[3].to_numpy(np.float64), "close": df[4].to_numpy(np.float64),
             "volume": df[5].to_numpy(np.float64)},
            index=pd.to_datetime(open_ms + BAR_MS, unit="ms", utc=True),  # a bar is stamped at its close
        )
        return BarDataWrangler(bar_type, instrument).process(frame)

    def one_run() -> dict[str, Any]:
        t0 = time.perf_counter()
        bars = load()
        t_load = time.perf_counter()
        engine = BacktestEngine(config=BacktestEngineConfig(trader_id="BACKTESTER-001",
                                                            logging=LoggingConfig(log_level="ERROR")))
        engine.add_venue(venue=venue, oms_type=OmsType.NETTING, account_type=AccountType.CASH, base_currency=None,
                         starting_balances=[Money(1000, USDT), Money(0, PEPE)], bar_execution=True)
        engine.add_instrument(instrument)
        engine.add_data(bars)
        strategy = EmaLimit(EmaLimitConfig(instrument_id=inst_id, bar_type=bar_type, fast=args.fast,
                                            slow=args.slow))
        engine.add_strategy(strategy)
        t_setup = time.perf_counter()
        engine.run()
        t_run = time.perf_counter()
        orders = engine.cache.orders()
        out = {
            "bars": len(bars), "strategy_bars": strategy.bars, "wall_s": t_run - t0, "load_s": t_load - t0,
            "setup_s": t_setup - t_load, "run_s": t_run - t_setup, "orders": len(orders),
            "fills": sum(len(o.trade_ids) for o in orders), "buys": strategy.buys, "sells": strategy.sells,
            "cancels": strategy.cancels, "round_trips": strategy.round_trips,
        }
        engine.dispose()
        return out

    warm = one_run()
    runs = [one_run() for _ in range(repeats)]
    facts = ("bars", "strategy_bars", "orders", "fills", "round_trips")
    for r in runs:  # the same month, the same decisions: a run that differs is not the same work
        assert all(r[k] == warm[k] for k in facts), (warm, r)
    n = warm["bars"]
    assert warm["strategy_bars"] == n, f"the strategy saw {warm['strategy_bars']} of {n} bars"
    per_s = [round(n / r["wall_s"]) for r in runs]
    med = {k: statistics.median(r[k] for r in runs) for k in ("wall_s", "load_s", "setup_s", "run_s")}
    print(f"nautilus_bars: {n:,} bars, median of {repeats}: load {med['load_s']:.3f} s, setup "
          f"{med['setup_s']:.3f} s, run {med['run_s']:.3f} s = {round(statistics.median(per_s)):,} bars/s "
          f"({', '.join(f'{v:,}' for v in per_s)}); {warm['orders']} orders, {warm['fills']} fills, "
          f"{warm['round_trips']} round trips", file=sys.stderr, flush=True)
    emit({
        "nautilus_bars_version": nautilus_trader.__version__,
        "nautilus_bars": n,
        "nautilus_bars_repeats": repeats,
        "nautilus_bars_ema_periods": [args.fast, args.slow],
        "nautilus_bars_per_s": round(statistics.median(per_s)),
        "nautilus_bars_per_s_repeats": per_s,
        "nautilus_bars_engine_per_s": round(statistics.median(n / r["run_s"] for r in runs)),
        "nautilus_bars_wall_s": round(med["wall_s"], 3),
        "nautilus_bars_load_s": round(med["load_s"], 3),
        "nautilus_bars_setup_s": round(med["setup_s"], 3),
        "nautilus_bars_run_s": round(med["run_s"], 3),
        "nautilus_bars_warmup_s": round(warm["wall_s"], 3),
        "nautilus_bars_orders": warm["orders"],
        "nautilus_bars_fills": warm["fills"],
        "nautilus_bars_buys": warm["buys"],
        "nautilus_bars_sells": warm["sells"],
        "nautilus_bars_cancels": warm["cancels"],
        "nautilus_bars_round_trips": warm["round_trips"],
    })


if __name__ == "__main__":
    main()
