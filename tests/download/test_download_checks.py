"""What may be kept: a checksum line for the right file, a zip of one CSV in the kind's layout (pure)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from actors.download.checksum import ChecksumError, parse, sha256_file
from actors.download.layout import check_rows, check_zip
from tests._support.fakes.binance_vision import make_zip

KLINE = "1738281600000000,26.06,26.06,25.99,26.06,809.067,1738281659999999,21065.82,77,0,0,0\n"
AGG = "1,26.06,1.5,10,11,1738281600000000,True,True\n"
NAME = "TRUMPUSDC-1m-2025-01-31.zip"


def test_a_checksum_line_gives_the_digest_of_the_named_file() -> None:
    digest = "ab" * 32
    assert parse(f"{digest.upper()}  {NAME}\n", NAME) == digest
    assert parse(f"{digest} *{NAME}", NAME) == digest  # sha256sum's binary marker
    with pytest.raises(ChecksumError, match="another file"):
        parse(f"{digest}  TRUMPUSDC-1m-2025-01-30.zip", NAME)
    for bad in ("", "<html>not found</html>", f"{digest[:-1]}  {NAME}", f"{digest}  {NAME}\n{digest}  {NAME}"):
        with pytest.raises(ChecksumError, match="not '<sha256>  <file name>'"):
            parse(bad, NAME)


def test_the_file_digest_is_sha256(tmp_path: Path) -> None:
    f = tmp_path / "x.zip"
    f.write_bytes(b"x" * 3_000_000)  # more than one read block
    assert sha256_file(f) == hashlib.sha256(b"x" * 3_000_000).hexdigest()


def test_rows_must_have_the_kinds_columns() -> None:
    assert check_rows([KLINE, KLINE], "klines") is None
    assert check_rows(["open_time,open,high,low,close,volume,close_time,qv,n,tb,tq,ignore\n", KLINE], "klines") is None
    assert check_rows([AGG], "aggTrades") is None
    assert check_rows([AGG], "klines") == "row 1 has 8 columns, not the 12 of klines"
    assert check_rows([KLINE], "trades") == "row 1 has 12 columns, not the 7 of trades"
    assert check_rows(["", "\n"], "klines") == "its CSV holds no rows"
    assert "is not a klines row" in (check_rows([KLINE.replace("26.06,26.06", "abc,26.06", 1)], "klines") or "")


def test_a_zip_must_open_and_hold_one_csv_of_the_kind(tmp_path: Path) -> None:
    good = tmp_path / "good.zip"
    good.write_bytes(make_zip("TRUMPUSDC-1m-2025-01-31.csv", KLINE * 50))
    assert check_zip(good, "klines") is None
    assert "not the 12 of klines" in (check_zip(_zip(tmp_path, "agg.zip", AGG), "klines") or "")
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(good.read_bytes()[:-30])
    assert "does not open" in (check_zip(truncated, "klines") or "")
    html = tmp_path / "html.zip"
    html.write_text("<html>Access denied</html>")
    assert "does not open" in (check_zip(html, "klines") or "")
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("a.csv", KLINE)
        zf.writestr("b.csv", KLINE)
    assert check_zip(two, "klines") == "the zip holds 2 CSV files, not one"


def _zip(folder: Path, name: str, text: str) -> Path:
    p = folder / name
    p.write_bytes(make_zip(name[:-4] + ".csv", text))
    return p
