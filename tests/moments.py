"""Hypothesis strategies for when sessions happen: any minute of a year, with the minutes where local days and
months are easy to get wrong drawn often — midnight, the first and last minute of each month, and the hours around
both clock changes in Europe/London (the last Sunday of March, when 01:00 to 01:59 never happens, and of October,
when it happens twice).

The differential tests (tests/sessions_app/test_calendar_paths.py, tests/invoicing/test_month_end_paths.py) draw
sessions from here and check that the two implementations of a read or write agree on them.
"""

import calendar
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

LONDON = ZoneInfo("Europe/London")
YEAR = 2026


def last_sunday(year: int, month: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - 6) % 7)


CLOCKS_FORWARD, CLOCKS_BACK = last_sunday(YEAR, 3), last_sunday(YEAR, 10)  # 29 March and 25 October 2026
MONTH_FIRSTS = [date(YEAR, month, 1) for month in range(1, 13)]
MONTH_LASTS = [date(YEAR, month, calendar.monthrange(YEAR, month)[1]) for month in range(1, 13)]
AWKWARD_DAYS = sorted({*MONTH_FIRSTS, *MONTH_LASTS, date(YEAR + 1, 1, 1),
                       *(day + timedelta(days=n) for day in (CLOCKS_FORWARD, CLOCKS_BACK) for n in (-1, 0, 1))})
AWKWARD_TIMES = [time(0, 0), time(0, 1), time(0, 30), time(0, 59), time(1, 0), time(1, 30), time(1, 59), time(2, 0),
                 time(2, 30), time(12, 0), time(22, 59), time(23, 0), time(23, 30), time(23, 59)]


def local(day: date, at: time, fold: int = 0) -> datetime:
    """A London wall-clock time as an instant, in UTC. In the hour the clocks skip, fold 0 reads it as GMT (an hour
    later in BST), fold 1 as BST; in the hour they repeat, fold 0 is the first time round and fold 1 the second."""
    return datetime.combine(day, at, tzinfo=LONDON).replace(fold=fold).astimezone(dt_timezone.utc)


# The instants just either side of a month's start and of each clock change (in UTC, so none is ambiguous).
EDGES = sorted({
    *(local(day, time(0, 0)) for day in MONTH_FIRSTS),
    *(local(day, time(23, 59)) for day in MONTH_LASTS),
    *(local(day, time(0, 0)) + timedelta(minutes=n) for day in (CLOCKS_FORWARD, CLOCKS_BACK)
      for n in (-1, 0, 59, 60, 61, 119, 120, 121, 179, 180)),
})

days = st.one_of(st.sampled_from(AWKWARD_DAYS), st.dates(date(YEAR, 1, 1), date(YEAR, 12, 31)))
times = st.one_of(st.sampled_from(AWKWARD_TIMES), st.times().map(lambda t: t.replace(second=0, microsecond=0)))

# When a session starts, in UTC: on the minute, like every booking.
starts = st.one_of(st.sampled_from(EDGES), st.builds(local, days, times, st.sampled_from([0, 1])))

# How long it was booked for: whole minutes mostly, sometimes with odd seconds (the admin takes any time).
booked = st.one_of(
    st.integers(1, 240).map(lambda minutes: timedelta(minutes=minutes)),
    st.integers(1, 240 * 60).map(lambda seconds: timedelta(seconds=seconds)),
)


def starts_around(month: int) -> st.SearchStrategy[datetime]:
    """A start in the month or the one before (the month end's own sessions, and late ones), or just either side of
    its first and last minute."""
    first = date(YEAR, month, 1)
    following = MONTH_LASTS[month - 1] + timedelta(days=1)
    edges = [local(first, time(0, 0)), local(first, time(0, 0)) - timedelta(minutes=1),
             local(following, time(0, 0)), local(following, time(0, 0)) - timedelta(minutes=1)]
    before = (first - timedelta(days=1)).replace(day=1)
    return st.one_of(st.sampled_from(edges),
                     st.builds(local, st.dates(before, MONTH_LASTS[month - 1]), times, st.sampled_from([0, 1])))
