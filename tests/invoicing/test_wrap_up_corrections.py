"""Correcting a wrap-up (issue 16, item 2): one service for every caller. Before invoicing the change applies; on a
draft the line is made again; on an issued invoice a credit note for that one line and the corrected session on the
next month end's invoice; on an issued statement an adjustment on the next one; reopening before invoicing only; who
was told is told again."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from invoicing.models import (
    Invoice,
    InvoiceLine,
    PaymentStatement,
    SessionCreditNote,
    StatementAdjustment,
    StatementLine,
)
from invoicing.services import invoices_issue, month_end_generate, statements_issue
from notifications.models import OutboxEmail
from sessions_app.exceptions import AppointmentActionNotAllowed
from sessions_app.models import AppointmentEvent, CancellationReason, ServiceAppointment
from sessions_app.services import KEEP, WrapUp, appointment_correct, appointment_reopen, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory

LONDON = ZoneInfo("Europe/London")
Outcome, Status = ServiceAppointment.Outcome, ServiceAppointment.Status
UNI, COUNCIL = "pat@uni.example", "cal@council.example"


@pytest.fixture(autouse=True)
def no_pdfs():
    with mock.patch("invoicing.services.documents._after_issue"):
        yield


def on(day: date, hour: int = 12):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=LONDON), tick=True)


@pytest.fixture
def university(mentee):
    return FundingArrangementFactory(mentee=mentee, reference="PO-77", funder__name="University of Northbridge",
                                     funder__sends_attendance_emails=True, funder__billing_email=UNI,
                                     hourly_rate=Decimal("60.00"))


@pytest.fixture
def council(mentee):
    return FundingArrangementFactory(mentee=mentee, reference="CC-1", funder__name="County Council",
                                     funder__sends_attendance_emails=True, funder__billing_email=COUNCIL,
                                     hourly_rate=Decimal("50.00"))


@pytest.fixture
def october_session(mentor, mentee, university):
    """Ann's session of 6 October 2026, 10:00–11:00, wrapped up the same day as attended, funded by the university."""
    start = datetime(2026, 10, 6, 10, tzinfo=LONDON)
    with on(date(2026, 10, 6), 9):
        session = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    with on(date(2026, 10, 6), 15):
        appointment_wrap_up(appointment_id=session.pk, acting_user=mentor.user, answers=WrapUp(
            outcome=Outcome.ATTENDED, funding_arrangement=university, session_notes="Went well."))
    session.refresh_from_db()
    return session


def correct(session, by, day=date(2026, 11, 3), **changes):
    with on(day):
        return appointment_correct(appointment_id=session.pk, acting_user=by,
                                   reason=changes.pop("reason", "The mentor told us it was 45 minutes."), **changes)


def october_month_end(issue_invoices=False, issue_statements=False):
    with on(date(2026, 10, 31), 20):
        month_end_generate(year=2026, month=10)
    with on(date(2026, 11, 2)):
        if issue_invoices:
            invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)), acting_user=None)
        if issue_statements:
            statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)),
                             acting_user=None)


# --------------------------------------------------------------------------- before invoicing


def test_before_invoicing_the_correction_applies_and_the_history_shows_before_and_after(
        october_session, finance_user):
    correct(october_session, finance_user, outcome=Outcome.DID_NOT_ATTEND, actual_minutes=45,
            session_notes="The mentee did not come.")

    october_session.refresh_from_db()
    assert (october_session.outcome, october_session.actual_minutes, october_session.session_notes) == (
        Outcome.DID_NOT_ATTEND, 45, "The mentee did not come.")
    event = october_session.events.get(kind=AppointmentEvent.Kind.CORRECTED)
    assert event.actor == finance_user
    assert event.description == (
        "Outcome: Attended → Did not attend; Actual duration: as booked → 45 minutes; "
        "Session notes: “Went well.” → “The mentee did not come.”. Why: The mentor told us it was 45 minutes.")
    assert october_session.history.first().history_change_reason.startswith("Wrap-up corrected")
    assert not SessionCreditNote.objects.exists()

    october_month_end()
    line = InvoiceLine.objects.get(appointment=october_session)
    assert (line.outcome, line.minutes, line.net) == (Outcome.DID_NOT_ATTEND, 45, Decimal("45.00"))


