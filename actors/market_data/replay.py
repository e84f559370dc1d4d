"""Binance public-data CSVs (data.binance.vision), read as they are downloaded.

- aggTrades: aggTradeId, price, qty, firstTradeId, lastTradeId, timestamp, isBuyerMaker, isBestMatch
- trades:    id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch
- klines:    openTime, open, high, low, close, volume, closeTime, quoteVolume, numTrades,
             takerBuyBaseVol, takerBuyQuoteVol, ignore

Spot files have no header row (one is tolerated). The kind is found per file
from the column count (or the header's names); timestamps are µs in files
from 2025 on and ms before, found per file (a value above 1e14 is µs). A
`.zip` is read in place, streaming; a folder means all its csv and zip files,
in the time order of their first rows.

Rows are parsed on the caller's thread in a tight loop, straight into
columns (`TradeColumns`: no object per trade; `TradeTick`s are made only for
the snapshots that need them), handed out in chunks. How a kline becomes
trades depends on the candle fill model (`[market] candle_fills`):

- `next_bar` (the default): ONE trade at the bar's close time, at its close
  price, for its volume, carrying the whole bar (`TradeTick.bar`). Nothing
  inside a bar is shown, so the keeper decides at bar closes and the paper
  exchange fills what was decided only on later bars (`order_executor/candle_fills`).
- `path`: four trades (open, then low and high in the order that fits the
  candle's colour, then close) that share its volume: a guessed path inside
  the bar, on which the paper exchange fills as if it had been observed.

A kline whose range (high - low) is above `wide_share` of its open is kept
in `wide_bars` (the first `MAX_WIDE`; all are counted): a flash crash is a
real price a resting order fills on, and the report names those bars so a
result that rests on one wick is visible.

Bad rows (wrong column count, not a number, a negative or zero value, time
going backwards) are skipped and counted, and logged once per file and reason
with their count; `summary()` says what was read, used, dropped and where
market time has gaps.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO

from loguru import logger

from actors.market_data.columns import TradeColumns
from actors.market_data.kline_bars import BIG, CANDLE_FILLS, NEXT_BAR, Bar, KlineTrades, parse_kline
from actors.market_data.replay_files import FileSpec, PlainFile, ZipMember
from actors.messages import TradeTick

AGG_TRADES = "aggTrades"
TRADES = "trades"
KLINES = "klines"

_COLUMNS = {8: AGG_TRADES, 7: TRADES, 12: KLINES}
_HEADER_HINTS = (
    ("agg", AGG_TRADES),
    ("quote_qty", TRADES),
    ("quoteqty", TRADES),
    ("open_time", KLINES),
    ("opentime", KLINES),
)
_TS_COLUMN = {AGG_TRADES: 5, TRADES: 4, KLINES: 0}

ZERO = Decimal(0)
MICROS = 10**14  # a timestamp above this is in µs

CHUNK = 4096
TRADE_GAP_MS = 300_000  # trades this far apart are a gap in market time
MAX_GAPS = 1000  # gaps kept for the report (all are counted)
MAX_WIDE = 100  # wide bars kept for the report (all are counted)
WIDE_SHARE = Decimal("0.2")  # a bar's range above this share of its open is a wide bar
_TRUE = ("true", "1")
_KNOWN_MAX = 1 << 16  # distinct price (or size) spellings kept for reuse

Chunk = tuple[None, TradeColumns]  # (book, trades): replays have no book


class ReplayError(ValueError):
    """The replay path is missing, empty or holds nothing readable."""


def _is_number(s: str) -> bool:
    s = s.strip()
    return bool(s) and (s.lstrip("-").replace(".", "", 1).isdigit())


class ReplaySource:
    """Iterates a file, zip or folder of Binance public-data CSVs as chunks of `TradeTick`s.

    `rows` counts good rows read, `events` the trades made from them,
    `bad_rows` the skipped rows by reason; `candle_fills` is how klines
    become trades (see the module docstring).
    """

    def __init__(self, path: str | Path, chunk_size: int = CHUNK, *, candle_fills: str = NEXT_BAR,
                 wide_share: Decimal = WIDE_SHARE) -> None:
        if candle_fills not in CANDLE_FILLS:
            raise ValueError(f"candle_fills = {candle_fills!r}; choose one of: {', '.join(CANDLE_FILLS)}")
        if not wide_share > 0:
            raise ValueError(f"wide_share = {wide_share}: a share of the price, above 0")
        self.path = Path(path)
        self.chunk_size = chunk_size
        self.candle_fills = candle_fills
        self.rows = 0
        self.events = 0
        self.bad_rows: Counter[str] = Counter()
        self.files: list[str] = []
        self.per_file: dict[str, dict[str, object]] = {}  # label -> kind, rows, dropped by reason
        self.gaps: list[tuple[int, int]] = []  # (last data before, first data after), ms; the first MAX_GAPS
        self.gap_count = 0
        self.gap_ms = 0
        self.first_ms: int | None = None
        self.wide_share = wide_share
        self.wide_bars: list[Bar] = []  # klines whose range is above wide_share of the open; the first MAX_WIDE
        self.wide_count = 0
        self._last_ts = 0  # ms, across files
        self._last_close_ms = 0  # klines: the last bar's close time
        self._bars = KlineTrades(candle_fills)  # how bars become trades (shared with the live warm start)
        self._specs = self._discover()

    # -- discovery ------------------------------------------------------------------

    def _discover(self) -> list[FileSpec]:
        p = self.path
        if not p.exists():
            raise ReplayError(f"replay path {str(p)!r} does not exist")
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in (".csv", ".zip"))
        else:
            files = [p]
        specs: list[FileSpec] = []
        for f in files:
            specs.extend(self._specs_of(f))
        if not specs:
            raise ReplayError(f"replay path {str(p)!r} holds no readable aggTrades, trades or klines CSV")
        specs.sort(key=lambda s: (s.first_ts, s.label))
        self.files = [s.label for s in specs]
        return specs

    def _specs_of(self, f: Path) -> list[FileSpec]:
        openers: list[tuple[str, PlainFile | ZipMember]] = []
        if f.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(f) as zf:
                    members = sorted(n for n in zf.namelist() if n.lower().endswith(".csv"))
            except zipfile.BadZipFile:
                logger.warning("replay: {} is not a readable zip; skipped", f)
                return []
            for m in members:
                openers.append((f"{f.name}:{m}", ZipMember(f, m)))
        else:
            openers.append((f.name, PlainFile(f)))
        specs = []
        for label, opener in openers:
            spec = self._sniff(label, opener)
            if spec is not None:
                specs.append(spec)
        return specs

    def _sniff(self, label: str, opener: PlainFile | ZipMember) -> FileSpec | None:
        """Kind, header and time unit from the first rows of one file."""
        header = False
        kind: str | None = None
        with opener.open() as fh:
            for n, line in enumerate(fh):
                if n > 100:
                    break
                cells = line.rstrip("\r\n").split(",")
                if len(cells) == 1 and not cells[0].strip():
                    continue
                if n == 0 and not _is_number(cells[0]):
                    header = True
                    low = line.lower()
                    for hint, hinted in _HEADER_HINTS:
                        if hint in low:
                            kind = hinted
                            break
                    continue
                k = kind or _COLUMNS.get(len(cells))
                if k is None or len(cells) != {v: c for c, v in _COLUMNS.items()}[k]:
                    continue
                try:
                    ts = int(cells[_TS_COLUMN[k]])
                except ValueError:
                    continue
                micros = ts > MICROS
                return FileSpec(label, opener, k, micros, header, ts // 1000 if micros else ts)
        logger.warning("replay: {} has no aggTrades, trades or klines rows; skipped", label)
        return None

    # -- reading --------------------------------------------------------------------

    def chunks(self) -> Iterator[Chunk]:
        """Every trade of every file, in order, `chunk_size` at a time."""
        for spec in self._specs:
            bad: Counter[str] = Counter()
            rows0 = self.rows
            info: dict[str, object] = {"kind": spec.kind, "rows": 0, "dropped": {}}
            self.per_file[spec.label] = info
            with spec.opener.open() as fh:
                if spec.kind == KLINES:
                    gen = self._klines(fh, spec, bad)
                else:
                    gen = self._trades(fh, spec, bad)
                for chunk in gen:
                    info["rows"] = self.rows - rows0
                    yield None, chunk
            for reason, n in sorted(bad.items()):
                logger.warning("replay {}: skipped {} bad {} row(s): {}", spec.label, n, spec.kind, reason)
            self.bad_rows.update(bad)
            info["rows"] = self.rows - rows0
            info["dropped"] = dict(sorted(bad.items()))

    def _gap(self, before: int, after: int) -> None:
        self.gap_count += 1
        self.gap_ms += after - before
        if len(self.gaps) < MAX_GAPS:
            self.gaps.append((before, after))

    def summary(self) -> dict[str, object]:
        """What was read, used and dropped (and why), and the gaps in market time (`replay_info`)."""
        from actors.market_data.replay_info import summary

        return summary(self)

    def stats_items(self) -> tuple[tuple[str, int | str | None], ...]:
        """`summary()` as flat `Stats` values, for the market actor's stats (status page, report)."""
        from actors.market_data.replay_info import stats_items

        return stats_items(self)

    def __iter__(self) -> Iterator[TradeTick]:
        for _, chunk in self.chunks():
            yield from chunk.ticks(0, len(chunk))

    def _trades(self, fh: IO[str], spec: FileSpec, bad: Counter[str]) -> Iterator[TradeColumns]:
        agg = spec.kind == AGG_TRADES
        ncols = 8 if agg else 7
        ts_col = 5 if agg else 4
        m_col = 6 if agg else 5
        div = 1000 if spec.micros else 1
        size = self.chunk_size
        last_ts = self._last_ts
        D = Decimal
        big = BIG
        zero = ZERO
        gap_ms = TRADE_GAP_MS
        # One Decimal per distinct spelling: a dict look-up is cheaper than parsing, and a price
        # that was seen is known to be in range. Cleared when it grows (real sizes vary a lot).
        known_px: dict[str, Decimal] = {}
        known_qty: dict[str, Decimal] = {}
        ids: list[int] = []
        prices: list[Decimal] = []
        qtys: list[Decimal] = []
        times: list[int] = []
        makers: list[bool] = []
        a_id, a_px, a_qty, a_ts, a_m = ids.append, prices.append, qtys.append, times.append, makers.append
        left = size
        first = spec.header
        for line in fh:
            c = line.split(",")
            if len(c) != ncols:
                if first:
                    first = False
                    continue
                if not line.strip():
                    continue
                bad["wrong column count"] += 1
                continue
            try:
                ts = int(c[ts_col]) // div
                ps = c[1]
                qs = c[2]
                p = known_px.get(ps)
                q = known_qty.get(qs)
                if p is None or q is None:
                    p = D(ps)
                    q = D(qs)
                    tid = int(c[0])
                    if not (zero < p < big and zero < q < big):
                        bad["negative, zero or out of range"] += 1
                        continue
                    if len(known_px) >= _KNOWN_MAX:
                        known_px.clear()
                    if len(known_qty) >= _KNOWN_MAX:
                        known_qty.clear()
                    p = known_px.setdefault(ps, p)
                    q = known_qty.setdefault(qs, q)
                else:
                    tid = int(c[0])
            except (ValueError, ArithmeticError):
                if first:
                    first = False
                    continue
                bad["not a number"] += 1
                continue
            first = False
            if ts < last_ts:
                bad["time going backwards"] += 1
                continue
            if ts - last_ts > gap_ms:
                if last_ts:
                    self._gap(last_ts, ts)
                else:
                    self.first_ms = ts
            last_ts = ts
            mark = c[m_col]
            a_id(tid)
            a_px(p)
            a_qty(q)
            a_ts(ts)
            a_m(mark == "True" or (mark != "False" and mark.strip().lower() in _TRUE))
            left -= 1
            if not left:
                left = size
                self._last_ts = last_ts
                self.rows += size
                self.events += size
                yield TradeColumns(ids, prices, qtys, times, makers)
                ids, prices, qtys, times, makers = [], [], [], [], []
                a_id, a_px, a_qty, a_ts, a_m = ids.append, prices.append, qtys.append, times.append, makers.append
        self._last_ts = last_ts
        tail = len(ids)
        self.rows += tail
        self.events += tail
        if ids:
            yield TradeColumns(ids, prices, qtys, times, makers)

    def _klines(self, fh: IO[str], spec: FileSpec, bad: Counter[str]) -> Iterator[TradeColumns]:
        div = 1000 if spec.micros else 1
        size = self.chunk_size
        out: list[TradeTick] = []
        first = spec.header
        bars = self._bars
        wide = self.wide_share
        for line in fh:
            c = line.split(",")
            if len(c) != 12:
                if first:
                    first = False
                    continue
                if not line.strip():
                    continue
                bad["wrong column count"] += 1
                continue
            try:
                bar = parse_kline(c, div)
            except (ValueError, ArithmeticError):
                if first:
                    first = False
                    continue
                bad["not a number"] += 1
                continue
            first = False
            if bar is None:
                bad["negative, zero or inconsistent"] += 1
                continue
            t_open, t_close = bar[0], bar[1]
            if t_open < self._last_ts:
                bad["time going backwards"] += 1
                continue
            if self._last_close_ms:
                if t_open - self._last_close_ms > 1:
                    self._gap(self._last_close_ms, t_open)
            elif self.first_ms is None:
                self.first_ms = t_open
            self._last_close_ms = t_close
            self._last_ts = t_open
            self.rows += 1
            if bar[3] - bar[4] > wide * bar[2]:
                self.wide_count += 1
                if len(self.wide_bars) < MAX_WIDE:
                    self.wide_bars.append(bar)
            made = bars.add(bar, out)
            if not made:
                continue
            self.events += made
            self._last_ts = out[-1].ts_ms
            if len(out) >= size:
                yield TradeColumns.of(out)
                out = []
        if out:
            yield TradeColumns.of(out)


__all__ = ["AGG_TRADES", "KLINES", "TRADES", "ReplayError", "ReplaySource"]
