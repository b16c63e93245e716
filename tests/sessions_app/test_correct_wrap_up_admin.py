"""Finance corrects or reopens a wrap-up from the session's admin page: object tools, a form, the one service."""

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from invoicing.models import Invoice, OrganisationDetails, SessionCreditNote
from invoicing.services import invoices_issue, month_end_generate
from sessions_app.models import AppointmentEvent, ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory

LONDON = ZoneInfo("Europe/London")
Outcome, Status = ServiceAppointment.Outcome, ServiceAppointment.Status
pytestmark = pytest.mark.time_machine(datetime(2026, 11, 3, 12, tzinfo=LONDON))


@pytest.fixture(autouse=True)
def no_pdfs():
    with mock.patch("invoicing.services.documents._after_issue"):
        yield


@pytest.fixture
def university(mentee):
    return FundingArrangementFactory(mentee=mentee, funder__name="University of Northbridge", reference="PO-77")


@pytest.fixture
def council(mentee):
    return FundingArrangementFactory(mentee=mentee, funder__name="County Council", reference="CC-1",
                                     hourly_rate=Decimal("50.00"))


@pytest.fixture
def session(mentor, mentee, university):
    start = datetime.combine(date(2026, 10, 6), time(10), tzinfo=LONDON)
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user, now=start + timedelta(hours=2),
                        answers=WrapUp(outcome=Outcome.ATTENDED, funding_arrangement=university,
                                       session_notes="Went well."))
    appointment.refresh_from_db()
    return appointment


def urls(appointment):
    return (reverse("admin:sessions_app_serviceappointment_change", args=[appointment.pk]),
            reverse("admin:sessions_app_serviceappointment_correct_wrap_up", args=[appointment.pk]),
            reverse("admin:sessions_app_serviceappointment_reopen", args=[appointment.pk]))


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_completed_session_has_correct_and_reopen_object_tools(finance_client, session, past_appointment):
    change, correct, reopen = urls(session)
    page = finance_client.get(change).content.decode()
    assert f'<a href="{correct}" id="correct-wrap-up">Correct this wrap-up</a>' in page
    assert f'<a href="{reopen}" id="reopen">Reopen</a>' in page
    page = finance_client.get(urls(past_appointment)[0]).content.decode()  # still to wrap up
    assert "Correct this wrap-up" not in page and 'id="reopen"' not in page


def test_the_form_starts_from_the_wrap_up_and_a_correction_goes_through_the_service(
        finance_client, finance_user, session, council):
    change, correct, _ = urls(session)
    page = finance_client.get(correct).content.decode()
    assert "Correct the wrap-up of " + session.reference in page
    assert re.search(r'<input[^>]*name="outcome" value="attended"[^>]*checked', page)
    assert re.search(rf'<input[^>]*name="funding_arrangement" value="{session.funding_arrangement_id}"[^>]*checked',
                     page)
    response = finance_client.post(correct, {
        "outcome": Outcome.ATTENDED, "funding_arrangement": council.pk, "actual_minutes": "45",
        "session_notes": "Went well.", "reason": "The council pays for October; it was 45 minutes."})
    assert response.status_code == 302 and response.url == change
    assert said(response) == [f"The wrap-up of {session.reference} is corrected."]
    session.refresh_from_db()
    assert (session.funding_arrangement, session.actual_minutes) == (council, 45)
    event = session.events.get(kind=AppointmentEvent.Kind.CORRECTED)
    assert event.actor == finance_user and event.description.endswith(
        "Why: The council pays for October; it was 45 minutes.")


def test_on_an_issued_invoice_finance_is_told_which_credit_note_was_issued(finance_client, session, council):
    month_end_generate(year=2026, month=10)
    (invoice,) = invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)), acting_user=None)
    response = finance_client.post(urls(session)[1], {
        "outcome": Outcome.ATTENDED, "funding_arrangement": council.pk, "session_notes": "Went well.",
        "reason": "The council pays."})
    (message,) = said(response)
    credit_note = SessionCreditNote.objects.get()
    assert f"{credit_note.number} credits {session.reference} on {invoice.number} (£66.00)" in message


def test_a_correction_without_a_reason_says_so_and_changes_nothing(finance_client, session):
    response = finance_client.post(urls(session)[1], {"outcome": Outcome.DID_NOT_ATTEND,
                                                      "funding_arrangement": session.funding_arrangement_id,
                                                      "session_notes": "", "reason": " "})
    assert response.status_code == 200
    assert "Say why the wrap-up is being corrected: it is kept in the session&#x27;s history." in (
        response.content.decode())
    session.refresh_from_db()
    assert session.outcome == Outcome.ATTENDED


def test_reopen_asks_first_then_puts_the_session_back_to_wrap_up(finance_client, session):
    change, _, reopen = urls(session)
    page = finance_client.get(reopen).content.decode()
    assert f'value="Yes, reopen {session.reference}"' in page
    session.refresh_from_db()
    assert session.status == Status.COMPLETED  # asking changes nothing
    response = finance_client.post(reopen, {"reason": "Wrapped up against the wrong session."})
    assert response.url == change
    assert said(response) == [f"{session.reference} is reopened: it is to be wrapped up again."]
    session.refresh_from_db()
    assert session.status == Status.SCHEDULED


def test_reopen_once_invoiced_is_refused_with_the_reason(finance_client, session):
    month_end_generate(year=2026, month=10)
    (invoice,) = invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)), acting_user=None)
    response = finance_client.post(urls(session)[2], {"reason": "Wrong session."})
    assert response.url == urls(session)[0]
    assert said(response) == [
        f"{session.reference} is on invoice {invoice.number}, issued on 3 November 2026, so it cannot be reopened. "
        "Correct its wrap-up instead: the correction credits or adjusts that document."]
    session.refresh_from_db()
    assert session.status == Status.COMPLETED


def test_a_session_that_cannot_be_corrected_sends_finance_back_with_why(finance_client, past_appointment):
    change, correct, reopen = urls(past_appointment)
    for url in (correct, reopen):
        response = finance_client.get(url)
        assert response.url == change
        assert "is not wrapped up yet" in said(response)[0]


def test_the_credit_note_for_one_session_has_its_pdf_and_email_and_finance_reads_it_in_the_admin(
        finance_client, session, council, mailoutbox, django_capture_on_commit_callbacks):
    month_end_generate(year=2026, month=10)
    (invoice,) = invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)), acting_user=None)
    with django_capture_on_commit_callbacks(execute=True):
        finance_client.post(urls(session)[1], {
            "outcome": Outcome.ATTENDED, "funding_arrangement": council.pk, "session_notes": "Went well.",
            "reason": "The council pays."})
    credit_note = SessionCreditNote.objects.get()
    assert credit_note.pdf.name == f"credit-notes/2026/{credit_note.number}.pdf"
    (email,) = [m for m in mailoutbox if credit_note.number in m.subject]
    assert email.subject == (f"Credit note {credit_note.number} from {OrganisationDetails.current().name}: "
                             f"{session.reference} on invoice {invoice.number}")
    assert email.attachments[0][0] == f"{credit_note.number}.pdf"
    assert "It credits one session on invoice" in email.body and "The rest of that invoice stands." in email.body

    listing = finance_client.get(reverse("admin:invoicing_sessioncreditnote_changelist")).content.decode()
    assert credit_note.number in listing and session.reference in listing
    page = finance_client.get(reverse("admin:invoicing_sessioncreditnote_change", args=[credit_note.pk]))
    assert page.status_code == 200
    pdf = finance_client.get(reverse("document-pdf", kwargs={"kind": "session-credit-note", "pk": credit_note.pk}))
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
