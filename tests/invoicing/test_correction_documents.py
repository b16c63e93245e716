"""What a corrected wrap-up puts on paper: the credit note for one session, and the adjustment on the mentor's next
payment statement (read back from the PDFs with pdftotext)."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from invoicing.models import Invoice, PaymentStatement, SessionCreditNote, StatementAdjustment
from invoicing.services import invoices_issue, month_end_generate, statements_issue
from notifications.models import OutboxEmail
from sessions_app.models import ServiceAppointment
from sessions_app.services import WrapUp, appointment_correct, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory
from tests.invoicing.test_pdfs import pdf_text, shows, words

LONDON = ZoneInfo("Europe/London")
Outcome = ServiceAppointment.Outcome


def on(day: date, hour: int = 12):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=LONDON), tick=True)


@pytest.fixture
def issued(mentor, mentee, django_capture_on_commit_callbacks):
    """Two of Ann's October sessions for the university (60 and 30 minutes), invoiced and paid on documents issued
    on 2 November 2026."""
    university = FundingArrangementFactory(mentee=mentee, funder__name="University of Northbridge", reference="PO-77")
    sessions = []
    for day, minutes in ((6, 60), (13, 30)):
        start = datetime(2026, 10, day, 10, tzinfo=LONDON)
        with on(date(2026, 10, day)):
            session = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start,
                                         ends_at=start + timedelta(minutes=minutes))
            appointment_wrap_up(appointment_id=session.pk, acting_user=mentor.user, answers=WrapUp(
                outcome=Outcome.ATTENDED, funding_arrangement=university, session_notes="Went well."))
        sessions.append(session)
    with on(date(2026, 10, 31), 20):
        month_end_generate(year=2026, month=10)
    with on(date(2026, 11, 2)), django_capture_on_commit_callbacks(execute=True):
        invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)), acting_user=None)
        statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)),
                         acting_user=None)
    return sessions


def test_the_credit_note_for_one_session_credits_that_line_only(issued, finance_user,
                                                                 django_capture_on_commit_callbacks):
    first, _ = issued
    council = FundingArrangementFactory(mentee=first.mentee, funder__name="County Council", reference="CC-1")
    with on(date(2026, 11, 5)), django_capture_on_commit_callbacks(execute=True):
        appointment_correct(appointment_id=first.pk, acting_user=finance_user, funding_arrangement=council,
                            reason="The council pays for October.")
    credit_note = SessionCreditNote.objects.get()
    assert credit_note.pdf.name == "credit-notes/2026/CN-2026-000001.pdf"
    text, flat = pdf_text(credit_note.pdf.path), words(credit_note.pdf.path)
    assert shows(text, "Credit note number", "CN-2026-000001")
    assert shows(text, "Credits invoice", "INV-2026-000001")
    assert shows(text, "6 Oct 2026", first.reference, "Mo Mentee", "Mentoring session", "1 h 00 min", "£55.00/h")
    assert issued[1].reference not in text
    assert shows(text, "Net credited", "£55.00") and shows(text, "Total credited", "£66.00")
    assert (f"This credit note credits one session on invoice INV-2026-000001, {first.reference}: the rest of that "
            "invoice stands.") in flat
    assert f"REASON FOR CREDIT {first.reference}: wrap-up corrected. The council pays for October." in flat
    email = OutboxEmail.objects.get(key="credit-note:CN-2026-000001")
    assert email.attachments[0]["name"] == "CN-2026-000001.pdf"


def test_the_next_statement_carries_the_adjustment_and_says_what_it_corrects(issued, finance_user, mentor,
                                                                             django_capture_on_commit_callbacks):
    first, _ = issued
    with on(date(2026, 11, 5)):
        appointment_correct(appointment_id=first.pk, acting_user=finance_user, actual_minutes=45,
                            reason="It was 45 minutes.")
    with on(date(2026, 11, 30), 20):
        month_end_generate(year=2026, month=11)
    with on(date(2026, 12, 1)), django_capture_on_commit_callbacks(execute=True):
        (statement,) = statements_issue(statement_ids=list(
            PaymentStatement.objects.filter(status="draft").values_list("pk", flat=True)), acting_user=None)
    statement.refresh_from_db()
    assert statement.total == Decimal("-7.50")
    assert StatementAdjustment.objects.get().statement == statement
    text, flat = pdf_text(statement.pdf.path), words(statement.pdf.path)
    assert "ADJUSTMENTS FOR CORRECTED SESSIONS" in flat
    assert shows(text, "6 Oct 2026", first.reference, "Mo Mentee")
    assert shows(text, "£30.00", "£22.50", "-£7.50")
    assert "Actual duration: as booked → 45 minutes paid on PAY-2026-000001" in flat
    assert shows(text, "Total payable", "-£7.50")
