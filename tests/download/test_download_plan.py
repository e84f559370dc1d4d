"""Which files a download asks for: whole published months as monthly zips, days for the rest (pure)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from actors.download.plan import PlanError, date_range, first_monday, monthly_published, parse_symbol, plan

BASE = "https://data.binance.vision"


def _names(start: date, end: date, today: date, kind: str = "klines", interval: str = "1m") -> list[str]:
    return [j.name for j in plan("TRUMPUSDC", kind, interval, start, end, today, base_url=BASE, out=Path("data"))]


def test_a_month_is_published_on_the_first_monday_after_it() -> None:
    assert first_monday(2025, 2) == date(2025, 2, 3) and first_monday(2025, 6) == date(2025, 6, 2)
    assert first_monday(2025, 9) == date(2025, 9, 1)  # the 1st is a Monday
    assert not monthly_published(2025, 1, date(2025, 2, 2))  # Sunday: January is not out yet
    assert monthly_published(2025, 1, date(2025, 2, 3))
    assert monthly_published(2024, 12, date(2025, 1, 6)) and not monthly_published(2024, 12, date(2025, 1, 5))


def test_whole_published_months_are_monthly_and_the_rest_daily() -> None:
    names = _names(date(2024, 12, 1), date(2025, 2, 2), today=date(2025, 2, 3))
    assert names == ["TRUMPUSDC-1m-2024-12.zip", "TRUMPUSDC-1m-2025-01.zip",
                     "TRUMPUSDC-1m-2025-02-01.zip", "TRUMPUSDC-1m-2025-02-02.zip"]
    # a day earlier January is not published: its days instead
    names = _names(date(2024, 12, 1), date(2025, 2, 1), today=date(2025, 2, 2))
    assert names[:2] == ["TRUMPUSDC-1m-2024-12.zip", "TRUMPUSDC-1m-2025-01-01.zip"]
    assert len(names) == 1 + 31 + 1 and names[-1] == "TRUMPUSDC-1m-2025-02-01.zip"


def test_a_month_cut_by_the_range_is_fetched_as_days() -> None:
    names = _names(date(2025, 1, 30), date(2025, 3, 2), today=date(2025, 6, 1))
    assert names == ["TRUMPUSDC-1m-2025-01-30.zip", "TRUMPUSDC-1m-2025-01-31.zip", "TRUMPUSDC-1m-2025-02.zip",
                     "TRUMPUSDC-1m-2025-03-01.zip", "TRUMPUSDC-1m-2025-03-02.zip"]


def test_urls_and_destinations_follow_binances_layout_and_the_replay_folders() -> None:
    k = plan("TRUMPUSDC", "klines", "5m", date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1), base_url=BASE,
             out=Path("data"))
    assert k[0].url == f"{BASE}/data/spot/monthly/klines/TRUMPUSDC/5m/TRUMPUSDC-5m-2025-01.zip"
    assert k[1].url == f"{BASE}/data/spot/daily/klines/TRUMPUSDC/5m/TRUMPUSDC-5m-2025-02-01.zip"
    assert k[0].dest == Path("data/klines/TRUMPUSDC-5m/TRUMPUSDC-5m-2025-01.zip")
    a = plan("PEPEUSDT", "aggTrades", "", date(2024, 10, 27), date(2024, 10, 27), date(2025, 1, 1), base_url=BASE,
             out=Path("d"))
    assert a[0].url == f"{BASE}/data/spot/daily/aggTrades/PEPEUSDT/PEPEUSDT-aggTrades-2024-10-27.zip"
    assert a[0].dest == Path("d/aggTrades/PEPEUSDT/PEPEUSDT-aggTrades-2024-10-27.zip")


def test_to_defaults_to_yesterday_and_never_reaches_today() -> None:
    today = date(2025, 6, 15)
    assert date_range("2025-06", None, today) == (date(2025, 6, 1), date(2025, 6, 14))
    assert date_range("2025-05-31", "2025-06", today) == (date(2025, 5, 31), date(2025, 6, 14))  # the month, so far
    assert date_range("2025-01", "2025-02", today) == (date(2025, 1, 1), date(2025, 2, 28))
    names = _names(*date_range("2025-05", None, today), today=today)
    assert names[0] == "TRUMPUSDC-1m-2025-05.zip" and names[-1] == "TRUMPUSDC-1m-2025-06-14.zip"  # the current month by day
    assert len(names) == 1 + 14


@pytest.mark.parametrize(("start", "end", "says"), [
    ("2025-13", None, "--from '2025-13'"),
    ("2025/01", None, "--from '2025/01'"),
    ("2025-01", "2025-02-30", "--to '2025-02-30'"),
    ("2025-06-15", None, "after the last day"),  # today: nothing is published yet
    ("2025-03", "2025-02", "after the last day"),
])
def test_periods_that_ask_for_nothing_possible_are_refused(start: str, end: str | None, says: str) -> None:
    with pytest.raises(PlanError) as err:
        date_range(start, end, date(2025, 6, 15))
    assert says in str(err.value)


def test_symbols_are_upper_cased_and_checked() -> None:
    assert parse_symbol("trumpusdc") == "TRUMPUSDC"
    for bad in ("TRUMP/USDC", "TRUMP-USDC", "", "X"):
        with pytest.raises(PlanError, match="pair without a separator"):
            parse_symbol(bad)
