from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from invoicing.services import ticket_raise, ticket_reply
from notifications.models import OutboxEmail
from notifications.services import leadership_summary_send, wrap_up_reminders_send
from sessions_app.models import CancellationReason
from sessions_app.services import WrapUp, appointment_cancel, appointment_finance_complete, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory, MentorFactory

LONDON = ZoneInfo("Europe/London")
NOTE, DETAILS, NOTES = "INTERNAL NOTE xyz", "ADMIN DETAILS xyz", "SESSION NOTES xyz"

# The sessions are on fixed days of November 2026: the clock reads the evening of the 20th, after `started` ended.
pytestmark = pytest.mark.time_machine(datetime(2026, 11, 20, 17, 0, tzinfo=LONDON))


def everything_in(message) -> str:
    return "\n".join([message.subject, message.body, *[content for content, _ in message.alternatives]])


@pytest.fixture
def sessions_at(mentor, mentee):
    def book(start):
        return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    return book


@pytest.fixture
def started(sessions_at):
    return sessions_at(datetime(2026, 11, 20, 15, 0, tzinfo=LONDON))


def wrap_up(appointment, user, **answers):
    return appointment_wrap_up(appointment_id=appointment.pk, acting_user=user, answers=WrapUp(**answers))


class TestAttendanceEmails:
    @pytest.mark.parametrize("outcome, says, subject_ends", [
        ("attended", "Thank you for attending your mentoring session with Ann Mentor on Friday 20 November 2026, 15:00–16:00.",
         "was attended"),
        ("late_cancellation", "Reason: Mentee unwell", "was cancelled at late notice"),
        ("did_not_attend", "it was recorded that you did not attend", "did not take place"),
    ])
    def test_wrap_up_emails_the_mentee_what_happened(self, mentor, mentee, started, mailoutbox,
                                                     django_capture_on_commit_callbacks, outcome, says, subject_ends):
        funding = FundingArrangementFactory(mentee=mentee)
        late = {"cancellation_reason": CancellationReason.objects.get(label="Mentee unwell"),
                "cancellation_note": NOTE} if outcome == "late_cancellation" else {}
        with django_capture_on_commit_callbacks(execute=True):
            wrap_up(started, mentor.user, outcome=outcome, funding_arrangement=funding, session_notes=NOTES,
                    actual_minutes=60, admin_details=DETAILS, **late)
        to_mentee = [m for m in mailoutbox if m.to == [mentee.email]]
        assert len(to_mentee) == 1
        message = to_mentee[0]
        assert message.subject == f"{started.reference}: your session on 20 November 2026 at 15:00 {subject_ends}"
        assert says in message.body
        assert f"Session reference: {started.reference}" in message.body
        html = message.alternatives[0][0]
        assert started.reference in html and 'name="viewport"' in html
        for secret in (NOTES, DETAILS, NOTE):
            assert all(secret not in everything_in(m) for m in mailoutbox if m.to == [mentee.email])

    def test_senior_leadership_recording_cancelled_emails_the_mentee(self, leader, started, mentee, mailoutbox,
                                                                    django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            wrap_up(started, leader, outcome="cancelled", session_notes=NOTES)
        assert "did not take place" in mailoutbox[0].body and NOTES not in everything_in(mailoutbox[0])

    def test_cancellation_email_gives_the_reason_and_never_the_note(self, mentor, mentee, sessions_at, mailoutbox,
                                                                    django_capture_on_commit_callbacks):
        future = sessions_at(timezone.now() + timedelta(days=5))
        reason = CancellationReason.objects.get(label="Mentor unavailable")
        with django_capture_on_commit_callbacks(execute=True):
            appointment_cancel(appointment_id=future.pk, acting_user=mentor.user, reason=reason, internal_note=NOTE)
        (message,) = mailoutbox
        assert message.subject.endswith(" was cancelled") and "Reason: Mentor unavailable" in message.body
        assert NOTE not in everything_in(message)

    def test_funder_that_asks_for_attendance_emails_gets_one(self, mentor, mentee, started, mailoutbox,
                                                             django_capture_on_commit_callbacks):
        funding = FundingArrangementFactory(mentee=mentee, funder__sends_attendance_emails=True,
                                            funder__billing_contact_name="Pat Payer", funder__billing_email="pat@uni.example")
        with django_capture_on_commit_callbacks(execute=True):
            wrap_up(started, mentor.user, outcome="attended", funding_arrangement=funding, session_notes=NOTES,
                    actual_minutes=60)
        to_funder = [m for m in mailoutbox if m.to == ["pat@uni.example"]]
        assert len(to_funder) == 1
        assert to_funder[0].subject == f"{started.reference}: Mo Mentee's session on 20 November 2026 was attended"
        assert "Dear Pat Payer" in to_funder[0].body and NOTES not in everything_in(to_funder[0])

    def test_a_missed_session_is_one_that_did_not_take_place_not_one_that_was_not_attended(
            self, mentor, mentee, started, mailoutbox, django_capture_on_commit_callbacks):
        funding = FundingArrangementFactory(mentee=mentee, funder__sends_attendance_emails=True,
                                            funder__billing_email="pat@uni.example")
        with django_capture_on_commit_callbacks(execute=True):
            wrap_up(started, mentor.user, outcome="did_not_attend", funding_arrangement=funding)
        subjects = sorted(m.subject for m in mailoutbox)
        assert subjects == [f"{started.reference}: Mo Mentee's session on 20 November 2026 did not take place",
                            f"{started.reference}: your session on 20 November 2026 at 15:00 did not take place"]

    def test_funder_that_does_not_ask_gets_nothing(self, mentor, mentee, started, mailoutbox,
                                                   django_capture_on_commit_callbacks):
        funding = FundingArrangementFactory(mentee=mentee, funder__sends_attendance_emails=False)
        with django_capture_on_commit_callbacks(execute=True):
            wrap_up(started, mentor.user, outcome="did_not_attend", funding_arrangement=funding)
        assert [m.to for m in mailoutbox] == [[mentee.email]]

    def test_the_attendance_email_row_is_written_with_the_wrap_up(self, mentor, started):
        wrap_up(started, mentor.user, outcome="did_not_attend", admin_details="no funding")
        assert OutboxEmail.objects.filter(appointment=started, kind="attendance_mentee").count() == 1


class TestFinanceEmails:
    def test_finance_is_told_when_a_session_goes_to_awaiting_finance(self, mentor, finance_user, started, mailoutbox,
                                                                     django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            wrap_up(started, mentor.user, outcome="attended", session_notes="x", actual_minutes=60,
                    admin_details="New PO from the university, not on file yet.")
        (alert,) = [m for m in mailoutbox if m.to == [finance_user.email]]
        assert alert.subject == f"Finance ticket: {started.reference}: information missing at wrap-up"
        assert "Awaiting Finance" in alert.body and "New PO from the university" in alert.body

    def test_finance_is_told_of_a_ticket_and_the_raiser_of_the_reply(self, mentor, finance_user, started, mailoutbox,
                                                                     django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            ticket = ticket_raise(raised_by=mentor.user, appointment=started, subject="Which funding?", message="Two POs")
        assert [m.to for m in mailoutbox] == [[finance_user.email]]
        with django_capture_on_commit_callbacks(execute=True):
            ticket_reply(ticket_id=ticket.pk, acting_user=finance_user, reply="Use the university PO.")
        reply = mailoutbox[-1]
        assert reply.to == [mentor.user.email] and reply.subject == "Finance replied: Which funding?"
        assert "Use the university PO." in reply.body and "Fay Finance, Finance" in reply.body
        assert len(mailoutbox) == 2  # the mentor raised it: one reply

    def test_a_reply_about_a_mentors_session_reaches_the_mentor_as_well_as_who_raised_it(
            self, mentor, leader, finance_user, started, mailoutbox, django_capture_on_commit_callbacks):
        ticket = ticket_raise(raised_by=leader, appointment=started, subject="Which funding?", message="Two POs")
        with django_capture_on_commit_callbacks(execute=True):
            ticket_reply(ticket_id=ticket.pk, acting_user=finance_user, reply="Use the university PO.")
        to_leader, to_mentor = ([m for m in mailoutbox if m.to == [address]] for address in (leader.email, mentor.user.email))
        assert [m.subject for m in to_leader + to_mentor] == ["Finance replied: Which funding?"] * 2
        assert f'Dear Lee Leader,\n\nFinance has replied to your ticket "Which funding?" about {started.reference}.' in to_leader[0].body
        assert (f'Dear Ann Mentor,\n\nFinance has replied to a ticket Lee Leader logged "Which funding?" about your '
                f"session {started.reference}.") in to_mentor[0].body
        assert "Use the university PO." in to_mentor[0].body
        assert f"http://127.0.0.1:8000{started.get_absolute_url()}" in to_mentor[0].body

    def test_finance_completing_a_wrap_up_senior_leadership_did_for_a_mentor_tells_the_mentor(
            self, mentor, leader, finance_user, mentee, started, mailoutbox, django_capture_on_commit_callbacks):
        wrap_up(started, leader, outcome="attended", session_notes="x", actual_minutes=60,
                admin_details="Which PO? The mentee has two.")
        funding = FundingArrangementFactory(mentee=mentee, funder__sends_attendance_emails=False)
        with django_capture_on_commit_callbacks(execute=True):
            appointment_finance_complete(appointment_id=started.pk, acting_user=finance_user,
                                         funding_arrangement=funding, reply="PO-77 applies.")
        to_mentor = [m for m in mailoutbox if m.to == [mentor.user.email]]
        assert [m.subject for m in to_mentor] == [f"Finance replied: {started.reference}: information missing at wrap-up"]
        assert "PO-77 applies." in to_mentor[0].body


class TestReminders:
    def test_each_mentor_with_ended_sessions_gets_one_email_with_links(self, mentor, other_mentor, sessions_at,
                                                                       mailoutbox, django_capture_on_commit_callbacks):
        now = datetime(2026, 11, 10, 7, 30, tzinfo=LONDON)
        first = sessions_at(datetime(2026, 11, 6, 10, 0, tzinfo=LONDON))
        second = sessions_at(datetime(2026, 11, 9, 10, 0, tzinfo=LONDON))
        sessions_at(datetime(2026, 11, 10, 9, 0, tzinfo=LONDON))  # not ended yet at 07:30
        AppointmentFactory(mentor=other_mentor, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, hours=1))
        with django_capture_on_commit_callbacks(execute=True):
            assert wrap_up_reminders_send(now=now) == 1
        (message,) = mailoutbox
        assert message.to == [mentor.user.email] and message.subject == "2 sessions to wrap up"
        assert f"http://127.0.0.1:8000{first.get_absolute_url()}" in message.body
        assert f"http://127.0.0.1:8000{second.get_absolute_url()}" in message.body
        assert "will not be paid this month" not in message.body

    def test_run_twice_sends_once(self, mentor, sessions_at, mailoutbox, django_capture_on_commit_callbacks):
        now = datetime(2026, 11, 10, 7, 30, tzinfo=LONDON)
        sessions_at(datetime(2026, 11, 6, 10, 0, tzinfo=LONDON))
        with django_capture_on_commit_callbacks(execute=True):
            wrap_up_reminders_send(now=now)
            assert wrap_up_reminders_send(now=now) == 0
        assert len(mailoutbox) == 1

    @pytest.mark.parametrize("day, subject, says", [
        (27, "1 session to wrap up", None),
        (28, "1 session to wrap up by 20:00 on 30 November: unwrapped sessions are not paid this month",
         "Invoices are generated at 20:00 on Monday 30 November, the last day of the month. Sessions not wrapped up "
         "by then will not be paid this month."),
        (30, "1 session to wrap up by 20:00 today: unwrapped sessions are not paid this month",
         "Invoices are generated at 20:00 today. Sessions not wrapped up by then will not be paid this month."),
    ])
    def test_last_three_days_warn_about_pay_and_invoices(self, mentor, sessions_at, mailoutbox, day, subject, says,
                                                         django_capture_on_commit_callbacks):
        sessions_at(datetime(2026, 11, 6, 10, 0, tzinfo=LONDON))
        with django_capture_on_commit_callbacks(execute=True):
            wrap_up_reminders_send(now=datetime(2026, 11, day, 7, 30, tzinfo=LONDON))
        (message,) = mailoutbox
        assert message.subject == subject
        if says:
            assert says in message.body
            assert says.replace(" Sessions", "</strong> Sessions") in message.alternatives[0][0]
        else:
            assert "will not be paid" not in message.body

    def test_the_last_day_warning_takes_its_time_from_the_month_end_schedule(
            self, mentor, sessions_at, mailoutbox, monkeypatch, django_capture_on_commit_callbacks):
        from celery.schedules import crontab

        from mentoring.schedule import PERIODIC_JOBS

        monkeypatch.setitem(PERIODIC_JOBS["month-end"], "schedule", crontab(hour=18, minute=30, day_of_month="28-31"))
        sessions_at(datetime(2026, 11, 6, 10, 0, tzinfo=LONDON))
        with django_capture_on_commit_callbacks(execute=True):
            wrap_up_reminders_send(now=datetime(2026, 11, 30, 7, 30, tzinfo=LONDON))
        assert mailoutbox[0].subject == "1 session to wrap up by 18:30 today: unwrapped sessions are not paid this month"
        assert "Invoices are generated at 18:30 today." in mailoutbox[0].body

    def test_no_email_for_a_mentor_with_nothing_to_wrap_up(self, mentor, mailoutbox, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            assert wrap_up_reminders_send() == 0
        assert mailoutbox == []

    def test_leadership_summary_on_the_last_day_only(self, mentor, leader, sessions_at, mailoutbox,
                                                     django_capture_on_commit_callbacks):
        appointment = sessions_at(datetime(2026, 11, 6, 10, 0, tzinfo=LONDON))
        with django_capture_on_commit_callbacks(execute=True):
            assert leadership_summary_send(now=datetime(2026, 11, 29, 8, 0, tzinfo=LONDON)) == 0
            assert leadership_summary_send(now=datetime(2026, 11, 30, 8, 0, tzinfo=LONDON)) == 1
            assert leadership_summary_send(now=datetime(2026, 11, 30, 9, 0, tzinfo=LONDON)) == 0
        (message,) = mailoutbox
        assert message.to == [leader.email]
        assert message.subject == "Month end: 1 session still to wrap up across 1 mentor"
        assert "Ann Mentor (1)" in message.body and appointment.reference in message.body
        assert f"/mentors/{mentor.pk}/wrap-up/" in message.body


class TestJobs:
    def test_every_scheduled_job_is_a_registered_task_and_runs_in_london_time(self):
        from mentoring.celery import app
        from mentoring.schedule import PERIODIC_JOBS

        app.loader.import_default_modules()
        assert app.conf.timezone == "Europe/London"
        for name, job in PERIODIC_JOBS.items():
            assert job["task"] in app.tasks, name
            assert app.conf.beat_schedule[name]["task"] == job["task"]

    def test_run_job_by_hand(self, mentor, sessions_at, mailoutbox, capsys):
        sessions_at(datetime(2026, 11, 6, 10, 0, tzinfo=LONDON))
        call_command("run_job", "wrap-up-reminders", "--day", "2026-11-28")
        call_command("run_job", "wrap-up-reminders", "--day", "2026-11-28")
        assert "wrap-up-reminders: 1" in capsys.readouterr().out
        assert OutboxEmail.objects.filter(kind="wrap_up_reminder").count() == 1

    def test_run_job_explains_a_bad_day(self, db):
        with pytest.raises(CommandError, match="“28/11/2026” is not a date: use YYYY-MM-DD."):
            call_command("run_job", "wrap-up-reminders", "--day", "28/11/2026")
        with pytest.raises(CommandError, match="sweep-outbox does not depend on the date"):
            call_command("run_job", "sweep-outbox", "--day", "2026-11-28")

    def test_run_job_lists_the_jobs(self, capsys):
        call_command("run_job", "--list")
        out = capsys.readouterr().out
        assert "wrap-up-reminders" in out and "leadership-summary" in out and "sweep-outbox" in out