def test_a_reason_is_required_and_a_correction_that_changes_nothing_is_refused(october_session, finance_user):
    with pytest.raises(ValidationError) as refused:
        correct(october_session, finance_user, reason="  ", actual_minutes=45)
    assert refused.value.message_dict == {
        "reason": ["Say why the wrap-up is being corrected: it is kept in the session's history."]}
    with pytest.raises(ValidationError, match="Nothing was changed"):
        correct(october_session, finance_user, outcome=Outcome.ATTENDED, session_notes="Went well.")
    assert not october_session.events.filter(kind=AppointmentEvent.Kind.CORRECTED).exists()


def test_senior_leadership_correct_the_outcome_and_notes_only(october_session, leader, council):
    with pytest.raises(ValidationError) as refused:
        correct(october_session, leader, funding_arrangement=council)
    assert refused.value.message_dict["funding_arrangement"] == [
        "Only Finance can change the funding or the duration; Senior Leadership can correct the outcome and notes."]
    with pytest.raises(ValidationError) as refused:
        correct(october_session, leader, actual_minutes=30)
    assert "actual_minutes" in refused.value.message_dict

    with pytest.raises(ValidationError) as refused:
        correct(october_session, leader, outcome=Outcome.LATE_CANCELLATION)
    assert refused.value.message_dict == {
        "cancellation_reason": ["Choose a cancellation reason from the list."],
        "cancellation_note": ["Add an internal cancellation note (it is not shared in any attendance emails)."]}
    unwell = CancellationReason.objects.get(label="Mentee unwell")
    correct(october_session, leader, outcome=Outcome.LATE_CANCELLATION, session_notes="Cancelled on the day.",
            cancellation_reason=unwell, cancellation_note="Rang at 9:30.")
    october_session.refresh_from_db()
    assert (october_session.outcome, october_session.cancellation_reason, october_session.cancellation_note) == (
        Outcome.LATE_CANCELLATION, unwell, "Rang at 9:30.")
    assert october_session.funding_arrangement.reference == "PO-77"


def test_mentors_cannot_correct_even_their_own_session(october_session, mentor):
    with pytest.raises(AppointmentActionNotAllowed, match="Only Finance or Senior Leadership can correct"):
        correct(october_session, mentor.user, outcome=Outcome.DID_NOT_ATTEND)


def test_a_session_still_to_wrap_up_or_awaiting_finance_has_nothing_to_correct(mentor, mentee, finance_user):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    session = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    with pytest.raises(AppointmentActionNotAllowed, match="is not wrapped up yet, so there is nothing to correct"):
        appointment_correct(appointment_id=session.pk, acting_user=finance_user, reason="x", actual_minutes=30)
    appointment_wrap_up(appointment_id=session.pk, acting_user=mentor.user, answers=WrapUp(
        outcome=Outcome.ATTENDED, admin_details="Not sure which funding."))
    with pytest.raises(AppointmentActionNotAllowed, match="is awaiting Finance: complete its wrap-up first"):
        appointment_correct(appointment_id=session.pk, acting_user=finance_user, reason="x", actual_minutes=30)


# --------------------------------------------------------------------------- draft documents


def test_on_draft_documents_the_line_is_made_again_from_the_corrected_session(october_session, finance_user):
    october_month_end()
    correct(october_session, finance_user, actual_minutes=30)

    line = InvoiceLine.objects.get(appointment=october_session)
    assert (line.minutes, line.net, line.invoice.status, line.invoice.net) == (30, Decimal("30.00"), "draft",
                                                                                 Decimal("30.00"))
    statement_line = StatementLine.objects.get(appointment=october_session)
    assert (statement_line.amount, statement_line.statement.total) == (Decimal("15.00"), Decimal("15.00"))
    assert not SessionCreditNote.objects.exists() and not StatementAdjustment.objects.exists()


def test_on_a_draft_a_session_no_longer_billed_is_left_off(october_session, finance_user):
    october_month_end()
    correct(october_session, finance_user, outcome=Outcome.CANCELLED)
    assert not InvoiceLine.objects.filter(appointment=october_session).exists()
    assert not Invoice.objects.exists()  # the draft had only this session


