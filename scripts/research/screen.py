"""A fast approximate backtester for SCREENING strategy families on the universe, before the bot runs them.

Not the product, and never the figures the README reports: those come from the
bot's own backtests (`bootstrap.py sweep`). This re-implements, in plain
float arithmetic over numpy arrays, what decides most of a strategy's result on
5m klines, so that hundreds of parameter sets can be tried in minutes and only
the promising few spend the bot's time:

- decisions at the close of the strategy's bars; a buy rests at the close and
  can fill only on the next 5m bar (the bot's 120 s order timeout cancels it at
  that bar's close), when its low trades below the price (next-bar fills);
- 0.1 % a side, the buy's fee taken in the base asset;
- the exit plan's stop (never looser than `[trading] stop_loss` 5 %) and the time
  limit fire on a close and sell at the next bar's open; targets and the
  strategy's own exits rest as limits and fill when a later high trades above;
  a sell under break-even plus fees and `min_profit` is never the strategy's;
- `[risk]`: the 15 % drawdown halt (flattens), the 5 % daily loss pause, an hour's
  cooldown after a stop, six hours' pause after three losses in a row, a day's
  maximum holding.

`python scripts/research/screen.py` screens the grids in `families()` on every
symbol-month of the universe and writes one JSON line per set and symbol-month
(`reports/screen.jsonl`); `scripts/research/leaderboard.py` reads them as it reads a sweep's rows.
On four January months it came within two points of the bot's monthly return
(Donchian 1h 24/12: AAVE -13.4 % vs -12.6 %, HBAR -9.0 vs -8.4, LUNC -11.0 vs
-13.2, TIA -4.6 vs -6.1), trading a little less often than the bot.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
UNIVERSE = ROOT.parent / "shared" / "data" / "universe"
CACHE = ROOT / "reports" / "screen-cache"  # the universe as .npy, made once (reports/ is git-ignored)
FEE, MIN_PROFIT, STOP_LOSS, QUOTE, CAPITAL = 0.001, 0.002, 0.05, 10.0, 10.0
M5 = 300_000
HOUR, DAY = 3_600_000, 86_400_000


def load(path: Path) -> np.ndarray:
    """(n, 6) float64: open_ms, open, high, low, close, volume."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / (path.stem + ".npy")
    if cached.exists():
        return np.load(cached)
    with zipfile.ZipFile(path) as zf:
        text = zf.read(zf.namelist()[0]).decode()
    rows = [line.split(",")[:6] for line in text.splitlines() if line and line[0].isdigit()]
    arr = np.array(rows, dtype=np.float64)
    np.save(cached, arr)
    return arr


# -- indicators on arrays (causal) ------------------------------------------------------------


