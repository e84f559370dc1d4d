"""The live warm start (issue 26): the venue's closed one-minute candles, folded before the first decision.

A live run used to start with no history, so the trend (4 h of market time)
kept the rule-based strategy from buying for hours after every restart.
Now `LiveDelivery` holds its snapshots and the live trades while
`WarmStart` has the venue's `GET /api/v3/klines` read (by the actor's I/O
loop, `actors/binance/klines.py`) for the look-back `history_needed_ms`
names, and folds the candles through the code a kline replay uses
(`kline_bars.py` → `SnapshotCutter` → `Features`), so the features equal
those of a replay of the same candles.

The seam: the candle still open at the start is not read; the live trades
of that minute and later go on as ever, the earlier ones are in the
history already and are dropped (no double count, no gap). After a feed
outage that left a whole minute without data, the missing candles are read
the same way before the next snapshot. A refused or failing history is
named in one line and the run warms up on live data, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from loguru import logger

from actors.market_data.columns import TradeColumns
from actors.market_data.cutter import TRADE_CAP, SnapshotCutter
from actors.market_data.features import MINUTE_MS, Features, make_candle
from actors.market_data.kline_bars import KlineTrades, parse_kline
from actors.market_data.snapshot_builder import SnapshotBuilder
from actors.messages import TradeTick
from actors.settings import MarketSettings

if TYPE_CHECKING:
    from actors.settings import Settings

WARM_START, BACKFILL = "warm start", "backfill"


def history_needed_ms(settings: Settings) -> int:
    """How far back a live run reads the venue's history before its first decision: THE one place.

    The longest look-back of what decides (whole minutes):
    - the trend: nothing is published until `trend_slow_s` lies between its first and last candle
      close, plus two minutes (the first bar's own minute, and `path` fills fold a candle when the
      next one opens);
    - the short window (VWAP, volatility, trade flow) and the candles the AI sees;
    - the strategy's `lookback` closed bars of its `timeframe` (one-minute bars without one), plus the
      bar forming now, which closes after the start.
    """
    m = settings.market
    needs = (m.trend_slow_s * 1000 + 2 * MINUTE_MS, m.window_s * 1000 + MINUTE_MS, m.candles * MINUTE_MS,
             strategy_history_ms(settings))
    most = max(needs)
    return -(-most // MINUTE_MS) * MINUTE_MS


def strategy_history_ms(settings: Settings) -> int:
    """The market time the strategy's look-back spans (0 if it cannot load: the start refuses it anyway)."""
    from actors.strategy.loader import StrategyError, load

    try:
        loaded = load(settings)
    except StrategyError:
        return 0
    if not loaded.lookback:
        return 0
    return (loaded.lookback + 1) * (loaded.timeframe_ms or MINUTE_MS)


class _Outage:
    """Marks, among the held trades, where the feed was down (a gap may follow)."""


OUTAGE = _Outage()


# The two seams reach into `Features` (this module is its companion, as `replay_info` is the replay's):
# `_c_open_ms` is the forming candle's open time (-1 before any trade), `_in_trend_ms` a candle already folded.


def before_history(f: Features, bars: bool) -> None:
    """History follows live trades: a forming candle of trades goes into the trend now, as the next
    trade would have put it, since a kline bar closes a candle without folding it."""
    c_open = f._c_open_ms
    if bars and c_open >= 0 and c_open != f._in_trend_ms and f.trend.last_ms <= c_open:
        f.trend.fold(c_open + MINUTE_MS, f._c_c)
        f._in_trend_ms = c_open
        if f.closed_out is not None:  # the strategy's bars too: the history bar closes it without telling
            f.closed_out.append((make_candle(c_open, f._c_o, f._c_h, f._c_l, f._c_c, f._c_v), MINUTE_MS))


def after_history(f: Features) -> None:
    """Live trades follow history: a last bar folded at its close is not folded again when the first
    trade of a later minute closes its candle."""
    if f._c_open_ms >= 0 and f.trend.last_ms > f._c_open_ms:
        f._in_trend_ms = f._c_open_ms