# --------------------------------------------------------------------------- issued invoice


def test_on_an_issued_invoice_a_credit_note_for_that_line_and_the_corrected_session_billed_next_month(
        october_session, finance_user, council, mailoutbox):
    other_start = datetime(2026, 10, 13, 10, tzinfo=LONDON)
    with on(date(2026, 10, 13)):
        other = AppointmentFactory(mentor=october_session.mentor, mentee=october_session.mentee,
                                   starts_at=other_start, ends_at=other_start + timedelta(hours=1))
        appointment_wrap_up(appointment_id=other.pk, acting_user=october_session.mentor.user, answers=WrapUp(
            outcome=Outcome.ATTENDED, funding_arrangement=october_session.funding_arrangement))
    october_month_end(issue_invoices=True)
    invoice = Invoice.objects.get()
    assert invoice.total == Decimal("144.00")

    corrected = correct(october_session, finance_user, funding_arrangement=council,
                        reason="The council pays for October.")

    credit_note = SessionCreditNote.objects.get()
    assert credit_note.number == "CN-2026-000001"
    assert (credit_note.invoice, credit_note.net, credit_note.vat, credit_note.total) == (
        invoice, Decimal("60.00"), Decimal("12.00"), Decimal("72.00"))
    assert credit_note.invoice_line.appointment == october_session and credit_note.invoice_line.released
    assert credit_note.reason == f"{october_session.reference}: wrap-up corrected. The council pays for October."
    invoice.refresh_from_db()
    assert (invoice.status, invoice.total) == ("issued", Decimal("144.00"))  # issued documents never change
    assert corrected.correction_effects[0] == (
        f"CN-2026-000001 credits {october_session.reference} on {invoice.number} (£72.00); the corrected session is "
        "invoiced at the next month end, if it is billed.")

    with on(date(2026, 11, 30), 20):
        month_end_generate(year=2026, month=11)
    line = InvoiceLine.objects.get(appointment=october_session, released=False)
    assert (line.invoice.bill_to_name, line.invoice.period_start, line.is_late, line.net) == (
        "County Council", date(2026, 11, 1), True, Decimal("50.00"))
    assert InvoiceLine.objects.filter(appointment=other, released=False).get().invoice == invoice


def test_the_credit_note_numbers_follow_the_whole_invoice_credit_notes(october_session, finance_user):
    from invoicing.services import invoice_credit

    second = FundingArrangementFactory(mentee=october_session.mentee, funder__name="Trust")
    october_month_end(issue_invoices=True)
    with on(date(2026, 11, 3)):
        invoice_credit(invoice_id=Invoice.objects.get().pk, acting_user=finance_user, reason="Wrong PO.")
    with on(date(2026, 11, 30), 20):
        month_end_generate(year=2026, month=11)
    with on(date(2026, 12, 1)):
        invoices_issue(invoice_ids=list(Invoice.objects.filter(status="draft").values_list("pk", flat=True)),
                       acting_user=None)
    correct(october_session, finance_user, day=date(2026, 12, 2), funding_arrangement=second)
    assert SessionCreditNote.objects.get().number == "CN-2026-000002"


# --------------------------------------------------------------------------- issued statement


