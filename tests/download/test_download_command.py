"""`bootstrap.py download` against a stand-in for data.binance.vision on 127.0.0.1, in process, "today" pinned."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests._support.fakes.binance_vision import FakeBinanceVision
from tests.download.helpers import download, files, tiny_day

FOLDER = ("klines", "TRUMPUSDC-1m")


def _publish_dec_to_feb(vision: FakeBinanceVision) -> None:
    vision.publish("monthly", "klines", "TRUMPUSDC", "1m", "2024-12", tiny_day("2024-12"))
    vision.publish("monthly", "klines", "TRUMPUSDC", "1m", "2025-01", tiny_day("2025-01"))
    for d in range(1, 32):
        vision.publish("daily", "klines", "TRUMPUSDC", "1m", f"2025-01-{d:02d}", tiny_day(f"2025-01-{d:02d}"))
    for d in ("2025-02-01", "2025-02-02"):
        vision.publish("daily", "klines", "TRUMPUSDC", "1m", d, tiny_day(d))


def test_whole_published_months_come_monthly_and_the_rest_daily(vision: FakeBinanceVision, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _publish_dec_to_feb(vision)
    out = tmp_path / "data"
    assert download(vision, out, "TRUMPUSDC", "--interval", "1m", "--from", "2024-12", today="2025-02-03T12:00:00") == 0
    assert [h.path.rsplit("/", 1)[1] for h in vision.zip_gets()] == [
        "TRUMPUSDC-1m-2024-12.zip", "TRUMPUSDC-1m-2025-01.zip", "TRUMPUSDC-1m-2025-02-01.zip", "TRUMPUSDC-1m-2025-02-02.zip"]
    assert "/data/spot/monthly/klines/TRUMPUSDC/1m/TRUMPUSDC-1m-2025-01.zip" in {h.path for h in vision.zip_gets()}
    names = files(out.joinpath(*FOLDER))
    assert [n for n in names if n.endswith(".zip")] == ["TRUMPUSDC-1m-2024-12.zip", "TRUMPUSDC-1m-2025-01.zip",
                                                        "TRUMPUSDC-1m-2025-02-01.zip", "TRUMPUSDC-1m-2025-02-02.zip"]
    assert len([n for n in names if n.endswith(".zip.CHECKSUM")]) == 4 and not [n for n in names if ".part" in n]
    assert "2 monthly and 2 daily files" in capsys.readouterr().out
    # the day before January's file is published (the first Monday after it), January comes as its 31 days
    vision.hits.clear()
    assert download(vision, tmp_path / "d2", "TRUMPUSDC", "--interval", "1m", "--from", "2025-01",
                    today="2025-02-02T12:00:00") == 0
    got = [h.path.rsplit("/", 1)[1] for h in vision.zip_gets()]
    assert len(got) == 32 and "TRUMPUSDC-1m-2025-01.zip" not in got and got[-1] == "TRUMPUSDC-1m-2025-02-01.zip"


def test_a_second_run_fetches_nothing_and_a_damaged_copy_is_fetched_again(
        vision: FakeBinanceVision, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _publish_dec_to_feb(vision)
    out = tmp_path / "data"
    args = ("TRUMPUSDC", "--interval", "1m", "--from", "2024-12")
    assert download(vision, out, *args) == 0
    vision.hits.clear()
    capsys.readouterr()
    assert download(vision, out, *args) == 0
    assert vision.hits == []  # verified against the .CHECKSUM kept beside each zip: not one request
    assert "4 already there" in capsys.readouterr().out
    damaged = out.joinpath(*FOLDER, "TRUMPUSDC-1m-2025-01.zip")
    damaged.write_bytes(damaged.read_bytes()[:-10])  # cut short, as a copy interrupted by hand might be
    assert download(vision, out, *args) == 0
    assert [h.path.rsplit("/", 1)[1] for h in vision.zip_gets()] == ["TRUMPUSDC-1m-2025-01.zip"]
    assert "the copy on disk was bad" in capsys.readouterr().err
    assert hashlib.sha256(damaged.read_bytes()).hexdigest() in damaged.with_name(damaged.name + ".CHECKSUM").read_text()


def test_a_corrupted_download_is_fetched_again_once_then_refused(vision: FakeBinanceVision, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for d in ("2025-02-01", "2025-02-02"):
        vision.publish("daily", "klines", "TRUMPUSDC", "1m", d, tiny_day(d))
    out = tmp_path / "data"
    vision.corrupt("TRUMPUSDC-1m-2025-02-01.zip", times=1)
    assert download(vision, out, "TRUMPUSDC", "--interval", "1m", "--from", "2025-02-01") == 0
    assert len(vision.zip_gets("TRUMPUSDC-1m-2025-02-01.zip")) == 2  # caught and fetched again
    assert "checksum mismatch: fetched again" in capsys.readouterr().err
    # corrupted every time: refused after the second try, nothing kept under either name
    vision.corrupt("TRUMPUSDC-1m-2025-02-02.zip", times=2)
    (out / "klines" / "TRUMPUSDC-1m" / "TRUMPUSDC-1m-2025-02-02.zip").unlink()
    vision.hits.clear()
    assert download(vision, out, "TRUMPUSDC", "--interval", "1m", "--from", "2025-02-01") == 1
    assert len(vision.zip_gets("TRUMPUSDC-1m-2025-02-02.zip")) == 2
    shown = capsys.readouterr().out
    assert "not kept (1):" in shown and "TRUMPUSDC-1m-2025-02-02.zip: checksum mismatch twice" in shown
    assert files(out / "klines" / "TRUMPUSDC-1m") == ["TRUMPUSDC-1m-2025-02-01.zip", "TRUMPUSDC-1m-2025-02-01.zip.CHECKSUM"]


def test_a_zip_that_does_not_open_or_holds_another_layout_is_not_kept(
        vision: FakeBinanceVision, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vision.publish("daily", "klines", "TRUMPUSDC", "1m", "2025-02-01", "", body=b"<html>gateway error</html>")
    vision.publish("daily", "klines", "TRUMPUSDC", "1m", "2025-02-02", "1,10.0,1.5,10,11,1738368000000000,True,True\n")
    out = tmp_path / "data"
    assert download(vision, out, "TRUMPUSDC", "--interval", "1m", "--from", "2025-02-01") == 1
    shown = capsys.readouterr().out
    assert "TRUMPUSDC-1m-2025-02-01.zip: the zip does not open" in shown  # its checksum matched: the file is bad
    assert "TRUMPUSDC-1m-2025-02-02.zip: row 1 has 8 columns, not the 12 of klines" in shown
    assert files(out / "klines" / "TRUMPUSDC-1m") == []


def test_a_missing_file_is_listed_with_its_url_and_the_rest_is_kept(vision: FakeBinanceVision, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    vision.publish("daily", "klines", "TRUMPUSDC", "1m", "2025-02-01", tiny_day("2025-02-01"))
    out = tmp_path / "data"
    assert download(vision, out, "TRUMPUSDC", "--interval", "1m", "--from", "2025-02-01", "--to", "2025-02-02") == 1
    shown = capsys.readouterr().out
    assert f"missing (1; not published on {vision.base_url}):" in shown
    assert f"{vision.base_url}/data/spot/daily/klines/TRUMPUSDC/1m/TRUMPUSDC-1m-2025-02-02.zip" in shown
    assert "--recent takes the newest hours" in shown  # yesterday's file may just be late
    assert (out / "klines" / "TRUMPUSDC-1m" / "TRUMPUSDC-1m-2025-02-01.zip").is_file()
    assert not vision.zip_gets("TRUMPUSDC-1m-2025-02-02.zip")  # its checksum's 404 was enough


def test_a_misspelt_symbol_says_so_and_the_others_download(vision: FakeBinanceVision, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    for d in ("2025-02-01", "2025-02-02"):
        vision.publish("daily", "klines", "TRUMPUSDC", "1m", d, tiny_day(d))
    vision.publish("daily", "klines", "NEWUSDC", "1m", "2025-02-01", tiny_day("2025-02-01"))  # listed on 02-01
    out = tmp_path / "data"
    assert download(vision, out, "TRUMPUSDC", "trumpusdx", "NEWUSDC", "--interval", "1m",
                    "--from", "2025-01-30", "--to", "2025-01-31") == 1
    shown = capsys.readouterr().out
    assert "TRUMPUSDX: nothing exists for this symbol" in shown and "is it spelt right?" in shown
    assert "NEWUSDC: no klines 1m file exists from 2025-01-30 to 2025-01-31" in shown  # listed later: not misspelt
    assert "TRUMPUSDC: nothing" not in shown and "TRUMPUSDX-1m-2025-01-30.zip" not in shown
    assert not (out / "klines" / "TRUMPUSDX-1m").exists()


def test_server_errors_are_retried_and_a_server_that_stays_down_is_reported(
        vision: FakeBinanceVision, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for d in ("2025-02-01", "2025-02-02"):
        vision.publish("daily", "klines", "TRUMPUSDC", "1m", d, tiny_day(d))
    vision.fail("TRUMPUSDC-1m-2025-02-01.zip", status=503, times=2)
    vision.fail("TRUMPUSDC-1m-2025-02-02.zip", status=500, times=99)
    out = tmp_path / "data"
    assert download(vision, out, "TRUMPUSDC", "--interval", "1m", "--from", "2025-02-01") == 1
    assert [h.status for h in vision.zip_gets("TRUMPUSDC-1m-2025-02-01.zip")] == [503, 503, 200]
    assert [h.status for h in vision.zip_gets("TRUMPUSDC-1m-2025-02-02.zip")] == [500] * 5
    shown = capsys.readouterr().out
    assert "failed (run the same command again to resume) (1):" in shown and "HTTP 500 (gave up after 5" in shown
    assert (out / "klines" / "TRUMPUSDC-1m" / "TRUMPUSDC-1m-2025-02-01.zip").is_file()


def test_a_month_whose_file_is_late_comes_as_its_days(vision: FakeBinanceVision, tmp_path: Path) -> None:
    for d in range(1, 32):  # January's days are out, its monthly file is not (yet)
        vision.publish("daily", "klines", "TRUMPUSDC", "1m", f"2025-01-{d:02d}", tiny_day(f"2025-01-{d:02d}"))
    vision.publish("daily", "klines", "TRUMPUSDC", "1m", "2025-02-08", tiny_day("2025-02-08"))  # a listed symbol
    out = tmp_path / "data"
    assert download(vision, out, "TRUMPUSDC", "--interval", "1m", "--from", "2025-01", "--to", "2025-01",
                    today="2025-02-10T00:00:00") == 0
    assert len([n for n in files(out / "klines" / "TRUMPUSDC-1m") if n.endswith(".zip")]) == 31
    # a symbol the archive does not know at all is not asked for 31 days: its one monthly URL is enough
    vision.hits.clear()
    assert download(vision, out, "TRUMPUSDX", "--interval", "1m", "--from", "2025-01", "--to", "2025-01",
                    today="2025-02-10T00:00:00") == 1
    assert [h.path.rsplit("/", 1)[1] for h in vision.hits] == ["TRUMPUSDX-1m-2025-01.zip.CHECKSUM",
                                                               "TRUMPUSDX-1m-2025-02-08.zip.CHECKSUM"]


def test_trades_go_to_a_symbol_folder_as_binance_names_them(vision: FakeBinanceVision, tmp_path: Path) -> None:
    vision.publish("daily", "aggTrades", "PEPEUSDT", "", "2024-10-27", "1,0.00000908,3591711.00,2,2,1729987202368,False,True\n")
    vision.publish("daily", "trades", "PEPEUSDT", "", "2024-10-27", "2,0.00000908,3591711.00,32.6,1729987202368,False,True\n")
    out = tmp_path / "data"
    for kind in ("aggTrades", "trades"):
        assert download(vision, out, "PEPEUSDT", "--kind", kind, "--from", "2024-10-27", "--to", "2024-10-27") == 0
        assert (out / kind / "PEPEUSDT" / f"PEPEUSDT-{kind}-2024-10-27.zip").is_file()


@pytest.mark.parametrize(("args", "says"), [
    (("TRUMPUSDC", "--from", "2025-01"), "klines need --interval"),
    (("TRUMPUSDC", "--interval", "7m", "--from", "2025-01"), "not '7m'"),
    (("TRUMPUSDC", "--kind", "aggTrades", "--interval", "1m", "--from", "2025-01"), "--interval is for klines"),
    (("TRUMPUSDC", "--kind", "trades", "--recent", "--from", "2025-01"), "--recent tops up klines only"),
    (("TRUMPUSDC", "--interval", "1m", "--recent", "--from", "2025-01", "--to", "2025-01"), "drop --to"),
    (("TRUMP/USDC", "--interval", "1m", "--from", "2025-01"), "pair without a separator"),
    (("TRUMPUSDC", "--interval", "1m", "--from", "2025-03-01"), "nothing to download"),
    (("TRUMPUSDC", "--interval", "1m", "--from", "2025-01", "--parallel", "0"), "--parallel must be in 1..32"),
])
def test_arguments_that_ask_for_nothing_possible_exit_2(vision: FakeBinanceVision, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                                        says: str) -> None:
    assert download(vision, tmp_path / "data", *args) == 2
    assert says in capsys.readouterr().err
    assert vision.hits == [] and not (tmp_path / "data").exists()


def test_a_part_that_is_already_whole_is_kept_without_a_request(vision: FakeBinanceVision, tmp_path: Path) -> None:
    body = vision.publish("daily", "klines", "TRUMPUSDC", "1m", "2025-02-01", tiny_day("2025-02-01"))
    folder = tmp_path / "data" / "klines" / "TRUMPUSDC-1m"
    folder.mkdir(parents=True)
    (folder / "TRUMPUSDC-1m-2025-02-01.zip.part").write_bytes(body)  # stopped after its last byte, before the rename
    assert download(vision, tmp_path / "data", "TRUMPUSDC", "--interval", "1m", "--from", "2025-02-01",
                    "--to", "2025-02-01") == 0
    assert vision.zip_gets() == [] and (folder / "TRUMPUSDC-1m-2025-02-01.zip").read_bytes() == body
    assert files(folder) == ["TRUMPUSDC-1m-2025-02-01.zip", "TRUMPUSDC-1m-2025-02-01.zip.CHECKSUM"]
