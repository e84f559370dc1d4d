"""Is a downloaded zip what the replay reads? One CSV, the kind's column count, numbers where numbers go.

Checked after the checksum: a file can match Binance's checksum and still be
something the bot cannot replay (a zip of another kind, a header-only CSV), and
finding that out here costs a few lines, not a backtest that trades nothing.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

# spot CSVs (no header row): aggTrades 8 columns, trades 7, klines 12; the timestamp column of each
COLUMNS = {"aggTrades": 8, "trades": 7, "klines": 12}
TS_COLUMN = {"aggTrades": 5, "trades": 4, "klines": 0}
ROWS_CHECKED = 20


def _int(cell: str) -> bool:
    return cell.strip().isdigit()


def _number(cell: str) -> bool:
    s = cell.strip()
    return bool(s) and s.replace(".", "", 1).replace("e-", "", 1).isdigit()


def check_rows(lines: list[str], kind: str) -> str | None:
    """None when the first rows are `kind` rows (one header line tolerated), else what is wrong."""
    want = COLUMNS[kind]
    rows = [line.rstrip("\r\n") for line in lines if line.strip()]
    if rows and not _number(rows[0].split(",")[0]):
        rows = rows[1:]  # a header row (futures files have one; spot files do not)
    if not rows:
        return "its CSV holds no rows"
    for n, row in enumerate(rows, 1):
        cells = row.split(",")
        if len(cells) != want:
            return f"row {n} has {len(cells)} columns, not the {want} of {kind}"
        if not _int(cells[0]) or not _int(cells[TS_COLUMN[kind]]) or not _number(cells[1]) or not _number(cells[2]):
            return f"row {n} is not a {kind} row: {row[:80]!r}"
    return None


def check_zip(path: Path, kind: str) -> str | None:
    """None when `path` is a zip of one `kind` CSV; else why it cannot be kept."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if n.lower().endswith(".csv")]
            if len(members) != 1:
                return f"the zip holds {len(members)} CSV files, not one"
            lines: list[str] = []
            with zf.open(members[0]) as raw:
                for n, line in enumerate(raw):
                    if n >= ROWS_CHECKED:
                        break
                    lines.append(line.decode("utf-8", errors="replace"))
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError) as exc:  # RuntimeError: encrypted
        return f"the zip does not open ({type(exc).__name__}: {exc})"
    return check_rows(lines, kind)


__all__ = ["COLUMNS", "check_rows", "check_zip"]
