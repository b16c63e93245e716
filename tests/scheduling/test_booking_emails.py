"""Booking emails: confirmations with calendar invitations, moves, calendar cancellations, day-before reminders."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from notifications.models import OutboxEmail
from notifications.services.scheduling import session_reminders_send
from sessions_app.models import CancellationReason, MentorAssignment
from sessions_app.scheduling import Repeat
from sessions_app.services import appointment_cancel, appointment_move, series_book, session_book

LONDON = ZoneInfo("Europe/London")
pytestmark = pytest.mark.time_machine(datetime(2026, 3, 2, 9, 0, tzinfo=LONDON))


@pytest.fixture
def assigned(mentor, mentee):
    MentorAssignment.objects.create(mentor=mentor, mentee=mentee)
    return mentee


def sent_invitation(to: str):
    """The calendar invitation in the last email sent to `to`, parsed back."""
    (message,) = [m for m in mail.outbox if m.to == [to]][-1:]
    (name, content, mimetype), = [a for a in message.attachments if a[2].startswith("text/calendar")]
    return message, name, mimetype, Calendar.from_ical(content)


def book_one(mentor, mentee, captured):
    with captured(execute=True):
        return session_book(acting_user=mentor.user, mentor=mentor, mentee=mentee, day=date(2026, 3, 10),
                            start_time=time(16, 0), booked_minutes=60, mode="online",
                            location="https://meet.example/abc")


def test_the_mentee_and_the_mentor_get_a_confirmation_with_a_calendar_invitation(
        mentor, assigned, django_capture_on_commit_callbacks):
    appointment = book_one(mentor, assigned, django_capture_on_commit_callbacks)
    message, name, mimetype, cal = sent_invitation(assigned.email)
    assert message.subject == f"Booked: mentoring session {appointment.reference}, Tuesday 10 March 2026, 16:00–17:00"
    assert "A mentoring session with Ann Mentor is booked: Tuesday 10 March 2026, 16:00–17:00." in message.body
    assert "Online: https://meet.example/abc" in message.body
    assert name == f"{appointment.reference}.ics" and mimetype == "text/calendar; method=REQUEST"
    assert cal["METHOD"] == "REQUEST"
    (event,) = cal.walk("VEVENT")
    assert str(event["UID"]) == f"{appointment.reference}@mentoring" and event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == datetime(2026, 3, 10, 16, 0, tzinfo=LONDON)
    assert str(event["ORGANIZER"]) == "mailto:ann@example.com"
    mentor_message, *_ = sent_invitation("ann@example.com")
    assert "A mentoring session with Mo Mentee is booked" in mentor_message.body


def test_a_series_is_one_email_each_with_every_session_in_the_invitation(mentor, assigned,
                                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        series, booked = series_book(acting_user=mentor.user, mentor=mentor, mentee=assigned,
                                     first_day=date(2026, 3, 17), start_time=time(16, 0), booked_minutes=60,
                                     mode="phone", location="", repeat=Repeat(1, count=4))
    assert len(mail.outbox) == 2
    message, name, _, cal = sent_invitation(assigned.email)
    assert message.subject == "Booked: 4 mentoring sessions from Tuesday 17 March 2026, 16:00–17:00"
    assert "- Tuesday 7 April 2026, 16:00–17:00" in message.body
    events = cal.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [f"{a.reference}@mentoring" for a in booked]
    # After the clock change the invitation still says 16:00 London time.
    assert [e.decoded("DTSTART").astimezone(LONDON).time() for e in events] == [time(16, 0)] * 4


def test_moving_tells_both_the_old_and_new_time_and_updates_the_same_calendar_event(
        mentor, assigned, client, django_capture_on_commit_callbacks):
    appointment = book_one(mentor, assigned, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_move(appointment_id=appointment.pk, acting_user=mentor.user, day=date(2026, 3, 12),
                         start_time=time(10, 0))
    message, _, _, cal = sent_invitation(assigned.email)
    assert message.subject == f"Moved: mentoring session {appointment.reference} is now Thursday 12 March 2026, 10:00–11:00"
    assert "Was: Tuesday 10 March 2026, 16:00–17:00\nNow: Thursday 12 March 2026, 10:00–11:00" in message.body
    (event,) = cal.walk("VEVENT")
    assert str(event["UID"]) == f"{appointment.reference}@mentoring" and event["SEQUENCE"] == 1
    # The feed says the same: same UID, SEQUENCE 1.
    feed = Calendar.from_ical(client.get(reverse("calendar-feed", args=[mentor.calendar_token])).content)
    (fed,) = [e for e in feed.walk("VEVENT") if str(e["UID"]) == f"{appointment.reference}@mentoring"]
    assert fed["SEQUENCE"] == 1 and fed.decoded("DTSTART") == datetime(2026, 3, 12, 10, 0, tzinfo=LONDON)
    # Moved again: a second pair of emails, SEQUENCE 2.
    with django_capture_on_commit_callbacks(execute=True):
        appointment_move(appointment_id=appointment.pk, acting_user=mentor.user, day=date(2026, 3, 13),
                         start_time=time(10, 0))
    assert sent_invitation(assigned.email)[3].walk("VEVENT")[0]["SEQUENCE"] == 2
    assert OutboxEmail.objects.filter(kind="session_moved").count() == 4


def test_cancelling_a_booked_session_takes_it_out_of_both_calendars(mentor, assigned,
                                                                    django_capture_on_commit_callbacks):
    appointment = book_one(mentor, assigned, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment_id=appointment.pk, acting_user=mentor.user,
                           reason=CancellationReason.objects.first(), internal_note="Ill.")
    # The mentee gets one email: the attendance email saying why, carrying the calendar cancellation.
    (to_mentee,) = [m for m in mail.outbox if m.to == [assigned.email]]
    assert "has been cancelled" in to_mentee.body
    (to_mentor,) = [m for m in mail.outbox if m.to == ["ann@example.com"]]
    assert to_mentor.subject == f"Cancelled: mentoring session {appointment.reference}, Tuesday 10 March 2026, 16:00–17:00"
    for message in (to_mentee, to_mentor):
        (name, content, mimetype), = message.attachments
        cal = Calendar.from_ical(content)
        assert cal["METHOD"] == "CANCEL" and mimetype == "text/calendar; method=CANCEL"
        (event,) = cal.walk("VEVENT")
        assert str(event["UID"]) == f"{appointment.reference}@mentoring" and event["STATUS"] == "CANCELLED"
        assert event["SEQUENCE"] == 1


def test_a_session_booked_without_an_invitation_sends_no_calendar_cancellation(mentor, mentee,
                                                                               django_capture_on_commit_callbacks):
    from tests.factories import AppointmentFactory

    appointment = AppointmentFactory(mentor=mentor, mentee=mentee)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment_id=appointment.pk, acting_user=mentor.user,
                           reason=CancellationReason.objects.first(), internal_note="Ill.")
    assert [m.to for m in mail.outbox] == [[mentee.email]] and not mail.outbox[0].attachments


def test_the_reminder_goes_the_day_before_once_however_often_the_job_runs(mentor, assigned, time_machine,
                                                                          django_capture_on_commit_callbacks):
    appointment = book_one(mentor, assigned, django_capture_on_commit_callbacks)
    assert session_reminders_send() == 0  # a week before: nothing
    time_machine.move_to(datetime(2026, 3, 9, 7, 15, tzinfo=LONDON))
    with django_capture_on_commit_callbacks(execute=True):
        assert session_reminders_send() == 1
        assert session_reminders_send() == 0
    time_machine.move_to(datetime(2026, 3, 9, 23, 15, tzinfo=LONDON))
    assert session_reminders_send() == 0
    (reminder,) = [m for m in mail.outbox if m.subject.startswith("Reminder")]
    assert reminder.to == [assigned.email]
    assert reminder.subject == "Reminder: mentoring session tomorrow, Tuesday 10 March 2026, 16:00–17:00"
    assert appointment.reference in reminder.body


def test_the_reminder_job_is_registered_with_beat():
    from mentoring.schedule import PERIODIC_JOBS, beat_schedule

    assert beat_schedule()["session-reminders"]["task"] == "notifications.tasks.send_session_reminders"
    assert "once per session" in PERIODIC_JOBS["session-reminders"]["help"]


def test_a_change_in_the_admin_also_raises_the_calendar_sequence(mentor, assigned, finance_user,
                                                                          django_capture_on_commit_callbacks):
    from sessions_app.services import appointment_reschedule

    appointment = book_one(mentor, assigned, django_capture_on_commit_callbacks)
    changed = appointment_reschedule(appointment_id=appointment.pk, acting_user=finance_user,
                                     starts_at=datetime(2026, 3, 10, 17, 0, tzinfo=LONDON),
                                     ends_at=datetime(2026, 3, 10, 18, 0, tzinfo=LONDON), mode="online",
                                     location="https://meet.example/abc")
    assert changed.calendar_sequence == 1
    same_time = appointment_reschedule(appointment_id=appointment.pk, acting_user=finance_user,
                                       starts_at=changed.starts_at, ends_at=changed.ends_at, mode="phone", location="")
    assert same_time.calendar_sequence == 2  # where changed: calendar apps update the event's LOCATION too


# --------------------------------------------------------------------------- cancelled and rebooked: one email


def cancel_offering_rebooking(appointment, mentor, captured):
    with captured(execute=True):
        appointment_cancel(appointment_id=appointment.pk, acting_user=mentor.user, offer_rebooking=True,
                           reason=CancellationReason.objects.get(label="Mentee unwell"), internal_note="Flu, secret.")


def rebook(cancelled, mentor, mentee, captured):
    cancelled.refresh_from_db()
    with captured(execute=True):
        return session_book(acting_user=mentor.user, mentor=mentor, mentee=mentee, day=date(2026, 3, 17),
                            start_time=time(16, 0), booked_minutes=60, mode="phone", replaces=cancelled)


def calendars(message):
    return [(mimetype, Calendar.from_ical(content)) for _, content, mimetype in message.attachments]


def test_cancelled_and_rebooked_in_one_flow_is_one_email_to_the_mentee_with_both_calendar_files(
        mentor, assigned, settings, django_capture_on_commit_callbacks):
    settings.REBOOKING_HOLD_MINUTES = 10
    old = book_one(mentor, assigned, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    cancel_offering_rebooking(old, mentor, django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]  # the mentee's waits for the replacement
    new = rebook(old, mentor, assigned, django_capture_on_commit_callbacks)

    (to_mentee,) = [m for m in mail.outbox if m.to == [assigned.email]]
    assert to_mentee.subject == f"{old.reference} cancelled and rebooked: {new.reference}, Tuesday 17 March 2026, 16:00–17:00"
    assert ("Your mentoring session with Ann Mentor on Tuesday 10 March 2026 at 16:00 has been cancelled, and a new "
            "session is booked for you instead.\n\nReason: Mentee unwell\n\n"
            f"Cancelled: Tuesday 10 March 2026, 16:00–17:00 ({old.reference})\n"
            f"New session: Tuesday 17 March 2026, 16:00–17:00 ({new.reference})\nPhone") in to_mentee.body
    assert "secret" not in to_mentee.body and "secret" not in to_mentee.alternatives[0][0]
    (cancel_type, cancel), (request_type, invite) = calendars(to_mentee)
    assert (cancel_type, cancel["METHOD"], request_type, invite["METHOD"]) == (
        "text/calendar; method=CANCEL", "CANCEL", "text/calendar; method=REQUEST", "REQUEST")
    (gone,), (booked,) = cancel.walk("VEVENT"), invite.walk("VEVENT")
    assert str(gone["UID"]) == f"{old.reference}@mentoring" and gone["STATUS"] == "CANCELLED"
    assert str(booked["UID"]) == f"{new.reference}@mentoring"
    assert booked.decoded("DTSTART") == datetime(2026, 3, 17, 16, 0, tzinfo=LONDON)
    # It is the cancellation's attendance email, rewritten: no separate confirmation for the mentee.
    assert OutboxEmail.objects.filter(to=[assigned.email], kind="booking_confirmation",
                                      appointment=new).count() == 0
    # The mentor hears of both (the calendar cancellation at once, then the confirmation).
    assert [m.subject.split(":")[0] for m in mail.outbox if m.to == ["ann@example.com"]] == [
        "Cancelled", f"{old.reference} cancelled and rebooked"]


def test_a_cancellation_not_rebooked_is_sent_as_it_is_when_the_wait_is_over(
        mentor, assigned, settings, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from notifications.services import outbox_sweep

    settings.REBOOKING_HOLD_MINUTES = 10
    old = book_one(mentor, assigned, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    cancel_offering_rebooking(old, mentor, django_capture_on_commit_callbacks)
    now = timezone.now()
    assert outbox_sweep(now=now + timedelta(minutes=9)) == 0  # the mentor may still book a replacement
    assert outbox_sweep(now=now + timedelta(minutes=11)) == 1  # the browser was closed: it goes as it is
    (to_mentee,) = [m for m in mail.outbox if m.to == [assigned.email]]
    assert to_mentee.subject == f"{old.reference}: your session on 10 March 2026 at 16:00 was cancelled"
    assert "Reason: Mentee unwell" in to_mentee.body
    assert [(t, c["METHOD"]) for t, c in calendars(to_mentee)] == [("text/calendar; method=CANCEL", "CANCEL")]
    # A replacement booked after that gets its own confirmation, saying which session it replaces.
    new = rebook(old, mentor, assigned, django_capture_on_commit_callbacks)
    late = [m for m in mail.outbox if m.to == [assigned.email]][-1]
    assert late.subject.startswith(f"{old.reference} cancelled and rebooked: {new.reference}")
    assert f"Your mentoring session {old.reference} was cancelled, and a replacement is booked." in late.body
    assert [c["METHOD"] for _, c in calendars(late)] == ["REQUEST"]
