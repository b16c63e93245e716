"""Booking one session, moving it, and what is refused (issue 17)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sessions_app.models import AppointmentEvent, MentorAssignment, ServiceAppointment
from sessions_app.scheduling import BookingProblem, SessionClash
from sessions_app.services import appointment_cancel, appointment_move, session_book
from sessions_app.models import CancellationReason
from tests.factories import MenteeFactory

LONDON = ZoneInfo("Europe/London")
pytestmark = pytest.mark.time_machine(datetime(2026, 3, 2, 9, 0, tzinfo=LONDON))


@pytest.fixture
def assigned(mentor, mentee):
    MentorAssignment.objects.create(mentor=mentor, mentee=mentee)
    return mentee


def book(user, mentor, mentee, day=date(2026, 3, 10), at=time(16, 0), minutes=60, **kwargs):
    kwargs.setdefault("mode", "in_person")
    kwargs.setdefault("location", "Room 2, The Library")
    return session_book(acting_user=user, mentor=mentor, mentee=mentee, day=day, start_time=at,
                        booked_minutes=minutes, **kwargs)


def test_a_mentor_books_an_assigned_mentee_and_gets_the_next_reference(mentor, assigned):
    first = book(mentor.user, mentor, assigned)
    second = book(mentor.user, mentor, assigned, day=date(2026, 3, 11))
    assert int(second.reference[3:]) == int(first.reference[3:]) + 1
    assert first.starts_at == datetime(2026, 3, 10, 16, 0, tzinfo=LONDON)
    assert first.booked_minutes == 60 and first.status == ServiceAppointment.Status.SCHEDULED
    event = first.events.get()
    assert event.kind == AppointmentEvent.Kind.BOOKED and event.actor == mentor.user
    assert first.history.count() == 1 and first.history.get().history_user == mentor.user


def test_a_mentor_cannot_book_a_mentee_not_assigned_to_them(mentor, mentee):
    with pytest.raises(BookingProblem, match="Mo Mentee is not one of your mentees"):
        book(mentor.user, mentor, mentee)


def test_a_mentor_cannot_book_for_another_mentor(mentor, other_mentor, assigned):
    MentorAssignment.objects.create(mentor=other_mentor, mentee=assigned)
    with pytest.raises(BookingProblem, match="only book your own sessions"):
        book(mentor.user, other_mentor, assigned)


def test_senior_leadership_and_finance_book_anyone(mentor, mentee, leader, finance_user):
    assert book(leader, mentor, mentee).mentor == mentor
    appointment = book(finance_user, mentor, mentee, day=date(2026, 3, 12))
    assert appointment.events.get().on_behalf_of == mentor.user


@pytest.mark.parametrize("day, at, message", [
    (date(2026, 3, 2), time(8, 0), "is in the past"),
    (date(2026, 2, 27), time(16, 0), "is in the past"),
    (date(2026, 3, 29), time(1, 30), "does not exist on 29 March 2026: the clocks go forward"),
    (date(2029, 3, 1), time(16, 0), "up to two years ahead"),
])
def test_times_that_cannot_be_booked_are_refused_with_a_reason(mentor, assigned, day, at, message):
    with pytest.raises(BookingProblem, match=message):
        book(mentor.user, mentor, assigned, day=day, at=at)
    assert not ServiceAppointment.objects.exists()


@pytest.mark.parametrize("minutes, message", [(0, "at least 15"), (-60, "at least 15"), (10, "at least 15"),
                                              (481, "at most 8 hours"), (None, "length in minutes")])
def test_a_bad_length_is_refused(mentor, assigned, minutes, message):
    with pytest.raises(BookingProblem, match=message):
        book(mentor.user, mentor, assigned, minutes=minutes)


@pytest.mark.parametrize("mode, location, message", [
    ("online", "", "needs its meeting link"),
    ("online", "zoom.example/123", "needs its meeting link"),
    ("in_person", "  ", "Say where"),
    ("carrier_pigeon", "x", "Choose in person, online or phone"),
    ("in_person", "Room 1\nRoom 2", "one line"),
])
def test_where_must_make_sense(mentor, assigned, mode, location, message):
    with pytest.raises(BookingProblem, match=message):
        book(mentor.user, mentor, assigned, mode=mode, location=location)


def test_online_and_phone_sessions(mentor, assigned):
    online = book(mentor.user, mentor, assigned, mode="online", location="https://meet.example/abc")
    phone = book(mentor.user, mentor, assigned, day=date(2026, 3, 11), mode="phone", location="")
    assert online.get_mode_display() == "Online" and phone.get_mode_display() == "Phone"


def test_the_mentors_overlapping_session_is_a_clash(mentor, assigned):
    first = book(mentor.user, mentor, assigned)
    other_mentee = MenteeFactory(full_name="Pat Pupil")
    MentorAssignment.objects.create(mentor=mentor, mentee=other_mentee)
    with pytest.raises(SessionClash, match=f"Ann Mentor already has {first.reference} "
                                           r"\(Tuesday 10 March 2026, 16:00–17:00\)") as caught:
        book(mentor.user, mentor, other_mentee, at=time(16, 30))
    assert caught.value.clashes == [first]
    # Back to back is not a clash.
    assert book(mentor.user, mentor, other_mentee, at=time(17, 0)).starts_at.hour == 17


def test_the_mentees_session_with_another_mentor_is_a_clash(mentor, other_mentor, mentee, leader):
    theirs = book(leader, other_mentor, mentee)
    with pytest.raises(SessionClash, match=f"Mo Mentee already has {theirs.reference} with Olu Othermentor"):
        book(leader, mentor, mentee, at=time(15, 30))


def test_a_cancelled_session_is_no_clash(mentor, assigned):
    first = book(mentor.user, mentor, assigned)
    appointment_cancel(appointment_id=first.pk, acting_user=mentor.user,
                       reason=CancellationReason.objects.first(), internal_note="Mentee ill.")
    assert book(mentor.user, mentor, assigned).starts_at == first.starts_at


def test_senior_leadership_book_over_a_clash_with_a_reason_that_is_recorded(mentor, assigned, leader):
    book(mentor.user, mentor, assigned)
    with pytest.raises(SessionClash, match="give the reason for the overlap"):
        book(leader, mentor, assigned)
    second = book(leader, mentor, assigned, clash_override_reason="Joint session with the parent.")
    assert second.clash_override_reason == "Joint session with the parent."
    assert "Booked over a clash: Joint session with the parent." in second.events.get().description


def test_a_mentor_or_finance_cannot_override_a_clash(mentor, assigned, finance_user):
    book(mentor.user, mentor, assigned)
    for user in (mentor.user, finance_user):
        with pytest.raises(SessionClash, match="Only Senior Leadership can book over a clash"):
            book(user, mentor, assigned, clash_override_reason="Because.")


# --------------------------------------------------------------------------- moving


def test_moving_a_session_records_it_and_raises_the_calendar_sequence(mentor, assigned):
    appointment = book(mentor.user, mentor, assigned)
    moved = appointment_move(appointment_id=appointment.pk, acting_user=mentor.user, day=date(2026, 3, 12),
                             start_time=time(10, 0))
    assert moved.starts_at == datetime(2026, 3, 12, 10, 0, tzinfo=LONDON) and moved.booked_minutes == 60
    assert moved.calendar_sequence == 1 and moved.reference == appointment.reference
    event = moved.events.get(kind=AppointmentEvent.Kind.MOVED)
    assert event.description == ("Moved from Tuesday 10 March 2026, 16:00–17:00 to "
                                 "Thursday 12 March 2026, 10:00–11:00.")


def test_a_move_checks_clashes_but_not_with_itself(mentor, assigned):
    appointment = book(mentor.user, mentor, assigned)
    later = book(mentor.user, mentor, assigned, at=time(18, 0))
    # Half an hour later overlaps only its own old time: fine.
    appointment_move(appointment_id=appointment.pk, acting_user=mentor.user, day=date(2026, 3, 10),
                     start_time=time(16, 30))
    with pytest.raises(SessionClash, match=later.reference):
        appointment_move(appointment_id=appointment.pk, acting_user=mentor.user, day=date(2026, 3, 10),
                         start_time=time(17, 30))


def test_a_session_that_has_started_or_is_cancelled_cannot_be_moved(mentor, assigned, time_machine):
    appointment = book(mentor.user, mentor, assigned)
    time_machine.move_to(datetime(2026, 3, 10, 16, 5, tzinfo=LONDON))
    with pytest.raises(Exception, match="has already started, so it cannot be moved"):
        appointment_move(appointment_id=appointment.pk, acting_user=mentor.user, day=date(2026, 3, 12),
                         start_time=time(10, 0))


def test_another_mentor_cannot_move_my_session(mentor, other_mentor, assigned):
    appointment = book(mentor.user, mentor, assigned)
    with pytest.raises(Exception, match="is not one of your sessions"):
        appointment_move(appointment_id=appointment.pk, acting_user=other_mentor.user, day=date(2026, 3, 12),
                         start_time=time(10, 0))


def test_only_a_cancelled_session_can_be_replaced(mentor, assigned):
    first = book(mentor.user, mentor, assigned)
    with pytest.raises(BookingProblem, match=f"{first.reference} is not a cancelled session of yours"):
        book(mentor.user, mentor, assigned, day=date(2026, 3, 11), replaces=first)