class WarmStart:
    """The history jobs of one live run: at most one at a time, numbered; answers for another are ignored.

    `request(job, start_ms, end_ms)` asks the I/O loop for the closed candles opening in
    [start_ms, end_ms) (tell-only); the answers come back as `on_progress`, `on_history`,
    `on_failed`. While `active`, live trades are held, not folded.
    """

    def __init__(self, builder: SnapshotBuilder, market: MarketSettings, *, needed_ms: int,
                 request: Callable[[int, int, int], None], trade_cap: int = TRADE_CAP) -> None:
        self.builder = builder
        self.features = builder.features
        self.market = market
        self.needed_ms = needed_ms
        self._request = request
        self.trade_cap = trade_cap
        self.active = False
        self.job = 0
        self.kind = ""
        self.start_ms = self.end_ms = 0
        self.total_min = self.got_min = 0
        self.held: list[TradeTick | _Outage] = []
        self.check_gap = False  # the next live trade may lie minutes after the last candle folded
        self.covered_until = 0  # live trades before this are in the history already
        self._t0 = 0.0
        # counters
        self.candles = 0  # history candles folded, in all
        self.backfills = 0
        self.covered = 0  # live trades dropped because the history had them
        self.failed = ""  # the last history request that failed, why

    # -- asking --------------------------------------------------------------------------------

    def begin(self, now_ms: int) -> None:
        """The start of a live run: read up to the minute that is open now (not included)."""
        seam = now_ms - now_ms % MINUTE_MS
        self._ask(WARM_START, seam - self.needed_ms, seam)

    def _ask(self, kind: str, start_ms: int, end_ms: int) -> None:
        self.job += 1
        self.active = True
        self.kind = kind
        self.start_ms, self.end_ms = start_ms, end_ms
        self.total_min, self.got_min = (end_ms - start_ms) // MINUTE_MS, 0
        self._t0 = time.monotonic()
        logger.info("market data: {}: reading {} one-minute candles of history before deciding", kind, self.total_min)
        self._request(self.job, start_ms, end_ms)

    def _gap_before(self, ts_ms: int) -> bool:
        """After an outage: read the whole minutes missing between the last candle and this trade's."""
        c_open = self.features._c_open_ms
        if c_open < 0:
            return False
        first = c_open + MINUTE_MS
        to = ts_ms - ts_ms % MINUTE_MS
        if to - first < MINUTE_MS:
            return False
        self.backfills += 1
        self._ask(BACKFILL, max(first, to - self.needed_ms), to)
        return True

    # -- live trades -------------------------------------------------------------------------------

    def on_trade(self, ev: TradeTick) -> None:
        """A live trade, in arrival order: held while a job runs, else folded (or dropped if covered)."""
        if self.active:
            self.held.append(ev)
            return
        if self.check_gap:
            self.check_gap = False
            if self._gap_before(ev.ts_ms):
                self.held.append(ev)
                return
        if ev.ts_ms < self.covered_until:
            self.covered += 1
            return
        self.features.add_trades((ev,))

    def on_outage(self) -> None:
        """The feed went stale: the first trade after it is checked for missing minutes."""
        if self.active:
            self.held.append(OUTAGE)
        else:
            self.check_gap = True

    # -- answers ---------------------------------------------------------------------------------

    def on_progress(self, job: int, got_min: int, total_min: int) -> None:
        if job == self.job and self.active:
            self.got_min, self.total_min = got_min, total_min

    def on_history(self, job: int, rows: Sequence[Sequence[str]]) -> bool:
        """The closed candles of job `job`, oldest first: folded, then the held trades. True when done."""
        if job != self.job or not self.active:
            return False
        ticks: list[TradeTick] = []
        bars = KlineTrades(self.market.candle_fills)  # fresh, as a replay of these candles starts
        last = self.features._c_open_ms
        n = bad = 0
        for cells in rows:
            try:
                bar = parse_kline(cells) if len(cells) == 12 else None
            except (ValueError, ArithmeticError):
                bar = None
            if bar is None:
                bad += 1
                continue
            if not self.start_ms <= bar[0] < self.end_ms or bar[0] <= last:
                continue  # still open, not asked for, or not after what the features hold
            last = bar[0]
            n += 1
            bars.add(bar, ticks)
        if bad:
            logger.warning("market data: {}: skipped {} malformed candle(s) of the venue's history", self.kind, bad)
        self._fold(ticks)
        if n:
            self.covered_until = self.end_ms
            self.candles += n
        self.got_min = n
        trend = self.features.trend.read()
        logger.info("market data: {} done: {} candles folded in {:.2f} s (trend {})", self.kind, n,
                    time.monotonic() - self._t0, trend[3] or "not known yet: too little history")
        self._release(gap_check=n > 0)
        return not self.active

    def on_failed(self, job: int, reason: str, refused: bool = False) -> bool:
        """The history could not be read: said once, and the run warms up on live data. True when done."""
        if job != self.job or not self.active:
            return False
        self.failed = reason
        how = "the venue refused the history request" if refused else "the history request failed"
        logger.warning("market data: no {}: {}: {}; warming up on live data, as without one", self.kind, how, reason)
        self._release(gap_check=False)
        return not self.active

    def _fold(self, ticks: list[TradeTick]) -> None:
        """Through the cutter, as a kline replay cuts them (its windows move at the same moments)."""
        if not ticks:
            return
        f, m = self.features, self.market
        before_history(f, ticks[0].bar is not None)
        cutter = SnapshotCutter(iter([(None, TradeColumns.of(ticks))]), self.builder,
                                interval_ms=m.snapshot_interval_ms, significant_move_bps=m.significant_move_bps,
                                trade_cap=self.trade_cap)
        seq = 0
        while cutter.next_cut(seq) is not None:
            seq += 1
        after_history(f)

    def _release(self, *, gap_check: bool) -> None:
        """The job is over: the held trades go on in order (one may start the next job)."""
        self.active = False
        self.check_gap = gap_check
        held, self.held = self.held, []
        for i, x in enumerate(held):
            if isinstance(x, _Outage):
                self.check_gap = True
                continue
            self.on_trade(x)
            if self.active:
                self.held.extend(held[i + 1:])
                return

    # -- what the edges show -------------------------------------------------------------------------

    def counters(self) -> dict[str, int | str]:
        return {"warming": 1 if self.active else 0, "warm_minutes": self.got_min, "warm_of": self.total_min,
                "warm_kind": self.kind if self.active else "", "history_candles": self.candles,
                "backfills": self.backfills, "history_covered": self.covered, "history_failed": self.failed}


__all__ = ["BACKFILL", "OUTAGE", "WARM_START", "WarmStart", "after_history", "before_history", "history_needed_ms"]