def test_on_an_issued_statement_an_adjustment_goes_on_the_next_one_and_the_mentor_is_told(
        october_session, finance_user, mentor, mailoutbox, django_capture_on_commit_callbacks):
    october_month_end(issue_statements=True)
    statement = PaymentStatement.objects.get()
    assert statement.total == Decimal("30.00")

    with django_capture_on_commit_callbacks(execute=True):
        corrected = correct(october_session, finance_user, actual_minutes=45)

    adjustment = StatementAdjustment.objects.get()
    assert (adjustment.was_amount, adjustment.now_amount, adjustment.amount, adjustment.statement) == (
        Decimal("30.00"), Decimal("22.50"), Decimal("-7.50"), None)
    assert adjustment.description == "Actual duration: as booked → 45 minutes"
    assert f"{mentor}'s next payment statement carries an adjustment of -£7.50" in corrected.correction_effects[-1]
    (email,) = [m for m in mailoutbox if m.to == [mentor.user.email]]
    assert email.subject == (f"Your payment statement {statement.number} changes: {october_session.reference} "
                             "corrected (-£7.50)")
    assert "Paid on PAY-2026-000001: £30.00" in email.body and "Owed now: £22.50" in email.body

    with on(date(2026, 11, 30), 20):
        summary = month_end_generate(year=2026, month=11)
    adjustment.refresh_from_db()
    assert (adjustment.statement.period_start, adjustment.statement.total) == (date(2026, 11, 1), Decimal("-7.50"))
    assert summary.adjustments == 1
    statement.refresh_from_db()
    assert statement.total == Decimal("30.00")
    with on(date(2026, 11, 30), 21):  # run again: nothing more
        assert month_end_generate(year=2026, month=11).adjustments == 0


def test_corrected_twice_the_second_adjustment_counts_the_first(october_session, finance_user):
    october_month_end(issue_statements=True)
    correct(october_session, finance_user, actual_minutes=45)
    correct(october_session, finance_user, outcome=Outcome.CANCELLED, reason="It never happened.")
    assert list(StatementAdjustment.objects.values_list("amount", flat=True)) == [Decimal("-7.50"),
                                                                                  Decimal("-22.50")]


# --------------------------------------------------------------------------- who is told


def test_the_funder_told_gets_a_correction_when_the_funding_changes_and_the_new_one_hears(
        october_session, finance_user, council, mailoutbox, django_capture_on_commit_callbacks):
    assert OutboxEmail.objects.get(kind="attendance_funder").to == [UNI]  # told at the wrap-up
    with django_capture_on_commit_callbacks(execute=True):
        correct(october_session, finance_user, funding_arrangement=council)
    subjects = {m.to[0]: m.subject for m in mailoutbox}
    assert subjects[UNI] == (f"Correction: {october_session.reference}, Mo Mentee's session on 6 October 2026, is "
                             "not funded by University of Northbridge")
    assert subjects[COUNCIL].startswith(f"{october_session.reference}: Mo Mentee's session on 6 October 2026")


