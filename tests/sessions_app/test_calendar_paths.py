"""The month calendar has two implementations of its one read: on PostgreSQL a single SQL query (LATERAL, per day),
elsewhere the ORM (a window ranking each day's sessions). Both run here on PostgreSQL, on the same random sessions
across the year (clock changes, midnight, the months' first and last minutes), and must give the same calendar:
the same sessions on the same days, in the same order, and the same counts. Each also matches the sessions' own
London days, worked out here in Python.
"""

from contextlib import contextmanager
from datetime import date, timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from sessions_app import roles, selectors
from sessions_app.models import ServiceAppointment
from sessions_app.selectors import CALENDAR_DAY_LIMIT, calendar_month
from tests import moments
from tests.factories import MenteeFactory, MentorFactory, UserFactory
from tests.strategies import examples

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

Status = ServiceAppointment.Status


@contextmanager
def rolled_back():
    """One example's sessions, gone afterwards: a savepoint inside the test's transaction, rolled back."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def people(db):
    mentors = [MentorFactory(user__full_name="Ann Mentor"), MentorFactory(user__full_name="Olu Othermentor")]
    mentees = [MenteeFactory(full_name=name) for name in ("Mo Mentee", "Kit Mentee", "Sam Mentee")]
    leader = UserFactory(full_name="Lee Leader", roles=[roles.SENIOR_LEADERSHIP])
    return mentors, mentees, leader


def book(people, drawn) -> list[ServiceAppointment]:
    """The drawn sessions, written in one statement (booking each through the service would be slower and adds
    nothing the calendar reads)."""
    mentors, mentees, _ = people
    sessions = []
    for n, (starts_at, length, mentor, mentee, done) in enumerate(drawn, start=1):
        wrapped = ({"status": Status.COMPLETED, "outcome": "attended", "wrapped_up_at": starts_at + length}
                   if done else {})
        sessions.append(ServiceAppointment(
            reference=f"SA-{n:06d}", mentor=mentors[mentor], mentee=mentees[mentee], starts_at=starts_at,
            ends_at=starts_at + length, **wrapped))
    return ServiceAppointment.objects.bulk_create(sessions)


def expected_calendar(sessions, grid: list[date]) -> dict[date, tuple[list[str], int]]:
    """Each day of the grid with sessions: the first CALENDAR_DAY_LIMIT references by time, and how many are hidden."""
    by_day: dict[date, list] = {}
    for session in sorted(sessions, key=lambda s: (s.starts_at, s.pk)):
        by_day.setdefault(timezone.localdate(session.starts_at), []).append(session.reference)
    return {day: (refs[:CALENDAR_DAY_LIMIT], max(len(refs) - CALENDAR_DAY_LIMIT, 0))
            for day, refs in by_day.items() if day in grid}


def shown(month) -> dict[date, tuple[list[str], int]]:
    return {cell.day: ([entry.reference for entry in cell.appointments], cell.hidden)
            for week in month.weeks for cell in week if cell.appointments or cell.hidden}


def by_both_paths(*args, **kwargs):
    in_sql = calendar_month(*args, **kwargs)
    with mock.patch.object(selectors, "_first_of_each_day", selectors._first_of_each_day_by_orm):
        by_orm = calendar_month(*args, **kwargs)
    return in_sql, by_orm


one_session = st.tuples(moments.starts, moments.booked, st.integers(0, 1), st.integers(0, 2), st.booleans())
# A busy day: more sessions than a calendar cell shows, at awkward times of one awkward day.
busy_day = st.tuples(st.sampled_from(moments.AWKWARD_DAYS),
                     st.lists(st.tuples(st.sampled_from(moments.AWKWARD_TIMES), st.integers(0, 1)),
                              min_size=0, max_size=CALENDAR_DAY_LIMIT + 3))


@examples(30)
@given(drawn=st.lists(one_session, min_size=1, max_size=12), busy=busy_day)
def test_both_calendar_paths_put_the_same_sessions_on_the_same_days(people, drawn, busy):
    day, at = busy
    drawn = drawn + [(moments.local(day, time, fold), timedelta(minutes=45), 0, 1, False) for time, fold in at]
    mentors, _, leader = people
    with rolled_back():
        sessions = book(people, drawn)
        months = sorted({(day.year, day.month) for day in (timezone.localdate(s.starts_at) for s in sessions)})
        for year, month in months:
            # Everyone's sessions as Senior Leadership sees them, and (in turn, to keep it quick) a mentor's own or
            # one mentor's as Senior Leadership picks them.
            for user, mentor_id in ((leader, None), (mentors[0].user, None) if month % 2 else (leader, mentors[1].pk)):
                in_sql, by_orm = by_both_paths(user, year, month, mentor_id=mentor_id, today=date(year, month, 15))
                assert in_sql == by_orm, (year, month, user.full_name, mentor_id)
                visible = [s for s in sessions if s.mentor_id == (mentor_id or s.mentor_id)
                           and (user.sees_all_appointments or s.mentor.user_id == user.pk)]
                grid = [cell.day for week in in_sql.weeks for cell in week]
                assert shown(in_sql) == expected_calendar(visible, grid)
                assert in_sql.total == sum(timezone.localdate(s.starts_at).month == month
                                           and timezone.localdate(s.starts_at).year == year for s in visible)
