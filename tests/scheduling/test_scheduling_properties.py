"""Properties that hold for any series and any sequence of bookings (Hypothesis)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import assume, given
from hypothesis import strategies as st

from sessions_app.exceptions import AppointmentActionNotAllowed
from sessions_app.models import CancellationReason, MentorAssignment, ServiceAppointment
from sessions_app.scheduling import BookingProblem, Repeat
from sessions_app.services import appointment_cancel, appointment_move, series_book, series_plan, session_book
from tests.factories import MenteeFactory, MentorFactory
from tests.strategies import examples

LONDON = ZoneInfo("Europe/London")
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(datetime(2026, 1, 5, 9, 0, tzinfo=LONDON))]

# Starts from January to December 2026: every series can cross the spring (29 March) and autumn (25 October)
# clock changes.
times_of_day = st.builds(time, st.integers(6, 21), st.sampled_from([0, 15, 30, 45]))


@given(first=st.dates(date(2026, 1, 6), date(2026, 12, 31)), at=times_of_day, weeks=st.integers(1, 4),
       count=st.integers(2, 60), minutes=st.sampled_from([30, 45, 60, 90]))
@examples(60)
def test_every_session_of_a_series_starts_at_the_same_london_time_a_whole_number_of_weeks_apart(
        mentor, mentee, leader, first, at, weeks, count, minutes):
    assume(first + timedelta(weeks=weeks * (count - 1)) < date(2027, 12, 31))  # within the two years ahead
    plan = series_plan(acting_user=leader, mentor=mentor, mentee=mentee, first_day=first, start_time=at,
                       booked_minutes=minutes, mode="phone", location="", repeat=Repeat(weeks, count=count))
    assert len(plan.occurrences) == count
    for n, occurrence in enumerate(plan.occurrences):
        local = occurrence.starts_at.astimezone(LONDON)
        assert local.time() == at
        assert local.date() == first + timedelta(weeks=weeks * n)
        # It lasts its length in real time, even on the night the clocks change.
        assert (occurrence.ends_at - occurrence.starts_at) == timedelta(minutes=minutes)


operations = st.lists(st.one_of(
    st.tuples(st.just("book"), st.integers(0, 2), st.integers(3, 20), times_of_day, st.sampled_from([30, 60, 90])),
    st.tuples(st.just("series"), st.integers(0, 2), st.integers(3, 20), times_of_day, st.integers(2, 6)),
    st.tuples(st.just("move"), st.integers(0, 30), st.integers(3, 20), times_of_day),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
), min_size=1, max_size=25)


def overlapping(sessions):
    sessions = sorted(sessions, key=lambda s: s.starts_at)
    return [(a.reference, b.reference) for a, b in zip(sessions, sessions[1:]) if b.starts_at < a.ends_at]


@given(steps=operations)
@examples(40)
def test_no_mentor_or_mentee_is_ever_in_two_sessions_at_once(db, leader, steps):
    reason = CancellationReason.objects.first()
    with transaction.atomic():
        mentor = MentorFactory()
        mentees = [MenteeFactory() for _ in range(3)]
        for mentee in mentees:
            MentorAssignment.objects.create(mentor=mentor, mentee=mentee)
        today = date(2026, 1, 5)
        for step in steps:
            try:
                with transaction.atomic():
                    existing = list(ServiceAppointment.objects.order_by("pk"))
                    if step[0] == "book":
                        _, who, days, at, minutes = step
                        session_book(acting_user=mentor.user, mentor=mentor, mentee=mentees[who],
                                     day=today + timedelta(days=days), start_time=at, booked_minutes=minutes,
                                     mode="phone")
                    elif step[0] == "series":
                        _, who, days, at, count = step
                        series_book(acting_user=mentor.user, mentor=mentor, mentee=mentees[who],
                                    first_day=today + timedelta(days=days), start_time=at, booked_minutes=60,
                                    mode="phone", location="", repeat=Repeat(1, count=count),
                                    skip_clashes=bool(count % 2))
                    elif step[0] == "move" and existing:
                        _, which, days, at = step
                        appointment_move(appointment_id=existing[which % len(existing)].pk, acting_user=mentor.user,
                                         day=today + timedelta(days=days), start_time=at)
                    elif step[0] == "cancel" and existing:
                        appointment_cancel(appointment_id=existing[step[1] % len(existing)].pk,
                                           acting_user=mentor.user, reason=reason, internal_note="Off.")
            except (BookingProblem, AppointmentActionNotAllowed):
                pass
            live = list(ServiceAppointment.objects.exclude(status="cancelled"))
            assert not overlapping(live), step
            for mentee in mentees:
                assert not overlapping([s for s in live if s.mentee_id == mentee.pk]), step
        transaction.set_rollback(True)
