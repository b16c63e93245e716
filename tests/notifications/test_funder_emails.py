"""A funder hears about a session only once it is theirs, and is told when one they heard about turns out not to be."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from invoicing.models import Invoice
from invoicing.services import invoice_credit, invoices_issue, month_end_generate
from notifications.models import OutboxEmail
from notifications.services import funder_emails_settle
from sessions_app.models import CancellationReason, FundingArrangement, ServiceAppointment
from sessions_app.services import (
    WrapUp,
    appointment_cancel,
    appointment_finance_complete,
    appointment_wrap_up,
    appointments_wrap_up_for_mentor,
)
from tests.factories import AppointmentFactory, FundingArrangementFactory

LONDON = ZoneInfo("Europe/London")
START = datetime(2026, 11, 20, 15, 0, tzinfo=LONDON)
UNI = "pat@uni.example"
COUNCIL = "cal@council.example"


@pytest.fixture
def university(mentee):
    return FundingArrangementFactory(mentee=mentee, reference="PO-77", funder__name="University of Northbridge",
                                     funder__sends_attendance_emails=True, funder__billing_contact_name="Pat Payer",
                                     funder__billing_email=UNI)


@pytest.fixture
def self_funded(mentee):
    return FundingArrangementFactory(mentee=mentee, self_funded=True)


@pytest.fixture
def session(mentor, mentee):
    return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=START, ends_at=START + timedelta(hours=1))


def to(mailoutbox, address):
    return [message for message in mailoutbox if message.to == [address]]


def sent_to_funder_about(appointment, mailoutbox, address=UNI):
    return [m for m in to(mailoutbox, address) if appointment.reference in m.subject]


def send_to_finance(appointment, user):
    """The wrap-up with "Not sure... I will explain in Admin Details": the session goes to Finance."""
    return appointment_wrap_up(appointment_id=appointment.pk, acting_user=user, answers=WrapUp(
        outcome="attended", session_notes="Covered CVs.", actual_minutes=60,
        admin_details="Not sure which funding: the mentee says the university pays now."))


def complete(appointment, finance_user, arrangement):
    return appointment_finance_complete(appointment_id=appointment.pk, acting_user=finance_user,
                                        funding_arrangement=arrangement, reply="Sorted.")


class TestNotYetTheirs:
    def test_a_session_sent_to_finance_tells_the_mentee_but_not_the_funder(
            self, mentor, mentee, university, session, mailoutbox, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            send_to_finance(session, mentor.user)
        session.refresh_from_db()
        assert session.status == ServiceAppointment.Status.AWAITING_FINANCE
        assert [m.subject for m in to(mailoutbox, mentee.email)] == [
            f"{session.reference}: your session on 20 November 2026 at 15:00 was attended"]
        assert to(mailoutbox, UNI) == []
        assert not OutboxEmail.objects.filter(kind="attendance_funder").exists()

    def test_senior_leaderships_list_does_not_tell_the_funder_of_a_session_it_sends_to_finance(
            self, mentor, leader, university, self_funded, session, mailoutbox, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            result = appointments_wrap_up_for_mentor(mentor=mentor, acting_user=leader,
                                                     choices=[(session.pk, "attended", "")])
        assert result.rows[0].result == "with_finance"
        assert to(mailoutbox, UNI) == []

    def test_a_session_cancelled_in_advance_with_two_possible_funders_tells_neither(
            self, mentor, mentee, university, mailoutbox, django_capture_on_commit_callbacks):
        FundingArrangementFactory(mentee=mentee, funder__sends_attendance_emails=True, funder__billing_email=COUNCIL)
        future = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=timezone.now() + timedelta(days=5))
        with django_capture_on_commit_callbacks(execute=True):
            appointment_cancel(appointment_id=future.pk, acting_user=mentor.user, internal_note="Clash",
                               reason=CancellationReason.objects.get(label="Mentor unavailable"))
        assert [m.to for m in mailoutbox] == [[mentee.email]]

    def test_a_session_cancelled_in_advance_with_one_funder_tells_that_funder(
            self, mentor, mentee, university, mailoutbox, django_capture_on_commit_callbacks):
        future = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=timezone.now() + timedelta(days=5))
        with django_capture_on_commit_callbacks(execute=True):
            appointment_cancel(appointment_id=future.pk, acting_user=mentor.user, internal_note="Clash",
                               reason=CancellationReason.objects.get(label="Mentor unavailable"))
        (email,) = to(mailoutbox, UNI)
        assert email.subject.endswith("was cancelled") and "Reason: Mentor unavailable" in email.body


class TestFinanceCompletes:
    def test_with_the_funders_arrangement_the_funder_is_told_then(
            self, mentor, finance_user, university, self_funded, session, mailoutbox,
            django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            send_to_finance(session, mentor.user)
            complete(session, finance_user, university)
        (email,) = to(mailoutbox, UNI)
        assert email.subject == f"{session.reference}: Mo Mentee's session on 20 November 2026 was attended"
        assert "Dear Pat Payer,\n\nThis is an attendance record for Mo Mentee, whose mentoring you fund." in email.body
        assert OutboxEmail.objects.get(kind="attendance_funder").key == (
            f"attendance-funder:{session.reference}:funder-{university.funder_id}")

    def test_as_self_funded_the_funder_never_hears_of_it(
            self, mentor, finance_user, university, self_funded, session, mailoutbox,
            django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            send_to_finance(session, mentor.user)
            complete(session, finance_user, self_funded)
        assert to(mailoutbox, UNI) == []

    def test_with_another_funder_only_that_funder_hears_of_it(
            self, mentor, mentee, finance_user, university, session, mailoutbox, django_capture_on_commit_callbacks):
        council = FundingArrangementFactory(mentee=mentee, funder__sends_attendance_emails=True,
                                            funder__billing_email=COUNCIL)
        with django_capture_on_commit_callbacks(execute=True):
            send_to_finance(session, mentor.user)
            complete(session, finance_user, council)
        assert to(mailoutbox, UNI) == []
        assert len(to(mailoutbox, COUNCIL)) == 1


class TestCorrections:
    @pytest.fixture
    def told_while_with_finance(self, mentor, university, session):
        """A funder told about a session still with Finance, as the code before this change did."""
        send_to_finance(session, mentor.user)
        return OutboxEmail.objects.create(
            key=f"attendance-funder:{session.reference}", kind=OutboxEmail.Kind.ATTENDANCE_FUNDER, appointment=session,
            to=[UNI], subject="told", text_body="told", status=OutboxEmail.Status.SENT, sent_at=timezone.now())

    def test_finance_completing_as_self_funded_sends_the_told_funder_a_correction(
            self, finance_user, self_funded, session, told_while_with_finance, mailoutbox,
            django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            complete(session, finance_user, self_funded)
        (correction,) = to(mailoutbox, UNI)
        assert correction.subject == (f"Correction: {session.reference}, Mo Mentee's session on 20 November 2026, "
                                      "is not funded by University of Northbridge")
        assert correction.body == (
            "Dear Pat Payer,\n\n"
            "We sent you an attendance record for Mo Mentee's mentoring session with Ann Mentor on Friday 20 November "
            "2026 at 15:00, as a session whose mentoring you fund. That was a mistake: this session is not funded by "
            "University of Northbridge, so please disregard that email. You will not be invoiced for it (if an "
            "invoice to you included it, a credit note credits it).\n\n"
            f"Session reference: {session.reference}\n\n"
            "If you have a question, reply to this email.\n\n"
            "Mentoring\n")
        assert "That was a mistake" in correction.alternatives[0][0]
        assert OutboxEmail.objects.get(kind="funder_correction").appointment == session

    def test_finance_completing_with_another_funder_corrects_one_and_tells_the_other(
            self, mentee, finance_user, session, told_while_with_finance, mailoutbox,
            django_capture_on_commit_callbacks):
        council = FundingArrangementFactory(mentee=mentee, funder__sends_attendance_emails=True,
                                            funder__billing_email=COUNCIL)
        with django_capture_on_commit_callbacks(execute=True):
            complete(session, finance_user, council)
        assert [m.subject.split(",")[0] for m in to(mailoutbox, UNI)] == [f"Correction: {session.reference}"]
        assert "whose mentoring you fund" in to(mailoutbox, COUNCIL)[0].body
        assert "University of Northbridge" not in to(mailoutbox, COUNCIL)[0].body

    def test_finance_completing_with_the_told_funder_sends_nothing_more(
            self, finance_user, university, session, told_while_with_finance, mailoutbox,
            django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            complete(session, finance_user, university)
        assert to(mailoutbox, UNI) == []

    def test_settling_again_queues_nothing_more(self, finance_user, self_funded, session, told_while_with_finance):
        complete(session, finance_user, self_funded)
        assert funder_emails_settle(appointment=session) == []
        assert OutboxEmail.objects.filter(kind="funder_correction").count() == 1

    def test_a_credit_note_after_finance_corrects_the_arrangement_corrects_the_funder(
            self, mentor, mentee, finance_user, university, mailoutbox, django_capture_on_commit_callbacks):
        appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=START, ends_at=START + timedelta(hours=1))
        appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user, answers=WrapUp(
            outcome="attended", funding_arrangement=university, session_notes="CVs", actual_minutes=60))
        assert len(OutboxEmail.objects.filter(kind="attendance_funder", to=[UNI])) == 1  # theirs: told at once
        month_end_generate(year=2026, month=11)
        invoice = Invoice.objects.get(funder=university.funder)
        invoices_issue(invoice_ids=[invoice.pk], acting_user=finance_user, today=date(2026, 12, 1))
        # The mentee paid for it themselves after all: Finance corrects the arrangement, then credits the invoice.
        FundingArrangement.objects.filter(pk=university.pk).update(kind="self_funded", funder=None, reference="")
        with django_capture_on_commit_callbacks(execute=True):
            invoice_credit(invoice_id=invoice.pk, acting_user=finance_user, reason="Self-funded after all.")
        corrections = [m for m in to(mailoutbox, UNI) if m.subject.startswith("Correction:")]
        assert [m.subject for m in corrections] == [
            f"Correction: {appointment.reference}, Mo Mentee's session on 20 November 2026, "
            "is not funded by University of Northbridge"]

    def test_a_credit_note_for_a_wrong_rate_tells_the_funder_nothing_new(
            self, mentor, mentee, finance_user, university, mailoutbox, django_capture_on_commit_callbacks):
        appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=START, ends_at=START + timedelta(hours=1))
        appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user, answers=WrapUp(
            outcome="attended", funding_arrangement=university, session_notes="CVs", actual_minutes=60))
        month_end_generate(year=2026, month=11)
        invoice = Invoice.objects.get(funder=university.funder)
        invoices_issue(invoice_ids=[invoice.pk], acting_user=finance_user, today=date(2026, 12, 1))
        with django_capture_on_commit_callbacks(execute=True):
            invoice_credit(invoice_id=invoice.pk, acting_user=finance_user, reason="Wrong rate.")
        assert not OutboxEmail.objects.filter(kind="funder_correction").exists()
        assert OutboxEmail.objects.filter(kind="attendance_funder").count() == 1