def test_the_mentee_and_funder_told_what_happened_get_a_correction_when_the_outcome_changes(
        october_session, leader, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        correct(october_session, leader, outcome=Outcome.DID_NOT_ATTEND, reason="The mentee was not there.")
    subjects = {m.to[0]: m.subject for m in mailoutbox}
    assert subjects == {
        UNI: f"Correction: {october_session.reference}, Mo Mentee's session on 6 October 2026, did not take place",
        october_session.mentee.email: f"Correction: {october_session.reference}, your session on 6 October 2026 at "
                                      "10:00, did not take place",
    }
    assert "saying that it was attended. That was a mistake, now corrected: the session did not take place." in (
        " ".join(mailoutbox[0].body.split()))


def test_a_notes_only_correction_tells_nobody_and_touches_no_document(october_session, leader, mailoutbox,
                                                                       django_capture_on_commit_callbacks):
    october_month_end(issue_invoices=True, issue_statements=True)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        correct(october_session, leader, session_notes="Covered interview practice.")
    assert mailoutbox == []
    assert not SessionCreditNote.objects.exists() and not StatementAdjustment.objects.exists()


# --------------------------------------------------------------------------- reopen


def test_reopen_before_invoicing_puts_the_session_back_to_wrap_up_and_keeps_the_history(
        october_session, finance_user, mentor, mailoutbox, django_capture_on_commit_callbacks):
    october_month_end()  # drafts only
    with on(date(2026, 11, 3)), django_capture_on_commit_callbacks(execute=True):
        appointment_reopen(appointment_id=october_session.pk, acting_user=finance_user,
                           reason="Wrapped up against the wrong session.")
    october_session.refresh_from_db()
    assert (october_session.status, october_session.outcome, october_session.wrapped_up_at,
            october_session.funding_arrangement) == (Status.SCHEDULED, "", None, None)
    assert not InvoiceLine.objects.exists() and not StatementLine.objects.exists()
    assert not Invoice.objects.exists() and not PaymentStatement.objects.exists()
    event = october_session.events.get(kind=AppointmentEvent.Kind.REOPENED)
    assert event.description.startswith("The wrap-up said: Outcome: Attended; Funding: Funded by University of "
                                         "Northbridge, ref. PO-77;")
    assert event.description.endswith("Why: Wrapped up against the wrong session.")
    assert october_session.can("wrap_up", by=mentor.user)
    assert october_session in ServiceAppointment.objects.to_wrap_up()
    (email,) = [m for m in mailoutbox if m.to == [mentor.user.email]]
    assert email.subject == f"{october_session.reference}: please wrap up your session on 6 October 2026 again"
    assert "Fay Finance has reopened your session" in email.body
    assert "Why: Wrapped up against the wrong session." in email.body


def test_reopen_is_refused_once_the_session_is_on_an_issued_document(october_session, finance_user):
    october_month_end(issue_invoices=True)
    invoice = Invoice.objects.get()
    with pytest.raises(AppointmentActionNotAllowed) as refused, on(date(2026, 11, 3)):
        appointment_reopen(appointment_id=october_session.pk, acting_user=finance_user, reason="Wrong session.")
    assert str(refused.value) == (
        f"{october_session.reference} is on invoice {invoice.number}, issued on 2 November 2026, so it cannot be "
        "reopened. Correct its wrap-up instead: the correction credits or adjusts that document.")
    october_session.refresh_from_db()
    assert october_session.status == Status.COMPLETED
    assert not october_session.events.filter(kind=AppointmentEvent.Kind.REOPENED).exists()


def test_only_finance_reopens(october_session, leader):
    with pytest.raises(AppointmentActionNotAllowed, match="Only Finance can reopen"):
        appointment_reopen(appointment_id=october_session.pk, acting_user=leader, reason="x")


def test_crediting_the_whole_invoice_afterwards_leaves_out_the_session_credited_already(
        october_session, finance_user, council):
    from invoicing.models import CreditNote
    from invoicing.services import invoice_credit

    other_start = datetime(2026, 10, 13, 10, tzinfo=LONDON)
    with on(date(2026, 10, 13)):
        other = AppointmentFactory(mentor=october_session.mentor, mentee=october_session.mentee,
                                   starts_at=other_start, ends_at=other_start + timedelta(minutes=30))
        appointment_wrap_up(appointment_id=other.pk, acting_user=october_session.mentor.user, answers=WrapUp(
            outcome=Outcome.ATTENDED, funding_arrangement=october_session.funding_arrangement))
    october_month_end(issue_invoices=True)
    invoice = Invoice.objects.get()
    correct(october_session, finance_user, funding_arrangement=council)
    with on(date(2026, 11, 4)):
        credit_note = invoice_credit(invoice_id=invoice.pk, acting_user=finance_user, reason="Wrong PO.")
    assert (credit_note.number, credit_note.net, credit_note.vat, credit_note.total) == (
        "CN-2026-000002", Decimal("30.00"), Decimal("6.00"), Decimal("36.00"))
    assert SessionCreditNote.objects.get().total + CreditNote.objects.get().total == invoice.total


def test_the_credit_note_exports_as_one_negative_row_in_the_invoice_lines_layout(october_session, finance_user,
                                                                                  council):
    import csv
    import io

    from invoicing.exports import INVOICE_LINE_COLUMNS, session_credit_note_lines_csv

    october_month_end(issue_invoices=True)
    correct(october_session, finance_user, funding_arrangement=council, reason="The council pays.")
    text = "".join(session_credit_note_lines_csv(credit_notes=SessionCreditNote.objects.all())).lstrip("\ufeff")
    header, row = list(csv.reader(io.StringIO(text)))
    assert header == INVOICE_LINE_COLUMNS
    row = dict(zip(header, row))
    invoice = Invoice.objects.get()
    assert row["Type"] == "Credit note" and row["Number"] == "CN-2026-000001"
    assert row["Description"].startswith(f"Credit for {invoice.number}: Mentoring session {october_session.reference}")
    assert (row["Net"], row["VAT"], row["Gross"]) == ("-60.00", "-12.00", "-72.00")
