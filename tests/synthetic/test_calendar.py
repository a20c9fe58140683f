"""Scotland's working days: Easter, bank holidays with substitute days, working days a month."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from dateutil.easter import easter as dateutil_easter
from hypothesis import given
from hypothesis import strategies as st

from clusterqi.synthetic.calendar import (
    MEAN_WORKING_DAYS,
    easter_sunday,
    scottish_bank_holidays,
    working_day_factor,
    working_days,
)

#: Easter Sundays published by the Church calendar tables (and gov.uk Good Friday / Easter
#: Monday dates): 2024-03-31, 2025-04-20, 2026-04-05, 2027-03-28, 2038-04-25 (latest possible
#: is 25 April), 2285-03-22 (earliest possible is 22 March).
KNOWN_EASTERS = {2024: dt.date(2024, 3, 31), 2025: dt.date(2025, 4, 20),
                 2026: dt.date(2026, 4, 5), 2027: dt.date(2027, 3, 28),
                 2038: dt.date(2038, 4, 25), 2285: dt.date(2285, 3, 22)}

#: gov.uk's Scottish bank holidays for these months (plus Easter Monday, which this calendar
#: counts), written out by hand from gov.uk/bank-holidays, with the weekdays counted separately.
HAND_COUNTED = {
    (2025, 12): [dt.date(2025, 12, 1), dt.date(2025, 12, 25), dt.date(2025, 12, 26)],  # St Andrew's Sun -> Mon
    (2021, 12): [dt.date(2021, 12, 27), dt.date(2021, 12, 28)],          # Christmas Sat/Sun
    (2022, 1): [dt.date(2022, 1, 3), dt.date(2022, 1, 4)],               # New Year Sat/Sun
    (2021, 1): [dt.date(2021, 1, 1), dt.date(2021, 1, 4)],               # 2 January a Saturday
    (2025, 4): [dt.date(2025, 4, 18), dt.date(2025, 4, 21)],             # Good Friday, Easter Mon
    (2026, 5): [dt.date(2026, 5, 4), dt.date(2026, 5, 25)],
    (2026, 8): [dt.date(2026, 8, 3)],
    (2026, 11): [dt.date(2026, 11, 30)],
    (2026, 2): [],
}


def _weekdays(year: int, month: int) -> int:
    day = dt.date(year, month, 1)
    count = 0
    while day.month == month:
        count += day.weekday() < 5
        day += dt.timedelta(days=1)
    return count


@pytest.mark.parametrize("year,expected", sorted(KNOWN_EASTERS.items()))
def test_easter_sunday_matches_published_dates(year, expected):
    assert easter_sunday(year) == expected


@given(st.integers(min_value=1583, max_value=4099))
def test_easter_sunday_agrees_with_dateutil_and_falls_on_a_sunday_in_its_window(year):
    day = easter_sunday(year)
    assert day == dateutil_easter(year)
    assert day.weekday() == 6 and dt.date(year, 3, 22) <= day <= dt.date(year, 4, 25)


@pytest.mark.parametrize("year,month", sorted(HAND_COUNTED))
def test_working_days_of_known_months_match_a_hand_count(year, month):
    holidays = HAND_COUNTED[(year, month)]
    assert all(d.weekday() < 5 for d in holidays)
    assert working_days(year, month) == _weekdays(year, month) - len(holidays)
    assert [d for d in scottish_bank_holidays(year) if d.month == month] == holidays


def test_december_2025_has_twenty_working_days():
    # 23 weekdays; St Andrew's Day (Sunday 30 November) is observed on Monday 1 December
    assert working_days(2025, 12) == 20


@given(st.integers(min_value=1900, max_value=2200))
def test_every_year_has_ten_weekday_holidays_and_about_250_working_days(year):
    holidays = scottish_bank_holidays(year)
    assert len(set(holidays)) == 10
    assert all(d.weekday() < 5 and d.year == year for d in holidays)
    total = sum(working_days(year, m) for m in range(1, 13))
    assert 249 <= total <= 252
    assert all(18 <= working_days(year, m) <= 23 for m in range(1, 13))


def test_working_day_factor_averages_about_one_and_follows_the_calendar():
    months = pd.date_range("2021-01-01", periods=120, freq="MS")
    factor = working_day_factor(months)
    assert abs(factor.mean() - 1) < 0.005
    assert factor.min() < 0.93 and factor.max() > 1.05
    dec, feb = months.get_loc(pd.Timestamp("2025-12-01")), months.get_loc(pd.Timestamp("2026-02-01"))
    assert factor[dec] == pytest.approx(20 / MEAN_WORKING_DAYS)
    assert factor[feb] == pytest.approx(20 / MEAN_WORKING_DAYS)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="month 13"):
        working_days(2025, 13)
    with pytest.raises(ValueError, match="Gregorian"):
        easter_sunday(1500)