def ema(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    if len(x) < n:
        return out
    a = 2.0 / (n + 1)
    v = float(np.mean(x[:n]))
    out[n - 1] = v
    for i in range(n, len(x)):
        v += a * (x[i] - v)
        out[i] = v
    return out


def atr(h: np.ndarray, l: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
    pc = np.concatenate([[c[0]], c[:-1]])
    tr = np.maximum(h - l, np.maximum(abs(h - pc), abs(l - pc)))
    tr[0] = h[0] - l[0]
    out = np.full(len(c), np.nan)
    if len(c) < n:
        return out
    v = float(np.mean(tr[:n]))
    out[n - 1] = v
    for i in range(n, len(c)):
        v = (v * (n - 1) + tr[i]) / n
        out[i] = v
    return out


def rsi(c: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(c), np.nan)
    d = np.diff(c)
    if len(d) < n:
        return out
    g, l = np.maximum(d, 0), np.maximum(-d, 0)
    ag, al = float(np.mean(g[:n])), float(np.mean(l[:n]))
    out[n] = 100.0 if al == 0 else 100 - 100 / (1 + ag / al)
    for i in range(n + 1, len(c)):
        ag = (ag * (n - 1) + g[i - 1]) / n
        al = (al * (n - 1) + l[i - 1]) / n
        out[i] = 100.0 if al == 0 else 100 - 100 / (1 + ag / al)
    return out


def rolling_max(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    for i in range(n - 1, len(x)):
        out[i] = x[i - n + 1:i + 1].max()
    return out


def rolling_min(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), np.nan)
    for i in range(n - 1, len(x)):
        out[i] = x[i - n + 1:i + 1].min()
    return out


def resample(a: np.ndarray, tf_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Bars of tf (open, high, low, close) and, for each, the index of its last 5m bar (the decision bar)."""
    period = (a[:, 0] // tf_ms).astype(np.int64)
    ends = [*np.flatnonzero(np.diff(period)).tolist(), len(a) - 1]
    starts = [0] + [e + 1 for e in ends[:-1]]
    bars = np.array([[a[s, 1], a[s:e + 1, 2].max(), a[s:e + 1, 3].min(), a[e, 4]] for s, e in zip(starts, ends, strict=True)])
    last = np.array(ends)
    if len(a) and (a[-1, 0] + M5) % tf_ms != 0:  # the month's last period is cut: not a closed bar
        bars, last = bars[:-1], last[:-1]
    return bars, last


# -- strategies: arrays of decisions per 5m bar index ---------------------------------------------


@dataclass
class Plan:
    enter: np.ndarray  # bool per 5m bar: buy at this close
    leave: np.ndarray  # bool per 5m bar: the strategy's exit (a limit at the close, if it pays break-even)
    stop: np.ndarray  # stop distance as a fraction of the price, per 5m bar (at entry)
    target: np.ndarray  # target distance as a fraction (0: none)
    hold_ms: int


def on_bars(a: np.ndarray, tf_ms: int, make: Callable[[np.ndarray], tuple[np.ndarray, ...]], hold_bars: int) -> Plan:
    bars, last = resample(a, tf_ms)
    enter, leave, stop, target = (np.zeros(len(a), bool), np.zeros(len(a), bool), np.zeros(len(a)), np.zeros(len(a)))
    if len(bars) > 2:
        e, lv, s, t = make(bars)
        enter[last] = e
        leave[last] = lv
        stop[last] = s
        target[last] = t
    return Plan(enter, leave, stop, target, hold_bars * tf_ms)


def ema_trend(tf: str, fast: int, slow: int, stop_atr: float, target_atr: float, max_bars: int, gap: float = 0.0):
    def make(b: np.ndarray) -> tuple[np.ndarray, ...]:
        c = b[:, 3]
        f, s, r = ema(c, fast), ema(c, slow), atr(b[:, 1], b[:, 2], c, 14)
        up = (f > s * (1 + gap)) & (c > f)
        with np.errstate(invalid="ignore"):
            return (np.nan_to_num(up, nan=0).astype(bool), np.nan_to_num(f < s, nan=0).astype(bool),
                    np.nan_to_num(stop_atr * r / c), np.nan_to_num(target_atr * r / c))
    return lambda a: on_bars(a, TF[tf], make, max_bars)


def donchian(tf: str, entry: int, exit_: int, stop_atr: float, max_bars: int, target_atr: float = 0.0):
    def make(b: np.ndarray) -> tuple[np.ndarray, ...]:
        h, l, c = b[:, 1], b[:, 2], b[:, 3]
        hi = np.concatenate([[np.nan], rolling_max(h, entry)[:-1]])
        lo = np.concatenate([[np.nan], rolling_min(l, exit_)[:-1]])
        r = atr(h, l, c, 14)
        with np.errstate(invalid="ignore"):
            return (np.nan_to_num(c > hi, nan=0).astype(bool), np.nan_to_num(c < lo, nan=0).astype(bool),
                    np.nan_to_num(stop_atr * r / c), np.nan_to_num(target_atr * r / c))
    return lambda a: on_bars(a, TF[tf], make, max_bars)


def rsi_dip(tf: str, period: int, oversold: float, exit_rsi: float, trend: int, stop_atr: float, target_atr: float,
            max_bars: int):
    def make(b: np.ndarray) -> tuple[np.ndarray, ...]:
        c = b[:, 3]
        x, r = rsi(c, period), atr(b[:, 1], b[:, 2], c, 14)
        t = ema(c, trend) if trend else np.zeros(len(c))
        with np.errstate(invalid="ignore"):
            return (np.nan_to_num((x < oversold) & (c > t), nan=0).astype(bool), np.nan_to_num(x > exit_rsi, nan=0).astype(bool),
                    np.nan_to_num(stop_atr * r / c), np.nan_to_num(target_atr * r / c))
    return lambda a: on_bars(a, TF[tf], make, max_bars)


TF = {"15m": 900_000, "30m": 1_800_000, "1h": HOUR, "2h": 2 * HOUR, "4h": 4 * HOUR, "1d": DAY}


# -- the bot, approximately ------------------------------------------------------------------------


def simulate(a: np.ndarray, plan: Plan) -> dict[str, float]:
    o, h, l, c, t = a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 0]
    n = len(a)
    realized = fees = gross = 0.0
    qty = cost = buy_fee = 0.0
    buy_px = -1.0  # a resting buy (placed at the previous close)
    stop_frac = target_frac = 0.0
    sell_px = -1.0  # a resting sell limit
    market_sell = False  # a marketable sell, fills at the next open
    stop = target = 0.0
    deadline = 0
    peak, day, day_open = CAPITAL, -1, CAPITAL
    halted = False
    no_buy_until = streak = trades = 0
    max_cost = dd = 0.0
    entries = np.flatnonzero(plan.enter[:-1])  # flat with nothing working, only these bars can change anything
    e_i = 0
    k = 0
    while k < n:
        if not qty and buy_px < 0 and not market_sell:
            # equity is flat: jump to the next entry signal (the day's open equity is the same equity)
            while e_i < len(entries) and entries[e_i] < k:
                e_i += 1
            if e_i >= len(entries):
                break
            if entries[e_i] > k:
                k = int(entries[e_i])
                d = int(t[k]) // DAY
                if d != day:
                    day, day_open = d, CAPITAL + realized
        # fills on this bar, for orders placed at an earlier close
        if buy_px > 0:
            if l[k] < buy_px:
                fill = min(buy_px, o[k])
                q = QUOTE / buy_px
                qty, cost = q * (1 - FEE), q * fill
                buy_fee = q * fill * FEE
                fees += buy_fee
                max_cost = max(max_cost, cost)
                deadline = int(t[k]) + plan.hold_ms
                stop = max(buy_px * (1 - stop_frac) if stop_frac else 0.0, cost / qty * (1 - STOP_LOSS))
                target = buy_px * (1 + target_frac) if target_frac else 0.0
            buy_px = -1.0
        if qty and (market_sell or (sell_px > 0 and h[k] > sell_px)):
            fill = o[k] if market_sell else max(sell_px, o[k])
            proceeds = qty * fill
            fee = proceeds * FEE
            pnl = proceeds - fee - cost
            gross += pnl + fee + buy_fee
            fees += fee
            realized += pnl
            trades += 1
            streak = streak + 1 if pnl < 0 else 0
            if market_sell and fill * qty < cost:
                no_buy_until = max(no_buy_until, int(t[k]) + HOUR)  # the cooldown after a stop
            if streak >= 3:
                no_buy_until = max(no_buy_until, int(t[k]) + 6 * HOUR)
            qty = cost = 0.0
            sell_px, market_sell = -1.0, False
        # at this close: risk, exits, decisions
        equity = CAPITAL + realized + (qty * c[k] - cost if qty else 0.0)
        peak = max(peak, equity)
        dd = max(dd, peak - equity)
        d = int(t[k]) // DAY
        if d != day:
            day, day_open = d, equity
        if not halted and (peak - equity) / CAPITAL >= 0.15:
            halted = True
        if (day_open - equity) / CAPITAL >= 0.05:
            no_buy_until = max(no_buy_until, (d + 1) * DAY)
        close_ms = int(t[k]) + M5
        if qty:
            if not market_sell:
                be = cost / qty * (1 + FEE) / (1 - FEE) * (1 + MIN_PROFIT)
                if halted or c[k] < stop or close_ms >= deadline:
                    market_sell, sell_px = True, -1.0
                elif plan.leave[k] and c[k] >= be:
                    sell_px = max(c[k], be)
                elif target and sell_px < 0:
                    sell_px = max(target, be)
        elif buy_px < 0 and plan.enter[k] and not halted and close_ms > no_buy_until and k + 1 < n:
            buy_px, stop_frac, target_frac = c[k], plan.stop[k], plan.target[k]
        k += 1
    if qty:  # marked at the last close, as the bot's report does
        realized += qty * c[-1] - cost
    ret = realized / max(max_cost, QUOTE) if max_cost else 0.0
    hold = c[-1] / o[0] - 1
    return {"return": ret, "hold": hold, "excess": ret - hold, "trades": trades, "fees": fees / QUOTE,
            "gross": gross / QUOTE, "max_dd": dd / max(max_cost, QUOTE)}


# -- screening -------------------------------------------------------------------------------------


def families() -> list[tuple[str, str, dict[str, object], Callable[[np.ndarray], Plan]]]:
    """(family, name, params, strategy): the grids screened. Look-backs stay short: the universe is judged
    one symbol-month at a time, so every bar of warm-up is a bar a strategy cannot trade."""
    out: list[tuple[str, str, dict[str, object], Callable[[np.ndarray], Plan]]] = []
    for tf, (f, s), st, tg, mb, gap in itertools.product(["30m", "1h", "2h"], [(6, 24), (9, 21), (12, 48)], [2.0, 3.0],
                                                         [0.0, 3.0], [24, 48], [0.0, 0.01]):
        p = {"timeframe": tf, "fast": f, "slow": s, "stop_atr": st, "target_atr": tg, "max_bars": mb, "min_gap": gap}
        out.append(("ema_trend", f"ema {p}", p, ema_trend(tf, f, s, st, tg, mb, gap)))
    for tf, e, x, st in itertools.product(["30m", "1h", "2h"], [12, 24, 48], [6, 12], [1.5, 3.0]):
        p = {"timeframe": tf, "entry_bars": e, "exit_bars": x, "stop_atr": st, "max_hold_bars": 48}
        out.append(("donchian", f"donchian {p}", p, donchian(tf, e, x, st, 48)))
    for tf, (per, os_), tr, tg, st in itertools.product(["15m", "1h"], [(14, 20), (14, 30), (2, 5), (2, 10)], [0, 50],
                                                        [1.0, 2.0], [1.5, 3.0]):
        p = {"timeframe": tf, "rsi_period": per, "oversold": os_, "trend_period": tr, "target_atr": tg, "stop_atr": st,
             "max_bars": 12}
        out.append(("rsi_dip", f"rsi {p}", p, rsi_dip(tf, per, os_, 55, tr, st, tg, 12)))
    return out


def _run_set(job: tuple[int, list[tuple[str, str, Path]]]) -> list[dict[str, object]]:
    k, files = job
    fam, _name, params, strategy = families()[k]
    rows = []
    for sym, month, path in files:
        a = load(path)
        r = simulate(a, strategy(a))
        rows.append({"set": k, "family": fam, "params": params, "symbol": sym, "month": month,
                     **{key: float(v) for key, v in r.items()}})
    return rows


def screen(which: list[str], out: Path, workers: int) -> None:
    from multiprocessing import Pool

    files = [(folder.name[:-3], z.stem.rsplit("-", 2)[-2] + "-" + z.stem.rsplit("-", 1)[-1], z)
             for folder in sorted(UNIVERSE.glob("*-5m")) for z in sorted(folder.glob("*.zip"))]
    files = [f for f in files if f[1] in which]
    for _s, _m, z in files:
        load(z)  # the cache, once, before the workers read it
    sets = families()
    print(f"{len(sets)} sets x {len(files)} symbol-months", file=sys.stderr, flush=True)
    with out.open("w") as fh, Pool(workers) as pool:
        for i, rows in enumerate(pool.imap(_run_set, [(k, files) for k in range(len(sets))])):
            for r in rows:
                fh.write(json.dumps(r) + "\n")
            fh.flush()
            mean = float(np.mean([r["return"] for r in rows]))  # type: ignore[arg-type]
            print(f"{i + 1}/{len(sets)} {sets[i][1]}: mean return {mean:+.4f}", file=sys.stderr, flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--months", default="2025-01,2025-02,2025-03,2025-04,2025-05")
    p.add_argument("--out", default=str(ROOT / "reports" / "screen.jsonl"))
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    screen(args.months.split(","), Path(args.out), args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
