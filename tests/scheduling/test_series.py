"""Repeating sessions: the plan shown before saving, booking it in one go, and "this and all following"."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from sessions_app.models import AppointmentSeries, CancellationReason, MentorAssignment, ServiceAppointment
from sessions_app.scheduling import BookingProblem, Repeat, SessionClash
from sessions_app.services import (
    series_book,
    series_cancel_following,
    series_change_following,
    series_plan,
    session_book,
)

LONDON = ZoneInfo("Europe/London")
pytestmark = pytest.mark.time_machine(datetime(2026, 3, 2, 9, 0, tzinfo=LONDON))


@pytest.fixture
def assigned(mentor, mentee):
    MentorAssignment.objects.create(mentor=mentor, mentee=mentee)
    return mentee


def args(mentor, mentee, **kwargs):
    return {"mentor": mentor, "mentee": mentee, "first_day": date(2026, 3, 17), "start_time": time(16, 0),
            "booked_minutes": 60, "mode": "in_person", "location": "Room 2", "repeat": Repeat(1, count=4), **kwargs}


def test_a_weekly_series_keeps_four_oclock_across_the_spring_clock_change(mentor, assigned):
    plan = series_plan(acting_user=mentor.user, **args(mentor, assigned))
    assert [o.label for o in plan.occurrences] == [
        "Tuesday 17 March 2026, 16:00–17:00", "Tuesday 24 March 2026, 16:00–17:00",
        "Tuesday 31 March 2026, 16:00–17:00", "Tuesday 7 April 2026, 16:00–17:00"]
    # 16:00 GMT is 16:00 UTC; 16:00 BST is 15:00 UTC.
    assert [o.starts_at.astimezone(ZoneInfo("UTC")).hour for o in plan.occurrences] == [16, 16, 15, 15]
    assert not ServiceAppointment.objects.exists()


def test_fortnightly_until_a_date_includes_that_date(mentor, assigned):
    plan = series_plan(acting_user=mentor.user, **args(mentor, assigned, repeat=Repeat(2, until=date(2026, 4, 28))))
    assert [timezone_date(o.starts_at) for o in plan.occurrences] == [
        date(2026, 3, 17), date(2026, 3, 31), date(2026, 4, 14), date(2026, 4, 28)]


def timezone_date(moment):
    return moment.astimezone(LONDON).date()


def test_every_three_weeks_for_three_sessions(mentor, assigned):
    plan = series_plan(acting_user=mentor.user, **args(mentor, assigned, repeat=Repeat(3, count=3)))
    assert [timezone_date(o.starts_at) for o in plan.occurrences] == [
        date(2026, 3, 17), date(2026, 4, 7), date(2026, 4, 28)]


@pytest.mark.parametrize("repeat, message", [
    (Repeat(0, count=3), "every 1 to 52 weeks"),
    (Repeat(1), "either how many sessions, or the date"),
    (Repeat(1, count=3, until=date(2026, 5, 1)), "either how many sessions, or the date"),
    (Repeat(1, count=1), "2 to 104 sessions"),
    (Repeat(1, count=105), "2 to 104 sessions"),
    (Repeat(1, until=date(2026, 3, 17)), "must end after its first session"),
    (Repeat(1, until=date(2028, 12, 1)), "more than 104 sessions"),
])
def test_a_repeat_that_makes_no_sense_is_refused(mentor, assigned, repeat, message):
    with pytest.raises(BookingProblem, match=message):
        series_plan(acting_user=mentor.user, **args(mentor, assigned, repeat=repeat))


def test_the_plan_marks_the_sessions_that_clash(mentor, assigned):
    taken = session_book(acting_user=mentor.user, mentor=mentor, mentee=assigned, day=date(2026, 3, 31),
                         start_time=time(16, 30), booked_minutes=30, mode="phone")
    plan = series_plan(acting_user=mentor.user, **args(mentor, assigned))
    assert [bool(o.clashes) for o in plan.occurrences] == [False, False, True, False]
    assert plan.occurrences[2].clashes == [taken]
    with pytest.raises(SessionClash, match=f"1 of the 4 sessions clash with other sessions. The first: .*{taken.reference}"):
        series_book(acting_user=mentor.user, **args(mentor, assigned))
    assert ServiceAppointment.objects.count() == 1 and not AppointmentSeries.objects.exists()
    series, booked = series_book(acting_user=mentor.user, skip_clashes=True, **args(mentor, assigned))
    assert [timezone_date(a.starts_at) for a in booked] == [date(2026, 3, 17), date(2026, 3, 24), date(2026, 4, 7)]


def test_booking_a_series_gives_one_reference_each_in_order_and_links_them(mentor, assigned):
    series, booked = series_book(acting_user=mentor.user, **args(mentor, assigned))
    numbers = [int(a.reference[3:]) for a in booked]
    assert numbers == list(range(numbers[0], numbers[0] + 4))
    assert set(series.appointments.all()) == set(booked)
    assert str(series) == "Weekly at 16:00 with Mo Mentee"
    assert all(a.events.get().description == "One of a series: Weekly at 16:00 with Mo Mentee." for a in booked)
    assert all(a.history.get().history_user == mentor.user for a in booked)


def test_booking_forty_sessions_takes_as_many_queries_as_booking_two(mentor, assigned, django_assert_max_num_queries,
                                                                     django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as two:
        series_book(acting_user=mentor.user, **args(mentor, assigned, repeat=Repeat(1, count=2)))
    with django_assert_max_num_queries(len(two.captured_queries)):
        series, booked = series_book(acting_user=mentor.user, **args(mentor, assigned, first_day=date(2026, 3, 18),
                                                                     repeat=Repeat(1, count=40)))
    assert len(booked) == 40 and ServiceAppointment.objects.count() == 42


def test_cancel_this_and_all_following(mentor, assigned):
    series, booked = series_book(acting_user=mentor.user, **args(mentor, assigned))
    reason = CancellationReason.objects.get(label="Mentee no longer needs support")
    cancelled = series_cancel_following(appointment_id=booked[1].pk, acting_user=mentor.user, reason=reason,
                                        internal_note="Finished early.")
    assert [a.pk for a in cancelled] == [a.pk for a in booked[1:]]
    statuses = list(ServiceAppointment.objects.order_by("starts_at").values_list("status", flat=True))
    assert statuses == ["scheduled", "cancelled", "cancelled", "cancelled"]


def test_change_this_and_all_following_moves_each_on_its_own_day(mentor, assigned):
    series, booked = series_book(acting_user=mentor.user, **args(mentor, assigned))
    changed = series_change_following(appointment_id=booked[2].pk, acting_user=mentor.user, start_time=time(9, 30),
                                      booked_minutes=45, mode="online", location="https://meet.example/x")
    assert [a.pk for a in changed] == [booked[2].pk, booked[3].pk]
    rows = ServiceAppointment.objects.order_by("starts_at")
    assert [(timezone_date(a.starts_at), a.starts_at.astimezone(LONDON).time(), a.booked_minutes, a.calendar_sequence)
            for a in rows] == [
        (date(2026, 3, 17), time(16, 0), 60, 0), (date(2026, 3, 24), time(16, 0), 60, 0),
        (date(2026, 3, 31), time(9, 30), 45, 1), (date(2026, 4, 7), time(9, 30), 45, 1)]


def test_a_session_not_in_a_series_has_no_following(mentor, assigned):
    single = session_book(acting_user=mentor.user, mentor=mentor, mentee=assigned, day=date(2026, 3, 31),
                          start_time=time(16, 30), booked_minutes=30, mode="phone")
    with pytest.raises(BookingProblem, match="is not one of a series"):
        series_change_following(appointment_id=single.pk, acting_user=mentor.user, start_time=time(9, 0),
                                booked_minutes=30, mode="phone", location="")
