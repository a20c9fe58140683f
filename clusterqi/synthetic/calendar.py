"""Scotland's working days: the calendar synthetic prescribing follows.

Prescriptions are written and dispensed on working days, so a month's items follow the number
of weekdays that are not Scottish bank holidays (19 to 23 a month, about +-8% around the mean).
The holidays counted (issue 12) are 1 and 2 January,
Good Friday, Easter Monday, the early May bank holiday (first Monday of May), the spring bank
holiday (last Monday of May), the summer bank holiday (first Monday of August), St Andrew's Day
(30 November) and 25 and 26 December. A holiday on a Saturday or Sunday is replaced by the next
weekday that is not already a holiday (so 25 December on a Saturday moves to Monday 27, and 26
December to Tuesday 28). gov.uk's Scottish list has no Easter Monday; it is counted here because
many practices and community pharmacies close on it, so fewer items are dispensed.

Constraints: the Gregorian calendar (years 1583 and later). Special one-off holidays (jubilees,
coronations, state funerals) and moved May holidays (2020 VE day) are not included.

Source: UK Government, "UK bank holidays" (gov.uk/bank-holidays, Scotland); Easter by the
anonymous Gregorian algorithm (Meeus, Astronomical Algorithms, 1991, chapter 8).

Example usage::

    working_days(2025, 12)                  # 20: St Andrew's Day moved to Mon 1 Dec, 25-26 Dec
    scottish_bank_holidays(2026)            # the ten dates of 2026
    working_day_factor(pd.date_range("2025-01-01", periods=12, freq="MS"))
"""

from __future__ import annotations

import calendar as _calendar
import datetime as _dt
from functools import lru_cache

import numpy as np
import pandas as pd

__all__ = ["easter_sunday", "scottish_bank_holidays", "working_days", "working_day_factor",
           "MEAN_WORKING_DAYS"]

#: Working days in an average month (about 250 a year over 12 months), the scale of
#: :func:`working_day_factor`.
MEAN_WORKING_DAYS = 250.5 / 12
_SATURDAY = 5


def easter_sunday(year: int) -> _dt.date:
    """Easter Sunday of a Gregorian year (the anonymous algorithm; Meeus 1991).

    Example usage::

        easter_sunday(2025)      # datetime.date(2025, 4, 20)
    """
    if not isinstance(year, int) or year < 1583:
        raise ValueError(f"year {year!r} must be a whole Gregorian year (1583 or later)")
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return _dt.date(year, month, day + 1)


def _nth_monday(year: int, month: int, n: int) -> _dt.date:
    """The n-th Monday of a month (n = -1: the last)."""
    mondays = [week[0] for week in _calendar.monthcalendar(year, month) if week[0]]
    return _dt.date(year, month, mondays[n if n < 0 else n - 1])


def _substitute(dates: list[_dt.date], taken: set[_dt.date]) -> list[_dt.date]:
    """Move holidays on weekends to the next weekdays not already holidays (in order)."""
    out = []
    for day in dates:
        while day.weekday() >= _SATURDAY or day in taken:
            day += _dt.timedelta(days=1)
        taken.add(day)
        out.append(day)
    return out


@lru_cache(maxsize=256)
def scottish_bank_holidays(year: int) -> tuple[_dt.date, ...]:
    """Scotland's bank holidays in a year as observed (substitute days applied), sorted.

    Example usage::

        scottish_bank_holidays(2025)[-3:]   # (2025-12-01, 2025-12-25, 2025-12-26)
    """
    easter = easter_sunday(year)
    fixed_weekdays = [easter - _dt.timedelta(days=2), easter + _dt.timedelta(days=1),
                      _nth_monday(year, 5, 1), _nth_monday(year, 5, -1), _nth_monday(year, 8, 1)]
    taken = set(fixed_weekdays)
    holidays = list(fixed_weekdays)
    holidays += _substitute([_dt.date(year, 1, 1), _dt.date(year, 1, 2)], taken)
    holidays += _substitute([_dt.date(year, 11, 30)], taken)
    holidays += _substitute([_dt.date(year, 12, 25), _dt.date(year, 12, 26)], taken)
    return tuple(sorted(holidays))


def working_days(year: int, month: int) -> int:
    """Weekdays in a month that are not Scottish bank holidays.

    Example usage::

        working_days(2025, 12)   # 20
    """
    if not 1 <= month <= 12:
        raise ValueError(f"month {month!r} must be 1-12")
    first = np.datetime64(f"{year:04d}-{month:02d}-01")
    last = first.astype("datetime64[M]") + 1
    holidays = [np.datetime64(d) for d in scottish_bank_holidays(year)
                if d.month == month]
    return int(np.busday_count(first, last.astype("datetime64[D]"), holidays=holidays))


def working_day_factor(months: pd.DatetimeIndex) -> np.ndarray:
    """Each month's working days over :data:`MEAN_WORKING_DAYS` (about 0.9 to 1.1).

    Multiplying an average month's items by this factor gives items that follow the calendar.
    """
    return np.array([working_days(m.year, m.month) for m in months], dtype=float) / MEAN_WORKING_DAYS
