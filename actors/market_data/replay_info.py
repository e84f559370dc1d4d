"""What a replay read, used and dropped, for the run report; and a sample of its rows, for the checks.

Kept beside `replay.py` (which stays the fast reader) so that a report never
has to guess: the files read, rows used, rows dropped and why, and gaps in
market time (a missing bar for klines; `TRADE_GAP_MS` without a trade otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from actors.market_data.replay import _COLUMNS, KLINES, ReplaySource, _is_number

Sample = tuple[str, str, list[str], list[str], list[str]]


def sample(src: ReplaySource, rows_per_file: int = 2000) -> Iterator[Sample]:
    """(label, kind, price cells, quantity cells, traded cells) from the first rows of each file, as
    written: what the replay checks read to find the data's own price and lot grid, and the prices the
    bot would trade at (a kline's close, a trade's price: never a bar's high or low alone)."""
    width = {kind: n for n, kind in _COLUMNS.items()}
    for spec in src._specs:  # this module is the source's companion
        px_cols, qty_col, traded_col = ((1, 2, 3, 4), 5, 4) if spec.kind == KLINES else ((1,), 2, 1)
        prices: list[str] = []
        qtys: list[str] = []
        traded: list[str] = []
        with spec.opener.open() as fh:
            for n, line in enumerate(fh):
                if n >= rows_per_file:
                    break
                c = line.strip().split(",")
                if len(c) != width[spec.kind] or not _is_number(c[qty_col]):
                    continue
                prices.extend(c[i].strip() for i in px_cols if _is_number(c[i]))
                qtys.append(c[qty_col].strip())
                if _is_number(c[traded_col]):
                    traded.append(c[traded_col].strip())
        yield spec.label, spec.kind, prices, qtys, traded


def summary(src: ReplaySource) -> dict[str, Any]:
    """Files read, rows used and dropped (by reason), market-time gaps: JSON-ready."""
    specs = src._specs
    longest = max(src.gaps, key=lambda g: g[1] - g[0]) if src.gaps else None
    kinds = sorted({str(i["kind"]) for i in src.per_file.values()} or {s.kind for s in specs})
    return {
        "path": str(src.path),
        "kinds": kinds,
        "fill_model": src.candle_fills if KLINES in kinds else "trades",
        "files": [{"file": label, **info} for label, info in src.per_file.items()],
        "files_found": [s.label for s in specs],
        "rows_used": src.rows,
        "rows_dropped": sum(src.bad_rows.values()),
        "dropped": dict(sorted(src.bad_rows.items())),
        "events": src.events,
        "first_ms": src.first_ms,
        "gaps": src.gap_count,
        "gap_ms": src.gap_ms,
        "longest_gap": list(longest) if longest else None,
        "wide_bar_share": format(src.wide_share, "f"),
        "wide_bars": src.wide_count,
        "wide_bar_list": [[b[0], b[1], *(format(x, "f") for x in b[2:6])] for b in src.wide_bars],
    }


def reasons(dropped: dict[str, int]) -> str:
    return ", ".join(f"{reason}: {n}" for reason, n in sorted(dropped.items()))


def stats_items(src: ReplaySource) -> tuple[tuple[str, int | str | None], ...]:
    """`summary` as flat `Stats` values (scalars), for the status page and the report."""
    s = summary(src)
    files = "; ".join(
        f"{f['file']}: {f['kind']}, {f['rows']} rows used"
        + (f", {sum(f['dropped'].values())} dropped ({reasons(f['dropped'])})" if f["dropped"] else "")
        for f in s["files"]
    )
    longest = s["longest_gap"] or (None, None)
    return (
        ("fill_model", s["fill_model"]),
        ("data_kinds", ", ".join(s["kinds"])),
        ("files_read", len(s["files"])),
        ("files", files),
        ("rows_used", src.rows),
        ("rows_dropped", s["rows_dropped"]),
        ("dropped_why", reasons(s["dropped"])),
        ("market_gaps", src.gap_count),
        ("market_gap_ms", src.gap_ms),
        ("longest_gap_from_ms", longest[0]),
        ("longest_gap_to_ms", longest[1]),
        ("wide_bar_share", s["wide_bar_share"]),
        ("wide_bars", s["wide_bars"]),
        # [open ms, close ms, open, high, low, close] per wide bar; JSON, as Stats values are scalars
        ("wide_bar_list", json.dumps(s["wide_bar_list"], separators=(",", ":"))),
    )
